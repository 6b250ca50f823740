//! The users API on its own table in the emulator, through the real SDK.

use devstack_emulator::{create_service_table, shared, table_items, unique};
use kit::http_api::{Request, Response, apigw_event};
use serde_json::{Value, json};
use users::api::handle;
use users::store::Store;

async fn setup() -> (aws_config::SdkConfig, String, Store) {
    let conf = shared().sdk_config().await;
    let table = unique("users");
    create_service_table(&conf, &table).await;
    let store = Store::new(aws_sdk_dynamodb::Client::new(&conf), &table);
    (conf, table, store)
}

fn request(user: &str, method: &str, body: Option<Value>, correlation: &str) -> Request {
    let email = format!("{user}@example.com");
    let claims = [("sub", user), ("email", email.as_str())];
    let body = body.map(|b| b.to_string());
    Request::from_apigw(&apigw_event(
        &format!("{method} /users/me"),
        "/users/me",
        &[],
        &[],
        Some(&claims),
        body.as_deref(),
        correlation,
    ))
}

/// What the API's pre-traffic hook sends (`kit::hook::probes`, every
/// route, its reads as an admin), handed to the handler on a table holding
/// someone's profile: each answered as the contract declares, and the
/// table unchanged.
#[tokio::test]
async fn the_pre_traffic_hooks_requests_are_answered_as_declared_and_change_nothing() {
    let (conf, table, store) = setup().await;
    let ada = request("ada", "PUT", Some(json!({"display_name": "Ada"})), "r");
    assert_eq!(handle(&store, ada).await.status, 201);
    let before = table_items(&conf, &table).await;
    let api = users::openapi::api();
    let admins = [users::domain::ADMINS];
    let probed =
        kit::hook::probe_handler(&api, &admins, async |req| handle(&store, req).await).await;
    assert_eq!(probed, (4, Ok(())));
    assert_eq!(table_items(&conf, &table).await, before);
}

fn body(r: &Response) -> &Value {
    r.body.as_ref().expect("a JSON body")
}

#[tokio::test]
async fn register_rename_read_and_delete_publish_the_user_lifecycle() {
    let (conf, table, store) = setup().await;
    let created = handle(
        &store,
        request("ada", "PUT", Some(json!({"display_name": "Ada"})), "req-1"),
    )
    .await;
    assert_eq!(created.status, 201, "{created:?}");
    assert_eq!(body(&created)["email"], "ada@example.com");
    assert_eq!(body(&created)["id"], "ada");

    let renamed = handle(
        &store,
        request(
            "ada",
            "PUT",
            Some(json!({"display_name": "Ada L."})),
            "req-2",
        ),
    )
    .await;
    assert_eq!(renamed.status, 200);
    assert_eq!(body(&renamed)["created_at"], body(&created)["created_at"]);

    let got = handle(&store, request("ada", "GET", None, "req-3")).await;
    assert_eq!(body(&got)["display_name"], "Ada L.");

    assert_eq!(
        handle(&store, request("ada", "DELETE", None, "req-4"))
            .await
            .status,
        204
    );
    assert_eq!(
        handle(&store, request("ada", "GET", None, "req-5"))
            .await
            .status,
        404
    );
    assert_eq!(
        handle(&store, request("ada", "DELETE", None, "req-6"))
            .await
            .status,
        404
    );

    // A token from before the deletion brings nobody back (a new sign-up
    // is a new subject): nothing is written, nothing published.
    let again = handle(
        &store,
        request("ada", "PUT", Some(json!({"display_name": "Ada"})), "req-7"),
    )
    .await;
    assert_eq!(again.status, 409, "{again:?}");
    assert_eq!(body(&again)["error"]["code"], "account_deleted");

    let published: Vec<(String, String)> = devstack_emulator::read_stream(&conf, &table)
        .await
        .iter()
        .flat_map(|r| users::publisher::events_for(r).unwrap())
        .map(|e| (e.key.detail_type.to_owned(), e.correlation_id))
        .collect();
    let expected = [
        ("UserRegistered", "req-1"),
        ("UserProfileUpdated", "req-2"),
        ("UserDeleted", "req-4"),
    ];
    assert_eq!(
        published,
        expected.map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
}

#[tokio::test]
async fn users_only_ever_see_themselves_and_bad_input_names_the_field() {
    let (_, _, store) = setup().await;
    handle(
        &store,
        request("ada", "PUT", Some(json!({"display_name": "Ada"})), "c"),
    )
    .await;
    assert_eq!(
        handle(&store, request("bob", "GET", None, "c"))
            .await
            .status,
        404
    );

    for (b, status, field) in [
        (Some(json!({"display_name": ""})), 422, "display_name"),
        (
            Some(json!({"display_name": "x".repeat(65)})),
            422,
            "display_name",
        ),
        (Some(json!({"display_name": 7})), 400, "display_name"),
        (
            Some(json!({"display_name": "A", "email": "evil@example.com"})),
            400,
            "email",
        ),
        (None, 400, "body"),
    ] {
        let r = handle(&store, request("ada", "PUT", b, "c")).await;
        assert_eq!(r.status, status, "{r:?}");
        assert_eq!(body(&r)["error"]["field"], field);
    }
    let no_email = Request::from_apigw(&apigw_event(
        "PUT /users/me",
        "/users/me",
        &[],
        &[],
        Some(&[("sub", "carol")]),
        Some(r#"{"display_name":"C"}"#),
        "c",
    ));
    let r = handle(&store, no_email).await;
    assert_eq!(
        (r.status, &body(&r)["error"]["field"]),
        (422, &json!("email"))
    );
}

/// A page of profiles among many items of other kinds (the erasure
/// markers a deleted user leaves): a page of one holds one profile, and
/// the cursors walk every profile once. DynamoDB's scan limit counts the
/// items it evaluates, not the ones its filter keeps.
#[tokio::test]
async fn a_page_of_users_is_full_whatever_lies_between_the_profiles() {
    let (conf, table, store) = setup().await;
    let ddb = aws_sdk_dynamodb::Client::new(&conf);
    for i in 0..60 {
        let marker = [
            ("pk", format!("USER#gone-{i}")),
            (
                "sk",
                format!("{}notifications", users::items::ERASED_BY_PREFIX),
            ),
        ];
        (ddb.put_item().table_name(&table))
            .set_item(Some(
                marker
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), aws_sdk_dynamodb::types::AttributeValue::S(v)))
                    .collect(),
            ))
            .send()
            .await
            .unwrap();
    }
    for user in ["ada", "bob", "cy"] {
        let body = json!({"display_name": user});
        let r = handle(&store, request(user, "PUT", Some(body), "c")).await;
        assert!(r.status < 300, "{r:?}");
    }
    let mut seen = Vec::new();
    let mut after = None;
    for _ in 0..10 {
        let (page, next) = store.profiles_page(1, after).await.unwrap();
        assert_eq!(page.len(), 1, "a page of one holds one profile");
        seen.extend(page.into_iter().map(|p| p.user_id));
        after = next;
        if after.is_none() {
            break;
        }
    }
    seen.sort();
    assert_eq!(seen, ["ada", "bob", "cy"]);
}
