//! A policy document as IAM reads it: parsed once by `iam-rs`, put first in
//! the forms IAM reads (canonical condition operators, `{"AWS": "*"}` as
//! `"*"`, an account id as its root, a 2008-10-17 document's `${…}` as
//! text), its statements prepared for evaluation whole or on `*` alone, and
//! its condition values ready for the request's policy variables.

use iam_rs::{Context, EvaluationOptions, IAMPolicy, IAMResource, PolicyEvaluator};
use serde::{Deserialize, Serialize};

/// A policy document and what to call it in a verdict (`role policy
/// TableAccess`, `bucket policy of attachments`). It travels as its name
/// and the text it was parsed from ([`PolicyText`]), parsed again where it
/// arrives: a kept state carries its roles' policies to other processes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "PolicyText", into = "PolicyText")]
pub struct NamedPolicy {
    pub name: String,
    /// The text [`NamedPolicy::parse`] was given.
    pub(crate) source: String,
    pub(crate) document: IAMPolicy,
    /// Built once: a call is judged without copying the document.
    pub(crate) all: Prepared,
    /// Only the statements on `*`, for actions without a resource type.
    pub(crate) on_star: Prepared,
    /// The document as read, when a condition's value names a policy
    /// variable (`${aws:PrincipalAccount}`): `iam-rs` substitutes them in
    /// resources only, so each request's values are put in here first.
    pub(crate) varying: Option<serde_json::Value>,
}

/// What `${` becomes where IAM reads a variable as literal text (a
/// 2008-10-17 document's resources), on the policy's side and the
/// request's alike: `iam-rs` would substitute it.
pub(crate) const LITERAL_VARIABLE: &str = "\u{1}{";

/// An evaluator of some of a policy's statements, and their names.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub(crate) evaluator: PolicyEvaluator,
    pub(crate) names: Vec<String>,
}

impl Prepared {
    pub(crate) fn of(document: &IAMPolicy, star: bool) -> Self {
        let kept: Vec<(usize, &iam_rs::IAMStatement)> = document
            .statement
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                !star || s.not_resource.is_some() || s.resource.as_ref().is_some_and(names_star)
            })
            .collect();
        let names = kept
            .iter()
            .map(|(i, s)| s.sid.clone().unwrap_or_else(|| format!("#{}", i + 1)))
            .collect();
        let mut filtered = document.clone();
        filtered.statement = kept.into_iter().map(|(_, s)| s.clone()).collect();
        let options = EvaluationOptions {
            stop_on_explicit_deny: false,
            collect_match_details: true,
            ignore_resource_constraints: star,
            ..EvaluationOptions::default()
        };
        Self {
            evaluator: PolicyEvaluator::with_policies(vec![filtered]).with_options(options),
            names,
        }
    }
}

/// A [`NamedPolicy`] as it travels.
#[derive(Serialize, Deserialize)]
pub(crate) struct PolicyText {
    pub(crate) name: String,
    pub(crate) document: String,
}

impl TryFrom<PolicyText> for NamedPolicy {
    type Error = PolicyError;

    fn try_from(text: PolicyText) -> Result<Self, PolicyError> {
        NamedPolicy::parse(text.name, &text.document)
    }
}

