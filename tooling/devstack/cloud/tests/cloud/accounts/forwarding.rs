//! A team's subscription forwarding to a bus of its own, and direct
//! targets in a team's account with their dead letters.

use super::*;

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

/// A resource policy letting `role` do `action` on `resource`.
fn lets_the_role(action: &str, resource: &str, role: &str) -> String {
    serde_json::json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "TheRoleDelivers", "Effect": "Allow", "Principal": {"AWS": role},
        "Action": action, "Resource": resource}]})
    .to_string()
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
