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
//! - SNS subscriptions, skipped silently by the emulator's CloudFormation,
//!   are made by API; the Cognito user pool too (queue policies deploy as
//!   written: the emulator's launcher gives its CloudFormation their model);
//!   its domain, outside identity providers and the client's OAuth
//!   settings become its managed login, which the local Cognito front
//!   plays;
//! - a state machine's definition becomes one `DefinitionString`, its
//!   substitutions expanded with `Fn::Join`, and the machine is made
//!   runnable on the emulator's interpreter by the local cloud;
//! - a Lambda permission deploys as written (the local cloud judges a rule's,
//!   a bucket's and the local gateway's invocations by the function's
//!   policy); where it, or a role's policy, names an API the local cloud
//!   plays (its id, stage or authorizer in an `execute-api` ARN), the API's
//!   local id ([`local_api_id`]) stands in;
//! - a CloudFront distribution is played by the local CDN (from its
//!   behaviors, origins, error responses and managed policies), and its
//!   id, where a bucket policy names it, is the pinned local id;
//! - CloudWatch alarms are dropped: the emulator's CloudFormation has no
//!   model for them (moto 5.2.5 logs "No Moto CloudFormation support" and
//!   skips them, silently), and an HTTP API's alarm names the API the local
//!   cloud plays itself; those a gradual deployment watches are read into
//!   the plan first, and the local cloud evaluates them while it deploys;
//! - a dashboard is deployed (the emulator stores it), but its body is text
//!   for people, so a resource the local cloud plays or drops (an API, an
//!   alarm) is named in it by its logical id;
//! - a function's alias and versions (`AutoPublishAlias`) are the
//!   function, and CodeDeploy's resources leave the template: the local
//!   cloud runs the alias's versions itself; the preference, with its
//!   alarms, is in the plan, and `devstack deploy` plays it.
//!
//! Active tracing needs nothing here: the emulator's Lambda model ignores
//! `TracingConfig`, and the X-Ray write policy SAM adds to the role is
//! attached as written (the emulator's launcher attaches
//! `ManagedPolicyArns`); the local cloud hands each invocation its trace
//! header itself.

mod alarms;
mod aliases;
mod apigateway;
mod cloudfront;
mod cloudwatch;
mod cognito;
mod conditions;
mod domains;
mod events;
mod identity_pool;
mod lambda;
mod managed_login;
mod resources;
mod s3;
mod sns;
mod stage;
mod step_functions;

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Map, Value, json};

pub use alarms::{Dimension, RollbackAlarm};
pub use aliases::GradualDeploy;
pub use apigateway::{
    Cors, Route, SocketApi, SocketAuthorizer, SocketRoute, local_api_id, socket_placeholder,
};
pub use cloudfront::{
    BehaviorPlan, DistributionPlan, ErrorResponsePlan, OriginPlan, OriginTarget,
    local_distribution_id,
};
pub use cognito::{UserPoolPlan, bind_user_pool};
pub use domains::ApiMappingPlan;
pub use events::RuleTap;
pub use identity_pool::IdentityPoolPlan;
pub use lambda::{FunctionPlan, FunctionUrlPlan, StreamSource, local_function_url};
pub use managed_login::{ManagedLogin, OAuthClient, OidcProvider};
use resources::{mentions_any, type_of};
pub use resources::{pinned_id, target};
pub use s3::UploadTap;
pub use sns::Subscription;
pub use stage::{StageSettings, Throttle};
pub use step_functions::StateMachinePlan;

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
    /// Buckets whose versioning is on (the emulator's CloudFormation
    /// ignores `VersioningConfiguration`).
    pub versioned_buckets: Vec<String>,
    pub subscriptions: Vec<Subscription>,
    pub user_pools: Vec<UserPoolPlan>,
    /// Identity pools, played by the local cloud's Cognito front.
    pub identity_pools: Vec<IdentityPoolPlan>,
    pub sockets: Vec<SocketApi>,
    /// State machines, made runnable on the emulator's interpreter after
    /// the deploy (see `states`).
    pub state_machines: Vec<StateMachinePlan>,
    /// CloudFront distributions, played by the local CDN.
    pub distributions: Vec<DistributionPlan>,
    /// The stack's APIs' base paths on the platform's custom domain, which
    /// the local gateway serves them under.
    pub api_mappings: Vec<ApiMappingPlan>,
    /// Function URLs, served by the local cloud.
    pub function_urls: Vec<FunctionUrlPlan>,
    /// Each function's gradual deployment (`DeploymentPreference`), its
    /// alias collapsed onto the function: the local cloud runs one build.
    pub deployments: Vec<GradualDeploy>,
}

