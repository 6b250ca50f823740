//! Rule patterns as part of the contract. A schema change that every
//! schema check passes can still hurt a consumer through its rule: the
//! rule filters on a field the new version removes, renames or retypes,
//! or names an enum value it drops, and the consumer silently stops
//! receiving; or the rule lets through events of a version the consumer
//! cannot decode.
//!
//! Each verdict is reached twice: by reading the paths the pattern filters
//! on in both schemas (which names the field), and by matching generated
//! events of both versions with `event-pattern`, the matcher ops routes
//! with (which shows it happens).

use std::collections::BTreeSet;

use event_pattern::Pattern;
use serde_json::{Map, Value, json};

/// What a consumer's rule makes of a change from one schema to another.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Verdict {
    pub breaking: bool,
    /// Why, one line each (empty when nothing breaks).
    pub reasons: Vec<String>,
}

/// The event a rule sees for `detail`, in EventBridge's envelope.
pub fn envelope(source: &str, detail_type: &str, detail: &Value) -> Value {
    json!({
        "version": "0",
        "id": "00000000-0000-4000-8000-000000000000",
        "detail-type": detail_type,
        "source": source,
        "account": "123456789012",
        "time": "2026-11-26T00:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    })
}

/// Judges `pattern` (a consumer's rule) for events of `source` and
/// `detail_type` moving from schema `old` to `new`, where the consumer
/// decodes what `decodes` describes (the version it declares).
pub fn judge(
    pattern: &Value,
    (source, detail_type): (&str, &str),
    (old, new): (&Value, &Value),
    decodes: &Value,
) -> Result<Verdict, String> {
    let rule = Pattern::parse(pattern).map_err(|e| format!("the rule's pattern: {e}"))?;
    let events = |schema: &Value| -> Vec<Value> {
        instances(schema, schema)
            .iter()
            .map(|d| envelope(source, detail_type, d))
            .collect()
    };
    let (before, after) = (events(old), events(new));
    let matched = |events: &[Value]| events.iter().filter(|e| rule.matches(e)).count();
    let mut reasons = Vec::new();
    for path in filtered_paths(&pattern["detail"], "detail") {
        let field = path.trim_start_matches("detail.");
        match (at(old, old, field), at(new, new, field)) {
            (Some(_), None) => reasons.push(format!(
                "{path}: the rule filters on it and the new version has no such field (removed or renamed)"
            )),
            (Some(o), Some(n)) if kind(&o) != kind(&n) => reasons.push(format!(
                "{path}: the rule filters on it and its type changed from {} to {}",
                kind(&o),
                kind(&n)
            )),
            (Some(o), Some(n)) => {
                for gone in named_values(pattern, &path).difference(&values(&n, new)) {
                    if values(&o, old).contains(gone) {
                        reasons.push(format!(
                            "{path}: the rule names {gone}, which the new version no longer emits"
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    if matched(&before) > 0 && matched(&after) == 0 {
        reasons.push(
            "no event of the new version matches the rule: the consumer stops receiving".into(),
        );
    }
    let validator =
        jsonschema::validator_for(decodes).map_err(|e| format!("the consumer's schema: {e}"))?;
    if let Some(unreadable) = after
        .iter()
        .find(|e| rule.matches(e) && !validator.is_valid(&e["detail"]))
    {
        let error = validator
            .iter_errors(&unreadable["detail"])
            .next()
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .unwrap_or_default();
        reasons.push(format!(
            "the rule lets through new events the consumer cannot decode: {error}"
        ));
    }
    Ok(Verdict {
        breaking: !reasons.is_empty(),
        reasons,
    })
}

/// The dotted paths under `prefix` a pattern filters on (its leaves; the
/// alternatives of an `$or` too).
pub fn filtered_paths(pattern: &Value, prefix: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let Some(map) = pattern.as_object() else {
        return out;
    };
    for (key, value) in map {
        if key == "$or" {
            for alternative in value.as_array().into_iter().flatten() {
                out.extend(filtered_paths(alternative, prefix));
            }
        } else if value.is_object() {
            out.extend(filtered_paths(value, &format!("{prefix}.{key}")));
        } else {
            out.insert(format!("{prefix}.{key}"));
        }
    }
    out
}

/// The exact values the pattern names at `path` (`detail.data.reason`).
fn named_values(pattern: &Value, path: &str) -> BTreeSet<String> {
    let mut node = pattern;
    for part in path.split('.') {
        node = &node[part];
    }
    (node.as_array().into_iter().flatten())
        .filter(|v| !v.is_object())
        .map(Value::to_string)
        .collect()
}

/// The schema of the field at dotted `path` (`data.reason`), `$ref`s
/// followed.
fn at(schema: &Value, root: &Value, path: &str) -> Option<Value> {
    let mut node = resolve(schema, root).clone();
    for part in path.split('.') {
        let properties = resolve(&node, root)["properties"].clone();
        node = resolve(properties.get(part)?, root).clone();
    }
    Some(node)
}

fn resolve<'a>(node: &'a Value, root: &'a Value) -> &'a Value {
    match node["$ref"].as_str().and_then(|r| r.strip_prefix("#/")) {
        Some(pointer) => root
            .pointer(&format!("/{pointer}"))
            .map_or(node, |n| resolve(n, root)),
        None => node,
    }
}

/// A field's JSON type, as the rule sees it.
fn kind(schema: &Value) -> String {
    match &schema["type"] {
        Value::String(t) => t.clone(),
        Value::Array(ts) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect::<Vec<_>>()
            .join("|"),
        _ if schema.get("oneOf").is_some() || schema.get("anyOf").is_some() => {
            let alternatives = schema.get("oneOf").or(schema.get("anyOf"));
            let kinds: BTreeSet<String> = (alternatives.and_then(Value::as_array).into_iter())
                .flatten()
                .map(kind)
                .collect();
            kinds.into_iter().collect::<Vec<_>>().join("|")
        }
        _ => schema
            .get("const")
            .map_or_else(|| "any".to_owned(), |c| json_type(c).to_owned()),
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The values an enum-like field may take (`enum`, `const`, a `oneOf` of
/// them), as JSON text; empty when any value of its type may come.
fn values(schema: &Value, root: &Value) -> BTreeSet<String> {
    let schema = resolve(schema, root);
    if let Some(c) = schema.get("const") {
        return BTreeSet::from([c.to_string()]);
    }
    if let Some(e) = schema["enum"].as_array() {
        return e.iter().map(Value::to_string).collect();
    }
    (schema.get("oneOf").or(schema.get("anyOf")))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|a| values(a, root))
        .collect()
}

/// Instances of `schema`: the first with every property at its first
/// value, then one more for each other value of each enum-like field or
/// alternative, so every value a producer may emit appears once.
pub fn instances(schema: &Value, root: &Value) -> Vec<Value> {
    let schema = resolve(schema, root);
    if let Some(c) = schema.get("const") {
        return vec![c.clone()];
    }
    if let Some(e) = schema["enum"].as_array() {
        return e.clone();
    }
    if let Some(alternatives) =
        (schema.get("oneOf").or(schema.get("anyOf"))).and_then(Value::as_array)
    {
        return alternatives
            .iter()
            .flat_map(|a| instances(a, root))
            .collect();
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ if schema.get("properties").is_some() => vec!["object"],
        _ => vec!["string"],
    };
    let mut out = Vec::new();
    for t in types {
        match t {
            "object" => out.extend(objects(schema, root)),
            "array" => out.push(Value::Array(
                instances(&schema["items"], root)
                    .into_iter()
                    .take(1)
                    .collect(),
            )),
            "string" => out.push(Value::from(match schema["format"].as_str() {
                Some("date-time") => "2026-11-26T00:00:00Z",
                Some("uuid") => "0193a4d0-2c30-7000-8000-000000000001",
                Some("email") => "ada@example.com",
                _ => "text",
            })),
            "integer" => out.push(Value::from(schema["minimum"].as_i64().unwrap_or(1).max(1))),
            "number" => out.push(Value::from(1.5)),
            "boolean" => out.extend([Value::Bool(true), Value::Bool(false)]),
            _ => out.push(Value::Null),
        }
    }
    out
}

fn objects(schema: &Value, root: &Value) -> Vec<Value> {
    let fields: Vec<(String, Vec<Value>)> =
        (schema["properties"].as_object().into_iter().flatten())
            .map(|(name, s)| (name.clone(), instances(s, root)))
            .collect();
    let base: Map<String, Value> = (fields.iter())
        .filter_map(|(name, vs)| Some((name.clone(), vs.first()?.clone())))
        .collect();
    let mut out = vec![Value::Object(base.clone())];
    for (name, vs) in &fields {
        for v in vs.iter().skip(1) {
            let mut varied = base.clone();
            varied.insert(name.clone(), v.clone());
            out.push(Value::Object(varied));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A detail with `metadata` and `data`, as every event's.
    fn schema(version: u32, data: Value) -> Value {
        json!({
            "type": "object",
            "properties": {
                "metadata": {"type": "object", "properties": {
                    "schema_version": {"const": version},
                    "producer": {"type": "string"}},
                    "required": ["schema_version", "producer"]},
                "data": data},
            "required": ["metadata", "data"],
        })
    }

    fn deleted(reason: Value, with_title: bool) -> Value {
        let mut properties =
            json!({"todo_id": {"type": "string", "format": "uuid"}, "reason": reason});
        let mut required = vec!["todo_id", "reason"];
        if with_title {
            properties["title"] = json!({"type": "string"});
            required.push("title");
        }
        json!({"type": "object", "properties": properties, "required": required})
    }

    const KEY: (&str, &str) = ("app.todos", "TodoDeleted");

    fn reasons(values: &[&str]) -> Value {
        json!({"oneOf": values.iter().map(|v| json!({"const": v, "type": "string"})).collect::<Vec<_>>()})
    }

    #[test]
    fn a_field_the_rule_filters_on_renamed_breaks_that_rule_and_names_the_field() {
        let old = schema(
            1,
            deleted(reasons(&["user_request", "user_deleted"]), false),
        );
        let mut renamed = deleted(reasons(&["user_request", "user_deleted"]), false);
        let moved = renamed["properties"]["reason"].take();
        renamed["properties"]
            .as_object_mut()
            .unwrap()
            .remove("reason");
        renamed["properties"]["why"] = moved;
        renamed["required"] = json!(["todo_id", "why"]);
        let new = schema(1, renamed);
        let filtering =
            json!({"source": ["app.todos"], "detail": {"data": {"reason": ["user_deleted"]}}});
        let v = judge(&filtering, KEY, (&old, &new), &old).unwrap();
        assert!(v.breaking);
        assert!(
            v.reasons[0].starts_with(
                "detail.data.reason: the rule filters on it and the new version has no such field"
            ),
            "{v:?}"
        );
        assert!(
            v.reasons.iter().any(|r| r.contains("stops receiving")),
            "{v:?}"
        );
        // A consumer whose rule does not look at the field is not hurt by
        // the rule (its decoder is the schema check's business).
        let plain = json!({"source": ["app.todos"], "detail-type": ["TodoDeleted"], "detail": {"metadata": {"schema_version": [1]}}});
        let v = judge(&plain, KEY, (&old, &new), &new).unwrap();
        assert_eq!(
            v,
            Verdict {
                breaking: false,
                reasons: vec![]
            }
        );
    }

    #[test]
    fn an_enum_value_the_rule_names_dropped_breaks_it_and_one_it_does_not_name_does_not() {
        let old = schema(
            1,
            deleted(reasons(&["user_request", "user_deleted", "expired"]), false),
        );
        let new = schema(
            1,
            deleted(reasons(&["user_request", "user_deleted"]), false),
        );
        let expired = json!({"detail": {"data": {"reason": ["expired", "user_deleted"]}}});
        let v = judge(&expired, KEY, (&old, &new), &old).unwrap();
        assert!(v.breaking);
        assert_eq!(
            v.reasons,
            [
                "detail.data.reason: the rule names \"expired\", which the new version no longer emits"
            ]
        );
        let requested = json!({"detail": {"data": {"reason": ["user_request"]}}});
        assert!(!judge(&requested, KEY, (&old, &new), &old).unwrap().breaking);
    }

    #[test]
    fn a_retyped_field_the_rule_filters_on_breaks_it() {
        let old = schema(
            1,
            json!({"type": "object", "properties": {"count": {"type": "integer"}}}),
        );
        let new = schema(
            1,
            json!({"type": "object", "properties": {"count": {"type": "string"}}}),
        );
        let rule = json!({"detail": {"data": {"count": [{"numeric": [">", 0]}]}}});
        let v = judge(&rule, KEY, (&old, &new), &old).unwrap();
        assert!(v.breaking);
        assert!(
            v.reasons[0].contains("type changed from integer to string"),
            "{v:?}"
        );
    }

    #[test]
    fn a_rule_that_lets_a_version_through_its_consumer_cannot_decode_breaks() {
        let v1 = schema(1, deleted(reasons(&["user_request"]), false));
        let v2 = schema(2, deleted(reasons(&["user_request"]), true));
        // No version filter: v2 events reach a consumer that decodes v1.
        let open = json!({"source": ["app.todos"], "detail-type": ["TodoDeleted"]});
        let v = judge(&open, KEY, (&v1, &v2), &v1).unwrap();
        assert!(v.breaking);
        assert!(
            v.reasons
                .iter()
                .any(|r| r
                    .starts_with("the rule lets through new events the consumer cannot decode")),
            "{v:?}"
        );
        // With the version filter, as every template's rules have, the rule
        // keeps v2 out: nothing unreadable gets through, and what the rule
        // says is that v2 alone would leave the consumer with nothing (so
        // the producer publishes both until the consumer moves).
        let pinned = json!({"detail": {"metadata": {"schema_version": [1]}}});
        let v = judge(&pinned, KEY, (&v1, &v2), &v1).unwrap();
        assert_eq!(
            v.reasons,
            [
                "detail.metadata.schema_version: the rule names 1, which the new version no longer emits",
                "no event of the new version matches the rule: the consumer stops receiving"
            ]
        );
    }

    #[test]
    fn the_committed_schemas_generate_events_their_own_examples_would_match() {
        let path = repo::root()
            .join(crate::folders::schema_path("app.todos/TodoDeleted/v1.json").unwrap());
        let committed: Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let made = instances(&committed, &committed);
        let validator = jsonschema::validator_for(&committed).unwrap();
        assert!(made.len() >= 2, "one per deletion reason: {made:?}");
        for detail in &made {
            assert!(validator.is_valid(detail), "{detail}");
        }
        let rule = json!({"detail": {"data": {"reason": ["user_deleted"]}}});
        let v = judge(&rule, KEY, (&committed, &committed), &committed).unwrap();
        assert!(!v.breaking, "{v:?}");
    }
}
