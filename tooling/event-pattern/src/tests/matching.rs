use serde_json::json;

use super::check;

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
    let pattern =
        json!({"state": [{"anything-but": {"equals-ignore-case": ["initializing", "stopped"]}}]});
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