impl From<NamedPolicy> for PolicyText {
    fn from(policy: NamedPolicy) -> Self {
        PolicyText {
            name: policy.name,
            document: policy.source,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("policy {name} cannot be read: {reason}")]
pub struct PolicyError {
    pub(crate) name: String,
    pub(crate) reason: String,
}

/// An account's administrator: every action on every resource, as the
/// identity side of a call an account makes with its own keys.
pub fn administrator() -> NamedPolicy {
    let all = r#"{"Version": "2012-10-17", "Statement": [{"Sid": "Administrator", "Effect": "Allow", "Action": "*", "Resource": "*"}]}"#;
    NamedPolicy::parse("the account's administrator", all).expect("a valid policy")
}

impl NamedPolicy {
    pub(crate) fn document(&self) -> &IAMPolicy {
        &self.document
    }

    /// A role's trust policy: its statements name no resource, for the
    /// resource is the role itself, so each is read as on `*`.
    pub fn parse_trust(name: impl Into<String>, json: &str) -> Result<Self, PolicyError> {
        let name = name.into();
        let mut value: serde_json::Value = serde_json::from_str(json).map_err(|e| PolicyError {
            name: name.clone(),
            reason: e.to_string(),
        })?;
        let statements = match &mut value["Statement"] {
            serde_json::Value::Array(all) => all.iter_mut().collect(),
            one @ serde_json::Value::Object(_) => vec![one],
            _ => Vec::new(),
        };
        for statement in statements {
            if let Some(s) = statement.as_object_mut()
                && !s.contains_key("NotResource")
            {
                s.entry("Resource").or_insert_with(|| "*".into());
            }
        }
        Self::parse(name, &value.to_string())
    }

    pub fn parse(name: impl Into<String>, json: &str) -> Result<Self, PolicyError> {
        let name = name.into();
        let failed = |reason: String| PolicyError {
            name: name.clone(),
            reason,
        };
        let mut value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| failed(e.to_string()))?;
        // IAM takes a document without a Version as 2008-10-17's, and
        // substitutes policy variables only under 2012-10-17.
        if let Some(doc) = value.as_object_mut() {
            doc.entry("Version").or_insert_with(|| "2008-10-17".into());
        }
        as_iam_reads_it(&mut value);
        let substitutes = value["Version"] != "2008-10-17";
        if !substitutes {
            resources_as_literal_text(&mut value);
        }
        let varying = (substitutes && conditions_name_variables(&value)).then(|| value.clone());
        match serde_json::from_value::<IAMPolicy>(value) {
            Ok(document) => Ok(Self {
                source: json.to_owned(),
                all: Prepared::of(&document, false),
                on_star: Prepared::of(&document, true),
                name,
                document,
                varying,
            }),
            Err(e) => Err(failed(e.to_string())),
        }
    }
}

pub(crate) fn statements(doc: &mut serde_json::Value) -> Vec<&mut serde_json::Value> {
    match doc.get_mut("Statement") {
        Some(serde_json::Value::Array(all)) => all.iter_mut().collect(),
        Some(one) => vec![one],
        None => Vec::new(),
    }
}

/// Every string of a statement's member (`Resource`, a condition's
/// values), a string or a list of them.
pub(crate) fn strings_of(value: &mut serde_json::Value) -> Vec<&mut String> {
    match value {
        serde_json::Value::String(one) => vec![one],
        serde_json::Value::Array(all) => all
            .iter_mut()
            .filter_map(|v| match v {
                serde_json::Value::String(s) => Some(s),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

pub(crate) fn resources_as_literal_text(doc: &mut serde_json::Value) {
    for statement in statements(doc) {
        for member in ["Resource", "NotResource"] {
            if let Some(resources) = statement.get_mut(member) {
                for r in strings_of(resources) {
                    *r = r.replace("${", LITERAL_VARIABLE);
                }
            }
        }
    }
}

/// Every value of every condition, for each statement.
pub(crate) fn condition_values(doc: &mut serde_json::Value) -> Vec<&mut String> {
    let mut out = Vec::new();
    for statement in statements(doc) {
        if let Some(serde_json::Value::Object(operators)) = statement.get_mut("Condition") {
            for tests in operators.values_mut() {
                if let serde_json::Value::Object(keys) = tests {
                    out.extend(keys.values_mut().flat_map(strings_of));
                }
            }
        }
    }
    out
}

pub(crate) fn conditions_name_variables(doc: &serde_json::Value) -> bool {
    let mut doc = doc.clone();
    condition_values(&mut doc).iter().any(|v| v.contains("${"))
}

/// The document with the request's values in its conditions' variables.
pub(crate) fn with_request_values(raw: &serde_json::Value, context: &Context) -> Option<IAMPolicy> {
    let mut doc = raw.clone();
    for value in condition_values(&mut doc) {
        *value = iam_rs::interpolate_variables(value, context).ok()?;
    }
    serde_json::from_value(doc).ok()
}

/// The condition operators IAM knows, in their canonical case.
pub(crate) const OPERATORS: &[&str] = &[
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "NumericEquals",
    "NumericNotEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
    "DateEquals",
    "DateNotEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
    "Bool",
    "BinaryEquals",
    "IpAddress",
    "NotIpAddress",
    "ArnEquals",
    "ArnLike",
    "ArnNotEquals",
    "ArnNotLike",
    "Null",
];

/// A document as IAM reads it, in the forms `iam-rs` takes: IAM matches
/// condition operators without regard to case, reads `{"AWS": "*"}` as
/// every principal (services and anonymous callers included, as `"*"`),
/// and an account id as a principal as that account's root.
pub(crate) fn as_iam_reads_it(doc: &mut serde_json::Value) {
    for statement in statements(doc) {
        if let Some(principal) = statement.get_mut("Principal") {
            as_principal(principal);
        }
        if let Some(serde_json::Value::Object(conditions)) = statement.get_mut("Condition") {
            let named = std::mem::take(conditions);
            *conditions = named
                .into_iter()
                .map(|(operator, test)| (canonical_operator(&operator), test))
                .collect();
        }
    }
}

pub(crate) fn as_principal(principal: &mut serde_json::Value) {
    use serde_json::Value;
    let Some(aws) = principal.get_mut("AWS") else {
        return;
    };
    let every = match aws {
        Value::String(one) => one == "*",
        Value::Array(all) => all.iter().any(|p| p == "*"),
        _ => false,
    };
    if every {
        *principal = Value::String("*".into());
        return;
    }
    let root = |p: &mut Value| {
        if let Value::String(id) = p
            && id.len() == 12
            && id.bytes().all(|b| b.is_ascii_digit())
        {
            *id = format!("arn:aws:iam::{id}:root");
        }
    };
    match aws {
        Value::Array(all) => all.iter_mut().for_each(root),
        one => root(one),
    }
}

/// `forallvalues:stringequalsIFEXISTS` as `ForAllValues:StringEqualsIfExists`;
/// an operator IAM does not know stays as written, for the parser to name.
pub(crate) fn canonical_operator(operator: &str) -> String {
    let (set, rest) = match operator.split_once(':') {
        Some((set, rest)) if set.eq_ignore_ascii_case("ForAllValues") => ("ForAllValues:", rest),
        Some((set, rest)) if set.eq_ignore_ascii_case("ForAnyValue") => ("ForAnyValue:", rest),
        _ => ("", operator),
    };
    let lower = rest.to_ascii_lowercase();
    let (base, if_exists) = match lower.strip_suffix("ifexists") {
        Some(base) => (base, "IfExists"),
        None => (lower.as_str(), ""),
    };
    match OPERATORS.iter().find(|o| o.eq_ignore_ascii_case(base)) {
        Some(known) => format!("{set}{known}{if_exists}"),
        None => operator.to_owned(),
    }
}

/// Whether a statement's resources name `*`.
pub(crate) fn names_star(resource: &IAMResource) -> bool {
    match resource {
        IAMResource::Single(r) => r == "*",
        IAMResource::Multiple(rs) => rs.iter().any(|r| r == "*"),
    }
}
