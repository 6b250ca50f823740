//! Attachments end to end on the emulator: a presigned PUT, then the
//! S3-triggered check on the real object, in AWS's notification shape.

use devstack_emulator::{create_service_table, shared, unique};
use kit::http_api::{Request, apigw_event};
use serde_json::{Value, json};
use todos::api::{Todos, handle};
use todos::objects::Objects;
use todos::store::Store;
use todos::uploads::{self, Checked};
use uuid::Uuid;

struct Env {
    conf: aws_config::SdkConfig,
    table: String,
    app: Todos,
}

async fn env() -> Env {
    let conf = shared().sdk_config().await;
    let table = unique("todos");
    create_service_table(&conf, &table).await;
    let s3 = todos::objects::client(&conf);
    let bucket = unique("attachments");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let app = Todos {
        store: Store::new(aws_sdk_dynamodb::Client::new(&conf), &table),
        objects: Objects::new(&conf, bucket),
    };
    Env { conf, table, app }
}

async fn call(
    app: &Todos,
    user: &str,
    route: &str,
    id: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let path = route
        .split_once(' ')
        .unwrap()
        .1
        .replace("{id}", id.unwrap_or(""));
    let params: Vec<(&str, &str)> = id.map(|i| ("id", i)).into_iter().collect();
    let body = body.map(|b| b.to_string());
    let req = Request::from_apigw(&apigw_event(
        route,
        &path,
        &params,
        &[],
        Some(&[("sub", user)]),
        body.as_deref(),
        "req-up",
    ));
    let r = handle(app, req).await;
    (r.status, r.body.unwrap_or(Value::Null))
}

/// Creates a todo and asks for an upload URL; returns (todo id, grant).
async fn grant(app: &Todos, content_type: &str, size: u64) -> (String, Value) {
    let (_, todo) = call(
        app,
        "ada",
        "POST /todos",
        None,
        Some(json!({"title": "with file"})),
    )
    .await;
    let id = todo["id"].as_str().unwrap().to_owned();
    let (status, grant) = call(
        app,
        "ada",
        "POST /todos/{id}/attachments",
        Some(&id),
        Some(json!({"file_name": "diagram.png", "content_type": content_type, "size": size})),
    )
    .await;
    assert_eq!(status, 201, "{grant}");
    (id, grant)
}

/// Uploads through the presigned URL, as a browser would, then delivers
/// the object-created notification S3 would send.
async fn upload(env: &Env, grant: &Value, content_type: &str, bytes: Vec<u8>) -> Vec<Checked> {
    let url = grant["upload_url"].as_str().unwrap();
    let len = bytes.len();
    let put = reqwest::Client::new()
        .put(url)
        .header("content-type", content_type)
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "presigned PUT: {}", put.status());
    let key = url
        .split('?')
        .next()
        .unwrap()
        .split(&format!("/{}/", env.app.objects.bucket()))
        .nth(1)
        .unwrap()
        .to_owned();
    let event = devstack_emulator::s3::object_created(
        env.app.objects.bucket(),
        &key,
        len as i64,
        "etag",
        "0001",
    );
    uploads::handle(&env.app.store, &env.app.objects, &event)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_upload_as_declared_becomes_ready_and_is_announced_once() {
    let env = env().await;
    let (id, grant) = grant(&env.app, "image/png", 8).await;
    assert!(grant["expires_at"].as_str().is_some());
    let url = grant["upload_url"].as_str().unwrap();
    assert!(
        url.contains(&format!("/users/ada/todos/{id}/")),
        "scoped to the owner's prefix: {url}"
    );

    let checked = upload(&env, &grant, "image/png", b"\x89PNG....".to_vec()).await;
    let attachment_id: Uuid = grant["attachment_id"].as_str().unwrap().parse().unwrap();
    assert_eq!(checked, [Checked::Ready(attachment_id)]);
    let (_, todo) = call(&env.app, "ada", "GET /todos/{id}", Some(&id), None).await;
    assert_eq!(todo["attachments"][0]["status"], "ready");

    // S3 may notify twice; the second changes nothing.
    let key = format!("users/ada/todos/{id}/{attachment_id}");
    let again =
        devstack_emulator::s3::object_created(env.app.objects.bucket(), &key, 8, "etag", "0002");
    assert_eq!(
        uploads::handle(&env.app.store, &env.app.objects, &again)
            .await
            .unwrap(),
        [Checked::AlreadySettled(attachment_id)]
    );

    let added: Vec<_> = devstack_emulator::read_stream(&env.conf, &env.table)
        .await
        .iter()
        .flat_map(|r| todos::publisher::events_for(r).unwrap())
        .filter(|e| e.key.detail_type == "TodoAttachmentAdded")
        .collect();
    assert_eq!(added.len(), 1);
    assert_eq!(added[0].correlation_id, "req-up");
}

