//! The real stacks and functions in accounts of their own: a rule's
//! function, a team's subscription, a bucket's notification, a domain.

use super::*;

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
