//! What a call asks IAM for: each AWS request mapped to the actions it
//! needs and the ARN of each resource, for every operation the functions
//! make (a transaction needs one action per item). The names are IAM's
//! (`lambda:InvokeFunction`, not the signing name's operation), checked
//! against the service authorisation reference's data in this crate's
//! tests. An operation this module does not know is refused by name, never
//! let through unjudged.

use serde::Serialize;
use serde_json::Value;

use crate::sigv4::Arrived;

mod rest;
use rest::{cloudfront, codedeploy, execute_api, lambda, s3};

/// One thing IAM judges: an action on a resource.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Call {
    /// `dynamodb:PutItem`.
    pub action: String,
    /// The resource's ARN, or `*` for actions without a resource type.
    pub resource: String,
    /// Condition keys this call sets beyond the caller's
    /// (`kms:ViaService` when SNS uses a key for the caller).
    pub context: Vec<(String, String)>,
}

impl Call {
    pub fn new(action: impl Into<String>, resource: impl Into<String>) -> Self {
        Self {
            action: action.into(),
            resource: resource.into(),
            context: Vec::new(),
        }
    }

    fn of(service: &str, operation: &str, resource: impl Into<String>) -> Self {
        Self::new(format!("{service}:{operation}"), resource)
    }

    /// The same call with a condition key set.
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.context.push((key.to_owned(), value.into()));
        self
    }
}

/// The account and region a call is made in.
#[derive(Debug, Clone)]
pub struct Place {
    pub account: String,
    pub region: String,
}

impl Place {
    fn arn(&self, service: &str, rest: &str) -> String {
        format!("arn:aws:{service}:{}:{}:{rest}", self.region, self.account)
    }
}

/// Names a request may carry instead of an ARN, which only the emulator
/// can turn into one (a secret's ARN ends in a random suffix).
pub trait Names {
    fn secret_arn(&self, name: &str) -> Option<String>;
    /// The API whose endpoint `host` is, where the host does not say it
    /// (`{api}.execute-api.{region}.amazonaws.com` does; a local port
    /// does not).
    fn api_id(&self, host: &str) -> Option<String>;
    /// The account that created the rule `rule_arn` (DescribeRule's
    /// `CreatedBy`); none for a rule that does not exist yet.
    fn rule_creator(&self, rule_arn: &str) -> Option<String>;
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum MapError {
    #[error("the local cloud does not know which IAM action {service} {operation} needs")]
    Unknown { service: String, operation: String },
    #[error("{service} {operation}: {reason}")]
    Malformed {
        service: String,
        operation: String,
        reason: String,
    },
}

/// The calls `request`, signed for `service`, asks IAM to allow. Empty:
/// nothing to judge (STS's GetCallerIdentity needs no permission).
pub fn calls(
    service: &str,
    request: &Arrived<'_>,
    place: &Place,
    names: &dyn Names,
) -> Result<Vec<Call>, MapError> {
    let operation = operation(request);
    let ctx = Ctx {
        service,
        operation: &operation,
        place,
    };
    let mut calls = match service {
        "dynamodb" => dynamodb(&ctx, &json(&ctx, request)?),
        "events" => events(&ctx, &json(&ctx, request)?, names),
        "sqs" => sqs(&ctx, &json(&ctx, request)?),
        "ssm" => ssm(&ctx, &json(&ctx, request)?),
        "secretsmanager" => secrets(&ctx, &json(&ctx, request)?, names),
        "states" => states(&ctx, &json(&ctx, request)?),
        "kms" => kms(&ctx, &json(&ctx, request)?),
        "cognito-idp" => cognito(&ctx, &json(&ctx, request)?),
        "sns" => sns(&ctx, request),
        "s3" => Ok(s3(request)),
        "lambda" => lambda(&ctx, request),
        "cloudfront" => cloudfront(&ctx, request),
        "codedeploy" => codedeploy(&ctx),
        "execute-api" => execute_api(&ctx, request, names),
        "sts" if operation == "GetCallerIdentity" => Ok(Vec::new()),
        _ => Err(ctx.unknown()),
    }?;
    if over_plain_http(request) {
        for call in &mut calls {
            call.context
                .push(("aws:SecureTransport".into(), "false".into()));
        }
    }
    Ok(calls)
}

/// Whether the request says it came over plain HTTP, as a proxy that
/// ends TLS marks one (`X-Forwarded-Proto: http`). The local hops are all
/// plain HTTP, standing for AWS's HTTPS endpoints; this is how a call is
/// judged as one that did not use TLS (a TLS-only Deny refuses it).
fn over_plain_http(request: &Arrived<'_>) -> bool {
    request
        .header("x-forwarded-proto")
        .is_some_and(|p| p.eq_ignore_ascii_case("http"))
}

struct Ctx<'a> {
    service: &'a str,
    operation: &'a str,
    place: &'a Place,
}

