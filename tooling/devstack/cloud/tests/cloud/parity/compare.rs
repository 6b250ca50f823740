//! The comparison: key sets and value types, recursively, each difference
//! named by its path and kind, and each shape's allow-list kept true.

use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;

use serde_json::{Value, json};

/// One way a local value's shape departs from AWS's.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Difference {
    /// AWS's example has the key; the local cloud did not send it.
    AwsOnly(String),
    /// The local cloud sent a key AWS's example does not have.
    LocalOnly(String),
    /// Both have it, with different JSON types.
    Type {
        path: String,
        aws: String,
        local: String,
    },
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |p: &str| {
            if p.is_empty() {
                "(root)".to_owned()
            } else {
                p.to_owned()
            }
        };
        match self {
            Difference::AwsOnly(p) => write!(f, "{}: in AWS only", shown(p)),
            Difference::LocalOnly(p) => write!(f, "{}: in local only", shown(p)),
            Difference::Type { path, aws, local } => {
                write!(f, "{}: type AWS {aws}, local {local}", shown(path))
            }
        }
    }
}

pub(super) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Where the keys of an object are data rather than a shape.
#[derive(Default)]
pub(super) struct Rules {
    /// Objects whose keys are data (headers, attribute maps, tags): only
    /// the types of their values are compared, against the types of the
    /// values in AWS's example.
    pub(super) maps: &'static [&'static str],
    /// Values whose content is not the carrier's (an event's `detail`):
    /// only their own type is compared.
    pub(super) opaque: &'static [&'static str],
}

pub(super) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Every difference between `aws` and `local`; an array's elements are
/// each compared with the first of AWS's (its representative).
pub(super) fn compare(
    aws: &Value,
    local: &Value,
    path: &str,
    rules: &Rules,
    out: &mut BTreeSet<Difference>,
) {
    if kind(aws) != kind(local) {
        out.insert(Difference::Type {
            path: path.to_owned(),
            aws: kind(aws).to_owned(),
            local: kind(local).to_owned(),
        });
        return;
    }
    match (aws, local) {
        (Value::Object(a), Value::Object(l)) => {
            if rules.opaque.contains(&path) {
                return;
            }
            if rules.maps.contains(&path) {
                let types: BTreeSet<&str> = a.values().map(kind).collect();
                for v in l.values() {
                    if !types.is_empty() && !types.contains(kind(v)) {
                        out.insert(Difference::Type {
                            path: join(path, "*"),
                            aws: types.iter().copied().collect::<Vec<_>>().join("|"),
                            local: kind(v).to_owned(),
                        });
                    }
                }
                return;
            }
            for (k, av) in a {
                match l.get(k) {
                    Some(lv) => compare(av, lv, &join(path, k), rules, out),
                    None => {
                        out.insert(Difference::AwsOnly(join(path, k)));
                    }
                }
            }
            for k in l.keys().filter(|k| !a.contains_key(*k)) {
                out.insert(Difference::LocalOnly(join(path, k)));
            }
        }
        (Value::Array(a), Value::Array(l)) => {
            if let Some(first) = a.first() {
                for lv in l {
                    compare(first, lv, &format!("{path}[]"), rules, out);
                }
            }
        }
        _ => {}
    }
}

