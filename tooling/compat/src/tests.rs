//! One test per rule.

use super::*;
use serde_json::json;

use Direction::{Backward as B, Forward as F};

fn run(old: &Value, new: &Value, mode: Mode, policy: Policy) -> Vec<(String, Direction, Rule)> {
    compare(old, new, mode, policy)
        .unwrap()
        .into_iter()
        .map(|f| (f.path, f.direction, f.rule))
        .collect()
}

/// Pure inclusion, both directions.
fn strict(old: Value, new: Value) -> Vec<(String, Direction, Rule)> {
    run(&old, &new, Mode::Full, Policy::Strict)
}

fn lenient(old: Value, new: Value) -> Vec<(String, Direction, Rule)> {
    run(&old, &new, Mode::Full, Policy::Lenient)
}

fn at(path: &str, d: Direction, rule: Rule) -> (String, Direction, Rule) {
    (path.to_owned(), d, rule)
}

/// An event-shaped schema as schemars writes it.
fn event() -> Value {
    json!({
        "type": "object",
        "required": ["metadata", "data"],
        "properties": {
            "metadata": {"type": "object", "properties": {"event_id": {"type": "string", "format": "uuid"}}, "required": ["event_id"]},
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

fn edit(f: impl FnOnce(&mut Value)) -> Value {
    let mut v = event();
    f(&mut v);
    v
}

#[test]
fn identical_schemas_are_compatible_in_every_mode_and_policy() {
    assert!(strict(event(), event()).is_empty());
    assert!(lenient(event(), event()).is_empty());
}

#[test]
fn integer_sits_inside_number() {
    let (i, n) = (json!({"type": "integer"}), json!({"type": "number"}));
    assert!(run(&i, &n, Mode::Backward, Policy::Strict).is_empty());
    assert_eq!(strict(i, n), [at("$", F, Rule::Type)]);
}

#[test]
fn dropping_null_breaks_old_events_that_carried_it() {
    let new = edit(|v| v["$defs"]["Data"]["properties"]["note"]["type"] = json!("string"));
    assert_eq!(lenient(event(), new), [at("$.data.note", B, Rule::Type)]);
}

#[test]
fn changing_a_type_breaks_both_ways() {
    let new = edit(|v| v["$defs"]["Data"]["properties"]["title"]["type"] = json!("integer"));
    assert_eq!(
        lenient(event(), new),
        [
            at("$.data.title", B, Rule::Type),
            at("$.data.title", F, Rule::Type)
        ]
    );
}

#[test]
fn an_enum_value_added_breaks_old_rust_readers_and_says_how_to_avoid_it() {
    let new = edit(|v| v["$defs"]["Kind"]["enum"] = json!(["a", "b", "c"]));
    let found = compare(&event(), &new, Mode::Full, Policy::Lenient).unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].direction, found[0].rule), (F, Rule::Enum));
    assert_eq!(found[0].path, "$.data.kind");
    assert!(found[0].reason.contains("\"c\""), "{}", found[0].reason);
    assert!(
        found[0].reason.contains("#[serde(other)]"),
        "{}",
        found[0].reason
    );
    // A replay reader on the new schema reads old events fine.
    assert!(run(&event(), &new, Mode::Backward, Policy::Lenient).is_empty());
}

#[test]
fn an_enum_value_removed_breaks_replays() {
    let new = edit(|v| v["$defs"]["Kind"]["enum"] = json!(["a"]));
    assert_eq!(lenient(event(), new), [at("$.data.kind", B, Rule::Enum)]);
}

#[test]
fn const_is_an_enum_of_one() {
    let c = json!({"const": "x"});
    let e = json!({"enum": ["x"]});
    assert!(strict(c.clone(), e).is_empty());
    assert_eq!(
        strict(c, json!({"const": "y"})),
        [at("$", B, Rule::Enum), at("$", F, Rule::Enum)]
    );
}

#[test]
fn required_matters_in_the_direction_that_reads_it() {
    let newly = edit(|v| v["$defs"]["Data"]["required"] = json!(["id", "title", "note"]));
    assert_eq!(
        lenient(event(), newly),
        [at("$.data.note", B, Rule::Required)]
    );
    let dropped = edit(|v| v["$defs"]["Data"]["required"] = json!(["id"]));
    assert_eq!(
        lenient(event(), dropped),
        [at("$.data.title", F, Rule::Required)]
    );
}

#[test]
fn a_removed_required_property_breaks_old_readers() {
    let new = edit(|v| {
        let data = &mut v["$defs"]["Data"];
        data["properties"].as_object_mut().unwrap().remove("title");
        data["required"] = json!(["id"]);
    });
    assert_eq!(
        lenient(event(), new),
        [at("$.data.title", F, Rule::Required)]
    );
}

#[test]
fn optional_properties_come_and_go_freely_only_when_writers_are_generated() {
    let added = edit(|v| {
        v["$defs"]["Data"]["properties"]["extra"] = json!({"type": "integer"});
    });
    assert!(lenient(event(), added.clone()).is_empty());
    // Strictly, an open object accepted {"extra": "text"} before.
    assert_eq!(
        strict(event(), added),
        [
            at("$.data.extra", B, Rule::Type),
            at("$.data.extra", B, Rule::Type)
        ]
    );

    let dropped = edit(|v| {
        v["$defs"]["Data"]["properties"]
            .as_object_mut()
            .unwrap()
            .remove("note");
    });
    assert!(lenient(event(), dropped.clone()).is_empty());
    assert_eq!(strict(event(), dropped), [at("$.data.note", F, Rule::Type)]);
}

#[test]
fn maps_stay_open_under_the_lenient_policy() {
    let old = json!({"type": "object", "additionalProperties": {"type": "string"}});
    let new = json!({"type": "object", "additionalProperties": {"type": "string", "maxLength": 3}});
    assert_eq!(lenient(old, new), [at("$.*", B, Rule::Length)]);
}

#[test]
fn closing_additional_properties_breaks_replays_and_opening_breaks_old_readers() {
    let closed = edit(|v| v["$defs"]["Data"]["additionalProperties"] = json!(false));
    assert_eq!(
        strict(event(), closed.clone()),
        [at("$.data.*", B, Rule::AdditionalProperties)]
    );
    assert_eq!(
        strict(closed, event()),
        [at("$.data.*", F, Rule::AdditionalProperties)]
    );
    let unevaluated = edit(|v| v["$defs"]["Data"]["unevaluatedProperties"] = json!(false));
    assert_eq!(
        strict(event(), unevaluated),
        [at("$.data.*", B, Rule::AdditionalProperties)]
    );
}

#[test]
fn items_and_prefix_items_compare_position_by_position() {
    let new =
        edit(|v| v["$defs"]["Data"]["properties"]["tags"]["items"] = json!({"type": "integer"}));
    assert_eq!(
        lenient(event(), new),
        [
            at("$.data.tags[]", B, Rule::Type),
            at("$.data.tags[]", F, Rule::Type)
        ]
    );
    let pair = json!({"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "items": false});
    let one = json!({"type": "array", "prefixItems": [{"type": "string"}], "items": false});
    assert_eq!(strict(pair, one), [at("$[1]", B, Rule::Type)]);
}

#[test]
fn lengths_ranges_counts_and_steps_are_intervals() {
    let s = |min: u64, max: u64| json!({"type": "string", "minLength": min, "maxLength": max});
    assert_eq!(strict(s(1, 10), s(1, 5)), [at("$", B, Rule::Length)]);
    assert_eq!(
        strict(s(1, 5), s(0, 10)),
        [at("$", F, Rule::Length), at("$", F, Rule::Length)]
    );

    let n = json!({"type": "number", "minimum": 1});
    let ex = json!({"type": "number", "exclusiveMinimum": 1});
    assert_eq!(strict(n.clone(), ex.clone()), [at("$", B, Rule::Range)]);
    assert_eq!(strict(ex, n), [at("$", F, Rule::Range)]);
    // For integers, > 0 is >= 1.
    assert!(
        strict(
            json!({"type": "integer", "exclusiveMinimum": 0}),
            json!({"type": "integer", "minimum": 1})
        )
        .is_empty()
    );

    let a = |min: u64| json!({"type": "array", "minItems": min});
    assert_eq!(strict(a(0), a(2)), [at("$", B, Rule::ItemCount)]);

    let m = |of: f64| json!({"type": "number", "multipleOf": of});
    assert_eq!(strict(m(10.0), m(5.0)), [at("$", F, Rule::MultipleOf)]);
}

#[test]
fn patterns_compare_by_the_strings_they_admit() {
    let p = |re: &str| json!({"type": "string", "pattern": re});
    let found = compare(&p("^[a-z]+$"), &p("^[a-z]*$"), Mode::Full, Policy::Strict).unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].direction, found[0].rule), (F, Rule::Pattern));
    // The shortest string the old readers reject, as evidence.
    assert!(
        found[0].reason.contains("admits \"\""),
        "{}",
        found[0].reason
    );
    assert!(strict(p("^a"), p("^a")).is_empty());
    // Dropping a pattern only widens.
    assert_eq!(
        strict(p("^a"), json!({"type": "string"})),
        [at("$", F, Rule::Pattern)]
    );
    // A pattern every string matches constrains nothing.
    assert!(strict(json!({"type": "string"}), p("[a-z]*")).is_empty());
    // A listed value is simply matched.
    assert!(
        run(
            &json!({"enum": ["ab"]}),
            &p("^a"),
            Mode::Backward,
            Policy::Strict
        )
        .is_empty()
    );
}