impl Ctx<'_> {
    fn unknown(&self) -> MapError {
        MapError::Unknown {
            service: self.service.to_owned(),
            operation: self.operation.to_owned(),
        }
    }

    fn malformed(&self, reason: impl Into<String>) -> MapError {
        MapError::Malformed {
            service: self.service.to_owned(),
            operation: self.operation.to_owned(),
            reason: reason.into(),
        }
    }

    fn field<'v>(&self, body: &'v Value, name: &str) -> Result<&'v str, MapError> {
        body.get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| self.malformed(format!("no {name}")))
    }

    fn call(&self, resource: impl Into<String>) -> Call {
        Call::of(self.service, self.operation, resource)
    }
}

/// The operation: JSON protocol's `X-Amz-Target` after its last dot, the
/// query protocol's `Action`, or the REST method.
fn operation(request: &Arrived<'_>) -> String {
    if let Some(target) = request.header("x-amz-target") {
        return target.rsplit('.').next().unwrap_or(target).to_owned();
    }
    if let Some(action) = form(request.body).find(|(k, _)| k == "Action") {
        return action.1;
    }
    request.method.to_owned()
}

fn form(body: &[u8]) -> impl Iterator<Item = (String, String)> + '_ {
    form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned()))
}

fn json(ctx: &Ctx<'_>, request: &Arrived<'_>) -> Result<Value, MapError> {
    if request.body.is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    serde_json::from_slice(request.body).map_err(|e| ctx.malformed(format!("body: {e}")))
}

fn dynamodb(ctx: &Ctx<'_>, body: &Value) -> Result<Vec<Call>, MapError> {
    let table = |name: &str| {
        if name.starts_with("arn:") {
            name.to_owned()
        } else {
            ctx.place.arn("dynamodb", &format!("table/{name}"))
        }
    };
    let each_table = |field: &str, action: &str| -> Vec<Call> {
        body.get(field)
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|tables| tables.keys())
            .map(|t| Call::of("dynamodb", action, table(t)))
            .collect()
    };
    let items = |kinds: &[(&str, &str)]| -> Vec<Call> {
        let list = body.get("TransactItems").and_then(Value::as_array);
        let mut calls = Vec::new();
        for item in list.into_iter().flatten() {
            for (kind, action) in kinds {
                if let Some(name) = item
                    .pointer(&format!("/{kind}/TableName"))
                    .and_then(Value::as_str)
                {
                    calls.push(Call::of("dynamodb", action, table(name)));
                }
            }
        }
        calls
    };
    Ok(match ctx.operation {
        "TransactWriteItems" => items(&[
            ("Put", "PutItem"),
            ("Update", "UpdateItem"),
            ("Delete", "DeleteItem"),
            ("ConditionCheck", "ConditionCheckItem"),
        ]),
        "TransactGetItems" => items(&[("Get", "GetItem")]),
        "BatchWriteItem" => each_table("RequestItems", "BatchWriteItem"),
        "BatchGetItem" => each_table("RequestItems", "BatchGetItem"),
        "ListTables" => vec![ctx.call("*")],
        "GetItem" | "PutItem" | "UpdateItem" | "DeleteItem" | "Query" | "Scan"
        | "DescribeTable" | "DescribeTimeToLive" => {
            let mut resource = table(ctx.field(body, "TableName")?);
            if let Some(index) = body.get("IndexName").and_then(Value::as_str) {
                resource = format!("{resource}/index/{index}");
            }
            vec![ctx.call(resource)]
        }
        _ => return Err(ctx.unknown()),
    })
}

