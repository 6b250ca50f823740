//! DynamoDB and its streams as the patches answer them
//! (`src/patches/dynamodb.py`).

use super::*;

/// Query, Scan, GetItem and BatchGetItem answer every attribute type as
/// it was written, through the SDK's own parser: the local cloud writes
/// their answers directly (`src/patches/`) instead of through moto's
/// serializer, and this holds them to what was put.
#[tokio::test]
async fn item_answers_carry_every_attribute_type_as_written() {
    use aws_sdk_dynamodb::types::{AttributeValue as V, KeysAndAttributes};
    use std::collections::HashMap;
    let conf = shared().sdk_config().await;
    let ddb = aws_sdk_dynamodb::Client::new(&conf);
    let name = unique("answers");
    devstack_emulator::create_service_table(&conf, &name).await;
    let item = every_attribute_type;
    for sk in ["A", "B", "C"] {
        ddb.put_item()
            .table_name(&name)
            .set_item(Some(item(sk)))
            .send()
            .await
            .unwrap();
    }
    let key = |sk: &str| {
        HashMap::from([
            ("pk".to_owned(), item(sk)["pk"].clone()),
            ("sk".to_owned(), V::S(sk.into())),
        ])
    };
    let got = ddb
        .get_item()
        .table_name(&name)
        .set_key(Some(key("B")))
        .send()
        .await
        .unwrap();
    assert_eq!(got.item(), Some(&item("B")));
    let missing = ddb
        .get_item()
        .table_name(&name)
        .set_key(Some(key("Z")))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.item(), None);

    let page = ddb
        .query()
        .table_name(&name)
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", item("A")["pk"].clone())
        .limit(2)
        .send()
        .await
        .unwrap();
    assert_eq!(page.items(), [item("A"), item("B")]);
    assert_eq!((page.count(), page.scanned_count()), (2, 2));
    assert_eq!(page.last_evaluated_key(), Some(&key("B")));

    let scanned = ddb.scan().table_name(&name).send().await.unwrap();
    assert_eq!(scanned.count(), 3);
    assert!(scanned.items().contains(&item("C")));

    let batch = ddb
        .batch_get_item()
        .request_items(
            &name,
            KeysAndAttributes::builder()
                .keys(key("A"))
                .keys(key("Z"))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let found = &batch.responses().unwrap()[&name];
    assert_eq!(found.as_slice(), [item("A")]);
}

/// An item with a value of every attribute type, `pk` and `sk` among them.
fn every_attribute_type(
    sk: &str,
) -> std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
    use aws_sdk_dynamodb::primitives::Blob;
    use aws_sdk_dynamodb::types::AttributeValue as V;
    use std::collections::HashMap;
    let bytes = Blob::new(vec![0u8, 1, 0xff, b'b']);
    HashMap::from([
        ("pk".into(), V::S("USER#é \"q\" \\".into())),
        ("sk".into(), V::S(sk.into())),
        ("n".into(), V::N("-1.50".into())),
        ("b".into(), V::B(bytes.clone())),
        ("t".into(), V::Bool(false)),
        ("z".into(), V::Null(true)),
        (
            "l".into(),
            V::L(vec![
                V::S("x".into()),
                V::M(HashMap::from([("k".into(), V::N("2".into()))])),
            ]),
        ),
        ("ss".into(), V::Ss(vec!["a".into(), "b".into()])),
        ("ns".into(), V::Ns(vec!["1".into(), "2.5".into()])),
        ("bs".into(), V::Bs(vec![bytes])),
    ])
}

/// Each attribute's value as the SDK's types print it: the same for
/// DynamoDB's and DynamoDB Streams' (one Smithy shape), in key order.
fn printed<V: std::fmt::Debug>(
    image: &std::collections::HashMap<String, V>,
) -> std::collections::BTreeMap<String, String> {
    image
        .iter()
        .map(|(k, v)| (k.clone(), format!("{v:?}")))
        .collect()
}

