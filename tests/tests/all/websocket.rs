//! The WebSocket API as the local cloud plays it, against AWS's contract:
//! the `$connect` authorizer, routing, `@connections` (through the real
//! SDK), 410 Gone, the size and time limits; and the push path of the
//! notifications service on top of it: pushes reach only their user, and
//! a stale connection is forgotten by the deliverer. Beside them, on the
//! same cloud, an HTTP API stage's throttle and access log.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_sdk_apigatewaymanagement::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use devstack_client::walkthrough::{eventually, token_for};
use devstack_cloud::{Detached, Options};
use futures_util::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::e2e::mint_for;
use crate::support::{client, kept_cloud, unique_email};

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const IDLE: Duration = Duration::from_secs(2);
const LIFETIME: Duration = Duration::from_secs(6);
const BURST: usize = 3;

/// This module's tests take turns on their cloud, so that its function
/// counters move only with the test that reads them.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A local cloud of this module's own, with the idle timeout and the
/// connection lifetime shortened so that a test can see them, the users
/// API's throttle lowered to [`BURST`] at once and 1 a second (through the
/// template's parameters, as on AWS), and whose function counters no other
/// test moves.
fn cloud() -> &'static Detached {
    static CLOUD: OnceLock<Detached> = OnceLock::new();
    kept_cloud(&CLOUD, || Options {
        retry_delay: Duration::from_millis(20),
        function_env: vec![("RUST_LOG".into(), "warn".into())],
        socket_limits: devstack_gateway::websocket::Limits {
            idle_timeout: IDLE,
            max_lifetime: LIFETIME,
            ..Default::default()
        },
        parameter_overrides: [
            ("ThrottleBurstLimit", BURST.to_string()),
            ("ThrottleRateLimit", "1".into()),
        ]
        .into_iter()
        .map(|(parameter, value)| devstack_cloud::Override {
            stack: "users".into(),
            parameter: parameter.into(),
            value,
        })
        .collect(),
        ..Options::default()
    })
}

fn socket_url(endpoints: &devstack_api::Endpoints) -> String {
    endpoints.socket_url.as_str().to_owned()
}

/// The `@connections` client, as the functions build it.
async fn management(endpoints: &devstack_api::Endpoints) -> aws_sdk_apigatewaymanagement::Client {
    let url = endpoints.emulator_url.as_str().to_owned();
    let conf = kit::config::endpoint(&url).await;
    let endpoint = socket_url(endpoints).replacen("ws://", "http://", 1);
    aws_sdk_apigatewaymanagement::Client::from_conf(
        aws_sdk_apigatewaymanagement::config::Builder::from(&conf)
            .endpoint_url(endpoint)
            .build(),
    )
}

/// Connects with `?token=`; the handshake's HTTP status when refused.
async fn open(endpoints: &devstack_api::Endpoints, token: Option<&str>) -> Result<Ws, u16> {
    let mut url = socket_url(endpoints);
    if let Some(t) = token {
        url = format!("{url}?token={t}");
    }
    match tokio_tungstenite::connect_async(url).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(e) => panic!("the handshake failed without an HTTP answer: {e}"),
    }
}

/// The next text message within `within`.
async fn next_text(ws: &mut Ws, within: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            // A user's welcome follows their sign-up, and may reach a
            // socket opened right after it: no test here is about it.
            Ok(Some(Ok(Message::Text(t)))) => {
                let message: Option<Value> = serde_json::from_str(t.as_str()).ok();
                if message
                    .as_ref()
                    .is_some_and(|m| m["notification"]["kind"] == "welcome")
                {
                    continue;
                }
                return message;
            }
            Ok(Some(Ok(Message::Close(_)))) | Ok(Some(Err(_))) | Ok(None) | Err(_) => {
                return None;
            }
            Ok(Some(Ok(_))) => {}
        }
    }
}

/// The close code the server sends within `within`.
async fn close_code(ws: &mut Ws, within: Duration) -> Option<u16> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| u16::from(f.code)),
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(_))) | Ok(None) | Err(_) => return None,
        }
    }
}

