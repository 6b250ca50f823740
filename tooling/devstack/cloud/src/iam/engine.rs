//! What the engine asks the judge before it acts as AWS would (moto's
//! server calls these routes at `DEVSTACK_JUDGE_URL`): SNS's deliveries
//! to queues, calls into another account's bus, and a rule's deliveries
//! across accounts and to its targets' dead-letter queues.

use std::sync::Arc;

use devstack_iam::Mode;
use devstack_iam::actions::Call;
use devstack_iam::policy::{NamedPolicy, administrator};
use devstack_iam::verdict::{Caller, judge};

use super::{Judge, denial};

impl Judge {
    /// Whether the resource's own policy lets `account` (any principal of
    /// it its identity policies allow) make `call` on another account's
    /// resource: the engine asks before a call reaches another account's
    /// bus, as IAM asks the resource's side of a call across accounts. A
    /// role's own side was judged at its gate. `None`: allowed; else
    /// AWS's message.
    pub async fn account_consent(&self, account: &str, call: &Call) -> Option<String> {
        if self.mode == Mode::Off {
            return None;
        }
        let owner = call.resource.split(':').nth(4).unwrap_or_default();
        if owner == account {
            return None;
        }
        let caller = Caller::Role {
            arn: format!("arn:aws:iam::{account}:root"),
            session: None,
            tags: Vec::new(),
        };
        let policy = self
            .resources
            .of(&bus_of(&call.resource))
            .await
            .policy
            .clone();
        let verdict = judge(
            &caller,
            &[administrator()],
            policy.as_ref(),
            call,
            &self.place,
        );
        self.record(&format!("account {account}"), caller.name(), call, &verdict);
        (!verdict.allowed && self.mode == Mode::Strict)
            .then(|| denial(caller.name(), call, &verdict))
    }

    /// Whether EventBridge may deliver for the rule `t.rule` to the queue
    /// `t.resource` (a target in another account, or a target's
    /// dead-letter queue): the queue's own policy must let
    /// `events.amazonaws.com` in for the rule, as AWS asks it. `None`:
    /// allowed; else why not, in AWS's words.
    pub async fn rule_delivery(&self, t: &RuleTarget) -> Option<String> {
        if self.mode == Mode::Off {
            return None;
        }
        let caller = Caller::Service {
            name: "events.amazonaws.com".into(),
            source_arn: t.rule.clone(),
        };
        let name = t.resource.rsplit(':').next().unwrap_or_default();
        let policy = (t.policy.as_deref())
            .and_then(|p| NamedPolicy::parse(format!("queue policy of {name}"), p).ok());
        let call = Call::new(t.action.as_str(), t.resource.as_str());
        let verdict = judge(&caller, &[], policy.as_ref(), &call, &self.place);
        let rule = t.rule.rsplit('/').next().unwrap_or_default();
        self.record(
            &format!("EventBridge {rule}"),
            caller.name(),
            &call,
            &verdict,
        );
        (!verdict.allowed && self.mode == Mode::Strict)
            .then(|| denial(caller.name(), &call, &verdict))
    }
}

/// The moto side's question before SNS delivers to a queue.
#[derive(serde::Deserialize)]
struct Delivery {
    topic_arn: String,
    queue_arn: String,
}

/// The engine's question before a call reaches another account's bus.
#[derive(serde::Deserialize)]
struct Consent {
    account: String,
    action: String,
    resource: String,
    #[serde(default)]
    context: std::collections::BTreeMap<String, String>,
}

/// The engine's question before a rule delivers to a queue of another
/// account (or to a dead-letter queue): the queue's policy as the engine
/// holds it.
#[derive(serde::Deserialize)]
pub struct RuleTarget {
    rule: String,
    action: String,
    resource: String,
    policy: Option<String>,
}

/// The bus a rule is on (`rule/<bus>/<name>`), whose policy judges it;
/// any other resource is its own.
fn bus_of(resource: &str) -> String {
    match resource.split_once(":rule/") {
        Some((head, rest)) => match rest.split_once('/') {
            Some((bus, _)) => format!("{head}:event-bus/{bus}"),
            None => format!("{head}:event-bus/default"),
        },
        None => resource.to_owned(),
    }
}

/// `POST /delivery` ([`Delivery`]) → `{"allowed": bool}`: moto's server
/// asks it (`DEVSTACK_JUDGE_URL`) before each SNS delivery to a queue;
/// `POST /events` ([`Consent`]) → `{"allowed", "message"}` before a call
/// reaches another account's bus.
pub fn router(judge: Arc<Judge>) -> axum::Router {
    use axum::Json;
    use axum::extract::State;
    async fn delivery(
        State(judge): State<Arc<Judge>>,
        Json(d): Json<Delivery>,
    ) -> Json<serde_json::Value> {
        let allowed = judge.delivery(&d.topic_arn, &d.queue_arn).await;
        Json(serde_json::json!({ "allowed": allowed }))
    }
    async fn events(
        State(judge): State<Arc<Judge>>,
        Json(q): Json<Consent>,
    ) -> Json<serde_json::Value> {
        let mut call = Call::new(q.action, q.resource);
        call.context = q.context.into_iter().collect();
        let refused = judge.account_consent(&q.account, &call).await;
        Json(serde_json::json!({ "allowed": refused.is_none(), "message": refused }))
    }
    async fn target(
        State(judge): State<Arc<Judge>>,
        Json(t): Json<RuleTarget>,
    ) -> Json<serde_json::Value> {
        let refused = judge.rule_delivery(&t).await;
        Json(serde_json::json!({ "allowed": refused.is_none(), "message": refused }))
    }
    axum::Router::new()
        .route("/delivery", axum::routing::post(delivery))
        .route("/events", axum::routing::post(events))
        .route("/target", axum::routing::post(target))
        .with_state(judge)
}
