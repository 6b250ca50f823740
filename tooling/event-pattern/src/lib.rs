//! Amazon EventBridge event patterns, parsed, validated and matched with no
//! I/O: a rule can be checked, and an event tried against it, before
//! anything is deployed, and a local bus can route the way EventBridge does.
//!
//! The semantics are those of the EventBridge user guide (event patterns,
//! comparison operators, arrays, null values and empty strings). Where the
//! guide is silent, they follow aws/event-ruler, the open-source engine it
//! documents, and the cases LocalStack recorded against AWS itself:
//!
//! - Keys are ANDed, the filters in a leaf's array are ORed, and an `$or`
//!   (an array of at least two objects, at any object level) is ORed and
//!   then ANDed with its sibling keys.
//! - Exact numbers compare by value: `300` matches `300.0` and `3.0e2`.
//!   Two integers compare exactly, so account-number-sized values work.
//! - An exact string that is an IP address matches the same address written
//!   differently (`2001:db8::1` matches `2001:0db8:0:0:0:0:0:1`), as the
//!   engine compares addresses, not text.
//! - An event array is flattened: a leaf matches when any element matches
//!   any filter (so `anything-but` matches `["stopped", "running"]` because
//!   of `"running"`), and a nested pattern matches when one object element
//!   matches all of it. Two fields never match from two different elements
//!   of one array (the engine's array consistency).
//! - A field "exists" when it holds at least one non-object value: `null`
//!   exists; an object, an array of objects or an empty array does not
//!   (the guide's "exists only works on leaf nodes"). Only `exists: false`
//!   matches a missing field; every other filter needs a value.
//! - `exists: false` inside an array of objects is judged per element:
//!   `{"a": [{"b": 1}, {"c": 2}]}` matches `{"a": {"b": [{"exists": false}]}}`
//!   through its second element. The guide says nothing; the engine's answer
//!   depends on key order.
//! - `anything-but` matches any present value outside its list, `null` and
//!   other types included; its `prefix`, `suffix`, `equals-ignore-case` and
//!   `wildcard` forms only ever exclude strings. `prefix`, `suffix`,
//!   `equals-ignore-case`, `wildcard` and `cidr` match strings only;
//!   `numeric` matches JSON numbers only.
//! - Ignoring case is Unicode lower-casing of both sides.
//! - A `cidr` mask must be below /32 (IPv4) or /128 (IPv6): the engine
//!   rejects a single-address block; write the address as an exact value.
//! - Rejected, as AWS rejects them: a non-object pattern or `$or`
//!   alternative, an empty object, a leaf that is neither an object nor an
//!   array, an empty filter array, a nested array among filters, an unknown
//!   or wrongly cased operator, zero or several operators in one filter
//!   object, an operand of the wrong type, `**` or a stray `\` in a
//!   wildcard, an empty `anything-but` prefix or suffix, an `anything-but`
//!   list mixing strings and numbers or holding anything else, a malformed
//!   numeric range, an operator name used as a field name inside `$or`.
//!   Also rejected, where the engine is lenient: an empty `anything-but`
//!   list of any form (it would exclude nothing).
//! - Not modelled: the wildcard complexity limit (AWS refuses some patterns
//!   with many `*`, such as `*:*:*:*:*:event-bus/*`), the undocumented
//!   equivalence of `{"a": {"b": ..}}` and `{"a.b": ..}`, and the
//!   undocumented `exactly` operator.
//! - An event that is not a JSON object matches nothing.

use std::net::IpAddr;
use std::str::FromStr;

use serde_json::{Map, Number, Value};

/// A parsed, validated pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    root: Node,
}

/// Why a pattern is invalid. Every variant but [`PatternError::Json`] names
/// the path of the offending field (`pattern` for the top level).
#[derive(Debug, thiserror::Error)]
pub enum PatternError {
    #[error("pattern is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{path}: must be a JSON object")]
    NotAnObject { path: String },
    #[error("{path}: empty objects are not allowed")]
    EmptyObject { path: String },
    #[error("{path}: must be an object or an array of filters")]
    NotObjectOrArray { path: String },
    #[error("{path}: an empty array of filters is not allowed")]
    EmptyFilters { path: String },
    #[error("{path}: a filter must be a string, number, true, false, null or an operator object")]
    BadFilter { path: String },
    #[error("{path}: a filter object needs exactly one operator, found {count}")]
    OperatorCount { path: String, count: usize },
    #[error("{path}: unknown operator {operator:?}")]
    UnknownOperator { path: String, operator: String },
    #[error("{path}: {operator} {reason}")]
    BadOperand {
        path: String,
        operator: String,
        reason: String,
    },
    #[error("{path}: $or needs an array of at least 2 objects")]
    BadOr { path: String },
    #[error("{path}: {key:?} is an operator name, reserved inside $or")]
    ReservedInOr { path: String, key: String },
}

impl PatternError {
    /// The path of the offending field; `None` for text that is not JSON.
    pub fn path(&self) -> Option<&str> {
        match self {
            PatternError::Json(_) => None,
            PatternError::NotAnObject { path }
            | PatternError::EmptyObject { path }
            | PatternError::NotObjectOrArray { path }
            | PatternError::EmptyFilters { path }
            | PatternError::BadFilter { path }
            | PatternError::OperatorCount { path, .. }
            | PatternError::UnknownOperator { path, .. }
            | PatternError::BadOperand { path, .. }
            | PatternError::BadOr { path }
            | PatternError::ReservedInOr { path, .. } => Some(path),
        }
    }
}

impl Pattern {
    /// Validates `pattern` and keeps it ready for matching.
    pub fn parse(pattern: &Value) -> Result<Pattern, PatternError> {
        let object = pattern
            .as_object()
            .ok_or_else(|| PatternError::NotAnObject { path: shown("") })?;
        Ok(Pattern {
            root: parse_node(object, "", false)?,
        })
    }

    /// Parses the pattern's JSON text. [`FromStr`] is implemented too
    /// (`text.parse::<Pattern>()`); this inherent twin needs no import.
    #[allow(clippy::should_implement_trait)]
    pub fn from_str(text: &str) -> Result<Pattern, PatternError> {
        Pattern::parse(&serde_json::from_str(text)?)
    }

    /// Whether EventBridge would deliver `event` to a rule with this pattern.
    pub fn matches(&self, event: &Value) -> bool {
        event.is_object() && self.root.matches(Some(event))
    }
}

impl FromStr for Pattern {
    type Err = PatternError;

    fn from_str(text: &str) -> Result<Pattern, PatternError> {
        Pattern::from_str(text)
    }
}

/// Convenience: parse then match; an invalid pattern matches nothing.
pub fn matches(pattern: &Value, event: &Value) -> bool {
    Pattern::parse(pattern).is_ok_and(|pattern| pattern.matches(event))
}

// ---------------------------------------------------------------- the model

/// One object level: its keys (ANDed) and its `$or` alternatives, if any.
#[derive(Debug, Clone)]
struct Node {
    fields: Vec<(String, Field)>,
    any_of: Vec<Node>,
}

#[derive(Debug, Clone)]
enum Field {
    Leaf(Vec<Filter>),
    Object(Node),
}

#[derive(Debug, Clone)]
enum Filter {
    Equals(Value),
    Address(IpAddr),
    Prefix(Affix),
    Suffix(Affix),
    EqualsIgnoreCase(String),
    Wildcard(Wildcard),
    AnythingBut(Exclusion),
    Numeric(Range),
    Exists(bool),
    Cidr(Cidr),
}

