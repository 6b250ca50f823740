use serde_json::json;

use super::{check, error, rejects};
use crate::Pattern;

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
    let error = Pattern::parse(&json!({"d": {"e": [{"NUMERIC": ["=", 5]}]}})).expect_err("unknown");
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
        json!({"s": [{"anything-but": {"suffix": [null, ".txt"]}}]}),
        json!({"s": [{"anything-but": {"equals-ignore-case": [123]}}]}),
    ];
    rejects(&patterns, "needs a string or a list of strings");
    rejects(
        &[json!({"s": [{"anything-but": {"prefix": {"equals-ignore-case": "a"}}}]})],
        "s: anything-but needs a string, a number, a list",
    );
    // An empty list excludes nothing; AWS's engine takes it.
    assert!(Pattern::parse(&json!({"s": [{"anything-but": {"wildcard": []}}]})).is_ok());
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
    rejects(
        &[json!({"ip": [{"cidr": "bad-filter"}]})],
        "needs one /mask",
    );
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
            json!({"ip": [{"cidr": "10.0.0.0/+x"}]}),
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

/// AWS's reasons where no recorded answer covers them: the engine's words
/// (`fixtures/aws-recorded.json` holds the recorded ones).
#[test]
fn refusals_carry_the_engines_reasons() {
    let cases = [
        (
            json!({"n": [{"numeric": ["!=", 1]}]}),
            "Unrecognized numeric range operator: !=",
        ),
        (
            json!({"n": [{"numeric": []}]}),
            "Invalid member in numeric match: ]",
        ),
        (
            json!({"n": [{"numeric": ["=", "1"]}]}),
            "Value of equals must be numeric",
        ),
        (
            json!({"n": [{"numeric": [">=", 5, "<=", 5]}]}),
            "Bottom must be less than top",
        ),
        (
            json!({"n": [{"numeric": [">", 0, "<", 5, "=", 3]}]}),
            "Too many terms in numeric range expression",
        ),
        (
            json!({"n": [{"numeric": ["<", 5, ">", 1]}]}),
            "Too many elements in numeric expression",
        ),
        (
            json!({"ip": [{"cidr": "10.0.0.0/8/8"}]}),
            "Malformed CIDR, one '/' required",
        ),
        (
            json!({"ip": [{"cidr": "10.0.0.1/32"}]}),
            "IPv4 mask bits must be < 32",
        ),
        (json!({"k": [{}]}), "Match expression name not found"),
        (
            json!({"k": [{"prefix": "a", "suffix": "b"}]}),
            "Only one key allowed in match expression",
        ),
        (
            json!({"k": [["x"]]}),
            "Match value must be String, number, true, false, or null",
        ),
        (
            json!({"e": [{"exists": 1}]}),
            "exists match pattern must be either true or false.",
        ),
        (
            json!({"$or": [{"a": [1]}]}),
            "There must have at least 2 Objects in $or relationship.",
        ),
        (
            json!({"$or": {"a": [1]}}),
            "It must be an Array followed with $or.",
        ),
        (
            json!({"$or": [{"a": [1]}, "b"]}),
            "Only JSON object is allowed in array of $or relationship.",
        ),
        (
            json!({"t": [{"wildcard": r"a\b"}]}),
            "Invalid escape character at pos 2",
        ),
        (
            json!({"s": [{"anything-but": ["a", 1]}]}),
            "Inside anything but list, either all values are number or string, mixed type is not supported",
        ),
        (
            json!({"s": [{"anything-but": {"regex": "a"}}]}),
            "Unsupported anything-but pattern: regex",
        ),
        (
            json!({"t": [{"prefix": {"wildcard": "a"}}]}),
            "Unsupported prefix pattern: wildcard",
        ),
    ];
    for (pattern, reason) in cases {
        let error = Pattern::parse(&pattern).expect_err("refused");
        assert_eq!(error.aws_reason(), reason, "{pattern}");
    }
}

#[test]
fn too_many_wildcards_on_one_field_are_too_complex() {
    let stacks = |n: usize| {
        let values: Vec<_> = (0..n)
            .map(|i| json!({"wildcard": format!("*:stack/s{i}/*")}))
            .collect();
        json!({"resources": values})
    };
    assert!(Pattern::parse(&stacks(3)).is_ok());
    let error = Pattern::parse(&stacks(4)).expect_err("too complex");
    assert!(
        error.aws_reason().starts_with("Rule is too complex"),
        "{error}"
    );
    assert_eq!(error.path(), Some("resources"));
    // Spread over two fields, the same wildcards are fine.
    let spread = json!({"a": [{"wildcard": "*:*:*"}], "b": [{"wildcard": "*:*:*"}]});
    assert!(Pattern::parse(&spread).is_ok());
}

#[test]
fn a_dotted_key_is_the_nested_field() {
    assert!(check(
        json!({"d": {"s.t": ["on"]}}),
        json!({"d": {"s": {"t": "on"}}})
    ));
    assert!(check(
        json!({"d": {"s": {"t": ["on"]}}}),
        json!({"d": {"s.t": "on"}})
    ));
    assert!(!check(
        json!({"d": {"s.t": ["on"]}}),
        json!({"d": {"s": {"u": "on"}}})
    ));
    assert!(check(
        json!({"a.b": [1], "a": {"c": [2]}}),
        json!({"a": {"b": 1, "c": 2}})
    ));
}
