//! The user pool's triggers on their own table in the emulator, through
//! the real SDK, with Cognito's event shapes (as the local cloud sends
//! them; see `tests/tests/all/identity.rs` for the whole sign-up).

use devstack_emulator::{create_service_table, shared, unique};
use serde_json::{Value, json};
use users::accounts::Accounts;
use users::identity::{TriggerError, handle};
use users::store::Store;

/// The pool's API: no test here reaches it (federated sign-ups are
/// `tests/tests/all/federation.rs`'s).
fn accounts(conf: &aws_config::SdkConfig) -> Accounts {
    Accounts {
        api: kit::signed::json_protocol::JsonApi::new(
            conf,
            kit::signed::json_protocol::COGNITO_IDP,
        ),
        user_pool_id: "us-east-1_pool".into(),
    }
}

fn post_confirmation(sub: &str, email: &str, name: Option<&str>) -> Value {
    let mut attributes = json!({
        "sub": sub, "email": email, "email_verified": "true",
        "cognito:user_status": "CONFIRMED",
    });
    if let Some(n) = name {
        attributes["name"] = n.into();
    }
    json!({
        "version": "1", "triggerSource": "PostConfirmation_ConfirmSignUp",
        "region": "us-east-1", "userPoolId": "us-east-1_pool", "userName": sub,
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "client"},
        "request": {"userAttributes": attributes},
        "response": {},
    })
}

fn pre_sign_up(email: &str, name: Option<&str>) -> Value {
    let mut attributes = json!({ "email": email });
    if let Some(n) = name {
        attributes["name"] = n.into();
    }
    json!({
        "version": "1", "triggerSource": "PreSignUp_SignUp",
        "region": "us-east-1", "userPoolId": "us-east-1_pool", "userName": email,
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "client"},
        "request": {"userAttributes": attributes, "validationData": null},
        "response": {"autoConfirmUser": false, "autoVerifyEmail": false, "autoVerifyPhone": false},
    })
}

#[tokio::test]
async fn a_confirmation_tried_three_times_makes_one_profile_and_one_registration() {
    let conf = shared().sdk_config().await;
    let table = unique("users");
    create_service_table(&conf, &table).await;
    let store = Store::new(aws_sdk_dynamodb::Client::new(&conf), &table);
    let accounts = accounts(&conf);
    let event = post_confirmation("sub-1", "ada@example.com", Some("Ada"));
    // Cognito tries a trigger that timed out again: the same event, each
    // attempt with a request id of its own.
    for attempt in ["try-1", "try-2", "try-3"] {
        let answer = handle((&store, &accounts), &[], event.clone(), attempt)
            .await
            .unwrap();
        assert_eq!(answer["triggerSource"], "PostConfirmation_ConfirmSignUp");
    }
    let profile = store.get("sub-1").await.unwrap().expect("a profile");
    assert_eq!(
        (profile.email.as_str(), profile.display_name.as_str()),
        ("ada@example.com", "Ada")
    );
    let published = published(&conf, &table).await;
    assert_eq!(
        published,
        [("UserRegistered".to_owned(), "try-1".to_owned())]
    );

    // A password reset confirms too: it registers nobody.
    let mut reset = post_confirmation("sub-2", "bo@example.com", None);
    reset["triggerSource"] = "PostConfirmation_ConfirmForgotPassword".into();
    handle((&store, &accounts), &[], reset, "reset")
        .await
        .unwrap();
    assert!(store.get("sub-2").await.unwrap().is_none());
}

/// What the table's stream publishes: detail-type and correlation id.
async fn published(conf: &aws_config::SdkConfig, table: &str) -> Vec<(String, String)> {
    devstack_emulator::read_stream(conf, table)
        .await
        .iter()
        .flat_map(|r| users::publisher::events_for(r).unwrap())
        .map(|e| (e.key.detail_type.to_owned(), e.correlation_id))
        .collect()
}

fn post_authentication(sub: &str, email: &str) -> Value {
    let mut event = post_confirmation(sub, email, None);
    event["triggerSource"] = "PostAuthentication_Authentication".into();
    event["request"]["newDeviceUsed"] = false.into();
    event
}