/// One stack's template being adapted, and what the walk over its
/// resources has gathered so far; each family's functions add to it.
struct Stack<'t> {
    name: &'t str,
    /// The template's `Parameters`, whose defaults stand for their values.
    parameters: Value,
    resources: &'t mut Map<String, Value>,
    /// The stack's functions, known before the walk.
    functions: BTreeSet<String>,
    plan: Plan,
    /// What the local cloud plays or drops: it leaves the template, and so
    /// must every reference to it.
    removed: BTreeSet<String>,
    /// Tap queues, which join the template.
    added: Map<String, Value>,
}

impl Stack<'_> {
    fn unsupported(&self, resource: &str, message: &str) -> AdaptError {
        unsupported(self.name, resource, message)
    }
}

fn unsupported(stack: &str, resource: &str, message: &str) -> AdaptError {
    AdaptError::Unsupported {
        stack: stack.to_owned(),
        resource: resource.to_owned(),
        message: message.to_owned(),
    }
}

/// The template as the emulator gets it, and the [`Plan`] of what the local
/// cloud plays itself instead.
pub fn adapt(stack: &str, template: &Value) -> Result<(Value, Plan), AdaptError> {
    let mut out = template.clone();
    conditions::drop_false(stack, &mut out)?;
    let deployments = aliases::collapse(&mut out);
    let parameters = out["Parameters"].clone();
    let resources = out
        .get_mut("Resources")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| AdaptError::NoResources(stack.to_owned()))?;
    let mut st = Stack {
        name: stack,
        parameters,
        resources,
        functions: BTreeSet::new(),
        plan: Plan {
            stack: stack.to_owned(),
            deployments,
            ..Plan::default()
        },
        removed: BTreeSet::new(),
        added: Map::new(),
    };
    lambda::functions(&mut st)?;
    let ids: Vec<String> = st.resources.keys().cloned().collect();
    for id in ids {
        adapt_resource(&mut st, &id)?;
    }
    apigateway::pin_api_names(&mut st);
    cloudfront::pin_distribution_ids(&mut st);
    domains::pin_alias_targets(&mut st);
    apigateway::local_socket_urls(&mut st);
    lambda::permissions_of_what_stays(&mut st);
    for r in st.resources.values_mut() {
        lambda::pin_function_urls(r, &st.plan.function_urls);
    }
    cloudwatch::name_in_dashboards(st.resources, &st.removed);
    settle_resources(&mut st);
    let Stack {
        mut plan, removed, ..
    } = st;
    if let Some(outputs) = out.get_mut("Outputs").and_then(Value::as_object_mut) {
        outputs
            .values_mut()
            .for_each(|o| lambda::pin_function_urls(o, &plan.function_urls));
        for pool in &plan.identity_pools {
            outputs
                .values_mut()
                .for_each(|o| identity_pool::write_id(o, &pool.logical, &pool.id));
        }
        cognito::hold_back_outputs(&mut plan.user_pools, outputs, &removed);
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
            stack,
            &id,
            "still refers to a resource the local cloud provides itself",
        ));
    }
    Ok((out, plan))
}

/// The template with each override as its parameter's default: the
/// values the local cloud deploys and enforces, as `--parameter-overrides`
/// gives them on AWS. An override for a parameter the template lacks is
/// ignored, as one override list serves every stack.
pub fn with_parameters(mut template: Value, overrides: &[(String, String)]) -> Value {
    if let Some(params) = template
        .get_mut("Parameters")
        .and_then(Value::as_object_mut)
    {
        for (name, value) in overrides {
            if let Some(p) = params.get_mut(name).and_then(Value::as_object_mut) {
                p.insert("Default".into(), Value::from(value.as_str()));
            }
        }
    }
    template
}

