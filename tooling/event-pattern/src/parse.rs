//! A pattern's JSON read into the model, refusing what AWS refuses, each
//! error naming the offending field's path and carrying EventBridge's own
//! reason (its engine's words, in the order its parser finds them).

use serde_json::{Map, Value};

use crate::matching::*;
use crate::{PatternError, Problem};

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

pub(crate) fn bad(
    path: &str,
    operator: &str,
    reason: impl Into<String>,
    aws: impl Into<String>,
) -> PatternError {
    Problem::BadOperand {
        path: shown(path),
        operator: operator.to_owned(),
        reason: reason.into(),
    }
    .aws(aws)
}

/// How EventBridge's parser names a JSON token in its reasons.
fn token(value: Option<&Value>) -> String {
    match value {
        None => "]".to_owned(),
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(_)) => "[".to_owned(),
        Some(Value::Object(_)) => "{".to_owned(),
        Some(other) => other.to_string(),
    }
}

pub(crate) fn parse_node(
    object: &Map<String, Value>,
    path: &str,
    in_or: bool,
) -> Result<Node, PatternError> {
    if object.is_empty() {
        let problem = Problem::EmptyObject { path: shown(path) };
        return Err(problem.aws("Empty objects are not allowed"));
    }
    let mut node = Node {
        fields: Vec::with_capacity(object.len()),
        any_of: Vec::new(),
    };
    for (key, value) in object {
        if key == "$or" {
            node.any_of = parse_or(value, &join(path, key))?;
        } else if in_or && RESERVED_IN_OR.contains(&key.as_str()) {
            let aws = format!("{key} is Ruler reserved fieldName which cannot be used inside $or.");
            let (path, key) = (shown(path), key.clone());
            return Err(Problem::ReservedInOr { path, key }.aws(aws));
        } else {
            let field = parse_field(key, value, &join(path, key), in_or)?;
            node.fields.push(nested(key, field));
        }
    }
    Ok(node)
}

/// A dotted key is the nested field it names: `"a.b": x` is `"a": {"b": x}`.
fn nested(key: &str, field: Field) -> (String, Field) {
    let mut parts = key.rsplit('.');
    let last = parts.next().unwrap_or(key).to_owned();
    parts.fold((last, field), |(inner, field), outer| {
        let node = Node {
            fields: vec![(inner, field)],
            any_of: Vec::new(),
        };
        (outer.to_owned(), Field::Object(node))
    })
}

pub(crate) fn parse_or(value: &Value, path: &str) -> Result<Vec<Node>, PatternError> {
    let Some(alternatives) = value.as_array() else {
        let problem = Problem::BadOr { path: shown(path) };
        return Err(problem.aws("It must be an Array followed with $or."));
    };
    let parse = |(index, alternative): (usize, &Value)| {
        let path = format!("{path}[{index}]");
        let object = alternative.as_object().ok_or_else(|| {
            Problem::NotAnObject { path: path.clone() }
                .aws("Only JSON object is allowed in array of $or relationship.")
        })?;
        parse_node(object, &path, true)
    };
    let nodes = alternatives
        .iter()
        .enumerate()
        .map(parse)
        .collect::<Result<Vec<_>, _>>()?;
    if nodes.len() < 2 {
        let problem = Problem::BadOr { path: shown(path) };
        return Err(problem.aws("There must have at least 2 Objects in $or relationship."));
    }
    Ok(nodes)
}

pub(crate) fn parse_field(
    key: &str,
    value: &Value,
    path: &str,
    in_or: bool,
) -> Result<Field, PatternError> {
    match value {
        Value::Object(object) => Ok(Field::Object(parse_node(object, path, in_or)?)),
        Value::Array(filters) if filters.is_empty() => {
            let problem = Problem::EmptyFilters { path: shown(path) };
            Err(problem.aws("Empty arrays are not allowed"))
        }
        Value::Array(filters) => filters
            .iter()
            .map(|filter| parse_filter(filter, path))
            .collect::<Result<_, _>>()
            .map(Field::Leaf),
        _ => {
            let problem = Problem::NotObjectOrArray { path: shown(path) };
            Err(problem.aws(format!("\"{key}\" must be an object or an array")))
        }
    }
}

pub(crate) fn parse_filter(filter: &Value, path: &str) -> Result<Filter, PatternError> {
    match filter {
        Value::String(text) => {
            Ok(ip(text).map_or_else(|| Filter::Equals(filter.clone()), Filter::Address))
        }
        Value::Number(_) | Value::Bool(_) | Value::Null => Ok(Filter::Equals(filter.clone())),
        Value::Array(_) => Err(Problem::BadFilter { path: shown(path) }
            .aws("Match value must be String, number, true, false, or null")),
        Value::Object(operator) => parse_operator(operator, path),
    }
}

