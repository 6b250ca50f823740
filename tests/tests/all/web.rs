//! The web app's journeys in a real browser, against the local cloud: the
//! app it serves, Cognito's API on the emulator, the HTTP APIs through the
//! gateway, uploads straight to S3, and pushes over the WebSocket API.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::e2e::mint_for;
use crate::support::base64url_decode;
use crate::support::{cloud, unique_email};
use devstack_testkit::Browser;
use kit::signed::json_protocol::JsonApi;

const PASSWORD: &str = "Str0ng!passw0rd";
const PUSH: Duration = Duration::from_secs(20);
/// The emulator's tokens live an hour; a lead just short of that makes the
/// app renew a few seconds after signing in (and every few seconds after).
const RENEW_BEFORE_SECONDS: u64 = 3600 - 6;
const SIGN_IN_VIEW: &str =
    "return !document.querySelector('#auth').hidden && document.querySelector('#app').hidden;";

fn web_url() -> String {
    cloud().endpoints.web_url.as_str().to_owned()
}

/// A number the page exposes on `window` for tests (0 if unset).
async fn counter(b: &Browser, name: &str) -> u64 {
    let v = b
        .client
        .execute(&format!("return window.{name} || 0;"), vec![])
        .await
        .unwrap();
    v.as_u64().unwrap()
}

fn seconds_left(jwt: &str) -> i64 {
    let payload: Value =
        serde_json::from_slice(&base64url_decode(jwt.split('.').nth(1).unwrap())).unwrap();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    payload["exp"].as_i64().unwrap() - now.as_secs() as i64
}

/// One call of Cognito's user-pool API through the local cloud's front
/// (which plays the pool's triggers), as the app makes it: the HTTP
/// status and the body.
pub(crate) async fn cognito(operation: &str, body: Value) -> (u16, Value) {
    cognito_front(
        &format!("AWSCognitoIdentityProviderService.{operation}"),
        body,
    )
    .await
}

/// One of Cognito's JSON 1.1 calls (the user pool's or the identity
/// pool's), unsigned as a browser makes it, at the local cloud's front.
pub(crate) async fn cognito_front(target: &str, body: Value) -> (u16, Value) {
    let res = reqwest::Client::new()
        .post(cloud().endpoints.cognito_url.as_str())
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", target)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn refresh(refresh_token: &str) -> (u16, Value) {
    cognito(
        "InitiateAuth",
        json!({
            "AuthFlow": "REFRESH_TOKEN_AUTH",
            "ClientId": cloud().endpoints.client_id,
            "AuthParameters": { "REFRESH_TOKEN": refresh_token },
        }),
    )
    .await
}

/// TOTP turned on for the user of `access_token` (the emulator accepts
/// any code unless told to check them).
async fn turn_on_totp(access_token: &str) {
    for (operation, body) in [
        (
            "AssociateSoftwareToken",
            json!({ "AccessToken": access_token }),
        ),
        (
            "VerifySoftwareToken",
            json!({ "AccessToken": access_token, "UserCode": "123456" }),
        ),
        (
            "SetUserMFAPreference",
            json!({
                "AccessToken": access_token,
                "SoftwareTokenMfaSettings": { "Enabled": true, "PreferredMfa": true },
            }),
        ),
    ] {
        let (status, body) = cognito(operation, body).await;
        assert_eq!(status, 200, "{operation}: {body}");
    }
}

