//! The one place where a template deployed to the emulator differs from the
//! one deployed to AWS. The emulator gets only what it does well (tables,
//! streams, queues, topics, buses and rules, buckets); what it lacks or
//! gets wrong becomes a [`Plan`] that the local cloud carries out itself:
//!
//! - Lambda targets on rules make the emulator's PutEvents fail with 500,
//!   so each becomes an SQS *tap* queue that the local cloud polls;
//! - event-source mappings are destructive in the emulator (they consume
//!   the stream), so they become stream pollers of the local cloud;
//! - S3 → Lambda notifications become S3 → tap queue notifications, set by
//!   API because the emulator's CloudFormation skips them;
//! - API Gateway becomes the local gateway, from the routes in the API's
//!   OpenAPI body;
//! - SNS subscriptions and queue policies, skipped silently by the
//!   emulator's CloudFormation, are made by API; the Cognito user pool too;
//! - Lambda permissions concern AWS's own invoke path and are dropped.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Map, Value, json};

#[derive(Debug, thiserror::Error)]
pub enum AdaptError {
    #[error("{0}: the template has no Resources")]
    NoResources(String),
    #[error("{stack}/{resource}: {message}")]
    Unsupported {
        stack: String,
        resource: String,
        message: String,
    },
}

/// A function the local cloud runs: its binary, and AWS's async settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FunctionPlan {
    pub logical_id: String,
    pub binary: String,
    pub timeout_seconds: u64,
    /// The topic (logical id) a failed async event is published to.
    pub dead_letter_topic: Option<String>,
    /// Async retries after the first attempt (AWS's default is 2).
    pub max_retries: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Route {
    /// `METHOD /path/{param}`, as API Gateway names it in `routeKey`.
    pub route_key: String,
    pub function: String,
}

/// A bus rule whose function target became a tap queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleTap {
    pub rule: String,
    pub function: String,
    pub tap_queue: String,
}

/// A DynamoDB stream the local cloud polls for a function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StreamSource {
    pub function: String,
    pub table: String,
    pub batch_size: u32,
    pub bisect_on_error: bool,
    /// `-1` retries until the record expires, as on AWS.
    pub max_retries: i64,
    pub on_failure_topic: Option<String>,
    pub starting_position: String,
    pub report_batch_item_failures: bool,
}

/// An S3 bucket whose object-created notifications reach a function
/// through a tap queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UploadTap {
    pub bucket: String,
    pub function: String,
    pub events: Vec<String>,
    pub prefix: Option<String>,
    pub tap_queue: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subscription {
    pub topic: String,
    pub queue: String,
    pub raw: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserPoolPlan {
    pub pool: String,
    pub client: String,
    pub pool_properties: Value,
    pub client_properties: Value,
}

/// What the local cloud provides for one stack. Names are logical ids of
/// the stack's resources.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub stack: String,
    pub functions: Vec<FunctionPlan>,
    pub routes: Vec<Route>,
    pub rules: Vec<RuleTap>,
    pub streams: Vec<StreamSource>,
    pub uploads: Vec<UploadTap>,
    pub subscriptions: Vec<Subscription>,
    pub user_pools: Vec<UserPoolPlan>,
}

/// `{"Ref": X}` or `{"Fn::GetAtt": [X, ...]}` → `X`.
pub fn target(v: &Value) -> Option<&str> {
    v.get("Ref").and_then(Value::as_str).or_else(|| {
        v.get("Fn::GetAtt")
            .and_then(|a| a.get(0))
            .and_then(Value::as_str)
    })
}

fn type_of(resource: &Value) -> &str {
    resource["Type"].as_str().unwrap_or_default()
}

