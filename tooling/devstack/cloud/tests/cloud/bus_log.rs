//! The platform bus's own log (its template's `LogConfig`, at INFO), as
//! the local bus plays EventBridge's event bus logging: one event's
//! receipt, the rule it matched and its target's invocation, a failed
//! invocation with its error, and nothing at TRACE; a bus whose log is
//! turned on by API logs its events, and the events replayed to it.

use std::path::PathBuf;

use aws_sdk_eventbridge::Client as Events;
use aws_sdk_eventbridge::types::{PutEventsRequestEntry, Target};
use aws_sdk_sqs::Client as Sqs;
use devstack_api::telemetry::{BusLogRecord, read_bus_log};
use devstack_cloud::Detached;
use devstack_emulator::fixtures::{let_the_rule_send, new_queue, queue_arn};

use crate::patterns::{admin, platform_only};

/// The steps logged for `event_id`, in order, with their level.
fn steps(cloud: &Detached, event_id: &str) -> Vec<(String, String)> {
    let records: Vec<BusLogRecord> = read_bus_log(&PathBuf::from(&cloud.endpoints.telemetry_dir));
    (records.into_iter())
        .filter(|r| r.event_id == event_id)
        .map(|r| (r.message_type, r.log_level))
        .collect()
}

fn pairs(steps: &[(&str, &str)]) -> Vec<(String, String)> {
    steps
        .iter()
        .map(|(s, l)| (s.to_string(), l.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_platform_bus_logs_each_events_steps_at_info() {
    let cloud = platform_only();
    let conf = admin(&cloud).await;
    let (events, sqs) = (Events::new(&conf), Sqs::new(&conf));
    let bus = cloud.endpoints.bus_name.clone();
    // A rule whose queue lets it send, and one whose queue does not.
    let mut rule_arns = Vec::new();
    for (name, allowed) in [("logged-ok", true), ("logged-refused", false)] {
        let url = new_queue(&sqs, name).await;
        let arn = queue_arn(&sqs, &url).await;
        let pattern = format!(r#"{{"detail-type": ["{name}"]}}"#);
        let rule = (events
            .put_rule()
            .name(name)
            .event_bus_name(&bus)
            .event_pattern(pattern))
        .send()
        .await
        .unwrap();
        let rule_arn = rule.rule_arn.expect("the rule's ARN");
        if allowed {
            let_the_rule_send(&sqs, &url, &arn, &rule_arn).await;
        }
        let target = Target::builder().id("q").arn(&arn).build().unwrap();
        (events
            .put_targets()
            .rule(name)
            .event_bus_name(&bus)
            .targets(target)
            .send()
            .await)
            .unwrap();
        rule_arns.push(rule_arn);
    }
    let put = |detail_type: &str| {
        let entry = (PutEventsRequestEntry::builder())
            .event_bus_name(&bus)
            .source("app.probe")
            .detail_type(detail_type)
            .detail("{}")
            .build();
        events.put_events().entries(entry).send()
    };
    let id = |out: aws_sdk_eventbridge::operation::put_events::PutEventsOutput| {
        out.entries()[0].event_id().expect("an event id").to_owned()
    };
    let delivered = id(put("logged-ok").await.unwrap());
    let refused = id(put("logged-refused").await.unwrap());
    let unmatched = id(put("nobody-listens").await.unwrap());

    let expected = [
        ("EVENT_RECEIPT", "INFO"),
        ("RULE_MATCH", "INFO"),
        ("INVOCATION_SUCCESS", "INFO"),
    ];
    assert_eq!(steps(&cloud, &delivered), pairs(&expected));
    let expected = [
        ("EVENT_RECEIPT", "INFO"),
        ("RULE_MATCH", "INFO"),
        ("INVOCATION_FAILURE", "ERROR"),
    ];
    assert_eq!(steps(&cloud, &refused), pairs(&expected));
    // No rule matched is a TRACE step: the INFO log has the receipt alone.
    assert_eq!(
        steps(&cloud, &unmatched),
        pairs(&[("EVENT_RECEIPT", "INFO")])
    );

    let records = read_bus_log(&PathBuf::from(&cloud.endpoints.telemetry_dir));
    let failure = (records.iter())
        .find(|r| r.event_id == refused && r.message_type == "INVOCATION_FAILURE")
        .unwrap();
    assert_eq!(failure.details["rule_arn"], rule_arns[1].as_str());
    assert!(
        failure
            .error
            .as_ref()
            .is_some_and(|e| e.error_code == "NO_PERMISSIONS"),
        "{failure:?}"
    );
    assert!(failure.resource_arn.ends_with(&format!(":event-bus/{bus}")));
    // IncludeDetail NONE: the event itself is not in the log.
    assert!(records.iter().all(|r| r.details.get("event").is_none()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bus_whose_log_is_turned_on_by_api_logs_its_events_and_their_replays() {
    use aws_sdk_eventbridge::types::{IncludeDetail, Level, LogConfig, ReplayDestination};
    let cloud = platform_only();
    let events = Events::new(&admin(&cloud).await);
    let name = "logged-by-api";
    let created = events.create_event_bus().name(name).send().await.unwrap();
    let bus_arn = created.event_bus_arn().expect("the bus's ARN").to_owned();
    let config = LogConfig::builder()
        .level(Level::Trace)
        .include_detail(IncludeDetail::Full)
        .build();
    let updated = (events.update_event_bus().name(name).log_config(config))
        .send()
        .await
        .unwrap();
    assert_eq!(
        updated.log_config().and_then(|c| c.level()),
        Some(&Level::Trace)
    );
    let described = events.describe_event_bus().name(name).send().await.unwrap();
    assert_eq!(
        described.log_config().and_then(|c| c.include_detail()),
        Some(&IncludeDetail::Full)
    );
    (events.create_archive())
        .archive_name("logged-archive")
        .event_source_arn(&bus_arn)
        .send()
        .await
        .unwrap();
    let before = aws_smithy_types::DateTime::from_secs(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
            - 60,
    );
    let entry = (PutEventsRequestEntry::builder())
        .event_bus_name(name)
        .source("app.probe")
        .detail_type("logged-by-api")
        .detail(r#"{"n": 1}"#)
        .build();
    let out = events.put_events().entries(entry).send().await.unwrap();
    let id = out.entries()[0].event_id().expect("an event id").to_owned();
    // At TRACE, an event no rule matches says so (the archive's rule is
    // managed, and not logged).
    let expected = [
        ("EVENT_RECEIPT", "INFO"),
        ("NO_STANDARD_RULES_MATCHED", "TRACE"),
    ];
    assert_eq!(steps(&cloud, &id), pairs(&expected));

    let after = aws_smithy_types::DateTime::from_secs(before.secs() + 120);
    let destination = ReplayDestination::builder().arn(&bus_arn).build().unwrap();
    (events.start_replay())
        .replay_name("logged-replay")
        .event_source_arn(format!(
            "{}:archive/logged-archive",
            bus_arn.split(":event-bus/").next().unwrap()
        ))
        .event_start_time(before)
        .event_end_time(after)
        .destination(destination)
        .send()
        .await
        .unwrap();
    let records = read_bus_log(&PathBuf::from(&cloud.endpoints.telemetry_dir));
    let replayed: Vec<&BusLogRecord> = (records.iter())
        .filter(|r| r.details["event"]["replay-name"] == "logged-replay")
        .collect();
    assert!(
        replayed.iter().any(|r| r.message_type == "EVENT_RECEIPT"
            && r.details["event"]["detail"]["n"] == 1
            && r.event_id != id),
        "the replayed event's receipt, under its new id: {records:#?}"
    );
}