/// GetRecords answers each image as it was written, and each record's
/// creation time as the time it was made: the local cloud writes these
/// answers directly (`src/patches/`), where moto's serializer walked
/// every value, and this holds them to what was put.
#[tokio::test]
async fn stream_records_carry_every_attribute_type_as_written_and_their_time() {
    use aws_sdk_dynamodb::types::AttributeValue as V;
    let conf = shared().sdk_config().await;
    let ddb = aws_sdk_dynamodb::Client::new(&conf);
    let name = unique("records");
    devstack_emulator::create_service_table(&conf, &name).await;
    let before = std::time::SystemTime::now();
    let first = every_attribute_type("A");
    let mut second = first.clone();
    second.insert("n".into(), V::N("3".into()));
    for item in [&first, &second] {
        (ddb.put_item()
            .table_name(&name)
            .set_item(Some(item.clone())))
        .send()
        .await
        .unwrap();
    }
    let after = std::time::SystemTime::now();
    let records = devstack_emulator::stream_records(&conf, &name).await;
    let images: Vec<_> = records
        .iter()
        .map(|r| {
            let change = r.dynamodb().unwrap();
            (
                r.event_name().map(|e| e.as_str().to_owned()),
                change.new_image().map(printed),
                change.old_image().map(printed),
            )
        })
        .collect();
    assert_eq!(
        images,
        [
            (Some("INSERT".into()), Some(printed(&first)), None),
            (
                Some("MODIFY".into()),
                Some(printed(&second)),
                Some(printed(&first))
            ),
        ]
    );
    let keys: Vec<_> = (records.iter())
        .map(|r| r.dynamodb().unwrap().keys().map(printed))
        .collect();
    let key: std::collections::HashMap<_, _> = (first.iter())
        .filter(|(k, _)| *k == "pk" || *k == "sk")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(keys, [Some(printed(&key)), Some(printed(&key))]);
    let numbers: Vec<u128> = (records.iter())
        .map(|r| {
            r.dynamodb()
                .unwrap()
                .sequence_number()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert!(numbers[0] < numbers[1], "{numbers:?}");
    for r in &records {
        let made = r
            .dynamodb()
            .unwrap()
            .approximate_creation_date_time()
            .unwrap();
        let made = std::time::SystemTime::try_from(*made).unwrap();
        // The wire keeps milliseconds: a record is made within a
        // millisecond of its write's window.
        let slack = std::time::Duration::from_millis(1);
        assert!(
            before - slack <= made && made <= after,
            "{made:?} outside {before:?}..{after:?}"
        );
    }
}

/// A cancelled transaction changes nothing: not an item it had already
/// updated in place, not one it had put, not the stream. The local cloud's
/// moto backs up only the items a transaction names (`src/patches/`);
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

/// A reader of the stream never sees the records of a transaction that is
/// then cancelled, however the two interleave: moto appends a
/// transaction's records as it goes and puts the stream back when it is
/// cancelled, handing the same sequence numbers to the next writes, so a
/// reader that saw them would skip the real records that take their
/// numbers (`src/patches/`'s streams' reads wait for the writes' lock).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_reader_never_sees_a_cancelled_transactions_records() {
    use aws_sdk_dynamodb::types::{AttributeValue, Put};
    let conf = shared().sdk_config().await;
    let ddb = aws_sdk_dynamodb::Client::new(&conf);
    let name = unique("phantoms");
    devstack_emulator::create_service_table(&conf, &name).await;
    let s = |v: &str| AttributeValue::S(v.into());
    ddb.put_item()
        .table_name(&name)
        .item("pk", s("taken"))
        .item("sk", s("X"))
        .send()
        .await
        .unwrap();
    let table = name.clone();
    let put = move |pk: String| {
        TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(&table)
                    .item("pk", AttributeValue::S(pk))
                    .item("sk", s("X"))
                    .condition_expression("attribute_not_exists(pk)")
                    .build()
                    .unwrap(),
            )
            .build()
    };
    // Many puts first, so each transaction stays open long enough for the
    // reader to run in the middle of it; the last put is refused.
    let writer = {
        let ddb = ddb.clone();
        tokio::spawn(async move {
            for round in 0..40 {
                let mut t = ddb.transact_write_items();
                for i in 0..60 {
                    t = t.transact_items(put(format!("new-{round}-{i}")));
                }
                let cancelled = t.transact_items(put("taken".into())).send().await;
                assert!(cancelled.is_err(), "\"taken\" exists: cancelled");
            }
        })
    };
    let mut most = 0;
    while !writer.is_finished() {
        most = most.max(devstack_emulator::read_stream(&conf, &name).await.len());
    }
    writer.await.unwrap();
    assert_eq!(
        (
            most,
            devstack_emulator::read_stream(&conf, &name).await.len()
        ),
        (1, 1),
        "the reader saw records of a cancelled transaction (most seen at once, then at the end)"
    );
}
