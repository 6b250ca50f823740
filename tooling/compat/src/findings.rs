//! What a comparison reports: the direction, the rule and a reason.

use std::fmt;

/// Which reader a finding breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Direction {
    /// A reader on the new schema cannot read some old event.
    Backward,
    /// A reader on the old schema cannot read some new event.
    Forward,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Backward => "backward",
            Direction::Forward => "forward",
        }
    }
}

/// The keyword whose comparison found the break.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    Type,
    Enum,
    Required,
    Property,
    AdditionalProperties,
    PatternProperties,
    PropertyNames,
    PropertyCount,
    Dependencies,
    Items,
    ItemCount,
    UniqueItems,
    Contains,
    Length,
    Pattern,
    Format,
    Content,
    Range,
    MultipleOf,
    AnyOf,
    OneOf,
    Not,
    Conditional,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Type => "type",
            Rule::Enum => "enum",
            Rule::Required => "required",
            Rule::Property => "properties",
            Rule::AdditionalProperties => "additionalProperties",
            Rule::PatternProperties => "patternProperties",
            Rule::PropertyNames => "propertyNames",
            Rule::PropertyCount => "minProperties/maxProperties",
            Rule::Dependencies => "dependencies",
            Rule::Items => "items",
            Rule::ItemCount => "minItems/maxItems",
            Rule::UniqueItems => "uniqueItems",
            Rule::Contains => "contains",
            Rule::Length => "minLength/maxLength",
            Rule::Pattern => "pattern",
            Rule::Format => "format",
            Rule::Content => "contentEncoding/contentMediaType",
            Rule::Range => "minimum/maximum",
            Rule::MultipleOf => "multipleOf",
            Rule::AnyOf => "anyOf",
            Rule::OneOf => "oneOf",
            Rule::Not => "not",
            Rule::Conditional => "if/then/else",
        }
    }
}

/// One way a reader fails on what a writer may send.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Finding {
    /// JSON path in the instance (`$.data.title`, `$.data.tags[]`).
    pub path: String,
    pub direction: Direction,
    pub rule: Rule,
    /// One line: what the writer may send that the reader rejects, and why.
    pub reason: String,
}

impl Finding {
    /// The finding as one JSON object (`path`, `direction`, `rule`,
    /// `reason`): what `schemas diff --json` prints, one per line.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "path": self.path,
            "direction": self.direction.as_str(),
            "rule": self.rule.as_str(),
            "reason": self.reason,
        })
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} [{}] {}: {}",
            self.path,
            self.direction.as_str(),
            self.rule.as_str(),
            self.reason
        )
    }
}

/// Something that is not a usable schema (an unresolvable `$ref`, an unknown
/// type name): the comparison cannot be trusted at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SchemaError(pub String);

/// A finding before its direction is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Break {
    pub(crate) path: String,
    pub(crate) rule: Rule,
    /// Written with `{R}` for the reader and `{W}` for what is written, so one
    /// comparison reads right in either direction.
    pub(crate) reason: String,
}

impl Break {
    pub(crate) fn new(path: &str, rule: Rule, reason: impl Into<String>) -> Self {
        Self {
            path: path.to_owned(),
            rule,
            reason: reason.into(),
        }
    }

    pub(crate) fn finish(self, direction: Direction) -> Finding {
        let (reader, writer) = match direction {
            Direction::Backward => ("the new schema", "old events"),
            Direction::Forward => ("the old schema", "new events"),
        };
        let mut reason = self.reason.replace("{R}", reader).replace("{W}", writer);
        if direction == Direction::Forward && self.rule == Rule::Enum {
            // serde rejects an unknown variant unless the enum has a catch-all.
            reason.push_str(
                "; a Rust consumer fails to deserialize the new value: publish a new version, and give its enum a `#[serde(other)]` catch-all with `#[schemars(transform = events::open_enum)]` so later values can be added in place",
            );
        }
        Finding {
            path: self.path,
            direction,
            rule: self.rule,
            reason,
        }
    }
}