pub fn adapt(stack: &str, template: &Value) -> Result<(Value, Plan), AdaptError> {
    let mut out = template.clone();
    let mut plan = Plan {
        stack: stack.to_owned(),
        ..Plan::default()
    };
    let resources = out
        .get_mut("Resources")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| AdaptError::NoResources(stack.to_owned()))?;
    let unsupported = |resource: &str, message: &str| AdaptError::Unsupported {
        stack: stack.to_owned(),
        resource: resource.to_owned(),
        message: message.to_owned(),
    };
    let functions: BTreeSet<String> = resources
        .iter()
        .filter(|(_, r)| type_of(r) == "AWS::Lambda::Function")
        .map(|(id, _)| id.clone())
        .collect();

    for id in &functions {
        let r = &resources[id];
        let binary = r["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .ok_or_else(|| unsupported(id, "a function needs Metadata.BuildProperties.Binary"))?;
        plan.functions.push(FunctionPlan {
            logical_id: id.clone(),
            binary: binary.to_owned(),
            timeout_seconds: r["Properties"]["Timeout"].as_u64().unwrap_or(3),
            dead_letter_topic: target(&r["Properties"]["DeadLetterConfig"]["TargetArn"])
                .map(str::to_owned),
            max_retries: 2,
        });
    }

    let mut removed: BTreeSet<String> = BTreeSet::new();
    let mut added: Map<String, Value> = Map::new();
    let ids: Vec<String> = resources.keys().cloned().collect();
    for id in ids {
        let kind = type_of(&resources[&id]).to_owned();
        let props = resources[&id]["Properties"].clone();
        match kind.as_str() {
            "AWS::Lambda::EventInvokeConfig" => {
                let function = target(&props["FunctionName"]).unwrap_or_default();
                if let (Some(f), Some(n)) = (
                    plan.functions.iter_mut().find(|f| f.logical_id == function),
                    props["MaximumRetryAttempts"].as_u64(),
                ) {
                    f.max_retries = n as u32;
                }
            }
            "AWS::Lambda::EventSourceMapping" => {
                let table = props["EventSourceArn"]["Fn::GetAtt"]
                    .get(0)
                    .and_then(Value::as_str)
                    .filter(|_| props["EventSourceArn"]["Fn::GetAtt"][1] == "StreamArn")
                    .ok_or_else(|| {
                        unsupported(&id, "only DynamoDB stream mappings are supported")
                    })?;
                plan.streams.push(StreamSource {
                    function: target(&props["FunctionName"])
                        .unwrap_or_default()
                        .to_owned(),
                    table: table.to_owned(),
                    batch_size: props["BatchSize"].as_u64().unwrap_or(100) as u32,
                    bisect_on_error: props["BisectBatchOnFunctionError"]
                        .as_bool()
                        .unwrap_or(false),
                    max_retries: props["MaximumRetryAttempts"].as_i64().unwrap_or(-1),
                    on_failure_topic: target(
                        &props["DestinationConfig"]["OnFailure"]["Destination"],
                    )
                    .map(str::to_owned),
                    starting_position: props["StartingPosition"]
                        .as_str()
                        .unwrap_or("LATEST")
                        .to_owned(),
                    report_batch_item_failures: props["FunctionResponseTypes"]
                        .as_array()
                        .is_some_and(|t| t.iter().any(|x| x == "ReportBatchItemFailures")),
                });
                removed.insert(id.clone());
            }
            "AWS::Events::Rule" => {
                let targets = resources[&id]["Properties"]["Targets"]
                    .as_array_mut()
                    .map(std::mem::take)
                    .unwrap_or_default();
                let mut kept = Vec::new();
                for mut t in targets {
                    match target(&t["Arn"]).filter(|f| functions.contains(*f)) {
                        Some(function) => {
                            let tap = format!("{id}Tap");
                            plan.rules.push(RuleTap {
                                rule: id.clone(),
                                function: function.to_owned(),
                                tap_queue: tap.clone(),
                            });
                            added.insert(tap.clone(), json!({"Type": "AWS::SQS::Queue"}));
                            t["Arn"] = json!({"Fn::GetAtt": [tap, "Arn"]});
                            kept.push(t);
                        }
                        None => kept.push(t),
                    }
                }
                resources[&id]["Properties"]["Targets"] = Value::Array(kept);
            }
            "AWS::S3::Bucket" => {
                let notification = &mut resources[&id]["Properties"]["NotificationConfiguration"];
                let lambdas = notification
                    .get_mut("LambdaConfigurations")
                    .and_then(Value::as_array_mut)
                    .map(std::mem::take)
                    .unwrap_or_default();
                for config in lambdas {
                    let function = target(&config["Function"])
                        .ok_or_else(|| unsupported(&id, "a bucket notification names no function"))?
                        .to_owned();
                    let tap = format!("{id}{function}Tap");
                    let prefix = config["Filter"]["S3Key"]["Rules"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .find(|r| {
                            r["Name"]
                                .as_str()
                                .is_some_and(|n| n.eq_ignore_ascii_case("prefix"))
                        })
                        .and_then(|r| r["Value"].as_str())
                        .map(str::to_owned);
                    plan.uploads.push(UploadTap {
                        bucket: id.clone(),
                        function,
                        events: vec![
                            config["Event"]
                                .as_str()
                                .unwrap_or("s3:ObjectCreated:*")
                                .to_owned(),
                        ],
                        prefix,
                        tap_queue: tap.clone(),
                    });
                    added.insert(tap, json!({"Type": "AWS::SQS::Queue"}));
                }
                if let Some(n) = notification.as_object_mut() {
                    n.remove("LambdaConfigurations");
                    if n.is_empty() {
                        resources[&id]["Properties"]
                            .as_object_mut()
                            .expect("a bucket with notifications has properties")
                            .remove("NotificationConfiguration");
                    }
                }
            }
            "AWS::ApiGatewayV2::Api" => {
                for (path, methods) in props["Body"]["paths"].as_object().into_iter().flatten() {
                    for (method, op) in methods.as_object().into_iter().flatten() {
                        let uri = op["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
                            .as_str()
                            .unwrap_or_default();
                        let function = functions
                            .iter()
                            .find(|f| uri.contains(&format!("${{{f}.Arn}}")))
                            .ok_or_else(|| {
                                unsupported(
                                    &id,
                                    &format!(
                                        "{method} {path} integrates no function of this stack"
                                    ),
                                )
                            })?;
                        plan.routes.push(Route {
                            route_key: format!("{} {path}", method.to_uppercase()),
                            function: function.clone(),
                        });
                    }
                }
                removed.insert(id.clone());
            }
            "AWS::SNS::Subscription" => {
                if props["Protocol"] != "sqs" {
                    return Err(unsupported(
                        &id,
                        "only SNS → SQS subscriptions are supported",
                    ));
                }
                plan.subscriptions.push(Subscription {
                    topic: target(&props["TopicArn"]).unwrap_or_default().to_owned(),
                    queue: target(&props["Endpoint"]).unwrap_or_default().to_owned(),
                    raw: props["RawMessageDelivery"].as_bool().unwrap_or(false),
                });
                removed.insert(id.clone());
            }
            "AWS::Cognito::UserPool" => {
                let client = resources
                    .iter()
                    .find(|(_, r)| {
                        type_of(r) == "AWS::Cognito::UserPoolClient"
                            && target(&r["Properties"]["UserPoolId"]) == Some(id.as_str())
                    })
                    .map(|(cid, r)| (cid.clone(), r["Properties"].clone()));
                let (client, client_properties) = client.ok_or_else(|| {
                    unsupported(&id, "a user pool needs a client in the same stack")
                })?;
                plan.user_pools.push(UserPoolPlan {
                    pool: id.clone(),
                    client,
                    pool_properties: props.clone(),
                    client_properties,
                });
                removed.insert(id.clone());
            }
            k if k.starts_with("AWS::ApiGatewayV2::")
                || k == "AWS::Lambda::Permission"
                || k == "AWS::SQS::QueuePolicy"
                || k == "AWS::Cognito::UserPoolClient" =>
            {
                removed.insert(id.clone());
            }
            _ => {}
        }
    }
    for id in &removed {
        resources.remove(id);
    }
    resources.extend(added);
    for r in resources.values_mut() {
        // moto fills in a missing `Properties` when it creates a resource,
        // so an update sees every such resource as changed and replaces it
        // (a topic gets a new ARN). AWS leaves unchanged resources alone.
        if let Some(r) = r.as_object_mut() {
            r.entry("Properties").or_insert_with(|| json!({}));
        }
        if let Some(deps) = r.get_mut("DependsOn") {
            let keep: Vec<Value> = match deps {
                Value::String(d) => vec![Value::String(d.clone())],
                Value::Array(ds) => ds.clone(),
                _ => Vec::new(),
            }
            .into_iter()
            .filter(|d| d.as_str().is_some_and(|d| !removed.contains(d)))
            .collect();
            *deps = Value::Array(keep);
        }
    }
    if let Some(outputs) = out.get_mut("Outputs").and_then(Value::as_object_mut) {
        outputs.retain(|_, o| !mentions_any(o, &removed));
    }
    if let Some(id) = out["Resources"]
        .as_object()
        .into_iter()
        .flatten()
        .find(|(_, r)| mentions_any(r, &removed))
        .map(|(id, _)| id.clone())
    {
        return Err(unsupported(
            &id,
            "still refers to a resource the local cloud provides itself",
        ));
    }
    Ok((out, plan))
}

/// Whether `v` refers to any of `ids` by Ref, GetAtt or `${Id...}` in a Sub.
fn mentions_any(v: &Value, ids: &BTreeSet<String>) -> bool {
    match v {
        Value::Object(map) => map.iter().any(|(k, child)| {
            let direct = match (k.as_str(), child) {
                ("Ref", Value::String(t)) => ids.contains(t),
                ("Fn::GetAtt", Value::Array(parts)) => parts
                    .first()
                    .and_then(Value::as_str)
                    .is_some_and(|t| ids.contains(t)),
                ("Fn::Sub", sub) => {
                    let text = sub
                        .as_str()
                        .or_else(|| sub.get(0).and_then(Value::as_str))
                        .unwrap_or_default();
                    ids.iter().any(|id| {
                        text.contains(&format!("${{{id}}}")) || text.contains(&format!("${{{id}."))
                    })
                }
                _ => false,
            };
            direct || mentions_any(child, ids)
        }),
        Value::Array(items) => items.iter().any(|i| mentions_any(i, ids)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template() -> Value {
        json!({
            "Resources": {
                "Fn": {"Type": "AWS::Lambda::Function", "Metadata": {"BuildProperties": {"Binary": "svc-fn"}},
                       "Properties": {"Timeout": 9, "DeadLetterConfig": {"TargetArn": {"Ref": "Dlq"}}}},
                "FnInvoke": {"Type": "AWS::Lambda::EventInvokeConfig", "Properties": {"FunctionName": {"Ref": "Fn"}, "MaximumRetryAttempts": 1}},
                "Dlq": {"Type": "AWS::SNS::Topic"},
                "DlqQueue": {"Type": "AWS::SQS::Queue"},
                "Sub": {"Type": "AWS::SNS::Subscription", "Properties": {"Protocol": "sqs", "TopicArn": {"Ref": "Dlq"}, "Endpoint": {"Fn::GetAtt": ["DlqQueue", "Arn"]}}},
                "Policy": {"Type": "AWS::SQS::QueuePolicy", "Properties": {"Queues": [{"Ref": "DlqQueue"}]}},
                "Table": {"Type": "AWS::DynamoDB::Table"},
                "Mapping": {"Type": "AWS::Lambda::EventSourceMapping", "Properties": {
                    "EventSourceArn": {"Fn::GetAtt": ["Table", "StreamArn"]}, "FunctionName": {"Ref": "Fn"},
                    "BatchSize": 10, "BisectBatchOnFunctionError": true, "MaximumRetryAttempts": 3,
                    "DestinationConfig": {"OnFailure": {"Destination": {"Ref": "Dlq"}}},
                    "StartingPosition": "TRIM_HORIZON", "FunctionResponseTypes": ["ReportBatchItemFailures"]}},
                "Rule": {"Type": "AWS::Events::Rule", "Properties": {"EventPattern": {"source": ["x"]},
                    "Targets": [{"Id": "t", "Arn": {"Fn::GetAtt": ["Fn", "Arn"]}}, {"Id": "q", "Arn": {"Fn::GetAtt": ["DlqQueue", "Arn"]}}]}},
                "Bucket": {"Type": "AWS::S3::Bucket", "DependsOn": ["Perm"], "Properties": {"NotificationConfiguration": {"LambdaConfigurations": [
                    {"Event": "s3:ObjectCreated:*", "Function": {"Fn::GetAtt": ["Fn", "Arn"]},
                     "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": "users/"}]}}}]}}},
                "Perm": {"Type": "AWS::Lambda::Permission", "Properties": {"FunctionName": {"Ref": "Fn"}}},
                "Api": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"Body": {"paths": {"/things/{id}": {"get": {
                    "x-amazon-apigateway-integration": {"uri": {"Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Fn.Arn}/invocations"}}}}}}}},
                "Stage": {"Type": "AWS::ApiGatewayV2::Stage", "Properties": {"ApiId": {"Ref": "Api"}}}
            },
            "Outputs": {
                "Url": {"Value": {"Fn::Sub": "https://${Api}.execute-api"}},
                "Table": {"Value": {"Ref": "Table"}}
            }
        })
    }

    #[test]
    fn functions_keep_their_binary_timeout_dlq_and_retries() {
        let (_, plan) = adapt("svc", &template()).unwrap();
        assert_eq!(
            plan.functions,
            [FunctionPlan {
                logical_id: "Fn".into(),
                binary: "svc-fn".into(),
                timeout_seconds: 9,
                dead_letter_topic: Some("Dlq".into()),
                max_retries: 1,
            }]
        );
    }

    #[test]
    fn lambda_rule_targets_become_tap_queues_and_other_targets_stay() {
        let (out, plan) = adapt("svc", &template()).unwrap();
        assert_eq!(
            plan.rules,
            [RuleTap {
                rule: "Rule".into(),
                function: "Fn".into(),
                tap_queue: "RuleTap".into()
            }]
        );
        let targets = &out["Resources"]["Rule"]["Properties"]["Targets"];
        assert_eq!(targets[0]["Arn"], json!({"Fn::GetAtt": ["RuleTap", "Arn"]}));
        assert_eq!(
            targets[1]["Arn"],
            json!({"Fn::GetAtt": ["DlqQueue", "Arn"]})
        );
        assert_eq!(out["Resources"]["RuleTap"]["Type"], "AWS::SQS::Queue");
    }

    #[test]
    fn stream_mappings_become_pollers_with_their_settings() {
        let (out, plan) = adapt("svc", &template()).unwrap();
        assert!(out["Resources"].get("Mapping").is_none());
        let s = &plan.streams[0];
        assert_eq!(
            (
                s.table.as_str(),
                s.batch_size,
                s.bisect_on_error,
                s.max_retries
            ),
            ("Table", 10, true, 3)
        );
        assert_eq!(s.on_failure_topic.as_deref(), Some("Dlq"));
        assert!(s.report_batch_item_failures);
    }

    #[test]
    fn bucket_notifications_to_functions_become_taps() {
        let (out, plan) = adapt("svc", &template()).unwrap();
        assert_eq!(plan.uploads[0].prefix.as_deref(), Some("users/"));
        assert_eq!(plan.uploads[0].tap_queue, "BucketFnTap");
        assert!(
            out["Resources"]["Bucket"]["Properties"]
                .get("NotificationConfiguration")
                .is_none()
        );
        assert_eq!(
            out["Resources"]["Bucket"]["DependsOn"],
            json!([]),
            "the dropped permission is no dependency"
        );
    }

    #[test]
    fn the_http_api_becomes_routes_and_its_outputs_go() {
        let (out, plan) = adapt("svc", &template()).unwrap();
        assert_eq!(
            plan.routes,
            [Route {
                route_key: "GET /things/{id}".into(),
                function: "Fn".into()
            }]
        );
        for gone in ["Api", "Stage", "Perm", "Sub", "Policy"] {
            assert!(out["Resources"].get(gone).is_none(), "{gone}");
        }
        assert!(out["Outputs"].get("Url").is_none());
        assert!(out["Outputs"].get("Table").is_some());
    }

    #[test]
    fn subscriptions_are_made_by_api() {
        let (_, plan) = adapt("svc", &template()).unwrap();
        assert_eq!(
            plan.subscriptions,
            [Subscription {
                topic: "Dlq".into(),
                queue: "DlqQueue".into(),
                raw: false
            }]
        );
    }

    #[test]
    fn a_function_without_a_binary_is_refused_by_name() {
        let mut t = template();
        t["Resources"]["Fn"]["Metadata"] = json!({});
        let err = adapt("svc", &t).unwrap_err().to_string();
        assert!(err.contains("svc/Fn"), "{err}");
    }

    #[test]
    fn a_resource_left_pointing_at_a_dropped_one_is_refused() {
        let mut t = template();
        t["Resources"]["Extra"] =
            json!({"Type": "AWS::SSM::Parameter", "Properties": {"Value": {"Ref": "Api"}}});
        let err = adapt("svc", &t).unwrap_err().to_string();
        assert!(err.contains("svc/Extra"), "{err}");
    }
}