/// A prefix or suffix; folded (lower-cased) when case is ignored.
#[derive(Debug, Clone)]
struct Affix {
    text: String,
    fold: bool,
}

#[derive(Debug, Clone)]
enum Exclusion {
    /// Only strings or only numbers, as validated.
    Values(Vec<Value>),
    Prefixes(Vec<String>),
    Suffixes(Vec<String>),
    /// Lower-cased.
    Folded(Vec<String>),
    Wildcards(Vec<Wildcard>),
}

/// The literal runs between unescaped `*`s: one run means no `*` at all.
#[derive(Debug, Clone)]
struct Wildcard {
    runs: Vec<String>,
}

/// Each bound is a value and whether it is inclusive.
#[derive(Debug, Clone, Default)]
struct Range {
    low: Option<(f64, bool)>,
    high: Option<(f64, bool)>,
}

#[derive(Debug, Clone)]
struct Cidr {
    address: IpAddr,
    bits: u8,
}

// ----------------------------------------------------------------- matching

impl Node {
    /// Arrays are flattened to their objects, any one of which may match;
    /// a value with no object in it is matched as if every field were absent
    /// (so only `exists: false` leaves can still hold).
    fn matches(&self, value: Option<&Value>) -> bool {
        let mut objects = Vec::new();
        if let Some(value) = value {
            collect_objects(value, &mut objects);
        }
        if objects.is_empty() {
            return self.matches_object(None);
        }
        objects
            .iter()
            .any(|object| self.matches_object(Some(object)))
    }

    fn matches_object(&self, object: Option<&Map<String, Value>>) -> bool {
        let get = |key: &str| object.and_then(|object| object.get(key));
        self.fields
            .iter()
            .all(|(key, field)| field.matches(get(key)))
            && (self.any_of.is_empty() || self.any_of.iter().any(|alt| alt.matches_object(object)))
    }
}

impl Field {
    fn matches(&self, value: Option<&Value>) -> bool {
        match self {
            Field::Leaf(filters) => leaf_matches(filters, value),
            Field::Object(node) => node.matches(value),
        }
    }
}

fn leaf_matches(filters: &[Filter], value: Option<&Value>) -> bool {
    let mut values = Vec::new();
    if let Some(value) = value {
        collect_scalars(value, &mut values);
    }
    if values.is_empty() {
        return filters
            .iter()
            .any(|filter| matches!(filter, Filter::Exists(false)));
    }
    values
        .iter()
        .any(|value| filters.iter().any(|filter| filter.accepts(value)))
}

fn collect_objects<'a>(value: &'a Value, out: &mut Vec<&'a Map<String, Value>>) {
    match value {
        Value::Object(object) => out.push(object),
        Value::Array(items) => items.iter().for_each(|item| collect_objects(item, out)),
        _ => {}
    }
}

fn collect_scalars<'a>(value: &'a Value, out: &mut Vec<&'a Value>) {
    match value {
        Value::Object(_) => {}
        Value::Array(items) => items.iter().for_each(|item| collect_scalars(item, out)),
        scalar => out.push(scalar),
    }
}

impl Filter {
    /// Whether this filter accepts one present, non-object event value.
    fn accepts(&self, value: &Value) -> bool {
        let text = value.as_str();
        match self {
            Filter::Equals(expected) => same_scalar(expected, value),
            Filter::Address(address) => text.and_then(ip).is_some_and(|ip| ip == *address),
            Filter::Prefix(affix) => text.is_some_and(|text| affix.starts(text)),
            Filter::Suffix(affix) => text.is_some_and(|text| affix.ends(text)),
            Filter::EqualsIgnoreCase(folded) => {
                text.is_some_and(|text| text.to_lowercase() == *folded)
            }
            Filter::Wildcard(wildcard) => text.is_some_and(|text| wildcard.matches(text)),
            Filter::AnythingBut(exclusion) => !exclusion.excludes(value),
            Filter::Numeric(range) => value.as_f64().is_some_and(|number| range.contains(number)),
            Filter::Exists(present) => *present,
            Filter::Cidr(cidr) => text.and_then(ip).is_some_and(|ip| cidr.contains(ip)),
        }
    }
}

fn same_scalar(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Number(expected), Value::Number(actual)) => same_number(expected, actual),
        _ => expected == actual,
    }
}

/// Integers compare exactly (an f64 would merge neighbouring account ids);
/// anything else compares as f64.
fn same_number(a: &Number, b: &Number) -> bool {
    if let (Some(a), Some(b)) = (a.as_i64(), b.as_i64()) {
        return a == b;
    }
    if let (Some(a), Some(b)) = (a.as_u64(), b.as_u64()) {
        return a == b;
    }
    a.as_f64() == b.as_f64()
}

fn ip(text: &str) -> Option<IpAddr> {
    text.parse().ok()
}

impl Affix {
    fn starts(&self, text: &str) -> bool {
        if self.fold {
            text.to_lowercase().starts_with(&self.text)
        } else {
            text.starts_with(&self.text)
        }
    }

    fn ends(&self, text: &str) -> bool {
        if self.fold {
            text.to_lowercase().ends_with(&self.text)
        } else {
            text.ends_with(&self.text)
        }
    }
}

impl Exclusion {
    fn excludes(&self, value: &Value) -> bool {
        if let Exclusion::Values(values) = self {
            return values.iter().any(|excluded| same_scalar(excluded, value));
        }
        let Some(text) = value.as_str() else {
            return false;
        };
        match self {
            Exclusion::Values(_) => false,
            Exclusion::Prefixes(prefixes) => prefixes
                .iter()
                .any(|prefix| text.starts_with(prefix.as_str())),
            Exclusion::Suffixes(suffixes) => suffixes
                .iter()
                .any(|suffix| text.ends_with(suffix.as_str())),
            Exclusion::Folded(folded) => folded.contains(&text.to_lowercase()),
            Exclusion::Wildcards(wildcards) => {
                wildcards.iter().any(|wildcard| wildcard.matches(text))
            }
        }
    }
}

impl Wildcard {
    /// With only `*` to expand, taking each middle run at its leftmost
    /// occurrence is enough: no backtracking is ever needed.
    fn matches(&self, text: &str) -> bool {
        let [first, middle @ .., last] = self.runs.as_slice() else {
            return self.runs.first().is_some_and(|only| only == text);
        };
        if text.len() < first.len() + last.len()
            || !text.starts_with(first.as_str())
            || !text.ends_with(last.as_str())
        {
            return false;
        }
        let mut rest = &text[first.len()..text.len() - last.len()];
        for run in middle {
            let Some(at) = rest.find(run.as_str()) else {
                return false;
            };
            rest = &rest[at + run.len()..];
        }
        true
    }
}

impl Range {
    fn contains(&self, number: f64) -> bool {
        let above = self.low.is_none_or(|(low, inclusive)| {
            if inclusive {
                number >= low
            } else {
                number > low
            }
        });
        let below = self.high.is_none_or(|(high, inclusive)| {
            if inclusive {
                number <= high
            } else {
                number < high
            }
        });
        above && below
    }
}

impl Cidr {
    fn contains(&self, address: IpAddr) -> bool {
        match (self.address, address) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                same_prefix(u32::from(net).into(), u32::from(ip).into(), 32, self.bits)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => same_prefix(net.into(), ip.into(), 128, self.bits),
            _ => false,
        }
    }
}

/// Whether the top `bits` of two `width`-bit addresses agree; host bits set
/// in the block's own address are ignored, as AWS floors the block.
fn same_prefix(a: u128, b: u128, width: u32, bits: u8) -> bool {
    let shift = width - u32::from(bits);
    a.checked_shr(shift).unwrap_or(0) == b.checked_shr(shift).unwrap_or(0)
}

