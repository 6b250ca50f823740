//! A gradual deployment played against a function process of its own (the
//! Lambda runtime's test function, a small Python program), for timings
//! the real binaries cannot be made to keep; and its DLQ alarm's count.

use std::time::Duration;

use devstack_cloud::alarms::sent::Sent;
use devstack_cloud::alarms::{LambdaMetric, Source, Watch};
use devstack_cloud::gradual::{Target, play};
use devstack_cloud::hooks::Hooks;
use devstack_lambda::runtime::{Arrival, Function, Qualifier, Spec};
use devstack_template::adapt::{Dimension, GradualDeploy, RollbackAlarm};
use serde_json::json;

fn sleepy() -> Spec {
    Spec {
        name: "test/Sleepy".into(),
        physical_name: "sleepy".into(),
        arn: "arn:aws:lambda:us-east-1:123456789012:function:sleepy".into(),
        binary: std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../lambda/tests/fixtures/sleepy-function.py"),
        env: Vec::new(),
        timeout: Duration::from_secs(10),
        recorder: None,
        configuration: Default::default(),
        capture: None,
        max_environments: 2,
    }
}

/// The maintainers' rollback alarm: any error of the version being
/// deployed, in one period.
fn new_version_errors() -> RollbackAlarm {
    RollbackAlarm {
        id: "NewVersionErrorsAlarm".into(),
        namespace: "AWS/Lambda".into(),
        metric: "Errors".into(),
        dimensions: vec![
            ("Resource".into(), Dimension::Alias("Sleepy".into())),
            ("ExecutedVersion".into(), Dimension::NewVersion),
        ],
        statistic: "Sum".into(),
        period: 60,
        evaluation_periods: 1,
        datapoints: 1,
        threshold: "0".into(),
        comparison: "GreaterThanThreshold".into(),
        missing: "notBreaching".into(),
    }
}

// The new version's one event fails after the last step has shifted
// everything to it. It is counted only when it ends, so an alarm read at
// the last step saw nothing, and the bad version was promoted (the
// failing consumer's deployment under the test command's load).
#[tokio::test]
async fn an_event_the_new_version_fails_after_the_last_step_still_rolls_it_back() {
    let spec = sleepy();
    let binary = spec.binary.clone();
    let function = Function::start(spec).await.unwrap();
    let target = Target {
        name: "test/Sleepy".into(),
        function: function.clone(),
        binary,
        env: vec![("FAIL_EVERY_EVENT".into(), "1".into())],
        timeout: function.spec.timeout,
        preference: GradualDeploy {
            function: "Sleepy".into(),
            alias: "live".into(),
            // 10% for five template minutes of 100 ms, then all of it.
            config: "CodeDeployDefault.LambdaCanary10Percent5Minutes".into(),
            alarms: vec![new_version_errors()],
            unread_alarms: Vec::new(),
            pre_traffic: None,
            post_traffic: None,
        },
        sources: vec![Ok(Source::Lambda {
            function: function.clone(),
            newest: true,
            metric: LambdaMetric::Errors,
        })],
        pre_traffic: None,
        post_traffic: None,
    };
    let hooks = Hooks::default();
    let slow_event = async {
        while function.weights().0.len() < 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // Longer than the canary's 500 ms: it ends after the last step.
        let (outcome, version) = function
            .invoke_qualified(
                &Qualifier::Version(2),
                "slow".into(),
                json!({"sleep": 1.5}),
                Arrival::new("invoke", "test"),
            )
            .await
            .expect("version 2 is staged");
        (outcome.is_err(), version)
    };
    let (played, ran) = tokio::join!(play(vec![target], 100, &hooks), slow_event);
    assert_eq!(ran, (true, 2), "the new version failed the event");
    let played = played.unwrap();
    let d = &played.deployments[0];
    assert_eq!(d.new_version.errors, 1, "{d:?}");
    assert_eq!(d.outcome, "rolled back", "{d:?}");
    let why = played.rolled_back.unwrap_or_default();
    assert!(why.contains("NewVersionErrorsAlarm"), "{why}");
    assert_eq!(function.weights().0, [(1, 1.0)], "back on the old version");
}

/// The alarm a deployment watches on its stack's DLQ: a letter sent to
/// the queue in one period, of the service's template.
fn dead_letters_sent() -> RollbackAlarm {
    RollbackAlarm {
        id: "DeadLettersSentAlarm".into(),
        namespace: "AWS/SQS".into(),
        metric: "NumberOfMessagesSent".into(),
        dimensions: vec![("QueueName".into(), Dimension::Queue("Dlq".into()))],
        ..new_version_errors()
    }
}

/// A deployment is judged by the letters sent while it runs: one left in
/// the DLQ by an earlier version is no datapoint of it (a fix deploys
/// over a full DLQ), and one its versions send through the DLQ's topic,
/// as a function's async failure goes, is.
#[tokio::test]
async fn the_dlq_alarm_counts_the_letters_sent_during_the_deployment_not_those_waiting() {
    let emulator = devstack_emulator::start().unwrap();
    let conf = emulator.sdk_config().await;
    let (sqs, sns) = (
        aws_sdk_sqs::Client::new(&conf),
        aws_sdk_sns::Client::new(&conf),
    );
    let url = (sqs
        .create_queue()
        .queue_name("svc-dlq")
        .send()
        .await
        .unwrap())
    .queue_url()
    .unwrap()
    .to_owned();
    let queue_arn = "arn:aws:sqs:us-east-1:123456789012:svc-dlq";
    let topic = (sns.create_topic().name("svc-dlq").send().await.unwrap())
        .topic_arn()
        .unwrap()
        .to_owned();
    let policy = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
        "Action": "sqs:SendMessage", "Resource": queue_arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": topic}}}]});
    sqs.set_queue_attributes()
        .queue_url(&url)
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::Policy,
            policy.to_string(),
        )
        .send()
        .await
        .unwrap();
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(queue_arn)
        .send()
        .await
        .unwrap();
    let letter = |body: &'static str| sns.publish().topic_arn(&topic).message(body).send();
    letter("left by an earlier version").await.unwrap();

    let source = Source::Sent(Sent::new(&conf, &url).unwrap());
    let mut watch = Watch::new(dead_letters_sent(), Ok(source), 100).await;
    watch.close().await;
    let state = watch.state();
    assert_eq!(state.state, "OK", "{state:?}");
    assert_eq!(
        state.reason,
        "Sum NumberOfMessagesSent 0 over the last period"
    );

    letter("sent by the version being deployed").await.unwrap();
    watch.close().await;
    let state = watch.state();
    assert!(watch.in_alarm(), "{state:?}");
    assert_eq!(
        state.reason,
        "Sum NumberOfMessagesSent 1 over the last period"
    );
}
