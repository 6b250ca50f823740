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
//!   OpenAPI body (with its CORS configuration); a WebSocket API becomes a
//!   local WebSocket endpoint, from its routes, integrations and
//!   authorizer, and a function's environment value that names the API or
//!   its stage (the `@connections` URL) becomes [`socket_placeholder`],
//!   which the local cloud replaces with its own URL;
//! - SNS subscriptions and queue policies, skipped silently by the
//!   emulator's CloudFormation, are made by API; the Cognito user pool too;
//! - Lambda permissions concern AWS's own invoke path and are dropped;
//! - CloudWatch alarms are dropped: the emulator's CloudFormation has no
//!   model for them (moto 5.2.5 logs "No Moto CloudFormation support" and
//!   skips them, silently), an HTTP API's alarm names the API the local
//!   cloud plays itself, and nothing evaluates alarms locally (the
//!   functions' EMF metrics go to their output, not to the emulator);
//! - a dashboard is deployed (the emulator stores it), but its body is text
//!   for people, so a resource the local cloud plays or drops (an API, an
//!   alarm) is named in it by its logical id.
//!
//! Active tracing needs nothing here: the emulator's Lambda model ignores
//! `TracingConfig` and its IAM role model ignores `ManagedPolicyArns` (the
//! X-Ray write policy SAM adds), so both deploy as written; the local cloud
//! hands each invocation its trace header itself.

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
    /// The HTTP API's CORS configuration, if it has one.
    pub cors: Option<Cors>,
}

/// An HTTP API's `CorsConfiguration` (`x-amazon-apigateway-cors`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Cors {
    pub allow_origins: Vec<String>,
    pub allow_headers: Vec<String>,
    pub allow_methods: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age: Option<u64>,
}

impl Cors {
    fn from_openapi(v: &Value) -> Option<Self> {
        let list = |k: &str| -> Vec<String> {
            v[k].as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        };
        v.is_object().then(|| Cors {
            allow_origins: list("allowOrigins"),
            allow_headers: list("allowHeaders"),
            allow_methods: list("allowMethods"),
            expose_headers: list("exposeHeaders"),
            max_age: v["maxAge"].as_u64(),
        })
    }
}

/// A WebSocket API the local cloud plays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SocketApi {
    /// The API's logical id.
    pub api: String,
    pub stage: String,
    /// e.g. `$request.body.action`.
    pub route_selection_expression: String,
    pub routes: Vec<SocketRoute>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SocketRoute {
    /// `$connect`, `$disconnect`, `$default` or a selected value.
    pub route_key: String,
    pub function: String,
    pub authorizer: Option<SocketAuthorizer>,
}

/// A Lambda REQUEST authorizer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SocketAuthorizer {
    pub function: String,
    /// e.g. `route.request.querystring.token`; all must be present, or the
    /// caller gets 401 and the authorizer is not called.
    pub identity_source: Vec<String>,
}

/// What a function's environment holds, on the emulator, where AWS would
/// have the `@connections` URL of the WebSocket API `api`.
pub fn socket_placeholder(api: &str) -> String {
    format!("local-socket://{api}")
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
    /// The stack's outputs (and exports) of the pool's id, client id or
    /// issuer, held back until the pool exists: [`bind_user_pool`] puts
    /// them back with its real values, so the services import them as on
    /// AWS.
    pub outputs: Map<String, Value>,
}

