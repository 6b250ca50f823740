//! Least privilege, measured: per function, what it used (each action and
//! its resources, from the judge's verdicts over a run), what its role
//! grants that it never used (each granted action pattern no used action
//! matches), and the smallest policy that would have served the run (the
//! used actions on the used resources, one statement per resource).
//!
//! A run only shows what it exercised: an action a rare path needs (an
//! error branch, a replay) is "never used" if no test took that path.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::policy::NamedPolicy;

/// One call a function made in the run: allowed, or refused (strict) or
/// let through (audit) but needed all the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Used {
    pub function: String,
    pub action: String,
    pub resource: String,
}

/// One Allow statement of a function's role: its action patterns and
/// resources as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Granted {
    /// `role policy X, statement Y`.
    pub statement: String,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
}

impl NamedPolicy {
    /// The policy's Allow statements (a `NotAction` one grants "all but",
    /// which no list of used actions can judge: it is named by `*`).
    pub fn grants(&self) -> Vec<Granted> {
        let list = |one: Option<Vec<String>>| one.unwrap_or_else(|| vec!["*".to_owned()]);
        self.document()
            .statement
            .iter()
            .enumerate()
            .filter(|(_, s)| s.effect == iam_rs::IAMEffect::Allow)
            .map(|(i, s)| Granted {
                statement: format!(
                    "{}, statement {}",
                    self.name,
                    s.sid.clone().unwrap_or_else(|| format!("#{}", i + 1))
                ),
                actions: list(s.action.as_ref().map(|a| match a {
                    iam_rs::IAMAction::Single(one) => vec![one.clone()],
                    iam_rs::IAMAction::Multiple(many) => many.clone(),
                })),
                resources: list(s.resource.as_ref().map(|r| match r {
                    iam_rs::IAMResource::Single(one) => vec![one.clone()],
                    iam_rs::IAMResource::Multiple(many) => many.clone(),
                })),
            })
            .collect()
    }
}

/// One function's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunctionReport {
    pub function: String,
    /// Action → the resources it was used on.
    pub used: BTreeMap<String, BTreeSet<String>>,
    /// (statement, action pattern) granted and never matched by a used action.
    pub unused: Vec<(String, String)>,
    /// The policy document that would have served the run.
    pub smallest: Value,
}

/// The report for every function whose role was recorded, by name. The
/// services that act on a function's behalf (a rule, a topic, a state
/// machine) were judged by resource policies, not by a function's role, so
/// they have none.
pub fn report(used: &[Used], grants: &BTreeMap<String, Vec<Granted>>) -> Vec<FunctionReport> {
    let functions: BTreeSet<&str> = grants.keys().map(String::as_str).collect();
    functions
        .into_iter()
        .map(|function| {
            let mut by_action: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            for u in used.iter().filter(|u| u.function == function) {
                by_action
                    .entry(u.action.clone())
                    .or_default()
                    .insert(generalized(&u.resource));
            }
            let unused = grants
                .get(function)
                .into_iter()
                .flatten()
                .flat_map(|g| {
                    g.actions
                        .iter()
                        .map(move |a| (g.statement.clone(), a.clone()))
                })
                .filter(|(_, pattern)| !by_action.keys().any(|a| action_matches(pattern, a)))
                .filter(|(_, pattern)| !LAMBDAS_OWN.iter().any(|s| pattern.starts_with(s)))
                .collect();
            FunctionReport {
                function: function.to_owned(),
                smallest: smallest(&by_action),
                used: by_action,
                unused,
            }
        })
        .collect()
}

/// What Lambda itself does with a function's role (its logs, its trace
/// segments): the local cloud plays both without a call, so such a grant
/// is never seen used, and is not reported as unused.
const LAMBDAS_OWN: [&str; 2] = ["logs:", "xray:"];

