//! CodeDeploy's lifecycle hooks as the local cloud plays them. Before a
//! gradual deployment shifts any traffic (and once all of it has shifted),
//! CodeDeploy invokes the function its preference names as the pre-traffic
//! (post-traffic) hook, with the deployment's id and an execution id, and
//! waits for the hook to report `Succeeded` or `Failed` with
//! `PutLifecycleEventHookExecutionStatus`; a hook that ends
//! without reporting fails the deployment. The emulator has no such call:
//! the gate answers it from here ([`answer`]), after the judge allowed it.

use std::collections::BTreeMap;
use std::sync::Mutex;

use axum::body::Body;
use axum::http::{HeaderValue, Response, StatusCode};
use serde_json::{Value, json};

use crate::protocol::Protocol;

/// The operation the gate answers (`X-Amz-Target`).
const PUT_STATUS: &str = "CodeDeploy_20141006.PutLifecycleEventHookExecutionStatus";

/// A hook's verdict on the new version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Succeeded,
    Failed,
}

/// The hook executions of a local cloud's deployments, by execution id.
#[derive(Default)]
pub struct Hooks {
    executions: Mutex<BTreeMap<String, Execution>>,
}

struct Execution {
    deployment_id: String,
    status: Option<Status>,
    /// The deployment moved on: a status now comes too late.
    closed: bool,
}

/// A CodeDeploy deployment id: `d-` and nine letters or digits.
pub fn deployment_id() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
    format!("d-{}", &id[..9])
}

impl Hooks {
    /// A new execution of a hook for `deployment_id`; its id.
    pub fn open(&self, deployment_id: &str) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        self.lock().insert(
            id.clone(),
            Execution {
                deployment_id: deployment_id.to_owned(),
                status: None,
                closed: false,
            },
        );
        id
    }

    /// The status reported for `execution`, if any; no report is taken
    /// after this.
    pub fn close(&self, execution: &str) -> Option<Status> {
        let mut executions = self.lock();
        let e = executions.get_mut(execution)?;
        e.closed = true;
        e.status
    }

    /// A report, as CodeDeploy takes or refuses it: the execution id, or
    /// the error's type and message.
    fn report(&self, body: &Value) -> Result<String, (&'static str, String)> {
        let field = |name: &str| body[name].as_str().filter(|v| !v.is_empty());
        let deployment = field("deploymentId").ok_or((
            "DeploymentIdRequiredException",
            "deploymentId is required".to_owned(),
        ))?;
        let execution = field("lifecycleEventHookExecutionId").ok_or((
            "InvalidLifecycleEventHookExecutionIdException",
            "lifecycleEventHookExecutionId is required".to_owned(),
        ))?;
        let status = match field("status") {
            Some("Succeeded") => Status::Succeeded,
            Some("Failed") => Status::Failed,
            other => {
                return Err((
                    "InvalidLifecycleEventHookExecutionStatusException",
                    format!("status {other:?}: a hook reports Succeeded or Failed"),
                ));
            }
        };
        let mut executions = self.lock();
        if !executions.values().any(|e| e.deployment_id == deployment) {
            return Err((
                "DeploymentDoesNotExistException",
                format!("The deployment {deployment} could not be found"),
            ));
        }
        let e = executions
            .get_mut(execution)
            .filter(|e| e.deployment_id == deployment)
            .ok_or((
                "InvalidLifecycleEventHookExecutionIdException",
                format!("{execution} is not a hook execution of {deployment}"),
            ))?;
        if e.closed || e.status.is_some() {
            return Err((
                "LifecycleEventAlreadyCompletedException",
                format!("the hook execution {execution} has already completed"),
            ));
        }
        e.status = Some(status);
        Ok(execution.to_owned())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Execution>> {
        self.executions.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The answer to a CodeDeploy call (`target`: its `X-Amz-Target`); an
/// error in the JSON protocol's shape, as the gate's own refusals are.
pub fn answer(hooks: &Hooks, target: &str, body: &[u8]) -> Response<Body> {
    let refused = |kind: &str, message: &str| {
        let protocol = Protocol::Json {
            target: target.to_owned(),
        };
        protocol.refused(StatusCode::BAD_REQUEST, kind, message)
    };
    if target != PUT_STATUS {
        return refused(
            "UnknownOperationException",
            &format!(
                "{target}: the local cloud answers only PutLifecycleEventHookExecutionStatus of CodeDeploy"
            ),
        );
    }
    let Ok(body) = serde_json::from_slice::<Value>(body) else {
        return refused("SerializationException", "the body is not JSON");
    };
    match hooks.report(&body) {
        Ok(execution) => {
            let answer = json!({"lifecycleEventHookExecutionId": execution});
            let mut response = Response::new(Body::from(answer.to_string()));
            response.headers_mut().insert(
                "content-type",
                HeaderValue::from_static("application/x-amz-json-1.1"),
            );
            response
        }
        Err((kind, message)) => refused(kind, &message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(
        hooks: &Hooks,
        deployment: &str,
        execution: &str,
        status: &str,
    ) -> Result<String, &'static str> {
        hooks
            .report(&json!({"deploymentId": deployment, "lifecycleEventHookExecutionId": execution, "status": status}))
            .map_err(|(kind, _)| kind)
    }

    #[test]
    fn a_hook_reports_once_for_its_own_deployment_before_it_closes() {
        let hooks = Hooks::default();
        let d = deployment_id();
        assert!(d.starts_with("d-") && d.len() == 11, "{d}");
        let e = hooks.open(&d);
        assert_eq!(
            report(&hooks, &d, &e, "Pending"),
            Err("InvalidLifecycleEventHookExecutionStatusException")
        );
        assert_eq!(
            report(&hooks, "d-OTHER0000", &e, "Succeeded"),
            Err("DeploymentDoesNotExistException")
        );
        let other = hooks.open("d-ELSEWHERE");
        assert_eq!(
            report(&hooks, &d, &other, "Succeeded"),
            Err("InvalidLifecycleEventHookExecutionIdException")
        );
        assert_eq!(report(&hooks, &d, &e, "Failed"), Ok(e.clone()));
        assert_eq!(
            report(&hooks, &d, &e, "Succeeded"),
            Err("LifecycleEventAlreadyCompletedException"),
            "the first report stands"
        );
        assert_eq!(hooks.close(&e), Some(Status::Failed));

        // Closed before it reported: too late afterwards.
        let late = hooks.open(&d);
        assert_eq!(hooks.close(&late), None);
        assert_eq!(
            report(&hooks, &d, &late, "Succeeded"),
            Err("LifecycleEventAlreadyCompletedException")
        );
    }
}
