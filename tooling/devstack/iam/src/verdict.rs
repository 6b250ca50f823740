//! The verdict on one call, with AWS's rules: an explicit Deny in any
//! policy wins; otherwise, for a caller and a resource in the same
//! account, an Allow in the caller's identity policies or in the
//! resource's own policy (naming the caller's role) allows. Across
//! accounts both sides must allow: the caller's identity policies, and
//! the resource's policy naming the caller, its session or its account.
//! The statements are evaluated by `iam-rs`; this module picks the
//! policies, fills the context the local cloud knows, and names the
//! statement that decided.

use iam_rs::{Arn, Context, ContextValue, Decision, IAMRequest, Principal, PrincipalId};
use serde::{Deserialize, Serialize};

use crate::actions::{Call, Place};
use crate::policy::{LITERAL_VARIABLE, NamedPolicy, Prepared, with_request_values};

/// Who calls.
#[derive(Debug, Clone)]
pub enum Caller {
    /// A session of a role (a function's, or a browser's from an
    /// identity pool): the role's ARN, and the session's
    /// (`arn:aws:sts::<account>:assumed-role/<role>/<session>`) when it is
    /// known, which a resource policy may name on its own; the session's
    /// tags, which policies read as `aws:PrincipalTag/<key>`.
    Role {
        arn: String,
        session: Option<String>,
        tags: Vec<(String, String)>,
    },
    /// A service acting on the account's behalf: `sns.amazonaws.com`
    /// delivering from the topic `source_arn`.
    Service { name: String, source_arn: String },
    /// A web identity asking to assume a role, vouched for by its
    /// provider (`cognito-identity.amazonaws.com` for an identity pool's
    /// users), with the provider's condition keys
    /// (`cognito-identity.amazonaws.com:aud`, `:amr`, `:sub`), each with
    /// one value or several.
    Federated {
        provider: String,
        keys: Vec<(String, Vec<String>)>,
    },
    /// Nobody: a request without a signature. Only a resource policy that
    /// names every principal (`"*"`) lets it in.
    Anonymous,
}

impl Caller {
    /// As AWS's messages name it.
    pub fn name(&self) -> &str {
        match self {
            Caller::Role { arn, .. } => arn,
            Caller::Service { name, .. } => name,
            Caller::Federated { provider, .. } => provider,
            Caller::Anonymous => "anonymous",
        }
    }
}

/// Allowed or not, and by which statement (`None`: no statement allows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub allowed: bool,
    pub statement: Option<String>,
    /// For an implicit deny, the kind of policy that lacked an Allow, as
    /// AWS's message names it: the resource's, when a caller from another
    /// account had its own policies' Allow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lacking: Option<Side>,
}

/// The two kinds of policy IAM reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Side {
    Identity,
    Resource,
}

impl Side {
    /// As AWS's denial names it.
    pub fn words(self) -> &'static str {
        match self {
            Side::Identity => "identity-based",
            Side::Resource => "resource-based",
        }
    }
}

impl Verdict {
    /// A verdict decided without policies (an unknown operation).
    pub fn refused(why: impl Into<String>) -> Self {
        Self {
            allowed: false,
            statement: Some(why.into()),
            lacking: None,
        }
    }

    /// The deciding statement, or AWS's words for an implicit deny.
    pub fn reason(&self) -> String {
        match (&self.statement, self.lacking) {
            (Some(statement), _) => statement.clone(),
            (None, Some(side)) => format!("no {} policy allows it", side.words()),
            (None, None) => "no statement allows it".to_owned(),
        }
    }
}

/// The account `caller` acts from: a role's own account, a service's
/// source's (`place`'s where its ARN names none).
pub fn account_of<'a>(caller: &'a Caller, place: &'a Place) -> &'a str {
    let named = match caller {
        Caller::Role { arn, .. } => arn.as_str(),
        Caller::Service { source_arn, .. } => source_arn.as_str(),
        _ => "",
    };
    named
        .split(':')
        .nth(4)
        .filter(|a| !a.is_empty())
        .unwrap_or(&place.account)
}

/// The account that owns `resource`: its ARN's, or `place`'s where the
/// ARN names none (S3's buckets and objects, `*`).
fn owner_of<'a>(resource: &'a str, place: &'a Place) -> &'a str {
    resource
        .split(':')
        .nth(4)
        .filter(|a| !a.is_empty())
        .unwrap_or(&place.account)
}

