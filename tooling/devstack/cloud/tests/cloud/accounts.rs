//! Teams in accounts of their own, meeting on the platform's bus: each
//! call from another account is judged on both sides, as AWS judges it.
//! The platform stack is the real one, with two teams' accounts named in
//! its parameters; the teams act as their accounts' administrators.

use std::path::PathBuf;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_eventbridge::Client as Events;
use aws_sdk_eventbridge::types::{PutEventsRequestEntry, Target};
use aws_sdk_sqs::Client as Sqs;
use devstack_api::telemetry::read_judgements;
use devstack_client::walkthrough::eventually;
use devstack_cloud::{self as cloud, Detached, Options, Override};
use devstack_emulator::fixtures::{drain, let_the_rule_send, new_queue, queue_arn};

const TODOS: &str = "222222222222";
const USERS: &str = "333333333333";
/// An account the bus's policy forgets.
const STRANGER: &str = "444444444444";
/// An account a team forwards to, which nothing reaches a second hop.
const THIRD: &str = "555555555555";

fn start() -> Detached {
    let team = |parameter: &str, account: &str| Override {
        stack: repo::PLATFORM.into(),
        parameter: parameter.into(),
        value: account.into(),
    };
    cloud::start_detached(Options {
        bin_dir: repo::profile_dir(),
        retry_delay: Duration::from_millis(20),
        services: Some(Default::default()),
        parameter_overrides: vec![team("TodosAccount", TODOS), team("UsersAccount", USERS)],
        ..Options::default()
    })
    .expect("the local cloud starts")
}

async fn admin(cloud: &Detached) -> SdkConfig {
    kit::config::endpoint(cloud.endpoints.emulator_url.as_str()).await
}

async fn account(cloud: &Detached, account: &str) -> SdkConfig {
    cloud::iam::administrator(&admin(cloud).await, account)
        .await
        .unwrap()
}

fn bus_arn(cloud: &Detached) -> String {
    format!(
        "arn:aws:events:{}:{}:event-bus/{}",
        kit::config::LOCAL_REGION,
        kit::config::LOCAL_ACCOUNT,
        cloud.endpoints.bus_name
    )
}

