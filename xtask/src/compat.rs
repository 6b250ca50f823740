//! Which schema changes break the consumers of an event version.
//!
//! No maintained Rust crate classifies JSON Schema changes for schemars 1's
//! draft 2020-12 output (`json-schema-diff` is built on schemars 0.8), so the
//! rules live here, each with its own test. The view is the consumer's: a
//! consumer of version N must keep reading every event of version N,
//! including old ones replayed from the archive.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rule {
    PropertyRemoved,
    TypeChanged,
    FormatChanged,
    NewlyRequired,
    NoLongerRequired,
    EnumValueRemoved,
    AdditionalPropertiesTightened,
    AlternativesChanged,
}

impl Rule {
    fn describe(self) -> &'static str {
        match self {
            Rule::PropertyRemoved => "property removed",
            Rule::TypeChanged => "type changed",
            Rule::FormatChanged => "format changed",
            Rule::NewlyRequired => "property newly required",
            Rule::NoLongerRequired => "property no longer required (consumers may rely on it)",
            Rule::EnumValueRemoved => "enum value removed",
            Rule::AdditionalPropertiesTightened => "additionalProperties tightened",
            Rule::AlternativesChanged => "alternatives (anyOf/oneOf/allOf) changed",
        }
    }
}

/// One breaking change, located by the JSON path of the event `detail`
/// it concerns (`$.data.title`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Breaking {
    pub path: String,
    pub rule: Rule,
    pub detail: String,
}

impl std::fmt::Display for Breaking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.rule.describe())?;
        if !self.detail.is_empty() {
            write!(f, " ({})", self.detail)?;
        }
        Ok(())
    }
}

/// Every breaking change from `old` to `new`, both root schemas.
pub fn breaking_changes(old: &Value, new: &Value) -> Vec<Breaking> {
    let mut walk = Walk {
        old_root: old,
        new_root: new,
        out: Vec::new(),
    };
    walk.compare(old, new, "$".to_owned(), 0);
    walk.out.sort();
    walk.out.dedup();
    walk.out
}

struct Walk<'a> {
    old_root: &'a Value,
    new_root: &'a Value,
    out: Vec<Breaking>,
}

// Recursive `$ref`s (a tree of comments, say) would otherwise never end.
const MAX_DEPTH: usize = 48;

impl<'a> Walk<'a> {
    fn push(&mut self, path: &str, rule: Rule, detail: String) {
        self.out.push(Breaking {
            path: path.to_owned(),
            rule,
            detail,
        });
    }

    fn compare(&mut self, old: &'a Value, new: &'a Value, path: String, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        let old = resolve(self.old_root, old);
        let new = resolve(self.new_root, new);

        let (old_types, new_types) = (types(old), types(new));
        if old_types != new_types {
            self.push(
                &path,
                Rule::TypeChanged,
                format!("{} -> {}", show_types(&old_types), show_types(&new_types)),
            );
        }
        if old.get("format") != new.get("format") {
            self.push(
                &path,
                Rule::FormatChanged,
                format!("{} -> {}", show(old.get("format")), show(new.get("format"))),
            );
        }

        let (old_values, new_values) = (values(old), values(new));
        match (&old_values, &new_values) {
            (Some(old_values), Some(new_values)) => {
                for removed in old_values.iter().filter(|v| !new_values.contains(v)) {
                    self.push(&path, Rule::EnumValueRemoved, removed.to_string());
                }
            }
            (None, Some(new_values)) => {
                self.push(
                    &path,
                    Rule::EnumValueRemoved,
                    format!(
                        "values now restricted to {}",
                        Value::from(new_values.clone())
                    ),
                );
            }
            _ => {}
        }

        self.compare_object(old, new, &path, depth);

        if let (Some(old_items), Some(new_items)) = (old.get("items"), new.get("items")) {
            self.compare(old_items, new_items, format!("{path}[]"), depth + 1);
        }

        if old_values.is_none() && new_values.is_none() {
            for keyword in ["anyOf", "oneOf", "allOf"] {
                self.compare_alternatives(old, new, keyword, &path, depth);
            }
        }
    }

    fn compare_object(&mut self, old: &'a Value, new: &'a Value, path: &str, depth: usize) {
        let old_props = properties(old);
        let new_props = properties(new);
        for (name, old_prop) in old_props {
            let child = format!("{path}.{name}");
            match new_props.get(name) {
                Some(new_prop) => self.compare(old_prop, new_prop, child, depth + 1),
                None => self.push(&child, Rule::PropertyRemoved, String::new()),
            }
        }

        let (old_required, new_required) = (required(old), required(new));
        for name in new_required.difference(&old_required) {
            let detail = if old_props.contains_key(*name) {
                String::new()
            } else {
                "a new property that old events do not carry".to_owned()
            };
            self.push(&format!("{path}.{name}"), Rule::NewlyRequired, detail);
        }
        for name in old_required.difference(&new_required) {
            if new_props.contains_key(*name) {
                self.push(
                    &format!("{path}.{name}"),
                    Rule::NoLongerRequired,
                    String::new(),
                );
            }
        }

        let old_extra = Extra::of(old);
        let new_extra = Extra::of(new);
        match (old_extra, new_extra) {
            (Extra::Open, Extra::Closed | Extra::Schema(_)) | (Extra::Schema(_), Extra::Closed) => {
                self.push(
                    path,
                    Rule::AdditionalPropertiesTightened,
                    format!("{} -> {}", old_extra.show(), new_extra.show()),
                );
            }
            (Extra::Schema(o), Extra::Schema(n)) => {
                self.compare(o, n, format!("{path}.*"), depth + 1);
            }
            _ => {}
        }
    }

