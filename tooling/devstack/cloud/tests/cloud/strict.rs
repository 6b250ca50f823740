//! The local cloud refuses what AWS refuses: each test applies one mistake
//! to a copy of a real template, deploys it on a fresh local cloud (strict
//! IAM, the default), and shows the refusal the way a user meets it, with
//! the trail's verdict naming the action. Every other test runs the real
//! templates in the same strict mode, so they are the passing half.
//!
//! A binary of its own, not a module of `tests`' `all`: the test command
//! runs it in the lane beside `all`, which has the time to spare.

use std::path::PathBuf;
use std::time::Duration;

use devstack_api::telemetry::{Judgement, read_hops, read_judgements};
use devstack_client::walkthrough::{Client, eventually, token_for};
use devstack_cloud::{self as cloud, Detached, IamMode, Options};
use reqwest::Method;
use serde_json::json;

fn unique_email(tag: &str) -> String {
    format!(
        "{tag}-{}@example.com",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    )
}

/// A copy of `service`'s template with `real` replaced by `mistake` (each
/// must be found once: a template that moved on fails here, by name).
pub(crate) fn mistaken(service: &str, real: &str, mistake: &str) -> (tempfile::TempDir, PathBuf) {
    let text = std::fs::read_to_string(repo::template_path(service)).unwrap();
    assert_eq!(
        text.matches(real).count(),
        1,
        "{service}'s template no longer holds exactly one {real:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("template.yaml");
    std::fs::write(&file, text.replacen(real, mistake, 1)).unwrap();
    (dir, file)
}

fn start(service: &str, template: PathBuf) -> Detached {
    start_in(service, template, IamMode::Strict)
}

fn start_in(service: &str, template: PathBuf, iam: IamMode) -> Detached {
    start_among(service, template, iam, &[])
}

/// The mistake is `service`'s: no stack but it and `also` needs deploying.
fn start_among(service: &str, template: PathBuf, iam: IamMode, also: &[&str]) -> Detached {
    let services = (also.iter().copied())
        .chain([service])
        .map(str::to_owned)
        .collect();
    cloud::start_detached(Options {
        iam,
        bin_dir: repo::profile_dir(),
        retry_delay: Duration::from_millis(20),
        function_env: vec![("RUST_LOG".into(), "warn".into())],
        templates: [(service.to_owned(), template)].into(),
        services: Some(services),
        ..Options::default()
    })
    .expect("the local cloud starts")
}

async fn client(cloud: &Detached) -> Client {
    Client {
        http: reqwest::Client::new(),
        base: cloud.endpoints.api_base_url.as_str().to_owned(),
        token: token_for(&cloud.endpoints, &unique_email("strict"))
            .await
            .unwrap(),
    }
}

fn denials(cloud: &Detached, function: &str) -> Vec<Judgement> {
    verdicts(cloud, function, "denied")
}

fn verdicts(cloud: &Detached, function: &str, verdict: &str) -> Vec<Judgement> {
    read_judgements(&PathBuf::from(&cloud.endpoints.telemetry_dir))
        .into_iter()
        .filter(|j| j.function == function && j.verdict == verdict)
        .collect()
}

/// The users API's policy cut down to reads.
fn read_only_users_api() -> (tempfile::TempDir, PathBuf) {
    mistaken(
        "users",
        "        - DynamoDBCrudPolicy: { TableName: !Ref Table }\n      Events:\n        Put:",
        "        - DynamoDBReadPolicy: { TableName: !Ref Table }\n      Events:\n        Put:",
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_function_that_may_only_read_its_table_fails_the_write_and_the_trail_names_put_item() {
    let (_dir, template) = read_only_users_api();
    let cloud = start("users", template);
    let api = client(&cloud).await;
    let (status, body) = api
        .call(
            Method::PUT,
            "/users/me",
            Some(json!({"display_name": "Ada"})),
        )
        .await
        .unwrap();
    assert!(
        status >= 500,
        "a write without dynamodb:PutItem: {status} {body}"
    );
    let table = &cloud.endpoints.services["users"].table;
    let denied = denials(&cloud, "users/ApiFunction");
    assert!(
        denied
            .iter()
            .any(|j| j.action == "dynamodb:PutItem"
                && j.resource.ends_with(&format!(":table/{table}"))),
        "{denied:#?}"
    );
    assert!(
        denied[0].reason.contains("no statement allows"),
        "{denied:#?}"
    );
    // What the policy does allow still works: reading (the profile the
    // pool's trigger made at the sign-up, under a role of its own).
    let (status, _) = api.call(Method::GET, "/users/me", None).await.unwrap();
    assert_eq!(status, 200, "the read is allowed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_publisher_without_put_events_never_delivers_and_the_trail_names_put_events() {
    let (_dir, template) = mistaken(
        "users",
        "        - Statement:\n            - Effect: Allow\n              Action: events:PutEvents\n              Resource: !Sub\n                - \"arn:${AWS::Partition}:events:${AWS::Region}:${Account}:event-bus/${BusName}\"\n                - Account: !If [PlatformElsewhere, !Ref PlatformAccount, !Ref AWS::AccountId]\n        - SNSPublishMessagePolicy: { TopicName: !GetAtt DeadLetterTopic.TopicName }\n        - Statement:\n            - Effect: Allow\n              Action: [kms:GenerateDataKey*, kms:Decrypt]\n              Resource: !GetAtt MessagesKey.Arn\n      Events:\n        Stream:",
        "        - SNSPublishMessagePolicy: { TopicName: !GetAtt DeadLetterTopic.TopicName }\n        - Statement:\n            - Effect: Allow\n              Action: [kms:GenerateDataKey*, kms:Decrypt]\n              Resource: !GetAtt MessagesKey.Arn\n      Events:\n        Stream:",
    );
    let cloud = start("users", template);
    let api = client(&cloud).await;
    let correlation = uuid::Uuid::new_v4().to_string();
    let (status, _) = api
        .call_correlated(
            Method::PUT,
            "/users/me",
            Some(json!({"display_name": "Grace"})),
            Some(&correlation),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "the write itself is allowed");
    let denied = first_records("the PutEvents refusal", || {
        denials(&cloud, "users/PublisherFunction")
    })
    .await;
    assert!(
        denied.iter().all(|j| j.action == "events:PutEvents"
            && j.resource
                .ends_with(&format!(":event-bus/{}", cloud.endpoints.bus_name))),
        "{denied:#?}"
    );
    // Nothing reached the bus: no event hop carries the request's id.
    let hops = read_hops(&PathBuf::from(&cloud.endpoints.telemetry_dir)).unwrap();
    assert!(
        !hops
            .iter()
            .any(|h| h.kind == "bus" && h.correlation_ids.contains(&correlation)),
        "an event reached the bus"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_mode_lets_the_mistake_through_and_records_what_strict_would_refuse() {
    let (_dir, template) = read_only_users_api();
    let cloud = start_in("users", template, IamMode::Audit);
    let api = client(&cloud).await;
    let (status, body) = api
        .call(
            Method::PUT,
            "/users/me",
            Some(json!({"display_name": "Ada"})),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "audit refuses nothing: {body}");
    let would = verdicts(&cloud, "users/ApiFunction", "would-deny");
    assert!(
        would.iter().any(|j| j.action == "dynamodb:PutItem"),
        "{would:#?}"
    );
    assert!(denials(&cloud, "users/ApiFunction").is_empty());
    // What the role may do is recorded as allowed, once per action and
    // resource: the profile just written, read twice.
    for _ in 0..2 {
        let (status, _) = api.call(Method::GET, "/users/me", None).await.unwrap();
        assert_eq!(status, 200);
    }
    let allowed = verdicts(&cloud, "users/ApiFunction", "allowed");
    assert!(!allowed.is_empty());
    let mut pairs: Vec<_> = allowed.iter().map(|j| (&j.action, &j.resource)).collect();
    let recorded = pairs.len();
    pairs.sort();
    pairs.dedup();
    assert_eq!(pairs.len(), recorded, "{allowed:#?}");
}

/// A UserDeleted no consumer can decode, on the cloud's bus.
async fn put_undecodable_user_deleted(cloud: &Detached) {
    put_user_deleted(cloud, false).await
}

/// The example UserDeleted on the cloud's bus, without its user id unless
/// `decodable`.
async fn put_user_deleted(cloud: &Detached, decodable: bool) {
    let mut detail: serde_json::Value =
        serde_json::from_str(&users_example("UserDeleted")).unwrap();
    if !decodable {
        detail["data"].as_object_mut().unwrap().remove("user_id");
    }
    put_users_event(cloud, "UserDeleted", detail.to_string()).await;
}

/// The committed example of a users event (v1).
fn users_example(detail_type: &str) -> String {
    std::fs::read_to_string(repo::root().join(format!(
        "events/examples/app.users/{detail_type}/v1/example.json"
    )))
    .unwrap()
}

/// One users event on the cloud's bus, as the users publisher puts it.
async fn put_users_event(cloud: &Detached, detail_type: &str, detail: String) {
    let conf = kit::config::endpoint(&cloud.endpoints.emulator_url).await;
    aws_sdk_eventbridge::Client::new(&conf)
        .put_events()
        .entries(
            aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                .event_bus_name(cloud.endpoints.bus_name.as_str())
                .source("app.users")
                .detail_type(detail_type)
                .detail(detail)
                .build(),
        )
        .send()
        .await
        .unwrap();
}

/// How many dead letters `service`'s queue holds.
async fn dead_letters(cloud: &Detached, service: &str) -> String {
    let conf = kit::config::endpoint(&cloud.endpoints.emulator_url).await;
    let name = aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages;
    aws_sdk_sqs::Client::new(&conf)
        .get_queue_attributes()
        .queue_url(&cloud.endpoints.services[service].dlq_queue_url)
        .attribute_names(name.clone())
        .send()
        .await
        .unwrap()
        .attributes()
        .unwrap()[&name]
        .clone()
}

/// Until the tap queue whose name holds `tap` holds no message, visible or
/// taken.
async fn tap_emptied(cloud: &Detached, tap: &str) {
    let conf = kit::config::endpoint(&cloud.endpoints.emulator_url).await;
    let sqs = aws_sdk_sqs::Client::new(&conf);
    let queues = sqs.list_queues().send().await.unwrap();
    let url = queues
        .queue_urls()
        .iter()
        .find(|u| u.contains(tap))
        .unwrap_or_else(|| panic!("no tap queue {tap}"))
        .clone();
    use aws_sdk_sqs::types::QueueAttributeName as A;
    eventually(Duration::from_secs(30), "the tap emptied", || async {
        let attributes = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(A::ApproximateNumberOfMessages)
            .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await?;
        let held = attributes
            .attributes()
            .into_iter()
            .flatten()
            .any(|(_, n)| n != "0");
        Ok((!held).then_some(()))
    })
    .await
    .unwrap();
}

/// The records `read` finds once it finds any (waiting up to 30 s).
async fn first_records(what: &str, read: impl Fn() -> Vec<Judgement>) -> Vec<Judgement> {
    eventually(Duration::from_secs(30), what, || async {
        let found = read();
        Ok((!found.is_empty()).then_some(found))
    })
    .await
    .unwrap()
}

/// Every refusal of what the service principal `service` did for the
/// account (`sns.amazonaws.com` delivering, `apigateway.amazonaws.com`
/// invoking).
fn refused_for(cloud: &Detached, service: &str) -> Vec<Judgement> {
    read_judgements(&PathBuf::from(&cloud.endpoints.telemetry_dir))
        .into_iter()
        .filter(|j| j.role == service && j.verdict == "denied")
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dead_letter_queue_that_does_not_let_sns_in_never_gets_the_dead_letter() {
    let (_dir, template) = mistaken(
        "todos",
        "            Principal: { Service: sns.amazonaws.com }\n            Action: sqs:SendMessage",
        "            Principal: { Service: events.amazonaws.com }\n            Action: sqs:SendMessage",
    );
    let cloud = start("todos", template);
    // A UserDeleted the todos consumer cannot decode: it fails, is retried,
    // and is dead-lettered to the todos topic, which SNS may not deliver
    // to the todos queue.
    put_undecodable_user_deleted(&cloud).await;
    let refused = first_records("SNS's refused delivery", || {
        refused_for(&cloud, "sns.amazonaws.com")
    })
    .await;
    let queue = &cloud.endpoints.services["todos"].dlq_queue_url;
    let queue_name = queue.rsplit('/').next().unwrap();
    assert!(
        refused
            .iter()
            .any(|j| j.action == "sqs:SendMessage" && j.resource.ends_with(queue_name)),
        "{refused:#?}"
    );
    assert_eq!(
        dead_letters(&cloud, "todos").await,
        "0",
        "the dead letter reached the queue"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_policy_that_does_not_let_the_stacks_roles_through_sns_fails_the_publish() {
    let (_dir, template) = mistaken(
        "notifications",
        "          - Sid: ThisStacksRolesPublishThroughSns\n",
        "          - Sid: SomeoneElsesRolesPublishThroughSns\n",
    );
    // The statement now names another stack's roles.
    let text = std::fs::read_to_string(&template).unwrap().replacen(
        "role/${AWS::StackName}-*",
        "role/someone-else-*",
        1,
    );
    std::fs::write(&template, text).unwrap();
    // The welcome comes from a user's registration: their sign-up.
    let cloud = start_among("notifications", template, IamMode::Strict, &["users"]);
    client(&cloud).await;
    // The welcome is stored, and its delivery's publish to the encrypted
    // topic is refused by the key.
    let denied = first_records("the key's refusal", || {
        denials(&cloud, "notifications/DelivererFunction")
    })
    .await;
    assert!(
        denied
            .iter()
            .any(|j| j.action == "kms:GenerateDataKey" && j.resource.contains(":key/")),
        "{denied:#?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_consumer_whose_role_may_not_use_its_topics_key_loses_its_dead_letters() {
    // The consumer's KMS grant for its encrypted dead-letter topic is gone:
    // Lambda, publishing the dead letter as the function's role, is refused
    // by the key, and AWS deletes the event.
    let (_dir, template) = mistaken(
        "todos",
        "        - S3CrudPolicy: { BucketName: !Sub \"${AWS::StackName}-${AWS::AccountId}-attachments\" }\n        - Statement:\n            - Effect: Allow\n              Action: [kms:GenerateDataKey*, kms:Decrypt]\n              Resource: !GetAtt MessagesKey.Arn\n        # Erasure removes",
        "        - S3CrudPolicy: { BucketName: !Sub \"${AWS::StackName}-${AWS::AccountId}-attachments\" }\n        # Erasure removes",
    );
    let cloud = start("todos", template);
    put_undecodable_user_deleted(&cloud).await;
    let denied = first_records("the dead letter's refusal", || {
        denials(&cloud, "todos/OnUserDeletedFunction")
    })
    .await;
    assert!(
        denied.iter().any(|j| j.action == "kms:GenerateDataKey"),
        "{denied:#?}"
    );
    assert_eq!(dead_letters(&cloud, "todos").await, "0");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_presigned_upload_lands_only_as_it_was_signed() {
    // The real templates: the URL is checked, as S3 checks it.
    let cloud = start("todos", repo::template_path("todos"));
    let content = b"twelve bytes".to_vec();
    let url = upload_url(&client(&cloud).await, content.len()).await;
    let url = url.as_str();
    let put = |url: String, content_type: &'static str| {
        let body = content.clone();
        async move {
            let answer = reqwest::Client::new()
                .put(url)
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .unwrap();
            (answer.status().as_u16(), answer.text().await.unwrap())
        }
    };
    // Another content type than the one signed: S3's SignatureDoesNotMatch.
    let (status, body) = put(url.to_owned(), "text/html").await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("<Code>SignatureDoesNotMatch</Code>"),
        "{body}"
    );
    // Another key under the same signature.
    let (status, _) = put(url.replacen('?', "-other?", 1), "text/plain").await;
    assert_eq!(status, 403);
    let (status, body) = put(url.to_owned(), "text/plain").await;
    assert_eq!(status, 200, "the upload as signed: {body}");
    // Unsigned, nobody may write or read it: no policy of the bucket lets
    // every principal in.
    let bare = url.split('?').next().unwrap().to_owned();
    let (status, body) = put(bare.clone(), "text/plain").await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("<Code>AccessDenied</Code>"), "{body}");
    let read = reqwest::get(&bare).await.unwrap();
    assert_eq!(read.status().as_u16(), 403);
    let nobody = verdicts(&cloud, "anonymous", "denied");
    assert!(
        nobody.iter().any(|j| j.action == "s3:GetObject")
            && nobody.iter().any(|j| j.action == "s3:PutObject"),
        "{nobody:#?}"
    );
}

/// A presigned upload URL of a fresh todo, as the web app gets one, for
/// `size` bytes of text.
async fn upload_url(api: &Client, size: usize) -> String {
    let (status, todo) = api
        .call(Method::POST, "/todos", Some(json!({"title": "cors"})))
        .await
        .unwrap();
    assert_eq!(status, 201, "{todo}");
    let id = todo["id"].as_str().or(todo.as_str()).unwrap().to_owned();
    let (status, grant) = api
        .call(
            Method::POST,
            &format!("/todos/{id}/attachments"),
            Some(json!({"file_name": "a.txt", "content_type": "text/plain", "size": size})),
        )
        .await
        .unwrap();
    assert_eq!(status, 201, "{grant}");
    grant["upload_url"].as_str().unwrap().to_owned()
}

/// The browser's preflight before its PUT: status and allowed origin.
async fn preflight(url: &str, origin: &str) -> (u16, Option<String>) {
    let answer = reqwest::Client::new()
        .request(Method::OPTIONS, url)
        .header("origin", origin)
        .header("access-control-request-method", "PUT")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    let allowed = answer
        .headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap().to_owned());
    (answer.status().as_u16(), allowed)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_attachments_bucket_lets_the_web_app_upload_and_no_other_origin() {
    let cloud = start("todos", repo::template_path("todos"));
    let url = upload_url(&client(&cloud).await, 5).await;
    let web = cloud.endpoints.web_url.trim_end_matches('/').to_owned();
    assert_eq!(preflight(&url, &web).await, (200, Some(web.clone())));
    assert_eq!(preflight(&url, "https://evil.example").await, (403, None));
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_cors_rule_the_browsers_upload_is_refused_at_its_preflight() {
    let (_dir, template) = mistaken(
        "todos",
        // The upload's rule gone; the listing's (GET, HEAD) stays.
        "          - AllowedOrigins: [!Ref WebOrigin]\n            AllowedMethods: [PUT]\n            AllowedHeaders: [content-type]\n            MaxAge: 3000\n",
        "",
    );
    let cloud = start("todos", template);
    let url = upload_url(&client(&cloud).await, 5).await;
    let web = cloud.endpoints.web_url.trim_end_matches('/').to_owned();
    assert_eq!(preflight(&url, &web).await, (403, None));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rule_written_by_hand_without_a_lambda_permission_never_invokes_its_target() {
    // The UserDeleted rule moved out of SAM's Events (which writes the
    // permission) into a rule of its own, its permission forgotten: AWS's
    // EventBridge may not invoke the function and, after its retries,
    // drops the event.
    let (_dir, template) = mistaken(
        "todos",
        "      Events:\n        UserDeleted:\n          Type: EventBridgeRule\n          Properties:\n            EventBusName: !Ref InboxBus\n            Pattern:\n",
        "  OnUserDeletedRule:\n    Type: AWS::Events::Rule\n    Properties:\n      Targets:\n        - Id: OnUserDeleted\n          Arn: !GetAtt OnUserDeletedFunction.Arn\n      EventBusName: !Ref InboxBus\n      EventPattern:\n",
    );
    let cloud = start("todos", template);
    put_user_deleted(&cloud, true).await;
    let refused = first_records("EventBridge's refused invocation", || {
        refused_for(&cloud, "events.amazonaws.com")
    })
    .await;
    let function = &cloud.endpoints.services["todos"].functions["OnUserDeletedFunction"];
    assert!(
        refused.iter().all(|j| j.action == "lambda:InvokeFunction"
            && j.resource.ends_with(&format!(":function:{function}"))
            && j.function.contains("OnUserDeletedRule")),
        "{refused:#?}"
    );
    // Once the rule's event has left its tap (an invocation would end
    // first), no invocation is on record.
    tap_emptied(&cloud, "OnUserDeletedRuleTap").await;
    let hops = read_hops(&PathBuf::from(&cloud.endpoints.telemetry_dir)).unwrap();
    assert!(
        !hops
            .iter()
            .any(|h| h.function == "todos/OnUserDeletedFunction"),
        "the consumer was invoked"
    );
}

#[test]
fn a_stream_mapping_whose_role_may_not_read_the_stream_is_refused_at_start() {
    // The publisher's stream moved out of SAM's Events (which attaches
    // AWSLambdaDynamoDBExecutionRole) into a mapping of its own: AWS
    // refuses to create the mapping, and so the stack.
    let (_dir, template) = mistaken(
        "users",
        "      Events:\n        Stream:\n          Type: DynamoDB\n          Properties:\n            Stream: !GetAtt Table.StreamArn\n            StartingPosition: TRIM_HORIZON\n            BatchSize: 100\n            MaximumBatchingWindowInSeconds: 0\n            BisectBatchOnFunctionError: true\n            MaximumRetryAttempts: 3\n            FunctionResponseTypes: [ReportBatchItemFailures]\n            DestinationConfig:\n              OnFailure:\n                Type: SNS\n                Destination: !Ref DeadLetterTopic\n",
        "  PublisherMapping:\n    Type: AWS::Lambda::EventSourceMapping\n    Properties:\n      FunctionName: !Ref PublisherFunction\n      EventSourceArn: !GetAtt Table.StreamArn\n      StartingPosition: TRIM_HORIZON\n      BatchSize: 100\n      BisectBatchOnFunctionError: true\n      MaximumRetryAttempts: 3\n      FunctionResponseTypes: [ReportBatchItemFailures]\n      DestinationConfig:\n        OnFailure:\n          Destination: !Ref DeadLetterTopic\n",
    );
    let refused = cloud::start_detached(Options {
        bin_dir: repo::profile_dir(),
        function_env: vec![("RUST_LOG".into(), "warn".into())],
        templates: [("users".to_owned(), template)].into(),
        ..Options::default()
    })
    .err()
    .map(|e| format!("{e:#}"))
    .expect("the local cloud refuses the mapping");
    assert!(
        refused.contains("PublisherFunction")
            && refused.contains("Cannot access stream arn:aws:dynamodb:")
            && refused.contains("GetRecords, GetShardIterator, DescribeStream, and ListStreams"),
        "{refused}"
    );
}

/// A campaign's admin: in the `admins` group, with a token issued after.
pub(crate) async fn admin(cloud: &Detached) -> Client {
    let address = unique_email("admin");
    token_for(&cloud.endpoints, &address).await.unwrap();
    let conf = kit::config::endpoint(&cloud.endpoints.emulator_url).await;
    let cognito =
        kit::signed::json_protocol::JsonApi::new(&conf, kit::signed::json_protocol::COGNITO_IDP);
    cloud::cognito::add_to_group(&cognito, &cloud.endpoints.user_pool_id, &address, "admins")
        .await
        .unwrap();
    Client {
        http: reqwest::Client::new(),
        base: cloud.endpoints.api_base_url.as_str().to_owned(),
        token: token_for(&cloud.endpoints, &address).await.unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_state_machine_role_without_a_steps_function_fails_that_task() {
    // The state machine's role lost the first step's function: Step
    // Functions invokes it as that role and is refused, so the campaign
    // goes to its Failure step.
    let (_dir, template) = mistaken(
        "campaigns",
        "                  - !Ref SendFunction.Alias\n                  - !GetAtt SendFunction.Arn\n",
        "",
    );
    let cloud = start("campaigns", template);
    let admin = admin(&cloud).await;
    let body = json!({"subject": "Refused", "body": "Never sent."});
    let (status, started) = admin
        .call(Method::POST, "/campaigns", Some(body))
        .await
        .unwrap();
    assert_eq!(status, 202, "{started}");
    let path = format!("/campaigns/{}", started["id"].as_str().unwrap());
    let ended = eventually(Duration::from_secs(60), "the campaign to end", || async {
        let (_, c) = admin.call(Method::GET, &path, None).await?;
        let done = matches!(c["status"].as_str(), Some("delivered" | "failed"));
        Ok(done.then_some(c))
    })
    .await
    .unwrap();
    assert_eq!(ended["status"], "failed", "{ended}");
    assert!(
        ended["reason"]
            .as_str()
            .is_some_and(|r| r.contains("AccessDenied") && r.contains("lambda:InvokeFunction")),
        "{ended}"
    );
    let send = &cloud.endpoints.services["campaigns"].functions["SendFunction"];
    let refused: Vec<Judgement> = read_judgements(&PathBuf::from(&cloud.endpoints.telemetry_dir))
        .into_iter()
        .filter(|j| j.function.starts_with("Step Functions ") && j.verdict == "denied")
        .collect();
    assert!(
        !refused.is_empty()
            && refused.iter().all(|j| j.action == "lambda:InvokeFunction"
                && j.resource.ends_with(&format!(":function:{send}"))),
        "{refused:#?}"
    );
}

/// The notifications stack's WebSocket API as a browser opens it: the
/// socket, or the handshake's HTTP status.
async fn open_socket(
    cloud: &Detached,
) -> Result<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    u16,
> {
    let token = token_for(&cloud.endpoints, &unique_email("socket"))
        .await
        .unwrap();
    let url = format!("{}?token={token}", cloud.endpoints.socket_url.as_str());
    match tokio_tungstenite::connect_async(url).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(e) => panic!("the handshake failed without an HTTP answer: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_websocket_route_whose_permission_names_another_stage_refuses_the_connection() {
    // The $connect route's function lets API Gateway in for a stage the
    // API does not have: AWS answers the handshake 500 and never runs it.
    let (_dir, template) = mistaken(
        "notifications",
        ":${SocketApi}/*\"",
        ":${SocketApi}/prod/*\"",
    );
    let cloud = start("notifications", template);
    assert_eq!(open_socket(&cloud).await.err(), Some(500));
    let refused = refused_for(&cloud, "apigateway.amazonaws.com");
    let function = &cloud.endpoints.services["notifications"].functions["SocketFunction"];
    assert!(
        refused.len() == 1
            && refused[0].action == "lambda:InvokeFunction"
            && refused[0]
                .resource
                .ends_with(&format!(":function:{function}"))
            && refused[0].function.ends_with("/live/$connect"),
        "{refused:#?}"
    );
    // Its authorizer's permission is right: it was let in.
    assert!(
        refused_for(&cloud, "apigateway.amazonaws.com")
            .iter()
            .all(|j| !j.function.contains("/authorizers/")),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_socket_function_whose_role_names_another_stage_cannot_answer_on_the_connection() {
    // `execute-api:ManageConnections` granted on a stage that is not the
    // API's: the function's `@connections` POST is refused, so a `ping`
    // gets API Gateway's error instead of its `pong`.
    let (_dir, template) = mistaken(
        "notifications",
        "${SocketStage}/POST/@connections/*\"\n\n  ConsumerFunction:",
        "prod/POST/@connections/*\"\n\n  ConsumerFunction:",
    );
    let cloud = start("notifications", template);
    let mut ws = open_socket(&cloud).await.expect("the socket opens");
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    ws.send(Message::Text(r#"{"action":"ping"}"#.into()))
        .await
        .unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(Ok(m)) = ws.next().await {
            if let Message::Text(t) = m {
                return serde_json::from_str::<serde_json::Value>(t.as_str()).unwrap();
            }
        }
        panic!("the socket closed without an answer");
    })
    .await
    .expect("an answer to the ping");
    assert_eq!(reply["message"], "Internal server error", "{reply}");
    let denied = denials(&cloud, "notifications/SocketFunction");
    assert!(
        denied
            .iter()
            .any(|j| j.action == "execute-api:ManageConnections"
                && j.resource.contains("/live/POST/@connections/")),
        "{denied:#?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_function_that_may_not_publish_to_its_on_failure_topic_loses_the_batch() {
    // The deliverer may not publish its deliveries, so its batch fails, and
    // a Deny keeps it off the dead-letter topic (meant so that it cannot
    // write letters itself). Lambda publishes the stream mapping's
    // OnFailure record as the function's role, so the Deny wins over the
    // grant SAM adds for the destination: the record never reaches the DLQ.
    let (_dir, template) = mistaken(
        "notifications",
        "        - SNSPublishMessagePolicy: { TopicName: !GetAtt DeliveryTopic.TopicName }\n        - SNSPublishMessagePolicy: { TopicName: !GetAtt DeadLetterTopic.TopicName }\n",
        "        - Statement:\n            - Effect: Deny\n              Action: sns:Publish\n              Resource: !Ref DeadLetterTopic\n",
    );
    let cloud = start("notifications", template);
    put_users_event(&cloud, "UserRegistered", users_example("UserRegistered")).await;
    // The welcome reaches the stream; each delivery is refused, and after
    // the mapping's retries so is the OnFailure record.
    let refused = first_records("the OnFailure record's refused publish", || {
        denials(&cloud, "notifications/DelivererFunction")
            .into_iter()
            .filter(|j| j.action == "sns:Publish" && j.resource.contains("DeadLetterTopic"))
            .collect()
    })
    .await;
    assert!(!refused.is_empty());
    assert!(
        denials(&cloud, "notifications/DelivererFunction")
            .iter()
            .any(|j| j.action == "sns:Publish" && j.resource.contains("DeliveryTopic")),
        "the deliveries were refused first"
    );
    assert_eq!(dead_letters(&cloud, "notifications").await, "0");
}

/// One of Cognito Identity's calls at the cloud's Cognito front.
async fn identity_call(
    cloud: &Detached,
    operation: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let res = reqwest::Client::new()
        .post(cloud.endpoints.cognito_url.as_str())
        .header("content-type", "application/x-amz-json-1.1")
        .header(
            "x-amz-target",
            format!("AWSCognitoIdentityService.{operation}"),
        )
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_that_does_not_trust_the_identity_pool_gives_the_browser_no_credentials() {
    // The role's trust names another identity pool: STS refuses Cognito's
    // AssumeRoleWithWebIdentity, and Cognito calls the pool misconfigured.
    let (_dir, template) = mistaken(
        "platform",
        "                cognito-identity.amazonaws.com:aud: !Ref IdentityPool\n",
        "                cognito-identity.amazonaws.com:aud: us-east-1:00000000-0000-0000-0000-000000000000\n",
    );
    let cloud = cloud::start_detached(Options {
        iam: IamMode::Strict,
        bin_dir: repo::profile_dir(),
        retry_delay: Duration::from_millis(20),
        function_env: vec![("RUST_LOG".into(), "warn".into())],
        templates: [("platform".to_owned(), template)].into(),
        services: Some(["users".to_owned()].into()),
        ..Options::default()
    })
    .expect("the local cloud starts");
    let e = &cloud.endpoints;
    let token = token_for(e, &unique_email("pool")).await.unwrap();
    let provider = format!("cognito-idp.{}.amazonaws.com/{}", e.region, e.user_pool_id);
    let logins = json!({ provider: token });
    let (status, id) = identity_call(
        &cloud,
        "GetId",
        json!({"IdentityPoolId": e.identity_pool_id, "Logins": logins}),
    )
    .await;
    assert_eq!(status, 200, "{id}");
    let (status, refused) = identity_call(
        &cloud,
        "GetCredentialsForIdentity",
        json!({"IdentityId": id["IdentityId"], "Logins": logins}),
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(
        refused["__type"],
        "InvalidIdentityPoolConfigurationException"
    );
    let who = format!("identity/{}", id["IdentityId"].as_str().unwrap());
    let denied = denials(&cloud, &who);
    assert!(
        denied
            .iter()
            .any(|j| j.action == "sts:AssumeRoleWithWebIdentity"
                && j.resource.contains("BrowserRole")
                && j.reason == "no statement allows it"),
        "{denied:?}"
    );
}