/// A JWT's `sub`, read without checking it (the test made the token).
fn sub_of(token: &str) -> String {
    let payload = token.split('.').nth(1).unwrap();
    let json = crate::support::base64url_decode(payload);
    serde_json::from_slice::<Value>(&json).unwrap()["sub"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The connection ids the notifications table holds for a user.
async fn recorded_connections(endpoints: &devstack_api::Endpoints, sub: &str) -> Vec<String> {
    let conf = ops::targets::administrator(endpoints, "notifications").await;
    let table = endpoints.services["notifications"].table.as_str();
    let out = aws_sdk_dynamodb::Client::new(&conf)
        .query()
        .table_name(table)
        .key_condition_expression("pk = :pk AND begins_with(sk, :c)")
        .expression_attribute_values(":pk", AttributeValue::S(format!("USER#{sub}")))
        .expression_attribute_values(":c", AttributeValue::S("CONN#".into()))
        .send()
        .await
        .unwrap();
    out.items()
        .iter()
        .filter_map(|i| i.get("connection_id")?.as_s().ok().cloned())
        .collect()
}

async fn invocations(c: &Detached, function: &str) -> u32 {
    c.functions[&format!("notifications/{function}")]
        .metrics()
        .await
        .invocations
}

#[tokio::test]
async fn connect_is_guarded_by_the_authorizer_as_on_aws() {
    let _turn = TURN.lock().await;
    let c = cloud();
    let e = &c.endpoints;
    // The $disconnect of an earlier test's connection may still be on its
    // way; start counting once the socket function is quiet.
    let mut last = invocations(c, "SocketFunction").await;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = invocations(c, "SocketFunction").await;
        if now == last {
            break;
        }
        last = now;
    }
    let (authorizer, socket) = (
        invocations(c, "AuthorizerFunction").await,
        invocations(c, "SocketFunction").await,
    );

    // No identity source: 401 from API Gateway itself.
    assert_eq!(open(e, None).await.err(), Some(401));
    assert_eq!(open(e, Some("")).await.err(), Some(401));
    assert_eq!(
        invocations(c, "AuthorizerFunction").await,
        authorizer,
        "the authorizer ran without an identity source"
    );

    // Forged, expired, for another client, not a JWT: 401 from the
    // authorizer. An authentic access token: a Deny, 403.
    for (what, token, status) in [
        ("garbage", "not.a.jwt".to_owned(), 401),
        ("expired", mint_for(e, "expired", "u"), 401),
        ("another key", mint_for(e, "other-key", "u"), 401),
        ("another client", mint_for(e, "other-client", "u"), 401),
        ("access token", mint_for(e, "access", "u"), 403),
    ] {
        assert_eq!(open(e, Some(&token)).await.err(), Some(status), "{what}");
    }
    assert_eq!(
        invocations(c, "AuthorizerFunction").await,
        authorizer + 5,
        "each token with a value reached the authorizer"
    );
    assert_eq!(
        invocations(c, "SocketFunction").await,
        socket,
        "a refused connection reached a function other than the authorizer"
    );

    // The control: a real ID token opens, and $connect recorded it.
    let token = token_for(e, &unique_email("ws-ok")).await.unwrap();
    let sub = sub_of(&token);
    let _ws = open(e, Some(&token))
        .await
        .expect("a valid ID token connects");
    assert_eq!(recorded_connections(e, &sub).await.len(), 1);
}

#[tokio::test]
async fn messages_are_routed_and_connections_managed_through_the_sdk() {
    let _turn = TURN.lock().await;
    let c = cloud();
    let e = &c.endpoints;
    let token = token_for(e, &unique_email("ws-route")).await.unwrap();
    let sub = sub_of(&token);
    let mut ws = open(e, Some(&token)).await.unwrap();
    let id = recorded_connections(e, &sub).await.pop().unwrap();
    assert!(id.ends_with('='), "ids look like API Gateway's: {id}");

    // RouteSelectionExpression $request.body.action: `ping` has a route;
    // anything else falls back to $default.
    ws.send(Message::text(json!({"action": "ping"}).to_string()))
        .await
        .unwrap();
    assert_eq!(
        next_text(&mut ws, Duration::from_secs(5)).await.unwrap()["type"],
        "pong"
    );
    ws.send(Message::text("not json at all")).await.unwrap();
    assert_eq!(
        next_text(&mut ws, Duration::from_secs(5)).await.unwrap()["type"],
        "error"
    );

    // @connections through the real SDK: POST, GET, DELETE.
    let api = management(e).await;
    api.post_to_connection()
        .connection_id(&id)
        .data(Blob::new(r#"{"hello":"from the backend"}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(
        next_text(&mut ws, Duration::from_secs(5)).await.unwrap()["hello"],
        "from the backend"
    );
    let info = api
        .get_connection()
        .connection_id(&id)
        .send()
        .await
        .unwrap();
    assert!(info.connected_at().is_some() && info.last_active_at().is_some());
    assert_eq!(
        info.identity().and_then(|i| i.source_ip()),
        Some("127.0.0.1")
    );
    let too_big = api
        .post_to_connection()
        .connection_id(&id)
        .data(Blob::new(vec![b'x'; 128 * 1024 + 1]))
        .send()
        .await
        .unwrap_err();
    assert!(
        too_big
            .as_service_error()
            .is_some_and(|e| e.is_payload_too_large_exception()),
        "{too_big:?}"
    );
    api.delete_connection()
        .connection_id(&id)
        .send()
        .await
        .unwrap();
    assert!(close_code(&mut ws, Duration::from_secs(5)).await.is_some());
    // $disconnect ran: the record is gone.
    eventually(Duration::from_secs(5), "the $disconnect", || async {
        Ok(recorded_connections(e, &sub).await.is_empty().then_some(()))
    })
    .await
    .unwrap();

    // A closed or unknown connection: 410 GoneException, for all three.
    for connection in [id.as_str(), "nOnExIsTeNt0="] {
        let gone = api
            .post_to_connection()
            .connection_id(connection)
            .data(Blob::new("x"))
            .send()
            .await
            .unwrap_err();
        assert!(
            gone.as_service_error()
                .is_some_and(|e| e.is_gone_exception()),
            "{gone:?}"
        );
        let gone = api
            .get_connection()
            .connection_id(connection)
            .send()
            .await
            .unwrap_err();
        assert!(
            gone.as_service_error()
                .is_some_and(|e| e.is_gone_exception())
        );
        let gone = api
            .delete_connection()
            .connection_id(connection)
            .send()
            .await
            .unwrap_err();
        assert!(
            gone.as_service_error()
                .is_some_and(|e| e.is_gone_exception())
        );
    }
}

#[tokio::test]
async fn aws_limits_close_the_connection() {
    let _turn = TURN.lock().await;
    let c = cloud();
    let e = &c.endpoints;
    let token = token_for(e, &unique_email("ws-limits")).await.unwrap();

    // A frame over 32 KB: 1009. (A browser sends a message as one frame.)
    let mut ws = open(e, Some(&token)).await.unwrap();
    ws.send(Message::text("x".repeat(32 * 1024 + 1)))
        .await
        .unwrap();
    assert_eq!(
        close_code(&mut ws, Duration::from_secs(5)).await,
        Some(1009)
    );
    // Just under the limit is a message like any other ($default answers).
    let mut ws = open(e, Some(&token)).await.unwrap();
    ws.send(Message::text("x".repeat(32 * 1024 - 16)))
        .await
        .unwrap();
    assert_eq!(
        next_text(&mut ws, Duration::from_secs(5)).await.unwrap()["type"],
        "error"
    );
    drop(ws);

    // Idle: nothing from the client for the idle timeout closes with 1001.
    // The clock starts before the upgrade: the cloud starts its own once the
    // connection is open, so the close can never come sooner than this.
    let started = Instant::now();
    let mut ws = open(e, Some(&token)).await.unwrap();
    assert_eq!(
        close_code(&mut ws, IDLE + Duration::from_secs(5)).await,
        Some(u16::from(CloseCode::Away))
    );
    assert!(started.elapsed() >= IDLE);

    // Lifetime: messages keep it from idling, yet it ends at the lifetime.
    let started = Instant::now();
    let mut ws = open(e, Some(&token)).await.unwrap();
    let code = loop {
        ws.send(Message::text(json!({"action": "ping"}).to_string()))
            .await
            .ok();
        if let Some(code) = close_code(&mut ws, Duration::from_millis(500)).await {
            break Some(code);
        }
        if started.elapsed() > LIFETIME + Duration::from_secs(10) {
            break None;
        }
    };
    assert_eq!(code, Some(u16::from(CloseCode::Away)));
    assert!(started.elapsed() >= LIFETIME);
}

#[tokio::test]
async fn a_notification_is_pushed_to_its_user_only_and_stale_connections_are_forgotten() {
    let e = &crate::support::cloud().endpoints;
    let (ada_email, bob_email) = (unique_email("ws-ada"), unique_email("ws-bob"));
    let ada = client(&ada_email).await;
    let bob = client(&bob_email).await;
    let ada_sub = sub_of(&ada.token);

    // A connection that went away an hour ago without its $disconnect
    // (the record a lost client leaves behind until its TTL), and one
    // whose `$connect` recorded it a moment ago and whose handshake has
    // not completed (a post to it is 410 until then).
    let conf = ops::targets::administrator(e, "notifications").await;
    let now = chrono::Utc::now();
    for (id, at) in [
        ("sTaLeCoNnEcTi=", now - chrono::Duration::hours(1)),
        ("oPeNiNgCoNnEc=", now),
    ] {
        let record = notifications::items::Connection::new(&ada_sub, id, at);
        aws_sdk_dynamodb::Client::new(&conf)
            .put_item()
            .table_name(e.services["notifications"].table.as_str())
            .set_item(Some(
                serde_dynamo::to_item(notifications::items::Item::Connection(record)).unwrap(),
            ))
            .send()
            .await
            .unwrap();
    }

    let mut ada_ws = open(e, Some(&ada.token)).await.unwrap();
    let mut bob_ws = open(e, Some(&bob.token)).await.unwrap();
    let (status, todo) = ada
        .call(Method::POST, "/todos", Some(json!({"title": "push me"})))
        .await
        .unwrap();
    assert_eq!(status, 201);
    let correlation = uuid::Uuid::new_v4().to_string();
    let res = ada
        .http
        .patch(format!(
            "{}/todos/{}",
            ada.base,
            todo["id"].as_str().unwrap()
        ))
        .bearer_auth(&ada.token)
        .header("x-correlation-id", &correlation)
        .json(&json!({"completed": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let pushed = next_text(&mut ada_ws, Duration::from_secs(20))
        .await
        .expect("the congratulation is pushed");
    assert_eq!(pushed["type"], "notification");
    assert_eq!(pushed["notification"]["kind"], "todo_completed");
    assert_eq!(
        pushed["notification"]["correlation_id"],
        correlation.as_str()
    );
    assert!(
        pushed["notification"]["message"]
            .as_str()
            .unwrap()
            .contains("push me")
    );
    // The same notification the API lists.
    let (_, listed) = ada.call(Method::GET, "/notifications", None).await.unwrap();
    assert_eq!(listed["items"][0]["id"], pushed["notification"]["id"]);

    // Bob, connected all along, hears nothing of it.
    assert_eq!(next_text(&mut bob_ws, Duration::from_secs(1)).await, None);
    let (_, bobs) = bob.call(Method::GET, "/notifications", None).await.unwrap();
    let kinds: Vec<&Value> = (bobs["items"].as_array().unwrap().iter())
        .map(|n| &n["kind"])
        .collect();
    assert!(kinds.iter().all(|k| *k == "welcome"), "{bobs}");

    // The stale connection answered 410, and the deliverer forgot it; the
    // open one stays, and so does the one still opening: forgetting it
    // would lose every push to it once its handshake completes.
    eventually(
        Duration::from_secs(10),
        "the stale record's removal",
        || async {
            let left = recorded_connections(e, &ada_sub).await;
            Ok((!left.iter().any(|c| c == "sTaLeCoNnEcTi=")).then_some(left))
        },
    )
    .await
    .map(|left| {
        assert_eq!(left.len(), 2, "{left:?}");
        assert!(left.iter().any(|c| c == "oPeNiNgCoNnEc="), "{left:?}");
    })
    .unwrap();
}

/// Notifications for other users put in the table at once, ahead of the
/// congratulation in the stream: a campaign's audience, or the burst of a
/// test run's other tests.
const BACKLOG: usize = 300;

/// The live push that a full test run once lost: under load, the
/// deliverer worked through a batch of up to 100 records one call at a
/// time (about 320 ms a record then), passed its 10-second timeout, was
/// killed and given the whole batch again, and the congratulation waited
/// behind every such try. Now a batch is at most 25 records, published
/// ten to a PublishBatch call and pushed 16 at a time: the congratulation
/// arrives behind a backlog, the deliverer is never killed, and each
/// notification reaches the delivery topic once.
#[tokio::test]
async fn a_congratulation_behind_a_backlog_is_pushed_and_each_notification_delivered_once() {
    let e = &crate::support::cloud().endpoints;
    let conf = ops::targets::administrator(e, "notifications").await;
    let notifications = &e.services["notifications"];
    let (queue, inbox) = delivery_inbox(&conf, &notifications.outputs["DeliveryTopicArn"]).await;
    let ada = client(&unique_email("ws-backlog")).await;
    let mut ada_ws = open(e, Some(&ada.token)).await.unwrap();
    let deliverer = &crate::support::cloud().functions["notifications/DelivererFunction"];
    let before = deliverer.metrics().await;

    let backlog = put_backlog(&conf, notifications.table.as_str()).await;
    let (status, todo) = ada
        .call(
            Method::POST,
            "/todos",
            Some(json!({"title": "behind the backlog"})),
        )
        .await
        .unwrap();
    assert_eq!(status, 201);
    let path = format!("/todos/{}", todo["id"].as_str().unwrap());
    let (status, _) = ada
        .call(Method::PATCH, &path, Some(json!({"completed": true})))
        .await
        .unwrap();
    assert_eq!(status, 200);
    let completed = Instant::now();
    let Some(pushed) = next_text(&mut ada_ws, Duration::from_secs(20)).await else {
        let m = deliverer.metrics().await;
        panic!(
            "the congratulation was not pushed within {:?} behind the backlog; the deliverer had had {} invocations ({} before), {} errors, {} restarts",
            completed.elapsed(),
            m.invocations,
            before.invocations,
            m.errors,
            m.restarts
        );
    };
    assert_eq!(pushed["notification"]["kind"], "todo_completed");

    // Every backlog notification reached the topic, each exactly once.
    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    let sqs = aws_sdk_sqs::Client::new(&conf);
    let deadline = Instant::now() + Duration::from_secs(60);
    while backlog.iter().any(|id| !seen.contains_key(id)) && Instant::now() < deadline {
        for id in receive_ids(&sqs, &queue).await {
            *seen.entry(id).or_default() += 1;
        }
    }
    let missing = backlog.iter().filter(|id| !seen.contains_key(*id)).count();
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert_eq!(
        (missing, twice.len()),
        (0, 0),
        "missing, delivered twice: {twice:?}"
    );
    let after = deliverer.metrics().await;
    assert_eq!(
        (after.errors, after.restarts),
        (before.errors, before.restarts),
        "the deliverer failed or was killed (its timeout) during the backlog; inbox {inbox}"
    );
}

/// A queue subscribed to the delivery topic, with the policy that lets the
/// topic send to it (SNS drops a delivery its queue's policy refuses).
async fn delivery_inbox(conf: &aws_config::SdkConfig, topic: &str) -> (String, String) {
    let sqs = aws_sdk_sqs::Client::new(conf);
    let name = format!("backlog-{}", uuid::Uuid::new_v4().simple());
    let url = sqs.create_queue().queue_name(&name).send().await.unwrap();
    let url = url.queue_url.unwrap();
    let arn = devstack_emulator::fixtures::queue_arn(&sqs, &url).await;
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": topic}},
        }],
    });
    sqs.set_queue_attributes()
        .queue_url(&url)
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::Policy,
            policy.to_string(),
        )
        .send()
        .await
        .unwrap();
    aws_sdk_sns::Client::new(conf)
        .subscribe()
        .topic_arn(topic)
        .protocol("sqs")
        .endpoint(&arn)
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .unwrap();
    (url, name)
}