#[test]
fn patterns_beyond_the_regex_engine_are_not_decided_and_count_as_breaking() {
    let p = |re: &str| json!({"type": "string", "pattern": re});
    let found = compare(&p("^a"), &p("^(?=a)a"), Mode::Backward, Policy::Strict).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].rule, Rule::Pattern);
    assert!(
        found[0].reason.contains("not decided"),
        "{}",
        found[0].reason
    );
}

#[test]
fn a_format_asserted_by_the_reader_must_be_guaranteed_by_the_writer() {
    let new = edit(|v| {
        v["$defs"]["Data"]["properties"]["id"]
            .as_object_mut()
            .unwrap()
            .remove("format");
    });
    assert_eq!(lenient(event(), new), [at("$.data.id", F, Rule::Format)]);
}

#[test]
fn alternatives_compare_by_what_they_accept_not_by_count() {
    let two = json!({"anyOf": [{"type": "string"}, {"type": "integer"}]});
    let swapped = json!({"anyOf": [{"type": "integer"}, {"type": "string"}]});
    assert!(strict(two.clone(), swapped).is_empty());
    assert!(
        strict(
            json!({"anyOf": [{"type": "string"}]}),
            json!({"type": "string"})
        )
        .is_empty()
    );
    assert_eq!(
        strict(two, json!({"type": "string"})),
        [at("$", B, Rule::Type)]
    );
    // Two branches that together cover what one did.
    let whole = json!({"type": "number", "maximum": 10});
    let halves =
        json!({"anyOf": [{"type": "number", "maximum": 3}, {"type": "number", "minimum": 2}]});
    assert!(run(&whole, &halves, Mode::Backward, Policy::Strict).is_empty());
}