/// A resource ARN with CloudFormation's generated suffixes
/// (`users-Table-WUSWOBTZ5EOT`) as `*`: the same table in every local
/// cloud of a run, as a template's policy names it.
pub fn generalized(resource: &str) -> String {
    // An object's key and a key's id are the run's own: the policy names
    // the bucket's objects and the stack's key.
    if let Some(rest) = resource.strip_prefix("arn:aws:s3:::")
        && let Some((bucket, _)) = rest.split_once('/')
    {
        return format!("arn:aws:s3:::{bucket}/*");
    }
    if let Some((stem, _)) = resource.split_once(":key/") {
        return format!("{stem}:key/*");
    }
    // A stream's label is its creation time: the table's stream.
    if let Some((table, _)) = resource.split_once("/stream/") {
        return format!("{}/stream/*", generalized(table));
    }
    let mut out = String::with_capacity(resource.len());
    let mut token = String::new();
    let flush = |token: &mut String, out: &mut String| {
        match token.rsplit_once('-') {
            Some((stem, suffix))
                if suffix.len() >= 12
                    && suffix
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) =>
            {
                out.push_str(stem);
                out.push_str("-*");
            }
            _ => out.push_str(token),
        }
        token.clear();
    };
    for c in resource.chars() {
        if c == '/' || c == ':' {
            flush(&mut token, &mut out);
            out.push(c);
        } else {
            token.push(c);
        }
    }
    flush(&mut token, &mut out);
    out
}

/// IAM's action match: case-insensitive, `*` and `?` wildcards.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    iam_rs::Arn::wildcard_match(&action.to_lowercase(), &pattern.to_lowercase())
}