/// [`BACKLOG`] notifications for users of their own, written as the
/// consumer writes them; their ids.
async fn put_backlog(conf: &aws_config::SdkConfig, table: &str) -> Vec<String> {
    use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
    use notifications::items::{Item, Notification};
    let ddb = aws_sdk_dynamodb::Client::new(conf);
    let notes: Vec<Notification> = (0..BACKLOG)
        .map(|i| {
            let draft = notifications::domain::Draft {
                user_id: format!("backlog-{}-{i}", uuid::Uuid::new_v4().simple()),
                kind: events::notifications::Kind::Welcome,
                message: format!("welcome {i}"),
                link: None,
            };
            let id = uuid::Uuid::new_v4();
            Notification::new(
                id,
                draft,
                uuid::Uuid::new_v4(),
                chrono::Utc::now(),
                "backlog",
            )
        })
        .collect();
    for chunk in notes.chunks(25) {
        let writes: Vec<WriteRequest> = chunk
            .iter()
            .map(|n| {
                let item = serde_dynamo::to_item(Item::Notification(n.clone())).unwrap();
                let put = PutRequest::builder().set_item(Some(item)).build().unwrap();
                WriteRequest::builder().put_request(put).build()
            })
            .collect();
        ddb.batch_write_item()
            .request_items(table, writes)
            .send()
            .await
            .unwrap();
    }
    notes
        .iter()
        .map(|n| n.notification_id.to_string())
        .collect()
}