pub(crate) fn parse_operator(
    object: &Map<String, Value>,
    path: &str,
) -> Result<Filter, PatternError> {
    let mut entries = object.iter();
    let Some((operator, operand)) = entries.next() else {
        let problem = Problem::OperatorCount {
            path: shown(path),
            count: 0,
        };
        return Err(problem.aws("Match expression name not found"));
    };
    let filter = one_operator(operator, operand, path)?;
    if entries.next().is_some() {
        let problem = Problem::OperatorCount {
            path: shown(path),
            count: object.len(),
        };
        let aws = match operator.as_str() {
            "numeric" | "anything-but" => "Too many elements in numeric expression",
            _ => "Only one key allowed in match expression",
        };
        return Err(problem.aws(aws));
    }
    Ok(filter)
}

fn one_operator(operator: &str, operand: &Value, path: &str) -> Result<Filter, PatternError> {
    match operator {
        "prefix" => parse_affix(operator, operand, path).map(Filter::Prefix),
        "suffix" => parse_affix(operator, operand, path).map(Filter::Suffix),
        "equals-ignore-case" => parse_text(operator, operand, path)
            .map(|text| Filter::EqualsIgnoreCase(text.to_lowercase())),
        "wildcard" => parse_wildcard(operator, operand, path).map(Filter::Wildcard),
        "anything-but" => parse_exclusion(operand, path).map(Filter::AnythingBut),
        "numeric" => parse_range(operand, path).map(Filter::Numeric),
        "exists" => operand.as_bool().map(Filter::Exists).ok_or_else(|| {
            bad(
                path,
                operator,
                "needs true or false",
                "exists match pattern must be either true or false.",
            )
        }),
        "cidr" => parse_cidr(operand, path).map(Filter::Cidr),
        _ => {
            let aws = format!("Unrecognized match type {operator}");
            let problem = Problem::UnknownOperator {
                path: shown(path),
                operator: operator.to_owned(),
            };
            Err(problem.aws(aws))
        }
    }
}

/// `prefix`, `suffix`, `equals-ignore-case` and `wildcard` share AWS's
/// "<operator> match pattern must be a string".
fn not_a_string(path: &str, operator: &str, reason: &str) -> PatternError {
    bad(
        path,
        operator,
        reason,
        format!("{operator} match pattern must be a string"),
    )
}

pub(crate) fn parse_text<'a>(
    operator: &str,
    operand: &'a Value,
    path: &str,
) -> Result<&'a str, PatternError> {
    operand
        .as_str()
        .ok_or_else(|| not_a_string(path, operator, "needs a string"))
}

pub(crate) fn parse_affix(
    operator: &str,
    operand: &Value,
    path: &str,
) -> Result<Affix, PatternError> {
    const SHAPE: &str = r#"needs a string or {"equals-ignore-case": string}"#;
    match operand {
        Value::String(text) => Ok(Affix {
            text: text.clone(),
            fold: false,
        }),
        Value::Object(object) => {
            let mut entries = object.iter();
            let Some((inner, value)) = entries.next() else {
                let name = if operator == "prefix" {
                    "Prefix"
                } else {
                    "Suffix"
                };
                return Err(bad(
                    path,
                    operator,
                    SHAPE,
                    format!("{name} expression name not found"),
                ));
            };
            if inner != "equals-ignore-case" {
                return Err(bad(
                    path,
                    operator,
                    SHAPE,
                    format!("Unsupported {operator} pattern: {inner}"),
                ));
            }
            let Some(text) = value.as_str() else {
                return Err(not_a_string(path, "equals-ignore-case", SHAPE));
            };
            if entries.next().is_some() {
                return Err(bad(
                    path,
                    operator,
                    SHAPE,
                    "Only one key allowed in match expression",
                ));
            }
            Ok(Affix {
                text: text.to_lowercase(),
                fold: true,
            })
        }
        _ => Err(not_a_string(path, operator, SHAPE)),
    }
}

pub(crate) fn parse_wildcard(
    operator: &str,
    operand: &Value,
    path: &str,
) -> Result<Wildcard, PatternError> {
    let text = parse_text(operator, operand, path)?;
    Wildcard::parse(text).map_err(|(reason, aws)| bad(path, operator, reason, aws))
}

