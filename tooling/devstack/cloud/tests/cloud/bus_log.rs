//! The platform bus's own log (its template's `LogConfig`, at INFO), as
//! the local bus plays EventBridge's event bus logging: one event's
//! receipt, the rule it matched and its target's invocation, a failed
//! invocation with its error, and nothing at TRACE.

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
