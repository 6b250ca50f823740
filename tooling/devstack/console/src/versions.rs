//! Each function's version behind its alias, as its gradual deployments
//! left it: the map names it, so a redeploy shows on the drawing as it
//! does in Deployments.

use std::collections::BTreeMap;

use devstack_api::telemetry::DeploymentSeen;

/// Function → its live version, from deployments newest first: a
/// deployment that succeeded made its new version live; one rolled back,
/// stopped or still running leaves the old one there.
pub fn live(deployments: &[DeploymentSeen]) -> BTreeMap<String, u32> {
    let mut out = BTreeMap::new();
    for seen in deployments {
        let d = &seen.deployment;
        let version = if d.outcome == "succeeded" {
            d.to_version
        } else {
            d.from_version
        };
        out.entry(d.function.clone()).or_insert(version);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use devstack_api::control::Deployment;

    fn seen(function: &str, from: u32, to: u32, outcome: &str) -> DeploymentSeen {
        let mut deployment: Deployment = serde_json::from_value(serde_json::json!({
            "function": function, "config": "AllAtOnce", "from_version": from,
            "to_version": to, "shifts": [], "alarms": [], "outcome": outcome, "ms": 0,
            "old_version": {"invocations": 0, "errors": 0},
            "new_version": {"invocations": 0, "errors": 0},
        }))
        .unwrap();
        deployment.outcome = outcome.into();
        DeploymentSeen {
            at_ms: 0.0,
            deployment,
        }
    }

    #[test]
    fn the_newest_deployment_decides_and_a_rollback_keeps_the_old_version() {
        let newest_first = [
            seen("notifications/ApiFunction", 3, 4, "succeeded"),
            seen("todos/ApiFunction", 2, 3, "rolled back"),
            seen("notifications/ApiFunction", 2, 3, "succeeded"),
            seen("users/ApiFunction", 1, 2, "in progress"),
        ];
        let live = live(&newest_first);
        assert_eq!(live["notifications/ApiFunction"], 4);
        assert_eq!(live["todos/ApiFunction"], 2);
        assert_eq!(live["users/ApiFunction"], 1);
    }
}