fn entry(bus: &str, source: &str) -> PutEventsRequestEntry {
    PutEventsRequestEntry::builder()
        .event_bus_name(bus)
        .source(source)
        .detail_type("Probe")
        .detail(r#"{"n": 1}"#)
        .build()
}

/// One `source` entry put on `bus`, accepted: its event id.
async fn published(events: &Events, bus: &str, source: &str) -> String {
    let put = (events.put_events().entries(entry(bus, source)))
        .send()
        .await
        .unwrap();
    assert_eq!(put.failed_entry_count(), 0, "{put:?}");
    put.entries()[0].event_id().unwrap().to_owned()
}

/// The error code and message of a refused call.
fn refusal<E: aws_sdk_eventbridge::error::ProvideErrorMetadata>(e: E) -> (String, String) {
    (
        e.code().unwrap_or_default().to_owned(),
        e.message().unwrap_or_default().to_owned(),
    )
}

fn denied_for(cloud: &Detached, account: &str, action: &str) -> bool {
    read_judgements(&PathBuf::from(&cloud.endpoints.telemetry_dir))
        .iter()
        .any(|j| {
            j.function == format!("account {account}")
                && j.action == action
                && j.verdict == "denied"
        })
}

/// A new queue in `conf`'s account, named after `prefix`: its URL and ARN.
async fn queue(conf: &SdkConfig, prefix: &str) -> (String, String) {
    let sqs = Sqs::new(conf);
    let url = new_queue(&sqs, prefix).await;
    let arn = queue_arn(&sqs, &url).await;
    (url, arn)
}

/// A rule on `bus` for `Probe` events to `target`. A queue of the rule's
/// own account, reached without a role, lets the rule send to it, as a
/// consumer's stack does; any other target keeps the policy it has.
async fn rule_to(conf: &SdkConfig, bus: &str, name: &str, target: Target) {
    let events = Events::new(conf);
    let rule_arn = (events.put_rule())
        .name(name)
        .event_bus_name(bus)
        .event_pattern(r#"{"detail-type": ["Probe"]}"#)
        .send()
        .await
        .unwrap()
        .rule_arn
        .expect("the rule's ARN");
    let account = |arn: &str| arn.split(':').nth(4).map(str::to_owned);
    let own_queue =
        target.arn.starts_with("arn:aws:sqs:") && account(&target.arn) == account(&rule_arn);
    if own_queue && target.role_arn.is_none() {
        let sqs = Sqs::new(conf);
        let name = target.arn.rsplit(':').next().unwrap_or_default();
        let url = sqs.get_queue_url().queue_name(name).send().await.unwrap();
        let url = url.queue_url.expect("the queue's URL");
        let_the_rule_send(&sqs, &url, &target.arn, &rule_arn).await;
    }
    events
        .put_targets()
        .rule(name)
        .event_bus_name(bus)
        .targets(target)
        .send()
        .await
        .unwrap();
}

fn target(id: &str, arn: &str) -> Target {
    Target::builder().id(id).arn(arn).build().unwrap()
}

/// Every message in the queue now (a delivery is done when PutEvents
/// answers), parsed and deleted.
async fn bodies(conf: &SdkConfig, url: &str) -> Vec<serde_json::Value> {
    drain(&Sqs::new(conf), url).await
}

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

/// The todos team's subscription, as its stack would declare it: its
/// own bus (the inbox), and a rule on the platform's bus forwarding the
/// probes to it, as a role EventBridge assumes (`role`: with the role).
fn subscription(bus: &str, role: bool) -> String {
    let mut target = serde_json::json!({"Id": "inbox", "Arn": {"Fn::GetAtt": ["Inbox", "Arn"]}});
    if role {
        target["RoleArn"] = serde_json::json!({"Fn::GetAtt": ["ForwardRole", "Arn"]});
    }
    serde_json::json!({"Resources": {
        "Inbox": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "todos-inbox"}},
        "ForwardRole": {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sts:AssumeRole"}]},
            "Policies": [{"PolicyName": "PutsOnItsInbox", "PolicyDocument": {
                "Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Action": "events:PutEvents", "Resource": {"Fn::GetAtt": ["Inbox", "Arn"]}}]}}]}},
        "Subscription": {"Type": "AWS::Events::Rule", "Properties": {
            "Name": "todos-Probes", "EventBusName": bus,
            "EventPattern": {"detail-type": ["Probe"]}, "Targets": [target]}}}})
    .to_string()
}

