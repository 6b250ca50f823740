//! Completion → congratulation rendered in a real browser: the whole push
//! path as a person sees it (PATCH, stream, publisher, bus, consumer,
//! table, stream, deliverer, @connections, WebSocket, DOM). Run by
//! `cargo xtask bench` with release function binaries (`benches/web.rs`);
//! prints a table. It lives with the tests so that the test command, which
//! builds and lints the test targets only, builds and lints it too.
//!
//! Each run creates a todo in the page, then measures in the page from the
//! click on its checkbox to the frame after the congratulation's element
//! is added (a MutationObserver, then requestAnimationFrame).

use std::time::Duration;

use devstack_cloud::{self as cloud, Options};
use serde_json::Value;

const RUNS: usize = 20;
const BUDGET_P50_MS: f64 = 300.0;

const MEASURE: &str = r#"
const [todoId, done] = [arguments[0], arguments[arguments.length - 1]];
const list = document.querySelector('#notifications');
const count = () => list.querySelectorAll('li.notification[data-kind=todo_completed]').length;
const before = count();
let t0 = 0;
const observer = new MutationObserver(() => {
  if (count() > before) {
    observer.disconnect();
    requestAnimationFrame(() => done(performance.now() - t0));
  }
});
observer.observe(list, { childList: true });
t0 = performance.now();
document.querySelector(`li.todo[data-todo-id='${todoId}'] input.todo-complete`).click();
"#;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The bench: a local cloud on the release functions, one browser, the
/// table. `benches/web.rs` runs it.
pub async fn run() {
    let bin_dir = repo::profile_dir();
    assert!(
        bin_dir.join("notifications-deliverer").is_file(),
        "no function binaries in {}: build them first (`cargo xtask bench` does)",
        bin_dir.display()
    );
    let cloud = cloud::start_detached(Options {
        bin_dir: bin_dir.clone(),
        function_env: vec![("RUST_LOG".into(), "warn".into())],
        ..Options::default()
    })
    .expect("the local cloud starts");
    let b = devstack_testkit::Browser::start().await;
    b.client
        .update_timeouts(fantoccini::wd::TimeoutConfiguration::new(
            Some(Duration::from_secs(30)),
            None,
            None,
        ))
        .await
        .unwrap();
    let email = format!(
        "bench-{}@example.com",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    b.sign_up(&cloud.endpoints.web_url, "Bench", &email, "Str0ng!passw0rd")
        .await;
    b.live().await;

    let mut samples = Vec::new();
    // One warm-up run first: every function's first invocation builds its
    // SDK clients.
    for run in 0..=RUNS {
        let before: Value = b
            .client
            .execute(
                "return document.querySelectorAll('#todos li.todo').length;",
                vec![],
            )
            .await
            .unwrap();
        b.fill("#todo-form-title", &format!("bench run {run}"))
            .await;
        b.click("#todo-form [type=submit]").await;
        let id = b
            .until(
                "the new todo",
                &format!(
                    "const t = document.querySelectorAll('#todos li.todo'); return t.length > {before} ? t[0].dataset.todoId : null;"
                ),
                Duration::from_secs(10),
            )
            .await;
        let ms = b
            .client
            .execute_async(MEASURE, vec![id])
            .await
            .expect("the congratulation is rendered within 30 s")
            .as_f64()
            .unwrap();
        if run > 0 {
            samples.push(ms);
        }
    }
    samples.sort_by(f64::total_cmp);
    let p50 = percentile(&samples, 50.0);
    println!();
    println!(
        "completion → congratulation rendered in the browser (release functions, {RUNS} runs after a warm-up)"
    );
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| p50 | {p50:.0} ms (budget ≤ {BUDGET_P50_MS:.0} ms: {}) |",
        if p50 <= BUDGET_P50_MS {
            "met"
        } else {
            "NOT met"
        }
    );
    println!("| p95 | {:.0} ms |", percentile(&samples, 95.0));
    println!(
        "| min – max | {:.0} – {:.0} ms |",
        samples[0],
        samples[samples.len() - 1]
    );
    println!("| functions from | {} |", bin_dir.display());
    drop(b);
    drop(cloud);
}
