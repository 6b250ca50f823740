//! Teams in accounts of their own, meeting on the platform's bus: each
//! call from another account is judged on both sides, as AWS judges it.
//! The platform stack is the real one, with two teams' accounts named in
//! its parameters; the teams act as their accounts' administrators.

mod dead_letters;
mod forwarding;
mod publishing;
mod real_stacks;

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
