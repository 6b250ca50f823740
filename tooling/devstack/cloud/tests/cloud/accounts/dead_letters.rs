//! `ops` across accounts: a team's dead letters and the platform's
//! archive, each reached in the account that holds it.

use super::*;

/// A stack in `conf`'s account tagged as a deploy tags one: `service`,
/// at commit `c0ffee`.
async fn tag_as_deployed(conf: &SdkConfig, service: &str) {
    let tag = |k: &str, v: &str| {
        aws_sdk_cloudformation::types::Tag::builder()
            .key(k)
            .value(v)
            .build()
    };
    let template = serde_json::json!({"Resources": {"Marker": {"Type": "AWS::SQS::Queue"}}});
    aws_sdk_cloudformation::Client::new(conf)
        .create_stack()
        .stack_name(format!("{service}-deployed"))
        .template_body(template.to_string())
        .tags(tag("service", service))
        .tags(tag("commit", "c0ffee"))
        .send()
        .await
        .unwrap();
}

fn bus_in(account: &str, name: &str) -> String {
    format!(
        "arn:aws:events:{}:{account}:event-bus/{name}",
        kit::config::LOCAL_REGION
    )
}

/// `ops` as it runs against AWS (no endpoints file), signed in to the
/// platform's account; `--role` takes it into todos'.
fn ops(cloud: &Detached, args: &[&str]) -> (bool, String) {
    let operator = format!("todos=arn:aws:iam::{TODOS}:role/OrganizationAccountAccessRole");
    let out = std::process::Command::new(repo::profile_dir().join("ops"))
        .current_dir(std::env::temp_dir())
        .env("AWS_ENDPOINT_URL", cloud.endpoints.emulator_url.as_str())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", kit::config::LOCAL_REGION)
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env_remove("AWS_PROFILE")
        .args(["--stacks", "todos"])
        .args(args.iter().map(|a| a.replace("{operator}", &operator)))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread")]
async fn ops_reaches_a_teams_dead_letters_in_its_account_and_sends_each_to_its_target_once() {
    let cloud = start();
    let inbox = bus_in(TODOS, "todos-inbox");
    // The forwarding role may put on another bus than the inbox.
    let arrivals = team(&cloud, &bus_in(TODOS, "elsewhere")).await;
    let users = Events::new(&account(&cloud, USERS).await);
    publish(&users, &bus_arn(&cloud)).await;
    let todos_conf = account(&cloud, TODOS).await;
    assert_eq!(bodies(&todos_conf, &arrivals).await.len(), 0);

    // Signed in to the platform's account alone, todos' stack is not there.
    let (ok, said) = ops(&cloud, &["dlq", "list"]);
    assert!(!ok && said.contains("stack todos"), "{said}");
    // What can-i-deploy reads: the deployed stacks, each in its account.
    tag_as_deployed(&todos_conf, "todos").await;
    let services = |args: &[&str]| {
        let (ok, said) = ops(&cloud, &[&["--json", "stacks"][..], args].concat());
        assert!(ok, "{said}");
        let listed: serde_json::Value = serde_json::from_str(&said).unwrap();
        (listed.as_array().unwrap().iter())
            .filter(|s| s["service"] == "todos")
            .map(|s| format!("{} {}", s["service"], s["commit"]))
            .collect::<Vec<_>>()
    };
    assert_eq!(services(&[]), Vec::<String>::new());
    assert_eq!(services(&["--role", "{operator}"]), [r#""todos" "c0ffee""#]);
    let (ok, said) = ops(
        &cloud,
        &["--json", "--role", "{operator}", "dlq", "peek", "todos"],
    );
    assert!(ok, "{said}");
    let peeked: serde_json::Value = serde_json::from_str(&said).unwrap();
    let summary = &peeked[0]["summary"];
    assert_eq!(
        (
            &summary["shape"],
            &summary["target"],
            &summary["error_code"]
        ),
        (
            &"target-failure".into(),
            &inbox.clone().into(),
            &"NO_PERMISSIONS".into()
        ),
        "{peeked}"
    );
    // Replayed as an async failure, it is skipped with the reason, and kept.
    let (ok, said) = ops(&cloud, &["--role", "{operator}", "dlq", "replay", "todos"]);
    assert!(ok && said.contains("replay it with --to target"), "{said}");
    let replay = [
        "--json",
        "--role",
        "{operator}",
        "dlq",
        "replay",
        "todos",
        "--to",
        "target",
    ];
    // While its target is gone, a replay fails again and keeps the letter
    // (back in the queue once its one second of invisibility passes).
    let inbox = Events::new(&todos_conf);
    inbox
        .delete_event_bus()
        .name("todos-inbox")
        .send()
        .await
        .unwrap();
    let (ok, said) = ops(&cloud, &[&replay[..], &["--visibility", "1"]].concat());
    let report: serde_json::Value = serde_json::from_str(&said).unwrap();
    assert!(!ok, "{said}");
    assert_eq!(
        (&report["failed_again"], &report["replayed"]),
        (&1.into(), &0.into()),
        "{report}"
    );
    inbox
        .create_event_bus()
        .name("todos-inbox")
        .send()
        .await
        .unwrap();
    let arrivals = inbox_queue(&todos_conf, "todos-arrivals-again").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (ok, said) = ops(&cloud, &replay);
    assert!(ok, "{said}");
    let report: serde_json::Value = serde_json::from_str(&said).unwrap();
    assert_eq!(
        (&report["replayed"], &report["left"]),
        (&1.into(), &0.into()),
        "{report}"
    );
    let arrived = bodies(&todos_conf, &arrivals).await;
    assert_eq!(arrived.len(), 1, "{arrived:?}");
    assert_eq!(
        (&arrived[0]["source"], &arrived[0]["detail-type"]),
        (&"app.users".into(), &"Probe".into())
    );
    // Sent once: the letter is gone, and a second replay sends nothing.
    let (ok, said) = ops(&cloud, &replay);
    let report: serde_json::Value = serde_json::from_str(&said).unwrap();
    assert!(ok && report["replayed"] == 0, "{said}");
    assert_eq!(bodies(&todos_conf, &arrivals).await.len(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn ops_replays_the_platforms_archive_to_the_one_teams_rule_it_names_once() {
    let cloud = start();
    let since = chrono::Utc::now() - chrono::Duration::minutes(1);
    let arrivals = team(&cloud, &bus_in(TODOS, "todos-inbox")).await;
    // The platform's own rule on its bus, which the replay does not name.
    let admin_conf = admin(&cloud).await;
    let (platform_url, platform_arn) = queue(&admin_conf, "platform-probes").await;
    let bus = bus_arn(&cloud);
    rule_to(
        &admin_conf,
        &bus,
        "platform-Probes",
        target("q", &platform_arn),
    )
    .await;
    let users = Events::new(&account(&cloud, USERS).await);
    publish(&users, &bus).await;
    let todos_conf = account(&cloud, TODOS).await;
    assert_eq!(bodies(&todos_conf, &arrivals).await.len(), 1);
    assert_eq!(bodies(&admin_conf, &platform_url).await.len(), 1);

    let from = since.to_rfc3339();
    let args = [
        "--role",
        "{operator}",
        "events",
        "replay",
        "--rule",
        "todos-Probes",
    ];
    let (ok, said) = ops(&cloud, &[&args[..], &["--force", "--from", &from]].concat());
    assert!(ok, "{said}");
    let arrived = bodies(&todos_conf, &arrivals).await;
    assert_eq!(arrived.len(), 1, "once, in todos' account: {arrived:?}");
    assert_eq!(
        (&arrived[0]["account"], &arrived[0]["detail-type"]),
        (&USERS.into(), &"Probe".into()),
        "the producer's account: {}",
        arrived[0]
    );
    assert_eq!(
        bodies(&admin_conf, &platform_url).await.len(),
        0,
        "the rule the replay did not name"
    );
}
