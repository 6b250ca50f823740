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
    pub async fn account_consent(
        &self,
        account: &str,
        call: &Call,
        held: Option<&str>,
    ) -> Option<String> {
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
        let policy = self.policy_of(&call.resource, held).await;
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

    /// Whether EventBridge, for the rule `rule`, may deliver to its
    /// target (`call`: a bus's PutEvents, a queue's SendMessage, a topic's
    /// Publish) as the target's role `role_arn`: the role must trust
    /// `events.amazonaws.com` (else AWS's `FAILED_TO_ASSUME_ROLE`), its own
    /// policies must allow the call, and a resource of another account
    /// must allow the role too (else `NO_PERMISSIONS`). `None`: allowed;
    /// else the error code and AWS's message.
    pub async fn role_put(
        &self,
        rule: &str,
        role_arn: &str,
        call: &Call,
        held: Option<&str>,
    ) -> Option<(String, String)> {
        if self.mode == Mode::Off {
            return None;
        }
        let trust = match self.trust_of(role_arn).await {
            Ok(trust) => trust,
            Err(e) => {
                let message = format!("{role_arn} cannot be assumed: {e:#}");
                return (self.mode == Mode::Strict)
                    .then(|| ("FAILED_TO_ASSUME_ROLE".to_owned(), message));
            }
        };
        // Policies that cannot be read are none (a refusal), this once.
        let policies = self.policies_of(role_arn).await.unwrap_or_default();
        let events = Caller::Service {
            name: "events.amazonaws.com".into(),
            source_arn: rule.to_owned(),
        };
        let assume = Call::new("sts:AssumeRole", role_arn);
        let trusted = judge(&events, &[], Some(&trust), &assume, &self.place);
        let who = format!(
            "EventBridge {}",
            rule.rsplit('/').next().unwrap_or_default()
        );
        self.record(&who, events.name(), &assume, &trusted);
        if !trusted.allowed && self.mode == Mode::Strict {
            return Some((
                "FAILED_TO_ASSUME_ROLE".into(),
                denial(events.name(), &assume, &trusted),
            ));
        }
        let caller = Caller::Role {
            arn: role_arn.to_owned(),
            session: None,
            tags: Vec::new(),
        };
        let policy = self.policy_of(&call.resource, held).await;
        let verdict = judge(&caller, &policies, policy.as_ref(), call, &self.place);
        self.record(&who, caller.name(), call, &verdict);
        (!verdict.allowed && self.mode == Mode::Strict).then(|| {
            (
                "NO_PERMISSIONS".to_owned(),
                denial(caller.name(), call, &verdict),
            )
        })
    }

    /// `resource`'s policy: as the engine `held` it when it handed it over
    /// (current, where the judge's cache may be older), else as read.
    async fn policy_of(&self, resource: &str, held: Option<&str>) -> Option<NamedPolicy> {
        match held {
            Some(held) => NamedPolicy::parse(format!("policy of {resource}"), held).ok(),
            None => self.resources.of(resource).await.policy.clone(),
        }
    }

    /// Whether EventBridge may deliver for the rule `t.rule` to the queue
    /// or topic `t.resource` (a queue in another account, a target's
    /// dead-letter queue, any topic): its own policy must let
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
        let kind = match t.resource.split(':').nth(2) {
            Some("sns") => "topic",
            _ => "queue",
        };
        let policy = (t.policy.as_deref())
            .and_then(|p| NamedPolicy::parse(format!("{kind} policy of {name}"), p).ok());
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

/// The engine's question before a call reaches another account's bus,
/// or before a rule puts an event on a target bus as the target's `role`
/// (the rule's ARN beside it).
#[derive(serde::Deserialize)]
struct Consent {
    account: String,
    action: String,
    resource: String,
    #[serde(default)]
    context: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    rule: Option<String>,
    /// The resource's policy as the engine holds it now (a policy changed
    /// since the last deploy is not in the judge's cache).
    #[serde(default)]
    policy: Option<String>,
}

/// The engine's question before a rule delivers to a queue of another
/// account, a dead-letter queue or a topic: its policy as the engine
/// holds it.
#[derive(serde::Deserialize)]
pub struct RuleTarget {
    rule: String,
    action: String,
    resource: String,
    policy: Option<String>,
}

/// `POST /delivery` ([`Delivery`]) → `{"allowed": bool}`: moto's server
/// asks it (`DEVSTACK_JUDGE_URL`) before each SNS delivery to a queue;
/// `POST /events` ([`Consent`]) → `{"allowed", "code", "message"}` before
/// a call reaches another account's bus or a rule puts an event on a bus
/// as its target's role; `POST /target` ([`RuleTarget`]) before a rule
/// delivers to a queue of another account or to a dead-letter queue.
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
        let refused = match (&q.role, &q.rule) {
            (Some(role), Some(rule)) => {
                judge.role_put(rule, role, &call, q.policy.as_deref()).await
            }
            _ => (judge
                .account_consent(&q.account, &call, q.policy.as_deref())
                .await)
                .map(|m| ("CROSS_ACCOUNT_INGESTION_FAILED".to_owned(), m)),
        };
        let (code, message) = refused.unzip();
        Json(serde_json::json!({ "allowed": message.is_none(), "code": code, "message": message }))
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