/// The verdict on `call` by `caller`, under its `identity` policies and the
/// resource's own `resource_policy`, if it has one. A KMS key's policy
/// must allow the call itself (naming the caller), or delegate to the
/// account (naming its root) while the caller's identity policies allow
/// it; for any other resource in the caller's account either kind of
/// policy allows. A role calling into another account needs both: its
/// identity policies' Allow and the resource policy's, naming the role,
/// its session or its account.
pub fn judge(
    caller: &Caller,
    identity: &[NamedPolicy],
    resource_policy: Option<&NamedPolicy>,
    call: &Call,
    place: &Place,
) -> Verdict {
    let request = request(caller, call, place);
    let star = call.resource == "*";
    let own = over(identity, &request, star);
    let direct = over(resource_policy, &request, star);
    // A role's other names in a resource policy: its session, which the
    // policy may name rather than the role, and its account (the root),
    // as a key policy's delegation to IAM and a Deny on the account name it.
    let caller_account = account_of(caller, place);
    let cross =
        matches!(caller, Caller::Role { .. }) && owner_of(&call.resource, place) != caller_account;
    let (as_session, as_account) = match (caller, resource_policy) {
        (Caller::Role { session, .. }, Some(_)) => {
            let as_named = |principal: String| {
                let mut named = request.clone();
                named.principal = Principal::Aws(PrincipalId::String(principal));
                over(resource_policy, &named, star)
            };
            (
                session.clone().map(as_named).unwrap_or_default(),
                as_named(format!("arn:aws:iam::{caller_account}:root")),
            )
        }
        _ => (Outcome::default(), Outcome::default()),
    };
    let direct = Outcome {
        deny: direct.deny.or(as_session.deny),
        allow: direct.allow.or(as_session.allow),
    };
    let key = call.action.starts_with("kms:") && resource_policy.is_some();
    // Outside KMS an Allow naming the account only delegates to the
    // identity policies, so only its Deny counts there; across accounts
    // it is the other side's consent, which the identity policies must
    // still match.
    let delegated = if key || cross {
        as_account
    } else {
        Outcome {
            deny: as_account.deny,
            allow: None,
        }
    };
    if let Some(deny) = own.deny.or(direct.deny).or(delegated.deny) {
        return Verdict::refused(deny);
    }
    let (allow, lacking) = if cross {
        let consent = direct.allow.or(delegated.allow);
        match (&own.allow, consent) {
            (Some(_), Some(consent)) => (Some(consent), None),
            (Some(_), None) => (None, Some(Side::Resource)),
            (None, _) => (None, Some(Side::Identity)),
        }
    } else if key {
        (direct.allow.or(own.allow.and(delegated.allow)), None)
    } else {
        (own.allow.or(direct.allow), None)
    };
    Verdict {
        allowed: allow.is_some(),
        statement: allow,
        lacking,
    }
}

/// The first Deny and the first Allow among `policies`.
#[derive(Default)]
struct Outcome {
    deny: Option<String>,
    allow: Option<String>,
}

fn over<'a>(
    policies: impl IntoIterator<Item = &'a NamedPolicy>,
    request: &IAMRequest,
    star: bool,
) -> Outcome {
    let mut outcome = Outcome::default();
    for policy in policies {
        match decide(policy, request, star) {
            (Decision::Deny, statement) => {
                outcome.deny.get_or_insert(statement);
            }
            (Decision::Allow, statement) => {
                outcome.allow.get_or_insert(statement);
            }
            _ => {}
        }
    }
    outcome
}

const SECURE_TRANSPORT: &str = "aws:SecureTransport";

/// Whether the call came over TLS, as its mapping says (a boolean key,
/// where the call's other keys are text). A call says so only when its
/// request said it came over plain HTTP: every local hop is plain HTTP
/// standing for AWS's HTTPS endpoints.
fn secure(call: &Call) -> bool {
    (call.context.iter())
        .find(|(k, _)| k == SECURE_TRANSPORT)
        .is_none_or(|(_, v)| v == "true")
}

/// The condition keys the judge sets for `call` made by `caller`, sorted:
/// what a policy's `Condition` can read here (the conformance page lists
/// them beside the ones AWS sets that the judge does not).
pub fn context_keys(caller: &Caller, call: &Call, place: &Place) -> Vec<String> {
    let mut keys: Vec<String> = request(caller, call, place)
        .context
        .keys()
        .into_iter()
        .cloned()
        .collect();
    keys.sort();
    keys
}