#[tokio::test]
async fn an_upload_unlike_its_declaration_is_rejected_and_deleted() {
    let env = env().await;
    let (id, grant) = grant(&env.app, "image/png", 4).await;
    let checked = upload(&env, &grant, "text/html", b"<script>".to_vec()).await;
    match &checked[..] {
        [Checked::Rejected(_, reason)] => assert!(reason.contains("declared"), "{reason}"),
        other => panic!("{other:?}"),
    }
    let (_, todo) = call(&env.app, "ada", "GET /todos/{id}", Some(&id), None).await;
    assert_eq!(todo["attachments"][0]["status"], "rejected");
    assert!(
        todo["attachments"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("bytes")
    );
    let left = todos::objects::client(&env.conf)
        .list_objects_v2()
        .bucket(env.app.objects.bucket())
        .send()
        .await
        .unwrap();
    assert_eq!(left.key_count(), Some(0));
}

#[tokio::test]
async fn a_late_upload_for_a_deleted_todo_is_removed() {
    let env = env().await;
    let (id, grant) = grant(&env.app, "text/plain", 2).await;
    let (status, _) = call(&env.app, "ada", "DELETE /todos/{id}", Some(&id), None).await;
    assert_eq!(status, 204);
    let checked = upload(&env, &grant, "text/plain", b"hi".to_vec()).await;
    assert!(matches!(&checked[..], [Checked::Orphan(_)]), "{checked:?}");
}

#[tokio::test]
async fn attachment_requests_are_validated_and_scoped_to_the_owner() {
    let env = env().await;
    let (_, todo) = call(
        &env.app,
        "ada",
        "POST /todos",
        None,
        Some(json!({"title": "t"})),
    )
    .await;
    let id = todo["id"].as_str().unwrap();
    for (body, field) in [
        (
            json!({"file_name": "a.png", "content_type": "image/png", "size": 10 * 1024 * 1024 + 1}),
            "size",
        ),
        (
            json!({"file_name": "a.exe", "content_type": "application/x-msdownload", "size": 10}),
            "content_type",
        ),
        (
            json!({"file_name": "a/b.png", "content_type": "image/png", "size": 10}),
            "file_name",
        ),
    ] {
        let (status, err) = call(
            &env.app,
            "ada",
            "POST /todos/{id}/attachments",
            Some(id),
            Some(body),
        )
        .await;
        assert_eq!((status, &err["error"]["field"]), (422, &json!(field)));
    }
    let (status, _) = call(
        &env.app,
        "bob",
        "POST /todos/{id}/attachments",
        Some(id),
        Some(json!({"file_name": "a.png", "content_type": "image/png", "size": 10})),
    )
    .await;
    assert_eq!(status, 404);
    let foreign =
        devstack_emulator::s3::object_created(env.app.objects.bucket(), "elsewhere/x", 1, "e", "1");
    assert_eq!(
        uploads::handle(&env.app.store, &env.app.objects, &foreign)
            .await
            .unwrap(),
        [Checked::Foreign("elsewhere/x".into())]
    );
    let other_bucket =
        devstack_emulator::s3::object_created("someone-elses", "users/ada/todos/x/y", 1, "e", "1");
    assert!(
        uploads::handle(&env.app.store, &env.app.objects, &other_bucket)
            .await
            .is_err()
    );
}
