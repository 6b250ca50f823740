//! The emulator as the local cloud runs it, through the real SDK: where the
//! local cloud changes moto (`src/patches/`), each change held to the
//! semantics of the AWS service it plays.

use aws_sdk_dynamodb::types::TransactWriteItem;
use aws_sdk_eventbridge::types::Target;
use devstack_emulator::fixtures::{bus_with_queue, drain, new_queue, rule_to_new_queue};
use devstack_emulator::{shared, unique};
use uuid::Uuid;

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

/// TestEventPattern answers with the emulator's own matcher, the one that
/// decides what it delivers (moto has no TestEventPattern of its own:
/// `src/patches/`), so it can check another implementation of the
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
/// (moto sent the whole archive to every rule: `src/patches/`).
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
/// (`src/patches/`): every event still gets its own values.
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

/// A send does not count the queue (`src/patches/`), and still reads
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

/// A receive walks the queue with one clock read (`src/patches/`), and
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

/// A user pool answers a sign-in's lookup while people sign up: moto
/// finds a user by email by walking the pool's users, and a sign-up on
/// another of the server's threads adds one mid-walk ("dictionary changed
/// size during iteration", a 500 that failed a person's sign-in under the
/// test command's load). The pool's calls take turns (`src/patches/`),
/// as Cognito's answers are each whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_pool_finds_its_users_by_email_while_others_sign_up() {
    use kit::signed::json_protocol::{COGNITO_IDP, JsonApi};
    use serde_json::json;
    let conf = shared().sdk_config().await;
    let idp = std::sync::Arc::new(JsonApi::new(&conf, COGNITO_IDP));
    let pool = idp
        .call(
            "CreateUserPool",
            &json!({ "PoolName": unique("signing-up"), "UsernameAttributes": ["email"] }),
        )
        .await
        .unwrap();
    let pool = pool["UserPool"]["Id"].as_str().unwrap().to_owned();
    let email = |who: &str| format!("{who}@example.com");
    let create = move |who: String| json!({ "UserPoolId": pool, "Username": email(&who) });
    idp.call("AdminCreateUser", &create("first".into()))
        .await
        .unwrap();
    // Four at once, each way: the server answers each call on a thread.
    let signing_up: Vec<_> = (0..4)
        .map(|t| {
            let (idp, create) = (idp.clone(), create.clone());
            tokio::spawn(async move {
                let mut refused = Vec::new();
                for i in 0..250 {
                    let user = create(format!("new-{t}-{i}"));
                    if let Err(e) = idp.call("AdminCreateUser", &user).await {
                        refused.push(format!("{} {}", e.status, e.kind));
                    }
                }
                refused
            })
        })
        .collect();
    let busy: Vec<_> = signing_up.iter().map(|s| s.abort_handle()).collect();
    let busy = std::sync::Arc::new(busy);
    let lookups: Vec<_> = (0..4)
        .map(|_| {
            let (idp, create, busy) = (idp.clone(), create.clone(), busy.clone());
            tokio::spawn(async move {
                let mut answers = std::collections::BTreeMap::<String, usize>::new();
                while busy.iter().any(|s| !s.is_finished()) {
                    // Nobody has this address: each lookup walks the pool.
                    let found = idp.call("AdminGetUser", &create("nobody".into())).await;
                    let answer = found
                        .map_or_else(|e| format!("{} {}", e.status, e.kind), |_| "found".into());
                    *answers.entry(answer).or_default() += 1;
                }
                answers
            })
        })
        .collect();
    let mut answers = std::collections::BTreeMap::<String, usize>::new();
    for lookup in lookups {
        for (answer, n) in lookup.await.unwrap() {
            *answers.entry(answer).or_default() += n;
        }
    }
    let mut refused = Vec::new();
    for s in signing_up {
        refused.extend(s.await.unwrap());
    }
    assert_eq!(refused, Vec::<String>::new(), "sign-ups refused");
    let looked_up: usize = answers.values().sum();
    assert!(
        looked_up > 100,
        "only {looked_up} lookups during the sign-ups"
    );
    assert_eq!(
        answers.keys().collect::<Vec<_>>(),
        ["400 UserNotFoundException"],
        "the answers of {looked_up} lookups: {answers:?}"
    );
}

