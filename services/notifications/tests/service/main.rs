//! Notifications on the emulator, through the real SDK: consumption exactly
//! once, erasure, the API, and delivery to the SNS topic from the stream.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use chrono::Utc;
use devstack_emulator::{create_service_table, shared, unique};
use events::todos::TodoCompletedV1;
use events::users::{UserDeletedV1, UserRegisteredV1};
use events::{Envelope, Event};
use kit::http_api::{Request, apigw_event};
use kit::idempotency::Processed;
use notifications::domain::Wording;
use notifications::handlers::{HandleError, Handled, handle};
use notifications::store::Store;
use serde_json::Value;
use uuid::Uuid;

struct Svc {
    conf: aws_config::SdkConfig,
    table: String,
    store: Store,
    processed: Processed,
}

async fn svc() -> Svc {
    let conf = shared().sdk_config().await;
    let table = unique("notifications");
    create_service_table(&conf, &table).await;
    let client = aws_sdk_dynamodb::Client::new(&conf);
    Svc {
        store: Store::new(client.clone(), &table),
        processed: Processed::new(client, &table, "notifications-consumer"),
        conf,
        table,
    }
}

fn delivered<E: Event>(data: E, event_id: Uuid) -> EventBridgeEvent<Value> {
    delivered_at(data, event_id, Utc::now())
}

fn delivered_at<E: Event>(
    data: E,
    event_id: Uuid,
    occurred_at: chrono::DateTime<Utc>,
) -> EventBridgeEvent<Value> {
    let envelope = Envelope::new(event_id, occurred_at, "req-1", None, "test", data);
    let mut event = EventBridgeEvent::<Value>::default();
    event.source = E::SOURCE.into();
    event.detail_type = E::DETAIL_TYPE.into();
    event.detail = serde_json::to_value(envelope).unwrap();
    event
}

fn registered(user: &str) -> UserRegisteredV1 {
    UserRegisteredV1 {
        user_id: user.into(),
        email: format!("{user}@example.com"),
        display_name: user.to_uppercase(),
        registered_at: Utc::now(),
    }
}

fn completed(user: &str, title: &str) -> TodoCompletedV1 {
    TodoCompletedV1 {
        todo_id: Uuid::now_v7(),
        user_id: user.into(),
        title: title.into(),
        completed_at: Utc::now(),
    }
}

async fn listed(s: &Svc, user: &str) -> Vec<Value> {
    let req = Request::from_apigw(&apigw_event(
        "GET /notifications",
        "/notifications",
        &[],
        &[],
        Some(&[("sub", user)]),
        None,
        "c",
    ));
    let r = notifications::api::handle(&s.store, req).await;
    assert_eq!(r.status, 200, "{r:?}");
    r.body.unwrap()["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn each_event_notifies_once_and_the_api_lists_newest_first() {
    let s = svc().await;
    let welcome_id = Uuid::new_v4();
    assert!(matches!(
        handle(
            &s.store,
            &s.processed,
            &Wording::default(),
            &delivered(registered("ada"), welcome_id)
        )
        .await
        .unwrap(),
        Handled::Notified(_)
    ));
    let done_id = Uuid::new_v4();
    handle(
        &s.store,
        &s.processed,
        &Wording::default(),
        &delivered(completed("ada", "ship it"), done_id),
    )
    .await
    .unwrap();
    // The bus delivers at least once; a replay delivers again.
    assert_eq!(
        handle(
            &s.store,
            &s.processed,
            &Wording::default(),
            &delivered(registered("ada"), welcome_id)
        )
        .await
        .unwrap(),
        Handled::Duplicate
    );

    let items = listed(&s, "ada").await;
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["kind"], "todo_completed");
    assert!(items[0]["message"].as_str().unwrap().contains("ship it"));
    assert_eq!(items[0]["source_event_id"], done_id.to_string());
    assert_eq!(items[1]["kind"], "welcome");
    assert!(
        listed(&s, "bob").await.is_empty(),
        "users see only their own"
    );
}

