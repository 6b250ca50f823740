//! Observability end to end, on a local cloud of its own whose functions
//! log at `info`: the walkthrough's completion is one X-Ray trace from the
//! HTTP request through stream, bus and consumer to the notification, in
//! the local cloud's hops and in each function's log; every function that
//! ran printed EMF documents that meet the specification. The
//! notifications consumer runs here as on Lambda Managed Instances, many
//! invocations at once in one process.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use devstack_api::telemetry::{self, Hop};
use devstack_cloud::{Detached, Options};
use serde_json::Value;

use crate::support::test_cloud;
use crate::support::{kept_cloud, unique_email};

fn cloud() -> &'static Detached {
    static CLOUD: OnceLock<Detached> = OnceLock::new();
    kept_cloud(&CLOUD, || Options {
        function_env: vec![("RUST_LOG".into(), "info".into())],
        // Places enough that a burst never needs a second environment.
        managed_instances: [(CONSUMER.to_owned(), 64)].into(),
        ..test_cloud()
    })
}

const CONSUMER: &str = "notifications/ConsumerFunction";

fn dir() -> PathBuf {
    PathBuf::from(cloud().endpoints.telemetry_dir.as_str())
}

fn log(dir: &Path, function: &str) -> String {
    std::fs::read_to_string(
        dir.join("logs")
            .join(format!("{}.log", function.replace('/', "-"))),
    )
    .unwrap_or_default()
}

