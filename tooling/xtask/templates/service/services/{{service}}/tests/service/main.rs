//! The {{service}} API and consumer on their own table in the emulator,
//! through the real SDK.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use chrono::Utc;
use events::users::UserDeletedV1;
use events::{{service}}::{{Items}}UserErasedV1;
use events::{Envelope, Event};
use devstack_emulator::{create_service_table, shared, table_items, unique};
use kit::http_api::{Request, Response, apigw_event};
use kit::idempotency::Processed;
use serde_json::{Value, json};
use uuid::Uuid;
use {{service}}::api::handle;
use {{service}}::handlers::{self, HandleError, Handled};
use {{service}}::items::Item;
use {{service}}::publisher;
use {{service}}::store::Store;

async fn setup() -> (Store, Processed) {
    let conf = shared().sdk_config().await;
    let table = unique("{{service}}");
    create_service_table(&conf, &table).await;
    let client = aws_sdk_dynamodb::Client::new(&conf);
    (
        Store::new(client.clone(), &table),
        Processed::new(client, &table, "{{service}}-consumer"),
    )
}

fn request(user: &str, route: &str, path: &str, body: Option<Value>) -> Request {
    let claims = [("sub", user)];
    let body = body.map(|b| b.to_string());
    let id = path.rsplit('/').next().unwrap_or_default();
    let params = [("id", id)];
    let params: &[(&str, &str)] = if route.ends_with("{id}") { &params } else { &[] };
    Request::from_apigw(&apigw_event(
        route,
        path,
        params,
        &[],
        Some(&claims),
        body.as_deref(),
        "req-1",
    ))
}

fn body(r: &Response) -> &Value {
    r.body.as_ref().expect("a JSON body")
}

async fn create(store: &Store, user: &str, title: &str) -> Response {
    let req = request(user, "POST /{{service}}", "/{{service}}", Some(json!({"title": title})));
    handle(store, req).await
}

#[tokio::test]
async fn a_caller_creates_lists_and_reads_only_their_own() {
    let (store, _) = setup().await;
    let first = create(&store, "ada", "first").await;
    assert_eq!(first.status, 201, "{first:?}");
    create(&store, "ada", "second").await;
    create(&store, "bob", "bob's").await;

    let list = handle(&store, request("ada", "GET /{{service}}", "/{{service}}", None)).await;
    let titles: Vec<&str> = body(&list)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["second", "first"], "newest first, ada's only");

    let id = body(&first)["id"].as_str().unwrap();
    let path = format!("/{{service}}/{id}");
    let read = handle(&store, request("ada", "GET /{{service}}/{id}", &path, None)).await;
    assert_eq!((read.status, &body(&read)["title"]), (200, &json!("first")));
    let other = handle(&store, request("bob", "GET /{{service}}/{id}", &path, None)).await;
    assert_eq!(other.status, 404, "bob cannot read ada's");
}

/// What the API's pre-traffic hook sends (`kit::hook::probes`, every
/// route), handed to the handler on a table holding someone's item: each
/// answered as the contract declares, and the table unchanged.
#[tokio::test]
async fn the_pre_traffic_hooks_requests_are_answered_as_declared_and_change_nothing() {
    let conf = shared().sdk_config().await;
    let table = unique("{{service}}");
    create_service_table(&conf, &table).await;
    let store = Store::new(aws_sdk_dynamodb::Client::new(&conf), &table);
    assert_eq!(create(&store, "ada", "kept").await.status, 201);
    let before = table_items(&conf, &table).await;
    let api = {{service}}::openapi::api();
    let probed = kit::hook::probe_handler(&api, &[], async |req| handle(&store, req).await).await;
    assert_eq!(probed, (3, Ok(())));
    assert_eq!(table_items(&conf, &table).await, before);
}

#[tokio::test]
async fn bad_input_is_a_4xx_naming_the_field() {
    let (store, _) = setup().await;
    let blank = create(&store, "ada", "  ").await;
    assert_eq!((blank.status, &body(&blank)["error"]["field"]), (422, &json!("title")));
    let req = request("ada", "POST /{{service}}", "/{{service}}", Some(json!({"name": "x"})));
    let unknown = handle(&store, req).await;
    assert_eq!(unknown.status, 400, "{unknown:?}");
}

fn deleted(user: &str, event_id: Uuid) -> EventBridgeEvent<Value> {
    let data = UserDeletedV1 {
        user_id: user.into(),
        deleted_at: Utc::now(),
    };
    let envelope = Envelope::new(event_id, Utc::now(), "req-del", None, "users", data);
    let mut event = EventBridgeEvent::<Value>::default();
    event.source = UserDeletedV1::SOURCE.into();
    event.detail_type = UserDeletedV1::DETAIL_TYPE.into();
    event.detail = serde_json::to_value(envelope).unwrap();
    event
}

#[tokio::test]
async fn a_deleted_users_data_is_erased_once_and_others_kept() {
    let (store, processed) = setup().await;
    create(&store, "ada", "one").await;
    create(&store, "ada", "two").await;
    create(&store, "bob", "kept").await;
    let event_id = Uuid::new_v4();
    let event = deleted("ada", event_id);
    let first = handlers::handle(&store, &processed, &event).await.unwrap();
    assert_eq!(first, Handled::Erased { items: 2 });
    let again = handlers::handle(&store, &processed, &event).await.unwrap();
    assert_eq!(again, Handled::Duplicate);
    assert!(store.newest("ada").await.unwrap().is_empty());
    assert_eq!(store.newest("bob").await.unwrap().len(), 1);
    assert!(store.erasure_receipt("bob").await.unwrap().is_none());

    // The erasure's receipt, whose insert publishes UserDataErased once,
    // caused by the deletion.
    let receipt = store.erasure_receipt("ada").await.unwrap().expect("a receipt");
    assert_eq!(receipt.causation_id, event_id.to_string());
    let image = serde_dynamo::to_item(Item::ErasureReceipt(receipt)).unwrap();
    let record = kit::stream::record("r1", "INSERT", None, Some(image));
    let published = publisher::events_for(&record).unwrap();
    let keys: Vec<_> = published.iter().map(|e| e.key).collect();
    assert_eq!(keys, [{{Items}}UserErasedV1::KEY]);
    assert!(published[0].detail.contains("\"user_id\":\"ada\""), "{}", published[0].detail);
}

#[tokio::test]
async fn a_malformed_event_fails_loudly_naming_the_field() {
    let (store, processed) = setup().await;
    let mut event = deleted("ada", Uuid::new_v4());
    event.detail["data"].as_object_mut().unwrap().remove("user_id");
    let err = handlers::handle(&store, &processed, &event).await.unwrap_err();
    assert!(matches!(err, HandleError::Decode(_)), "{err}");
    assert!(err.to_string().contains("user_id"), "{err}");
}
