//! The local bus held to the answers EventBridge gave on AWS itself
//! (`repo::paths::PATTERN_ANSWERS`, with its README): TestEventPattern's
//! answer and refusal, PutRule's refusal, and whether a rule delivers the
//! event, for every recorded case a PutEvents entry can carry.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_eventbridge::Client as Events;
use aws_sdk_eventbridge::error::ProvideErrorMetadata;
use aws_sdk_eventbridge::types::{PutEventsRequestEntry, Target};
use aws_sdk_sqs::Client as Sqs;
use devstack_cloud::{self as cloud, Detached, Options};
use devstack_emulator::fixtures::{drain, let_the_rule_send, new_queue, queue_arn};
use serde_json::{Value, json};

struct Case {
    name: String,
    expect: Value,
    pattern: String,
    event: Value,
}

fn cases() -> Vec<Case> {
    let path = repo::root().join(repo::paths::PATTERN_ANSWERS);
    let text = std::fs::read_to_string(&path).expect("the recorded answers");
    let fixture: Value = serde_json::from_str(&text).expect("JSON");
    (fixture["cases"].as_array().expect("cases").iter())
        .map(|c| Case {
            name: c["name"].as_str().expect("a name").to_owned(),
            expect: c["expect"].clone(),
            pattern: c["pattern"].to_string(),
            event: c["event"].clone(),
        })
        .collect()
}

/// A local cloud of the platform's stack alone, with its bus.
pub(crate) fn platform_only() -> Detached {
    cloud::start_detached(Options {
        bin_dir: repo::profile_dir(),
        retry_delay: Duration::from_millis(20),
        services: Some(Default::default()),
        ..Options::default()
    })
    .expect("the local cloud starts")
}

/// The platform account's administrator.
pub(crate) async fn admin(cloud: &Detached) -> SdkConfig {
    kit::config::endpoint(cloud.endpoints.emulator_url.as_str()).await
}

/// A refusal in the fixture's terms, or a mismatch named.
fn refused<E: ProvideErrorMetadata>(e: &E) -> Value {
    let message = e.message().unwrap_or_default();
    match (
        e.code(),
        message.strip_prefix("Event pattern is not valid. Reason: "),
    ) {
        (Some("InvalidEventPatternException"), Some(reason)) => json!({ "error": reason }),
        _ => json!({ "unexpected": format!("{:?}: {message}", e.code()) }),
    }
}

/// Each case's differing answer, named.
fn differing(case: &Case, got: Value, what: &str) -> Option<String> {
    (got != case.expect).then(|| format!("{what} {}: AWS {}, here {got}", case.name, case.expect))
}