/// Puts a user pool's outputs back into the adapted template, with the
/// pool's and client's ids in place of their references.
pub fn bind_user_pool(template: &mut Value, pool: &UserPoolPlan, pool_id: &str, client_id: &str) {
    fn bind(v: &mut Value, names: &[(&str, &str)]) {
        if let Some(Value::String(t)) = v.get("Ref")
            && let Some((_, value)) = names.iter().find(|(n, _)| n == t)
        {
            *v = Value::from(*value);
            return;
        }
        match v {
            Value::Object(map) => {
                if let Some(Value::String(text)) = map.get_mut("Fn::Sub") {
                    for (name, value) in names {
                        *text = text.replace(&format!("${{{name}}}"), value);
                    }
                }
                map.values_mut().for_each(|c| bind(c, names));
            }
            Value::Array(items) => items.iter_mut().for_each(|c| bind(c, names)),
            _ => {}
        }
    }
    let names = [
        (pool.pool.as_str(), pool_id),
        (pool.client.as_str(), client_id),
    ];
    let outputs = template
        .as_object_mut()
        .expect("a template is an object")
        .entry("Outputs")
        .or_insert_with(|| json!({}));
    for (name, output) in &pool.outputs {
        let mut output = output.clone();
        bind(&mut output, &names);
        outputs[name] = output;
    }
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
    pub sockets: Vec<SocketApi>,
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
            "AWS::ApiGatewayV2::Api" if props["ProtocolType"] == "WEBSOCKET" => {
                plan.sockets.push(
                    socket_api(&id, &props, resources, &functions)
                        .map_err(|message| unsupported(&id, &message))?,
                );
                removed.insert(id.clone());
            }
            "AWS::ApiGatewayV2::Api" => {
                let cors = Cors::from_openapi(&props["Body"]["x-amazon-apigateway-cors"]);
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
                            cors: cors.clone(),
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
                    outputs: Map::new(),
                });
                removed.insert(id.clone());
            }
            // No model in the emulator's CloudFormation; see the module doc.
            "AWS::CloudWatch::Alarm" | "AWS::CloudWatch::CompositeAlarm" => {
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
    // The @connections URL is the local cloud's to give.
    let socket_parts: Vec<(String, BTreeSet<String>)> = plan
        .sockets
        .iter()
        .map(|s| {
            let mut ids: BTreeSet<String> = resources
                .iter()
                .filter(|(_, r)| target(&r["Properties"]["ApiId"]) == Some(s.api.as_str()))
                .map(|(id, _)| id.clone())
                .collect();
            ids.insert(s.api.clone());
            (s.api.clone(), ids)
        })
        .collect();
    for id in &functions {
        let vars = resources[id]["Properties"]["Environment"]["Variables"].as_object_mut();
        for value in vars.into_iter().flat_map(|v| v.values_mut()) {
            if let Some((api, _)) = socket_parts
                .iter()
                .find(|(_, ids)| mentions_any(value, ids))
            {
                *value = Value::from(socket_placeholder(api));
            }
        }
    }
    // Roles name the API in `execute-api:ManageConnections` resources;
    // the emulator enforces no IAM, so the placeholder stands in there too.
    let roles: Vec<String> = resources
        .iter()
        .filter(|(_, r)| type_of(r) == "AWS::IAM::Role")
        .map(|(id, _)| id.clone())
        .collect();
    for id in roles {
        for (api, ids) in &socket_parts {
            replace_mentions(&mut resources[&id], ids, &socket_placeholder(api));
        }
    }
    // A dashboard's body is for people: what the local cloud plays or
    // dropped is named by its logical id (moto stores the body unread).
    for r in resources
        .values_mut()
        .filter(|r| type_of(r) == "AWS::CloudWatch::Dashboard")
    {
        name_in_text(&mut r["Properties"], &removed);
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
        for pool in &mut plan.user_pools {
            let own: BTreeSet<String> = [pool.pool.clone(), pool.client.clone()].into();
            let others: BTreeSet<String> = removed.difference(&own).cloned().collect();
            for (name, o) in outputs.iter() {
                if mentions_any(o, &own) && !mentions_any(o, &others) {
                    pool.outputs.insert(name.clone(), o.clone());
                }
            }
        }
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

/// A WebSocket API from its routes, their integrations and authorizers.
fn socket_api(
    id: &str,
    props: &Value,
    resources: &Map<String, Value>,
    functions: &BTreeSet<String>,
) -> Result<SocketApi, String> {
    let of_api = |kind: &'static str| {
        resources.iter().filter(move |(_, r)| {
            type_of(r) == kind && target(&r["Properties"]["ApiId"]) == Some(id)
        })
    };
    // `arn:...:functions/${Fn.Arn}/invocations` → `Fn`.
    let function_in = |uri: &Value| -> Option<String> {
        let text = uri["Fn::Sub"].as_str().or_else(|| uri.as_str())?;
        functions
            .iter()
            .find(|f| text.contains(&format!("${{{f}.Arn}}")))
            .cloned()
    };
    let stage = of_api("AWS::ApiGatewayV2::Stage")
        .next()
        .and_then(|(_, r)| r["Properties"]["StageName"].as_str())
        .ok_or("a WebSocket API needs a stage")?
        .to_owned();
    let mut routes = Vec::new();
    for (rid, r) in of_api("AWS::ApiGatewayV2::Route") {
        let p = &r["Properties"];
        let route_key = p["RouteKey"]
            .as_str()
            .ok_or(format!("{rid} has no RouteKey"))?;
        // `integrations/${Integration}`.
        let target_text = p["Target"]["Fn::Sub"].as_str().unwrap_or_default();
        let integration = resources
            .iter()
            .find(|(iid, r)| {
                type_of(r) == "AWS::ApiGatewayV2::Integration"
                    && target_text == format!("integrations/${{{iid}}}")
            })
            .ok_or(format!(
                "{rid}: its Target names no integration of this stack"
            ))?;
        let function = function_in(&integration.1["Properties"]["IntegrationUri"]).ok_or(
            format!("{rid}: its integration calls no function of this stack"),
        )?;
        let authorizer = match p["AuthorizationType"].as_str() {
            None | Some("NONE") => None,
            Some("CUSTOM") => {
                let aid = target(&p["AuthorizerId"])
                    .ok_or(format!("{rid}: CUSTOM without AuthorizerId"))?;
                let a = &resources
                    .get(aid)
                    .ok_or(format!("{rid}: no authorizer {aid}"))?["Properties"];
                if a["AuthorizerType"] != "REQUEST" {
                    return Err(format!(
                        "{aid}: only REQUEST authorizers exist for WebSocket APIs"
                    ));
                }
                Some(SocketAuthorizer {
                    function: function_in(&a["AuthorizerUri"])
                        .ok_or(format!("{aid}: calls no function of this stack"))?,
                    identity_source: a["IdentitySource"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect(),
                })
            }
            Some(other) => {
                return Err(format!(
                    "{rid}: authorization {other} is not played locally"
                ));
            }
        };
        routes.push(SocketRoute {
            route_key: route_key.to_owned(),
            function,
            authorizer,
        });
    }
    routes.sort_by(|a, b| a.route_key.cmp(&b.route_key));
    Ok(SocketApi {
        api: id.to_owned(),
        stage,
        route_selection_expression: props["RouteSelectionExpression"]
            .as_str()
            .unwrap_or("$request.body.action")
            .to_owned(),
        routes,
    })
}

/// Replaces each intrinsic that refers to one of `ids` by `with`.
fn replace_mentions(v: &mut Value, ids: &BTreeSet<String>, with: &str) {
    let direct = v.as_object().is_some_and(|map| {
        map.len() == 1
            && map
                .keys()
                .all(|k| matches!(k.as_str(), "Ref" | "Fn::GetAtt" | "Fn::Sub"))
            && mentions_any(v, ids)
    });
    if direct {
        *v = Value::from(with);
        return;
    }
    match v {
        Value::Object(map) => map
            .values_mut()
            .for_each(|child| replace_mentions(child, ids, with)),
        Value::Array(items) => items
            .iter_mut()
            .for_each(|child| replace_mentions(child, ids, with)),
        _ => {}
    }
}

/// Replaces each reference to one of `ids` by the id as text: `Ref` and
/// `GetAtt` values, and `${Id}` or `${Id.Attribute}` in a Sub's text.
fn name_in_text(v: &mut Value, ids: &BTreeSet<String>) {
    if let Some(id) = target(v).filter(|t| ids.contains(*t)) {
        *v = Value::from(id.to_owned());
        return;
    }
    if let Some(sub) = v.get_mut("Fn::Sub") {
        let text = match sub {
            Value::Array(parts) => parts.get_mut(0),
            other => Some(other),
        };
        if let Some(Value::String(text)) = text {
            let mut out = String::with_capacity(text.len());
            let mut rest = text.as_str();
            while let Some(start) = rest.find("${") {
                out.push_str(&rest[..start]);
                let after = &rest[start..];
                let Some(end) = after.find('}') else {
                    rest = after;
                    break;
                };
                let name = after[2..end].split('.').next().unwrap_or_default();
                if ids.contains(name) {
                    out.push_str(name);
                } else {
                    out.push_str(&after[..=end]);
                }
                rest = &after[end + 1..];
            }
            out.push_str(rest);
            *text = out;
        }
    }
    match v {
        Value::Object(map) => map.values_mut().for_each(|c| name_in_text(c, ids)),
        Value::Array(items) => items.iter_mut().for_each(|c| name_in_text(c, ids)),
        _ => {}
    }
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
                       "Properties": {"Timeout": 9, "DeadLetterConfig": {"TargetArn": {"Ref": "Dlq"}},
                                      "Environment": {"Variables": {"TABLE": {"Ref": "Table"},
                                          "CONNECTIONS_URL": {"Fn::Sub": "https://${Socket}.execute-api.${AWS::Region}.amazonaws.com/${SocketStage}"}}}}},
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
                "Stage": {"Type": "AWS::ApiGatewayV2::Stage", "Properties": {"ApiId": {"Ref": "Api"}}},
                "Socket": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"ProtocolType": "WEBSOCKET", "RouteSelectionExpression": "$request.body.action"}},
                "SocketStage": {"Type": "AWS::ApiGatewayV2::Stage", "Properties": {"ApiId": {"Ref": "Socket"}, "StageName": "live"}},
                "SocketAuth": {"Type": "AWS::ApiGatewayV2::Authorizer", "Properties": {"ApiId": {"Ref": "Socket"}, "AuthorizerType": "REQUEST",
                    "IdentitySource": ["route.request.querystring.token"],
                    "AuthorizerUri": {"Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Fn.Arn}/invocations"}}},
                "SocketIntegration": {"Type": "AWS::ApiGatewayV2::Integration", "Properties": {"ApiId": {"Ref": "Socket"}, "IntegrationType": "AWS_PROXY",
                    "IntegrationUri": {"Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Fn.Arn}/invocations"}}},
                "Connect": {"Type": "AWS::ApiGatewayV2::Route", "Properties": {"ApiId": {"Ref": "Socket"}, "RouteKey": "$connect",
                    "AuthorizationType": "CUSTOM", "AuthorizerId": {"Ref": "SocketAuth"}, "Target": {"Fn::Sub": "integrations/${SocketIntegration}"}}},
                "Default": {"Type": "AWS::ApiGatewayV2::Route", "Properties": {"ApiId": {"Ref": "Socket"}, "RouteKey": "$default",
                    "Target": {"Fn::Sub": "integrations/${SocketIntegration}"}}}
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
                function: "Fn".into(),
                cors: None,
            }]
        );
        for gone in ["Api", "Stage", "Perm", "Sub", "Policy"] {
            assert!(out["Resources"].get(gone).is_none(), "{gone}");
        }
        assert!(out["Outputs"].get("Url").is_none());
        assert!(out["Outputs"].get("Table").is_some());
    }

    #[test]
    fn a_websocket_api_becomes_a_local_endpoint_with_its_routes_and_authorizer() {
        let (out, plan) = adapt("svc", &template()).unwrap();
        let authorizer = SocketAuthorizer {
            function: "Fn".into(),
            identity_source: vec!["route.request.querystring.token".into()],
        };
        assert_eq!(
            plan.sockets,
            [SocketApi {
                api: "Socket".into(),
                stage: "live".into(),
                route_selection_expression: "$request.body.action".into(),
                routes: vec![
                    SocketRoute {
                        route_key: "$connect".into(),
                        function: "Fn".into(),
                        authorizer: Some(authorizer)
                    },
                    SocketRoute {
                        route_key: "$default".into(),
                        function: "Fn".into(),
                        authorizer: None
                    },
                ],
            }]
        );
        for gone in [
            "Socket",
            "SocketStage",
            "SocketAuth",
            "SocketIntegration",
            "Connect",
            "Default",
        ] {
            assert!(out["Resources"].get(gone).is_none(), "{gone}");
        }
        let env = &out["Resources"]["Fn"]["Properties"]["Environment"]["Variables"];
        assert_eq!(env["CONNECTIONS_URL"], socket_placeholder("Socket"));
        assert_eq!(env["TABLE"], json!({"Ref": "Table"}), "other values stay");
    }

    #[test]
    fn an_http_apis_cors_configuration_reaches_its_routes() {
        let mut t = template();
        t["Resources"]["Api"]["Properties"]["Body"]["x-amazon-apigateway-cors"] = json!({"allowOrigins": ["*"], "allowHeaders": ["authorization"], "allowMethods": ["GET"], "maxAge": 600});
        let (_, plan) = adapt("svc", &t).unwrap();
        let cors = plan.routes[0].cors.as_ref().unwrap();
        assert_eq!(
            (cors.allow_origins.as_slice(), cors.max_age),
            (&["*".to_owned()][..], Some(600))
        );
    }

    #[test]
    fn a_websocket_route_without_a_function_is_refused_by_name() {
        let mut t = template();
        t["Resources"]["SocketIntegration"]["Properties"]["IntegrationUri"] =
            json!("arn:aws:lambda:elsewhere");
        let err = adapt("svc", &t).unwrap_err().to_string();
        assert!(
            err.contains("svc/Socket") && err.contains("Connect"),
            "{err}"
        );
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
    fn alarms_are_dropped_and_a_dashboard_names_what_the_local_cloud_plays() {
        let mut t = template();
        let ops = json!({"Fn::ImportValue": {"Fn::Sub": "${PlatformStack}-OpsTopicArn"}});
        t["Resources"]["ApiAlarm"] = json!({"Type": "AWS::CloudWatch::Alarm", "Properties": {
            "Metrics": [{"Id": "errors", "MetricStat": {"Metric": {"Namespace": "AWS/ApiGateway", "MetricName": "5xx",
                "Dimensions": [{"Name": "ApiId", "Value": {"Ref": "Api"}}]}, "Period": 300, "Stat": "Sum"}}],
            "AlarmActions": [ops.clone()], "OKActions": [ops]}});
        t["Resources"]["QueueAlarm"] = json!({"Type": "AWS::CloudWatch::Alarm", "Properties": {
            "Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["DlqQueue", "QueueName"]}}]}});
        t["Resources"]["Board"] = json!({"Type": "AWS::CloudWatch::Dashboard", "Properties": {
            "DashboardName": {"Fn::Sub": "${AWS::StackName}-${AWS::Region}"},
            "DashboardBody": {"Fn::Sub": "{\"alarms\": [\"${ApiAlarm.Arn}\"], \"api\": \"${Api}\", \"fn\": \"${Fn}\", \"q\": \"${DlqQueue.QueueName}\", \"r\": \"${AWS::Region}\", \"lit\": \"${!Api}\"}"}}});
        t["Resources"]["Fn"]["Properties"]["TracingConfig"] = json!({"Mode": "Active"});
        let (out, _) = adapt("svc", &t).unwrap();
        for gone in ["ApiAlarm", "QueueAlarm"] {
            assert!(out["Resources"].get(gone).is_none(), "{gone}");
        }
        let board = &out["Resources"]["Board"]["Properties"];
        assert_eq!(
            board["DashboardBody"]["Fn::Sub"],
            "{\"alarms\": [\"ApiAlarm\"], \"api\": \"Api\", \"fn\": \"${Fn}\", \"q\": \"${DlqQueue.QueueName}\", \"r\": \"${AWS::Region}\", \"lit\": \"${!Api}\"}",
            "what the emulator has stays a reference"
        );
        assert_eq!(
            board["DashboardName"],
            json!({"Fn::Sub": "${AWS::StackName}-${AWS::Region}"})
        );
        assert_eq!(
            out["Resources"]["Fn"]["Properties"]["TracingConfig"],
            json!({"Mode": "Active"}),
            "the emulator ignores active tracing; it deploys as written"
        );
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
