//! The campaigns flow end to end on a local cloud of its own (a campaign
//! goes to every registered user, which would add notifications to the
//! other tests' users): the admin API, the state machine on moto's
//! interpreter with the real function binaries as its tasks, the sender's
//! stand-in and its signed webhook, the secrets in SSM and Secrets
//! Manager, and the notifications each recipient gets.

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Duration;

use devstack_client::walkthrough::{Client, eventually};
use devstack_cloud::{Detached, Options, Override};
use kit::signed::json_protocol::{COGNITO_IDP, JsonApi};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::support::{base64url_decode, client_for, kept_cloud, sdk_for, test_cloud, unique_email};
use devstack_testkit::Browser;

/// How long the flow waits for each status from the sender here: a silent
/// sender fails its campaign after this.
const WAIT_TIMEOUT_SECONDS: u64 = 8;

fn cloud() -> &'static Detached {
    static CLOUD: OnceLock<Detached> = OnceLock::new();
    kept_cloud(&CLOUD, || Options {
        // Info: the deliverer's line per push (`sent`, `gone`) is what
        // tells which user a lost live push was for, in a failing
        // test's tail of the functions' logs.
        function_env: vec![("RUST_LOG".into(), "info".into())],
        parameter_overrides: vec![Override {
            stack: "campaigns".into(),
            parameter: "WaitTimeoutSeconds".into(),
            value: WAIT_TIMEOUT_SECONDS.to_string(),
        }],
        ..test_cloud()
    })
}

/// One campaign at a time: each goes to the whole audience, and the key
/// rotation must not meet another campaign's send half-way.
async fn one_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: OnceLock<Mutex<()>> = OnceLock::new();
    LOCK.get_or_init(|| Mutex::new(())).lock().await
}

/// The platform's administrator (the user pool).
async fn sdk() -> aws_config::SdkConfig {
    sdk_for(cloud()).await
}

/// The administrator of the campaigns team's account.
async fn campaigns_sdk() -> aws_config::SdkConfig {
    crate::support::sdk_of(cloud(), "campaigns").await
}

async fn client(email: &str) -> Client {
    client_for(cloud(), email).await
}

/// A signed-up user, whose profile (made at the confirmation) puts them
/// in the audience; returns their client and id.
async fn registered(tag: &str) -> (Client, String) {
    let c = client(&unique_email(tag)).await;
    let (status, me) = c.call(Method::GET, "/users/me", None).await.unwrap();
    assert_eq!(status, 200, "{me}");
    (c, me["id"].as_str().unwrap().to_owned())
}

/// An admin: in the `admins` group, with a token issued after joining.
async fn admin() -> Client {
    let address = unique_email("admin");
    client(&address).await;
    let endpoints = &cloud().endpoints;
    let cognito = JsonApi::new(&sdk().await, COGNITO_IDP);
    devstack_cloud::cognito::add_to_group(&cognito, &endpoints.user_pool_id, &address, "admins")
        .await
        .unwrap();
    client(&address).await
}

/// Waits until the campaigns service's audience holds these users.
async fn in_audience(users: &[&str]) {
    let table = cloud().endpoints.services["campaigns"].table.clone();
    let dynamo = aws_sdk_dynamodb::Client::new(&campaigns_sdk().await);
    eventually(Duration::from_secs(20), "the users in the audience", || {
        let (dynamo, table) = (dynamo.clone(), table.clone());
        async move {
            let mut present = 0;
            for user in users {
                let got = dynamo
                    .get_item()
                    .table_name(&table)
                    .key(
                        "pk",
                        aws_sdk_dynamodb::types::AttributeValue::S("AUDIENCE".into()),
                    )
                    .key(
                        "sk",
                        aws_sdk_dynamodb::types::AttributeValue::S(format!("USER#{user}")),
                    )
                    .send()
                    .await?;
                present += usize::from(got.item.is_some());
            }
            Ok((present == users.len()).then_some(()))
        }
    })
    .await
    .unwrap();
}

