//! Sign-up as a person meets it, through the local cloud's Cognito front:
//! the user pool's triggers (the users service's `users-identity`) refuse
//! what the product refuses and register whoever is confirmed, once; the
//! pool's admins list every user; a deleted account loses its sign-in
//! once every service has erased it.

use std::collections::BTreeSet;
use std::time::Duration;

use devstack_client::walkthrough::{Client, PASSWORD, eventually, token_for, token_named};
use kit::signed::json_protocol::{COGNITO_IDP, JsonApi};
use reqwest::Method;
use serde_json::{Value, json};

use crate::flow::{Flow, of};
use crate::support::{client, cloud, sdk, unique_email};
use crate::web::cognito;

fn sign_up(email: &str, name: Option<&str>) -> Value {
    let mut attributes = vec![json!({"Name": "email", "Value": email})];
    attributes.extend(name.map(|n| json!({"Name": "name", "Value": n})));
    json!({
        "ClientId": cloud().endpoints.client_id,
        "Username": email,
        "Password": PASSWORD,
        "UserAttributes": attributes,
    })
}

#[tokio::test]
async fn a_refused_sign_up_fails_with_cognitos_own_error_and_leaves_no_user() {
    let email = format!("{}@mailinator.com", uuid::Uuid::new_v4().simple());
    let (status, body) = cognito("SignUp", sign_up(&email, None)).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["__type"], "UserLambdaValidationException", "{body}");
    assert_eq!(
        body["message"],
        "PreSignUp failed with error sign-ups from mailinator.com are not accepted: \
         use an address you will keep."
    );
    let long = "n".repeat(65);
    let (status, body) = cognito("SignUp", sign_up(&unique_email("long"), Some(&long))).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("your name must be 1 to 64 characters"),
        "{body}"
    );
    // The pool never saw the refused person.
    let pool = JsonApi::new(&sdk().await, COGNITO_IDP);
    let read = json!({"UserPoolId": cloud().endpoints.user_pool_id, "Username": email});
    let missing = pool.call("AdminGetUser", &read).await.unwrap_err();
    assert_eq!(missing.kind, "UserNotFoundException", "{missing}");
}

/// An administrator's user (AdminCreateUser, then a permanent password)
/// is never confirmed through PostConfirmation, on AWS as here: their
/// first sign-in makes the profile (PostAuthentication), before the
/// tokens are handed out. The product's sign-up rules hold for them too.
#[tokio::test]
async fn an_administrators_user_has_a_profile_from_the_first_sign_in() {
    let c = cloud();
    let front = JsonApi::new(
        &kit::config::endpoint(&c.endpoints.cognito_url).await,
        COGNITO_IDP,
    );
    let pool = &c.endpoints.user_pool_id;
    let create = |email: &str| {
        json!({
            "UserPoolId": pool, "Username": email, "MessageAction": "SUPPRESS",
            "UserAttributes": [
                {"Name": "email", "Value": email},
                {"Name": "email_verified", "Value": "true"},
            ],
        })
    };
    let refused_domain = format!("{}@mailinator.com", uuid::Uuid::new_v4().simple());
    let refused = front
        .call("AdminCreateUser", &create(&refused_domain))
        .await
        .unwrap_err();
    assert_eq!(refused.kind, "UserLambdaValidationException", "{refused}");

    let email = unique_email("made-by-admin");
    front
        .call("AdminCreateUser", &create(&email))
        .await
        .unwrap();
    let password = json!({
        "UserPoolId": pool, "Username": email, "Password": PASSWORD, "Permanent": true,
    });
    front.call("AdminSetUserPassword", &password).await.unwrap();
    let api = client(&email).await;
    let (status, me) = api.call(Method::GET, "/users/me", None).await.unwrap();
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["email"], email.as_str());
}