/// PutEvents asks for `events:PutEvents` on each entry's bus, with the
/// entry's `events:source` and `events:detail-type`, the keys a bus's
/// policy limits a publisher by. Each entry is judged on its own, so one
/// entry of a source the policy does not allow refuses the call.
fn events(ctx: &Ctx<'_>, body: &Value, names: &dyn Names) -> Result<Vec<Call>, MapError> {
    if RULE_OPERATIONS.contains(&ctx.operation) {
        return rule(ctx, body, names).map(|call| vec![call]);
    }
    if ctx.operation != "PutEvents" {
        return Err(ctx.unknown());
    }
    let mut calls: Vec<Call> = body
        .get("Entries")
        .and_then(Value::as_array)
        .ok_or_else(|| ctx.malformed("no Entries"))?
        .iter()
        .map(|entry| {
            let field = |name: &str| entry.get(name).and_then(Value::as_str);
            let bus = field("EventBusName").unwrap_or("default");
            let mut call = if bus.starts_with("arn:") {
                ctx.call(bus)
            } else {
                ctx.call(ctx.place.arn("events", &format!("event-bus/{bus}")))
            };
            for (key, name) in [
                ("events:source", "Source"),
                ("events:detail-type", "DetailType"),
            ] {
                if let Some(value) = field(name) {
                    call = call.with(key, value);
                }
            }
            call
        })
        .collect();
    calls.sort();
    calls.dedup();
    Ok(calls)
}

/// The operations on one rule, each asked for on the rule's ARN.
pub const RULE_OPERATIONS: &[&str] = &[
    "PutRule",
    "DeleteRule",
    "DescribeRule",
    "EnableRule",
    "DisableRule",
    "PutTargets",
    "RemoveTargets",
    "ListTargetsByRule",
];

/// A rule's operation, on the rule's ARN in the bus owner's account
/// (`rule/<bus>/<name>`, or `rule/<name>` on the default bus), with
/// `events:creatorAccount`: the account that created the rule, or the
/// caller's for a rule PutRule creates. A bus's policy lets each account
/// manage only its own rules by it.
fn rule(ctx: &Ctx<'_>, body: &Value, names: &dyn Names) -> Result<Call, MapError> {
    let name = match ctx.operation {
        "PutTargets" | "RemoveTargets" | "ListTargetsByRule" => ctx.field(body, "Rule")?,
        _ => ctx.field(body, "Name")?,
    };
    let bus = body
        .get("EventBusName")
        .and_then(Value::as_str)
        .unwrap_or("default");
    let (owner, bus_name) = match bus.strip_prefix("arn:") {
        Some(_) => (
            bus.split(':').nth(4).unwrap_or(&ctx.place.account),
            bus.rsplit('/').next().unwrap_or(bus),
        ),
        None => (ctx.place.account.as_str(), bus),
    };
    let path = match bus_name {
        "default" => format!("rule/{name}"),
        _ => format!("rule/{bus_name}/{name}"),
    };
    let arn = format!("arn:aws:events:{}:{owner}:{path}", ctx.place.region);
    let creator = names
        .rule_creator(&arn)
        .unwrap_or_else(|| ctx.place.account.clone());
    Ok(ctx.call(arn).with("events:creatorAccount", creator))
}

