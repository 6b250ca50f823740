//! The campaigns API, audience and webhook on their own table in the
//! emulator, through the real SDK (Step Functions is moto's).

use aws_lambda_events::eventbridge::EventBridgeEvent;
use campaigns::api::{Admin, handle};
use campaigns::flow::Resumer;
use campaigns::handlers::{self, HandleError, Handled};
use campaigns::items::{Campaign, Member};
use campaigns::store::Store;
use campaigns::webhook::{self, Webhook};
use chrono::Utc;
use devstack_emulator::{create_service_table, shared, unique};
use events::users::{UserDeletedV1, UserRegisteredV1};
use events::{Envelope, Event};
use hmac::{Hmac, Mac};
use kit::http_api::{Request, Response, apigw_event};
use kit::idempotency::Processed;
use serde_json::{Value, json};
use sha2::Sha256;
use uuid::Uuid;

struct Env {
    admin: Admin,
    processed: Processed,
    resumer: Resumer,
}

async fn setup() -> Env {
    let conf = shared().sdk_config().await;
    let table = unique("campaigns");
    create_service_table(&conf, &table).await;
    let client = aws_sdk_dynamodb::Client::new(&conf);
    let sfn = aws_sdk_sfn::Client::new(&conf);
    let machine = sfn
        .create_state_machine()
        .name(unique("campaign"))
        .role_arn("arn:aws:iam::123456789012:role/campaigns-flow")
        .definition(r#"{"StartAt":"Done","States":{"Done":{"Type":"Succeed"}}}"#)
        .send()
        .await
        .unwrap();
    Env {
        admin: Admin {
            store: Store::new(client.clone(), &table),
            sfn: sfn.clone(),
            state_machine_arn: machine.state_machine_arn,
            wait_timeout_seconds: 60,
        },
        processed: Processed::new(client, &table, "campaigns-webhook"),
        resumer: Resumer { sfn },
    }
}

fn request(groups: &str, route: &str, path: &str, body: Option<Value>) -> Request {
    let claims = [("sub", "admin-1"), ("cognito:groups", groups)];
    let body = body.map(|b| b.to_string());
    let id = path.rsplit('/').next().unwrap_or_default();
    let params = [("id", id)];
    let params: &[(&str, &str)] = if route.ends_with("{id}") {
        &params
    } else {
        &[]
    };
    let event = apigw_event(
        route,
        path,
        params,
        &[],
        Some(&claims),
        body.as_deref(),
        "req-1",
    );
    Request::from_apigw(&event)
}

fn body(r: &Response) -> &Value {
    r.body.as_ref().expect("a JSON body")
}

async fn start(env: &Env, subject: &str) -> Response {
    let body = json!({"subject": subject, "body": "Hello"});
    handle(
        &env.admin,
        request("[admins]", "POST /campaigns", "/campaigns", Some(body)),
    )
    .await
}

#[tokio::test]
async fn an_admin_starts_lists_and_reads_campaigns_with_an_execution_named_by_the_id() {
    let env = setup().await;
    let started = start(&env, "Spring").await;
    assert_eq!(started.status, 202, "{started:?}");
    let id = body(&started)["id"].as_str().unwrap().to_owned();
    assert_eq!(body(&started)["status"], "submitted");
    let stored = env
        .admin
        .store
        .campaign(id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let arn = stored.execution_arn.expect("the execution is recorded");
    assert!(arn.ends_with(&format!(":{id}")), "{arn}");

    start(&env, "Summer").await;
    let list = handle(
        &env.admin,
        request("[admins]", "GET /campaigns", "/campaigns", None),
    )
    .await;
    let subjects: Vec<&str> = body(&list)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["Summer", "Spring"], "newest first");
    let path = format!("/campaigns/{id}");
    let read = handle(
        &env.admin,
        request("[admins]", "GET /campaigns/{id}", &path, None),
    )
    .await;
    assert_eq!(body(&read)["steps"][0]["step"], "submitted");
    let missing = format!("/campaigns/{}", Uuid::now_v7());
    let none = handle(
        &env.admin,
        request("[admins]", "GET /campaigns/{id}", &missing, None),
    )
    .await;
    assert_eq!(none.status, 404);
}

#[tokio::test]
async fn everyone_but_an_admin_gets_403_on_every_route_and_bad_input_names_the_field() {
    let env = setup().await;
    let body_ok = json!({"subject": "s", "body": "b"});
    for groups in ["[]", "[editors]", "[admins-not]"] {
        for (route, path, b) in [
            ("POST /campaigns", "/campaigns", Some(body_ok.clone())),
            ("GET /campaigns", "/campaigns", None),
            ("GET /campaigns/{id}", "/campaigns/x", None),
        ] {
            let r = handle(&env.admin, request(groups, route, path, b)).await;
            assert_eq!(r.status, 403, "{groups} {route}: {r:?}");
        }
    }
    assert!(
        env.admin.store.campaigns().await.unwrap().is_empty(),
        "nothing was stored"
    );
    let blank = json!({"subject": " ", "body": "b"});
    let r = handle(
        &env.admin,
        request("[admins]", "POST /campaigns", "/campaigns", Some(blank)),
    )
    .await;
    assert_eq!(
        (r.status, &body(&r)["error"]["field"]),
        (422, &json!("subject"))
    );
}

fn bus_event<E: Event + serde::Serialize>(data: E) -> EventBridgeEvent<Value> {
    let envelope = Envelope::new(Uuid::new_v4(), Utc::now(), "req-u", None, "users", data);
    let mut event = EventBridgeEvent::<Value>::default();
    event.source = E::SOURCE.into();
    event.detail_type = E::DETAIL_TYPE.into();
    event.detail = serde_json::to_value(envelope).unwrap();
    event
}

fn registered(user: &str) -> EventBridgeEvent<Value> {
    bus_event(UserRegisteredV1 {
        user_id: user.into(),
        email: format!("{user}@example.com"),
        display_name: user.into(),
        registered_at: Utc::now(),
    })
}

fn deleted(user: &str) -> EventBridgeEvent<Value> {
    bus_event(UserDeletedV1 {
        user_id: user.into(),
        deleted_at: Utc::now(),
    })
}

#[tokio::test]
async fn the_audience_follows_the_users_events_and_an_erasure_is_final() {
    let env = setup().await;
    let store = &env.admin.store;
    for user in ["ada", "bob"] {
        assert_eq!(
            handlers::handle(store, &registered(user)).await.unwrap(),
            Handled::Joined
        );
    }
    assert_eq!(
        handlers::handle(store, &registered("ada")).await.unwrap(),
        Handled::Joined,
        "a redelivery"
    );
    let members: Vec<String> = store
        .audience()
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.user_id)
        .collect();
    assert_eq!(members, ["ada", "bob"]);

    let c = Campaign::new("s", "b", "admin", Utc::now(), "req");
    store
        .receive(&campaigns::items::Received::of(&c, "ada", Utc::now()))
        .await
        .unwrap();
    let erased = handlers::handle(store, &deleted("ada")).await.unwrap();
    assert_eq!(erased, Handled::Erased { received: 1 });
    assert!(store.received("ada").await.unwrap().is_empty());
    // A registration replayed after the erasure adds nothing.
    let late = handlers::handle(store, &registered("ada")).await.unwrap();
    assert_eq!(late, Handled::AlreadyErased);
    let members: Vec<Member> = store.audience().await.unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].user_id, "bob");

    // An admin's token outlives their erasure; it starts nothing.
    handlers::handle(store, &deleted("admin-1")).await.unwrap();
    let refused = start(&env, "After").await;
    assert_eq!(refused.status, 409, "{refused:?}");
    assert_eq!(body(&refused)["error"]["code"], "account_deleted");

    let mut bad = registered("cy");
    bad.detail["data"].as_object_mut().unwrap().remove("email");
    let err = handlers::handle(store, &bad).await.unwrap_err();
    assert!(
        matches!(err, HandleError::Decode(_)) && err.to_string().contains("email"),
        "{err}"
    );
}

