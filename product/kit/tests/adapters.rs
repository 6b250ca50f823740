//! The kit's adapters against the emulator, through the real SDK.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    TransactWriteItem,
};
use aws_sdk_eventbridge::types::Target;
use devstack_emulator::{shared, unique};
use events::{Envelope, PutEntry, todos::TodoCompletedV1};
use kit::idempotency::Processed;
use kit::publisher::{Limits, PublishError, Publisher};
use uuid::Uuid;

fn entry(i: usize) -> PutEntry {
    PutEntry::from_envelope(&Envelope::new(
        Uuid::new_v4(),
        chrono::Utc::now(),
        "corr",
        None,
        "todos",
        TodoCompletedV1 {
            todo_id: Uuid::nil(),
            user_id: format!("u{i}"),
            title: "t".into(),
            completed_at: chrono::Utc::now(),
        },
    ))
    .unwrap()
}

/// A bus whose every `app.todos` event lands in a fresh queue.
async fn bus_with_queue(conf: &aws_config::SdkConfig) -> (String, aws_sdk_sqs::Client, String) {
    let eb = aws_sdk_eventbridge::Client::new(conf);
    let sqs = aws_sdk_sqs::Client::new(conf);
    let bus = unique("bus");
    eb.create_event_bus().name(&bus).send().await.unwrap();
    let queue_url = rule_to_new_queue(&eb, &sqs, &bus, "all-todos").await;
    (bus, sqs, queue_url)
}

/// A new standard queue named after `prefix`; its URL.
async fn new_queue(sqs: &aws_sdk_sqs::Client, prefix: &str) -> String {
    sqs.create_queue()
        .queue_name(unique(prefix))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap()
}

