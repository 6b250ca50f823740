//! Erasure on UserDeleted, on the emulator: every todo goes, each with a
//! tombstone caused by the event, and a duplicate delivery does nothing.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use chrono::Utc;
use devstack_emulator::{create_service_table, shared, unique};
use events::users::UserDeletedV1;
use events::{Envelope, Event};
use kit::idempotency::Processed;
use serde_json::Value;
use todos::handlers::{Erasure, HandleError, Handled, handle};
use todos::objects::Versions;
use todos::store::Store;
use uuid::Uuid;

fn delivered(user: &str, event_id: Uuid) -> EventBridgeEvent<Value> {
    let envelope = Envelope::new(
        event_id,
        Utc::now(),
        "req-del",
        None,
        "users",
        UserDeletedV1 {
            user_id: user.into(),
            deleted_at: Utc::now(),
        },
    );
    let mut event = EventBridgeEvent::<Value>::default();
    event.source = UserDeletedV1::SOURCE.into();
    event.detail_type = UserDeletedV1::DETAIL_TYPE.into();
    event.detail = serde_json::to_value(envelope).unwrap();
    event
}

#[tokio::test]
async fn a_deleted_users_todos_are_erased_once_and_others_kept() {
    let conf = shared().sdk_config().await;
    let table = unique("todos");
    create_service_table(&conf, &table).await;
    let client = aws_sdk_dynamodb::Client::new(&conf);
    let s3 = todos::objects::client(&conf);
    let bucket = unique("attachments");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    // As the template makes it: versioned, so a plain delete would leave
    // every version restorable.
    s3.put_bucket_versioning()
        .bucket(&bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let app = Erasure {
        store: Store::new(client.clone(), &table),
        versions: Versions::new(&conf, &bucket),
    };
    let store = &app.store;
    let processed = Processed::new(client, &table, "todos-on-user-deleted");
    // One of ada's todos has an uploaded attachment whose object must go too.
    let mut with_file =
        todos::items::Todo::new(Uuid::now_v7(), "ada", "with file", Utc::now(), "c");
    let (next, a) = todos::domain::NewAttachment {
        file_name: "a.txt".into(),
        content_type: "text/plain".into(),
        size: 2,
    }
    .attach(&with_file, Uuid::now_v7(), Utc::now(), "c");
    with_file = next;
    store.create(&with_file).await.unwrap();
    // Two versions of the file, an older file already deleted (a delete
    // marker over its version), and bob's file, which stays.
    let orphan = todos::domain::object_key("ada", Uuid::now_v7(), Uuid::now_v7());
    let bobs = todos::domain::object_key("bob", Uuid::now_v7(), Uuid::now_v7());
    for key in [&a.object_key, &a.object_key, &orphan, &bobs] {
        s3.put_object()
            .bucket(&bucket)
            .key(key)
            .body(b"hi".to_vec().into())
            .send()
            .await
            .unwrap();
    }
    s3.delete_object()
        .bucket(&bucket)
        .key(&orphan)
        .send()
        .await
        .unwrap();
    for (user, n) in [("ada", 3), ("bob", 1)] {
        for i in 0..n {
            let t =
                todos::items::Todo::new(Uuid::now_v7(), user, &format!("t{i}"), Utc::now(), "c");
            store.create(&t).await.unwrap();
        }
    }
    let event_id = Uuid::new_v4();
    let first = handle(&app, &processed, &delivered("ada", event_id))
        .await
        .unwrap();
    assert_eq!(first, Handled::Erased { todos: 4 });
    let left = s3
        .list_object_versions()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let keys = |items: Vec<Option<&str>>| -> Vec<String> {
        items.into_iter().flatten().map(str::to_owned).collect()
    };
    assert_eq!(
        keys(left.versions().iter().map(|v| v.key()).collect()),
        [bobs],
        "every version of ada's files erased, bob's kept"
    );
    assert!(
        left.delete_markers().is_empty(),
        "no delete marker left: {:?}",
        left.delete_markers()
    );
    assert!(store.all_for_user("ada").await.unwrap().is_empty());
    assert_eq!(store.all_for_user("bob").await.unwrap().len(), 1);

    let again = handle(&app, &processed, &delivered("ada", event_id))
        .await
        .unwrap();
    assert_eq!(again, Handled::Duplicate);

    let deleted: Vec<_> = devstack_emulator::read_stream(&conf, &table)
        .await
        .iter()
        .flat_map(|r| todos::publisher::events_for(r).unwrap())
        .filter(|e| e.key.detail_type == "TodoDeleted")
        .collect();
    assert_eq!(deleted.len(), 4);
    for e in &deleted {
        assert_eq!(e.correlation_id, "req-del");
        assert!(
            e.detail
                .contains(&format!("\"causation_id\":\"{event_id}\""))
        );
        assert!(e.detail.contains("\"reason\":\"user_deleted\""));
    }
}

#[tokio::test]
async fn a_malformed_event_fails_loudly_naming_the_field() {
    let conf = shared().sdk_config().await;
    let table = unique("todos");
    create_service_table(&conf, &table).await;
    let client = aws_sdk_dynamodb::Client::new(&conf);
    let app = Erasure {
        store: Store::new(client.clone(), &table),
        versions: Versions::new(&conf, "unused"),
    };
    let processed = Processed::new(client, &table, "todos-on-user-deleted");
    let mut event = delivered("ada", Uuid::new_v4());
    event.detail["data"]
        .as_object_mut()
        .unwrap()
        .remove("user_id");
    let err = handle(&app, &processed, &event).await.unwrap_err();
    assert!(matches!(err, HandleError::Decode(_)));
    assert!(err.to_string().contains("user_id"), "{err}");
    let mut unknown = delivered("ada", Uuid::new_v4());
    unknown.detail_type = "UserExploded".into();
    assert!(
        handle(&app, &processed, &unknown)
            .await
            .unwrap_err()
            .to_string()
            .contains("does not consume")
    );
}

/// `POST /todos` with a token of `user`'s (claims as the JWT authorizer
/// hands them on).
async fn create_as(app: &todos::api::Todos, user: &str) -> kit::http_api::Response {
    let email = format!("{user}@example.com");
    let claims = [("sub", user), ("email", email.as_str())];
    let event = kit::http_api::apigw_event(
        "POST /todos",
        "/todos",
        &[],
        &[],
        Some(&claims),
        Some(r#"{"title": "after"}"#),
        "req-late",
    );
    todos::api::handle(app, kit::http_api::Request::from_apigw(&event)).await
}

/// An ID token lives on after its user's erasure: a todo it creates then
/// would never be erased, so the erasure closes the account first and no
/// create gets past the closure (a 409 that says so). Others still create.
#[tokio::test]
async fn a_token_from_before_the_erasure_creates_nothing() {
    let conf = shared().sdk_config().await;
    let table = unique("todos");
    create_service_table(&conf, &table).await;
    let client = aws_sdk_dynamodb::Client::new(&conf);
    let bucket = unique("attachments");
    let s3 = todos::objects::client(&conf);
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let api = todos::api::Todos {
        store: Store::new(client.clone(), &table),
        objects: todos::objects::Objects::new(&conf, bucket.clone()),
    };
    let erasure = Erasure {
        store: api.store.clone(),
        versions: Versions::new(&conf, &bucket),
    };
    let processed = Processed::new(client, &table, "todos-on-user-deleted");
    assert_eq!(create_as(&api, "ada").await.status, 201);
    handle(&erasure, &processed, &delivered("ada", Uuid::new_v4()))
        .await
        .unwrap();

    let late = create_as(&api, "ada").await;
    assert_eq!(late.status, 409, "{late:?}");
    assert_eq!(late.body.unwrap()["error"]["code"], "account_deleted");
    assert!(api.store.all_for_user("ada").await.unwrap().is_empty());
    assert_eq!(create_as(&api, "bob").await.status, 201);
}