#[tokio::test]
async fn sign_up_create_upload_complete_and_see_the_congratulation_live() {
    let ada = Browser::start().await;
    let email = unique_email("web-ada");
    ada.sign_up(&web_url(), "Ada", &email, PASSWORD).await;
    assert_eq!(ada.text("#whoami").await, email);
    ada.live().await;
    // The profile made on first sign-in is welcomed, pushed live.
    ada.wait_for("#notifications li.notification[data-kind=welcome]", PUSH)
        .await;
    ada.screenshot("1-signed-up-and-welcomed").await;

    // The API's own validation, next to the field it names.
    ada.fill("#todo-form-title", &"x".repeat(201)).await;
    ada.click("#todo-form [type=submit]").await;
    let error = ada
        .until(
            "the title's error",
            "return document.querySelector('#todo-form-title-error').textContent.trim();",
            Duration::from_secs(10),
        )
        .await;
    assert!(
        error.as_str().unwrap().contains("200 characters"),
        "the API's own message, at the field it names: {error}"
    );
    assert_eq!(
        ada.client
            .execute(
                "return document.querySelector('#todo-form-title').getAttribute('aria-invalid');",
                vec![]
            )
            .await
            .unwrap(),
        "true"
    );
    ada.screenshot("2-validation-error-at-the-field").await;

    ada.fill("#todo-form-title", "Write the report").await;
    ada.click("#todo-form [type=submit]").await;
    let todo = ada
        .wait_for("#todos li.todo[data-todo-id]", Duration::from_secs(10))
        .await;
    let todo_id = todo.attr("data-todo-id").await.unwrap().unwrap();
    assert!(ada.text(".todo-title").await.contains("Write the report"));

    // An upload straight to S3 with its presigned URL; the S3-triggered
    // check then marks it ready.
    let file = tempfile::Builder::new()
        .prefix("report-")
        .suffix(".txt")
        .tempfile()
        .unwrap();
    std::fs::write(file.path(), "the quarterly report\n".repeat(200)).unwrap();
    let input = ada
        .wait_for(
            &format!("li.todo[data-todo-id='{todo_id}'] input.todo-attach"),
            Duration::from_secs(5),
        )
        .await;
    input
        .send_keys(&file.path().display().to_string())
        .await
        .unwrap();
    ada.wait_for(
        &format!("li.todo[data-todo-id='{todo_id}'] li.attachment[data-status=ready]"),
        PUSH,
    )
    .await;
    ada.screenshot("3-attachment-ready").await;

    // Bob, signed in elsewhere and connected, must see none of Ada's.
    let bob = Browser::start().await;
    bob.sign_up(&web_url(), "Bob", &unique_email("web-bob"), PASSWORD)
        .await;
    bob.live().await;
    bob.wait_for("#notifications li.notification[data-kind=welcome]", PUSH)
        .await;

    // Complete: the congratulation arrives without a reload. A marker on
    // the page survives only if the page is never reloaded.
    ada.mark_document().await;
    ada.click(&format!(
        "li.todo[data-todo-id='{todo_id}'] input.todo-complete"
    ))
    .await;
    let pending = ada
        .client
        .execute(
            &format!(
                "const t = document.querySelector(\"li.todo[data-todo-id='{todo_id}']\"); return t.dataset.pending || '';"
            ),
            vec![],
        )
        .await
        .unwrap();
    ada.screenshot("4-completed-pending").await;
    let congratulation = ada
        .wait_for(
            "#notifications li.notification[data-kind=todo_completed]",
            PUSH,
        )
        .await;
    assert!(
        congratulation
            .text()
            .await
            .unwrap()
            .contains("Write the report")
    );
    assert!(ada.same_document().await, "the page was reloaded");
    // The pending mark, if the push was not already there when it was read,
    // is cleared by the push that answers it.
    assert!(pending == "congratulation" || pending == "", "{pending}");
    ada.until(
        "the pending mark cleared",
        &format!(
            "const t = document.querySelector(\"li.todo[data-todo-id='{todo_id}']\"); return !t.dataset.pending;"
        ),
        Duration::from_secs(5),
    )
    .await;
    ada.screenshot("5-congratulation-live").await;

    // Bob: still only his welcome, and no todos.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let bobs = bob
        .client
        .execute(
            "return [document.querySelectorAll('#notifications li.notification').length, document.querySelectorAll('#todos li.todo').length, document.body.innerText.includes('Write the report')];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(bobs, json!([1, 0, false]), "Bob sees Ada's data");
    bob.screenshot("6-another-user-sees-none-of-it").await;

    // An ID token that expired while the page was closed is renewed on
    // load; one whose refresh token is refused too leads back to sign-in.
    let sub = ada
        .client
        .execute(
            "const s = JSON.parse(localStorage.getItem('todo.session')); const p = s.idToken.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'); return JSON.parse(atob(p)).sub;",
            vec![],
        )
        .await
        .unwrap();
    let expired = mint_for(&cloud().endpoints, "expired", sub.as_str().unwrap());
    let spoil = |refresh_token: Value| {
        ada.client.execute(
            "const s = JSON.parse(localStorage.getItem('todo.session')); s.idToken = arguments[0]; if (arguments[1]) s.refreshToken = arguments[1]; localStorage.setItem('todo.session', JSON.stringify(s)); return true;",
            vec![json!(expired), refresh_token],
        )
    };
    spoil(Value::Null).await.unwrap();
    ada.client.refresh().await.unwrap();
    ada.until(
        "renewed on load by the refresh token",
        &format!(
            "const s = JSON.parse(localStorage.getItem('todo.session')); return !document.querySelector('#app').hidden && s && s.idToken !== '{expired}';"
        ),
        Duration::from_secs(10),
    )
    .await;
    spoil(json!("a-revoked-refresh-token")).await.unwrap();
    ada.client.refresh().await.unwrap();
    ada.until("the sign-in view", SIGN_IN_VIEW, Duration::from_secs(10))
        .await;
    assert!(
        ada.text("#auth-error").await.contains("expired"),
        "the reason is said"
    );
    ada.screenshot("7-expired-session-back-to-sign-in").await;
}

#[tokio::test]
async fn the_session_renews_itself_and_sign_out_revokes_it() {
    let eve = Browser::start().await;
    let url = web_url();
    // Set before signing in: the app reads the lead when it plans a renewal.
    eve.client.goto(&url).await.unwrap();
    eve.client
        .execute(
            "localStorage.setItem('todo.renewBeforeSeconds', arguments[0]); return true;",
            vec![json!(RENEW_BEFORE_SECONDS.to_string())],
        )
        .await
        .unwrap();
    let email = unique_email("web-eve");
    eve.sign_up(&url, "Eve", &email, PASSWORD).await;
    eve.live().await;
    let before = eve.stored_session().await;
    let connects = counter(&eve, "__liveConnects").await;
    eve.until(
        "a renewal",
        "return window.__sessionRenewals >= 1;",
        Duration::from_secs(20),
    )
    .await;

    // Renewed in place: no sign-in, new tokens, the same refresh token.
    assert_eq!(
        eve.client
            .execute(
                "return [document.querySelector('#app').hidden, document.querySelector('#auth').hidden];",
                vec![]
            )
            .await
            .unwrap(),
        json!([false, true]),
        "still signed in"
    );
    let after = eve.stored_session().await;
    let id_token = after["idToken"].as_str().unwrap();
    assert_ne!(after["idToken"], before["idToken"], "a new ID token");
    assert_ne!(after["accessToken"], before["accessToken"]);
    assert_eq!(after["refreshToken"], before["refreshToken"]);
    assert!(seconds_left(id_token) > 3000, "the new ID token is valid");
    // The socket reconnected with it, and the APIs take it.
    eve.until(
        "the socket reconnected",
        &format!(
            "return window.__liveConnects > {connects} && document.querySelector('#live-status').dataset.state === 'open';"
        ),
        PUSH,
    )
    .await;
    eve.fill("#todo-form-title", "After the renewal").await;
    eve.click("#todo-form [type=submit]").await;
    eve.wait_for("#todos li.todo[data-todo-id]", Duration::from_secs(10))
        .await;
    assert!(eve.text(".todo-title").await.contains("After the renewal"));
    eve.screenshot("8-session-renewed-in-place").await;

    // A 429 from the gateway's throttle (stood in for by the page's fetch,
    // once): a calm note, the input kept, and the retry just works.
    eve.client
        .execute(
            "const real = window.fetch; window.fetch = (url, init) => { window.fetch = real; return Promise.resolve(new Response('{\"message\":\"Too Many Requests\"}', { status: 429 })); }; return true;",
            vec![],
        )
        .await
        .unwrap();
    eve.fill("#todo-form-title", "Retried").await;
    eve.click("#todo-form [type=submit]").await;
    let note = eve
        .until(
            "the throttled note",
            "return document.querySelector('#throttled').textContent;",
            Duration::from_secs(5),
        )
        .await;
    assert!(
        note.as_str().unwrap().contains("Too many requests"),
        "{note}"
    );
    assert_eq!(
        eve.client
            .execute(
                "return [document.querySelector('#todo-form-title').value, document.querySelector('#todo-form-error').textContent, document.querySelector('#throttled').getAttribute('role')];",
                vec![]
            )
            .await
            .unwrap(),
        json!(["Retried", "", "status"])
    );
    eve.screenshot("9-throttled-calm-note").await;
    eve.click("#todo-form [type=submit]").await;
    eve.until(
        "the retried to-do, and the note gone",
        "return document.querySelectorAll('#todos li.todo').length === 2 && !document.querySelector('#throttled').textContent;",
        Duration::from_secs(10),
    )
    .await;

    // Sign-out revokes the refresh token (GlobalSignOut), which worked
    // until then, and closes the socket.
    let refresh_token = after["refreshToken"].as_str().unwrap();
    assert_eq!(refresh(refresh_token).await.0, 200);
    turn_on_totp(eve.stored_session().await["accessToken"].as_str().unwrap()).await;
    eve.click("#signout").await;
    eve.until("the sign-in view", SIGN_IN_VIEW, Duration::from_secs(10))
        .await;
    assert_eq!(eve.stored_session().await, Value::Null);
    assert_eq!(
        eve.client
            .execute(
                "return document.querySelector('#live-status').dataset.state;",
                vec![]
            )
            .await
            .unwrap(),
        "closed"
    );
    let (status, body) = refresh(refresh_token).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["__type"]
            .as_str()
            .unwrap_or_default()
            .ends_with("NotAuthorizedException"),
        "{body}"
    );
    eve.screenshot("10-signed-out-and-revoked").await;

    // With TOTP on, signing in asks for the authenticator's code.
    eve.sign_in(&email, PASSWORD).await;
    eve.wait_for("#mfa-form:not([hidden]) #mfa-code", Duration::from_secs(10))
        .await;
    eve.screenshot("11-mfa-code-asked").await;
    eve.fill("#mfa-code", "123456").await;
    eve.click("#mfa-form [type=submit]").await;
    // Signed in again: the app shows who, then loads the todos (the list
    // the sign-out left may still be on the page, so it proves nothing).
    let whoami = format!(
        "return document.querySelector('#whoami').textContent === {}",
        serde_json::to_string(&email).unwrap()
    );
    eve.until("signed in as eve", &whoami, Duration::from_secs(10))
        .await;
    eve.wait_for("#todos li.todo[data-todo-id]", Duration::from_secs(10))
        .await;
}