/// A rule on `bus` for every `app.todos` event, whose target is a fresh
/// queue; the queue's URL.
async fn rule_to_new_queue(
    eb: &aws_sdk_eventbridge::Client,
    sqs: &aws_sdk_sqs::Client,
    bus: &str,
    rule: &str,
) -> String {
    let queue_url = new_queue(sqs, "q").await;
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    eb.put_rule()
        .name(rule)
        .event_bus_name(bus)
        .event_pattern(r#"{"source":["app.todos"]}"#)
        .send()
        .await
        .unwrap();
    eb.put_targets()
        .rule(rule)
        .event_bus_name(bus)
        .targets(Target::builder().id("q").arn(arn).build().unwrap())
        .send()
        .await
        .unwrap();
    queue_url
}

fn publisher(conf: &aws_config::SdkConfig, bus: &str) -> Publisher {
    Publisher::new(
        aws_sdk_eventbridge::Client::new(conf),
        bus,
        Limits::default(),
    )
}

async fn drain(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    loop {
        let got = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        let messages = got.messages.unwrap_or_default();
        if messages.is_empty() {
            return out;
        }
        for m in messages {
            out.push(serde_json::from_str(m.body().unwrap()).unwrap());
            sqs.delete_message()
                .queue_url(queue_url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn a_disabled_rule_delivers_nothing_until_it_is_enabled() {
    let conf = shared().sdk_config().await;
    let (bus, sqs, queue_url) = bus_with_queue(&conf).await;
    let eb = aws_sdk_eventbridge::Client::new(&conf);
    let publisher = publisher(&conf, &bus);
    eb.disable_rule()
        .name("all-todos")
        .event_bus_name(&bus)
        .send()
        .await
        .unwrap();
    publisher.publish(&[entry(1)]).await.unwrap();
    assert!(
        drain(&sqs, &queue_url).await.is_empty(),
        "a disabled rule delivered"
    );
    eb.enable_rule()
        .name("all-todos")
        .event_bus_name(&bus)
        .send()
        .await
        .unwrap();
    publisher.publish(&[entry(2)]).await.unwrap();
    assert_eq!(drain(&sqs, &queue_url).await.len(), 1);
}

#[tokio::test]
async fn publishes_in_batches_of_ten_and_delivers_each_event_once() {
    let conf = shared().sdk_config().await;
    let (bus, sqs, queue) = bus_with_queue(&conf).await;
    let publisher = publisher(&conf, &bus);
    let entries: Vec<_> = (0..23).map(entry).collect();
    let done = publisher.publish(&entries).await.unwrap();
    assert_eq!((done.entries, done.calls, done.resent), (23, 3, 0));
    let delivered = drain(&sqs, &queue).await;
    let mut ids: Vec<_> = delivered
        .iter()
        .map(|e| {
            e["detail"]["metadata"]["event_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    ids.sort();
    let mut sent: Vec<_> = entries.iter().map(|e| e.event_id.to_string()).collect();
    sent.sort();
    assert_eq!(ids, sent);
    assert_eq!(delivered[0]["detail-type"], "TodoCompleted");
}

#[tokio::test]
async fn resends_only_the_entries_the_answer_reports_as_failed() {
    let conf = shared().sdk_config().await;
    let (bus, sqs, queue) = bus_with_queue(&conf).await;
    let publisher = publisher(&conf, &bus).with_max_attempts(3);
    let mut entries: Vec<_> = (0..12).map(entry).collect();
    entries[4].detail = "{not json".into();
    let bad = entries[4].event_id;
    let err = publisher.publish(&entries).await.unwrap_err();
    match &err {
        PublishError::Rejected {
            failed, attempts, ..
        } => {
            assert_eq!(*attempts, 3);
            assert_eq!(failed.len(), 1);
            assert_eq!(failed[0].event_id, bad);
            assert_eq!(failed[0].code, "MalformedDetail");
        }
        other => panic!("{other}"),
    }
    // The eleven good events arrived exactly once despite two re-sends.
    assert_eq!(drain(&sqs, &queue).await.len(), 11);
}

async fn table(conf: &aws_config::SdkConfig) -> (aws_sdk_dynamodb::Client, String) {
    let ddb = aws_sdk_dynamodb::Client::new(conf);
    let name = unique("table");
    let key = |n: &str, t| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
            .unwrap()
    };
    let attr = |n: &str| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    ddb.create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .attribute_definitions(attr("pk"))
        .attribute_definitions(attr("sk"))
        .send()
        .await
        .unwrap();
    (ddb, name)
}

#[tokio::test]
async fn an_event_is_recorded_once_per_consumer() {
    let conf = shared().sdk_config().await;
    let (ddb, name) = table(&conf).await;
    let welcome = Processed::new(ddb.clone(), &name, "welcome");
    let other = Processed::new(ddb.clone(), &name, "erase");
    let id = Uuid::new_v4();
    assert!(!welcome.seen(id).await.unwrap());
    assert!(welcome.record(id).await.unwrap());
    assert!(!welcome.record(id).await.unwrap());
    assert!(welcome.seen(id).await.unwrap());
    assert!(
        other.record(id).await.unwrap(),
        "consumers deduplicate separately"
    );
}

#[tokio::test]
async fn a_duplicate_delivery_cancels_the_effect_transaction() {
    let conf = shared().sdk_config().await;
    let (ddb, name) = table(&conf).await;
    let processed = Processed::new(ddb.clone(), &name, "welcome");
    let id = Uuid::new_v4();
    let effect = |n: u32| {
        TransactWriteItem::builder()
            .put(
                aws_sdk_dynamodb::types::Put::builder()
                    .table_name(&name)
                    .item(
                        "pk",
                        aws_sdk_dynamodb::types::AttributeValue::S("USER#u".into()),
                    )
                    .item(
                        "sk",
                        aws_sdk_dynamodb::types::AttributeValue::S(format!("NOTIF#{n}")),
                    )
                    .build()
                    .unwrap(),
            )
            .build()
    };
    let apply = |n| {
        ddb.transact_write_items()
            .transact_items(effect(n))
            .transact_items(
                TransactWriteItem::builder()
                    .put(processed.marker(id))
                    .build(),
            )
            .send()
    };
    apply(1).await.unwrap();
    let second = apply(2).await.unwrap_err();
    let reasons = second
        .as_service_error()
        .and_then(|e| match e {
            aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c) => Some(c.cancellation_reasons().to_vec()),
            _ => None,
        })
        .expect("a cancelled transaction");
    assert_eq!(reasons[1].code(), Some("ConditionalCheckFailed"));
    let count = ddb.scan().table_name(&name).send().await.unwrap().count;
    assert_eq!(count, 2, "one effect and one marker, no second effect");
}

fn stream_record(seq: u32) -> aws_lambda_events::dynamodb::EventRecord {
    let mut r = kit::stream::record(&format!("rec-{seq}"), "INSERT", None, None);
    r.change.sequence_number = Some(format!("{seq:021}"));
    r
}

/// One event per record; `rec-3` cannot be mapped, and `rec-5`'s event is
/// one the bus rejects.
fn map(
    r: &aws_lambda_events::dynamodb::EventRecord,
) -> Result<Vec<PutEntry>, kit::stream::StreamError> {
    match r.event_id.as_str() {
        "rec-3" => Err(kit::stream::StreamError::MissingImage {
            record: r.event_id.clone(),
            image: "new",
        }),
        "rec-5" => {
            let mut e = entry(5);
            e.detail = "{oops".into();
            Ok(vec![e])
        }
        _ => Ok(vec![entry(0)]),
    }
}

#[tokio::test]
async fn a_stream_batch_publishes_up_to_the_first_bad_record_and_checkpoints_there() {
    let conf = shared().sdk_config().await;
    let (bus, sqs, queue) = bus_with_queue(&conf).await;
    let publisher = publisher(&conf, &bus).with_max_attempts(1);

    let good: Vec<_> = [0, 1, 2].into_iter().map(stream_record).collect();
    let outcome = kit::outbox::publish_records(&good, map, &publisher).await;
    assert_eq!(outcome.published, 3);
    assert!(outcome.response().batch_item_failures.is_empty());
    assert_eq!(drain(&sqs, &queue).await.len(), 3);

    let poisoned: Vec<_> = [1, 2, 3, 4].into_iter().map(stream_record).collect();
    let outcome = kit::outbox::publish_records(&poisoned, map, &publisher).await;
    let failures = outcome.response().batch_item_failures;
    assert_eq!(failures.len(), 1);
    assert_eq!(
        failures[0].item_identifier.as_deref(),
        Some("000000000000000000003")
    );
    assert!(outcome.failed.unwrap().1.contains("rec-3"));
    assert_eq!(
        drain(&sqs, &queue).await.len(),
        2,
        "records before the poison only"
    );

    let rejected: Vec<_> = [4, 5, 6].into_iter().map(stream_record).collect();
    let outcome = kit::outbox::publish_records(&rejected, map, &publisher).await;
    assert_eq!(
        outcome.response().batch_item_failures[0]
            .item_identifier
            .as_deref(),
        Some("000000000000000000005")
    );
    assert!(outcome.failed.unwrap().1.contains("MalformedDetail"));
}

#[derive(serde::Serialize)]
struct Row {
    pk: String,
    sk: String,
    written_by: String,
}

// Under a dropped answer the SDK sends the same write again. When the first
// had applied, the retry must not turn this request's own success into a
// 409 or a 404 (found by `devstack load --chaos`).
#[tokio::test]
async fn a_write_repeated_by_the_sdk_after_it_applied_is_not_a_conflict() {
    let conf = shared().sdk_config().await;
    let name = unique("retried");
    devstack_emulator::create_service_table(&conf, &name).await;
    let table = kit::table::Table::new(aws_sdk_dynamodb::Client::new(&conf), &name);
    let row = |sk: &str, by: &str| Row {
        pk: "USER#u1".into(),
        sk: sk.into(),
        written_by: by.into(),
    };

    table.put_new(&row("PROFILE", "request-1")).await.unwrap();
    table.put_new(&row("PROFILE", "request-1")).await.unwrap();
    assert!(matches!(
        table.put_new(&row("PROFILE", "request-2")).await,
        Err(kit::table::TableError::Conflict)
    ));

    let tombstone = row("TOMBSTONE", "request-3");
    table
        .delete_with_tombstone("USER#u1", "PROFILE", &tombstone)
        .await
        .unwrap();
    table
        .delete_with_tombstone("USER#u1", "PROFILE", &tombstone)
        .await
        .unwrap();
    assert!(matches!(
        table
            .delete_with_tombstone("USER#u1", "PROFILE", &row("TOMBSTONE", "request-4"))
            .await,
        Err(kit::table::TableError::NotFound)
    ));
}

/// A cancelled transaction changes nothing: not an item it had already
/// updated in place, not one it had put, not the stream. The local cloud's
/// moto backs up only the items a transaction names (`moto_server.py`);
/// this holds it to moto's own whole-table copy.
#[tokio::test]
async fn a_cancelled_transaction_leaves_the_items_and_the_stream_as_they_were() {
    use aws_sdk_dynamodb::types::{AttributeValue, Put, Update};
    let conf = shared().sdk_config().await;
    let ddb = aws_sdk_dynamodb::Client::new(&conf);
    let name = unique("rollback");
    devstack_emulator::create_service_table(&conf, &name).await;
    let s = |v: &str| AttributeValue::S(v.into());
    for pk in ["A", "C"] {
        ddb.put_item()
            .table_name(&name)
            .item("pk", s(pk))
            .item("sk", s("X"))
            .item("n", AttributeValue::N("1".into()))
            .send()
            .await
            .unwrap();
    }
    let bump = |to: &str| {
        TransactWriteItem::builder()
            .update(
                Update::builder()
                    .table_name(&name)
                    .key("pk", s("A"))
                    .key("sk", s("X"))
                    .update_expression("SET n = :n")
                    .expression_attribute_values(":n", AttributeValue::N(to.into()))
                    .build()
                    .unwrap(),
            )
            .build()
    };
    let put_new = |pk: &str| {
        TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(&name)
                    .item("pk", s(pk))
                    .item("sk", s("X"))
                    .condition_expression("attribute_not_exists(pk)")
                    .build()
                    .unwrap(),
            )
            .build()
    };
    let cancelled = ddb
        .transact_write_items()
        .transact_items(bump("2"))
        .transact_items(put_new("B"))
        .transact_items(put_new("C"))
        .send()
        .await;
    assert!(
        cancelled.is_err(),
        "C exists, so the transaction is cancelled"
    );
    let n = |pk: &'static str| {
        let ddb = ddb.clone();
        let name = name.clone();
        async move {
            let got = ddb
                .get_item()
                .table_name(&name)
                .key("pk", s(pk))
                .key("sk", s("X"))
                .send()
                .await
                .unwrap();
            got.item.map(|i| i["n"].as_n().cloned().unwrap_or_default())
        }
    };
    assert_eq!(n("A").await.as_deref(), Some("1"), "the update is undone");
    assert_eq!(n("B").await, None, "the put is undone");
    let events = |records: Vec<aws_lambda_events::dynamodb::EventRecord>| {
        records
            .into_iter()
            .map(|r| r.event_name)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        events(devstack_emulator::read_stream(&conf, &name).await),
        ["INSERT", "INSERT"],
        "nothing of the cancelled transaction reached the stream"
    );
    ddb.transact_write_items()
        .transact_items(bump("3"))
        .send()
        .await
        .unwrap();
    assert_eq!(n("A").await.as_deref(), Some("3"));
    assert_eq!(
        events(devstack_emulator::read_stream(&conf, &name).await),
        ["INSERT", "INSERT", "MODIFY"],
        "the stream goes on after the cancelled transaction"
    );
}

/// TestEventPattern answers with the emulator's own matcher, the one that
/// decides what it delivers (moto has no TestEventPattern of its own:
/// `moto_server.py`), so it can check another implementation of the
/// pattern language.
#[tokio::test]
async fn test_event_pattern_answers_as_the_emulator_delivers() {
    let conf = shared().sdk_config().await;
    let eb = aws_sdk_eventbridge::Client::new(&conf);
    let event = serde_json::json!({
        "version": "0",
        "id": Uuid::new_v4(),
        "detail-type": "TodoCompleted",
        "source": "app.todos",
        "account": "123456789012",
        "time": "2024-05-01T12:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {"title": "t"}
    })
    .to_string();
    let test = |pattern: &'static str| {
        eb.test_event_pattern()
            .event_pattern(pattern)
            .event(&event)
            .send()
    };
    assert!(
        test(r#"{"source":[{"prefix":"app."}]}"#)
            .await
            .unwrap()
            .result
    );
    assert!(
        !test(r#"{"source":[{"prefix":"web."}]}"#)
            .await
            .unwrap()
            .result
    );
    let invalid = test(r#"{"source":"app.todos"}"#).await.unwrap_err();
    let invalid = invalid
        .as_service_error()
        .expect("an answer from the service");
    assert!(invalid.is_invalid_event_pattern_exception(), "{invalid:?}");
    assert!(
        invalid
            .meta()
            .message()
            .is_some_and(|m| m.starts_with("Event pattern is not valid.")),
        "{invalid:?}"
    );
    let not_an_event = eb
        .test_event_pattern()
        .event_pattern(r#"{"source":["app.todos"]}"#)
        .event("{not json")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        not_an_event
            .as_service_error()
            .and_then(|e| e.meta().code()),
        Some("ValidationException")
    );
}

/// A replay sends the archive's events of its window only, to the rules
/// `Destination.FilterArns` names only, and does not archive them again
/// (moto sent the whole archive to every rule: `moto_server.py`).
#[tokio::test]
async fn a_replay_keeps_to_its_window_and_to_the_rules_it_names() {
    use aws_sdk_eventbridge::primitives::DateTime;
    use aws_sdk_eventbridge::types::{PutEventsRequestEntry, ReplayDestination, ReplayState};
    let conf = shared().sdk_config().await;
    let eb = aws_sdk_eventbridge::Client::new(&conf);
    let (bus, sqs, named_queue) = bus_with_queue(&conf).await;
    let other_queue = rule_to_new_queue(&eb, &sqs, &bus, "other-todos").await;
    let bus_arn = eb
        .describe_event_bus()
        .name(&bus)
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    let named_rule = eb
        .describe_rule()
        .name("all-todos")
        .event_bus_name(&bus)
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    let archive = unique("archive");
    let archive_arn = eb
        .create_archive()
        .archive_name(&archive)
        .event_source_arn(&bus_arn)
        .send()
        .await
        .unwrap()
        .archive_arn
        .unwrap();
    let now = chrono::Utc::now().timestamp();
    let at = |ago: i64, name: &str| {
        PutEventsRequestEntry::builder()
            .event_bus_name(&bus)
            .source("app.todos")
            .detail_type("TodoCompleted")
            .detail(serde_json::json!({ "name": name }).to_string())
            .time(DateTime::from_secs(now - ago))
            .build()
    };
    let put = eb
        .put_events()
        .entries(at(3600, "before"))
        .entries(at(120, "first"))
        .entries(at(60, "second"))
        .entries(at(0, "after"))
        .send()
        .await
        .unwrap();
    assert_eq!(put.failed_entry_count, 0);
    let published: Vec<_> = put
        .entries()
        .iter()
        .filter_map(|e| e.event_id.clone())
        .collect();
    assert_eq!(drain(&sqs, &named_queue).await.len(), 4);
    assert_eq!(drain(&sqs, &other_queue).await.len(), 4);
    let archived = || {
        let eb = eb.clone();
        let archive = archive.clone();
        async move {
            eb.describe_archive()
                .archive_name(&archive)
                .send()
                .await
                .unwrap()
                .event_count
        }
    };
    assert_eq!(archived().await, 4);

    let replay = unique("replay");
    eb.start_replay()
        .replay_name(&replay)
        .event_source_arn(&archive_arn)
        .event_start_time(DateTime::from_secs(now - 600))
        .event_end_time(DateTime::from_secs(now - 30))
        .destination(
            ReplayDestination::builder()
                .arn(&bus_arn)
                .filter_arns(&named_rule)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let replayed = drain(&sqs, &named_queue).await;
    let mut names: Vec<_> = replayed
        .iter()
        .map(|e| e["detail"]["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["first", "second"], "the window's events only");
    for event in &replayed {
        assert_eq!(event["replay-name"], replay.as_str());
        let id = event["id"].as_str().unwrap();
        assert!(
            !published.iter().any(|p| p == id),
            "a replayed event has a new id"
        );
    }
    assert_eq!(
        drain(&sqs, &other_queue).await.len(),
        0,
        "the rule FilterArns leaves out receives nothing"
    );
    assert_eq!(
        archived().await,
        4,
        "replayed events are not archived again"
    );
    let described = eb
        .describe_replay()
        .replay_name(&replay)
        .send()
        .await
        .unwrap();
    assert_eq!(described.state, Some(ReplayState::Completed));
    assert_eq!(
        described.event_last_replayed_time.map(|t| t.secs()),
        Some(now - 60),
        "the last event replayed is the window's latest"
    );
}

/// Each target's input paths are parsed once and kept by their text
/// (`moto_server.py`): every event still gets its own values.
#[tokio::test]
async fn an_input_transformer_gives_each_event_its_own_values() {
    use aws_sdk_eventbridge::types::{InputTransformer, PutEventsRequestEntry};
    let conf = shared().sdk_config().await;
    let eb = aws_sdk_eventbridge::Client::new(&conf);
    let (bus, sqs, queue_url) = bus_with_queue(&conf).await;
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    let transformer = InputTransformer::builder()
        .input_paths_map("user", "$.detail.user")
        .input_template(r#"{"who": "<user>"}"#)
        .build()
        .unwrap();
    eb.put_targets()
        .rule("all-todos")
        .event_bus_name(&bus)
        .targets(
            Target::builder()
                .id("q")
                .arn(arn)
                .input_transformer(transformer)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    for user in ["ada", "grace", "ada"] {
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(&bus)
            .source("app.todos")
            .detail_type("TodoCompleted")
            .detail(serde_json::json!({ "user": user }).to_string())
            .build();
        eb.put_events().entries(entry).send().await.unwrap();
    }
    let mut got: Vec<String> = drain(&sqs, &queue_url)
        .await
        .iter()
        .map(|m| m["who"].as_str().unwrap().to_owned())
        .collect();
    got.sort();
    assert_eq!(got, ["ada", "ada", "grace"]);
}

/// A send does not count the queue (`moto_server.py`), and still reads
/// what it needs: a FIFO queue's content-based deduplication holds, and
/// GetQueueAttributes counts every message afterwards.
#[tokio::test]
async fn sends_keep_deduplication_and_the_counts_stay_true() {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let conf = shared().sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&conf);
    let fifo = sqs
        .create_queue()
        .queue_name(format!("{}.fifo", unique("dedup")))
        .attributes(A::FifoQueue, "true")
        .attributes(A::ContentBasedDeduplication, "true")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    for _ in 0..2 {
        sqs.send_message()
            .queue_url(&fifo)
            .message_body("same")
            .message_group_id("g")
            .send()
            .await
            .unwrap();
    }
    let plain = new_queue(&sqs, "counted").await;
    for i in 0..3 {
        sqs.send_message()
            .queue_url(&plain)
            .message_body(format!("m{i}"))
            .send()
            .await
            .unwrap();
    }
    let count = |url: String| {
        let sqs = sqs.clone();
        async move {
            sqs.get_queue_attributes()
                .queue_url(url)
                .attribute_names(A::ApproximateNumberOfMessages)
                .send()
                .await
                .unwrap()
                .attributes
                .unwrap()[&A::ApproximateNumberOfMessages]
                .clone()
        }
    };
    assert_eq!(count(fifo).await, "1", "the duplicate was deduplicated");
    assert_eq!(count(plain).await, "3");
}

/// A receive walks the queue with one clock read (`moto_server.py`), and
/// still hands out only what SQS would: no message in flight, none still
/// delayed, no more than asked for; one made visible again comes back, and
/// a delayed one once its delay is over.
#[tokio::test]
async fn receives_hand_out_only_visible_undelayed_messages() {
    let conf = shared().sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&conf);
    let url = new_queue(&sqs, "visible").await;
    for body in ["now-1", "now-2"] {
        let send = sqs.send_message().queue_url(&url).message_body(body);
        send.send().await.unwrap();
    }
    let later = sqs.send_message().queue_url(&url).message_body("later");
    later.delay_seconds(3).send().await.unwrap();
    let receive = |max: i32, wait: i32| {
        let (sqs, url) = (sqs.clone(), url.clone());
        async move {
            let got = sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(max)
                .visibility_timeout(30)
                .wait_time_seconds(wait)
                .send()
                .await
                .unwrap();
            got.messages
                .unwrap_or_default()
                .into_iter()
                .map(|m| (m.body.unwrap(), m.receipt_handle.unwrap()))
                .collect::<Vec<_>>()
        }
    };
    let first = receive(1, 0).await;
    assert_eq!(first.len(), 1, "{first:?}");
    let second = receive(10, 0).await;
    let bodies: Vec<&str> = second.iter().map(|(b, _)| b.as_str()).collect();
    let other = if first[0].0 == "now-1" {
        "now-2"
    } else {
        "now-1"
    };
    assert_eq!(
        bodies,
        [other],
        "not the one in flight, not the delayed one"
    );
    assert!(receive(10, 0).await.is_empty(), "all in flight or delayed");
    sqs.change_message_visibility()
        .queue_url(&url)
        .receipt_handle(&first[0].1)
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    let again = receive(10, 0).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].0, first[0].0, "visible again");
    let delayed = receive(10, 5).await;
    let bodies: Vec<&str> = delayed.iter().map(|(b, _)| b.as_str()).collect();
    assert_eq!(bodies, ["later"], "once its delay is over");
}