    fn compare_alternatives(
        &mut self,
        old: &'a Value,
        new: &'a Value,
        keyword: &str,
        path: &str,
        depth: usize,
    ) {
        let old_alts = old.get(keyword).and_then(Value::as_array);
        let new_alts = new.get(keyword).and_then(Value::as_array);
        match (old_alts, new_alts) {
            (None, None) => {}
            (Some(o), Some(n)) if o.len() == n.len() => {
                for (o, n) in o.iter().zip(n) {
                    self.compare(o, n, path.to_owned(), depth + 1);
                }
            }
            (o, n) => self.push(
                path,
                Rule::AlternativesChanged,
                format!(
                    "{keyword}: {} -> {} alternatives",
                    o.map_or(0, Vec::len),
                    n.map_or(0, Vec::len)
                ),
            ),
        }
    }
}

/// Follows local `$ref`s (`#/$defs/Name`) to the schema they name.
fn resolve<'a>(root: &'a Value, mut schema: &'a Value) -> &'a Value {
    for _ in 0..MAX_DEPTH {
        let Some(reference) = schema.get("$ref").and_then(Value::as_str) else {
            break;
        };
        let Some(target) = reference
            .strip_prefix('#')
            .and_then(|ptr| root.pointer(ptr))
        else {
            break;
        };
        schema = target;
    }
    schema
}

fn types(schema: &Value) -> Option<BTreeSet<String>> {
    match schema.get("type")? {
        Value::String(t) => Some(BTreeSet::from([t.clone()])),
        Value::Array(ts) => Some(
            ts.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
        ),
        _ => None,
    }
}

fn show_types(types: &Option<BTreeSet<String>>) -> String {
    match types {
        None => "any".to_owned(),
        Some(ts) => ts.iter().cloned().collect::<Vec<_>>().join("|"),
    }
}

fn show(value: Option<&Value>) -> String {
    value.map_or_else(|| "none".to_owned(), Value::to_string)
}

/// The closed set of values a schema allows: `enum`, `const`, or a
/// `oneOf`/`anyOf` made only of those (schemars' shape for documented
/// enum variants).
fn values(schema: &Value) -> Option<Vec<Value>> {
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return Some(values.clone());
    }
    if let Some(value) = schema.get("const") {
        return Some(vec![value.clone()]);
    }
    for keyword in ["oneOf", "anyOf"] {
        if let Some(alts) = schema.get(keyword).and_then(Value::as_array) {
            let mut all = Vec::new();
            for alt in alts {
                all.extend(values(alt)?);
            }
            return Some(all);
        }
    }
    None
}

static NO_PROPERTIES: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);

fn properties(schema: &Value) -> &Map<String, Value> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&NO_PROPERTIES)
}

fn required(schema: &Value) -> BTreeSet<&str> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

#[derive(Clone, Copy)]
enum Extra<'a> {
    Open,
    Closed,
    Schema(&'a Value),
}

impl<'a> Extra<'a> {
    fn of(schema: &'a Value) -> Self {
        match schema.get("additionalProperties") {
            None | Some(Value::Bool(true)) => Extra::Open,
            Some(Value::Bool(false)) => Extra::Closed,
            Some(other) => Extra::Schema(other),
        }
    }

