//! An event's dotted keys read as the nested fields they name, as
//! EventBridge reads them: `{"a.b": 1}` is matched as `{"a": {"b": 1}}`.

use serde_json::{Map, Value};

/// The event with every dotted key expanded, or `None` when it has none
/// (the common case, matched as it is, with nothing copied).
pub(crate) fn expanded(event: &Value) -> Option<Value> {
    has_dotted(event).then(|| expand(event))
}

fn has_dotted(value: &Value) -> bool {
    match value {
        Value::Object(object) => object
            .iter()
            .any(|(key, value)| key.contains('.') || has_dotted(value)),
        Value::Array(items) => items.iter().any(has_dotted),
        _ => false,
    }
}

fn expand(value: &Value) -> Value {
    match value {
        Value::Object(object) => {
            let mut out = Map::new();
            for (key, value) in object {
                let mut parts = key.rsplit('.');
                let last = parts.next().unwrap_or(key);
                let inner =
                    parts.fold(wrap(last, expand(value)), |inner, outer| wrap(outer, inner));
                if let Value::Object(inner) = inner {
                    merge(&mut out, inner);
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(expand).collect()),
        other => other.clone(),
    }
}

fn wrap(key: &str, value: Value) -> Value {
    Value::Object(Map::from_iter([(key.to_owned(), value)]))
}

/// Two keys naming one field (`"a.b"` beside `"a": {"b"}`) both count: their
/// objects merge, and two values become an array of both.
fn merge(into: &mut Map<String, Value>, from: Map<String, Value>) {
    for (key, value) in from {
        match (into.remove(&key), value) {
            (None, value) => {
                into.insert(key, value);
            }
            (Some(Value::Object(mut a)), Value::Object(b)) => {
                merge(&mut a, b);
                into.insert(key, Value::Object(a));
            }
            (Some(a), b) => {
                into.insert(key, Value::Array(vec![a, b]));
            }
        }
    }
}