#[tokio::test]
async fn a_deleted_account_cannot_sign_in_again_and_a_refused_sign_up_says_why() {
    let url = web_url();
    let erin = Browser::start().await;
    let email = unique_email("web-erin");
    erin.sign_up(&url, "Erin", &email, PASSWORD).await;
    erin.click("#delete-account").await;
    erin.client.accept_alert().await.unwrap();
    erin.until(
        "the sign-in view, saying so",
        "return !document.querySelector('#auth').hidden \
         && document.querySelector('#auth-error').textContent.includes('deleted');",
        Duration::from_secs(15),
    )
    .await;
    // The sign-in goes once every service has erased Erin's data.
    crate::identity::gone_from_pool(&email).await;
    erin.sign_in(&email, PASSWORD).await;
    let refused = erin
        .until(
            "the sign-in refused",
            "const e = document.querySelector('#auth-error').textContent; \
             return !e.includes('deleted') && e;",
            Duration::from_secs(15),
        )
        .await;
    assert!(
        erin.client
            .execute("return document.querySelector('#app').hidden;", vec![])
            .await
            .unwrap()
            == true,
        "signed in after deletion: {refused}"
    );
    erin.screenshot("erasure-1-sign-in-refused").await;

    // A sign-up the PreSignUp trigger refuses shows the reason.
    let mallory = Browser::start().await;
    mallory.client.goto(&url).await.unwrap();
    mallory
        .wait_for("#signup-form", Duration::from_secs(10))
        .await;
    mallory.fill("#signup-name", "Mallory").await;
    mallory
        .fill(
            "#signup-email",
            &format!("{}@mailinator.com", uuid::Uuid::new_v4().simple()),
        )
        .await;
    mallory.fill("#signup-password", PASSWORD).await;
    mallory.click("#signup-form [type=submit]").await;
    let said = mallory
        .until(
            "the refusal's reason",
            "return document.querySelector('#auth-error').textContent;",
            Duration::from_secs(10),
        )
        .await;
    assert!(said.as_str().unwrap().contains("not accepted"), "{said}");
}

