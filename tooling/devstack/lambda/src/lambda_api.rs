//! The Lambda API for the functions the local cloud runs: Invoke,
//! GetFunction and ListFunctions, so `aws lambda invoke`, `aws lambda
//! list-functions`, the ops CLI and tests work with
//! `AWS_ENDPOINT_URL_LAMBDA` pointing here. Answers have AWS's shape, down
//! to the error headers the SDK reads (the parity suite checks them).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::invoke::AsyncFunction;
use crate::runtime::{Arrival, Function, InvokeError, Qualifier};
use crate::spec::Spec;

type Functions = Arc<(
    BTreeMap<String, Function>,
    BTreeMap<String, Arc<AsyncFunction>>,
)>;

/// The Lambda operations this API answers, as AWS names them (the
/// routes below); the rest of Lambda's API is the emulator's.
pub const OPERATIONS: &[&str] = &["ListFunctions", "GetFunction", "Invoke"];

pub fn router(
    functions: BTreeMap<String, Function>,
    asyncs: BTreeMap<String, Arc<AsyncFunction>>,
) -> Router {
    Router::new()
        .route("/2015-03-31/functions", get(list))
        .route("/2015-03-31/functions/", get(list))
        .route("/2015-03-31/functions/{name}", get(get_function))
        .route("/2015-03-31/functions/{name}/invocations", post(invoke))
        .with_state(Arc::new((functions, asyncs)))
}

/// A function by its physical name, its ARN (full or partial), or
/// `<stack>/<LogicalId>`, without a qualifier.
fn find<'a>(
    functions: &'a BTreeMap<String, Function>,
    name: &str,
) -> Option<(&'a String, &'a Function)> {
    let bare = name.rsplit(':').next().unwrap_or(name);
    functions
        .iter()
        .find(|(key, f)| *key == name || f.spec.physical_name == bare || f.spec.arn == name)
}

/// A function's name and the qualifier it ends with, if any
/// (`name:live`, `arn:aws:lambda:…:function:name:2`).
fn split_qualifier(name: &str) -> (&str, Option<&str>) {
    let start = name
        .rfind(":function:")
        .map_or(0, |i| i + ":function:".len());
    match name[start..].find(':') {
        Some(i) => (&name[..start + i], Some(&name[start + i + 1..])),
        None => (name, None),
    }
}

/// The ARN AWS names in a "not found" message.
fn arn_of(name: &str) -> String {
    let region = kit::config::LOCAL_REGION;
    if name.starts_with("arn:") {
        name.to_owned()
    } else if name.contains(":function:") {
        format!("arn:aws:lambda:{region}:{name}")
    } else {
        format!("arn:aws:lambda:{region}:123456789012:function:{name}")
    }
}

fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// An error as Lambda's REST API sends it: the type in `x-amzn-errortype`
/// (where the SDK looks first), `{"Type", "Message"}` in the body.
fn error(status: StatusCode, kind: &'static str, message: String) -> Response {
    (
        status,
        [
            ("x-amzn-errortype", kind.to_owned()),
            ("x-amzn-requestid", request_id()),
            ("content-type", "application/json".to_owned()),
        ],
        json!({"Type": "User", "Message": message}).to_string(),
    )
        .into_response()
}

fn not_found(name: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "ResourceNotFoundException",
        format!("Function not found: {}", arn_of(name)),
    )
}

fn ok_json(body: Value) -> Response {
    (
        StatusCode::OK,
        [
            ("x-amzn-requestid", request_id()),
            ("content-type", "application/json".to_owned()),
        ],
        body.to_string(),
    )
        .into_response()
}

/// A `FunctionConfiguration`, as GetFunction and ListFunctions give it.
fn function_configuration(spec: &Spec, code_size: u64) -> Value {
    let c = &spec.configuration;
    let mut v = json!({
        "FunctionName": spec.physical_name,
        "FunctionArn": spec.arn,
        "Runtime": c.runtime,
        "Role": c.role,
        "Handler": c.handler,
        "CodeSize": code_size,
        "Description": c.description,
        "Timeout": spec.timeout.as_secs(),
        "MemorySize": c.memory_size,
        "LastModified": c.last_modified,
        "CodeSha256": c.code_sha256,
        "Version": "$LATEST",
        "TracingConfig": {"Mode": c.tracing_mode},
        "RevisionId": c.revision_id,
        "State": "Active",
        "LastUpdateStatus": "Successful",
        "PackageType": "Zip",
        "Architectures": c.architectures,
        "EphemeralStorage": {"Size": c.ephemeral_storage_mb},
        "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
        "LoggingConfig": {"LogFormat": c.log_format, "LogGroup": c.log_group},
    });
    // AWS leaves out what is not configured rather than sending it empty.
    if !c.environment.is_empty() {
        v["Environment"] = json!({"Variables": c.environment});
    }
    if let Some(target) = &c.dead_letter_target {
        v["DeadLetterConfig"] = json!({"TargetArn": target});
    }
    v
}

