//! How the judge sees each operation a function calls: the request the
//! operation sends, in its protocol's shape, handed to the judge's own
//! mapping ([`devstack_iam::actions::calls`]) and context
//! ([`devstack_iam::verdict::context_keys`]). Nothing here decides an
//! action: an operation the judge does not know shows as refused.

use devstack_iam::actions::{Call, MapError, Names, Place, calls};
use devstack_iam::sigv4::Arrived;
use devstack_iam::verdict::{Caller, context_keys};

/// What the judge asks IAM for one operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judged {
    /// The actions (on sample resources) and the condition keys it sets
    /// beyond those every call has ([`common_keys`]).
    Actions {
        actions: Vec<String>,
        keys: Vec<String>,
    },
    /// The judge does not know the operation: strict mode refuses it.
    Refused(String),
}

const PLACE_ACCOUNT: &str = "123456789012";

fn place() -> Place {
    Place {
        account: PLACE_ACCOUNT.into(),
        region: "us-east-1".into(),
    }
}

/// Every name resolves: the sample asks about the operation, not about
/// a resource's existence.
struct Any;

impl Names for Any {
    fn secret_arn(&self, name: &str) -> Option<String> {
        Some(format!(
            "arn:aws:secretsmanager:us-east-1:{PLACE_ACCOUNT}:secret:{name}-AbCdEf"
        ))
    }
    fn api_id(&self, _host: &str) -> Option<String> {
        Some("sample".into())
    }
    fn rule_creator(&self, _rule_arn: &str) -> Option<String> {
        None
    }
}

/// The `X-Amz-Target` prefix of each JSON-protocol API the functions call
/// through an SDK client (the hand-signed ones carry theirs in
/// `kit::signed::json_protocol`).
fn json_target(service: &str) -> Option<&'static str> {
    Some(match service {
        "dynamodb" => "DynamoDB_20120810",
        "events" => kit::signed::json_protocol::EVENTS.target,
        "sqs" => "AmazonSQS",
        "states" => "AWSStepFunctions",
        "ssm" => kit::signed::json_protocol::SSM.target,
        "secretsmanager" => kit::signed::json_protocol::SECRETS_MANAGER.target,
        "codedeploy" => kit::signed::json_protocol::CODEDEPLOY.target,
        "cognito-idp" => kit::signed::json_protocol::COGNITO_IDP.target,
        "kms" => kit::signed::json_protocol::KMS.target,
        _ => return None,
    })
}

/// A body with every field any JSON operation's mapping reads.
fn json_body() -> String {
    let table = serde_json::json!({"TableName": "sample"});
    serde_json::json!({
        "TableName": "sample",
        "QueueUrl": format!("https://sqs.us-east-1.amazonaws.com/{PLACE_ACCOUNT}/sample"),
        "QueueName": "sample",
        "Name": "/sample",
        "Names": ["/sample"],
        "Path": "/sample",
        "SecretId": "sample", // pragma: allowlist secret (a field name, no secret)
        "UserPoolId": "us-east-1_sample",
        "KeyId": "sample",
        "stateMachineArn": format!("arn:aws:states:us-east-1:{PLACE_ACCOUNT}:stateMachine:sample"),
        "executionArn": format!("arn:aws:states:us-east-1:{PLACE_ACCOUNT}:execution:sample:run"),
        "Entries": [{"EventBusName": "sample", "Source": "app.sample", "DetailType": "Sample"}],
        "TransactItems": [
            {"Put": table}, {"Update": table}, {"Delete": table}, {"ConditionCheck": table}
        ],
        "RequestItems": {"sample": []},
    })
    .to_string()
}

/// How a REST operation is sent: method and path (with its query).
fn rest(service: &str, operation: &str) -> Option<(&'static str, &'static str)> {
    Some(match (service, operation) {
        ("s3", "PutObject") => ("PUT", "/bucket/key"),
        ("s3", "GetObject") => ("GET", "/bucket/key"),
        ("s3", "HeadObject") => ("HEAD", "/bucket/key"),
        ("s3", "DeleteObject") => ("DELETE", "/bucket/key"),
        ("s3", "ListObjectVersions") => ("GET", "/bucket?versions"),
        ("s3", "ListObjectsV2") => ("GET", "/bucket?list-type=2"),
        ("s3", "CreateBucket") => ("PUT", "/bucket"),
        ("lambda", "Invoke") => ("POST", "/2015-03-31/functions/sample/invocations"),
        ("lambda", "GetFunction") => ("GET", "/2015-03-31/functions/sample"),
        ("cloudfront", "CreateInvalidation") => ("POST", "/2020-05-31/distribution/D/invalidation"),
        ("execute-api", "PostToConnection") => ("POST", "/live/@connections/sample"),
        _ => return None,
    })
}

/// What the judge asks IAM for `operation` of `service`, made by a
/// function.
pub fn judged(service: &str, operation: &str) -> Judged {
    let (method, path, target, body) = if let Some(prefix) = json_target(service) {
        (
            "POST",
            "/".to_owned(),
            Some(format!("{prefix}.{operation}")),
            json_body(),
        )
    } else if service == "sns" {
        let form =
            format!("Action={operation}&TopicArn=arn:aws:sns:us-east-1:{PLACE_ACCOUNT}:sample");
        ("POST", "/".to_owned(), None, form)
    } else if let Some((method, path)) = rest(service, operation) {
        (method, path.to_owned(), None, String::new())
    } else {
        return Judged::Refused(format!(
            "no sample request for {service} {operation}: add its shape to `judged::rest`"
        ));
    };
    let mut headers = vec![("host", "localhost")];
    if let Some(target) = &target {
        headers.push(("x-amz-target", target));
    }
    if service == "sns" {
        headers.push(("content-type", "application/x-www-form-urlencoded"));
    }
    let request = Arrived {
        method,
        path_and_query: &path,
        headers: &headers,
        body: body.as_bytes(),
    };
    match calls(service, &request, &place(), &Any) {
        Ok(wanted) => summary(&wanted),
        Err(e @ MapError::Unknown { .. }) => Judged::Refused(e.to_string()),
        Err(e @ MapError::Malformed { .. }) => Judged::Refused(format!(
            "the sample request does not fit the judge's mapping: {e}"
        )),
    }
}

fn function() -> Caller {
    Caller::Role {
        arn: format!("arn:aws:iam::{PLACE_ACCOUNT}:role/function"),
        session: None,
        tags: Vec::new(),
    }
}

/// The keys the judge sets for every call a function makes.
pub fn common_keys() -> Vec<String> {
    context_keys(&function(), &Call::new("sample:Sample", "*"), &place())
}

fn summary(wanted: &[Call]) -> Judged {
    let caller = function();
    let common = common_keys();
    let mut actions: Vec<String> = wanted.iter().map(|c| c.action.clone()).collect();
    actions.sort();
    actions.dedup();
    let mut keys: Vec<String> = wanted
        .iter()
        .flat_map(|c| context_keys(&caller, c, &place()))
        .filter(|k| !common.contains(k))
        .collect();
    keys.sort();
    keys.dedup();
    Judged::Actions { actions, keys }
}