/// The log lines of `function` that carry `needle`, parsed.
fn lines_with(dir: &Path, function: &str, needle: &str) -> Vec<Value> {
    log(dir, function)
        .lines()
        .filter(|l| l.contains(needle))
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn find<'a>(hops: &'a [&Hop], kind: &str, function: &str) -> &'a Hop {
    hops.iter()
        .find(|h| h.kind == kind && h.function == function)
        .unwrap_or_else(|| panic!("no {kind} hop of {function} in {hops:#?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_walkthrough_is_one_trace_from_the_request_to_the_notification() {
    let e = &cloud().endpoints;
    let journey = devstack_client::walkthrough::journey(e, &unique_email("trace"), |_| {})
        .await
        .unwrap();
    let dir = dir();
    // The deliverer and the notifications publisher run after the API saw
    // the notification; give their hops a moment to be written.
    let mut hops = Vec::new();
    for _ in 0..100 {
        hops = telemetry::read_hops(&dir).unwrap();
        let traces = telemetry::traces_for(&hops, &journey.correlation_id);
        if traces.iter().any(|t| {
            telemetry::waterfall(&hops, t)
                .iter()
                .any(|h| h.function == "notifications/DelivererFunction")
        }) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let traces = telemetry::traces_for(&hops, &journey.correlation_id);
    let trace = hops
        .iter()
        .find(|h| h.kind == "http" && h.correlation_ids.contains(&journey.correlation_id))
        .map(|h| h.trace_id.clone())
        .unwrap_or_else(|| panic!("no HTTP hop for {}: {traces:?}", journey.correlation_id));
    assert!(trace.starts_with("1-") && trace.len() == 35, "{trace}");
    let w = telemetry::waterfall(&hops, &trace);
    let text = telemetry::render_waterfall(&trace, &w);

    // Each hop of the path, in this trace.
    let api = find(&w, "http", "todos/ApiFunction");
    assert_eq!(api.detail, "PATCH /todos/{id}");
    let publisher = find(&w, "stream", "todos/PublisherFunction");
    assert!(publisher.links.contains(&trace), "{text}");
    let bus = w
        .iter()
        .find(|h| h.kind == "bus" && h.detail == "PutEvents TodoCompleted")
        .unwrap_or_else(|| panic!("no bus hop: {text}"));
    assert_eq!(bus.trace_id, trace);
    // The consumer was handed the entry's TraceHeader: same trace, and the
    // publisher's record span as its parent.
    let consumer = find(&w, "rule", "notifications/ConsumerFunction");
    assert_eq!(consumer.trace_id, trace, "{text}");
    assert_eq!(consumer.parent, bus.parent, "{text}");
    assert_eq!(consumer.outcome, "ok");
    let deliverer = find(&w, "stream", "notifications/DelivererFunction");
    assert!(deliverer.links.contains(&trace), "{text}");
    // In time order along the path.
    assert!(api.start_ms < publisher.start_ms, "{text}");
    assert!(publisher.start_ms <= bus.start_ms, "{text}");
    assert!(bus.start_ms < consumer.start_ms, "{text}");
    assert!(consumer.start_ms < deliverer.start_ms, "{text}");
    for function in [
        "todos/ApiFunction",
        "todos/PublisherFunction",
        "notifications/ConsumerFunction",
        "notifications/DelivererFunction",
    ] {
        assert!(text.contains(function), "{text}");
    }

    // The same trace id in every function's log along the way, beside the
    // correlation id.
    for function in [
        "todos/ApiFunction",
        "todos/PublisherFunction",
        "notifications/ConsumerFunction",
        "notifications/DelivererFunction",
    ] {
        // (EMF documents carry the trace id as a property: logs only here.)
        let lines: Vec<Value> = lines_with(&dir, function, &trace)
            .into_iter()
            .filter(|l| l.get("_aws").is_none())
            .collect();
        assert!(
            !lines.is_empty(),
            "no line of {function} carries {trace}:\n{}",
            log(&dir, function)
        );
        assert!(
            lines.iter().all(|l| l["span"]["trace_id"] == trace.as_str()
                || l["spans"]
                    .as_array()
                    .is_some_and(|s| s.iter().any(|s| s["trace_id"] == trace.as_str()))),
            "{lines:?}"
        );
    }
    let api_lines = lines_with(&dir, "todos/ApiFunction", &journey.correlation_id);
    assert!(
        api_lines.iter().any(|l| l.to_string().contains(&trace)),
        "the API's lines for {} carry no trace id: {api_lines:?}",
        journey.correlation_id
    );
    // No colour codes in a log that is not a terminal.
    assert!(!log(&dir, "todos/ApiFunction").contains('\u{1b}'));
}

#[tokio::test(flavor = "multi_thread")]
async fn every_function_that_ran_printed_emf_documents_that_meet_the_specification() {
    let e = &cloud().endpoints;
    devstack_client::walkthrough::journey(e, &unique_email("emf"), |_| {})
        .await
        .unwrap();
    let dir = dir();
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(crate::support::root().join("tests/schemas/emf.schema.json"))
            .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let text = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    let mut documents = 0;
    for line in text.lines() {
        let entry: Value = serde_json::from_str(line).unwrap();
        let doc = &entry["emf"];
        let errors: Vec<String> = validator.iter_errors(doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{doc}: {errors:?}");
        // Values at the top level: each dimension a string, each metric a
        // number or at most 100 numbers.
        for directive in doc["_aws"]["CloudWatchMetrics"].as_array().unwrap() {
            for set in directive["Dimensions"].as_array().unwrap() {
                for key in set.as_array().unwrap() {
                    let key = key.as_str().unwrap();
                    assert!(doc[key].is_string(), "dimension {key} has no value: {doc}");
                }
            }
            for metric in directive["Metrics"].as_array().unwrap() {
                let name = metric["Name"].as_str().unwrap();
                match &doc[name] {
                    Value::Number(_) => {}
                    Value::Array(values) => {
                        assert!(!values.is_empty() && values.len() <= 100, "{doc}");
                        assert!(values.iter().all(Value::is_number), "{doc}");
                    }
                    other => panic!("metric {name} has value {other}: {doc}"),
                }
            }
            assert_eq!(
                directive["Namespace"],
                format!("app/{}", doc["service"].as_str().unwrap()),
                "{doc}"
            );
        }
        documents += 1;
    }
    assert!(documents > 0);

    // `devstack metrics`' figures: non-zero for every function that ran,
    // with a cold start each and the consumer's event age.
    let table = telemetry::read_metrics(&dir);
    let ran: BTreeSet<&str> = [
        ("app/users", "users-api"),
        ("app/users", "users-publisher"),
        ("app/todos", "todos-api"),
        ("app/todos", "todos-publisher"),
        ("app/todos", "todos-attachment-check"),
        ("app/notifications", "notifications-consumer"),
        ("app/notifications", "notifications-deliverer"),
        ("app/notifications", "notifications-publisher"),
        ("app/notifications", "notifications-api"),
    ]
    .into_iter()
    .map(|(namespace, function)| {
        let metrics = table
            .get(namespace)
            .and_then(|f| f.get(function))
            .unwrap_or_else(|| panic!("no metrics from {function}: {table:#?}"));
        // One per execution environment: more than one where the shared
        // cloud's other tests made the function scale out.
        assert!(
            metrics
                .iter()
                .any(|(name, f)| name.starts_with("ColdStart") && f.sum >= 1.0),
            "{function}: {metrics:#?}"
        );
        assert!(
            metrics
                .iter()
                .any(|(name, f)| !name.starts_with("ColdStart") && f.sum > 0.0),
            "{function}: {metrics:#?}"
        );
        function
    })
    .collect();
    assert_eq!(ran.len(), 9);
    let todos_api = &table["app/todos"]["todos-api"];
    assert!(todos_api["Requests [route=PATCH /todos/{id}]"].sum >= 1.0);
    assert!(todos_api["Latency [route=POST /todos]"].samples >= 2);
    assert!(todos_api["Http2xx [route=POST /todos]"].sum >= 2.0);
    let consumer = &table["app/notifications"]["notifications-consumer"];
    assert!(consumer["EventsProcessed"].sum >= 2.0, "{consumer:#?}");
    let age = &consumer["EventAge"];
    assert!(
        age.samples >= 2 && age.max >= 0.0 && age.max < 60_000.0,
        "{age:?}"
    );
    let publisher = &table["app/todos"]["todos-publisher"];
    assert!(publisher["EntriesPut"].sum >= 3.0, "{publisher:#?}");
    assert!(publisher["BatchSize"].samples >= 1, "{publisher:#?}");
    let rendered = telemetry::render_metrics(&table);
    assert!(rendered.contains("app/notifications") && rendered.contains("EventAge"));
}

/// The most of `hops` that ran at once.
fn most_at_once(hops: &[Hop]) -> usize {
    let mut edges: Vec<(f64, i32)> = hops
        .iter()
        .flat_map(|h| [(h.start_ms, 1), (h.start_ms + h.duration_ms, -1)])
        .collect();
    // An end before a start at the same instant: touching is not overlap.
    edges.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let (mut now, mut most) = (0, 0);
    for (_, step) in edges {
        now += step;
        most = most.max(now);
    }
    most as usize
}

#[tokio::test(flavor = "multi_thread")]
async fn a_managed_instances_consumer_takes_a_burst_in_one_process_each_invocation_apart() {
    let e = &cloud().endpoints;
    let conf = kit::config::endpoint(&e.emulator_url).await;
    let bus = aws_sdk_eventbridge::Client::new(&conf);
    let example = devstack_client::burst::registration_example().unwrap();
    let events: Vec<_> = (0..24)
        .map(|_| devstack_client::burst::registration(&example, "managed"))
        .collect();
    // Six delivered twice, as an at-least-once bus may: the same event id.
    let deliveries: Vec<_> = events.iter().chain(&events[..6]).collect();
    let puts = deliveries.chunks(10).map(|chunk| {
        let entries = chunk.iter().map(|(_, detail)| {
            aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                .event_bus_name(&e.bus_name)
                .source("app.users")
                .detail_type("UserRegistered")
                .detail(detail.to_string())
                .build()
        });
        bus.put_events().set_entries(Some(entries.collect())).send()
    });
    for put in futures_util::future::join_all(puts).await {
        assert_eq!(put.unwrap().failed_entry_count(), 0);
    }
    let ours: BTreeSet<&str> = events.iter().map(|(p, _)| p.correlation.as_str()).collect();
    let dir = dir();
    let mut hops: Vec<Hop> = Vec::new();
    for _ in 0..200 {
        hops = telemetry::read_hops(&dir)
            .unwrap()
            .into_iter()
            .filter(|h| h.function == CONSUMER && h.kind == "rule")
            .filter(|h| h.correlation_ids.iter().any(|c| ours.contains(c.as_str())))
            .collect();
        if hops.len() >= deliveries.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(hops.len(), deliveries.len(), "{hops:#?}");
    assert!(hops.iter().all(|h| h.outcome == "ok"), "{hops:#?}");

    // One process took them, side by side.
    let processes: Vec<_> = telemetry::read_processes(&dir)
        .into_iter()
        .filter(|p| p.function == CONSUMER)
        .collect();
    assert_eq!(processes.len(), 1, "{processes:?}");
    assert!(most_at_once(&hops) > 1, "one at a time: {hops:#?}");

    // Each user welcomed once, the second deliveries skipped.
    let ddb = aws_sdk_dynamodb::Client::new(&ops::targets::administrator(e, "notifications").await);
    let table = &e.services["notifications"].table;
    for (put, _) in &events {
        let user = &put.user;
        let items = ddb
            .query()
            .table_name(table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :n)")
            .expression_attribute_values(
                ":pk",
                aws_sdk_dynamodb::types::AttributeValue::S(format!("USER#{user}")),
            )
            .expression_attribute_values(
                ":n",
                aws_sdk_dynamodb::types::AttributeValue::S("NOTIF#".into()),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(items.count(), 1, "{user}: {:?}", items.items());
    }

    // Each invocation wrote a document of its own: its trace, its event
    // type, one event counted. Documents mixed across invocations would
    // count two events in one and none in the other.
    let text = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    let traces: Vec<&str> = hops.iter().map(|h| h.trace_id.as_str()).collect();
    let docs: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|entry| entry["function"] == CONSUMER)
        .map(|entry| entry["emf"].clone())
        .filter(|doc| {
            doc["trace_id"]
                .as_str()
                .is_some_and(|t| traces.contains(&t))
        })
        .collect();
    assert_eq!(docs.len(), deliveries.len(), "{docs:#?}");
    let count = |doc: &Value, name: &str| doc[name].as_u64().unwrap_or(0);
    for doc in &docs {
        assert_eq!(doc["event_type"], "UserRegistered", "{doc}");
        assert_eq!(
            count(doc, "EventsProcessed") + count(doc, "EventsDuplicate"),
            1,
            "{doc}"
        );
    }
    let processed = docs
        .iter()
        .map(|d| count(d, "EventsProcessed"))
        .sum::<u64>();
    assert_eq!(processed, events.len() as u64);
    let request_ids: BTreeSet<&str> = docs
        .iter()
        .filter_map(|d| d["request_id"].as_str())
        .collect();
    assert_eq!(request_ids.len(), docs.len(), "one document per invocation");
}