/// Hands one resource to its family. A type no family claims deploys to
/// the emulator as written.
fn adapt_resource(st: &mut Stack, id: &str) -> Result<(), AdaptError> {
    let kind = type_of(&st.resources[id]).to_owned();
    let props = st.resources[id]["Properties"].clone();
    match kind.as_str() {
        "AWS::Lambda::EventInvokeConfig" => lambda::invoke_config(st, &props),
        "AWS::Lambda::EventSourceMapping" => lambda::stream_mapping(st, id, &props)?,
        "AWS::Lambda::Url" => lambda::function_url(st, id, &props)?,
        "AWS::Events::Rule" => events::rule(st, id),
        "AWS::S3::Bucket" => s3::bucket(st, id)?,
        "AWS::ApiGatewayV2::Api" if props["ProtocolType"] == "WEBSOCKET" => {
            apigateway::websocket_api(st, id, &props)?
        }
        "AWS::ApiGatewayV2::Api" => apigateway::http_api(st, id, &props)?,
        "AWS::SNS::Subscription" => sns::subscription(st, id, &props)?,
        "AWS::Cognito::UserPool" => cognito::user_pool(st, id, &props)?,
        "AWS::Cognito::IdentityPool" => identity_pool::identity_pool(st, id, &props)?,
        "AWS::StepFunctions::StateMachine" => step_functions::state_machine(st, id, &props)?,
        "AWS::CloudFront::Distribution" => cloudfront::distribution(st, id, &props)?,
        "AWS::ApiGatewayV2::ApiMapping" => domains::api_mapping(st, id, &props)?,
        // No model in the emulator's CloudFormation; see the module doc.
        "AWS::CloudWatch::Alarm" | "AWS::CloudWatch::CompositeAlarm" => {
            st.removed.insert(id.to_owned());
        }
        k if k.starts_with("AWS::ApiGatewayV2::") || k == "AWS::Cognito::UserPoolClient" => {
            st.removed.insert(id.to_owned());
        }
        _ => {}
    }
    Ok(())
}

/// Takes out what was removed, puts in what was added, and leaves no
/// dependency on what is gone.
fn settle_resources(st: &mut Stack) {
    for id in &st.removed {
        st.resources.remove(id);
    }
    st.resources.extend(std::mem::take(&mut st.added));
    for r in st.resources.values_mut() {
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
            .filter(|d| d.as_str().is_some_and(|d| !st.removed.contains(d)))
            .collect();
            *deps = Value::Array(keep);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn template() -> Value {
        json!({
            "Parameters": {"Rate": {"Type": "Number", "Default": 2}},
            "Resources": {
                "Fn": {"Type": "AWS::Lambda::Function", "Metadata": {"BuildProperties": {"Binary": "svc-fn"}},
                       "Properties": {"Timeout": 9, "DeadLetterConfig": {"TargetArn": {"Ref": "Dlq"}},
                                      "Environment": {"Variables": {"TABLE": {"Ref": "Table"},
                                          "CONNECTIONS_URL": {"Fn::Sub": "https://${Socket}.execute-api.${AWS::Region}.amazonaws.com/${SocketStage}"}}}}},
                "FnInvoke": {"Type": "AWS::Lambda::EventInvokeConfig", "Properties": {"FunctionName": {"Ref": "Fn"}, "MaximumRetryAttempts": 1, "MaximumEventAgeInSeconds": 120}},
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
                "Bucket": {"Type": "AWS::S3::Bucket", "DependsOn": ["Perm"], "Properties": {"VersioningConfiguration": {"Status": "Enabled"}, "NotificationConfiguration": {"LambdaConfigurations": [
                    {"Event": "s3:ObjectCreated:*", "Function": {"Fn::GetAtt": ["Fn", "Arn"]},
                     "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": "users/"}]}}}]}}},
                "Perm": {"Type": "AWS::Lambda::Permission", "Properties": {"FunctionName": {"Ref": "Fn"}, "Principal": "apigateway.amazonaws.com",
                    "SourceArn": {"Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/*"}}},
                "RulePerm": {"Type": "AWS::Lambda::Permission", "Properties": {"FunctionName": {"Ref": "Fn"}, "Principal": "events.amazonaws.com",
                    "SourceArn": {"Fn::GetAtt": ["Rule", "Arn"]}}},
                "Api": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"Body": {"paths": {"/things/{id}": {"get": {
                    "x-amazon-apigateway-integration": {"uri": {"Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Fn.Arn}/invocations"}}}}}}}},
                "Stage": {"Type": "AWS::ApiGatewayV2::Stage", "Properties": {"ApiId": {"Ref": "Api"},
                    "DefaultRouteSettings": {"ThrottlingRateLimit": {"Ref": "Rate"}, "ThrottlingBurstLimit": 4},
                    "AccessLogSettings": {"DestinationArn": {"Fn::GetAtt": ["Logs", "Arn"]}, "Format": "{\"id\":\"$context.requestId\"}"}}},
                "Logs": {"Type": "AWS::Logs::LogGroup"},
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
    fn a_resource_left_pointing_at_a_dropped_one_is_refused() {
        let mut t = template();
        t["Resources"]["Extra"] =
            json!({"Type": "AWS::SSM::Parameter", "Properties": {"Value": {"Ref": "Api"}}});
        let err = adapt("svc", &t).unwrap_err().to_string();
        assert!(err.contains("svc/Extra"), "{err}");
    }
}