/// Deploys `template` as `stack` in `conf`'s account: its failure's
/// reason, if it fails.
async fn deploy(conf: &SdkConfig, stack: &str, template: String) -> Result<(), String> {
    let cfn = aws_sdk_cloudformation::Client::new(conf);
    let created = cfn
        .create_stack()
        .stack_name(stack)
        .template_body(template)
        .capabilities(aws_sdk_cloudformation::types::Capability::CapabilityIam)
        .send()
        .await;
    if let Err(e) = created {
        return Err(format!("{:?}", e.into_service_error()));
    }
    for _ in 0..600 {
        let described = cfn
            .describe_stacks()
            .stack_name(stack)
            .send()
            .await
            .unwrap();
        let it = &described.stacks()[0];
        let status = it.stack_status().unwrap().as_str().to_owned();
        if status == "CREATE_COMPLETE" {
            return Ok(());
        }
        if !status.ends_with("IN_PROGRESS") {
            let events = cfn
                .describe_stack_events()
                .stack_name(stack)
                .send()
                .await
                .unwrap();
            let reasons: Vec<_> = (events.stack_events())
                .iter()
                .filter_map(|e| e.resource_status_reason())
                .collect();
            return Err(format!(
                "{status}: {reasons:?} {:?}",
                it.stack_status_reason()
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err(format!("{stack} still in progress"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forwarded_event_keeps_its_producers_account_and_hops_once_and_only_with_a_role() {
    let cloud = start();
    let bus = bus_arn(&cloud);
    let todos_conf = account(&cloud, TODOS).await;
    let refused = deploy(&todos_conf, "todos-roleless", subscription(&bus, false)).await;
    let refused = refused.expect_err("a target on another account's bus without its role");
    assert!(
        refused.contains("RoleArn is required for target"),
        "{refused}"
    );
    deploy(&todos_conf, "todos-subscription", subscription(&bus, true))
        .await
        .unwrap();

    // In the team's account: the inbox's rule to a queue, and one that
    // would send the event on to a third account's bus.
    let (url, arn) = queue(&todos_conf, "todos-probes").await;
    rule_to(&todos_conf, "todos-inbox", "probes", target("q", &arn)).await;
    let third_conf = account(&cloud, THIRD).await;
    let third = Events::new(&third_conf)
        .create_event_bus()
        .name("elsewhere")
        .send()
        .await
        .unwrap();
    let (third_url, third_arn) = queue(&third_conf, "third-probes").await;
    rule_to(&third_conf, "elsewhere", "probes", target("q", &third_arn)).await;
    // Everything a second hop would need is there: a role that may put on
    // the third bus, and the third bus letting the team's account in.
    let elsewhere = third.event_bus_arn().unwrap();
    let put_on = ("events:PutEvents", elsewhere);
    let onward_role = delivery_role(&todos_conf, TODOS, "todos-Onward", put_on).await;
    Events::new(&third_conf)
        .put_permission()
        .event_bus_name("elsewhere")
        .statement_id("TodosPuts")
        .action("events:PutEvents")
        .principal(TODOS)
        .send()
        .await
        .unwrap();
    let onward = Target::builder()
        .id("onward")
        .arn(elsewhere)
        .role_arn(onward_role)
        .build()
        .unwrap();
    rule_to(&todos_conf, "todos-inbox", "onward", onward).await;

    let users = Events::new(&account(&cloud, USERS).await);
    let id = published(&users, &bus, "app.users").await;

    let arrived = bodies(&todos_conf, &url).await;
    assert_eq!(arrived.len(), 1, "{arrived:?}");
    assert_eq!(
        (arrived[0]["id"].as_str(), arrived[0]["account"].as_str()),
        (Some(id.as_str()), Some(USERS))
    );
    assert_eq!(
        bodies(&third_conf, &third_url).await,
        Vec::<serde_json::Value>::new(),
        "no second hop"
    );
}

/// A role named `name` in `account` (`conf`'s) that EventBridge assumes
/// to do `action` on `resource`: a target's execution role. Its ARN.
async fn delivery_role(
    conf: &SdkConfig,
    account: &str,
    name: &str,
    (action, resource): (&str, &str),
) -> String {
    let template = serde_json::json!({"Resources": {"Role": {"Type": "AWS::IAM::Role", "Properties": {
        "RoleName": name,
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sts:AssumeRole"}]},
        "Policies": [{"PolicyName": "Delivers", "PolicyDocument": {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]}}]}}}});
    deploy(conf, name, template.to_string()).await.unwrap();
    format!("arn:aws:iam::{account}:role/{name}")
}

/// A resource policy letting `role` do `action` on `resource`.
fn lets_the_role(action: &str, resource: &str, role: &str) -> String {
    serde_json::json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "TheRoleDelivers", "Effect": "Allow", "Principal": {"AWS": role},
        "Action": action, "Resource": resource}]})
    .to_string()
}

/// A queue policy letting EventBridge send for `rule` alone.
fn lets_the_rule_send(queue: &str, rule: &str) -> String {
    serde_json::json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "TheRuleSends", "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sqs:SendMessage", "Resource": queue,
        "Condition": {"ArnEquals": {"aws:SourceArn": rule}}}]})
    .to_string()
}

async fn allow(conf: &SdkConfig, url: &str, policy: String) {
    Sqs::new(conf)
        .set_queue_attributes()
        .queue_url(url)
        .attributes(aws_sdk_sqs::types::QueueAttributeName::Policy, policy)
        .send()
        .await
        .unwrap();
}

/// Each message's body and its `ERROR_CODE` attribute.
async fn letters(conf: &SdkConfig, url: &str) -> Vec<(serde_json::Value, Option<String>)> {
    let answer = Sqs::new(conf)
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .message_attribute_names("All")
        .send()
        .await
        .unwrap();
    // Read once: a letter left in flight would come back on a slow run.
    for m in answer.messages() {
        Sqs::new(conf)
            .delete_message()
            .queue_url(url)
            .receipt_handle(m.receipt_handle().unwrap())
            .send()
            .await
            .unwrap();
    }
    (answer.messages())
        .iter()
        .map(|m| {
            let code = (m.message_attributes())
                .and_then(|a| a.get("ERROR_CODE"))
                .and_then(|v| v.string_value())
                .map(str::to_owned);
            (serde_json::from_str(m.body().unwrap()).unwrap(), code)
        })
        .collect()
}