// ------------------------------------------------------------------ parsing

/// Operator names the engine refuses as field names inside `$or`, where a
/// typo would otherwise silently become a field.
const RESERVED_IN_OR: &[&str] = &[
    "exactly",
    "equals-ignore-case",
    "prefix",
    "suffix",
    "anything-but",
    "exists",
    "wildcard",
    "numeric",
    "cidr",
    "=",
    "<",
    "<=",
    ">",
    ">=",
    "regex",
    "not-wildcard",
    "not-equals-ignore-case",
    "date-after",
    "date-on-or-after",
    "date-before",
    "date-on-or-before",
    "in-date-range",
    "ip-address-in-range",
    "ip-address-not-in-range",
];

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn shown(path: &str) -> String {
    if path.is_empty() {
        "pattern".to_owned()
    } else {
        path.to_owned()
    }
}

fn bad(path: &str, operator: &str, reason: impl Into<String>) -> PatternError {
    PatternError::BadOperand {
        path: shown(path),
        operator: operator.to_owned(),
        reason: reason.into(),
    }
}

fn parse_node(object: &Map<String, Value>, path: &str, in_or: bool) -> Result<Node, PatternError> {
    if object.is_empty() {
        return Err(PatternError::EmptyObject { path: shown(path) });
    }
    let mut node = Node {
        fields: Vec::with_capacity(object.len()),
        any_of: Vec::new(),
    };
    for (key, value) in object {
        if key == "$or" {
            node.any_of = parse_or(value, &join(path, key))?;
        } else if in_or && RESERVED_IN_OR.contains(&key.as_str()) {
            let (path, key) = (shown(path), key.clone());
            return Err(PatternError::ReservedInOr { path, key });
        } else {
            let field = parse_field(value, &join(path, key), in_or)?;
            node.fields.push((key.clone(), field));
        }
    }
    Ok(node)
}

fn parse_or(value: &Value, path: &str) -> Result<Vec<Node>, PatternError> {
    let alternatives = match value.as_array() {
        Some(alternatives) if alternatives.len() >= 2 => alternatives,
        _ => return Err(PatternError::BadOr { path: shown(path) }),
    };
    let parse = |(index, alternative): (usize, &Value)| {
        let path = format!("{path}[{index}]");
        let object = alternative
            .as_object()
            .ok_or_else(|| PatternError::NotAnObject { path: path.clone() })?;
        parse_node(object, &path, true)
    };
    alternatives.iter().enumerate().map(parse).collect()
}

fn parse_field(value: &Value, path: &str, in_or: bool) -> Result<Field, PatternError> {
    match value {
        Value::Object(object) => Ok(Field::Object(parse_node(object, path, in_or)?)),
        Value::Array(filters) if filters.is_empty() => {
            Err(PatternError::EmptyFilters { path: shown(path) })
        }
        Value::Array(filters) => filters
            .iter()
            .map(|filter| parse_filter(filter, path))
            .collect::<Result<_, _>>()
            .map(Field::Leaf),
        _ => Err(PatternError::NotObjectOrArray { path: shown(path) }),
    }
}

fn parse_filter(filter: &Value, path: &str) -> Result<Filter, PatternError> {
    match filter {
        Value::String(text) => {
            Ok(ip(text).map_or_else(|| Filter::Equals(filter.clone()), Filter::Address))
        }
        Value::Number(_) | Value::Bool(_) | Value::Null => Ok(Filter::Equals(filter.clone())),
        Value::Array(_) => Err(PatternError::BadFilter { path: shown(path) }),
        Value::Object(operator) => parse_operator(operator, path),
    }
}

fn parse_operator(object: &Map<String, Value>, path: &str) -> Result<Filter, PatternError> {
    let mut entries = object.iter();
    let (Some((operator, operand)), None) = (entries.next(), entries.next()) else {
        let count = object.len();
        return Err(PatternError::OperatorCount {
            path: shown(path),
            count,
        });
    };
    match operator.as_str() {
        "prefix" => parse_affix(operator, operand, path).map(Filter::Prefix),
        "suffix" => parse_affix(operator, operand, path).map(Filter::Suffix),
        "equals-ignore-case" => parse_text(operator, operand, path)
            .map(|text| Filter::EqualsIgnoreCase(text.to_lowercase())),
        "wildcard" => parse_wildcard(operator, operand, path).map(Filter::Wildcard),
        "anything-but" => parse_exclusion(operand, path).map(Filter::AnythingBut),
        "numeric" => parse_range(operand, path).map(Filter::Numeric),
        "exists" => operand
            .as_bool()
            .map(Filter::Exists)
            .ok_or_else(|| bad(path, operator, "needs true or false")),
        "cidr" => parse_cidr(operand, path).map(Filter::Cidr),
        _ => Err(PatternError::UnknownOperator {
            path: shown(path),
            operator: operator.clone(),
        }),
    }
}

fn parse_text<'a>(operator: &str, operand: &'a Value, path: &str) -> Result<&'a str, PatternError> {
    operand
        .as_str()
        .ok_or_else(|| bad(path, operator, "needs a string"))
}

fn parse_affix(operator: &str, operand: &Value, path: &str) -> Result<Affix, PatternError> {
    let folded = operand
        .as_object()
        .filter(|object| object.len() == 1)
        .and_then(|object| object.get("equals-ignore-case"));
    match (operand, folded) {
        (Value::String(text), _) => Ok(Affix {
            text: text.clone(),
            fold: false,
        }),
        (_, Some(Value::String(text))) => Ok(Affix {
            text: text.to_lowercase(),
            fold: true,
        }),
        _ => Err(bad(
            path,
            operator,
            r#"needs a string or {"equals-ignore-case": string}"#,
        )),
    }
}

fn parse_wildcard(operator: &str, operand: &Value, path: &str) -> Result<Wildcard, PatternError> {
    let text = parse_text(operator, operand, path)?;
    Wildcard::parse(text).map_err(|reason| bad(path, operator, reason))
}

impl Wildcard {
    fn parse(text: &str) -> Result<Wildcard, &'static str> {
        let (mut runs, mut run) = (Vec::new(), String::new());
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '*' if chars.peek() == Some(&'*') => return Err("has consecutive * characters"),
                '*' => runs.push(std::mem::take(&mut run)),
                '\\' => match chars.next() {
                    Some(escaped @ ('*' | '\\')) => run.push(escaped),
                    _ => return Err(r"has a \ that escapes neither * nor \"),
                },
                c => run.push(c),
            }
        }
        runs.push(run);
        Ok(Wildcard { runs })
    }
}

const ANYTHING_BUT_SHAPES: &str = "needs a string, a number, a list of only strings or only numbers, or an object with one of prefix, suffix, equals-ignore-case, wildcard";

fn parse_exclusion(operand: &Value, path: &str) -> Result<Exclusion, PatternError> {
    match operand {
        Value::String(_) | Value::Number(_) => Ok(Exclusion::Values(vec![operand.clone()])),
        Value::Array(values) => parse_excluded_values(values, path).map(Exclusion::Values),
        Value::Object(object) if object.len() == 1 => parse_excluded_texts(object, path),
        _ => Err(bad(path, "anything-but", ANYTHING_BUT_SHAPES)),
    }
}

fn parse_excluded_values(values: &[Value], path: &str) -> Result<Vec<Value>, PatternError> {
    let all_strings = values.iter().all(Value::is_string);
    let all_numbers = values.iter().all(Value::is_number);
    if values.is_empty() || !(all_strings || all_numbers) {
        return Err(bad(path, "anything-but", ANYTHING_BUT_SHAPES));
    }
    Ok(values.to_vec())
}