    fn show(self) -> &'static str {
        match self {
            Extra::Open => "open",
            Extra::Closed => "false",
            Extra::Schema(_) => "a schema",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Value {
        json!({
            "type": "object",
            "required": ["metadata", "data"],
            "properties": {
                "metadata": {"type": "object"},
                "data": {"$ref": "#/$defs/Data"}
            },
            "$defs": {
                "Data": {
                    "type": "object",
                    "required": ["id", "title"],
                    "properties": {
                        "id": {"type": "string", "format": "uuid"},
                        "title": {"type": "string"},
                        "note": {"type": ["string", "null"]},
                        "kind": {"$ref": "#/$defs/Kind"},
                        "tags": {"type": "array", "items": {"type": "string"}}
                    }
                },
                "Kind": {"type": "string", "enum": ["a", "b"]}
            }
        })
    }

    fn rules(new: &Value) -> Vec<(String, Rule)> {
        breaking_changes(&base(), new)
            .into_iter()
            .map(|b| (b.path, b.rule))
            .collect()
    }

    fn edit(f: impl FnOnce(&mut Value)) -> Value {
        let mut v = base();
        f(&mut v);
        v
    }

    #[test]
    fn identical_schemas_have_no_breaking_change() {
        assert!(rules(&base()).is_empty());
    }

    #[test]
    fn adding_an_optional_property_is_not_breaking() {
        let new = edit(|v| {
            v["$defs"]["Data"]["properties"]["extra"] = json!({"type": "integer"});
        });
        assert!(rules(&new).is_empty());
    }

    #[test]
    fn removing_a_property_is_breaking() {
        let new = edit(|v| {
            v["$defs"]["Data"]["properties"]
                .as_object_mut()
                .unwrap()
                .remove("note");
        });
        assert_eq!(
            rules(&new),
            [("$.data.note".to_owned(), Rule::PropertyRemoved)]
        );
    }

    #[test]
    fn changing_a_type_is_breaking_both_ways() {
        let narrowed = edit(|v| v["$defs"]["Data"]["properties"]["note"]["type"] = json!("string"));
        assert_eq!(
            rules(&narrowed),
            [("$.data.note".to_owned(), Rule::TypeChanged)]
        );
        let other = edit(|v| v["$defs"]["Data"]["properties"]["title"]["type"] = json!("integer"));
        assert_eq!(
            rules(&other),
            [("$.data.title".to_owned(), Rule::TypeChanged)]
        );
    }

    #[test]
    fn changing_a_format_is_breaking() {
        let new = edit(|v| {
            v["$defs"]["Data"]["properties"]["id"]
                .as_object_mut()
                .unwrap()
                .remove("format");
        });
        assert_eq!(rules(&new), [("$.data.id".to_owned(), Rule::FormatChanged)]);
    }

    #[test]
    fn requiring_an_existing_or_new_property_is_breaking() {
        let existing = edit(|v| v["$defs"]["Data"]["required"] = json!(["id", "title", "note"]));
        assert_eq!(
            rules(&existing),
            [("$.data.note".to_owned(), Rule::NewlyRequired)]
        );
        let added = edit(|v| {
            v["$defs"]["Data"]["properties"]["owner"] = json!({"type": "string"});
            v["$defs"]["Data"]["required"] = json!(["id", "title", "owner"]);
        });
        assert_eq!(
            rules(&added),
            [("$.data.owner".to_owned(), Rule::NewlyRequired)]
        );
    }

    #[test]
    fn no_longer_requiring_a_property_is_breaking() {
        let new = edit(|v| v["$defs"]["Data"]["required"] = json!(["id"]));
        assert_eq!(
            rules(&new),
            [("$.data.title".to_owned(), Rule::NoLongerRequired)]
        );
    }

    #[test]
    fn removing_an_enum_value_is_breaking_but_adding_one_is_not() {
        let removed = edit(|v| v["$defs"]["Kind"]["enum"] = json!(["a"]));
        assert_eq!(
            rules(&removed),
            [("$.data.kind".to_owned(), Rule::EnumValueRemoved)]
        );
        let added = edit(|v| v["$defs"]["Kind"]["enum"] = json!(["a", "b", "c"]));
        assert!(rules(&added).is_empty());
    }

    #[test]
    fn enum_values_written_as_one_of_consts_are_compared_too() {
        let old = json!({"oneOf": [{"const": "a"}, {"const": "b"}]});
        let new = json!({"oneOf": [{"const": "a"}]});
        let found = breaking_changes(&old, &new);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].rule, Rule::EnumValueRemoved);
        assert_eq!(found[0].detail, "\"b\"");
    }

    #[test]
    fn tightening_additional_properties_is_breaking() {
        let closed = edit(|v| v["$defs"]["Data"]["additionalProperties"] = json!(false));
        assert_eq!(
            rules(&closed),
            [("$.data".to_owned(), Rule::AdditionalPropertiesTightened)]
        );
        let loosened_old = edit(|v| v["$defs"]["Data"]["additionalProperties"] = json!(false));
        assert!(breaking_changes(&loosened_old, &base()).is_empty());
    }

    #[test]
    fn array_items_are_compared() {
        let new = edit(|v| {
            v["$defs"]["Data"]["properties"]["tags"]["items"] = json!({"type": "integer"})
        });
        assert_eq!(
            rules(&new),
            [("$.data.tags[]".to_owned(), Rule::TypeChanged)]
        );
    }

    #[test]
    fn alternatives_are_compared_in_order_and_by_count() {
        let old = json!({"anyOf": [{"type": "object", "properties": {"x": {"type": "string"}}}, {"type": "null"}]});
        let removed = json!({"anyOf": [{"type": "object", "properties": {}}, {"type": "null"}]});
        assert_eq!(breaking_changes(&old, &removed)[0].path, "$.x");
        let fewer = json!({"anyOf": [{"type": "object"}]});
        assert_eq!(
            breaking_changes(&old, &fewer)[0].rule,
            Rule::AlternativesChanged
        );
    }

    #[test]
    fn recursive_references_terminate() {
        let tree = json!({
            "$ref": "#/$defs/Node",
            "$defs": {"Node": {"type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}}}}
        });
        assert!(breaking_changes(&tree, &tree).is_empty());
    }
}