fn sqs(ctx: &Ctx<'_>, body: &Value) -> Result<Vec<Call>, MapError> {
    let action = match ctx.operation {
        "SendMessage" | "SendMessageBatch" => "SendMessage",
        "ReceiveMessage" => "ReceiveMessage",
        "DeleteMessage" | "DeleteMessageBatch" => "DeleteMessage",
        "ChangeMessageVisibility" | "ChangeMessageVisibilityBatch" => "ChangeMessageVisibility",
        "GetQueueAttributes" => "GetQueueAttributes",
        "GetQueueUrl" => {
            let name = ctx.field(body, "QueueName")?;
            return Ok(vec![ctx.call(ctx.place.arn("sqs", name))]);
        }
        _ => return Err(ctx.unknown()),
    };
    let url = ctx.field(body, "QueueUrl")?;
    let name = url.rsplit('/').next().unwrap_or(url);
    Ok(vec![Call::of("sqs", action, ctx.place.arn("sqs", name))])
}

/// A user pool's administrative operations, on the pool's ARN. The
/// operations a person makes with a client id (SignUp, InitiateAuth)
/// need no IAM permission and never come through a function's gate here.
fn cognito(ctx: &Ctx<'_>, body: &Value) -> Result<Vec<Call>, MapError> {
    match ctx.operation {
        "AdminDeleteUser"
        | "AdminGetUser"
        | "AdminAddUserToGroup"
        | "AdminUserGlobalSignOut"
        | "AdminDisableUser"
        | "ListUsers"
        | "AdminLinkProviderForUser"
        | "DescribeUserPool" => {
            let pool = ctx.field(body, "UserPoolId")?;
            Ok(vec![ctx.call(
                ctx.place.arn("cognito-idp", &format!("userpool/{pool}")),
            )])
        }
        _ => Err(ctx.unknown()),
    }
}

fn ssm(ctx: &Ctx<'_>, body: &Value) -> Result<Vec<Call>, MapError> {
    let parameter = |name: &str| {
        if name.starts_with("arn:") {
            name.to_owned()
        } else {
            ctx.place.arn(
                "ssm",
                &format!("parameter/{}", name.trim_start_matches('/')),
            )
        }
    };
    Ok(match ctx.operation {
        "GetParameter" | "PutParameter" | "DeleteParameter" | "GetParameterHistory" => {
            vec![ctx.call(parameter(ctx.field(body, "Name")?))]
        }
        "GetParameters" => body
            .get("Names")
            .and_then(Value::as_array)
            .ok_or_else(|| ctx.malformed("no Names"))?
            .iter()
            .filter_map(Value::as_str)
            .map(|n| ctx.call(parameter(n)))
            .collect(),
        "GetParametersByPath" => vec![ctx.call(parameter(ctx.field(body, "Path")?))],
        _ => return Err(ctx.unknown()),
    })
}

fn secrets(ctx: &Ctx<'_>, body: &Value, names: &dyn Names) -> Result<Vec<Call>, MapError> {
    let field = match ctx.operation {
        "GetSecretValue" | "DescribeSecret" | "PutSecretValue" | "UpdateSecret" => "SecretId", // pragma: allowlist secret (a field name, no secret)
        "CreateSecret" => "Name", // pragma: allowlist secret (a field name, no secret)
        _ => return Err(ctx.unknown()),
    };
    let id = ctx.field(body, field)?;
    let arn = if id.starts_with("arn:") {
        id.to_owned()
    } else {
        // A secret that does not exist yet (CreateSecret) is named by the
        // ARN it would have, suffix aside, as IAM sees it.
        names.secret_arn(id).unwrap_or_else(|| {
            ctx.place
                .arn("secretsmanager", &format!("secret:{id}-??????"))
        })
    };
    Ok(vec![ctx.call(arn)])
}

fn states(ctx: &Ctx<'_>, body: &Value) -> Result<Vec<Call>, MapError> {
    Ok(match ctx.operation {
        "StartExecution" | "StartSyncExecution" | "DescribeStateMachine" | "ListExecutions" => {
            vec![ctx.call(ctx.field(body, "stateMachineArn")?)]
        }
        "DescribeExecution" | "StopExecution" | "GetExecutionHistory" => {
            vec![ctx.call(ctx.field(body, "executionArn")?)]
        }
        // A task token names no resource IAM can see.
        "SendTaskSuccess" | "SendTaskFailure" | "SendTaskHeartbeat" => vec![ctx.call("*")],
        _ => return Err(ctx.unknown()),
    })
}