#[tokio::test]
async fn the_site_is_served_through_the_web_stacks_cloudfront_distribution() {
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("{}{path}", web_url())).send();
    // The default root object, with the security headers policy's headers.
    let root = get("").await.unwrap();
    assert_eq!(root.status(), 200);
    let headers = root.headers().clone();
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    for (name, value) in [
        ("strict-transport-security", "max-age=31536000"),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "SAMEORIGIN"),
        ("referrer-policy", "strict-origin-when-cross-origin"),
    ] {
        assert_eq!(headers[name], value, "{name}");
    }
    assert!(headers["via"].to_str().unwrap().ends_with("(CloudFront)"));
    let page = root.text().await.unwrap();
    assert!(page.contains("signup-form"), "the app's page");
    // A deep link is no object: the origin's 403 becomes the page, 200.
    let deep = get("todos/01a2/attachments").await.unwrap();
    assert_eq!(deep.status(), 200);
    assert_eq!(deep.headers()["x-cache"], "Error from cloudfront");
    assert_eq!(deep.text().await.unwrap(), page);
    // CachingOptimized keeps the page; config.json's behavior never does.
    let again = get("index.html").await.unwrap();
    assert_eq!(again.headers()["x-cache"], "Hit from cloudfront");
    for _ in 0..2 {
        let config = get("config.json").await.unwrap();
        assert_eq!(config.headers()["x-cache"], "Miss from cloudfront");
        let config: Value = config.json().await.unwrap();
        assert_eq!(
            config["userPoolId"],
            cloud().endpoints.user_pool_id.as_str()
        );
    }
    // Only GET and HEAD, as the distribution's default allows.
    let post = http.post(web_url()).send().await.unwrap();
    assert_eq!(post.status(), 403);
}

