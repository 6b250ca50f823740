//! `devstack deploy`: one service redeployed into a running local cloud
//! while traffic flows. Its own local cloud, so swapping processes and
//! changing the wording cannot disturb the other end-to-end tests.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use devstack_api::control::{Artifacts, Report, Request};
use devstack_client::walkthrough::{Client, eventually};
use devstack_cloud::{self as cloud, Options};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::support::{Scratch, client_for, root, test_cloud};

const OLD: &str = "Nice work: you completed \u{201c}{title}\u{201d}.";
const NEW: &str = "Well done, \u{201c}{title}\u{201d} is off your list.";

/// One completion the traffic made, with when its PATCH answered.
pub(crate) struct Completion {
    pub(crate) title: String,
    pub(crate) answered: Instant,
}

/// Todos created and completed one after another until told to stop, each
/// completion recorded when its PATCH answered.
pub(crate) struct Traffic {
    pub(crate) done: Arc<Mutex<Vec<Completion>>>,
    pub(crate) stop: Arc<AtomicBool>,
    pub(crate) task: tokio::task::JoinHandle<()>,
}

impl Traffic {
    pub(crate) fn start(api: Arc<Client>, prefix: &str) -> Traffic {
        let done = Arc::new(Mutex::new(Vec::<Completion>::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (d, s, prefix) = (done.clone(), stop.clone(), prefix.to_owned());
        let task = tokio::spawn(async move {
            let mut n = 0;
            while !s.load(Ordering::Relaxed) {
                n += 1;
                let title = format!("{prefix} {n}");
                let (status, todo) = api
                    .call(Method::POST, "/todos", Some(json!({"title": title})))
                    .await
                    .unwrap();
                assert_eq!(status, 201, "{todo}");
                let path = format!("/todos/{}", todo["id"].as_str().unwrap());
                let body = Some(json!({"completed": true}));
                let (status, body) = api.call(Method::PATCH, &path, body).await.unwrap();
                assert_eq!(status, 200, "{body}");
                d.lock().await.push(Completion {
                    title,
                    answered: Instant::now(),
                });
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        });
        Traffic { done, stop, task }
    }
}

/// notifications' template with another wording: the change a team ships.
fn reworded_template(dir: &std::path::Path) -> std::path::PathBuf {
    let source = root().join("services/notifications/template.yaml");
    let text = std::fs::read_to_string(&source).unwrap();
    let old = "CONGRATULATION: \"Nice work: you completed \\u201c{title}\\u201d.\"";
    assert!(
        text.contains(old),
        "the template no longer sets CONGRATULATION as this test expects"
    );
    let new = "CONGRATULATION: \"Well done, \\u201c{title}\\u201d is off your list.\"";
    let path = dir.join("template.yaml");
    std::fs::write(&path, text.replace(old, new)).unwrap();
    path
}

/// A client signed in to the local cloud as `email`, after its
/// `PUT /users/me`: the answer's status and body.
pub(crate) async fn signed_up(
    detached: &cloud::Detached,
    email: &str,
    name: &str,
) -> (Client, u16, Value) {
    let api = client_for(detached, email).await;
    let (status, body) = api
        .call(
            Method::PUT,
            "/users/me",
            Some(json!({ "display_name": name })),
        )
        .await
        .unwrap();
    (api, status, body)
}

pub(crate) async fn post_deploy(control_url: &str, request: &Request) -> (u16, Value) {
    let res = reqwest::Client::new()
        .post(format!("{control_url}/deploy"))
        .json(request)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

/// Waits for `n` congratulations in the table.
pub(crate) async fn congratulated(conf: &aws_config::SdkConfig, table: &str, n: usize) {
    eventually(
        Duration::from_secs(20),
        "the first congratulations",
        || async {
            Ok((congratulations(conf, table).await.values().sum::<usize>() >= n).then_some(()))
        },
    )
    .await
    .unwrap();
}

/// Every congratulation in the table, as (message, count).
pub(crate) async fn congratulations(
    conf: &aws_config::SdkConfig,
    table: &str,
) -> BTreeMap<String, usize> {
    let dynamo = aws_sdk_dynamodb::Client::new(conf);
    let mut out = BTreeMap::new();
    let mut start = None;
    loop {
        let page = dynamo
            .scan()
            .table_name(table)
            .filter_expression("notification_kind = :k")
            .expression_attribute_values(":k", AttributeValue::S("todo_completed".into()))
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        for item in page.items() {
            let message = item["message"].as_s().unwrap().clone();
            *out.entry(message).or_default() += 1;
        }
        start = page.last_evaluated_key;
        if start.is_none() {
            return out;
        }
    }
}

async fn physical_ids(conf: &aws_config::SdkConfig, stack: &str) -> BTreeMap<String, String> {
    aws_sdk_cloudformation::Client::new(conf)
        .describe_stack_resources()
        .stack_name(stack)
        .send()
        .await
        .unwrap()
        .stack_resources()
        .iter()
        .map(|r| {
            (
                r.logical_resource_id().unwrap().to_owned(),
                r.physical_resource_id().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

pub(crate) fn wording(template: &str, title: &str) -> String {
    template.replace("{title}", title)
}

#[tokio::test]
async fn redeploying_notifications_mid_traffic_loses_and_duplicates_nothing() {
    let detached = cloud::start_detached(test_cloud()).expect("the local cloud starts");
    let conf = crate::support::sdk_of(&detached, "notifications").await;
    let (api, status, _) = signed_up(&detached, "swap@example.com", "Swap").await;
    let api = Arc::new(api);
    assert_eq!(status, 200, "the profile made at the confirmation, renamed");

    let traffic = Traffic::start(api.clone(), "task");
    let (done, stop) = (traffic.done.clone(), traffic.stop.clone());
    let table = detached.endpoints.services["notifications"].table.clone();
    // Some congratulations in the old wording before the deploy starts.
    congratulated(&conf, &table, 5).await;

    let scratch = tempfile::tempdir().unwrap();
    let request = Request {
        service: "notifications".into(),
        template: reworded_template(scratch.path()),
        artifacts: Artifacts::Cargo(repo::profile_dir()),
        commit: "0123456789abcdef0123456789abcdef01234567".into(),
        // Each deployment's minutes as a fifth of a second: the linear
        // consumers' ten steps take two.
        minute_ms: Some(200),
    };
    let stack = detached.endpoints.services["notifications"].stack.clone();
    let resources_before = physical_ids(&conf, &stack).await;
    let before = done.lock().await.len();
    let deploy_started = Instant::now();
    let (status, body) = post_deploy(&detached.endpoints.control_url, &request).await;
    let deploy_ended = Instant::now();
    assert_eq!(status, 200, "{body}");
    let report: Report = serde_json::from_value(body).unwrap();
    let during = done.lock().await.len() - before;
    assert!(
        during > 0,
        "no completion happened while the deploy ran ({} ms): the test did not test a swap under traffic",
        report.total_ms
    );
    let swapped: Vec<&str> = (report.swapped.iter().map(|s| s.function.as_str()))
        .chain(report.deployments.iter().map(|d| d.function.as_str()))
        .collect();
    assert_eq!(report.rolled_back, None, "{report:?}");
    // Each function deployed gradually ended on its new version alone.
    for d in &report.deployments {
        assert_eq!(d.outcome, "succeeded", "{d:?}");
        let weights = detached.functions[&d.function].weights();
        assert_eq!(weights.0, [(d.to_version, 1.0)], "{}", d.function);
        assert!(d.shifts.len() >= 2, "{d:?}");
        // The consumer's and the API's pre-traffic hooks passed the good
        // version first.
        if [
            "notifications/ConsumerFunction",
            "notifications/ApiFunction",
        ]
        .contains(&d.function.as_str())
        {
            let states: Vec<&str> = d.hooks.iter().map(|h| h.state.as_str()).collect();
            assert_eq!(states, ["Succeeded"], "{d:?}");
        }
    }
    let running = detached
        .functions
        .keys()
        .filter(|f| f.starts_with("notifications/"))
        .count();
    assert_eq!(
        swapped.len(),
        running,
        "every notifications function: {swapped:?}"
    );
    assert!(swapped.iter().all(|f| f.starts_with("notifications/")));

    let consumer = (report.deployments.iter())
        .find(|d| d.function == "notifications/ConsumerFunction")
        .expect("the consumer deployed gradually");
    the_console_shows(&detached.endpoints.console_url, consumer.to_version).await;

    // As on AWS, an update keeps every resource it does not change: a
    // replaced topic or queue would strand the other services' wiring.
    assert_eq!(resources_before, physical_ids(&conf, &stack).await);

    // A few more completions with the new wording, then stop.
    let after = done.lock().await.len();
    eventually(
        Duration::from_secs(20),
        "completions after the deploy",
        || async { Ok((done.lock().await.len() >= after + 5).then_some(())) },
    )
    .await
    .unwrap();
    stop.store(true, Ordering::Relaxed);
    traffic.task.await.unwrap();
    let done = done.lock().await;

    let expected = done.len();
    let seen = eventually(
        Duration::from_secs(30),
        "a congratulation per completion",
        || async {
            let seen = congratulations(&conf, &table).await;
            Ok((seen.values().sum::<usize>() >= expected).then_some(seen))
        },
    )
    .await
    .unwrap();
    // Anything late (a duplicate) would arrive now.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let seen_again = congratulations(&conf, &table).await;
    assert_eq!(
        seen, seen_again,
        "notifications kept arriving after one per completion"
    );

    let mut old_text = 0;
    let mut new_text = 0;
    for c in done.iter() {
        let old = seen.get(&wording(OLD, &c.title)).copied().unwrap_or(0);
        let new = seen.get(&wording(NEW, &c.title)).copied().unwrap_or(0);
        assert_eq!(
            old + new,
            1,
            "{}: {old} old-worded and {new} new-worded congratulations",
            c.title
        );
        if c.answered > deploy_ended {
            assert_eq!(
                new, 1,
                "{} was completed after the deploy but got the old text",
                c.title
            );
        }
        if c.answered < deploy_started && new == 1 {
            // Allowed: it was still waiting in the tap queue at the swap.
        }
        old_text += old;
        new_text += new;
    }
    assert_eq!(
        seen.values().sum::<usize>(),
        expected,
        "a congratulation for no completion: {seen:?}"
    );
    assert!(
        old_text >= 5 && new_text >= 5,
        "old {old_text}, new {new_text}"
    );

    // No dead letter anywhere: nothing failed during the swap.
    for (service, s) in &detached.endpoints.services {
        let sqs = aws_sdk_sqs::Client::new(&crate::support::sdk_of(&detached, service).await);
        let got = sqs
            .receive_message()
            .queue_url(&s.dlq_queue_url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        assert!(
            got.messages().is_empty(),
            "{service}'s DLQ: {:?}",
            got.messages()
        );
    }

    // The stack now says which commit it runs.
    let stacks = aws_sdk_cloudformation::Client::new(&conf)
        .describe_stacks()
        .stack_name(&detached.endpoints.services["notifications"].stack)
        .send()
        .await
        .unwrap();
    let tags: BTreeMap<&str, &str> = stacks.stacks()[0]
        .tags()
        .iter()
        .map(|t| (t.key().unwrap(), t.value().unwrap()))
        .collect();
    assert_eq!(tags.get("commit"), Some(&request.commit.as_str()));
    assert_eq!(tags.get("service"), Some(&"notifications"));
    // And the contract it carries, as the deploy plan reads it back.
    let carried = declarations::Carried::from_tags(tags.iter().map(|(k, v)| (*k, *v))).unwrap();
    let declared = (declarations::SERVICES.iter())
        .find(|s| s.name == "notifications")
        .unwrap();
    assert_eq!(carried, declarations::Carried::of(declared).unwrap());
    assert!(
        carried.consumes["app.todos/TodoCompleted"].contains_key(&1),
        "{carried:?}"
    );

    // A template whose wiring changed is refused, naming what to do, and
    // nothing is swapped.
    let text = std::fs::read_to_string(&request.template).unwrap();
    let rewired = scratch.path().join("rewired.yaml");
    let route = "Method: GET, Path: /notifications }";
    assert!(text.contains(route), "notifications' list route moved");
    let moved = text.replace(route, "Method: GET, Path: /notifications/all }");
    std::fs::write(&rewired, moved).unwrap();
    let (status, body) = post_deploy(
        &detached.endpoints.control_url,
        &Request {
            template: rewired,
            ..request.clone()
        },
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("restart"),
        "{body}"
    );
    let missing = post_deploy(
        &detached.endpoints.control_url,
        &Request {
            artifacts: Artifacts::Cargo(scratch.path().to_owned()),
            ..request.clone()
        },
    )
    .await;
    assert_eq!(missing.0, 422);
    assert!(
        missing.1["error"].as_str().unwrap().contains("no binary"),
        "{}",
        missing.1
    );
}

/// The console after the redeploy: the map's folded notifications box
/// names the new version, and so does its consumer once the box is
/// opened; Deployments shows the consumer's deployment to it, succeeded.
async fn the_console_shows(url: &str, version: u32) {
    let browser = devstack_testkit::Browser::start().await;
    browser.client.set_window_size(1600, 1000).await.unwrap();
    browser.client.goto(url).await.unwrap();
    let folded = "#map-view g.node.service[data-service=\"notifications\"]";
    let texts = browser
        .until(
            "the new version on the folded service",
            &format!(
                "const b = document.querySelector('{folded}'); \
                 return b && [...b.querySelectorAll('text')].map(t => t.textContent).join(' | ');"
            ),
            Duration::from_secs(10),
        )
        .await;
    let texts = texts.as_str().unwrap();
    assert!(texts.contains(&format!("live v{version}")), "{texts}");
    let consumer = browser
        .until(
            "the consumer's version, the service opened",
            &format!(
                "const b = document.querySelector('{folded}'); \
                 if (b) b.dispatchEvent(new MouseEvent('click', {{ bubbles: true }})); \
                 const n = document.querySelector('#map-view g.node[data-id=\"notifications/ConsumerFunction\"] text.service'); \
                 return n && n.textContent;"
            ),
            Duration::from_secs(10),
        )
        .await;
    assert_eq!(consumer, format!("notifications · v{version}"));
    let row = browser
        .until(
            "the consumer's deployment in Deployments",
            "const r = document.querySelector('#deployments-rows tr[data-function=\"notifications/ConsumerFunction\"]'); \
             return r && r.dataset.outcome === 'succeeded' && r.cells[1].textContent;",
            Duration::from_secs(10),
        )
        .await;
    assert_eq!(row, format!("{} → {version}", version - 1));
    browser.scroll_to("#map").await;
    browser.screenshot("console-map-redeployed").await;
}

/// A `sam build` output for `service` (`<LogicalId>/bootstrap`), made of
/// the cargo binaries, in `dir`.
fn sam_layout(service: &str, dir: &std::path::Path) -> Vec<String> {
    let template = devstack_template::load(&repo::template_path(service)).unwrap();
    let (_, plan) = devstack_template::adapt::adapt(service, &template).unwrap();
    let mut ids = Vec::new();
    for f in &plan.functions {
        let folder = dir.join(&f.logical_id);
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::copy(
            repo::profile_dir().join(&f.binary),
            folder.join("bootstrap"),
        )
        .unwrap();
        ids.push(f.logical_id.clone());
    }
    ids
}

#[tokio::test]
async fn can_i_deploy_refuses_a_change_that_breaks_a_deployed_consumer() {
    let scratch = Scratch::new();
    // users runs what `sam build` left (here: a folder shaped like it).
    let sam = scratch.dir.path().join("sam-build");
    let ids = sam_layout("users", &sam);
    let detached = cloud::start_detached(Options {
        bin_dir: repo::profile_dir(),
        from_sam: [("users".to_owned(), sam.clone())].into(),
        function_env: vec![("RUST_LOG".into(), "warn".into())],
        // As `cargo xtask up` runs it: the consumers in their teams'
        // accounts, which `ops stacks` must read.
        accounts: devstack_cloud::accounts::per_team(),
        ..Options::default()
    })
    .expect("the local cloud starts");
    for id in &ids {
        let binary = detached.functions[&format!("users/{id}")].binary().await;
        assert_eq!(binary, sam.join(id).join("bootstrap"));
    }
    let (_, status, body) = signed_up(&detached, "sam@example.com", "Sam").await;
    assert_eq!(
        status, 200,
        "users from the SAM layout answers, its trigger having made the profile: {body}"
    );

    let deployed_at = scratch.git(&["rev-parse", "HEAD"]);
    // The other services run what was built at the scratch repo's first
    // commit (can-i-deploy reads each deployed service's contracts there).
    // Each service's hooks: its consumer's, and one per API function.
    for (service, hooks) in [
        ("users", 2),
        ("todos", 2),
        ("notifications", 2),
        ("campaigns", 3),
    ] {
        let (status, body) = post_deploy(
            &detached.endpoints.control_url,
            &Request {
                service: service.into(),
                template: repo::template_path(service),
                artifacts: Artifacts::Cargo(repo::profile_dir()),
                commit: deployed_at.clone(),
                // Each deployment's steps at once: this test is about the
                // contracts the deployed stacks carry.
                minute_ms: Some(0),
            },
        )
        .await;
        assert_eq!(status, 200, "{body}");
        // Every hook passed the good versions: each consumer's examples
        // and each API's request per route answered as declared.
        let report: Report = serde_json::from_value(body).unwrap();
        assert_eq!(report.rolled_back, None, "{service}: {report:?}");
        let states: Vec<&str> = (report.deployments.iter())
            .flat_map(|d| d.hooks.iter().map(|h| h.state.as_str()))
            .collect();
        assert_eq!(states, vec!["Succeeded"; hooks], "{service}: {report:?}");
    }
    // The redeploy swapped users onto the cargo binaries.
    let api_binary = detached.functions["users/ApiFunction"].binary().await;
    assert_eq!(api_binary, repo::profile_dir().join("users"));
    let endpoints = scratch.dir.path().join("endpoints.json");
    std::fs::write(
        &endpoints,
        serde_json::to_string(&detached.endpoints).unwrap(),
    )
    .unwrap();
    let can_i_deploy = |service: &str| {
        let bin = repo::profile_dir();
        let out = std::process::Command::new(bin.join("xtask"))
            .current_dir(root())
            .args(["can-i-deploy", service, "--repo"])
            .arg(scratch.dir.path())
            .arg("--endpoints-file")
            .arg(&endpoints)
            .arg("--ops")
            .arg(bin.join("ops"))
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };

    // Breaking: the title becomes a number; notifications reads a string.
    scratch.edit_todo_completed(|data| data["properties"]["title"] = json!({"type": "integer"}));
    scratch.commit("breaking");
    let (code, out, err) = can_i_deploy("todos");
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        out.contains("todos (")
            && out.contains("→ notifications (")
            && out.contains("TodoCompleted v1"),
        "{out}"
    );
    assert!(
        out.contains("data.title"),
        "the finding names the path: {out}"
    );
    assert!(
        out.contains(&deployed_at[..12]),
        "the consumer's deployed commit: {out}"
    );

    // Additive: back to the string, plus an optional field.
    scratch.git(&[
        "checkout",
        "-q",
        &deployed_at,
        "--",
        "events/schemas/app.todos",
    ]);
    scratch.edit_todo_completed(|data| {
        data["properties"]["priority"] = json!({"type": "string"});
    });
    scratch.commit("additive");
    let (code, out, err) = can_i_deploy("todos");
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("can-i-deploy todos at HEAD: yes"), "{out}");

    // A new version, with notifications moving to it before todos
    // publishes it: every pair still reads, but it is out of order.
    scratch.add_todo_completed_v2();
    scratch.commit("notifications moves to TodoCompleted v2");
    let (code, out, err) = can_i_deploy("notifications");
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        out.contains(
            "can-i-deploy notifications at HEAD: no, out of order: app.todos/TodoCompleted v1 → v2: step 1 first: todos: publish app.todos/TodoCompleted v2 beside v1"
        ),
        "{out}"
    );
    assert!(!out.contains("would break"), "{out}");
    let (code, out, err) = can_i_deploy("todos");
    assert_eq!(code, Some(0), "the producer's step is first: {out}{err}");
}

/// A stack's parameters and outputs, as CloudFormation describes them.
async fn described(conf: &aws_config::SdkConfig, stack: &str) -> (Vec<String>, Vec<String>) {
    let cfn = aws_sdk_cloudformation::Client::new(conf);
    let found = cfn
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .unwrap();
    let stack = &found.stacks()[0];
    let mut parameters: Vec<String> = (stack.parameters().iter())
        .map(|p| {
            format!(
                "{}={}",
                p.parameter_key().unwrap_or_default(),
                p.parameter_value().unwrap_or_default()
            )
        })
        .collect();
    let mut outputs: Vec<String> = (stack.outputs().iter())
        .map(|o| {
            format!(
                "{}={}",
                o.output_key().unwrap_or_default(),
                o.output_value().unwrap_or_default()
            )
        })
        .collect();
    parameters.sort();
    outputs.sort();
    (parameters, outputs)
}

/// A redeploy is the deploy `up` made: users' unchanged template deploys
/// with the parameters `up` gave it (the platform's API host among them,
/// where the gateway maps users' API), so the stack keeps its parameters,
/// its outputs and every resource.
#[tokio::test]
async fn a_redeploy_of_an_unchanged_template_keeps_the_stack_as_up_made_it() {
    let detached = cloud::start_detached(test_cloud()).expect("the local cloud starts");
    let conf = crate::support::sdk_of(&detached, "users").await;
    let stack = detached.endpoints.services["users"].stack.clone();
    let (resources, stack_before) = (
        physical_ids(&conf, &stack).await,
        described(&conf, &stack).await,
    );
    assert!(
        (stack_before.0.iter()).any(|p| p == "ApiDomainName=api.devstack.test"),
        "{stack_before:?}"
    );
    let request = Request {
        service: "users".into(),
        template: repo::template_path("users"),
        artifacts: Artifacts::Cargo(repo::profile_dir()),
        commit: "0123456789abcdef0123456789abcdef01234567".into(),
        minute_ms: Some(50),
    };
    let (status, body) = post_deploy(&detached.endpoints.control_url, &request).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(stack_before, described(&conf, &stack).await);
    assert_eq!(resources, physical_ids(&conf, &stack).await);
}
