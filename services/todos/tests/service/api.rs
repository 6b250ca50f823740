//! The todos API on its own table in the emulator, through the real SDK,
//! fed requests in API Gateway's payload 2.0 shape.

use devstack_emulator::{create_service_table, shared, table_items, unique};
use kit::http_api::{Request, Response, apigw_event};
use serde_json::{Value, json};
use todos::api::{Todos, handle};
use todos::objects::Objects;
use todos::store::Store;

async fn store() -> Todos {
    let conf = shared().sdk_config().await;
    let table = unique("todos");
    create_service_table(&conf, &table).await;
    app(&conf, &table).await
}

/// The API's adapters on a fresh table and bucket.
pub async fn app(conf: &aws_config::SdkConfig, table: &str) -> Todos {
    let s3 = todos::objects::client(conf);
    let bucket = unique("attachments");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    Todos {
        store: Store::new(aws_sdk_dynamodb::Client::new(conf), table),
        objects: Objects::new(conf, bucket),
    }
}

/// A request as API Gateway delivers it after the JWT authorizer.
fn request(
    user: Option<&str>,
    route: &str,
    id: Option<&str>,
    query: &str,
    body: Option<Value>,
) -> Request {
    let raw_path = route
        .split_once(' ')
        .unwrap()
        .1
        .replace("{id}", id.unwrap_or(""));
    let query: Vec<(&str, &str)> = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .collect();
    let path: Vec<(&str, &str)> = id.map(|id| ("id", id)).into_iter().collect();
    let email = user.map(|u| format!("{u}@example.com"));
    let claims = user.map(|u| vec![("sub", u), ("email", email.as_deref().unwrap())]);
    let body = body.map(|b| b.to_string());
    Request::from_apigw(&apigw_event(
        route,
        &raw_path,
        &path,
        &query,
        claims.as_deref(),
        body.as_deref(),
        "req-test",
    ))
}

/// What the API's pre-traffic hook sends (`kit::hook::probes`, every
/// route), handed to the handler on a table holding someone's todo: each
/// answered as the contract declares, and the table unchanged.
#[tokio::test]
async fn the_pre_traffic_hooks_requests_are_answered_as_declared_and_change_nothing() {
    let conf = shared().sdk_config().await;
    let table = unique("todos");
    create_service_table(&conf, &table).await;
    let app = app(&conf, &table).await;
    let kept = Some(json!({"title": "kept"}));
    let created = handle(&app, request(Some("ada"), "POST /todos", None, "", kept)).await;
    assert_eq!(created.status, 201, "{created:?}");
    let before = table_items(&conf, &table).await;
    let api = todos::openapi::api();
    let probed = kit::hook::probe_handler(&api, &[], async |req| handle(&app, req).await).await;
    assert_eq!(probed, (6, Ok(())));
    assert_eq!(table_items(&conf, &table).await, before);
}

fn body(r: &Response) -> &Value {
    r.body.as_ref().expect("a JSON body")
}

#[tokio::test]
async fn create_then_read_list_patch_and_delete() {
    let store = store().await;
    let created = handle(
        &store,
        request(
            Some("ada"),
            "POST /todos",
            None,
            "",
            Some(json!({"title": "ship", "due_date": "2026-12-01"})),
        ),
    )
    .await;
    assert_eq!(created.status, 201, "{created:?}");
    let id = body(&created)["id"].as_str().unwrap().to_owned();
    assert_eq!(body(&created)["attachments"], json!([]));
    assert_eq!(body(&created)["completed"], false);

    let got = handle(
        &store,
        request(Some("ada"), "GET /todos/{id}", Some(&id), "", None),
    )
    .await;
    assert_eq!((got.status, &body(&got)["title"]), (200, &json!("ship")));

    let patched = handle(
        &store,
        request(
            Some("ada"),
            "PATCH /todos/{id}",
            Some(&id),
            "",
            Some(json!({"completed": true, "due_date": null})),
        ),
    )
    .await;
    assert_eq!(patched.status, 200, "{patched:?}");
    assert_eq!(body(&patched)["completed"], true);
    assert_eq!(body(&patched)["due_date"], Value::Null);

    let deleted = handle(
        &store,
        request(Some("ada"), "DELETE /todos/{id}", Some(&id), "", None),
    )
    .await;
    assert_eq!((deleted.status, deleted.body), (204, None));
    let gone = handle(
        &store,
        request(Some("ada"), "GET /todos/{id}", Some(&id), "", None),
    )
    .await;
    assert_eq!(gone.status, 404);
    let again = handle(
        &store,
        request(Some("ada"), "DELETE /todos/{id}", Some(&id), "", None),
    )
    .await;
    assert_eq!(again.status, 404);
}

