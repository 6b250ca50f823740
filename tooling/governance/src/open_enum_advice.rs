//! The advice the checker gives for an enum value added, followed: an enum
//! with a `#[serde(other)]` catch-all and `events::open_enum` takes new
//! values in place, in the checker's view and in serde's.

use compat::{Direction, Mode, Policy, Rule, compare};
use schemars::{JsonSchema, schema_for};
use serde::{Deserialize, Serialize};

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum ClosedV1 {
    Email,
    Push,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum ClosedV2 {
    Email,
    Push,
    Sms,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(transform = events::open_enum)]
enum OpenV1 {
    Email,
    Push,
    #[serde(other)]
    Unknown,
}

/// With a doc comment per variant, schemars writes `oneOf` of `const`s.
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(transform = events::open_enum)]
enum OpenV2 {
    /// By mail.
    Email,
    /// On the phone.
    Push,
    /// By text message.
    Sms,
    #[serde(other)]
    Unknown,
}

fn schema<T: JsonSchema>() -> serde_json::Value {
    schema_for!(T).to_value()
}

#[test]
fn a_value_added_to_a_closed_enum_breaks_old_consumers_in_the_checker_and_in_serde() {
    let found = compare(
        &schema::<ClosedV1>(),
        &schema::<ClosedV2>(),
        Mode::Full,
        Policy::Lenient,
    )
    .unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        (found[0].direction, found[0].rule),
        (Direction::Forward, Rule::Enum)
    );
    assert!(
        found[0].reason.contains("events::open_enum"),
        "{}",
        found[0].reason
    );
    assert!(serde_json::from_str::<ClosedV1>("\"sms\"").is_err());
}

#[test]
fn a_value_added_to_an_open_enum_is_compatible_in_the_checker_and_in_serde() {
    let (v1, v2) = (schema::<OpenV1>(), schema::<OpenV2>());
    assert_eq!(v2["type"], "string");
    assert!(
        v2.get("oneOf").is_none() && v2.get("enum").is_none(),
        "{v2}"
    );
    let known: Vec<&str> = v2["x-known-values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for value in ["email", "push", "sms", "unknown"] {
        assert!(known.contains(&value), "{v2}");
    }
    let found = compare(&v1, &v2, Mode::Full, Policy::Lenient).unwrap();
    assert!(found.is_empty(), "{found:?}");
    assert_eq!(
        serde_json::from_str::<OpenV1>("\"sms\"").unwrap(),
        OpenV1::Unknown
    );
}

#[test]
fn closing_an_enum_in_place_is_itself_breaking() {
    // Old readers with a catch-all accept any string; a closed enum does not.
    let found = compare(
        &schema::<OpenV1>(),
        &schema::<ClosedV1>(),
        Mode::Full,
        Policy::Lenient,
    )
    .unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].direction, Direction::Backward);
}