async fn start(admin: &Client, subject: &str) -> String {
    let body = json!({"subject": subject, "body": "Shared lists are here."});
    let (status, c) = admin
        .call(Method::POST, "/campaigns", Some(body))
        .await
        .unwrap();
    assert_eq!(status, 202, "{c}");
    c["id"].as_str().unwrap().to_owned()
}

/// The campaign once it ended (delivered or failed).
async fn ended(admin: &Client, id: &str) -> Value {
    let path = format!("/campaigns/{id}");
    eventually(Duration::from_secs(30), "the campaign to end", || {
        let path = path.clone();
        async move {
            let (_, c) = admin.call(Method::GET, &path, None).await?;
            let done = matches!(c["status"].as_str(), Some("delivered" | "failed"));
            Ok(done.then_some(c))
        }
    })
    .await
    .unwrap()
}

/// The execution's history (the execution is named by the campaign id).
async fn history(id: &str) -> Vec<aws_sdk_sfn::types::HistoryEvent> {
    let sfn = aws_sdk_sfn::Client::new(&campaigns_sdk().await);
    let machines = sfn.list_state_machines().send().await.unwrap();
    let machine = machines.state_machines()[0].state_machine_arn();
    let execution = machine.replace(":stateMachine:", ":execution:") + ":" + id;
    let done = eventually(Duration::from_secs(20), "the execution to end", || {
        let (sfn, execution) = (sfn.clone(), execution.clone());
        async move {
            let d = sfn
                .describe_execution()
                .execution_arn(&execution)
                .send()
                .await?;
            let running = d.status == aws_sdk_sfn::types::ExecutionStatus::Running;
            Ok((!running).then_some(()))
        }
    });
    done.await.unwrap();
    let out = sfn
        .get_execution_history()
        .execution_arn(execution)
        .max_results(1000)
        .send()
        .await
        .unwrap();
    out.events
}

/// The states entered, in order.
fn entered(events: &[aws_sdk_sfn::types::HistoryEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| e.state_entered_event_details())
        .map(|d| d.name.clone())
        .collect()
}