/// Why a difference is accepted.
#[derive(Debug, Clone, Copy)]
pub(super) enum Why {
    /// AWS sends the key only in some cases, none of which the local
    /// cloud's traffic is (or the reverse).
    Optional(&'static str),
    /// AWS sends it in this place, but the example, written for another
    /// case or by hand, differs here.
    Fixture(&'static str),
    /// A real difference, not fixed yet: what it is and where the fix
    /// belongs. Printed on every run.
    Known(&'static str),
    /// A difference by design: what AWS would say does not exist locally.
    Local(&'static str),
}

impl Why {
    fn text(self) -> &'static str {
        match self {
            Why::Optional(t) | Why::Fixture(t) | Why::Known(t) | Why::Local(t) => t,
        }
    }
}

/// One shape: AWS's example, what in it is data, and the differences
/// accepted (each as the message it would otherwise fail with).
pub(super) struct Shape {
    pub(super) name: &'static str,
    pub(super) fixture: &'static str,
    /// Where in the fixture the compared value is (`""` for all of it).
    pub(super) at: &'static str,
    pub(super) rules: Rules,
    /// Allow-lists, so that one shared by several shapes is written once.
    pub(super) allowed: &'static [Allowances],
}

/// Differences accepted, each as the message it would otherwise fail with.
pub(super) type Allowances = &'static [(&'static str, Why)];

/// What a shape's check found.
#[derive(Debug, Default)]
pub(super) struct Verdict {
    pub(super) failures: Vec<String>,
    pub(super) known: Vec<String>,
}

pub(super) fn fixture_dir() -> PathBuf {
    repo::root().join("tooling/devstack/cloud/tests/fixtures/aws")
}

pub(super) fn fixture(name: &str) -> Value {
    let path = fixture_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `value` at a dotted path, `[0]` taking an array's first element.
pub(super) fn at<'a>(value: &'a Value, path: &str) -> &'a Value {
    path.split('.')
        .filter(|p| !p.is_empty())
        .fold(value, |v, part| match part.strip_suffix("[0]") {
            Some(key) => &v[key][0],
            None => &v[part],
        })
}

impl Shape {
    pub(super) fn check_against(&self, aws: &Value, locals: &[Value]) -> Verdict {
        let mut verdict = Verdict::default();
        if locals.is_empty() {
            verdict
                .failures
                .push(format!("{}: nothing was captured to compare", self.name));
            return verdict;
        }
        let mut found = BTreeSet::new();
        for local in locals {
            compare(aws, local, "", &self.rules, &mut found);
        }
        let messages: BTreeSet<String> = found.iter().map(ToString::to_string).collect();
        for m in &messages {
            match self.allowed.iter().copied().flatten().find(|(a, _)| a == m) {
                None => verdict.failures.push(format!("{}: {m}", self.name)),
                Some((_, Why::Known(why))) => {
                    verdict.known.push(format!("{}: {m} — {why}", self.name))
                }
                Some(_) => {}
            }
        }
        for (a, why) in self.allowed.iter().copied().flatten() {
            if !messages.contains(*a) {
                verdict.failures.push(format!(
                    "{}: allowed but not seen (remove it from the allow-list): {a} [{}]",
                    self.name,
                    why.text()
                ));
            }
        }
        verdict
    }

    pub(super) fn check(&self, locals: &[Value]) -> Verdict {
        let whole = fixture(self.fixture);
        self.check_against(at(&whole, self.at), locals)
    }
}

/// Fails with every shape's failures at once; prints the known differences.
pub(super) fn conclude(verdicts: Vec<Verdict>) {
    let mut failures = Vec::new();
    for v in verdicts {
        for k in &v.known {
            eprintln!("known difference: {k}");
        }
        failures.extend(v.failures);
    }
    assert!(
        failures.is_empty(),
        "the local cloud departs from AWS:\n  {}",
        failures.join("\n  ")
    );
}

#[test]
pub(super) fn the_comparison_names_each_difference_and_keeps_its_allow_list_true() {
    let aws = json!({"a": "x", "b": {"c": 1, "d": [{"e": true}]}, "h": {"k": "v"}, "gone": 1});
    let local = json!({"a": 1, "b": {"c": 2, "d": [{"e": true, "f": null}]}, "h": {"Other": 3}, "new": "x"});
    let shape = Shape {
        name: "test",
        fixture: "",
        at: "",
        rules: Rules {
            maps: &["h"],
            opaque: &[],
        },
        allowed: &[&[
            ("new: in local only", Why::Optional("a test")),
            ("never: in AWS only", Why::Optional("a stale allowance")),
        ]],
    };
    let verdict = shape.check_against(&aws, &[local]);
    assert_eq!(
        verdict.failures,
        [
            "test: a: type AWS string, local number",
            "test: b.d[].f: in local only",
            "test: gone: in AWS only",
            "test: h.*: type AWS string, local number",
            "test: allowed but not seen (remove it from the allow-list): never: in AWS only \
             [a stale allowance]",
        ]
    );
    assert!(
        shape.check_against(&aws, &[]).failures[0].contains("nothing was captured"),
        "an empty capture is a failure, not a pass"
    );
}
