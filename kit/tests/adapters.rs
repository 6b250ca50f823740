//! The kit's adapters against the emulator, through the real SDK. The
//! emulator's own behaviour (moto and the local cloud's changes to it) is
//! tested in its crate.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    TransactWriteItem,
};
use devstack_emulator::fixtures::{bus_with_queue, drain};
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

fn publisher(conf: &aws_config::SdkConfig, bus: &str) -> Publisher {
    Publisher::new(
        aws_sdk_eventbridge::Client::new(conf),
        bus,
        Limits::default(),
    )
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