fn steps(c: &Value) -> Vec<&str> {
    c["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect()
}

/// Each user's notifications of kind `campaign` whose message starts with
/// the subject.
async fn campaign_notifications(users: &[&Client], subject: &str) -> Vec<usize> {
    let mut counts = Vec::new();
    for u in users {
        counts.push(campaign_links(u, subject).await.len());
    }
    counts
}

/// The links of a user's campaign notifications whose message starts
/// with the subject.
async fn campaign_links(user: &Client, subject: &str) -> Vec<Value> {
    let (_, list) = user
        .call(Method::GET, "/notifications", None)
        .await
        .unwrap();
    (list["items"].as_array().unwrap().iter())
        .filter(|n| n["kind"] == "campaign" && n["message"].as_str().unwrap().starts_with(subject))
        .map(|n| n["link"].clone())
        .collect()
}

/// A page of the site, through the local CloudFront: its status, its
/// `x-cache`, its content security policy and its text.
async fn through_the_cdn(path: &str) -> (u16, String, String, String) {
    let url = format!(
        "{}{}",
        cloud().endpoints.web_url,
        path.trim_start_matches('/')
    );
    let answer = reqwest::get(url).await.unwrap();
    let header = |name: &str| {
        (answer.headers().get(name))
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (cache, policy) = (header("x-cache"), header("content-security-policy"));
    let status = answer.status().as_u16();
    (status, cache, policy, answer.text().await.unwrap())
}

async fn sender_stats() -> BTreeMap<String, u64> {
    let url = format!("{}/_sandbox/stats", cloud().endpoints.sender_url);
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn a_campaign_reaches_every_recipient_once_and_its_history_shows_each_state() {
    let (ada, ada_id) = registered("ada").await;
    let (bob, bob_id) = registered("bob").await;
    in_audience(&[&ada_id, &bob_id]).await;
    let admin = admin().await;
    let _one = one_at_a_time().await;
    let subject = format!("Spring {}", uuid::Uuid::new_v4().simple());
    let id = start(&admin, &subject).await;
    let c = ended(&admin, &id).await;
    assert_eq!(c["status"], "delivered", "{c}");
    assert_eq!(
        steps(&c),
        [
            "submitted",
            "accepted",
            "sender: sending",
            "sender: sent",
            "delivered"
        ]
    );
    let states = entered(&history(&id).await);
    assert_eq!(
        states,
        ["Send", "Wait", "SentYet", "Wait", "SentYet", "Deliver"],
        "the flow loops once: sending, then sent"
    );
    eventually(
        Duration::from_secs(20),
        "a notification for each recipient",
        || {
            let (ada, bob, subject) = (&ada, &bob, subject.clone());
            async move {
                let counts = campaign_notifications(&[ada, bob], &subject).await;
                Ok((counts == [1, 1]).then_some(()))
            }
        },
    )
    .await
    .unwrap();
    let c = ended(&admin, &id).await;
    assert!(c["recipients"].as_u64().unwrap() >= 2, "{c}");
    let link = format!("/view/{id}");
    assert_eq!(campaign_links(&ada, &subject).await, [json!(link)]);
    let (status, _, _, page) = through_the_cdn(&link).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(&subject) && page.contains("Sent"), "{page}");
    for recipient in [&ada_id, &bob_id] {
        assert!(
            !page.contains(recipient.as_str()),
            "the page names a recipient: {page}"
        );
    }
}

#[tokio::test]
async fn a_campaigns_page_is_escaped_kept_by_the_cdn_and_invalidated_when_the_campaign_changes() {
    let admin = admin().await;
    let _one = one_at_a_time().await;
    // A silent sender: the campaign stays "being sent" until the flow's
    // wait times out (WAIT_TIMEOUT_SECONDS) and fails it.
    let subject = "<script>alert('page')</script> Gone quiet [sandbox:silent]";
    let id = start(&admin, subject).await;
    let path = format!("/view/{id}");
    let (status, cache, policy, page) = through_the_cdn(&path).await;
    assert_eq!(
        (status, cache.as_str()),
        (200, "Miss from cloudfront"),
        "{page}"
    );
    assert!(page.contains("Being sent"), "{page}");
    assert!(
        !page.contains("<script>"),
        "the subject ran as markup: {page}"
    );
    assert!(
        page.contains("&lt;script&gt;alert(&#39;page&#39;)&lt;/script&gt;"),
        "{page}"
    );
    assert!(policy.starts_with("default-src 'none'"), "{policy}");
    let (_, cache, _, again) = through_the_cdn(&path).await;
    assert_eq!(cache, "Hit from cloudfront");
    assert_eq!(again, page);
    // Kept a day by the CDN: only the invalidation the change causes shows
    // the campaign's end.
    let ended = eventually(
        Duration::from_secs(WAIT_TIMEOUT_SECONDS + 20),
        "the page to show the campaign was not sent",
        || {
            let path = path.clone();
            async move {
                let (_, cache, _, page) = through_the_cdn(&path).await;
                Ok(page.contains("Not sent").then_some(cache))
            }
        },
    )
    .await
    .unwrap();
    assert_eq!(ended, "Miss from cloudfront");
    let (_, cache, _, _) = through_the_cdn(&path).await;
    assert_eq!(
        cache, "Hit from cloudfront",
        "kept again after the invalidation"
    );
    let (status, _, _, _) = through_the_cdn("/view/not-a-campaign").await;
    assert_eq!(
        status, 200,
        "no campaign: the app's own page, as the SPA error response says"
    );
}

#[tokio::test]
async fn a_sender_that_fails_twice_is_retried_and_sends_once() {
    let admin = admin().await;
    let (_, user) = registered("retry").await;
    in_audience(&[&user]).await;
    let _one = one_at_a_time().await;
    let id = start(&admin, "Retried [sandbox:5xx=2]").await;
    let c = ended(&admin, &id).await;
    assert_eq!(c["status"], "delivered", "{c}");
    let events = history(&id).await;
    let failed: Vec<String> = events
        .iter()
        .filter_map(|e| e.task_failed_event_details())
        .map(|d| d.error.clone().unwrap_or_default())
        .collect();
    assert_eq!(failed, ["Sender.Unavailable", "Sender.Unavailable"]);
    assert_eq!(
        entered(&events)[0],
        "Send",
        "retried inside the one Send state"
    );
    let listing: Value = reqwest::get(format!(
        "{}/_sandbox/campaigns",
        cloud().endpoints.sender_url
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let ours: Vec<&Value> = listing["campaigns"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["reference"] == id.as_str())
        .collect();
    assert_eq!(ours.len(), 1, "sent once: {listing}");
}

#[tokio::test]
async fn a_campaign_the_sender_fails_ends_failed_with_the_reason_and_notifies_nobody() {
    let admin = admin().await;
    let (u, user) = registered("failed").await;
    in_audience(&[&user]).await;
    let _one = one_at_a_time().await;
    let subject = format!("Doomed {} [sandbox:fail]", uuid::Uuid::new_v4().simple());
    let id = start(&admin, &subject).await;
    let c = ended(&admin, &id).await;
    assert_eq!(c["status"], "failed", "{c}");
    assert!(c["reason"].as_str().unwrap().contains("rejected"), "{c}");
    assert!(entered(&history(&id).await).contains(&"Failure".to_owned()));
    assert_eq!(campaign_notifications(&[&u], &subject).await, [0]);
}

#[tokio::test]
async fn a_silent_sender_times_the_wait_out_and_the_campaign_fails_saying_so() {
    let admin = admin().await;
    let (_, user) = registered("silent").await;
    in_audience(&[&user]).await;
    let _one = one_at_a_time().await;
    let id = start(&admin, "Nobody home [sandbox:silent]").await;
    let c = ended(&admin, &id).await;
    assert_eq!(c["status"], "failed", "{c}");
    assert!(c["reason"].as_str().unwrap().contains("went silent"), "{c}");
    let timed_out = history(&id)
        .await
        .iter()
        .any(|e| e.task_timed_out_event_details().is_some());
    assert!(timed_out, "the Wait task timed out");
}

#[tokio::test]
async fn a_status_that_arrives_before_the_token_is_stored_still_completes_the_flow() {
    let admin = admin().await;
    let (_, user) = registered("fast").await;
    in_audience(&[&user]).await;
    let _one = one_at_a_time().await;
    let id = start(&admin, "Quick [sandbox:fast] [sandbox:duplicate]").await;
    let c = ended(&admin, &id).await;
    assert_eq!(c["status"], "delivered", "{c}");
    let reports = steps(&c)
        .iter()
        .filter(|s| s.starts_with("sender:"))
        .count();
    assert_eq!(
        reports, 2,
        "sending and sent, each once despite duplicates: {c}"
    );
}

#[tokio::test]
async fn a_rotated_api_key_costs_one_401_and_one_refetch_and_no_campaign() {
    let admin = admin().await;
    let (_, user) = registered("rotate").await;
    in_audience(&[&user]).await;
    let _one = one_at_a_time().await;
    // A campaign first, so the send step holds the current key.
    let first = start(&admin, "Before the rotation").await;
    assert_eq!(ended(&admin, &first).await["status"], "delivered");
    let before = sender_stats().await;
    let rotated: Value = reqwest::Client::new()
        .post(format!(
            "{}/_sandbox/api-key/rotate",
            cloud().endpoints.sender_url
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    devstack_cloud::sender::put_api_key(
        &campaigns_sdk().await,
        "/campaigns/sender-api-key",
        rotated["api_key"].as_str().unwrap(),
    )
    .await
    .unwrap();
    let second = start(&admin, "After the rotation").await;
    let c = ended(&admin, &second).await;
    assert_eq!(c["status"], "delivered", "{c}");
    let after = sender_stats().await;
    assert_eq!(
        after["unauthorized"] - before["unauthorized"],
        1,
        "{before:?} {after:?}"
    );
    assert_eq!(after["accepted"] - before["accepted"], 1);
}

#[tokio::test]
async fn a_webhook_without_a_valid_signature_is_401_before_any_function_changes_anything() {
    let url = format!("{}/campaigns/webhook", cloud().endpoints.api_base_url);
    let http = reqwest::Client::new();
    let body = json!({"delivery_id": uuid::Uuid::new_v4(), "campaign_id": "cmp_x",
        "reference": uuid::Uuid::now_v7(), "status": "sent", "occurred_at": chrono::Utc::now()});
    let unsigned = http.post(&url).json(&body).send().await.unwrap();
    assert_eq!(unsigned.status(), 401);
    let forged = http
        .post(&url)
        .header(
            "sender-timestamp",
            chrono::Utc::now().timestamp().to_string(),
        )
        .header("sender-signature", "v1=00ff")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    let anyone = client(&unique_email("nobody")).await;
    for (method, path) in [(Method::POST, "/campaigns"), (Method::GET, "/campaigns")] {
        let body = (method == Method::POST).then(|| json!({"subject": "s", "body": "b"}));
        let (status, _) = anyone.call(method, path, body).await.unwrap();
        assert_eq!(status, 403, "{path}");
    }
}

/// The user the page is signed in as: the `sub` of its stored ID token.
async fn signed_in_user(b: &Browser) -> String {
    let session = b.stored_session().await;
    let payload = session["idToken"]
        .as_str()
        .unwrap()
        .split('.')
        .nth(1)
        .unwrap();
    let claims: Value = serde_json::from_slice(&base64url_decode(payload)).unwrap();
    claims["sub"].as_str().unwrap().to_owned()
}

async fn admin_page_hidden(b: &Browser) -> bool {
    let hidden = b
        .client
        .execute(
            "return document.querySelector('#campaigns-admin').hidden;",
            vec![],
        )
        .await
        .unwrap();
    hidden == true
}

const PASSWORD: &str = "Str0ng!passw0rd";

#[tokio::test]
async fn an_admin_starts_a_campaign_in_the_browser_and_watches_it_while_a_recipient_sees_it_arrive_live()
 {
    let web = cloud().endpoints.web_url.clone();
    let rita = Browser::start().await;
    rita.sign_up(&web, "Rita", &unique_email("rita"), PASSWORD)
        .await;
    rita.live().await;
    assert!(
        admin_page_hidden(&rita).await,
        "not an admin: no campaigns page"
    );

    let ada = Browser::start().await;
    let ada_email = unique_email("ada-admin");
    ada.sign_up(&web, "Ada", &ada_email, PASSWORD).await;
    assert!(admin_page_hidden(&ada).await, "not an admin yet");
    let cognito = JsonApi::new(&sdk().await, COGNITO_IDP);
    let pool = &cloud().endpoints.user_pool_id;
    devstack_cloud::cognito::add_to_group(&cognito, pool, &ada_email, "admins")
        .await
        .unwrap();
    // The group is in the ID tokens issued from now on: sign in again.
    ada.click("#signout").await;
    ada.sign_in(&ada_email, PASSWORD).await;
    ada.wait_for(
        "#campaigns-admin:not([hidden]) #campaign-form",
        Duration::from_secs(15),
    )
    .await;
    in_audience(&[&signed_in_user(&rita).await, &signed_in_user(&ada).await]).await;
    // The admin page lists the users too (`GET /users`), Rita among them
    // (or on a later page); Rita's own page has no such list.
    let rita_id = signed_in_user(&rita).await;
    let listed = format!(
        "const more = document.querySelector('#users-more'); \
         if (document.querySelector('#users li.user[data-user-id=\"{rita_id}\"]')) return true; \
         if (!more.hidden) more.click(); return false;"
    );
    ada.until("Rita in the users list", &listed, Duration::from_secs(20))
        .await;
    let rita_sees = rita
        .client
        .execute(
            "return document.querySelector('#users-admin').hidden;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(rita_sees, true, "no users list for a non-admin");

    // The API's own validation, next to the field it names.
    ada.click("#campaign-form [type=submit]").await;
    ada.until(
        "the subject's error, at the field",
        "return document.querySelector('#campaign-form-subject-error').textContent.trim();",
        Duration::from_secs(10),
    )
    .await;

    let _one = one_at_a_time().await;
    ada.mark_document().await;
    rita.mark_document().await;
    let subject = format!(
        "Shared lists {}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    ada.fill("#campaign-form-subject", &subject).await;
    ada.fill("#campaign-form-body", "Lists you can share, from today.")
        .await;
    ada.click("#campaign-form [type=submit]").await;
    // Every status the page shows, until it says delivered.
    let mut shown: Vec<String> = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while shown.last().map(String::as_str) != Some("delivered") {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the page did not show the campaign delivered within 30 s; it showed {shown:?}"
        );
        let status = ada
            .client
            .execute(
                "const c = document.querySelector('li.campaign'); return c && c.querySelector('h3').textContent === arguments[0] ? c.dataset.status : null;",
                vec![Value::from(subject.as_str())],
            )
            .await
            .unwrap();
        if let Some(s) = status.as_str()
            && shown.last().map(String::as_str) != Some(s)
        {
            shown.push(s.to_owned());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        shown.len() >= 2 && shown[0] != "delivered",
        "the status changed on the page: {shown:?}"
    );
    let history = ada.text("li.campaign .campaign-steps").await;
    for step in ["submitted", "sender: sent", "delivered"] {
        assert!(history.contains(step), "{step} in the history: {history}");
    }
    assert!(
        ada.text("li.campaign .campaign-recipients")
            .await
            .contains("recipient")
    );
    ada.screenshot("campaigns-1-admin-delivered").await;

    let arrived = "return [...document.querySelectorAll('#notifications li.notification[data-kind=campaign]')].some(n => n.textContent.includes(arguments[0]));";
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let v = rita
            .client
            .execute(arrived, vec![Value::from(subject.as_str())])
            .await
            .unwrap();
        if v == true {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the recipient's notification did not arrive within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    rita.screenshot("campaigns-2-recipient-notified").await;
    // Pushed live with its "view in browser" link, a page of the same site.
    let link = rita
        .client
        .execute(
            "const n = [...document.querySelectorAll('#notifications li.notification[data-kind=campaign]')].find(n => n.textContent.includes(arguments[0])); const a = n && n.querySelector('a.notification-link'); return a ? a.getAttribute('href') : null;",
            vec![Value::from(subject.as_str())],
        )
        .await
        .unwrap();
    let link = link.as_str().expect("a View in browser link").to_owned();
    assert!(link.starts_with("/view/"), "{link}");
    let (status, _, _, page) = through_the_cdn(&link).await;
    assert_eq!(status, 200);
    assert!(page.contains(&subject), "{page}");
    assert!(
        rita.same_document().await,
        "the recipient's page was not reloaded"
    );
    assert!(
        ada.same_document().await,
        "the admin's page was not reloaded"
    );
}

/// The console draws the campaign's execution as its graph: the Wait task
/// shown waiting on its token while the silent sender says nothing, then
/// the graph at its final state once the wait times out.
#[tokio::test(flavor = "multi_thread")]
async fn the_console_draws_a_campaigns_execution_waiting_on_its_token_then_at_its_end() {
    let admin = admin().await;
    let (_, user) = registered("drawn").await;
    in_audience(&[&user]).await;
    let _one = one_at_a_time().await;
    // The console is open before the campaign starts: the Wait task waits
    // only WAIT_TIMEOUT_SECONDS, and a browser starting and loading the
    // page under load took most of them (4.7 s of 8 with the cores
    // oversubscribed fourfold; the waiting state then drawn 5.8 s after
    // the start, against 2.9 s with the page open first).
    let browser = Browser::start().await;
    browser.client.set_window_size(1600, 1100).await.unwrap();
    browser
        .client
        .goto(&cloud().endpoints.console_url)
        .await
        .unwrap();
    let id = start(&admin, "Drawn live [sandbox:silent]").await;
    // Picked in one script: the list redraws every two seconds.
    let pick = format!(
        "const b = document.querySelector('#executions-list button[data-name=\"{id}\"]'); if (b) b.click(); return !!b;"
    );
    browser
        .until(
            "the campaign's execution listed",
            &pick,
            Duration::from_secs(20),
        )
        .await;
    let state = |name: &str| {
        format!(
            "(document.querySelector('#execution-graph g.state[data-name=\"{name}\"]')?.dataset.status ?? null)"
        )
    };
    let status_of = |name: &str| format!("return {};", state(name));
    browser
        .until_is(
            "the Wait task shown waiting on its token",
            &status_of("Wait"),
            "waiting".into(),
            Duration::from_secs(20),
        )
        .await;
    assert_eq!(
        browser
            .client
            .execute(&status_of("Send"), vec![])
            .await
            .unwrap(),
        "done"
    );
    // No state over another, and nothing past the view.
    let drawn = browser
        .drawn("#execution-graph > svg", "g.state > rect")
        .await;
    assert!(drawn["boxes"].as_u64().unwrap() >= 4, "{drawn}");
    assert_eq!(drawn["overlaps"], serde_json::json!([]), "{drawn}");
    assert_eq!(drawn["outside"], serde_json::json!([]), "{drawn}");
    assert_eq!(drawn["past_window"], serde_json::json!([]), "{drawn}");
    browser.scroll_to("#executions").await;
    browser.screenshot("console-execution-waiting").await;
    browser
        .until_is(
            "the execution at its end",
            "return document.querySelector('#execution-status').dataset.status ?? null;",
            "FAILED".into(),
            Duration::from_secs(30),
        )
        .await;
    assert_eq!(
        browser
            .client
            .execute(&status_of("Failure"), vec![])
            .await
            .unwrap(),
        "done",
        "the task that records the reason"
    );
    assert_eq!(
        browser
            .client
            .execute(&status_of("Failed"), vec![])
            .await
            .unwrap(),
        "failed"
    );
    assert_eq!(
        browser
            .client
            .execute(&status_of("Deliver"), vec![])
            .await
            .unwrap(),
        "",
        "drawn, never entered"
    );
    browser
        .client
        .execute(
            "document.querySelector('#execution-graph g.state[data-name=\"Wait\"]').dispatchEvent(new MouseEvent('click'));",
            vec![],
        )
        .await
        .unwrap();
    let step = browser.text("#execution-step").await;
    assert!(
        step.contains("TimedOut") && step.contains("a task token handed out"),
        "{step}"
    );
    // The lines the Wait task's function logged while it ran.
    let logged = browser
        .until(
            "the Wait task's function logs",
            "const l = document.querySelector('#execution-step .logs'); return l && l.querySelector('pre').textContent.includes('trace_id') && l.dataset.function;",
            Duration::from_secs(10),
        )
        .await;
    assert!(
        logged.as_str().unwrap().starts_with("campaigns/"),
        "{logged}"
    );
    browser.screenshot("console-execution-ended").await;
    // The map draws the campaign's state machine, in the campaigns
    // service (opened by a click on its box), as the caller of the flow's
    // tasks.
    browser
        .until(
            "the state machine on the map",
            "const folded = document.querySelector('#map-view g.node.service[data-service=\"campaigns\"]'); \
             if (folded) folded.dispatchEvent(new MouseEvent('click', { bubbles: true })); \
             return !!document.querySelector('#map-view g.node.state-machine[data-id^=\"states:campaigns/\"]') && !!document.querySelector('#map-view g.edge[data-from^=\"states:campaigns/\"][data-to^=\"campaigns/\"]');",
            Duration::from_secs(20),
        )
        .await;
    browser.scroll_to("#map").await;
    browser.screenshot("console-map-state-machine").await;
    let c = ended(&admin, &id).await;
    assert_eq!(c["status"], "failed", "{c}");
}