fn report(differences: Vec<String>, of: usize) {
    assert!(
        differences.is_empty(),
        "{} of {of} answers differ from AWS's:\n{}",
        differences.len(),
        differences.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn test_event_pattern_and_put_rule_answer_as_aws_recorded() {
    let cloud = platform_only();
    let events = Events::new(&admin(&cloud).await);
    let cases = cases();
    let mut differences = Vec::new();
    for case in &cases {
        let tested = (events.test_event_pattern())
            .event_pattern(&case.pattern)
            .event(case.event.to_string())
            .send()
            .await;
        let got = match tested {
            Ok(answer) => Value::Bool(answer.result),
            Err(e) => refused(&e.into_service_error()),
        };
        differences.extend(differing(case, got, "TestEventPattern"));
        let put = (events.put_rule())
            .name("recorded")
            .event_pattern(&case.pattern)
            .send()
            .await;
        let got = match put {
            Ok(_) => case
                .expect
                .clone()
                .as_bool()
                .map_or(json!("accepted"), Value::Bool),
            Err(e) => refused(&e.into_service_error()),
        };
        differences.extend(differing(case, got, "PutRule"));
    }
    report(differences, cases.len() * 2);
}

/// An entry carrying the case's event, when PutEvents can carry all that
/// its pattern reads (source, detail-type, detail, resources, time).
fn entry(case: &Case) -> Option<PutEventsRequestEntry> {
    const CARRIED: [&str; 5] = ["source", "detail-type", "detail", "resources", "time"];
    let pattern: Value = serde_json::from_str(&case.pattern).ok()?;
    let keys_carried = pattern
        .as_object()?
        .keys()
        .all(|k| CARRIED.contains(&k.as_str()));
    let event = case.event.as_object()?;
    let resources: Option<Vec<String>> = match event.get("resources") {
        None => Some(Vec::new()),
        Some(list) => (list.as_array()?.iter())
            .map(|r| r.as_str().map(str::to_owned))
            .collect(),
    };
    let text = |key: &str| {
        event
            .get(key)
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
    };
    let (source, detail_type) = (text("source")?, text("detail-type")?);
    let time = event.get("time").and_then(Value::as_str)?;
    let time =
        aws_smithy_types::DateTime::from_str(time, aws_smithy_types::date_time::Format::DateTime)
            .ok()?;
    let detail = event.get("detail").cloned().unwrap_or(json!({}));
    (keys_carried && detail.is_object())
        .then(|| {
            PutEventsRequestEntry::builder()
                .source(source)
                .detail_type(detail_type)
                .detail(detail.to_string())
                .set_resources(resources)
                .time(time)
                .build()
        })?
        .into()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rule_delivers_what_aws_delivered() {
    let cloud = platform_only();
    let conf = admin(&cloud).await;
    let (events, sqs) = (Events::new(&conf), Sqs::new(&conf));
    let url = new_queue(&sqs, "recorded").await;
    let arn = queue_arn(&sqs, &url).await;
    let carried: Vec<_> = (cases().into_iter())
        .filter(|c| {
            c.expect.is_boolean() && !c.event["source"].as_str().unwrap_or("").starts_with("aws.")
        })
        .filter_map(|c| entry(&c).map(|e| (c, e)))
        .collect();
    assert!(carried.len() >= 80, "only {} cases carried", carried.len());
    // One rule, its pattern changed per case; the queue lets it send.
    let rule = |pattern: &str| {
        events
            .put_rule()
            .name("delivers")
            .event_pattern(pattern)
            .send()
    };
    let first = rule(&carried[0].0.pattern).await.unwrap();
    let rule_arn = first.rule_arn.expect("the rule's ARN");
    let_the_rule_send(&sqs, &url, &arn, &rule_arn).await;
    let target = Target::builder().id("q").arn(&arn).build().unwrap();
    (events
        .put_targets()
        .rule("delivers")
        .targets(target)
        .send()
        .await)
        .unwrap();
    let mut differences = Vec::new();
    for (case, entry) in &carried {
        rule(&case.pattern).await.unwrap();
        let put = events
            .put_events()
            .entries(entry.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(put.failed_entry_count, 0, "{}: {put:?}", case.name);
        let delivered = !drain(&sqs, &url).await.is_empty();
        differences.extend(differing(case, Value::Bool(delivered), "delivery"));
    }
    report(differences, carried.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_entry_from_an_aws_source_is_refused_as_aws_refuses_it() {
    let cloud = platform_only();
    let events = Events::new(&admin(&cloud).await);
    let entries = [("aws.ec2", false), ("app.users", true)].map(|(source, _)| {
        (PutEventsRequestEntry::builder())
            .source(source)
            .detail_type("Probe")
            .detail("{}")
            .build()
    });
    let put = events
        .put_events()
        .set_entries(Some(entries.to_vec()))
        .send()
        .await
        .unwrap();
    assert_eq!(put.failed_entry_count, 1);
    let answers = put.entries();
    assert_eq!(
        answers[0].error_code(),
        Some("NotAuthorizedForSourceException")
    );
    assert!(answers[1].event_id().is_some());
}
