//! The parsed pattern, one type per piece of EventBridge's pattern
//! language, and how each piece matches an event's value.

use std::net::IpAddr;

use serde_json::{Map, Number, Value};

/// One object level: its keys (ANDed) and its `$or` alternatives, if any.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) fields: Vec<(String, Field)>,
    pub(crate) any_of: Vec<Node>,
}

#[derive(Debug, Clone)]
pub(crate) enum Field {
    Leaf(Vec<Filter>),
    Object(Node),
}

#[derive(Debug, Clone)]
pub(crate) enum Filter {
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
pub(crate) struct Affix {
    pub(crate) text: String,
    pub(crate) fold: bool,
}

#[derive(Debug, Clone)]
pub(crate) enum Exclusion {
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
pub(crate) struct Wildcard {
    pub(crate) runs: Vec<String>,
}

/// Each bound is a value and whether it is inclusive.
#[derive(Debug, Clone, Default)]
pub(crate) struct Range {
    pub(crate) low: Option<(f64, bool)>,
    pub(crate) high: Option<(f64, bool)>,
}

#[derive(Debug, Clone)]
pub(crate) struct Cidr {
    pub(crate) address: IpAddr,
    pub(crate) bits: u8,
}

// ----------------------------------------------------------------- matching

impl Node {
    /// Arrays are flattened to their objects, any one of which may match;
    /// a value with no object in it is matched as if every field were absent
    /// (so only `exists: false` leaves can still hold).
    pub(crate) fn matches(&self, value: Option<&Value>) -> bool {
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
    pub(crate) fn matches(&self, value: Option<&Value>) -> bool {
        match self {
            Field::Leaf(filters) => leaf_matches(filters, value),
            Field::Object(node) => node.matches(value),
        }
    }
}

pub(crate) fn leaf_matches(filters: &[Filter], value: Option<&Value>) -> bool {
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

pub(crate) fn collect_objects<'a>(value: &'a Value, out: &mut Vec<&'a Map<String, Value>>) {
    match value {
        Value::Object(object) => out.push(object),
        Value::Array(items) => items.iter().for_each(|item| collect_objects(item, out)),
        _ => {}
    }
}

pub(crate) fn collect_scalars<'a>(value: &'a Value, out: &mut Vec<&'a Value>) {
    match value {
        Value::Object(_) => {}
        Value::Array(items) => items.iter().for_each(|item| collect_scalars(item, out)),
        scalar => out.push(scalar),
    }
}

impl Filter {
    /// Whether this filter accepts one present, non-object event value.
    pub(crate) fn accepts(&self, value: &Value) -> bool {
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

pub(crate) fn same_scalar(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Number(expected), Value::Number(actual)) => same_number(expected, actual),
        _ => expected == actual,
    }
}

/// Integers compare exactly (an f64 would merge neighbouring account ids);
/// anything else compares as f64.
pub(crate) fn same_number(a: &Number, b: &Number) -> bool {
    if let (Some(a), Some(b)) = (a.as_i64(), b.as_i64()) {
        return a == b;
    }
    if let (Some(a), Some(b)) = (a.as_u64(), b.as_u64()) {
        return a == b;
    }
    a.as_f64() == b.as_f64()
}

pub(crate) fn ip(text: &str) -> Option<IpAddr> {
    text.parse().ok()
}

impl Affix {
    pub(crate) fn starts(&self, text: &str) -> bool {
        if self.fold {
            text.to_lowercase().starts_with(&self.text)
        } else {
            text.starts_with(&self.text)
        }
    }

    pub(crate) fn ends(&self, text: &str) -> bool {
        if self.fold {
            text.to_lowercase().ends_with(&self.text)
        } else {
            text.ends_with(&self.text)
        }
    }
}

impl Exclusion {
    pub(crate) fn excludes(&self, value: &Value) -> bool {
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
    pub(crate) fn matches(&self, text: &str) -> bool {
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
    pub(crate) fn contains(&self, number: f64) -> bool {
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
    pub(crate) fn contains(&self, address: IpAddr) -> bool {
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
pub(crate) fn same_prefix(a: u128, b: u128, width: u32, bits: u8) -> bool {
    let shift = width - u32::from(bits);
    a.checked_shr(shift).unwrap_or(0) == b.checked_shr(shift).unwrap_or(0)
}