#[test]
fn all_of_merges_its_parts() {
    let merged = json!({"allOf": [{"type": "string"}, {"maxLength": 5}]});
    let flat = json!({"type": "string", "maxLength": 5});
    assert!(strict(merged.clone(), flat).is_empty());
    assert_eq!(
        strict(
            merged,
            json!({"allOf": [{"type": "string"}, {"maxLength": 3}]})
        ),
        [at("$", B, Rule::Length)]
    );
}

/// schemars' shape for an internally tagged enum.
fn tagged(variants: &[&str]) -> Value {
    json!({"oneOf": variants.iter().map(|v| json!({
        "type": "object",
        "properties": {"type": {"const": v}, "at": {"type": "string"}},
        "required": ["type"]
    })).collect::<Vec<_>>()})
}

#[test]
fn a_tagged_union_is_exact_and_a_new_variant_breaks_old_readers() {
    let found = lenient(tagged(&["A", "B"]), tagged(&["A", "B", "C"]));
    assert_eq!(found, [at("$.type", F, Rule::Enum)]);
}

#[test]
fn overlapping_one_of_in_the_reader_is_not_decided() {
    let old = json!({"oneOf": [{"type": "string"}, {"maxLength": 5}]});
    let new = json!({"oneOf": [{"type": "string"}, {"maxLength": 10}]});
    let found = run(&old, &new, Mode::Backward, Policy::Strict);
    assert_eq!(found, [at("$", B, Rule::OneOf)]);
    // The same branches in another order are the same oneOf.
    let swapped = json!({"oneOf": [{"maxLength": 5}, {"type": "string"}]});
    assert!(strict(old, swapped).is_empty());
}

