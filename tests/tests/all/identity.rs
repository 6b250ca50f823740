//! Sign-up as a person meets it, through the local cloud's Cognito front:
//! the user pool's triggers (the users service's `users-identity`) refuse
//! what the product refuses and register whoever is confirmed, once.

use std::time::Duration;

use devstack_client::walkthrough::{Client, PASSWORD, token_named};
use kit::json_protocol::{COGNITO_IDP, JsonApi};
use reqwest::Method;
use serde_json::{Value, json};

use crate::e2e::{cloud, sdk, unique_email};
use crate::flow::{Flow, of};
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