/// An administrator's user (AdminCreateUser) is never confirmed through
/// PostConfirmation: their first sign-in makes the profile, once; later
/// sign-ins change nothing, and a deleted account stays deleted.
#[tokio::test]
async fn a_sign_in_without_a_profile_makes_it_unless_the_account_was_deleted() {
    let conf = shared().sdk_config().await;
    let table = unique("users");
    create_service_table(&conf, &table).await;
    let store = Store::new(aws_sdk_dynamodb::Client::new(&conf), &table);
    let accounts = accounts(&conf);
    for attempt in ["sign-in-1", "sign-in-2"] {
        let event = post_authentication("sub-a", "adm@example.com");
        let answer = handle((&store, &accounts), &[], event, attempt)
            .await
            .unwrap();
        assert_eq!(answer["triggerSource"], "PostAuthentication_Authentication");
    }
    let profile = store.get("sub-a").await.unwrap().expect("a profile");
    assert_eq!(profile.display_name, "adm");
    let published = published(&conf, &table).await;
    assert_eq!(
        published,
        [("UserRegistered".to_owned(), "sign-in-1".to_owned())]
    );

    let tombstone = users::items::Tombstone::new("sub-a", chrono::Utc::now(), "del");
    store.delete(&profile, &tombstone).await.unwrap();
    let event = post_authentication("sub-a", "adm@example.com");
    handle((&store, &accounts), &[], event, "sign-in-3")
        .await
        .unwrap();
    assert!(
        store.get("sub-a").await.unwrap().is_none(),
        "not brought back"
    );
}

#[tokio::test]
async fn a_sign_up_is_refused_by_domain_or_name_and_a_broken_event_names_its_field() {
    let conf = shared().sdk_config().await;
    let table = unique("users");
    create_service_table(&conf, &table).await;
    let store = Store::new(aws_sdk_dynamodb::Client::new(&conf), &table);
    let accounts = accounts(&conf);
    let refused = users::domain::refused_domains("mailinator.com");

    let ok = handle(
        (&store, &accounts),
        &refused,
        pre_sign_up("ada@example.com", Some("Ada")),
        "c",
    )
    .await;
    assert_eq!(ok.unwrap()["response"]["autoConfirmUser"], false);
    let by_domain = handle(
        (&store, &accounts),
        &refused,
        pre_sign_up("x@mailinator.com", None),
        "c",
    )
    .await;
    assert!(
        matches!(&by_domain, Err(TriggerError::Refused(_))),
        "{by_domain:?}"
    );
    let name = "n".repeat(65);
    let by_name = handle(
        (&store, &accounts),
        &refused,
        pre_sign_up("ada@example.com", Some(&name)),
        "c",
    )
    .await;
    let message = by_name.unwrap_err().to_string();
    assert!(message.contains("1 to 64 characters"), "{message}");

    let mut no_sub = post_confirmation("s", "a@example.com", None);
    no_sub["request"]["userAttributes"]
        .as_object_mut()
        .unwrap()
        .remove("sub");
    let missing = handle((&store, &accounts), &[], no_sub, "c")
        .await
        .unwrap_err();
    assert_eq!(missing.kind(), "InvalidTriggerEvent");
    assert!(missing.to_string().contains("sub"), "{missing}");
    let unknown = handle(
        (&store, &accounts),
        &[],
        json!({"triggerSource": "CustomMessage_SignUp"}),
        "c",
    )
    .await;
    assert!(matches!(unknown, Err(TriggerError::Unknown(_))));
}

#[tokio::test]
async fn erasure_confirmations_add_up_once_each_and_publish_nothing() {
    let conf = shared().sdk_config().await;
    let table = unique("users");
    create_service_table(&conf, &table).await;
    let store = Store::new(aws_sdk_dynamodb::Client::new(&conf), &table);
    store.confirm_erasure("u-9", "todos").await.unwrap();
    store.confirm_erasure("u-9", "todos").await.unwrap();
    let mut confirmed = store.confirm_erasure("u-9", "campaigns").await.unwrap();
    confirmed.sort();
    assert_eq!(confirmed, ["campaigns", "todos"]);
    for record in devstack_emulator::read_stream(&conf, &table).await {
        assert_eq!(users::publisher::events_for(&record).unwrap(), Vec::new());
    }
}