#[tokio::test]
async fn user_deletion_erases_only_that_users_notifications_once() {
    let s = svc().await;
    for user in ["ada", "bob"] {
        handle(
            &s.store,
            &s.processed,
            &Wording::default(),
            &delivered(registered(user), Uuid::new_v4()),
        )
        .await
        .unwrap();
        handle(
            &s.store,
            &s.processed,
            &Wording::default(),
            &delivered(completed(user, "t"), Uuid::new_v4()),
        )
        .await
        .unwrap();
    }
    let gone = Uuid::new_v4();
    let deleted = UserDeletedV1 {
        user_id: "ada".into(),
        deleted_at: Utc::now(),
    };
    assert_eq!(
        handle(
            &s.store,
            &s.processed,
            &Wording::default(),
            &delivered(deleted.clone(), gone)
        )
        .await
        .unwrap(),
        Handled::Erased(2)
    );
    assert_eq!(
        handle(
            &s.store,
            &s.processed,
            &Wording::default(),
            &delivered(deleted, gone)
        )
        .await
        .unwrap(),
        Handled::Duplicate
    );
    assert!(listed(&s, "ada").await.is_empty());
    assert_eq!(listed(&s, "bob").await.len(), 2);

    // A token from before the erasure opens no live connection; others do.
    let push = notifications::push::Push::new(&s.conf, "http://127.0.0.1:9/unused");
    for (user, status, open) in [("ada", 403, 0), ("bob", 200, 1)] {
        let answer = notifications::socket::handle(&s.store, &push, &connect(user))
            .await
            .unwrap();
        assert_eq!(answer["statusCode"], status, "{user}");
        assert_eq!(s.store.connections(user).await.unwrap().len(), open);
    }
}

/// A `$connect` as API Gateway hands it on after the authorizer.
fn connect(user: &str) -> aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest {
    serde_json::from_value(serde_json::json!({
        "requestContext": {
            "routeKey": "$connect",
            "eventType": "CONNECT",
            "connectionId": format!("conn-{user}"),
            "connectedAt": Utc::now().timestamp_millis(),
            "requestTimeEpoch": Utc::now().timestamp_millis(),
            "authorizer": {"principalId": user},
        },
        "isBase64Encoded": false,
    }))
    .unwrap()
}

#[tokio::test]
async fn a_malformed_event_is_an_error_naming_the_field_and_writes_nothing() {
    let s = svc().await;
    let mut event = delivered(completed("ada", "t"), Uuid::new_v4());
    event.detail["data"]["completed_at"] = Value::from("later");
    let err = handle(&s.store, &s.processed, &Wording::default(), &event)
        .await
        .unwrap_err();
    assert!(matches!(err, HandleError::Decode(_)));
    assert!(
        err.to_string().contains("detail.data.completed_at"),
        "{err}"
    );
    assert!(listed(&s, "ada").await.is_empty());
}

/// A delivery topic of the test's own.
async fn delivery_topic(sns: &aws_sdk_sns::Client) -> String {
    sns.create_topic()
        .name(unique("delivery"))
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap()
}