/// One Allow statement per resource, with the actions used on it.
fn smallest(by_action: &BTreeMap<String, BTreeSet<String>>) -> Value {
    let mut by_resource: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (action, resources) in by_action {
        for r in resources {
            by_resource.entry(r).or_default().insert(action);
        }
    }
    let statements: Vec<Value> = by_resource
        .into_iter()
        .map(|(resource, actions)| json!({"Effect": "Allow", "Action": actions, "Resource": resource}))
        .collect();
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// The report as text, a section per function.
pub fn render(reports: &[FunctionReport]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for r in reports {
        let _ = writeln!(out, "## {}", r.function);
        let _ = writeln!(out, "used:");
        if r.used.is_empty() {
            let _ = writeln!(out, "  (no AWS call in this run)");
        }
        for (action, resources) in &r.used {
            for resource in resources {
                let _ = writeln!(out, "  {action}  {resource}");
            }
        }
        let _ = writeln!(out, "granted and never used:");
        if r.unused.is_empty() {
            let _ = writeln!(out, "  (none)");
        }
        for (statement, pattern) in &r.unused {
            let _ = writeln!(out, "  {pattern}  ({statement})");
        }
        let smallest = serde_json::to_string_pretty(&r.smallest).unwrap_or_default();
        let _ = writeln!(out, "smallest policy that served this run:");
        for line in smallest.lines() {
            let _ = writeln!(out, "  {line}");
        }
        let _ = writeln!(out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "arn:aws:dynamodb:us-east-1:123456789012:table/users-Table";

    fn used(action: &str, resource: &str) -> Used {
        Used {
            function: "users/ApiFunction".into(),
            action: action.into(),
            resource: resource.into(),
        }
    }

    #[test]
    fn a_crud_grant_used_for_reads_and_one_write_names_what_was_not_used() {
        let crud = NamedPolicy::parse(
            "role policy ApiFunctionRolePolicy0",
            &json!({"Statement": [{"Effect": "Allow", "Action": [
                "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem",
                "dynamodb:Query", "dynamodb:Scan", "dynamodb:Update*"],
                "Resource": [TABLE]}]})
            .to_string(),
        )
        .unwrap();
        let grants = BTreeMap::from([("users/ApiFunction".to_owned(), crud.grants())]);
        let reports = report(
            &[
                used("dynamodb:GetItem", TABLE),
                used("dynamodb:GetItem", TABLE),
                used("dynamodb:PutItem", TABLE),
                used("dynamodb:UpdateItem", TABLE),
            ],
            &grants,
        );
        assert_eq!(reports.len(), 1);
        let r = &reports[0];
        let unused: Vec<&str> = r.unused.iter().map(|(_, a)| a.as_str()).collect();
        assert_eq!(
            unused,
            ["dynamodb:DeleteItem", "dynamodb:Query", "dynamodb:Scan"]
        );
        assert_eq!(
            r.smallest,
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
                "Resource": TABLE}]})
        );
        let text = render(&reports);
        assert!(
            text.contains(
                "  dynamodb:DeleteItem  (role policy ApiFunctionRolePolicy0, statement #1)"
            ),
            "{text}"
        );
    }

    #[test]
    fn only_functions_roles_are_reported_and_lambdas_own_grants_are_not_unused() {
        let basic = NamedPolicy::parse(
            "managed policy AWSLambdaBasicExecutionRole",
            &json!({"Statement": [{"Effect": "Allow", "Action": [
                "logs:CreateLogGroup", "logs:PutLogEvents"], "Resource": "*"},
                {"Effect": "Allow", "Action": "dynamodb:Scan", "Resource": TABLE}]})
            .to_string(),
        )
        .unwrap();
        let grants = BTreeMap::from([("users/ApiFunction".to_owned(), basic.grants())]);
        let mut rule = used(
            "lambda:InvokeFunction",
            "arn:aws:lambda:us-east-1:1:function:f",
        );
        rule.function = "EventBridge rule/bus/r".into();
        let reports = report(&[rule], &grants);
        let names: Vec<&str> = reports.iter().map(|r| r.function.as_str()).collect();
        assert_eq!(names, ["users/ApiFunction"]);
        let unused: Vec<&str> = reports[0].unused.iter().map(|(_, a)| a.as_str()).collect();
        assert_eq!(unused, ["dynamodb:Scan"]);
    }

    #[test]
    fn generated_names_are_generalized_and_others_kept() {
        assert_eq!(
            generalized("arn:aws:dynamodb:us-east-1:123456789012:table/users-Table-WUSWOBTZ5EOT"),
            "arn:aws:dynamodb:us-east-1:123456789012:table/users-Table-*"
        );
        assert_eq!(
            generalized("arn:aws:events:us-east-1:123456789012:event-bus/app-bus"),
            "arn:aws:events:us-east-1:123456789012:event-bus/app-bus"
        );
        assert_eq!(
            generalized("arn:aws:s3:::todos-attachments/users/u1/todos/t1/a1"),
            "arn:aws:s3:::todos-attachments/*"
        );
        assert_eq!(
            generalized("arn:aws:s3:::todos-attachments"),
            "arn:aws:s3:::todos-attachments"
        );
        assert_eq!(
            generalized(
                "arn:aws:kms:us-east-1:123456789012:key/12343eb5-4f71-4fad-b31d-35520f40cc25"
            ),
            "arn:aws:kms:us-east-1:123456789012:key/*"
        );
        assert_eq!(
            generalized(
                "arn:aws:dynamodb:us-east-1:123456789012:table/users-Table-WUSWOBTZ5EOT/stream/2026-11-25T13:39:26.924144"
            ),
            "arn:aws:dynamodb:us-east-1:123456789012:table/users-Table-*/stream/*"
        );
    }

    #[test]
    fn wildcards_match_as_iam_matches_actions() {
        assert!(action_matches(
            "kms:GenerateDataKey*",
            "kms:GenerateDataKey"
        ));
        assert!(action_matches("DynamoDB:getitem", "dynamodb:GetItem"));
        assert!(!action_matches("dynamodb:Get*", "dynamodb:PutItem"));
        assert!(action_matches("*", "sns:Publish"));
    }
}