#[tokio::test]
async fn another_users_todo_is_not_found_for_every_verb() {
    let store = store().await;
    let created = handle(
        &store,
        request(
            Some("ada"),
            "POST /todos",
            None,
            "",
            Some(json!({"title": "mine"})),
        ),
    )
    .await;
    let id = body(&created)["id"].as_str().unwrap().to_owned();
    for (route, b) in [
        ("GET /todos/{id}", None),
        ("PATCH /todos/{id}", Some(json!({"title": "theirs"}))),
        ("DELETE /todos/{id}", None),
    ] {
        let r = handle(&store, request(Some("bob"), route, Some(&id), "", b)).await;
        assert_eq!(r.status, 404, "{route}");
    }
    let listed = handle(&store, request(Some("bob"), "GET /todos", None, "", None)).await;
    assert_eq!(body(&listed)["items"], json!([]));
    let still = handle(
        &store,
        request(Some("ada"), "GET /todos/{id}", Some(&id), "", None),
    )
    .await;
    assert_eq!(body(&still)["title"], "mine");
}

#[tokio::test]
async fn listing_pages_in_creation_order() {
    let store = store().await;
    for i in 0..5 {
        let r = handle(
            &store,
            request(
                Some("ada"),
                "POST /todos",
                None,
                "",
                Some(json!({"title": format!("t{i}")})),
            ),
        )
        .await;
        assert_eq!(r.status, 201);
    }
    let mut titles = Vec::new();
    let mut query = "limit=2".to_owned();
    loop {
        let page = handle(
            &store,
            request(Some("ada"), "GET /todos", None, &query, None),
        )
        .await;
        assert_eq!(page.status, 200, "{page:?}");
        let b = body(&page);
        titles.extend(
            b["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["title"].as_str().unwrap().to_owned()),
        );
        match b["next_cursor"].as_str() {
            Some(c) => query = format!("limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(titles, ["t0", "t1", "t2", "t3", "t4"]);
}

#[tokio::test]
async fn bad_input_gets_a_4xx_naming_the_field() {
    let store = store().await;
    let cases = [
        (
            request(
                Some("ada"),
                "POST /todos",
                None,
                "",
                Some(json!({"title": ""})),
            ),
            422,
            "title",
        ),
        (
            request(
                Some("ada"),
                "POST /todos",
                None,
                "",
                Some(json!({"title": "a", "due_date": "soon"})),
            ),
            400,
            "due_date",
        ),
        (
            request(
                Some("ada"),
                "POST /todos",
                None,
                "",
                Some(json!({"title": "a", "owner": "bob"})),
            ),
            400,
            "owner",
        ),
        (
            request(Some("ada"), "POST /todos", None, "", None),
            400,
            "body",
        ),
        (
            request(
                Some("ada"),
                "POST /todos",
                None,
                "",
                Some(json!({"title": "a", "description": "x".repeat(2001)})),
            ),
            422,
            "description",
        ),
        (
            request(Some("ada"), "GET /todos", None, "limit=0", None),
            400,
            "limit",
        ),
        (
            request(Some("ada"), "GET /todos", None, "cursor=zzz", None),
            400,
            "cursor",
        ),
        (
            request(
                Some("ada"),
                "POST /todos",
                None,
                "",
                Some(json!({"title": "x".repeat(70_000)})),
            ),
            413,
            "body",
        ),
    ];
    for (req, status, field) in cases {
        let r = handle(&store, req).await;
        assert_eq!(r.status, status, "{r:?}");
        assert_eq!(body(&r)["error"]["field"], field, "{r:?}");
        assert!(
            body(&r)["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    let anonymous = handle(&store, request(None, "GET /todos", None, "", None)).await;
    assert_eq!(anonymous.status, 401);
}

#[tokio::test]
async fn writes_reach_the_stream_as_the_publisher_expects() {
    // The outbox's read side sees exactly the events the API's writes imply.
    let conf = shared().sdk_config().await;
    let table = unique("todos");
    create_service_table(&conf, &table).await;
    let store = app(&conf, &table).await;
    let created = handle(
        &store,
        request(
            Some("ada"),
            "POST /todos",
            None,
            "",
            Some(json!({"title": "ship"})),
        ),
    )
    .await;
    let id = body(&created)["id"].as_str().unwrap().to_owned();
    handle(
        &store,
        request(
            Some("ada"),
            "PATCH /todos/{id}",
            Some(&id),
            "",
            Some(json!({"completed": true})),
        ),
    )
    .await;
    handle(
        &store,
        request(Some("ada"), "DELETE /todos/{id}", Some(&id), "", None),
    )
    .await;

    let records = devstack_emulator::read_stream(&conf, &table).await;
    let mut published = Vec::new();
    for record in &records {
        for entry in todos::publisher::events_for(record).unwrap() {
            assert_eq!(entry.correlation_id, "req-test");
            published.push(entry.key.detail_type);
        }
    }
    assert_eq!(
        published,
        ["TodoCreated", "TodoUpdated", "TodoCompleted", "TodoDeleted"]
    );
}