const SECRET: &[u8] = b"whsec_test";

fn signed(body: &str, at: i64, secret: &[u8]) -> Request {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    mac.update(format!("{at}.{body}").as_bytes());
    let signature = format!("v1={}", hex::encode(mac.finalize().into_bytes()));
    let mut req = Request {
        route_key: "POST /campaigns/webhook".into(),
        body: Some(body.into()),
        correlation_id: "req-w".into(),
        ..Request::default()
    };
    req.headers
        .insert(webhook::TIMESTAMP_HEADER.into(), at.to_string());
    req.headers
        .insert(webhook::SIGNATURE_HEADER.into(), signature);
    req
}

fn delivery(c: &Campaign, status: &str, delivery_id: Uuid) -> String {
    json!({
        "delivery_id": delivery_id, "campaign_id": "cmp_1", "reference": c.id,
        "status": status, "occurred_at": Utc::now(),
    })
    .to_string()
}

#[tokio::test]
async fn a_webhook_delivery_is_verified_then_applied_once() {
    let env = setup().await;
    let store = &env.admin.store;
    let mut c = Campaign::new("s", "b", "admin", Utc::now(), "req");
    c.vendor_id = Some("cmp_1".into());
    store.create(&c).await.unwrap();
    let hook = Webhook {
        store,
        processed: &env.processed,
        resumer: &env.resumer,
    };
    let now = Utc::now().timestamp();
    let sending = delivery(&c, "sending", Uuid::new_v4());
    let hook = &hook;
    let call = |req: Request| async move {
        webhook::handle(hook, SECRET, &req)
            .await
            .unwrap_or_else(|e| e)
    };

    let forged = call(signed(&sending, now, b"not the secret")).await;
    let stale = call(signed(&sending, now - 301, SECRET)).await;
    let mut unsigned = signed(&sending, now, SECRET);
    unsigned.headers.remove(webhook::SIGNATURE_HEADER);
    let unsigned = call(unsigned).await;
    assert_eq!(
        [forged.status, stale.status, unsigned.status],
        [401, 401, 401]
    );
    let unknown = delivery(
        &Campaign::new("x", "y", "a", Utc::now(), "r"),
        "sent",
        Uuid::new_v4(),
    );
    assert_eq!(call(signed(&unknown, now, SECRET)).await.status, 404);
    let malformed = json!({"delivery_id": Uuid::new_v4(), "status": "sent"}).to_string();
    let m = call(signed(&malformed, now, SECRET)).await;
    assert_eq!(m.status, 400, "{m:?}");
    let untouched = store.campaign(c.id).await.unwrap().unwrap();
    assert_eq!(
        (untouched.vendor_status, untouched.steps.len()),
        (None, 1),
        "nothing changed"
    );

    let first = call(signed(&sending, now, SECRET)).await;
    assert_eq!(
        (first.status, &body(&first)["outcome"]),
        (200, &json!("recorded"))
    );
    let again = call(signed(&sending, now + 1, SECRET)).await;
    assert_eq!(body(&again)["outcome"], "duplicate", "the same delivery id");
    let pending_late = call(signed(
        &delivery(&c, "pending", Uuid::new_v4()),
        now,
        SECRET,
    ))
    .await;
    assert_eq!(body(&pending_late)["outcome"], "stale");
    let after = store.campaign(c.id).await.unwrap().unwrap();
    let sender_steps = after
        .steps
        .iter()
        .filter(|s| s.step.starts_with("sender:"))
        .count();
    assert_eq!(sender_steps, 1, "{:?}", after.steps);
}