fn parse_excluded_texts(
    object: &Map<String, Value>,
    path: &str,
) -> Result<Exclusion, PatternError> {
    let Some((inner, operand)) = object.iter().next() else {
        return Err(bad(path, "anything-but", ANYTHING_BUT_SHAPES));
    };
    let operator = format!("anything-but/{inner}");
    let texts = parse_texts(&operator, operand, path)?;
    match inner.as_str() {
        "prefix" | "suffix" if texts.iter().any(String::is_empty) => {
            Err(bad(path, &operator, "must not be empty"))
        }
        "prefix" => Ok(Exclusion::Prefixes(texts)),
        "suffix" => Ok(Exclusion::Suffixes(texts)),
        "equals-ignore-case" => Ok(Exclusion::Folded(
            texts.iter().map(|text| text.to_lowercase()).collect(),
        )),
        "wildcard" => texts
            .iter()
            .map(|text| Wildcard::parse(text))
            .collect::<Result<_, _>>()
            .map(Exclusion::Wildcards)
            .map_err(|reason| bad(path, &operator, reason)),
        _ => Err(bad(path, "anything-but", ANYTHING_BUT_SHAPES)),
    }
}

/// A string, or a non-empty list of strings.
fn parse_texts(operator: &str, operand: &Value, path: &str) -> Result<Vec<String>, PatternError> {
    let texts = match operand {
        Value::String(text) => Some(vec![text.clone()]),
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect(),
        _ => None,
    };
    texts.ok_or_else(|| {
        bad(
            path,
            operator,
            "needs a string or a non-empty list of strings",
        )
    })
}

fn parse_range(operand: &Value, path: &str) -> Result<Range, PatternError> {
    let terms = operand
        .as_array()
        .ok_or_else(|| bad(path, "numeric", "needs an operator and a number"))?;
    match terms.as_slice() {
        [operator, number] => Ok(one_bound(parse_comparison(operator, number, path)?)),
        [low_operator, low, high_operator, high] => two_bounds(
            parse_comparison(low_operator, low, path)?,
            parse_comparison(high_operator, high, path)?,
            path,
        ),
        [_, _, _, _, _, ..] => Err(bad(path, "numeric", "takes at most two comparisons")),
        _ => Err(bad(path, "numeric", "needs an operator and a number")),
    }
}

fn parse_comparison<'a>(
    operator: &'a Value,
    number: &Value,
    path: &str,
) -> Result<(&'a str, f64), PatternError> {
    let (Some(operator), Some(number)) = (
        operator.as_str(),
        number.as_f64().filter(|_| number.is_number()),
    ) else {
        return Err(bad(path, "numeric", "needs an operator and a number"));
    };
    match operator {
        "=" | "<" | "<=" | ">" | ">=" => Ok((operator, number)),
        _ => Err(bad(
            path,
            "numeric",
            format!("has unknown comparison {operator:?}"),
        )),
    }
}

fn one_bound((operator, number): (&str, f64)) -> Range {
    let inclusive = operator != "<" && operator != ">";
    let bound = Some((number, inclusive));
    match operator {
        "=" => Range {
            low: bound,
            high: bound,
        },
        ">" | ">=" => Range {
            low: bound,
            high: None,
        },
        _ => Range {
            low: None,
            high: bound,
        },
    }
}

fn two_bounds(low: (&str, f64), high: (&str, f64), path: &str) -> Result<Range, PatternError> {
    if !matches!(low.0, ">" | ">=") || !matches!(high.0, "<" | "<=") {
        return Err(bad(
            path,
            "numeric",
            "range must be a lower bound (> or >=) then an upper bound (< or <=)",
        ));
    }
    if low.1 >= high.1 {
        return Err(bad(
            path,
            "numeric",
            "range's lower bound must be below its upper bound",
        ));
    }
    Ok(Range {
        low: one_bound(low).low,
        high: one_bound(high).high,
    })
}

