//! A service that joins late, backfilled from the bus's archive: users
//! exist (one of them already erased) before the campaigns service has an
//! audience; `ops events replay --consumer campaigns` replays the window
//! to its rules alone, and its audience becomes exactly the live users.
//! On a local cloud of its own: the test empties the campaigns table.

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use devstack_client::walkthrough::{Client, eventually, token_named};
use devstack_cloud::Detached;
use reqwest::Method;
use serde_json::{Value, json};

use crate::flow::{Flow, of};
use crate::support::{kept_cloud, test_cloud, unique_email};

fn cloud() -> &'static Detached {
    static CLOUD: OnceLock<Detached> = OnceLock::new();
    kept_cloud(&CLOUD, test_cloud)
}

/// The cloud's endpoints file, for the ops binary.
fn endpoints_file() -> &'static tempfile::NamedTempFile {
    static FILE: OnceLock<tempfile::NamedTempFile> = OnceLock::new();
    FILE.get_or_init(|| {
        let file = tempfile::NamedTempFile::new().unwrap();
        let endpoints = serde_json::to_string(&cloud().endpoints).unwrap();
        std::fs::write(file.path(), endpoints).unwrap();
        file
    })
}

/// The administrator of the campaigns team's account.
async fn sdk() -> aws_config::SdkConfig {
    crate::support::sdk_of(cloud(), "campaigns").await
}

/// The ops binary the test command built, on this local cloud.
fn ops(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(repo::profile_dir().join("ops"))
        .arg("--endpoints-file")
        .arg(endpoints_file().path())
        .args(args)
        .output()
        .expect("the ops binary is built (the test command builds every binary)");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A user signed up (their confirmation made the profile); returns their
/// client, id and the registration's correlation id.
async fn registered(tag: &str) -> (Client, String, String) {
    let endpoints = &cloud().endpoints;
    let email = unique_email(tag);
    let correlation = uuid::Uuid::new_v4().to_string();
    let c = Client {
        http: reqwest::Client::new(),
        base: endpoints.api_base_url.clone(),
        token: token_named(endpoints, &email, tag, &correlation)
            .await
            .unwrap(),
    };
    let (status, me) = c.call(Method::GET, "/users/me", None).await.unwrap();
    assert_eq!(status, 200, "{me}");
    (c, me["id"].as_str().unwrap().to_owned(), correlation)
}

/// The campaigns service's audience, as user ids.
async fn audience() -> BTreeSet<String> {
    let table = &cloud().endpoints.services["campaigns"].table;
    let got = aws_sdk_dynamodb::Client::new(&sdk().await)
        .query()
        .table_name(table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S("AUDIENCE".into()))
        .send()
        .await
        .unwrap();
    got.items()
        .iter()
        .filter_map(|i| {
            i.get("sk")?
                .as_s()
                .ok()?
                .strip_prefix("USER#")
                .map(str::to_owned)
        })
        .collect()
}

/// Empties the campaigns table: the state of the service deployed after
/// the users existed (no audience, no record of a processed event).
async fn empty_campaigns_table() {
    let table = &cloud().endpoints.services["campaigns"].table;
    let ddb = aws_sdk_dynamodb::Client::new(&sdk().await);
    let items = ddb.scan().table_name(table).send().await.unwrap();
    for item in items.items() {
        ddb.delete_item()
            .table_name(table)
            .key("pk", item["pk"].clone())
            .key("sk", item["sk"].clone())
            .send()
            .await
            .unwrap();
    }
}

/// Invocations handed to `function`, as soon as they are queued: what a
/// check that nothing was delivered counts.
async fn invocations(function: &str) -> u32 {
    cloud().functions[function].metrics().await.invocations
}

/// Invocations of `function` that ended: what a wait for their effects
/// counts (a queued one's effect may still be on its way; seen once, the
/// audience read while the erasure it waited for was still running).
async fn completed(function: &str) -> u32 {
    cloud().functions[function].metrics().await.completed
}

const OTHERS: [&str; 2] = [
    "notifications/ConsumerFunction",
    "todos/OnUserDeletedFunction",
];

#[tokio::test(flavor = "multi_thread")]
async fn a_late_service_backfilled_from_the_archive_holds_exactly_the_live_users() {
    let from = (chrono::Utc::now() - chrono::Duration::seconds(5)).to_rfc3339();
    let mut flow = Flow::watch(&cloud().endpoints).await;
    let (_, ada, ada_req) = registered("ada").await;
    let (_, bob, bob_req) = registered("bob").await;
    let (leaver, gone, gone_req) = registered("leaver").await;
    for correlation in [&ada_req, &bob_req, &gone_req] {
        flow.await_event(of("UserRegistered", correlation), Duration::from_secs(20))
            .await;
    }
    let deleted = leaver
        .call(Method::DELETE, "/users/me", None)
        .await
        .unwrap();
    assert_eq!(deleted.0, 204);
    flow.await_event(
        json!({"detail-type": ["UserDeleted"], "detail": {"data": {"user_id": [&gone]}}}),
        Duration::from_secs(20),
    )
    .await;
    flow.close().await;
    let live: BTreeSet<String> = [ada.clone(), bob.clone()].into();
    eventually(Duration::from_secs(20), "the live projection", || async {
        Ok((audience().await == live).then_some(()))
    })
    .await
    .unwrap();

    empty_campaigns_table().await;
    assert!(audience().await.is_empty());
    let others_before = [invocations(OTHERS[0]).await, invocations(OTHERS[1]).await];
    let consumer_before = invocations("campaigns/ConsumerFunction").await;
    let consumer_done_before = completed("campaigns/ConsumerFunction").await;

    let (ok, out, err) = ops(&[
        "--json",
        "events",
        "replay",
        "--consumer",
        "campaigns",
        "--from",
        &from,
        "--dry-run",
        "--settle-seconds",
        "1",
    ]);
    assert!(ok, "{out}{err}");
    let dry: Value = serde_json::from_str(&out).unwrap();
    let would: u64 = dry["by_rule"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[1].as_u64().unwrap())
        .sum();
    assert_eq!(would, 4, "3 registrations and 1 deletion: {dry}");
    assert_eq!(
        invocations("campaigns/ConsumerFunction").await,
        consumer_before,
        "a dry run delivers nothing"
    );

    let (ok, out, err) = ops(&[
        "events",
        "replay",
        "--consumer",
        "campaigns",
        "--from",
        &from,
    ]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("COMPLETED"), "{out}{err}");
    eventually(
        Duration::from_secs(20),
        "the backfilled audience",
        || async { Ok((audience().await == live).then_some(())) },
    )
    .await
    .unwrap();
    eventually(
        Duration::from_secs(20),
        "the consumer's four invocations",
        || async {
            Ok(
                (completed("campaigns/ConsumerFunction").await >= consumer_done_before + 4)
                    .then_some(()),
            )
        },
    )
    .await
    .unwrap();
    assert_eq!(
        audience().await,
        live,
        "the erased user stays out, whatever the order"
    );
    let others_after = [invocations(OTHERS[0]).await, invocations(OTHERS[1]).await];
    assert_eq!(
        others_after, others_before,
        "no other consumer received the replay"
    );
}
