//! A state machine from a CloudFormation stack, run on moto's interpreter
//! against a real function behind the local Lambda API: a task's output
//! reaches the next state, a Retry shows its attempts, a callback task
//! resumes on SendTaskSuccess with the token the function received, and
//! the history reads and renders.
//!
//! `SFN_RECORD_FIXTURE=1` writes the execution's history to
//! `tests/fixtures/history.json`, which the history module's unit tests
//! parse.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aws_sdk_cloudformation::types::StackStatus;
use aws_sdk_sfn::types::ExecutionStatus;
use devstack_lambda::runtime::{Function, Spec};
use devstack_sfn::history::{self, Outcome};
use devstack_sfn::machines::{self, Change};
use serde_json::{Value, json};
use tokio::net::TcpListener;

const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:sfn-task";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn spec(token_file: &Path) -> Spec {
    Spec {
        name: "sfn-test/Task".into(),
        physical_name: "sfn-task".into(),
        arn: FUNCTION_ARN.into(),
        binary: fixtures().join("task-function.py"),
        env: vec![("TOKEN_FILE".into(), token_file.display().to_string())],
        timeout: Duration::from_secs(10),
        recorder: None,
        configuration: Default::default(),
        capture: None,
        max_environments: 1,
    }
}

/// The template as a team writes it: a plain state machine with its
/// definition inline and its references as substitutions.
fn template() -> Value {
    let definition = json!({
        "StartAt": "Double",
        "States": {
            "Double": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "${TaskArn}", "Payload.$": "$"},
                "ResultSelector": {"n.$": "$.Payload.n"},
                "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 1}],
                "Next": "Callback"
            },
            "Callback": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {"FunctionName": "${TaskArn}", "Payload": {"token.$": "$$.Task.Token", "n.$": "$.n"}},
                "HeartbeatSeconds": 60,
                "ResultPath": "$.callback",
                "Next": "Done"
            },
            "Done": {
                "Type": "Pass",
                "Parameters": {"n.$": "$.n", "callback.$": "$.callback", "role": "${RoleArn}"},
                "End": true
            }
        }
    });
    json!({
        "Parameters": {"TaskArn": {"Type": "String", "Default": FUNCTION_ARN}},
        "Resources": {
            "Role": {"Type": "AWS::IAM::Role", "Properties": {
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                    "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}},
            "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {}},
            "Flow": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {
                "Definition": definition,
                "DefinitionSubstitutions": {"TaskArn": {"Ref": "TaskArn"}, "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]}},
                "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
                "StateMachineType": "STANDARD",
                "LoggingConfiguration": {"Level": "ALL", "IncludeExecutionData": true,
                    "Destinations": [{"CloudWatchLogsLogGroup": {"LogGroupArn": {"Fn::GetAtt": ["Logs", "Arn"]}}}]},
                "TracingConfiguration": {"Enabled": true}}}
        },
        "Outputs": {"FlowArn": {"Value": {"Ref": "Flow"}}}
    })
}

/// Polls `check` until it gives a value or `within` passes.
async fn eventually<T, F, Fut>(what: &str, within: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

struct Cloud {
    moto: String,
    sdk: aws_config::SdkConfig,
    _function: Function,
}

/// moto with `MOTO_PORT` on the router, the router, the Lambda API and
/// the function.
async fn cloud(token_file: &Path) -> Cloud {
    let router = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let router_port = router.local_addr().unwrap().port();
    let emulator =
        devstack_emulator::start_with(&[("MOTO_PORT", router_port.to_string())]).unwrap();
    let function = Function::start(spec(token_file)).await.unwrap();
    let functions = BTreeMap::from([("sfn-test/Task".to_owned(), function.clone())]);
    let lambda = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let lambda_url = format!("http://{}", lambda.local_addr().unwrap());
    let api = devstack_lambda::lambda_api::router(functions, BTreeMap::new());
    tokio::spawn(async move { axum::serve(lambda, api).await });
    let moto = emulator.url.clone();
    tokio::spawn(devstack_sfn::router::serve(
        router,
        lambda_url,
        moto.clone(),
    ));
    Cloud {
        sdk: emulator.sdk_config().await,
        moto,
        _function: function,
    }
}

async fn deploy(sdk: &aws_config::SdkConfig, stack: &str, template: &Value) {
    let cfn = aws_sdk_cloudformation::Client::new(sdk);
    cfn.create_stack()
        .stack_name(stack)
        .template_body(template.to_string())
        .send()
        .await
        .unwrap();
    eventually("stack created", Duration::from_secs(30), || async {
        let stacks = cfn.describe_stacks().stack_name(stack).send().await.ok()?;
        let status = stacks.stacks()[0].stack_status()?.clone();
        assert!(
            !matches!(
                status,
                StackStatus::CreateFailed | StackStatus::RollbackComplete
            ),
            "{status:?}"
        );
        (status == StackStatus::CreateComplete).then_some(())
    })
    .await;
}

async fn physical_id(sdk: &aws_config::SdkConfig, stack: &str, logical: &str) -> String {
    aws_sdk_cloudformation::Client::new(sdk)
        .describe_stack_resource()
        .stack_name(stack)
        .logical_resource_id(logical)
        .send()
        .await
        .unwrap()
        .stack_resource_detail
        .and_then(|d| d.physical_resource_id)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stack_machine_runs_tasks_retries_and_callbacks() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    let cloud = cloud(&token_file).await;
    let (adapted, plan) = devstack_template::adapt("sfn-test", &template()).unwrap();
    deploy(&cloud.sdk, "sfn-test", &adapted).await;
    let mut arns = Vec::new();
    for m in &plan.state_machines {
        arns.push(physical_id(&cloud.sdk, "sfn-test", &m.logical_id).await);
    }
    let sfn = aws_sdk_sfn::Client::new(&cloud.sdk);
    let made = machines::make_runnable(&sfn, &cloud.moto, &arns)
        .await
        .unwrap();
    assert_eq!(made[0].change, Change::Created, "{made:?}");
    assert_eq!(made[0].arn, arns[0]);
    // Again, with the interpreter on: nothing to do, nothing broken.
    let again = machines::make_runnable(&sfn, &cloud.moto, &arns)
        .await
        .unwrap();
    assert_eq!(again[0].change, Change::Unchanged, "{again:?}");

    let started = sfn
        .start_execution()
        .state_machine_arn(&arns[0])
        .name("run-1")
        .input(json!({"n": 21, "key": "run-1", "failTimes": 2}).to_string())
        .send()
        .await
        .unwrap();
    let execution = started.execution_arn;

    // The function received the token the history says the task handed out.
    let token = eventually(
        "the callback task's token",
        Duration::from_secs(30),
        || async {
            std::fs::read_to_string(&token_file)
                .ok()
                .filter(|t| !t.is_empty())
        },
    )
    .await;
    let waiting = history::fetch(&cloud.moto, &execution).await.unwrap();
    assert_eq!(waiting.status, "RUNNING");
    let double = &waiting.steps[0];
    assert_eq!(
        (double.name.as_str(), double.kind.as_str()),
        ("Double", "Task")
    );
    let outcomes: Vec<&Outcome> = double.attempts.iter().map(|a| &a.outcome).collect();
    assert_eq!(double.attempts.len(), 3, "{outcomes:?}");
    for failed in &outcomes[..2] {
        assert!(
            matches!(failed, Outcome::Failed(f) if f.error.as_deref() == Some("Flaky")),
            "{failed:?}"
        );
    }
    assert!(
        matches!(outcomes[2], Outcome::Succeeded { .. }),
        "{outcomes:?}"
    );
    assert_eq!(double.output, Some(json!({"n": 42})));
    let callback = &waiting.steps[1];
    assert_eq!(
        callback.input,
        Some(json!({"n": 42})),
        "the task's output is the next state's input"
    );
    assert_eq!(
        callback.attempts[0].task_token.as_deref(),
        Some(token.as_str())
    );
    assert_eq!(callback.attempts[0].heartbeat_seconds, Some(60));

    sfn.send_task_success()
        .task_token(&token)
        .output(json!({"ok": true}).to_string())
        .send()
        .await
        .unwrap();
    let done = eventually("the execution ends", Duration::from_secs(30), || async {
        let d = sfn
            .describe_execution()
            .execution_arn(&execution)
            .send()
            .await
            .ok()?;
        (d.status != ExecutionStatus::Running).then_some(d)
    })
    .await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
    let output: Value = serde_json::from_str(done.output().unwrap()).unwrap();
    assert_eq!(output["n"], 42);
    assert_eq!(output["callback"], json!({"ok": true}));
    assert!(
        output["role"]
            .as_str()
            .is_some_and(|r| r.starts_with("arn:aws:iam::")),
        "the GetAtt substitution was resolved: {output}"
    );

    let recorded = history::record(&cloud.moto, &execution).await.unwrap();
    if std::env::var_os("SFN_RECORD_FIXTURE").is_some() {
        let text = serde_json::to_string_pretty(&recorded).unwrap();
        std::fs::write(fixtures().join("history.json"), text + "\n").unwrap();
    }
    let finished = recorded.parse();
    assert_eq!(finished.status, "SUCCEEDED");
    let names: Vec<&str> = finished.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["Double", "Callback", "Done"]);
    // A second stack, deployed with the interpreter on: its machine is made
    // runnable too, and the first one's execution outlives the switch.
    let (second, _) = devstack_template::adapt("sfn-test-2", &template()).unwrap();
    deploy(&cloud.sdk, "sfn-test-2", &second).await;
    let other = vec![physical_id(&cloud.sdk, "sfn-test-2", "Flow").await];
    let made = machines::make_runnable(&sfn, &cloud.moto, &other)
        .await
        .unwrap();
    assert_eq!(made[0].change, Change::Created, "{made:?}");
    let kept = history::fetch(&cloud.moto, &execution).await.unwrap();
    assert_eq!(kept.status, "SUCCEEDED");

    // A redeploy that changes the definition: the interpreter's copy
    // follows.
    let mut changed = template();
    changed["Resources"]["Flow"]["Properties"]["Definition"]["States"]["Done"]["Parameters"]["v"] =
        json!(2);
    let (changed, _) = devstack_template::adapt("sfn-test-2", &changed).unwrap();
    let cfn = aws_sdk_cloudformation::Client::new(&cloud.sdk);
    cfn.update_stack()
        .stack_name("sfn-test-2")
        .template_body(changed.to_string())
        .send()
        .await
        .unwrap();
    let made = machines::make_runnable(&sfn, &cloud.moto, &other)
        .await
        .unwrap();
    assert_eq!(made[0].change, Change::Updated, "{made:?}");
    let now = sfn
        .describe_state_machine()
        .state_machine_arn(&other[0])
        .send()
        .await
        .unwrap();
    assert!(now.definition.contains("\"v\":2"), "{}", now.definition);

    let text = devstack_sfn::render::render(&finished);
    println!("{text}");
    assert!(text.contains("execution run-1  SUCCEEDED"), "{text}");
    assert!(text.contains("(3 attempts)"), "{text}");
}
