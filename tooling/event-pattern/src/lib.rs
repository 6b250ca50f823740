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
//!   list mixing strings and numbers, empty, or holding anything else, a
//!   malformed numeric range, an operator name used as a field name inside
//!   `$or`. Each refusal carries EventBridge's own reason
//!   ([`PatternError::aws_reason`]), held to the answers recorded against
//!   AWS in `fixtures/aws-recorded.json`.
//! - A dotted key is the nested field, on either side: `{"a.b": [1]}`
//!   matches `{"a": {"b": 1}}`, and `{"a": {"b": [1]}}` matches
//!   `{"a.b": 1}` (recorded against AWS).
//! - Too many wildcards on one field are refused as AWS refuses them ("Rule
//!   is too complex"). AWS's measure is its engine's machine complexity,
//!   with an unpublished limit; the model here counts the distinct prefixes
//!   that end in a `*` among one field's wildcard values and refuses five or
//!   more, which agrees with every answer known: `*:*:*:*:*:event-bus/*`
//!   refused (recorded), three `*:stack/<name>/*` values accepted and four
//!   refused (reported from a real deployment), one or two `*` accepted.
//! - Not modelled: the undocumented `exactly` operator (refused here).
//! - An event that is not a JSON object matches nothing.

mod complexity;
mod dotted;
mod matching;
mod parse;

use std::str::FromStr;

use serde_json::Value;

use matching::Node;
use parse::{parse_node, shown};

/// A parsed, validated pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    root: Node,
}

/// Why a pattern is invalid: what is wrong at which field, in this crate's
/// words (its `Display`), and the reason EventBridge gives for the same
/// pattern ([`PatternError::aws_reason`]).
#[derive(Debug, thiserror::Error)]
#[error("{problem}")]
pub struct PatternError {
    problem: Problem,
    aws: String,
}

/// What is wrong. Every variant but [`Problem::Json`] names the path of the
/// offending field (`pattern` for the top level).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Problem {
    #[error("pattern is not valid JSON: {0}")]
    Json(serde_json::Error),
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
    #[error("{path}: too many wildcards ({count} distinct wildcard prefixes, at most {limit})")]
    TooComplex {
        path: String,
        count: usize,
        limit: usize,
    },
}

impl Problem {
    /// With the reason EventBridge gives for it.
    pub(crate) fn aws(self, reason: impl Into<String>) -> PatternError {
        PatternError {
            problem: self,
            aws: reason.into(),
        }
    }
}

impl PatternError {
    /// The reason EventBridge gives for refusing such a pattern: the text
    /// after "Event pattern is not valid. Reason: " in its
    /// `InvalidEventPatternException`, without the parser's position.
    pub fn aws_reason(&self) -> &str {
        &self.aws
    }

    /// The path of the offending field; `None` for text that is not JSON.
    pub fn path(&self) -> Option<&str> {
        match &self.problem {
            Problem::Json(_) => None,
            Problem::NotAnObject { path }
            | Problem::EmptyObject { path }
            | Problem::NotObjectOrArray { path }
            | Problem::EmptyFilters { path }
            | Problem::BadFilter { path }
            | Problem::OperatorCount { path, .. }
            | Problem::UnknownOperator { path, .. }
            | Problem::BadOperand { path, .. }
            | Problem::BadOr { path }
            | Problem::ReservedInOr { path, .. }
            | Problem::TooComplex { path, .. } => Some(path),
        }
    }
}

impl Pattern {
    /// Validates `pattern` and keeps it ready for matching.
    pub fn parse(pattern: &Value) -> Result<Pattern, PatternError> {
        let object = pattern.as_object().ok_or_else(|| {
            Problem::NotAnObject { path: shown("") }.aws("Filter is not an object")
        })?;
        let root = parse_node(object, "", false)?;
        complexity::check(&root)?;
        Ok(Pattern { root })
    }

    /// Parses the pattern's JSON text. [`FromStr`] is implemented too
    /// (`text.parse::<Pattern>()`); this inherent twin needs no import.
    #[allow(clippy::should_implement_trait)]
    pub fn from_str(text: &str) -> Result<Pattern, PatternError> {
        let value = serde_json::from_str(text).map_err(|e| {
            let reason = e.to_string();
            Problem::Json(e).aws(reason)
        })?;
        Pattern::parse(&value)
    }

    /// Whether EventBridge would deliver `event` to a rule with this pattern.
    pub fn matches(&self, event: &Value) -> bool {
        if !event.is_object() {
            return false;
        }
        match dotted::expanded(event) {
            Some(expanded) => self.root.matches(Some(&expanded)),
            None => self.root.matches(Some(event)),
        }
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

#[cfg(test)]
mod tests;