#[tokio::test]
async fn a_confirmed_sign_up_registers_once_even_when_cognito_retries_the_trigger() {
    let c = cloud();
    let mut flow = Flow::watch(&c.endpoints).await;
    let email = unique_email("grace");
    let correlation = uuid::Uuid::new_v4().to_string();
    let api = Client {
        http: reqwest::Client::new(),
        base: c.endpoints.api_base_url.clone(),
        token: token_named(&c.endpoints, &email, "Grace", &correlation)
            .await
            .unwrap(),
    };
    let registered = flow
        .await_event(of("UserRegistered", &correlation), Duration::from_secs(20))
        .await;
    assert_eq!(registered["detail"]["data"]["display_name"], "Grace");
    let (_, me) = api.call(Method::GET, "/users/me", None).await.unwrap();
    let sub = me["id"].as_str().unwrap().to_owned();

    // Cognito tries a trigger that timed out twice more, with the same
    // event: here as the Lambda Invoke API takes it.
    let pool = JsonApi::new(&sdk().await, COGNITO_IDP);
    let read = json!({"UserPoolId": c.endpoints.user_pool_id, "Username": email});
    let user = pool.call("AdminGetUser", &read).await.unwrap();
    let attributes: serde_json::Map<String, Value> = (user["UserAttributes"].as_array())
        .unwrap()
        .iter()
        .map(|a| (a["Name"].as_str().unwrap().to_owned(), a["Value"].clone()))
        .collect();
    assert_eq!(attributes["sub"], sub.as_str());
    let event = json!({
        "version": "1", "triggerSource": "PostConfirmation_ConfirmSignUp",
        "region": c.endpoints.region, "userPoolId": c.endpoints.user_pool_id,
        "userName": user["Username"],
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "CLIENT_ID_NOT_APPLICABLE"},
        "request": {"userAttributes": attributes, "clientMetadata": {"correlation_id": correlation}},
        "response": {},
    });
    let function = &c.endpoints.services["users"].functions["IdentityFunction"];
    for _ in 0..2 {
        let res = reqwest::Client::new()
            .post(format!(
                "{}/2015-03-31/functions/{function}/invocations",
                c.endpoints.lambda_endpoint
            ))
            .json(&event)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.headers().get("x-amz-function-error").is_none());
    }

    // A rename after the retries: its event follows any registration the
    // retries wrote on the table's stream, so once it arrives, the count
    // of registrations is final.
    let renamed = uuid::Uuid::new_v4().to_string();
    let (status, after) = api
        .call_correlated(
            Method::PUT,
            "/users/me",
            Some(json!({"display_name": "Grace H."})),
            Some(&renamed),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{after}");
    assert_eq!(after["created_at"], me["created_at"]);
    flow.await_event(of("UserProfileUpdated", &renamed), Duration::from_secs(20))
        .await;
    let registrations = flow.matching(&json!({
        "detail-type": ["UserRegistered"], "detail": {"data": {"user_id": [sub]}},
    }));
    assert_eq!(registrations.len(), 1, "{registrations:#?}");
    flow.close().await;
}

/// A member of the admins group, with a token issued after joining.
async fn admin() -> Client {
    let e = &cloud().endpoints;
    let address = unique_email("admin");
    token_for(e, &address).await.unwrap();
    devstack_cloud::cognito::join_group(e, &address, "admins")
        .await
        .unwrap();
    Client {
        http: reqwest::Client::new(),
        base: e.api_base_url.clone(),
        token: token_for(e, &address).await.unwrap(),
    }
}

#[tokio::test]
async fn admins_list_every_user_a_page_at_a_time_and_nobody_else_may() {
    let someone = client(&unique_email("listed")).await;
    let (_, me) = someone.call(Method::GET, "/users/me", None).await.unwrap();
    let id = me["id"].as_str().unwrap().to_owned();
    let (status, refused) = someone.call(Method::GET, "/users", None).await.unwrap();
    assert_eq!(status, 403, "{refused}");
    assert_eq!(refused["error"]["code"], "forbidden");
    let (status, _) = someone
        .call(Method::GET, "/users?cursor=zz", None)
        .await
        .unwrap();
    assert_eq!(status, 403, "nothing else is told to a non-admin");

    let admin = admin().await;
    let (status, one) = admin
        .call(Method::GET, "/users?limit=1", None)
        .await
        .unwrap();
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["items"].as_array().unwrap().len(), 1, "{one}");
    assert!(one["next_cursor"].is_string(), "more than one user: {one}");

    // Every page, each user once, until the last page says so.
    let mut seen = BTreeSet::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let path = match &cursor {
            Some(c) => format!("/users?limit=100&cursor={c}"),
            None => "/users?limit=100".to_owned(),
        };
        let (status, page) = admin.call(Method::GET, &path, None).await.unwrap();
        assert_eq!(status, 200, "{page}");
        for user in page["items"].as_array().unwrap() {
            assert!(
                seen.insert(user["id"].as_str().unwrap().to_owned()),
                "{user}"
            );
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert!(seen.contains(&id), "the signed-up user is listed");

    for (query, field) in [("cursor=zz", "cursor"), ("limit=0", "limit")] {
        let (status, body) = admin
            .call(Method::GET, &format!("/users?{query}"), None)
            .await
            .unwrap();
        assert_eq!(
            (status, &body["error"]["field"]),
            (400, &json!(field)),
            "{body}"
        );
    }
}