#[test]
fn refs_resolve_on_both_sides_and_recursion_ends() {
    let inline =
        json!({"type": "object", "properties": {"kind": {"type": "string", "enum": ["a", "b"]}}});
    let behind = json!({"type": "object", "properties": {"kind": {"$ref": "#/$defs/K"}}, "$defs": {"K": {"type": "string", "enum": ["a", "b"]}}});
    assert!(strict(inline.clone(), behind).is_empty());
    let anchored = json!({"type": "object", "properties": {"kind": {"$ref": "#K"}}, "definitions": {"K": {"$id": "#K", "enum": ["a"]}}});
    assert_eq!(strict(inline, anchored), [at("$.kind", B, Rule::Enum)]);

    let tree = |leaf: Value| {
        json!({"$ref": "#/$defs/Node", "$defs": {"Node": {
            "type": "object",
            "properties": {"value": leaf, "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}}
        }}})
    };
    assert!(
        strict(
            tree(json!({"type": "string"})),
            tree(json!({"type": "string"}))
        )
        .is_empty()
    );
    assert_eq!(
        run(
            &tree(json!({"type": "string"})),
            &tree(json!({"type": "string", "maxLength": 2})),
            Mode::Backward,
            Policy::Strict
        ),
        // Found at the top and again one level down, where recursion stops.
        [
            at("$.children[].value", B, Rule::Length),
            at("$.value", B, Rule::Length)
        ]
    );
}

#[test]
fn not_of_a_type_removes_that_type_exactly() {
    let not_string = json!({"not": {"type": "string"}});
    assert_eq!(
        strict(json!({}), not_string.clone()),
        [at("$", B, Rule::Type)]
    );
    assert!(
        run(
            &json!({"type": "integer"}),
            &not_string,
            Mode::Backward,
            Policy::Strict
        )
        .is_empty()
    );
}

#[test]
fn not_and_if_that_cannot_be_folded_compare_structurally() {
    let n = |max: u64| json!({"not": {"type": "string", "maxLength": max}});
    assert!(run(&n(10), &n(5), Mode::Backward, Policy::Strict).is_empty());
    assert_eq!(
        run(&n(5), &n(10), Mode::Backward, Policy::Strict),
        [at("$", B, Rule::Not)]
    );
    let cond = json!({"type": "object", "if": {"properties": {"a": {"const": 1}}}, "then": {"required": ["b"]}});
    assert!(strict(cond.clone(), cond).is_empty());
}

#[test]
fn what_is_not_a_schema_is_an_error_not_a_verdict() {
    let err = compare(
        &json!({"$ref": "#/$defs/Nope"}),
        &json!({}),
        Mode::Full,
        Policy::Strict,
    )
    .unwrap_err();
    assert!(err.0.contains("#/$defs/Nope"), "{err}");
    assert!(compare(&json!([1]), &json!({}), Mode::Full, Policy::Strict).is_err());
    assert!(
        compare(
            &json!({"type": "text"}),
            &json!({}),
            Mode::Full,
            Policy::Strict
        )
        .is_err()
    );
}

#[test]
fn each_finding_reads_right_in_its_direction() {
    let new = edit(|v| v["$defs"]["Data"]["properties"]["title"]["maxLength"] = json!(80));
    let found = compare(&event(), &new, Mode::Full, Policy::Lenient).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0].to_string(),
        "$.data.title [backward] minLength/maxLength: the new schema requires maxLength 80; old events allow none"
    );
}