/// A stack deploys to the same resources whether its template is JSON,
/// YAML with CloudFormation's short tags, or YAML written in flow style
/// (which opens as JSON does but is not JSON), and an update reads its
/// new template: the local cloud reads JSON templates with a JSON parser
/// instead of moto's YAML one (`src/patches/`).
#[tokio::test]
async fn a_template_means_the_same_as_json_or_as_yaml() {
    let conf = shared().sdk_config().await;
    let cfn = aws_sdk_cloudformation::Client::new(&conf);
    let sqs = aws_sdk_sqs::Client::new(&conf);
    let json = |timeout: u32| {
        serde_json::json!({
            "Parameters": {"Name": {"Type": "String"}},
            "Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {
                "QueueName": {"Fn::Sub": "${Name}-q"},
                "VisibilityTimeout": timeout,
            }}},
            "Outputs": {
                "Url": {"Value": {"Ref": "Queue"}},
                "Arn": {"Value": {"Fn::GetAtt": ["Queue", "Arn"]}},
            },
        })
        .to_string()
    };
    let yaml = "Parameters:\n  Name: {Type: String}\nResources:\n  Queue:\n    Type: AWS::SQS::Queue\n    Properties:\n      QueueName: !Sub \"${Name}-q\"\n      VisibilityTimeout: 45\nOutputs:\n  Url: {Value: !Ref Queue}\n  Arn: {Value: !GetAtt Queue.Arn}\n";
    let flow = "{Parameters: {Name: {Type: String}}, Resources: {Queue: {Type: 'AWS::SQS::Queue', Properties: {QueueName: !Sub '${Name}-q', VisibilityTimeout: 45}}}, Outputs: {Url: {Value: !Ref Queue}, Arn: {Value: !GetAtt Queue.Arn}}}";
    for (kind, body) in [
        ("json", json(45)),
        ("yaml", yaml.to_owned()),
        ("flow", flow.to_owned()),
    ] {
        let name = unique(kind);
        let outputs = deploy(&cfn, &name, &body, false).await;
        let url = &outputs["Url"];
        assert!(url.ends_with(&format!("/{name}-q")), "{kind}: {outputs:?}");
        assert!(
            outputs["Arn"].ends_with(&format!(":{name}-q")),
            "{kind}: {outputs:?}"
        );
        assert_eq!(visibility(&sqs, url).await, "45", "{kind}");
        if kind == "json" {
            deploy(&cfn, &name, &json(60), true).await;
            assert_eq!(visibility(&sqs, url).await, "60", "the update's template");
        }
    }
}

#[tokio::test]
async fn a_bus_is_referenced_by_its_name_and_a_rule_lands_on_it() {
    let conf = shared().sdk_config().await;
    let cfn = aws_sdk_cloudformation::Client::new(&conf);
    let body = serde_json::json!({
        "Parameters": {"Name": {"Type": "String"}},
        "Resources": {
            "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": {"Ref": "Name"}}},
            "Rule": {"Type": "AWS::Events::Rule", "Properties": {
                "EventBusName": {"Ref": "Bus"},
                "EventPattern": {"source": ["app.users"]}}},
        },
        "Outputs": {"Bus": {"Value": {"Ref": "Bus"}}},
    })
    .to_string();
    let name = unique("inbox");
    let outputs = deploy(&cfn, &name, &body, false).await;
    assert_eq!(outputs["Bus"], name, "Ref of a bus is its name");
    let rules = aws_sdk_eventbridge::Client::new(&conf)
        .list_rules()
        .event_bus_name(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(rules.rules().len(), 1, "the rule is on the bus: {rules:?}");
}

