//! A pattern's JSON read into the model, refusing what AWS refuses, each
//! error naming the offending field's path.

use serde_json::{Map, Value};

use crate::PatternError;
use crate::matching::*;

/// Operator names the engine refuses as field names inside `$or`, where a
/// typo would otherwise silently become a field.
pub(crate) const RESERVED_IN_OR: &[&str] = &[
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

pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

pub(crate) fn shown(path: &str) -> String {
    if path.is_empty() {
        "pattern".to_owned()
    } else {
        path.to_owned()
    }
}

pub(crate) fn bad(path: &str, operator: &str, reason: impl Into<String>) -> PatternError {
    PatternError::BadOperand {
        path: shown(path),
        operator: operator.to_owned(),
        reason: reason.into(),
    }
}

pub(crate) fn parse_node(
    object: &Map<String, Value>,
    path: &str,
    in_or: bool,
) -> Result<Node, PatternError> {
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

pub(crate) fn parse_or(value: &Value, path: &str) -> Result<Vec<Node>, PatternError> {
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

pub(crate) fn parse_field(value: &Value, path: &str, in_or: bool) -> Result<Field, PatternError> {
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

pub(crate) fn parse_filter(filter: &Value, path: &str) -> Result<Filter, PatternError> {
    match filter {
        Value::String(text) => {
            Ok(ip(text).map_or_else(|| Filter::Equals(filter.clone()), Filter::Address))
        }
        Value::Number(_) | Value::Bool(_) | Value::Null => Ok(Filter::Equals(filter.clone())),
        Value::Array(_) => Err(PatternError::BadFilter { path: shown(path) }),
        Value::Object(operator) => parse_operator(operator, path),
    }
}

pub(crate) fn parse_operator(
    object: &Map<String, Value>,
    path: &str,
) -> Result<Filter, PatternError> {
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

pub(crate) fn parse_text<'a>(
    operator: &str,
    operand: &'a Value,
    path: &str,
) -> Result<&'a str, PatternError> {
    operand
        .as_str()
        .ok_or_else(|| bad(path, operator, "needs a string"))
}

pub(crate) fn parse_affix(
    operator: &str,
    operand: &Value,
    path: &str,
) -> Result<Affix, PatternError> {
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

pub(crate) fn parse_wildcard(
    operator: &str,
    operand: &Value,
    path: &str,
) -> Result<Wildcard, PatternError> {
    let text = parse_text(operator, operand, path)?;
    Wildcard::parse(text).map_err(|reason| bad(path, operator, reason))
}

impl Wildcard {
    pub(crate) fn parse(text: &str) -> Result<Wildcard, &'static str> {
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

pub(crate) const ANYTHING_BUT_SHAPES: &str = "needs a string, a number, a list of only strings or only numbers, or an object with one of prefix, suffix, equals-ignore-case, wildcard";

pub(crate) fn parse_exclusion(operand: &Value, path: &str) -> Result<Exclusion, PatternError> {
    match operand {
        Value::String(_) | Value::Number(_) => Ok(Exclusion::Values(vec![operand.clone()])),
        Value::Array(values) => parse_excluded_values(values, path).map(Exclusion::Values),
        Value::Object(object) if object.len() == 1 => parse_excluded_texts(object, path),
        _ => Err(bad(path, "anything-but", ANYTHING_BUT_SHAPES)),
    }
}

pub(crate) fn parse_excluded_values(
    values: &[Value],
    path: &str,
) -> Result<Vec<Value>, PatternError> {
    let all_strings = values.iter().all(Value::is_string);
    let all_numbers = values.iter().all(Value::is_number);
    if values.is_empty() || !(all_strings || all_numbers) {
        return Err(bad(path, "anything-but", ANYTHING_BUT_SHAPES));
    }
    Ok(values.to_vec())
}

pub(crate) fn parse_excluded_texts(
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
pub(crate) fn parse_texts(
    operator: &str,
    operand: &Value,
    path: &str,
) -> Result<Vec<String>, PatternError> {
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

pub(crate) fn parse_range(operand: &Value, path: &str) -> Result<Range, PatternError> {
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

pub(crate) fn parse_comparison<'a>(
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

pub(crate) fn one_bound((operator, number): (&str, f64)) -> Range {
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

pub(crate) fn two_bounds(
    low: (&str, f64),
    high: (&str, f64),
    path: &str,
) -> Result<Range, PatternError> {
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

pub(crate) fn parse_cidr(operand: &Value, path: &str) -> Result<Cidr, PatternError> {
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