fn kms(ctx: &Ctx<'_>, body: &Value) -> Result<Vec<Call>, MapError> {
    match ctx.operation {
        "Decrypt"
        | "Encrypt"
        | "GenerateDataKey"
        | "GenerateDataKeyWithoutPlaintext"
        | "DescribeKey" => {}
        _ => return Err(ctx.unknown()),
    }
    let key = ctx.field(body, "KeyId")?;
    let arn = if key.starts_with("arn:") {
        key.to_owned()
    } else if key.starts_with("alias/") {
        ctx.place.arn("kms", key)
    } else {
        ctx.place.arn("kms", &format!("key/{key}"))
    };
    Ok(vec![ctx.call(arn)])
}

fn sns(ctx: &Ctx<'_>, request: &Arrived<'_>) -> Result<Vec<Call>, MapError> {
    let field = |name: &str| {
        form(request.body)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
            .ok_or_else(|| ctx.malformed(format!("no {name}")))
    };
    Ok(match ctx.operation {
        "Publish" => {
            let topic = field("TopicArn").or_else(|_| field("TargetArn"))?;
            vec![ctx.call(topic)]
        }
        "PublishBatch" => vec![Call::of("sns", "Publish", field("TopicArn")?)],
        "GetTopicAttributes" => vec![ctx.call(field("TopicArn")?)],
        _ => return Err(ctx.unknown()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoNames;
    impl Names for NoNames {
        fn secret_arn(&self, name: &str) -> Option<String> {
            (name == "campaigns/sender").then(|| {
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:campaigns/sender-AbCdEf"
                    .into()
            })
        }
        fn api_id(&self, host: &str) -> Option<String> {
            (host == "127.0.0.1:4510").then(|| "localsocks".into())
        }
        fn rule_creator(&self, rule_arn: &str) -> Option<String> {
            rule_arn.ends_with("/theirs").then(|| "333333333333".into())
        }
    }

    pub(crate) fn place() -> Place {
        Place {
            account: "123456789012".into(),
            region: "us-east-1".into(),
        }
    }

    fn json_call(service: &str, target: &str, body: Value) -> Result<Vec<Call>, MapError> {
        let body = body.to_string();
        let headers = [("x-amz-target", target)];
        let arrived = Arrived {
            method: "POST",
            path_and_query: "/",
            headers: &headers,
            body: body.as_bytes(),
        };
        calls(service, &arrived, &place(), &NoNames)
    }

    #[test]
    fn a_request_that_came_over_plain_http_says_so_to_the_judge() {
        let secure_transport = |headers: &[(&str, &str)]| {
            let arrived = Arrived {
                method: "GET",
                path_and_query: "/attachments/users/u1/f.png",
                headers,
                body: b"",
            };
            let calls = calls("s3", &arrived, &place(), &NoNames).unwrap();
            (calls[0].context.iter())
                .find(|(k, _)| k == "aws:SecureTransport")
                .map(|(_, v)| v.clone())
        };
        assert_eq!(secure_transport(&[]), None, "TLS, as AWS's endpoints are");
        assert_eq!(
            secure_transport(&[("X-Forwarded-Proto", "http")]).as_deref(),
            Some("false")
        );
    }

    fn pairs(calls: &[Call]) -> Vec<(&str, &str)> {
        calls
            .iter()
            .map(|c| (c.action.as_str(), c.resource.as_str()))
            .collect()
    }

    #[test]
    fn an_invalidation_is_asked_of_the_distribution_without_a_region() {
        let headers = [("host", "127.0.0.1")];
        let arrived = |method, path| Arrived {
            method,
            path_and_query: path,
            headers: &headers,
            body: b"",
        };
        let invalidation = arrived("POST", "/2020-05-31/distribution/EABC/invalidation");
        let asked = calls("cloudfront", &invalidation, &place(), &NoNames).unwrap();
        assert_eq!(
            pairs(&asked),
            [(
                "cloudfront:CreateInvalidation",
                "arn:aws:cloudfront::123456789012:distribution/EABC"
            )]
        );
        let unknown = arrived("DELETE", "/2020-05-31/distribution/EABC");
        assert!(calls("cloudfront", &unknown, &place(), &NoNames).is_err());
    }

    #[test]
    fn a_transaction_needs_each_items_action_on_each_table() {
        let calls = json_call(
            "dynamodb",
            "DynamoDB_20120810.TransactWriteItems",
            serde_json::json!({"TransactItems": [
                {"Put": {"TableName": "notifications-Table", "Item": {}}},
                {"ConditionCheck": {"TableName": "notifications-Table", "Key": {}}},
                {"Delete": {"TableName": "other", "Key": {}}},
            ]}),
        )
        .unwrap();
        assert_eq!(
            pairs(&calls),
            [
                (
                    "dynamodb:PutItem",
                    "arn:aws:dynamodb:us-east-1:123456789012:table/notifications-Table"
                ),
                (
                    "dynamodb:ConditionCheckItem",
                    "arn:aws:dynamodb:us-east-1:123456789012:table/notifications-Table"
                ),
                (
                    "dynamodb:DeleteItem",
                    "arn:aws:dynamodb:us-east-1:123456789012:table/other"
                ),
            ]
        );
    }

    #[test]
    fn a_query_on_an_index_names_the_index() {
        let calls = json_call(
            "dynamodb",
            "DynamoDB_20120810.Query",
            serde_json::json!({"TableName": "t", "IndexName": "byUser"}),
        )
        .unwrap();
        assert_eq!(
            pairs(&calls),
            [(
                "dynamodb:Query",
                "arn:aws:dynamodb:us-east-1:123456789012:table/t/index/byUser"
            )]
        );
    }

    #[test]
    fn put_events_carries_each_entrys_source_and_detail_type() {
        let calls = json_call(
            "events",
            "AWSEvents.PutEvents",
            serde_json::json!({"Entries": [
                {"EventBusName": "app-bus", "Source": "app.todos", "DetailType": "TodoCompleted"},
                {"EventBusName": "app-bus", "Source": "app.todos", "DetailType": "TodoCompleted"},
                {"EventBusName": "app-bus", "Source": "app.users", "DetailType": "UserRegistered"}
            ]}),
        )
        .unwrap();
        let contexts: Vec<&[(String, String)]> = calls.iter().map(|c| &c.context[..]).collect();
        let pair = |source: &str, detail: &str| {
            vec![
                ("events:source".to_owned(), source.to_owned()),
                ("events:detail-type".to_owned(), detail.to_owned()),
            ]
        };
        assert_eq!(
            contexts,
            [
                &pair("app.todos", "TodoCompleted")[..],
                &pair("app.users", "UserRegistered")[..]
            ],
            "one call per distinct entry"
        );
    }

    #[test]
    fn a_rule_on_another_accounts_bus_is_the_owners_and_carries_its_creator() {
        let bus = "arn:aws:events:us-east-1:111111111111:event-bus/app-bus";
        let on = |op: &str, rule: &str| {
            let calls = json_call(
                "events",
                &format!("AWSEvents.{op}"),
                serde_json::json!({"Name": rule, "Rule": rule, "EventBusName": bus}),
            )
            .unwrap();
            let call = calls.into_iter().next().unwrap();
            ((call.action, call.resource), call.context)
        };
        let creator =
            |account: &str| vec![("events:creatorAccount".to_owned(), account.to_owned())];
        assert_eq!(
            on("PutRule", "ours"),
            (
                (
                    "events:PutRule".to_owned(),
                    "arn:aws:events:us-east-1:111111111111:rule/app-bus/ours".to_owned()
                ),
                creator("123456789012")
            ),
            "a rule PutRule creates is the caller's"
        );
        assert_eq!(on("DeleteRule", "theirs").1, creator("333333333333"));
        assert_eq!(
            on("PutTargets", "theirs").0,
            (
                "events:PutTargets".to_owned(),
                "arn:aws:events:us-east-1:111111111111:rule/app-bus/theirs".to_owned()
            )
        );
        let default = json_call(
            "events",
            "AWSEvents.DescribeRule",
            serde_json::json!({"Name": "r"}),
        )
        .unwrap();
        assert_eq!(
            default[0].resource,
            "arn:aws:events:us-east-1:123456789012:rule/r"
        );
    }

    #[test]
    fn put_events_names_each_bus_once() {
        let calls = json_call(
            "events",
            "AWSEvents.PutEvents",
            serde_json::json!({"Entries": [
                {"EventBusName": "app-bus"}, {"EventBusName": "app-bus"},
                {"EventBusName": "arn:aws:events:us-east-1:123456789012:event-bus/other"}, {}
            ]}),
        )
        .unwrap();
        assert_eq!(
            pairs(&calls),
            [
                (
                    "events:PutEvents",
                    "arn:aws:events:us-east-1:123456789012:event-bus/app-bus"
                ),
                (
                    "events:PutEvents",
                    "arn:aws:events:us-east-1:123456789012:event-bus/default"
                ),
                (
                    "events:PutEvents",
                    "arn:aws:events:us-east-1:123456789012:event-bus/other"
                ),
            ]
        );
    }

    #[test]
    fn a_user_pools_administration_is_judged_on_the_pools_arn() {
        let calls = json_call(
            "cognito-idp",
            "AWSCognitoIdentityProviderService.AdminDeleteUser",
            serde_json::json!({"UserPoolId": "us-east-1_abc", "Username": "u"}),
        )
        .unwrap();
        assert_eq!(
            pairs(&calls),
            [(
                "cognito-idp:AdminDeleteUser",
                "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_abc"
            )]
        );
        let unknown = json_call(
            "cognito-idp",
            "AWSCognitoIdentityProviderService.AdminSetUserPassword",
            serde_json::json!({"UserPoolId": "us-east-1_abc"}),
        );
        assert!(matches!(unknown, Err(MapError::Unknown { .. })));
    }

    #[test]
    fn a_secret_by_name_is_judged_on_its_full_arn() {
        let calls = json_call(
            "secretsmanager",
            "secretsmanager.GetSecretValue",
            serde_json::json!({"SecretId": "campaigns/sender"}), // pragma: allowlist secret (a field name, no secret)
        )
        .unwrap();
        assert_eq!(
            pairs(&calls),
            [(
                "secretsmanager:GetSecretValue",
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:campaigns/sender-AbCdEf"
            )]
        );
        let ssm = json_call(
            "ssm",
            "AmazonSSM.GetParameter",
            serde_json::json!({"Name": "/campaigns/sender/endpoint"}),
        )
        .unwrap();
        assert_eq!(
            pairs(&ssm),
            [(
                "ssm:GetParameter",
                "arn:aws:ssm:us-east-1:123456789012:parameter/campaigns/sender/endpoint"
            )]
        );
    }

    #[test]
    fn s3_requests_map_by_method_path_and_query() {
        let s3 = |method: &str, path: &str| {
            let arrived = Arrived {
                method,
                path_and_query: path,
                headers: &[],
                body: b"",
            };
            let calls = calls("s3", &arrived, &place(), &NoNames).unwrap();
            (calls[0].action.clone(), calls[0].resource.clone())
        };
        let pair = |a: &str, r: &str| (a.to_owned(), r.to_owned());
        assert_eq!(
            s3("PUT", "/b/users/u%201/f.png"),
            pair("s3:PutObject", "arn:aws:s3:::b/users/u 1/f.png")
        );
        assert_eq!(s3("HEAD", "/b/k"), pair("s3:GetObject", "arn:aws:s3:::b/k"));
        assert_eq!(
            s3("GET", "/b/k?versionId=v1"),
            pair("s3:GetObjectVersion", "arn:aws:s3:::b/k")
        );
        assert_eq!(
            s3("DELETE", "/b/k?versionId=v1"),
            pair("s3:DeleteObjectVersion", "arn:aws:s3:::b/k")
        );
        assert_eq!(
            s3("GET", "/b?versions&prefix=users%2F"),
            pair("s3:ListBucketVersions", "arn:aws:s3:::b")
        );
        let listing = Arrived {
            method: "GET",
            path_and_query: "/b?list-type=2&prefix=users%2Fada%2F",
            headers: &[],
            body: b"",
        };
        let listed = calls("s3", &listing, &place(), &NoNames).unwrap();
        assert_eq!(
            listed[0].context,
            [("s3:prefix".into(), "users/ada/".into())]
        );
        assert_eq!(
            s3("GET", "/b/?list-type=2"),
            pair("s3:ListBucket", "arn:aws:s3:::b")
        );
    }

    #[test]
    fn sns_publish_and_lambda_invoke_use_iams_names() {
        let body =
            "Action=Publish&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A123456789012%3Adlq&Message=x";
        let arrived = Arrived {
            method: "POST",
            path_and_query: "/",
            headers: &[("content-type", "application/x-www-form-urlencoded")],
            body: body.as_bytes(),
        };
        let calls_ = calls("sns", &arrived, &place(), &NoNames).unwrap();
        assert_eq!(
            pairs(&calls_),
            [("sns:Publish", "arn:aws:sns:us-east-1:123456789012:dlq")]
        );
        let invoke = Arrived {
            method: "POST",
            path_and_query: "/2015-03-31/functions/users-Api/invocations",
            headers: &[],
            body: b"{}",
        };
        let calls_ = calls("lambda", &invoke, &place(), &NoNames).unwrap();
        assert_eq!(
            pairs(&calls_),
            [(
                "lambda:InvokeFunction",
                "arn:aws:lambda:us-east-1:123456789012:function:users-Api"
            )]
        );
    }

    #[test]
    fn a_post_to_a_connection_names_the_api_by_its_host() {
        fn post<'a>(headers: &'a [(&'a str, &'a str)]) -> Arrived<'a> {
            Arrived {
                method: "POST",
                path_and_query: "/live/@connections/Ab%3D",
                headers,
                body: b"{}",
            }
        }
        let arn = |api| {
            format!("arn:aws:execute-api:us-east-1:123456789012:{api}/live/POST/@connections/Ab=")
        };
        for (host, api) in [
            ("x1y2z3.execute-api.us-east-1.amazonaws.com", "x1y2z3"),
            ("127.0.0.1:4510", "localsocks"),
        ] {
            let headers = [("host", host)];
            let calls_ = calls("execute-api", &post(&headers), &place(), &NoNames).unwrap();
            assert_eq!(
                pairs(&calls_),
                [("execute-api:ManageConnections", arn(api).as_str())]
            );
        }
        let headers = [("host", "127.0.0.1:1")];
        let elsewhere = calls("execute-api", &post(&headers), &place(), &NoNames);
        assert!(
            matches!(elsewhere, Err(MapError::Malformed { .. })),
            "{elsewhere:?}"
        );
    }

    #[test]
    fn an_unknown_operation_is_refused_by_name() {
        assert_eq!(
            json_call(
                "dynamodb",
                "DynamoDB_20120810.RestoreTableFromBackup",
                serde_json::json!({})
            ),
            Err(MapError::Unknown {
                service: "dynamodb".into(),
                operation: "RestoreTableFromBackup".into()
            })
        );
        assert_eq!(
            json_call(
                "dynamodb",
                "DynamoDB_20120810.GetItem",
                serde_json::json!({})
            ),
            Err(MapError::Malformed {
                service: "dynamodb".into(),
                operation: "GetItem".into(),
                reason: "no TableName".into()
            })
        );
    }
}