fn parse_cidr(operand: &Value, path: &str) -> Result<Cidr, PatternError> {
    let text = operand
        .as_str()
        .ok_or_else(|| bad(path, "cidr", r#"needs a string like "10.0.0.0/24""#))?;
    let (address, bits) = text
        .split_once('/')
        .ok_or_else(|| bad(path, "cidr", format!("{text:?} has no /mask")))?;
    let address = ip(address)
        .ok_or_else(|| bad(path, "cidr", format!("{text:?} has no valid IP address")))?;
    let bits: u8 = bits.parse().map_err(|_| {
        bad(
            path,
            "cidr",
            format!("{text:?} has a mask that is not a number"),
        )
    })?;
    let width = if address.is_ipv4() { 32 } else { 128 };
    if bits >= width {
        let reason = format!(
            "mask /{bits} must be below /{width} (AWS rejects a single-address block: match the address as an exact value)"
        );
        return Err(bad(path, "cidr", reason));
    }
    Ok(Cidr { address, bits })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(pattern: Value, event: Value) -> bool {
        Pattern::parse(&pattern)
            .expect("a valid pattern")
            .matches(&event)
    }

    fn error(pattern: Value) -> String {
        Pattern::parse(&pattern)
            .expect_err("an invalid pattern")
            .to_string()
    }

    /// Asserts each pattern is rejected with a message containing `needle`.
    fn rejects(patterns: &[Value], needle: &str) {
        for pattern in patterns {
            let message = error(pattern.clone());
            assert!(
                message.contains(needle),
                "{pattern}: {message:?} lacks {needle:?}"
            );
        }
    }

    // ------------------------------------------------------------ structure

    #[test]
    fn exact_strings_match_case_sensitively() {
        let pattern = json!({"source": ["aws.ec2"]});
        assert!(check(pattern.clone(), json!({"source": "aws.ec2"})));
        assert!(!check(pattern.clone(), json!({"source": "AWS.EC2"})));
        assert!(!check(pattern, json!({"other": "aws.ec2"})));
    }

    #[test]
    fn keys_are_anded_and_filters_ored() {
        let pattern = json!({"source": ["aws.ec2", "aws.fargate"], "detail-type": ["Change"]});
        assert!(check(
            pattern.clone(),
            json!({"source": "aws.fargate", "detail-type": "Change"})
        ));
        assert!(!check(
            pattern.clone(),
            json!({"source": "aws.fargate", "detail-type": "Other"})
        ));
        assert!(!check(
            pattern,
            json!({"source": "aws.s3", "detail-type": "Change"})
        ));
    }

    #[test]
    fn nested_objects_follow_the_event_structure() {
        let pattern = json!({"detail": {"state": ["running"]}});
        assert!(check(
            pattern.clone(),
            json!({"detail": {"state": "running", "id": 1}})
        ));
        assert!(!check(pattern.clone(), json!({"state": "running"})));
        assert!(!check(pattern, json!({"detail": "running"})));
    }

    #[test]
    fn numbers_match_by_value() {
        let pattern = json!({"n": [300]});
        assert!(check(pattern.clone(), json!({"n": 300.0})));
        assert!(check(pattern.clone(), json!({"n": 3.0e2})));
        assert!(!check(pattern.clone(), json!({"n": 301})));
        assert!(!check(pattern, json!({"n": "300"})));
    }

    #[test]
    fn large_integers_compare_exactly() {
        let pattern = json!({"account": [123_456_789_012_345_678_u64]});
        assert!(check(
            pattern.clone(),
            json!({"account": 123_456_789_012_345_678_u64})
        ));
        assert!(!check(
            pattern,
            json!({"account": 123_456_789_012_345_679_u64})
        ));
    }

    #[test]
    fn booleans_match_exactly() {
        let pattern = json!({"flag": [false]});
        assert!(check(pattern.clone(), json!({"flag": false})));
        assert!(!check(pattern.clone(), json!({"flag": true})));
        assert!(!check(pattern, json!({"flag": "false"})));
    }

    #[test]
    fn null_matches_a_present_null_only() {
        let pattern = json!({"detail": {"response": [null]}});
        assert!(check(
            pattern.clone(),
            json!({"detail": {"response": null}})
        ));
        assert!(!check(pattern.clone(), json!({"detail": {}})));
        assert!(!check(
            pattern.clone(),
            json!({"detail": {"response": "null"}})
        ));
        assert!(!check(pattern, json!({"detail": {"response": ""}})));
    }

    #[test]
    fn empty_string_is_not_null() {
        let pattern = json!({"version": [""]});
        assert!(check(pattern.clone(), json!({"version": ""})));
        assert!(!check(pattern.clone(), json!({"version": null})));
        assert!(!check(pattern, json!({})));
    }

    #[test]
    fn an_event_that_is_not_an_object_matches_nothing() {
        let pattern = json!({"a": [{"exists": false}]});
        assert!(check(pattern.clone(), json!({})));
        assert!(!check(pattern.clone(), json!([])));
        assert!(!check(pattern, json!("a")));
    }

    // --------------------------------------------------------------- arrays

    #[test]
    fn an_array_value_matches_when_any_element_does() {
        let pattern = json!({"resources": ["arn:a", "arn:b"]});
        assert!(check(
            pattern.clone(),
            json!({"resources": ["arn:x", "arn:b"]})
        ));
        assert!(!check(pattern.clone(), json!({"resources": ["arn:x"]})));
        assert!(!check(pattern, json!({"resources": []})));
    }

    #[test]
    fn nested_arrays_are_flattened() {
        let pattern = json!({"ids": [3]});
        assert!(check(pattern.clone(), json!({"ids": [[1, 2], [3]]})));
        assert!(!check(pattern, json!({"ids": [[1, 2], [4]]})));
    }

    #[test]
    fn arrays_of_objects_match_element_wise() {
        let pattern = json!({"a": {"b": [1]}});
        assert!(check(pattern.clone(), json!({"a": [{"b": 2}, {"b": 1}]})));
        assert!(!check(pattern, json!({"a": [{"b": 2}, {"c": 1}]})));
    }

    #[test]
    fn fields_never_match_from_different_elements_of_one_array() {
        let pattern = json!({"employees": {"first": ["Anna"], "last": ["Jones"]}});
        let staff = |last: &str| json!({"employees": [{"first": "Anna", "last": last}, {"first": "Peter", "last": "Jones"}]});
        assert!(!check(pattern.clone(), staff("Smith")));
        assert!(check(pattern, staff("Jones")));
    }

    // ---------------------------------------------------------- string operators

    #[test]
    fn prefix_matches_strings_only() {
        let pattern = json!({"time": [{"prefix": "2017-10-02"}]});
        assert!(check(
            pattern.clone(),
            json!({"time": "2017-10-02T18:43:48Z"})
        ));
        assert!(!check(
            pattern.clone(),
            json!({"time": "2017-10-03T00:00:00Z"})
        ));
        assert!(!check(json!({"n": [{"prefix": "1"}]}), json!({"n": 12})));
        assert!(check(
            json!({"s": [{"prefix": ""}]}),
            json!({"s": "anything"})
        ));
    }

    #[test]
    fn prefix_can_ignore_case() {
        let pattern = json!({"service": [{"prefix": {"equals-ignore-case": "EventB"}}]});
        assert!(check(pattern.clone(), json!({"service": "eventbridge"})));
        assert!(check(pattern.clone(), json!({"service": "EVENTBRIDGE"})));
        assert!(!check(pattern, json!({"service": "sns"})));
    }

    #[test]
    fn suffix_matches_strings_only() {
        let pattern = json!({"FileName": [{"suffix": ".png"}]});
        assert!(check(pattern.clone(), json!({"FileName": "image.png"})));
        assert!(!check(pattern.clone(), json!({"FileName": "image.PNG"})));
        assert!(!check(pattern, json!({"FileName": 5})));
    }

    #[test]
    fn suffix_can_ignore_case() {
        let pattern = json!({"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]});
        assert!(check(pattern.clone(), json!({"FileName": "image.PNG"})));
        assert!(!check(pattern, json!({"FileName": "image.jpg"})));
    }

    #[test]
    fn equals_ignore_case_compares_whole_strings() {
        let pattern = json!({"name": [{"equals-ignore-case": "alice"}]});
        assert!(check(pattern.clone(), json!({"name": "ALICE"})));
        assert!(!check(pattern.clone(), json!({"name": "alicia"})));
        assert!(check(
            json!({"v": [{"equals-ignore-case": ""}]}),
            json!({"v": ""})
        ));
        assert!(!check(
            json!({"v": [{"equals-ignore-case": ""}]}),
            json!({"v": "x"})
        ));
    }

    #[test]
    fn wildcard_stars_match_any_run_of_characters() {
        let pattern = json!({"source": [{"wildcard": "Simple*Service"}]});
        assert!(check(
            pattern.clone(),
            json!({"source": "SimpleQueueService"})
        ));
        assert!(check(pattern.clone(), json!({"source": "SimpleService"})));
        assert!(!check(pattern.clone(), json!({"source": "SimpleServices"})));
        assert!(!check(pattern, json!({"source": 5})));
        let path = json!({"path": [{"wildcard": "/Users/*/dir/*/doc.txt"}]});
        assert!(check(
            path.clone(),
            json!({"path": "/Users/me/dir/dir/dir/doc.txt"})
        ));
        assert!(!check(path, json!({"path": "/Users/me/dir/doc.txt"})));
    }

    #[test]
    fn wildcard_runs_may_not_overlap() {
        let pattern = json!({"s": [{"wildcard": "ab*ba"}]});
        assert!(check(pattern.clone(), json!({"s": "abba"})));
        assert!(!check(pattern, json!({"s": "aba"})));
    }

    #[test]
    fn wildcard_escapes_a_star_and_a_backslash() {
        let star = json!({"s": [{"wildcard": r"a\*b"}]});
        assert!(check(star.clone(), json!({"s": "a*b"})));
        assert!(!check(star, json!({"s": "axb"})));
        let backslash = json!({"s": [{"wildcard": r"a\\*"}]});
        assert!(check(backslash.clone(), json!({"s": r"a\bc"})));
        assert!(!check(backslash, json!({"s": "abc"})));
    }

    #[test]
    fn an_empty_wildcard_matches_only_the_empty_string() {
        let pattern = json!({"s": [{"wildcard": ""}]});
        assert!(check(pattern.clone(), json!({"s": ""})));
        assert!(!check(pattern, json!({"s": "x"})));
    }

    // --------------------------------------------------------- anything-but

    #[test]
    fn anything_but_a_string() {
        let pattern = json!({"detail": {"state": [{"anything-but": "initializing"}]}});
        assert!(check(
            pattern.clone(),
            json!({"detail": {"state": "running"}})
        ));
        assert!(check(pattern.clone(), json!({"detail": {"state": null}})));
        assert!(!check(
            pattern.clone(),
            json!({"detail": {"state": "initializing"}})
        ));
        assert!(!check(pattern, json!({"detail": {}})));
    }

    #[test]
    fn anything_but_numbers_compares_by_value_and_type() {
        let pattern = json!({"x": [{"anything-but": [100, 200, 300]}]});
        assert!(check(pattern.clone(), json!({"x": 150})));
        assert!(check(pattern.clone(), json!({"x": "200"})));
        assert!(!check(pattern.clone(), json!({"x": 200})));
        assert!(!check(pattern, json!({"x": 200.0})));
    }

    #[test]
    fn anything_but_a_list_of_strings() {
        let pattern = json!({"state": [{"anything-but": ["stopped", "overloaded"]}]});
        assert!(check(pattern.clone(), json!({"state": "pending"})));
        assert!(!check(pattern, json!({"state": "stopped"})));
    }

    #[test]
    fn anything_but_matches_an_array_holding_one_other_value() {
        let pattern = json!({"state": [{"anything-but": ["stopped"]}]});
        assert!(check(
            pattern.clone(),
            json!({"state": ["stopped", "running"]})
        ));
        assert!(!check(pattern, json!({"state": ["stopped"]})));
    }

    #[test]
    fn anything_but_prefix() {
        let pattern = json!({"state": [{"anything-but": {"prefix": "init"}}]});
        assert!(check(pattern.clone(), json!({"state": "post-init"})));
        assert!(check(pattern.clone(), json!({"state": 12})));
        assert!(!check(pattern.clone(), json!({"state": "init-done"})));
        assert!(!check(pattern, json!({})));
        let list = json!({"state": [{"anything-but": {"prefix": ["init", "post"]}}]});
        assert!(!check(list.clone(), json!({"state": "post-init"})));
        assert!(check(list, json!({"state": "pre-init"})));
    }

    #[test]
    fn anything_but_suffix() {
        let pattern = json!({"FileName": [{"anything-but": {"suffix": [".txt", ".jpg"]}}]});
        assert!(check(pattern.clone(), json!({"FileName": "file.txt.bak"})));
        assert!(!check(pattern, json!({"FileName": "file.jpg"})));
    }

    #[test]
    fn anything_but_equals_ignore_case() {
        let pattern = json!({"state": [{"anything-but": {"equals-ignore-case": ["initializing", "stopped"]}}]});
        assert!(check(pattern.clone(), json!({"state": "pending"})));
        assert!(!check(pattern.clone(), json!({"state": "Stopped"})));
        assert!(!check(pattern, json!({"state": "INITIALIZING"})));
    }

    #[test]
    fn anything_but_wildcard() {
        let pattern = json!({"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]});
        assert!(check(pattern.clone(), json!({"FilePath": "dir/bin/file"})));
        assert!(check(pattern.clone(), json!({"FilePath": 123})));
        assert!(!check(pattern, json!({"FilePath": "dir/lib/file"})));
    }

    // -------------------------------------------------------------- numeric

    #[test]
    fn numeric_single_comparisons() {
        let cases = [
            ("<", 5, 4, 5),
            ("<=", 5, 5, 6),
            (">", 5, 6, 5),
            (">=", 5, 5, 4),
            ("=", 5, 5, 6),
        ];
        for (operator, bound, inside, outside) in cases {
            let pattern = json!({"n": [{"numeric": [operator, bound]}]});
            assert!(
                check(pattern.clone(), json!({"n": inside})),
                "{operator} {bound} vs {inside}"
            );
            assert!(
                !check(pattern, json!({"n": outside})),
                "{operator} {bound} vs {outside}"
            );
        }
    }

    #[test]
    fn numeric_ranges_honour_open_and_closed_ends() {
        let pattern = json!({"c": [{"numeric": [">", 0, "<=", 5]}]});
        assert!(check(pattern.clone(), json!({"c": 5})));
        assert!(check(pattern.clone(), json!({"c": 0.5})));
        assert!(!check(pattern.clone(), json!({"c": 0})));
        assert!(!check(pattern, json!({"c": 5.1})));
    }

    #[test]
    fn numeric_matches_json_numbers_only() {
        let pattern = json!({"x": [{"numeric": ["=", 3.018e2]}]});
        assert!(check(pattern.clone(), json!({"x": 301.8})));
        assert!(!check(pattern.clone(), json!({"x": "301.8"})));
        assert!(!check(pattern.clone(), json!({"x": null})));
        assert!(!check(pattern, json!({})));
    }

    // --------------------------------------------------------------- exists

    #[test]
    fn exists_true_needs_a_leaf_value() {
        let pattern = json!({"detail": {"c": [{"exists": true}]}});
        assert!(check(pattern.clone(), json!({"detail": {"c": "x"}})));
        assert!(check(pattern.clone(), json!({"detail": {"c": null}})));
        assert!(check(pattern.clone(), json!({"detail": {"c": [1]}})));
        assert!(!check(pattern.clone(), json!({"detail": {}})));
        assert!(!check(
            pattern.clone(),
            json!({"detail": {"c": {"c1": 100}}})
        ));
        assert!(!check(pattern, json!({"detail": {"c": []}})));
    }

    #[test]
    fn exists_false_matches_a_missing_or_non_leaf_field() {
        let pattern = json!({"detail": {"c": [{"exists": false}]}});
        assert!(check(pattern.clone(), json!({"detail": {"state": "x"}})));
        assert!(check(
            pattern.clone(),
            json!({"detail": {"c": {"c1": 100}}})
        ));
        assert!(check(pattern.clone(), json!({})));
        assert!(!check(pattern.clone(), json!({"detail": {"c": 0}})));
        assert!(!check(pattern, json!({"detail": {"c": null}})));
    }

    #[test]
    fn exists_false_holds_under_a_missing_or_scalar_parent() {
        let pattern = json!({"a": {"b": {"c": [{"exists": false}]}}});
        assert!(check(pattern.clone(), json!({"a": 5})));
        assert!(check(pattern.clone(), json!({"a": {"b": [1, 2]}})));
        assert!(!check(pattern, json!({"a": {"b": {"c": "here"}}})));
    }

    #[test]
    fn exists_is_judged_per_array_element() {
        let pattern = json!({"items": {"id": [{"exists": true}]}});
        assert!(check(
            pattern.clone(),
            json!({"items": [{"k": 1}, {"id": "x"}]})
        ));
        assert!(!check(pattern, json!({"items": [{"k": 1}]})));
    }

    #[test]
    fn exists_false_ors_with_other_filters() {
        let pattern = json!({"S": [{"anything-but": ["roses"]}, {"exists": false}]});
        assert!(check(pattern.clone(), json!({"N": "789"})));
        assert!(check(pattern.clone(), json!({"S": "tulips"})));
        assert!(!check(pattern, json!({"S": "roses"})));
    }

    #[test]
    fn only_exists_false_matches_a_missing_field() {
        let accepted = [
            (json!({"prefix": "a"}), json!("ab")),
            (json!({"suffix": "a"}), json!("ba")),
            (json!({"equals-ignore-case": "a"}), json!("A")),
            (json!({"wildcard": "*"}), json!("x")),
            (json!({"anything-but": "a"}), json!("b")),
            (json!({"anything-but": {"prefix": "a"}}), json!("b")),
            (json!({"numeric": [">", 0]}), json!(1)),
            (json!({"exists": true}), json!("x")),
            (json!({"cidr": "10.0.0.0/8"}), json!("10.1.2.3")),
        ];
        for (operator, value) in accepted {
            let pattern = json!({"f": [operator.clone()]});
            assert!(
                check(pattern.clone(), json!({"f": value})),
                "{operator} refused {value}"
            );
            assert!(
                !check(pattern, json!({"g": value})),
                "{operator} matched a missing field"
            );
        }
    }

    // ----------------------------------------------------------------- cidr

    #[test]
    fn cidr_matches_ipv4_addresses_in_the_block() {
        let pattern = json!({"ip": [{"cidr": "10.0.0.0/24"}]});
        assert!(check(pattern.clone(), json!({"ip": "10.0.0.255"})));
        assert!(!check(pattern.clone(), json!({"ip": "10.0.1.0"})));
        assert!(!check(pattern.clone(), json!({"ip": "10.0.0.256"})));
        assert!(!check(pattern.clone(), json!({"ip": "::1"})));
        assert!(!check(pattern, json!({"ip": 123})));
    }

    #[test]
    fn cidr_ignores_host_bits_in_the_block() {
        let pattern = json!({"ip": [{"cidr": "10.0.0.77/24"}]});
        assert!(check(pattern.clone(), json!({"ip": "10.0.0.1"})));
        assert!(!check(pattern, json!({"ip": "10.0.2.1"})));
        assert!(check(
            json!({"ip": [{"cidr": "0.0.0.0/0"}]}),
            json!({"ip": "8.8.8.8"})
        ));
    }

    #[test]
    fn cidr_matches_ipv6_addresses_in_the_block() {
        let pattern = json!({"ip": [{"cidr": "2001:db8:1234:1a00::/64"}]});
        assert!(check(
            pattern.clone(),
            json!({"ip": "2001:0db8:1234:1a00:0000:0000:0000:0001"})
        ));
        assert!(!check(
            pattern.clone(),
            json!({"ip": "2001:db8:123f:1a01::"})
        ));
        assert!(!check(pattern, json!({"ip": "10.0.0.1"})));
    }

    #[test]
    fn an_exact_address_matches_however_it_is_written() {
        let pattern = json!({"ip": ["2001:db8::1"]});
        assert!(check(
            pattern.clone(),
            json!({"ip": "2001:0db8:0:0:0:0:0:1"})
        ));
        assert!(!check(pattern.clone(), json!({"ip": "2001:db8::2"})));
        assert!(check(
            json!({"ip": ["10.0.0.1"]}),
            json!({"ip": "10.0.0.1"})
        ));
        assert!(!check(
            json!({"ip": ["10.0.0.1"]}),
            json!({"ip": "10.0.0.10"})
        ));
    }

    // ------------------------------------------------------------------ $or

    #[test]
    fn or_alternatives_are_ored_and_anded_with_siblings() {
        let pattern = json!({
            "source": ["aws.cloudwatch"],
            "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}]
        });
        assert!(check(
            pattern.clone(),
            json!({"source": "aws.cloudwatch", "namespace": "AWS/EC2"})
        ));
        assert!(!check(
            pattern.clone(),
            json!({"source": "aws.cloudwatch", "namespace": "AWS/ES"})
        ));
        assert!(!check(
            pattern,
            json!({"source": "aws.ec2", "metricName": "CPUUtilization"})
        ));
    }

    #[test]
    fn or_works_at_any_object_level() {
        let pattern = json!({"detail": {"$or": [
            {"c-count": [{"numeric": [">", 0, "<=", 5]}]},
            {"d-count": [{"numeric": ["<", 10]}]},
            {"x-limit": [{"numeric": ["=", 3.018e2]}]}
        ]}});
        assert!(check(
            pattern.clone(),
            json!({"detail": {"c-count": 0, "d-count": 0, "x-limit": 9.018e2}})
        ));
        assert!(!check(
            pattern,
            json!({"detail": {"c-count": 0, "d-count": 10, "x-limit": 9.018e2}})
        ));
    }

    #[test]
    fn or_nests_inside_or() {
        let pattern = json!({"$or": [
            {"a": [1]},
            {"b": [2], "$or": [{"c": [3]}, {"d": [4]}]}
        ]});
        assert!(check(pattern.clone(), json!({"b": 2, "d": 4})));
        assert!(check(pattern.clone(), json!({"a": 1})));
        assert!(!check(pattern, json!({"b": 2, "e": 5})));
    }

    // ----------------------------------------------------------- entry points

    #[test]
    fn the_convenience_matcher_refuses_invalid_patterns() {
        let event = json!({"source": "aws.ec2"});
        assert!(matches(&json!({"source": ["aws.ec2"]}), &event));
        assert!(!matches(&json!({"source": ["aws.s3"]}), &event));
        assert!(!matches(&json!({"source": "aws.ec2"}), &event));
        assert!(!matches(
            &json!({"source": [{"exists": false}], "x": []}),
            &json!({})
        ));
    }

    #[test]
    fn patterns_parse_from_text() {
        let pattern = Pattern::from_str(r#"{"detail": {"amount": [{"numeric": [">", 10]}]}}"#)
            .expect("valid");
        assert!(pattern.matches(&json!({"detail": {"amount": 11}})));
        assert!(!pattern.matches(&json!({"detail": {"amount": 10}})));
        let parsed: Pattern = r#"{"a": ["b"]}"#.parse().expect("valid");
        assert!(parsed.matches(&json!({"a": "b"})));
        let broken = Pattern::from_str("{").expect_err("not JSON");
        assert!(matches!(broken, PatternError::Json(_)));
        assert_eq!(broken.path(), None);
    }

    // ----------------------------------------------------------- validation

    #[test]
    fn rejects_a_pattern_that_is_not_an_object() {
        assert_eq!(error(json!(["source"])), "pattern: must be a JSON object");
        assert_eq!(error(json!("x")), "pattern: must be a JSON object");
    }

    #[test]
    fn rejects_empty_objects() {
        assert_eq!(error(json!({})), "pattern: empty objects are not allowed");
        assert_eq!(
            error(json!({"detail": {}})),
            "detail: empty objects are not allowed"
        );
    }

    #[test]
    fn rejects_a_leaf_that_is_not_an_array() {
        assert_eq!(
            error(json!({"source": "aws.ec2"})),
            "source: must be an object or an array of filters"
        );
        assert_eq!(
            error(json!({"detail": {"n": 42}})),
            "detail.n: must be an object or an array of filters"
        );
    }

    #[test]
    fn rejects_an_empty_filter_array() {
        assert_eq!(
            error(json!({"resources": []})),
            "resources: an empty array of filters is not allowed"
        );
    }

    #[test]
    fn rejects_an_array_among_filters() {
        rejects(&[json!({"a": [["x"]]})], "a: a filter must be");
    }

    #[test]
    fn rejects_unknown_or_miscased_operators() {
        let error =
            Pattern::parse(&json!({"d": {"e": [{"NUMERIC": ["=", 5]}]}})).expect_err("unknown");
        assert_eq!(error.path(), Some("d.e"));
        assert_eq!(error.to_string(), r#"d.e: unknown operator "NUMERIC""#);
        rejects(
            &[
                json!({"k": [{"EXISTS": true}]}),
                json!({"k": [{"exactly": "x"}]}),
            ],
            "unknown operator",
        );
    }

    #[test]
    fn rejects_zero_or_several_operators_in_one_filter() {
        assert_eq!(
            error(json!({"k": [{}]})),
            "k: a filter object needs exactly one operator, found 0"
        );
        assert_eq!(
            error(json!({"k": [{"prefix": "a", "suffix": "b"}]})),
            "k: a filter object needs exactly one operator, found 2"
        );
    }

    #[test]
    fn rejects_bad_prefix_and_suffix_operands() {
        let patterns = [
            json!({"t": [{"prefix": 123}]}),
            json!({"t": [{"prefix": ["2022"]}]}),
            json!({"t": [{"prefix": {"wildcard": "a"}}]}),
            json!({"t": [{"prefix": {"equals-ignore-case": 1}}]}),
            json!({"t": [{"suffix": [".png"]}]}),
        ];
        rejects(
            &patterns,
            "needs a string or {\"equals-ignore-case\": string}",
        );
    }

    #[test]
    fn rejects_bad_equals_ignore_case_operands() {
        let patterns = [
            json!({"t": [{"equals-ignore-case": ["a"]}]}),
            json!({"t": [{"equals-ignore-case": {"prefix": "a"}}]}),
        ];
        rejects(&patterns, "t: equals-ignore-case needs a string");
    }

    #[test]
    fn rejects_bad_wildcards() {
        rejects(
            &[
                json!({"t": [{"wildcard": 123}]}),
                json!({"t": [{"wildcard": ["a*"]}]}),
            ],
            "t: wildcard needs a string",
        );
        rejects(
            &[json!({"t": [{"wildcard": "arn:**:bus/*"}]})],
            "t: wildcard has consecutive * characters",
        );
        rejects(
            &[
                json!({"t": [{"wildcard": r"a\b"}]}),
                json!({"t": [{"wildcard": r"a\"}]}),
            ],
            "escapes neither",
        );
        assert!(Pattern::parse(&json!({"t": [{"wildcard": r"a\**"}]})).is_ok());
    }

    #[test]
    fn rejects_bad_anything_but_values() {
        let patterns = [
            json!({"s": [{"anything-but": null}]}),
            json!({"s": [{"anything-but": true}]}),
            json!({"s": [{"anything-but": ["stopped", null]}]}),
            json!({"s": [{"anything-but": ["stopped", 1]}]}),
            json!({"s": [{"anything-but": []}]}),
            json!({"s": [{"anything-but": {"regex": "a"}}]}),
            json!({"s": [{"anything-but": {"prefix": "a", "suffix": "b"}}]}),
        ];
        rejects(
            &patterns,
            "s: anything-but needs a string, a number, a list",
        );
    }

    #[test]
    fn rejects_bad_anything_but_string_operands() {
        rejects(
            &[json!({"s": [{"anything-but": {"prefix": ""}}]})],
            "s: anything-but/prefix must not be empty",
        );
        rejects(
            &[json!({"s": [{"anything-but": {"suffix": [".a", ""]}}]})],
            "s: anything-but/suffix must not be empty",
        );
        let patterns = [
            json!({"s": [{"anything-but": {"prefix": 123}}]}),
            json!({"s": [{"anything-but": {"prefix": {"equals-ignore-case": "a"}}}]}),
            json!({"s": [{"anything-but": {"suffix": [null, ".txt"]}}]}),
            json!({"s": [{"anything-but": {"equals-ignore-case": [123]}}]}),
            json!({"s": [{"anything-but": {"wildcard": []}}]}),
        ];
        rejects(&patterns, "needs a string or a non-empty list of strings");
        rejects(
            &[json!({"s": [{"anything-but": {"wildcard": "a**"}}]})],
            "anything-but/wildcard has consecutive",
        );
        assert!(Pattern::parse(&json!({"s": [{"anything-but": {"wildcard": ""}}]})).is_ok());
    }

    #[test]
    fn rejects_malformed_numeric_expressions() {
        let shape = [
            json!({"detail": {"amount": [{"numeric": 10}]}}),
            json!({"detail": {"amount": [{"numeric": []}]}}),
            json!({"detail": {"amount": [{"numeric": [">"]}]}}),
            json!({"detail": {"amount": [{"numeric": [">", "10"]}]}}),
            json!({"detail": {"amount": [{"numeric": [">", 0, "<"]}]}}),
            json!({"detail": {"amount": [{"numeric": [5, ">"]}]}}),
        ];
        rejects(
            &shape,
            "detail.amount: numeric needs an operator and a number",
        );
        rejects(
            &[json!({"n": [{"numeric": ["!=", 1]}]})],
            r#"n: numeric has unknown comparison "!=""#,
        );
        let order = [
            json!({"n": [{"numeric": [">", 0, ">", 0]}]}),
            json!({"n": [{"numeric": ["<", 5, ">", 1]}]}),
            json!({"n": [{"numeric": ["=", 1, "<", 2]}]}),
        ];
        rejects(
            &order,
            "range must be a lower bound (> or >=) then an upper bound (< or <=)",
        );
        rejects(
            &[json!({"n": [{"numeric": [">=", 5, "<=", 5]}]})],
            "lower bound must be below",
        );
        rejects(
            &[json!({"n": [{"numeric": [">", 0, "<", 5, "=", 3]}]})],
            "at most two comparisons",
        );
    }

    #[test]
    fn rejects_exists_without_a_boolean() {
        rejects(
            &[
                json!({"e": [{"exists": "true"}]}),
                json!({"e": [{"exists": 1}]}),
            ],
            "e: exists needs true or false",
        );
    }

    #[test]
    fn rejects_bad_cidr_blocks() {
        rejects(
            &[json!({"ip": [{"cidr": ["10.0.0.0/8"]}]})],
            "ip: cidr needs a string",
        );
        rejects(&[json!({"ip": [{"cidr": "bad-filter"}]})], "has no /mask");
        rejects(
            &[
                json!({"ip": [{"cidr": "xx.11.xx/8"}]}),
                json!({"ip": [{"cidr": "xxxx:db8::/64"}]}),
            ],
            "has no valid IP address",
        );
        rejects(
            &[
                json!({"ip": [{"cidr": "10.0.0.0/x"}]}),
                json!({"ip": [{"cidr": "10.0.0.0/8/8"}]}),
            ],
            "mask that is not a number",
        );
        rejects(
            &[
                json!({"ip": [{"cidr": "10.0.0.1/32"}]}),
                json!({"ip": [{"cidr": "10.0.0.0/33"}]}),
            ],
            "must be below /32",
        );
        rejects(
            &[json!({"ip": [{"cidr": "::1/128"}]})],
            "must be below /128",
        );
    }

    #[test]
    fn rejects_a_malformed_or() {
        let message = "$or needs an array of at least 2 objects";
        assert_eq!(
            error(json!({"$or": [{"a": [1]}]})),
            format!("$or: {message}")
        );
        assert_eq!(
            error(json!({"d": {"$or": {"a": [1]}}})),
            format!("d.$or: {message}")
        );
        assert_eq!(
            error(json!({"$or": [{"a": [1]}, "b"]})),
            "$or[1]: must be a JSON object"
        );
        assert_eq!(
            error(json!({"$or": [{"a": [1]}, {}]})),
            "$or[1]: empty objects are not allowed"
        );
    }

    #[test]
    fn rejects_operator_names_as_fields_inside_or() {
        let pattern = json!({"$or": [{"numeric": [123]}, {"d": {"prefix": ["abc"]}}]});
        assert_eq!(
            error(pattern),
            r#"$or[0]: "numeric" is an operator name, reserved inside $or"#
        );
        let nested = json!({"$or": [{"a": [1]}, {"d": {"prefix": ["abc"]}}]});
        assert_eq!(
            error(nested),
            r#"$or[1].d: "prefix" is an operator name, reserved inside $or"#
        );
        assert!(check(json!({"prefix": ["abc"]}), json!({"prefix": "abc"})));
    }

    #[test]
    fn errors_name_the_offending_path_inside_or() {
        let pattern = json!({"detail": {"$or": [{"a": [1]}, {"b": {"c": [{"cidr": 5}]}}]}});
        let error = Pattern::parse(&pattern).expect_err("bad cidr");
        assert_eq!(error.path(), Some("detail.$or[1].b.c"));
    }
}