/// The request IAM evaluates, with the caller (a role by its ARN) as its
/// principal.
fn request(caller: &Caller, call: &Call, place: &Place) -> IAMRequest {
    let now = chrono::Utc::now();
    // The resource's account, or the caller's where its ARN names none
    // (S3's buckets and objects).
    let resource_account = owner_of(&call.resource, place).to_owned();
    let caller_account = account_of(caller, place).to_owned();
    let mut context = Context::new()
        .with_string("aws:RequestedRegion", place.region.clone())
        .with_string("aws:ResourceAccount", resource_account)
        .with_boolean("aws:SecureTransport", secure(call))
        .with_string("aws:CurrentTime", now.to_rfc3339())
        .with_number("aws:EpochTime", now.timestamp() as f64);
    let principal = match caller {
        Caller::Role { arn, tags, .. } => {
            context = context
                .with_string("aws:PrincipalArn", arn.clone())
                .with_string("aws:PrincipalAccount", caller_account.clone())
                .with_string("aws:PrincipalType", "AssumedRole")
                .with_string("kms:CallerAccount", caller_account);
            for (key, value) in tags {
                context = context.with_string(format!("aws:PrincipalTag/{key}"), value.clone());
            }
            Principal::Aws(PrincipalId::String(arn.clone()))
        }
        Caller::Service { name, source_arn } => {
            context = context
                .with_string("aws:SourceArn", source_arn.clone())
                .with_string("aws:SourceAccount", caller_account);
            Principal::Service(PrincipalId::String(name.clone()))
        }
        Caller::Federated { provider, keys } => {
            for (key, values) in keys {
                context = match values.as_slice() {
                    [one] => context.with_string(key.clone(), one.clone()),
                    _ => {
                        let mut c = context;
                        c.insert(key.clone(), ContextValue::StringList(values.clone()));
                        c
                    }
                };
            }
            Principal::Federated(PrincipalId::String(provider.clone()))
        }
        // Nobody's id (iam-rs wants a principal of some kind): only a
        // statement for every principal (`"Principal": "*"`) matches it.
        Caller::Anonymous => Principal::CanonicalUser(PrincipalId::String("0".repeat(64))),
    };
    for (key, value) in call.context.iter().filter(|(k, _)| k != SECURE_TRANSPORT) {
        context = context.with_string(key.clone(), value.clone());
    }
    // An action without a resource type is asked of `*`, which no ARN
    // spells: a stand-in ARN, matched only by statements on `*`
    // (`decide` keeps only those).
    let resource = if call.resource == "*" {
        Arn::parse(&format!(
            "arn:aws:{}:{}:{}:*",
            call.action.split(':').next().unwrap_or("*"),
            place.region,
            place.account
        ))
    } else {
        // A `${` in a resource's name is text, as a 2008-10-17 document's.
        Arn::parse(&call.resource.replace("${", LITERAL_VARIABLE))
    };
    let resource = resource.unwrap_or_else(|_| {
        Arn::parse("arn:aws:unknown:::unparsable-resource").expect("a valid ARN")
    });
    let mut request = IAMRequest::new(principal, call.action.clone(), resource);
    request.context = context;
    request
}

/// One policy's decision and, when it decided, the statement that did.
fn decide(policy: &NamedPolicy, request: &IAMRequest, star: bool) -> (Decision, String) {
    let this_request;
    let prepared = match &policy.varying {
        Some(raw) => {
            let Some(document) = with_request_values(raw, &request.context) else {
                return (Decision::NotApplicable, String::new());
            };
            this_request = Prepared::of(&document, star);
            &this_request
        }
        None if star => &policy.on_star,
        None => &policy.all,
    };
    let Ok(result) = prepared.evaluator.evaluate(request) else {
        return (Decision::NotApplicable, String::new());
    };
    let wanted = match result.decision {
        Decision::Deny => iam_rs::IAMEffect::Deny,
        Decision::Allow => iam_rs::IAMEffect::Allow,
        Decision::NotApplicable => return (Decision::NotApplicable, String::new()),
    };
    let index = result
        .statement_details
        .iter()
        .position(|m| m.conditions_satisfied && m.effect == wanted)
        .unwrap_or(0);
    let name = prepared.names.get(index).map_or("?", String::as_str);
    (
        result.decision,
        format!("{}, statement {name}", policy.name),
    )
}

#[cfg(test)]
mod tests;
