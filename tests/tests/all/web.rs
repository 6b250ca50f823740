//! The web app's journeys in a real browser, against the local cloud: the
//! app it serves, Cognito's API on the emulator, the HTTP APIs through the
//! gateway, uploads straight to S3, and pushes over the WebSocket API.

use std::time::Duration;

use serde_json::json;

use crate::browser::Browser;
use crate::e2e::{cloud, mint_for, unique_email};

const PASSWORD: &str = "Str0ng!passw0rd";
const PUSH: Duration = Duration::from_secs(20);

fn web_url() -> String {
    cloud().endpoints.web_url.as_str().to_owned()
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
    ada.client
        .execute("window.__sameDocument = 42; return true;", vec![])
        .await
        .unwrap();
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
    assert_eq!(
        ada.client
            .execute("return window.__sameDocument;", vec![])
            .await
            .unwrap(),
        42,
        "the page was reloaded"
    );
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

    // An expired session leads back to sign-in.
    let sub = ada
        .client
        .execute(
            "const s = JSON.parse(localStorage.getItem('todo.session')); const p = s.idToken.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'); return JSON.parse(atob(p)).sub;",
            vec![],
        )
        .await
        .unwrap();
    let expired = mint_for(&cloud().endpoints, "expired", sub.as_str().unwrap());
    ada.client
        .execute(
            "const s = JSON.parse(localStorage.getItem('todo.session')); s.idToken = arguments[0]; localStorage.setItem('todo.session', JSON.stringify(s)); return true;",
            vec![json!(expired)],
        )
        .await
        .unwrap();
    ada.client.refresh().await.unwrap();
    ada.until(
        "the sign-in view",
        "return !document.querySelector('#auth').hidden && document.querySelector('#app').hidden;",
        Duration::from_secs(10),
    )
    .await;
    assert!(
        ada.text("#auth-error").await.contains("expired"),
        "the reason is said"
    );
    ada.screenshot("7-expired-session-back-to-sign-in").await;
}