#[tokio::test]
async fn the_platforms_account_maps_its_apis_on_one_host_and_other_accounts_apis_answer_at_their_own()
 {
    let e = &cloud().endpoints;
    let ada = crate::support::client(&unique_email("one-host")).await;
    let call = |url: String| {
        let token = ada.token.clone();
        async move {
            let res = reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            res.status().as_u16()
        }
    };
    // API Gateway maps only the custom domain's own account's APIs: a
    // team in an account of its own answers at its API's own address
    // (locally the gateway's, every API at its own paths).
    assert_ne!(e.services["todos"].account, kit::config::LOCAL_ACCOUNT);
    for service in repo::SERVICES {
        let s = &e.services[*service];
        let expected = match s.account == kit::config::LOCAL_ACCOUNT {
            true => format!("{}/{service}", e.api_base_url),
            false => e.api_base_url.clone(),
        };
        assert_eq!(s.outputs["ApiUrl"], expected, "{service} in {}", s.account);
    }
    let users = &e.services["users"].outputs["ApiUrl"];
    let todos = &e.services["todos"].outputs["ApiUrl"];
    assert_eq!(call(format!("{users}/users/me")).await, 200);
    assert_eq!(call(format!("{todos}/todos")).await, 200);
    // A base path reaches its own API only.
    assert_eq!(call(format!("{users}/todos")).await, 404);
    // A team in its own account has no base path on the platform's host.
    let notifications = format!("{}/notifications/notifications", e.api_base_url);
    assert_eq!(call(notifications).await, 404);
    // The web app is told the same URLs.
    let config: Value = reqwest::get(format!("{}config.json", web_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config["apis"]["users"], users.as_str());
    assert_eq!(config["apis"]["todos"], todos.as_str());
    // The domain's certificates are in the account (ACM on the emulator).
    let acm = JsonApi::new(
        &crate::support::sdk().await,
        kit::signed::json_protocol::Service {
            name: "acm",
            id: "ACM",
            target: "CertificateManager",
        },
    );
    let listed = acm.call("ListCertificates", &json!({})).await.unwrap();
    let names: Vec<&str> = (listed["CertificateSummaryList"].as_array().unwrap().iter())
        .filter_map(|c| c["DomainName"].as_str())
        .collect();
    for name in ["api.devstack.test", "devstack.test"] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
}