/// The platform's rule `name` on its bus, with `target` (a resource in
/// todos' account) as a direct target: reached as an execution role of
/// the platform's account (`role`, which may do `action` on it), with a
/// dead-letter queue in todos' account that lets EventBridge in for the
/// rule. The role's ARN and the dead-letter queue's URL.
async fn direct_target(
    cloud: &Detached,
    name: &str,
    role: &str,
    (action, target): (&str, &str),
) -> (String, String) {
    let todos_conf = account(cloud, TODOS).await;
    let rule = format!(
        "arn:aws:events:{}:{}:rule/{}/{name}",
        kit::config::LOCAL_REGION,
        kit::config::LOCAL_ACCOUNT,
        cloud.endpoints.bus_name
    );
    let (dlq_url, dlq_arn) = queue(&todos_conf, &format!("{name}-dlq")).await;
    allow(&todos_conf, &dlq_url, lets_the_rule_send(&dlq_arn, &rule)).await;
    let admin_conf = admin(cloud).await;
    let role = delivery_role(
        &admin_conf,
        kit::config::LOCAL_ACCOUNT,
        role,
        (action, target),
    )
    .await;
    let direct = Target::builder()
        .id("direct")
        .arn(target)
        .role_arn(&role)
        .dead_letter_config(
            aws_sdk_eventbridge::types::DeadLetterConfig::builder()
                .arn(&dlq_arn)
                .build(),
        )
        .build()
        .unwrap();
    rule_to(&admin_conf, &bus_arn(cloud), name, direct).await;
    (role, dlq_url)
}