/// The size of the binary a function runs now (a redeploy may swap it).
async fn code(function: &Function) -> (std::path::PathBuf, u64) {
    let binary = function.binary().await;
    let size = tokio::fs::metadata(&binary)
        .await
        .map(|m| m.len())
        .unwrap_or_default();
    (binary, size)
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    #[serde(rename = "Marker")]
    marker: Option<String>,
    #[serde(rename = "MaxItems")]
    max_items: Option<String>,
}

/// AWS's default page size and the largest it allows.
const PAGE: usize = 50;
const MAX_PAGE: usize = 10_000;

async fn list(State(fs): State<Functions>, Query(q): Query<ListQuery>) -> Response {
    let max = match q.max_items.as_deref().map(str::parse::<usize>) {
        None => PAGE,
        Some(Ok(n)) if (1..=MAX_PAGE).contains(&n) => n,
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "InvalidParameterValueException",
                format!("MaxItems must be between 1 and {MAX_PAGE}"),
            );
        }
    };
    let mut all: Vec<&Function> = fs.0.values().collect();
    all.sort_by(|a, b| a.spec.physical_name.cmp(&b.spec.physical_name));
    // The marker is the name of the page's first function: opaque to
    // clients, as AWS's is, and stable while the set of functions is.
    let start = match q.marker.as_deref().filter(|m| !m.is_empty()) {
        None => 0,
        Some(m) => match all.iter().position(|f| f.spec.physical_name == m) {
            Some(i) => i,
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "InvalidParameterValueException",
                    format!("Invalid marker: {m}"),
                );
            }
        },
    };
    let end = (start + max).min(all.len());
    let mut functions = Vec::with_capacity(end - start);
    for f in &all[start..end] {
        functions.push(function_configuration(&f.spec, code(f).await.1));
    }
    let mut body = json!({ "Functions": functions });
    if let Some(next) = all.get(end) {
        body["NextMarker"] = Value::from(next.spec.physical_name.clone());
    }
    ok_json(body)
}

#[derive(Debug, Deserialize)]
struct GetQuery {
    #[serde(rename = "Qualifier")]
    qualifier: Option<String>,
}

async fn get_function(
    State(fs): State<Functions>,
    Path(name): Path<String>,
    Query(q): Query<GetQuery>,
) -> Response {
    let (unqualified, in_name) = split_qualifier(&name);
    let found = find(&fs.0, unqualified)
        .filter(|_| (in_name.or(q.qualifier.as_deref())).is_none_or(|v| v == "$LATEST"));
    let Some((_, function)) = found else {
        return not_found(&name);
    };
    let (binary, size) = code(function).await;
    ok_json(json!({
        "Configuration": function_configuration(&function.spec, size),
        // The code is the binary on this machine, never uploaded anywhere.
        "Code": {"RepositoryType": "S3", "Location": format!("file://{}", binary.display())},
        "Tags": function.spec.configuration.tags,
    }))
}

