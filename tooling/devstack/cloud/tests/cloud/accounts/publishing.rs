//! Who may publish on the platform's bus, and who manages its rules
//! and targets.

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_team_publishes_only_its_own_source_and_an_account_the_policy_forgets_publishes_nothing()
{
    let cloud = start();
    let bus = bus_arn(&cloud);
    let (url, arn) = queue(&admin(&cloud).await, "platform-probe").await;
    rule_to(&admin(&cloud).await, &bus, "probe", target("q", &arn)).await;

    let todos = Events::new(&account(&cloud, TODOS).await);
    let id = published(&todos, &bus, "app.todos").await;

    let (code, message) = refusal(
        todos
            .put_events()
            .entries(entry(&bus, "app.todos"))
            .entries(entry(&bus, "app.users"))
            .send()
            .await
            .unwrap_err()
            .into_service_error(),
    );
    assert_eq!(code, "AccessDeniedException");
    assert!(
        message.contains("because no resource-based policy allows the events:PutEvents action"),
        "{message}"
    );
    let stranger = Events::new(&account(&cloud, STRANGER).await);
    let (code, _) = refusal(
        stranger
            .put_events()
            .entries(entry(&bus, "app.todos"))
            .send()
            .await
            .unwrap_err()
            .into_service_error(),
    );
    assert_eq!(code, "AccessDeniedException");
    assert!(denied_for(&cloud, STRANGER, "events:PutEvents"));
    assert!(denied_for(&cloud, TODOS, "events:PutEvents"));

    // Only the allowed event arrived, once, with its producer's account.
    let arrived = bodies(&admin(&cloud).await, &url).await;
    let ids: Vec<_> = arrived.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [id.as_str()], "{arrived:?}");
    assert_eq!(arrived[0]["account"], TODOS);
}

/// A team's rule on the shared bus (the bus's policy lets the team make
/// it) whose target is a queue of the platform's account, the bus owner's:
/// the queue's policy, not the rule's account, decides. Without a
/// statement naming the rule nothing arrives and the trail names the
/// refusal; once the queue names the rule, the event arrives once.
#[tokio::test(flavor = "multi_thread")]
async fn a_teams_rule_writes_into_a_platform_queue_only_when_its_policy_names_the_rule() {
    let cloud = start();
    let bus = bus_arn(&cloud);
    let admin_conf = admin(&cloud).await;
    let (url, arn) = queue(&admin_conf, "platform-letters").await;
    let todos = Events::new(&account(&cloud, TODOS).await);
    let rule_arn = (todos.put_rule())
        .name("fake-letters")
        .event_bus_name(&bus)
        .event_pattern(r#"{"detail-type": ["Probe"]}"#)
        .send()
        .await
        .unwrap()
        .rule_arn
        .expect("the rule's ARN");
    (todos.put_targets())
        .rule("fake-letters")
        .event_bus_name(&bus)
        .targets(target("q", &arn))
        .send()
        .await
        .unwrap();
    let platform = Events::new(&admin_conf);
    published(&platform, &bus, "app.todos").await;
    assert!(bodies(&admin_conf, &url).await.is_empty());
    let refused = read_judgements(&PathBuf::from(&cloud.endpoints.telemetry_dir))
        .into_iter()
        .any(|j| {
            j.function == "EventBridge fake-letters"
                && j.action == "sqs:SendMessage"
                && j.verdict == "denied"
        });
    assert!(refused, "the trail names the queue's refusal");

    let_the_rule_send(&Sqs::new(&admin_conf), &url, &arn, &rule_arn).await;
    let put = platform
        .put_events()
        .entries(entry(&bus, "app.todos"))
        .send()
        .await
        .unwrap();
    let id = put.entries()[0].event_id().unwrap().to_owned();
    let got = bodies(&admin_conf, &url).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["id"], id.as_str());
}

/// EventBridge's direct delivery across accounts (2025) is the bus
/// owner's to set up: a team's rule on the shared bus may not target a
/// queue in the team's own account, even with a role of the team's; the
/// team's subscription forwards to a bus of its own instead.
#[tokio::test(flavor = "multi_thread")]
async fn only_the_bus_owner_adds_a_direct_target_in_another_account() {
    let cloud = start();
    let bus = bus_arn(&cloud);
    let todos_conf = account(&cloud, TODOS).await;
    let (_, arn) = queue(&todos_conf, "todos-direct").await;
    let todos = Events::new(&todos_conf);
    (todos.put_rule())
        .name("direct-to-todos")
        .event_bus_name(&bus)
        .event_pattern(r#"{"detail-type": ["Probe"]}"#)
        .send()
        .await
        .unwrap();
    let role = format!("arn:aws:iam::{TODOS}:role/todos-Delivery");
    let direct = Target::builder()
        .id("q")
        .arn(&arn)
        .role_arn(&role)
        .build()
        .unwrap();
    let refused = (todos.put_targets())
        .rule("direct-to-todos")
        .event_bus_name(&bus)
        .targets(direct)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    let (code, message) = refusal(refused);
    assert_eq!(code, "ValidationException");
    assert!(message.contains("only the bus's account"), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_team_manages_the_rules_it_created_and_never_another_teams() {
    let cloud = start();
    let bus = bus_arn(&cloud);
    let todos = Events::new(&account(&cloud, TODOS).await);
    todos
        .put_rule()
        .name("todos-OnUserDeleted")
        .event_bus_name(&bus)
        .event_pattern(r#"{"source": ["app.users"]}"#)
        .send()
        .await
        .unwrap();
    let described = Events::new(&admin(&cloud).await)
        .describe_rule()
        .name("todos-OnUserDeleted")
        .event_bus_name(&bus)
        .send()
        .await
        .unwrap();
    assert_eq!(described.created_by(), Some(TODOS));
    assert!(
        described
            .arn()
            .unwrap()
            .contains(&format!(":{}:rule/", kit::config::LOCAL_ACCOUNT))
    );

    let users = Events::new(&account(&cloud, USERS).await);
    let (code, message) = refusal(
        users
            .delete_rule()
            .name("todos-OnUserDeleted")
            .event_bus_name(&bus)
            .send()
            .await
            .unwrap_err()
            .into_service_error(),
    );
    assert_eq!(
        (code.as_str(), message.contains("events:DeleteRule")),
        ("AccessDeniedException", true),
        "{message}"
    );
    assert!(denied_for(&cloud, USERS, "events:DeleteRule"));
    todos
        .delete_rule()
        .name("todos-OnUserDeleted")
        .event_bus_name(&bus)
        .send()
        .await
        .unwrap();
}