#[tokio::test]
async fn stored_notifications_reach_the_delivery_topic_from_the_stream() {
    let s = svc().await;
    let sns = aws_sdk_sns::Client::new(&s.conf);
    let sqs = aws_sdk_sqs::Client::new(&s.conf);
    let topic = delivery_topic(&sns).await;
    let queue = sqs
        .create_queue()
        .queue_name(unique("inbox"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let queue_arn = format!(
        "arn:aws:sqs:us-east-1:123456789012:{}",
        queue.rsplit('/').next().unwrap()
    );
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(&queue_arn)
        .send()
        .await
        .unwrap();

    handle(
        &s.store,
        &s.processed,
        &Wording::default(),
        &delivered(registered("ada"), Uuid::new_v4()),
    )
    .await
    .unwrap();
    handle(
        &s.store,
        &s.processed,
        &Wording::default(),
        &delivered(completed("ada", "t"), Uuid::new_v4()),
    )
    .await
    .unwrap();
    let records = devstack_emulator::read_stream(&s.conf, &s.table).await;
    let fan_out = notifications::fan_out::FanOut::new(sns, &topic);
    let outcome = notifications::fan_out::fan_out_records(&records, &fan_out).await;
    assert_eq!((outcome.published, outcome.failed), (2, None));

    let got = sqs
        .receive_message()
        .queue_url(&queue)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let mut kinds: Vec<String> = got
        .messages
        .unwrap_or_default()
        .iter()
        .map(|m| {
            let envelope: Value = serde_json::from_str(m.body().unwrap()).unwrap();
            assert_eq!(envelope["MessageAttributes"]["user_id"]["Value"], "ada");
            let message: Value =
                serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
            message["kind"].as_str().unwrap().to_owned()
        })
        .collect();
    kinds.sort();
    assert_eq!(kinds, ["todo_completed", "welcome"]);
}

// A batch is delivered several records at a time, yet its checkpoint is
// still the first failing record in stream order: a later record that
// finished first never moves it past an earlier failure.
#[tokio::test]
async fn a_batch_delivered_at_once_checkpoints_at_its_first_failure_in_stream_order() {
    let s = svc().await;
    let sns = aws_sdk_sns::Client::new(&s.conf);
    let topic = delivery_topic(&sns).await;
    for title in ["one", "two", "three", "four"] {
        handle(
            &s.store,
            &s.processed,
            &Wording::default(),
            &delivered(completed("bea", title), Uuid::new_v4()),
        )
        .await
        .unwrap();
    }
    let mut records: Vec<_> = devstack_emulator::read_stream(&s.conf, &s.table)
        .await
        .into_iter()
        .filter(
            |r| matches!(notifications::fan_out::to_fan_out(r), Ok(Some(n)) if n.user_id == "bea"),
        )
        .collect();
    assert_eq!(records.len(), 4);
    // The second record's image is unreadable: it fails, the others do not.
    records[1].change.new_image = Default::default();
    let failing = records[1].change.sequence_number.clone();
    let fan_out = notifications::fan_out::FanOut::new(sns, &topic);
    let outcome = notifications::fan_out::fan_out_records(&records, &fan_out).await;
    assert_eq!(
        outcome.published, 1,
        "only the record before the failure counts"
    );
    assert_eq!(outcome.failed.map(|(seq, _)| Some(seq)), Some(failing));
}

// An async retry or a DLQ replay can deliver an event about a user after
// that user's erasure. What happened before the deletion stays erased; the
// load run under chaos found such a congratulation stored after it.
#[tokio::test]
async fn an_event_from_before_the_erasure_delivered_after_it_stores_nothing() {
    let s = svc().await;
    let before = Utc::now() - chrono::Duration::seconds(5);
    let deleted = UserDeletedV1 {
        user_id: "ada".into(),
        deleted_at: Utc::now(),
    };
    assert_eq!(
        handle(
            &s.store,
            &s.processed,
            &Wording::default(),
            &delivered(deleted, Uuid::new_v4())
        )
        .await
        .unwrap(),
        Handled::Erased(0)
    );
    for _ in 0..2 {
        assert_eq!(
            handle(
                &s.store,
                &s.processed,
                &Wording::default(),
                &delivered_at(completed("ada", "late"), Uuid::new_v4(), before)
            )
            .await
            .unwrap(),
            Handled::AfterErasure
        );
    }
    assert!(listed(&s, "ada").await.is_empty());
    // Another user's events are not touched by ada's erasure.
    assert!(matches!(
        handle(
            &s.store,
            &s.processed,
            &Wording::default(),
            &delivered_at(completed("bob", "on time"), Uuid::new_v4(), before)
        )
        .await
        .unwrap(),
        Handled::Notified(_)
    ));
    assert_eq!(listed(&s, "bob").await.len(), 1);
}