impl Wildcard {
    /// The pattern, or (this crate's reason, AWS's). AWS counts positions
    /// in bytes from the value's opening quote.
    pub(crate) fn parse(text: &str) -> Result<Wildcard, (&'static str, String)> {
        let (mut runs, mut run) = (Vec::new(), String::new());
        let mut chars = text.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            match c {
                '*' if chars.peek().is_some_and(|(_, next)| *next == '*') => {
                    let aws = format!("Consecutive wildcard characters at pos {}", at + 1);
                    return Err(("has consecutive * characters", aws));
                }
                '*' => runs.push(std::mem::take(&mut run)),
                '\\' => match chars.next() {
                    Some((_, escaped @ ('*' | '\\'))) => run.push(escaped),
                    _ => {
                        let aws = format!("Invalid escape character at pos {}", at + 1);
                        return Err((r"has a \ that escapes neither * nor \", aws));
                    }
                },
                c => run.push(c),
            }
        }
        runs.push(run);
        Ok(Wildcard { runs })
    }
}

pub(crate) const ANYTHING_BUT_SHAPES: &str = "needs a string, a number, a list of only strings or only numbers, or an object with one of prefix, suffix, equals-ignore-case, wildcard";

const ANYTHING_BUT_VALUE: &str =
    "Value of anything-but must be an array or single string/number value.";

pub(crate) fn parse_exclusion(operand: &Value, path: &str) -> Result<Exclusion, PatternError> {
    let shape = |aws: &str| bad(path, "anything-but", ANYTHING_BUT_SHAPES, aws);
    match operand {
        Value::String(_) | Value::Number(_) => Ok(Exclusion::Values(vec![operand.clone()])),
        Value::Array(values) => parse_excluded_values(values, path).map(Exclusion::Values),
        Value::Object(object) => {
            let mut entries = object.iter();
            let Some((inner, value)) = entries.next() else {
                return Err(shape("Anything-But expression name not found"));
            };
            if !matches!(
                inner.as_str(),
                "prefix" | "suffix" | "equals-ignore-case" | "wildcard"
            ) {
                return Err(shape(&format!("Unsupported anything-but pattern: {inner}")));
            }
            if !(value.is_array() || value.is_string() || value.is_number()) {
                return Err(shape(ANYTHING_BUT_VALUE));
            }
            let exclusion = parse_excluded_texts(inner, value, path)?;
            if entries.next().is_some() {
                return Err(shape("Too many elements in numeric expression"));
            }
            Ok(exclusion)
        }
        Value::Null | Value::Bool(_) => Err(shape(ANYTHING_BUT_VALUE)),
    }
}

pub(crate) fn parse_excluded_values(
    values: &[Value],
    path: &str,
) -> Result<Vec<Value>, PatternError> {
    if !values.iter().all(|v| v.is_string() || v.is_number()) {
        let aws = "Inside anything but list, start|null|boolean is not supported.";
        return Err(bad(path, "anything-but", ANYTHING_BUT_SHAPES, aws));
    }
    let all_strings = values.iter().all(Value::is_string);
    let all_numbers = values.iter().all(Value::is_number);
    if values.is_empty() || !(all_strings || all_numbers) {
        let aws = "Inside anything but list, either all values are number or string, mixed type is not supported";
        return Err(bad(path, "anything-but", ANYTHING_BUT_SHAPES, aws));
    }
    Ok(values.to_vec())
}

/// `anything-but`'s `prefix`, `suffix`, `equals-ignore-case` or `wildcard`
/// with a string or a list of them (an empty list excludes nothing, and
/// AWS's engine accepts it).
pub(crate) fn parse_excluded_texts(
    inner: &str,
    operand: &Value,
    path: &str,
) -> Result<Exclusion, PatternError> {
    let operator = format!("anything-but/{inner}");
    let items = match operand {
        Value::Array(items) => items.as_slice(),
        single => std::slice::from_ref(single),
    };
    let mut texts = Vec::with_capacity(items.len());
    for item in items {
        let Some(text) = item.as_str() else {
            let aws = match inner {
                "equals-ignore-case" => {
                    "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported."
                }
                "wildcard" => "wildcard match pattern must be a string",
                _ => "prefix/suffix match pattern must be a string",
            };
            return Err(bad(
                path,
                &operator,
                "needs a string or a list of strings",
                aws,
            ));
        };
        if matches!(inner, "prefix" | "suffix") && text.is_empty() {
            return Err(bad(
                path,
                &operator,
                "must not be empty",
                "Null prefix/suffix not allowed",
            ));
        }
        texts.push(text.to_owned());
    }
    Ok(match inner {
        "prefix" => Exclusion::Prefixes(texts),
        "suffix" => Exclusion::Suffixes(texts),
        "equals-ignore-case" => Exclusion::Folded(texts.iter().map(|t| t.to_lowercase()).collect()),
        _ => Exclusion::Wildcards(
            texts
                .iter()
                .map(|text| Wildcard::parse(text))
                .collect::<Result<_, _>>()
                .map_err(|(reason, aws)| bad(path, &operator, reason, aws))?,
        ),
    })
}

const NUMERIC_SHAPE: &str = "needs an operator and a number";

/// `numeric`'s array, read as EventBridge's parser reads it: an operator
/// and a number, then for a lower bound optionally an upper one.
pub(crate) fn parse_range(operand: &Value, path: &str) -> Result<Range, PatternError> {
    let fail = |reason: &str, aws: String| Err(bad(path, "numeric", reason, aws));
    let Some(terms) = operand.as_array() else {
        return fail(
            NUMERIC_SHAPE,
            "Value of numeric must be an array.".to_owned(),
        );
    };
    let Some(operator) = terms.first().and_then(Value::as_str) else {
        return fail(
            NUMERIC_SHAPE,
            format!("Invalid member in numeric match: {}", token(terms.first())),
        );
    };
    let number = terms
        .get(1)
        .and_then(|n| n.as_f64().filter(|_| n.is_number()));
    let shown_operator = if operator == "=" { "equals" } else { operator };
    let Some(number) = number.filter(|_| matches!(operator, "=" | "<" | "<=" | ">" | ">=")) else {
        if !matches!(operator, "=" | "<" | "<=" | ">" | ">=") {
            let aws = format!("Unrecognized numeric range operator: {operator}");
            return fail(&format!("has unknown comparison {operator:?}"), aws);
        }
        return fail(
            NUMERIC_SHAPE,
            format!("Value of {shown_operator} must be numeric"),
        );
    };
    let low = matches!(operator, ">" | ">=");
    match terms.len() {
        2 => Ok(one_bound((operator, number))),
        _ if !low => fail(
            "range must be a lower bound (> or >=) then an upper bound (< or <=)",
            "Too many elements in numeric expression".to_owned(),
        ),
        _ => upper_bound((operator, number), &terms[2..], path),
    }
}

fn upper_bound(low: (&str, f64), rest: &[Value], path: &str) -> Result<Range, PatternError> {
    const ORDER: &str = "range must be a lower bound (> or >=) then an upper bound (< or <=)";
    let fail = |reason: &str, aws: String| Err(bad(path, "numeric", reason, aws));
    let Some(operator) = rest.first().and_then(Value::as_str) else {
        return fail(
            NUMERIC_SHAPE,
            format!("Bad value in numeric range: {}", token(rest.first())),
        );
    };
    if !matches!(operator, "<" | "<=") {
        return fail(ORDER, format!("Bad numeric range operator: {operator}"));
    }
    let Some(number) = rest
        .get(1)
        .and_then(|n| n.as_f64().filter(|_| n.is_number()))
    else {
        return fail(
            NUMERIC_SHAPE,
            format!("Value of {operator} must be numeric"),
        );
    };
    if rest.len() > 2 {
        let aws = "Too many terms in numeric range expression".to_owned();
        return fail("takes at most two comparisons", aws);
    }
    if low.1 >= number {
        let aws = "Bottom must be less than top".to_owned();
        return fail("range's lower bound must be below its upper bound", aws);
    }
    Ok(Range {
        low: one_bound(low).low,
        high: one_bound((operator, number)).high,
    })
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

/// A block, checked in the order EventBridge's engine checks it: one `/`,
/// an integer mask, then the address, then the mask's width (the engine
/// refuses a single-address block: match the address as an exact value).
pub(crate) fn parse_cidr(operand: &Value, path: &str) -> Result<Cidr, PatternError> {
    let fail = |reason: String, aws: String| Err(bad(path, "cidr", reason, aws));
    let Some(text) = operand.as_str() else {
        let reason = r#"needs a string like "10.0.0.0/24""#.to_owned();
        return fail(reason, "prefix match pattern must be a string".to_owned());
    };
    // As Java's split: trailing empty parts are dropped.
    let mut parts: Vec<&str> = text.split('/').collect();
    while parts.len() > 1 && parts.last() == Some(&"") {
        parts.pop();
    }
    let [address, bits] = parts.as_slice() else {
        return fail(
            format!("{text:?} needs one /mask"),
            "Malformed CIDR, one '/' required".to_owned(),
        );
    };
    let Ok(bits) = bits.parse::<i32>() else {
        let aws = "Malformed CIDR, mask bits must be an integer".to_owned();
        return fail(format!("{text:?} has a mask that is not a number"), aws);
    };
    if bits < 0 {
        let aws = "Malformed CIDR, mask bits must not be negative".to_owned();
        return fail(format!("{text:?} has a negative mask"), aws);
    }
    let Some(address) = ip(address) else {
        let aws = format!("Nonstandard IP address: {address}");
        return fail(format!("{text:?} has no valid IP address"), aws);
    };
    let (width, family) = if address.is_ipv4() {
        (32, "IPv4")
    } else {
        (128, "IPv6")
    };
    if bits >= width {
        let reason = format!(
            "mask /{bits} must be below /{width} (AWS rejects a single-address block: match the address as an exact value)"
        );
        return fail(reason, format!("{family} mask bits must be < {width}"));
    }
    Ok(Cidr {
        address,
        bits: bits as u8,
    })
}
