//! How a template's resources refer to one another: the intrinsics every
//! family reads.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

/// `{"Ref": X}` or `{"Fn::GetAtt": [X, ...]}` → `X`.
pub fn target(v: &Value) -> Option<&str> {
    v.get("Ref").and_then(Value::as_str).or_else(|| {
        v.get("Fn::GetAtt")
            .and_then(|a| a.get(0))
            .and_then(Value::as_str)
    })
}

/// An id the local cloud gives what AWS would name at random, pinned by
/// `seed` (a stack and logical id): `len` characters of `alphabet`, the
/// same at every start.
pub fn pinned_id(seed: &str, alphabet: &[u8], len: usize) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(seed.as_bytes())
        .iter()
        .take(len)
        .map(|b| alphabet[usize::from(*b) % alphabet.len()] as char)
        .collect()
}

/// The text of a `Sub` (`{"Fn::Sub": text}` or `[text, vars]`) in `map`.
pub(super) fn sub_text(map: &mut Map<String, Value>) -> Option<&mut String> {
    let text = match map.get_mut("Fn::Sub") {
        Some(Value::Array(items)) => items.get_mut(0),
        other => other,
    };
    match text {
        Some(Value::String(text)) => Some(text),
        _ => None,
    }
}

/// The resources of type `kind` that belong to API `api` (`ApiId`).
pub(super) fn of_api<'r>(
    resources: &'r Map<String, Value>,
    kind: &'static str,
    api: &'r str,
) -> impl Iterator<Item = (&'r String, &'r Value)> {
    resources
        .iter()
        .filter(move |(_, r)| type_of(r) == kind && target(&r["Properties"]["ApiId"]) == Some(api))
}

pub(super) fn type_of(resource: &Value) -> &str {
    resource["Type"].as_str().unwrap_or_default()
}

/// Whether `v` refers to any of `ids` by Ref, GetAtt or `${Id...}` in a Sub.
pub(super) fn mentions_any(v: &Value, ids: &BTreeSet<String>) -> bool {
    match v {
        Value::Object(map) => map.iter().any(|(k, child)| {
            let direct = match (k.as_str(), child) {
                ("Ref", Value::String(t)) => ids.contains(t),
                ("Fn::GetAtt", Value::Array(parts)) => parts
                    .first()
                    .and_then(Value::as_str)
                    .is_some_and(|t| ids.contains(t)),
                ("Fn::Sub", sub) => {
                    let text = sub
                        .as_str()
                        .or_else(|| sub.get(0).and_then(Value::as_str))
                        .unwrap_or_default();
                    ids.iter().any(|id| {
                        text.contains(&format!("${{{id}}}")) || text.contains(&format!("${{{id}."))
                    })
                }
                _ => false,
            };
            direct || mentions_any(child, ids)
        }),
        Value::Array(items) => items.iter().any(|i| mentions_any(i, ids)),
        _ => false,
    }
}