/// The notification ids of one receive from the inbox (deleted).
async fn receive_ids(sqs: &aws_sdk_sqs::Client, queue: &str) -> Vec<String> {
    let got = sqs
        .receive_message()
        .queue_url(queue)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    let mut ids = Vec::new();
    for m in got.messages.unwrap_or_default() {
        let body: Value = serde_json::from_str(m.body().unwrap_or_default()).unwrap();
        ids.push(
            body["notification_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
        sqs.delete_message()
            .queue_url(queue)
            .receipt_handle(m.receipt_handle().unwrap_or_default())
            .send()
            .await
            .unwrap();
    }
    ids
}

/// Past its burst, a stage answers 429 with API Gateway's body before the
/// authorizer or any function runs; its access log has a line for every
/// request, the throttled ones included, and never the token.
#[tokio::test]
async fn a_throttled_stage_answers_429_before_any_function_runs() {
    let _turn = TURN.lock().await;
    let c = cloud();
    let e = &c.endpoints;
    let token = token_for(e, &unique_email("throttle")).await.unwrap();
    let function = &c.functions["users/ApiFunction"];
    let before = function.metrics().await.invocations;
    let http = reqwest::Client::new();
    let url = format!("{}/users/me", e.api_base_url);
    let sent = (0..4 * BURST).map(|_| http.get(&url).bearer_auth(&token).send());
    let (mut throttled, mut through) = (0, 0);
    for answer in futures_util::future::join_all(sent).await {
        let answer = answer.unwrap();
        if answer.status() == 429 {
            let body: Value = answer.json().await.unwrap();
            assert_eq!(body, json!({"message": "Too Many Requests"}));
            throttled += 1;
        } else {
            through += 1;
        }
    }
    // The bucket refills at 1 a second while the burst is sent.
    assert!(
        (BURST..=BURST + 2).contains(&through),
        "{through} admitted, {throttled} throttled"
    );
    let invoked = function.metrics().await.invocations - before;
    assert_eq!(
        invoked as usize, through,
        "a throttled request reached the function"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let again = http.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_ne!(
        again.status(),
        429,
        "the bucket refills at the stage's rate"
    );

    let log = std::path::Path::new(&e.telemetry_dir).join("logs/users-HttpApi-access.log");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains(&token), "the access log holds the token");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let sub = sub_of(&token);
    let throttled_lines: Vec<&Value> = lines
        .iter()
        .filter(|l| l["status"] == "429" && l["routeKey"] == "GET /users/me")
        .collect();
    assert!(throttled_lines.len() >= throttled, "{text}");
    for l in throttled_lines {
        assert_eq!(l["sub"], "-", "no authorizer ran: {l}");
        assert_eq!(l["error"], "Too Many Requests");
    }
    let admitted = lines
        .iter()
        .find(|l| l["sub"] == sub.as_str())
        .expect("an admitted request's line");
    assert!(
        admitted["requestId"]
            .as_str()
            .is_some_and(|id| !id.is_empty() && id != "-")
    );
    assert!(
        admitted["responseLatencyMs"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .is_ok()
    );
}