async fn invoke(
    State(fs): State<Functions>,
    Path(name): Path<String>,
    Query(q): Query<GetQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (functions, asyncs) = &*fs;
    let (unqualified, in_name) = split_qualifier(&name);
    let asked = in_name.or(q.qualifier.as_deref());
    let Some((key, function)) = find(functions, unqualified) else {
        return not_found(&name);
    };
    let Some(qualifier) = Qualifier::read(asked, function.spec.configuration.alias.as_deref())
    else {
        return not_found(&name);
    };
    let payload: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                // Lambda's one error whose body says `message`, not `Message`.
                return (
                    StatusCode::BAD_REQUEST,
                    [("x-amzn-errortype", "InvalidRequestContentException")],
                    json!({"Type": "User", "message": format!("Could not parse request body into json: {e}")}).to_string(),
                )
                    .into_response();
            }
        }
    };
    let kind = headers
        .get("x-amz-invocation-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("RequestResponse");
    if kind == "DryRun" {
        return (StatusCode::NO_CONTENT, [("x-amzn-requestid", request_id())]).into_response();
    }
    // A caller continues its trace with X-Amzn-Trace-Id (a DLQ replay does).
    let trace = headers
        .get(kit::telemetry::HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let correlation = payload["detail"]["metadata"]["correlation_id"]
        .as_str()
        .map(str::to_owned);
    if kind == "Event" {
        let target = asyncs[key].clone();
        // A rule's delivery (the engine's EventBridge names itself) is
        // drawn as the bus's, with the event's detail-type.
        let by_rule = (headers.get(devstack_api::telemetry::INVOKED_BY))
            .is_some_and(|v| v == devstack_api::telemetry::EVENTBRIDGE);
        let arrival = match payload["detail-type"].as_str() {
            Some(detail_type) if by_rule => Arrival::new("rule", detail_type),
            _ => Arrival::new("async", "Invoke API (Event)"),
        }
        .traced(trace)
        .correlated(correlation.as_deref());
        tokio::spawn(async move {
            target.invoke(payload, "Invoke API (Event)", arrival).await;
        });
        return (
            StatusCode::ACCEPTED,
            [("x-amzn-requestid", request_id())],
            "",
        )
            .into_response();
    }
    let by_states = (headers.get(devstack_api::telemetry::INVOKED_BY))
        .is_some_and(|v| v == devstack_api::telemetry::STEP_FUNCTIONS);
    let source = if by_states {
        devstack_api::telemetry::STEP_FUNCTIONS
    } else {
        "Invoke API"
    };
    let arrival = Arrival::new("invoke", source)
        .traced(trace)
        .correlated(correlation.as_deref());
    let id = request_id();
    // Unqualified, the function is invoked as its alias (every event
    // source's way here) and answers as `$LATEST`, as before it had
    // versions; a qualifier gets the version that ran.
    let (outcome, executed) = match asked {
        None => (
            function.invoke_traced(id.clone(), payload, arrival).await,
            "$LATEST".to_owned(),
        ),
        Some(_) => match function
            .invoke_qualified(&qualifier, id.clone(), payload, arrival)
            .await
        {
            Some((outcome, _)) if qualifier == Qualifier::Latest => (outcome, "$LATEST".to_owned()),
            Some((outcome, version)) => (outcome, version.to_string()),
            None => return not_found(&name),
        },
    };
    let executed = executed.as_str();
    match outcome {
        Ok(out) => (
            StatusCode::OK,
            [
                ("x-amz-executed-version", executed),
                ("x-amzn-requestid", &id),
                ("content-type", "application/json"),
            ],
            out.to_string(),
        )
            .into_response(),
        // Lambda refuses the call itself: no function error.
        Err(InvokeError::Throttled) => error(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequestsException",
            "Rate Exceeded.".to_owned(),
        ),
        Err(e) => (
            StatusCode::OK,
            [
                ("x-amz-function-error", "Unhandled"),
                ("x-amz-executed-version", executed),
                ("x-amzn-requestid", &id),
                ("content-type", "application/json"),
            ],
            // The runtime's own `{errorType, errorMessage}`, as Lambda
            // passes it on: the message without the type in front.
            json!({"errorType": e.error_type(), "errorMessage": match &e {
                InvokeError::Function { message, .. } => message.clone(),
                other => other.to_string(),
            }})
            .to_string(),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::{arn_of, split_qualifier};

    #[test]
    fn a_name_or_an_arn_may_end_with_its_qualifier() {
        let arn = "arn:aws:lambda:us-east-1:123456789012:function:todos-api";
        assert_eq!(split_qualifier(arn), (arn, None));
        assert_eq!(split_qualifier(&format!("{arn}:live")), (arn, Some("live")));
        assert_eq!(
            split_qualifier("todos-api:$LATEST"),
            ("todos-api", Some("$LATEST"))
        );
        assert_eq!(
            split_qualifier("123456789012:function:todos-api:3"),
            ("123456789012:function:todos-api", Some("3"))
        );
        assert_eq!(
            split_qualifier("todos/ApiFunction"),
            ("todos/ApiFunction", None)
        );
    }

    #[test]
    fn not_found_names_the_full_arn_as_aws_does() {
        assert_eq!(
            arn_of("f"),
            "arn:aws:lambda:us-east-1:123456789012:function:f"
        );
        assert_eq!(
            arn_of("123456789012:function:f"),
            "arn:aws:lambda:us-east-1:123456789012:function:f"
        );
        let full = "arn:aws:lambda:eu-west-1:123456789012:function:f";
        assert_eq!(arn_of(full), full);
    }
}