/// One `app.users` probe on `bus`, put by `users`: its id. The publisher
/// never sees a target's failure.
async fn publish(users: &Events, bus: &str) -> String {
    let put = users
        .put_events()
        .entries(entry(bus, "app.users"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        put.failed_entry_count(),
        0,
        "the publisher never sees a target's failure"
    );
    put.entries()[0].event_id().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_consumers_undelivered_events_land_in_its_own_accounts_dead_letter_queue() {
    let cloud = start();
    let bus = bus_arn(&cloud);
    let todos_conf = account(&cloud, TODOS).await;
    let (url, arn) = queue(&todos_conf, "todos-consumer").await;
    // A queue in another account is a direct target: the bus's owner puts
    // it, with an execution role of its own account.
    let send = ("sqs:SendMessage", arn.as_str());
    let (role, dlq_url) = direct_target(&cloud, "todos-Consumer", "platform-ToTodos", send).await;
    let users = Events::new(&account(&cloud, USERS).await);

    // The consumer's queue does not let the role in: the event lands in
    // the team's dead-letter queue, with its producer's account and why.
    let first = publish(&users, &bus).await;
    let dead = letters(&todos_conf, &dlq_url).await;
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(
        (dead[0].0["id"].as_str(), dead[0].0["account"].as_str()),
        (Some(first.as_str()), Some(USERS))
    );
    assert_eq!(dead[0].1.as_deref(), Some("NO_PERMISSIONS"));
    assert!(bodies(&todos_conf, &url).await.is_empty());
    let refused = read_judgements(&PathBuf::from(&cloud.endpoints.telemetry_dir))
        .into_iter()
        .any(|j| j.function == "EventBridge todos-Consumer" && j.verdict == "denied");
    assert!(refused, "the trail names the refused delivery");
    let roleless = Target::builder().id("direct").arn(&arn).build().unwrap();
    let (code, message) = refusal(
        Events::new(&admin(&cloud).await)
            .put_targets()
            .rule("todos-Consumer")
            .event_bus_name(&bus)
            .targets(roleless)
            .send()
            .await
            .unwrap_err()
            .into_service_error(),
    );
    assert_eq!(code, "ValidationException", "{message}");

    // Once its policy lets the rule in, the queue in the team's account
    // gets the next event, and the dead-letter queue nothing more.
    allow(
        &todos_conf,
        &url,
        lets_the_role("sqs:SendMessage", &arn, &role),
    )
    .await;
    let second = publish(&users, &bus).await;
    let arrived = bodies(&todos_conf, &url).await;
    let ids: Vec<_> = arrived.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [second.as_str()]);
    assert!(letters(&todos_conf, &dlq_url).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_topic_in_a_teams_account_gets_the_rules_events_only_once_its_policy_lets_the_role_in() {
    let cloud = start();
    let bus = bus_arn(&cloud);
    let todos_conf = account(&cloud, TODOS).await;
    let sns = aws_sdk_sns::Client::new(&todos_conf);
    let topic = sns
        .create_topic()
        .name("todos-alerts")
        .send()
        .await
        .unwrap();
    let topic = topic.topic_arn().unwrap().to_owned();
    // What the topic sends on, read from a queue it may deliver to.
    let (copy_url, copy_arn) = queue(&todos_conf, "todos-alerts-copy").await;
    let sns_sends = serde_json::json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
        "Action": "sqs:SendMessage", "Resource": &copy_arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": &topic}}}]});
    allow(&todos_conf, &copy_url, sns_sends.to_string()).await;
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(&copy_arn)
        .send()
        .await
        .unwrap();
    let publish_to = ("sns:Publish", topic.as_str());
    let (role, dlq_url) =
        direct_target(&cloud, "todos-Alerts", "platform-ToAlerts", publish_to).await;
    let users = Events::new(&account(&cloud, USERS).await);

    let first = publish(&users, &bus).await;
    let dead = letters(&todos_conf, &dlq_url).await;
    let dead: Vec<_> = dead
        .iter()
        .map(|(e, code)| (e["id"].as_str(), code.as_deref()))
        .collect();
    assert_eq!(dead, [(Some(first.as_str()), Some("NO_PERMISSIONS"))]);
    assert!(bodies(&todos_conf, &copy_url).await.is_empty());

    sns.set_topic_attributes()
        .topic_arn(&topic)
        .attribute_name("Policy")
        .attribute_value(lets_the_role("sns:Publish", &topic, &role))
        .send()
        .await
        .unwrap();
    let second = publish(&users, &bus).await;
    let sent: Vec<serde_json::Value> = bodies(&todos_conf, &copy_url)
        .await
        .iter()
        .map(|n| serde_json::from_str(n["Message"].as_str().unwrap()).unwrap())
        .collect();
    let ids: Vec<_> = sent.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [second.as_str()]);
    assert_eq!(sent[0]["account"], USERS);
    assert!(letters(&todos_conf, &dlq_url).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bus_policy_statement_goes_with_its_stack() {
    let cloud = start();
    let bus = bus_arn(&cloud);
    let admin_conf = admin(&cloud).await;
    let lets_the_stranger_in = serde_json::json!({"Resources": {"StrangerPublishes": {
        "Type": "AWS::Events::EventBusPolicy", "Properties": {
            "EventBusName": cloud.endpoints.bus_name, "StatementId": "StrangerPublishes",
            "Statement": {"Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::{STRANGER}:root")},
                "Action": "events:PutEvents", "Resource": &bus}}}}});
    deploy(
        &admin_conf,
        "stranger-welcome",
        lets_the_stranger_in.to_string(),
    )
    .await
    .unwrap();
    let stranger = Events::new(&account(&cloud, STRANGER).await);
    let put = || {
        stranger
            .put_events()
            .entries(entry(&bus, "app.todos"))
            .send()
    };
    assert_eq!(put().await.unwrap().failed_entry_count(), 0);

    let cfn = aws_sdk_cloudformation::Client::new(&admin_conf);
    cfn.delete_stack()
        .stack_name("stranger-welcome")
        .send()
        .await
        .unwrap();
    let (code, _) = refusal(put().await.unwrap_err().into_service_error());
    assert_eq!(
        code, "AccessDeniedException",
        "the statement left with its stack"
    );
}

/// The todos team's stack, as `ops` discovers one on AWS: its
/// subscription (a rule on the platform's bus forwarding probes to its
/// inbox as `role`), the subscription's dead-letter queue in its own
/// account (which lets that rule in), and the queue's URL as the
/// `DeadLetterQueueUrl` output.
fn team_stack(cloud: &Detached, role: &str) -> String {
    let rule = format!(
        "arn:aws:events:{}:{}:rule/{}/todos-Probes",
        kit::config::LOCAL_REGION,
        kit::config::LOCAL_ACCOUNT,
        cloud.endpoints.bus_name
    );
    let dlq = serde_json::json!({"Fn::GetAtt": ["DeadLetterQueue", "Arn"]});
    serde_json::json!({"Resources": {
        "Inbox": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "todos-inbox"}},
        "DeadLetterQueue": {"Type": "AWS::SQS::Queue"},
        "DeadLetterQueuePolicy": {"Type": "AWS::SQS::QueuePolicy", "Properties": {
            "Queues": [{"Ref": "DeadLetterQueue"}],
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage", "Resource": dlq,
                "Condition": {"ArnEquals": {"aws:SourceArn": rule}}}]}}},
        "Subscription": {"Type": "AWS::Events::Rule", "Properties": {
            "Name": "todos-Probes", "EventBusName": bus_arn(cloud),
            "EventPattern": {"detail-type": ["Probe"]},
            "Targets": [{"Id": "inbox", "Arn": {"Fn::GetAtt": ["Inbox", "Arn"]},
                "RoleArn": role, "DeadLetterConfig": {"Arn": dlq}}]}}},
        "Outputs": {"DeadLetterQueueUrl": {"Value": {"Ref": "DeadLetterQueue"}}}})
    .to_string()
}