/// `name` created (or updated) from `body`, complete: its outputs.
async fn deploy(
    cfn: &aws_sdk_cloudformation::Client,
    name: &str,
    body: &str,
    update: bool,
) -> std::collections::BTreeMap<String, String> {
    use aws_sdk_cloudformation::types::{Parameter, StackStatus};
    let parameter = Parameter::builder()
        .parameter_key("Name")
        .parameter_value(name)
        .build();
    if update {
        let op = cfn.update_stack().stack_name(name).template_body(body);
        op.parameters(parameter).send().await.unwrap();
    } else {
        let op = cfn.create_stack().stack_name(name).template_body(body);
        op.parameters(parameter).send().await.unwrap();
    }
    let described = cfn.describe_stacks().stack_name(name).send().await.unwrap();
    let stack = &described.stacks()[0];
    let done = [StackStatus::CreateComplete, StackStatus::UpdateComplete];
    assert!(
        stack.stack_status().is_some_and(|s| done.contains(s)),
        "{name}: {described:?}"
    );
    (stack.outputs().iter())
        .map(|o| {
            let key = o.output_key().unwrap_or_default().to_owned();
            (key, o.output_value().unwrap_or_default().to_owned())
        })
        .collect()
}

async fn visibility(sqs: &aws_sdk_sqs::Client, url: &str) -> String {
    use aws_sdk_sqs::types::QueueAttributeName;
    let got = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::VisibilityTimeout)
        .send()
        .await
        .unwrap();
    got.attributes().unwrap()[&QueueAttributeName::VisibilityTimeout].clone()
}

#[tokio::test]
async fn a_deleted_stack_takes_its_role_with_the_managed_policies_it_attached() {
    let conf = shared().sdk_config().await;
    let cfn = aws_sdk_cloudformation::Client::new(&conf);
    let name = unique("role");
    let body = serde_json::json!({
        "Parameters": {"Name": {"Type": "String"}},
        "Resources": {"Role": {"Type": "AWS::IAM::Role", "Properties": {
            "RoleName": {"Ref": "Name"},
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole"}]},
            "ManagedPolicyArns": ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
        }}},
    })
    .to_string();
    deploy(&cfn, &name, &body, false).await;
    cfn.delete_stack().stack_name(&name).send().await.unwrap();
    // Had the role outlived its stack, the same stack again could not
    // make a role of that name.
    deploy(&cfn, &name, &body, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_put_events_meets_the_rules_of_its_moment_while_others_come_and_go() {
    use aws_sdk_eventbridge::types::PutEventsRequestEntry;
    let conf = shared().sdk_config().await;
    // Every answer as the engine gave it: a 500 is not retried away.
    let events = aws_sdk_eventbridge::Client::from_conf(
        aws_sdk_eventbridge::config::Builder::from(&conf)
            .retry_config(aws_sdk_eventbridge::config::retry::RetryConfig::disabled())
            .build(),
    );
    let bus = unique("churn");
    events.create_event_bus().name(&bus).send().await.unwrap();
    // Enough rules that a walk over them takes a while.
    for n in 0..300 {
        events
            .put_rule()
            .name(format!("steady-{n}"))
            .event_bus_name(&bus)
            .event_pattern(r#"{"source": ["app.churn"]}"#)
            .send()
            .await
            .unwrap();
    }
    let churn = {
        let (events, bus) = (events.clone(), bus.clone());
        tokio::spawn(async move {
            for n in 0..300 {
                let name = format!("coming-{n}");
                let put = events.put_rule().name(&name).event_bus_name(&bus);
                let _ = put.event_pattern(r#"{"source": ["other"]}"#).send().await;
                let _ = events
                    .delete_rule()
                    .name(&name)
                    .event_bus_name(&bus)
                    .send()
                    .await;
            }
        })
    };
    let mut failures = Vec::new();
    while !churn.is_finished() {
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(&bus)
            .source("app.churn")
            .detail_type("Probe")
            .detail("{}")
            .build();
        if let Err(e) = events.put_events().entries(entry).send().await {
            failures.push(format!(
                "{}",
                aws_sdk_eventbridge::error::DisplayErrorContext(e)
            ));
        }
    }
    churn.await.unwrap();
    assert!(
        failures.is_empty(),
        "{} failed: {:?}",
        failures.len(),
        failures.first()
    );
}