/// Whether the pool still has the user signed up as `email`.
async fn in_pool(email: &str) -> bool {
    let pool = JsonApi::new(&sdk().await, COGNITO_IDP);
    let read = json!({"UserPoolId": cloud().endpoints.user_pool_id, "Username": email});
    match pool.call("AdminGetUser", &read).await {
        Ok(_) => true,
        Err(refused) if refused.kind == "UserNotFoundException" => false,
        Err(refused) => panic!("AdminGetUser: {refused}"),
    }
}

/// Waits until the pool no longer has `email` (every service erased them).
pub(crate) async fn gone_from_pool(email: &str) {
    eventually(
        Duration::from_secs(30),
        "the sign-in's deletion",
        || async { Ok((!in_pool(email).await).then_some(())) },
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_deleted_account_loses_its_sign_in_once_every_service_has_erased_it() {
    let c = cloud();
    let mut flow = Flow::watch(&c.endpoints).await;
    let email = unique_email("erased");
    let api = Client {
        http: reqwest::Client::new(),
        base: c.endpoints.api_base_url.clone(),
        token: token_named(&c.endpoints, &email, "Erin", "erin-signup")
            .await
            .unwrap(),
    };
    let (status, _) = api
        .call(Method::POST, "/todos", Some(json!({"title": "mine"})))
        .await
        .unwrap();
    assert_eq!(status, 201);
    let (_, me) = api.call(Method::GET, "/users/me", None).await.unwrap();
    let deletion = uuid::Uuid::new_v4().to_string();
    let (status, _) = api
        .call_correlated(Method::DELETE, "/users/me", None, Some(&deletion))
        .await
        .unwrap();
    assert_eq!(status, 204);

    // Each service that held Erin's data says so, answering UserDeleted.
    let deleted = flow
        .await_event(of("UserDeleted", &deletion), Duration::from_secs(20))
        .await;
    for source in ["app.todos", "app.notifications", "app.campaigns"] {
        let erased = flow
            .await_event(
                json!({"source": [source], "detail-type": ["UserDataErased"],
                       "detail": {"metadata": {"correlation_id": [&deletion]}}}),
                Duration::from_secs(20),
            )
            .await;
        assert_eq!(erased["detail"]["data"]["user_id"], me["id"], "{erased}");
        assert_eq!(
            erased["detail"]["metadata"]["causation_id"],
            deleted["detail"]["metadata"]["event_id"]
        );
    }
    flow.close().await;
    gone_from_pool(&email).await;
    // Erin's ID token lives on for its hour: it writes nothing anywhere.
    for (path, body) in [
        ("/todos", json!({"title": "after"})),
        ("/users/me", json!({"display_name": "Erin"})),
    ] {
        let method = if path == "/todos" {
            Method::POST
        } else {
            Method::PUT
        };
        let (status, refused) = api.call(method, path, Some(body)).await.unwrap();
        assert_eq!(status, 409, "{path}: {refused}");
        assert_eq!(refused["error"]["code"], "account_deleted", "{path}");
    }
    let (_, left) = api.call(Method::GET, "/todos", None).await.unwrap();
    assert_eq!(left["items"], json!([]), "{left}");
    let sign_in = json!({
        "ClientId": c.endpoints.client_id, "AuthFlow": "USER_PASSWORD_AUTH",
        "AuthParameters": {"USERNAME": email, "PASSWORD": PASSWORD},
    });
    let (status, refused) = cognito("InitiateAuth", sign_in).await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        ["NotAuthorizedException", "UserNotFoundException"]
            .contains(&refused["__type"].as_str().unwrap_or_default()),
        "{refused}"
    );
}

/// A forgotten password's code goes to the user's inbox only: the
/// engine's answer names it in a header of its own, which the Cognito
/// front never hands to the caller.
#[tokio::test]
async fn a_forgotten_passwords_code_never_comes_back_to_the_caller() {
    let c = cloud();
    let email = unique_email("forgot");
    client(&email).await;
    let answer = reqwest::Client::new()
        .post(&c.endpoints.cognito_url)
        .header("content-type", "application/x-amz-json-1.1")
        .header(
            "x-amz-target",
            "AWSCognitoIdentityProviderService.ForgotPassword",
        )
        .body(json!({"ClientId": c.endpoints.client_id, "Username": email}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let engines: Vec<&str> = (answer.headers().keys())
        .map(|k| k.as_str())
        .filter(|k| k.starts_with("x-moto-"))
        .collect();
    assert!(engines.is_empty(), "{engines:?}");
}