/// todos' team stack deployed in its account, forwarding as a role that
/// may put on `put_on`, and a queue of its own receiving what reaches
/// its inbox: the queue's URL.
async fn team(cloud: &Detached, put_on: &str) -> String {
    let todos_conf = account(cloud, TODOS).await;
    let role = delivery_role(
        &todos_conf,
        TODOS,
        "todos-Forward",
        ("events:PutEvents", put_on),
    )
    .await;
    deploy(&todos_conf, "todos", team_stack(cloud, &role))
        .await
        .unwrap();
    inbox_queue(&todos_conf, "todos-arrivals").await
}

/// A new queue in todos' account receiving what reaches its inbox: its URL.
async fn inbox_queue(todos_conf: &SdkConfig, prefix: &str) -> String {
    let (url, arn) = queue(todos_conf, prefix).await;
    rule_to(todos_conf, "todos-inbox", "arrivals", target("q", &arn)).await;
    url
}

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

/// A cloud with every service, in one account (the platform's): the
/// functions a rule in another account reaches.
fn start_with_services() -> Detached {
    cloud::start_detached(Options {
        bin_dir: repo::profile_dir(),
        retry_delay: Duration::from_millis(20),
        ..Options::default()
    })
    .expect("the local cloud starts")
}

/// Whether `function` ran for the rule delivery of `correlation`'s event,
/// and how it ended, once it did.
fn rule_delivery(cloud: &Detached, function: &str, correlation: &str) -> Option<String> {
    let dir = PathBuf::from(cloud.endpoints.telemetry_dir.as_str());
    let hops = devstack_api::telemetry::read_hops(&dir).unwrap_or_default();
    hops.into_iter()
        .find(|h| {
            h.function == function
                && h.kind == "rule"
                && h.correlation_ids.iter().any(|c| c == correlation)
        })
        .map(|h| h.outcome)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_function_in_another_account_gets_a_rules_event_only_once_its_policy_lets_the_role_in() {
    let cloud = start_with_services();
    let consumer = cloud.endpoints.services["notifications"].functions["ConsumerFunction"].clone();
    let function = format!(
        "arn:aws:lambda:{}:{}:function:{consumer}",
        kit::config::LOCAL_REGION,
        kit::config::LOCAL_ACCOUNT
    );
    // todos' own bus, whose rule's direct target is notifications'
    // consumer in the platform's account, invoked as todos' role.
    let todos_conf = account(&cloud, TODOS).await;
    let outbox = Events::new(&todos_conf);
    outbox
        .create_event_bus()
        .name("todos-outbox")
        .send()
        .await
        .unwrap();
    let invoke_as = ("lambda:InvokeFunction", function.as_str());
    let role = delivery_role(&todos_conf, TODOS, "todos-Invoker", invoke_as).await;
    let rule = format!(
        "arn:aws:events:{}:{TODOS}:rule/todos-outbox/registrations",
        kit::config::LOCAL_REGION
    );
    let (dlq_url, dlq_arn) = queue(&todos_conf, "todos-invoke-dlq").await;
    allow(&todos_conf, &dlq_url, lets_the_rule_send(&dlq_arn, &rule)).await;
    outbox
        .put_rule()
        .name("registrations")
        .event_bus_name("todos-outbox")
        .event_pattern(r#"{"detail-type": ["UserRegistered"]}"#)
        .send()
        .await
        .unwrap();
    let dead_letters = aws_sdk_eventbridge::types::DeadLetterConfig::builder()
        .arn(&dlq_arn)
        .build();
    let target = Target::builder()
        .id("consumer")
        .arn(&function)
        .role_arn(&role)
        .dead_letter_config(dead_letters)
        .build()
        .unwrap();
    (outbox.put_targets())
        .rule("registrations")
        .event_bus_name("todos-outbox")
        .targets(target)
        .send()
        .await
        .unwrap();
    let example = devstack_client::burst::registration_example().unwrap();
    let registered = |prefix: &str| {
        let (put, detail) = devstack_client::burst::registration(&example, prefix);
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name("todos-outbox")
            .source("app.users")
            .detail_type("UserRegistered")
            .detail(detail.to_string())
            .build();
        (put.correlation, entry)
    };

    // The function's policy does not let todos' role in: a dead letter in
    // todos' account, and no invocation.
    let (refused, entry) = registered("elsewhere-refused");
    let put = outbox.put_events().entries(entry).send().await.unwrap();
    assert_eq!(
        put.failed_entry_count(),
        0,
        "the publisher sees no target's failure"
    );
    let got = letters(&todos_conf, &dlq_url).await;
    let codes: Vec<_> = got.iter().map(|(_, code)| code.as_deref()).collect();
    assert_eq!(codes, [Some("NO_PERMISSIONS")], "{got:?}");

    // The platform's function lets the role in: the next event is invoked.
    let permission = serde_json::json!({"Resources": {"LetTodosIn": {
        "Type": "AWS::Lambda::Permission", "Properties": {
            "FunctionName": consumer, "Action": "lambda:InvokeFunction", "Principal": role}}}});
    deploy(&admin(&cloud).await, "let-todos-in", permission.to_string())
        .await
        .unwrap();
    let (allowed, entry) = registered("elsewhere-allowed");
    outbox.put_events().entries(entry).send().await.unwrap();
    let within = Duration::from_secs(20);
    let outcome = eventually(within, "the consumer's invocation", || async {
        Ok(rule_delivery(
            &cloud,
            "notifications/ConsumerFunction",
            &allowed,
        ))
    })
    .await;
    assert_eq!(
        outcome.as_deref().ok(),
        Some("ok"),
        "{:?}",
        letters(&todos_conf, &dlq_url).await
    );
    assert_eq!(
        rule_delivery(&cloud, "notifications/ConsumerFunction", &refused),
        None
    );
    assert_eq!(letters(&todos_conf, &dlq_url).await.len(), 0);
}

/// The real todos template, deployed as its team deploys it into
/// `conf`'s account: the platform's bus named by its account, the rest of
/// what it takes from the platform as parameters.
async fn todos_stack(
    conf: &SdkConfig,
) -> Result<(cloud::deploy::Deployed, devstack_template::adapt::Plan), String> {
    let template = devstack_template::load(&repo::template_path("todos")).unwrap();
    let browsers = format!(
        "arn:aws:iam::{}:role/platform-BrowserRole",
        kit::config::LOCAL_ACCOUNT
    );
    let parameters = [
        ("PlatformAccount", kit::config::LOCAL_ACCOUNT),
        (
            "Issuer",
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_pool",
        ),
        ("UserPoolClientId", "client"),
        ("BrowserRoleArn", browsers.as_str()),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()));
    // As the local cloud gives parameters: its adapter evaluates the
    // template's conditions with their defaults.
    let template = devstack_template::adapt::with_parameters(template, &parameters);
    let (adapted, plan) = devstack_template::adapt::adapt("todos", &template).unwrap();
    let deployed = cloud::deploy::create_stack(conf, "todos", &adapted, &[])
        .await
        .map_err(|e| format!("{e:#}"))?;
    Ok((deployed, plan))
}

/// users' publisher, in users' account, puts a UserDeleted on the bus:
/// its id.
async fn users_deleted(cloud: &Detached) -> String {
    let users = Events::new(&account(cloud, USERS).await);
    crate::deploy::user_deleted_on(&users, &bus_arn(cloud)).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_teams_real_stack_in_its_account_subscribes_on_the_platforms_bus_and_gets_its_events() {
    let cloud = start();
    let todos_conf = account(&cloud, TODOS).await;
    let (deployed, plan) = todos_stack(&todos_conf).await.unwrap();

    let id = users_deleted(&cloud).await;

    // It reaches todos' consumer in todos' account, through the stack's
    // subscription and inbox, once, as users' event.
    let tap = &plan.rules[0];
    assert_eq!(tap.function, "OnUserDeletedFunction");
    let arrived = bodies(&todos_conf, deployed.physical(&tap.tap_queue).unwrap()).await;
    assert_eq!(arrived.len(), 1, "{arrived:?}");
    assert_eq!(arrived[0]["id"], id);
    assert_eq!(arrived[0]["account"], USERS);
    assert_eq!(arrived[0]["detail-type"], "UserDeleted");
    let dlq = deployed.physical("DeadLetterQueue").unwrap();
    assert!(bodies(&todos_conf, dlq).await.is_empty());

    // With its inbox gone, the next one waits in todos' own DLQ, let in
    // by the stack's queue policy for its subscription, with EventBridge's
    // reason.
    Events::new(&todos_conf)
        .delete_event_bus()
        .name(deployed.physical("InboxBus").unwrap())
        .send()
        .await
        .unwrap();
    users_deleted(&cloud).await;
    let waiting = letters(&todos_conf, dlq).await;
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    assert_eq!(waiting[0].0["account"], USERS);
    assert_eq!(waiting[0].1.as_deref(), Some("NO_RESOURCE"));

    // An account the bus's policy does not name cannot subscribe: its
    // stack fails on the subscription, refused as AWS refuses it.
    let refused = todos_stack(&account(&cloud, STRANGER).await)
        .await
        .unwrap_err();
    assert!(
        refused.contains(&format!(
            "arn:aws:iam::{STRANGER}:root is not authorized to perform: events:PutRule"
        )),
        "{refused}"
    );
    assert!(denied_for(&cloud, STRANGER, "events:PutRule"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_buckets_notification_goes_out_from_its_own_account_whoever_writes_the_object() {
    use aws_sdk_s3::types::{Event, NotificationConfiguration, QueueConfiguration};
    let cloud = start();
    let todos = account(&cloud, TODOS).await;
    let (url, arn) = queue(&todos, "todos-uploads").await;
    let bucket = format!("todos-uploads-{}", uuid::Uuid::new_v4().simple());
    let s3 = cloud::deploy::path_style_s3(&todos);
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let notify = QueueConfiguration::builder()
        .queue_arn(&arn)
        .events(Event::S3ObjectCreated)
        .build()
        .unwrap();
    s3.put_bucket_notification_configuration()
        .bucket(&bucket)
        .notification_configuration(
            NotificationConfiguration::builder()
                .queue_configurations(notify)
                .build(),
        )
        .send()
        .await
        .unwrap();

    // Written from the platform's account, as a presigned URL's write
    // reaches the engine.
    cloud::deploy::path_style_s3(&admin(&cloud).await)
        .put_object()
        .bucket(&bucket)
        .key("users/u1/report.pdf")
        .body(b"%PDF".to_vec().into())
        .send()
        .await
        .unwrap();

    let keys: Vec<String> = bodies(&todos, &url)
        .await
        .iter()
        .flat_map(|b| b["Records"].as_array().cloned().unwrap_or_default())
        .map(|r| {
            r["s3"]["object"]["key"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    // An S3 event's key is URL-encoded, as AWS writes it.
    assert_eq!(
        keys,
        ["users%2Fu1%2Freport.pdf"],
        "in the bucket's account's queue"
    );
}

#[test]
fn a_team_in_its_own_account_cannot_map_its_api_on_the_platforms_host() {
    // The platform's custom domain is in the platform's account; todos is
    // placed in its own and told to map its API there anyway.
    let refused = cloud::start_detached(Options {
        bin_dir: repo::profile_dir(),
        accounts: cloud::accounts::per_team(),
        parameter_overrides: vec![Override {
            stack: "todos".into(),
            parameter: cloud::custom_domain::API_DOMAIN_PARAMETER.into(),
            value: format!("api.{}", cloud::custom_domain::LOCAL_DOMAIN),
        }],
        ..Options::default()
    })
    .err()
    .expect("the mapping across accounts is refused");
    let refused = format!("{refused:#}");
    assert!(
        refused
            .contains("stack todos: its API mapping (base path todos) failed: NotFoundException"),
        "{refused}"
    );
}
