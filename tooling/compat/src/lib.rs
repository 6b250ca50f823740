//! Which schema changes break the readers of an event version, judged by what
//! each schema accepts (instance-set inclusion), not by how it is written.
//!
//! A reader on schema R can read everything written under schema W when every
//! instance W accepts, R accepts too (W ⊆ R). BACKWARD asks it of the new
//! schema reading old events (replays), FORWARD of the old schema reading new
//! events (consumers not yet upgraded), FULL asks both.
//!
//! Each schema is normalised into a union of *pieces*, one JSON type each
//! (`integer` is a `number` piece flagged integral), with that type's
//! constraints merged from `allOf`, `$ref`s and siblings, and `anyOf` (and a
//! `oneOf` whose branches are provably disjoint) distributed over them. Then
//! every writer piece must fit into one reader piece of its type, keyword by
//! keyword. Nested schemas (properties, items) stay lazy and are compared the
//! same way when reached; a pair already being compared is assumed included,
//! which is what makes recursive `$ref`s terminate (coinduction).
//!
//! Patterns are compared on automata (`patterns.rs`). Where inclusion cannot
//! be decided here (a regex with look-around, a `not` or `if` whose effect
//! cannot be folded, an overlapping `oneOf` in the reader, property-name
//! patterns that may overlap), the change is reported as breaking and the
//! reason says so.
//!
//! No maintained Rust crate does this for draft 2020-12 (`json-schema-diff` is
//! structural and built on schemars 0.8), so it lives here, with a test per
//! rule and the peer suites as an outside measure.
//!
//! Where each part lives: [`findings`](Finding) (what a comparison reports),
//! `schema` (nodes and the pieces a union normalises to), `normalise`
//! (schema → pieces), `inclusion` (piece into piece, keyword by keyword),
//! `instances` (single values and disjointness), `bounds` (numeric bounds
//! and counts) and [`patterns`]. The crate depends on no project crate: a
//! caller maps its own notion of compatibility onto [`Mode`].

pub mod patterns;

mod bounds;
mod findings;
mod inclusion;
mod instances;
mod normalise;
mod schema;
#[cfg(test)]
mod tests;

use serde_json::Value;

pub use findings::{Direction, Finding, Rule, SchemaError};

use inclusion::Cx;
use schema::Node;

/// Which readers must keep reading which writers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// New readers read old events.
    Backward,
    /// Old readers read new events.
    Forward,
    /// Both.
    Full,
}

impl Mode {
    pub fn directions(self) -> &'static [Direction] {
        match self {
            Mode::Backward => &[Direction::Backward],
            Mode::Forward => &[Direction::Forward],
            Mode::Full => &[Direction::Backward, Direction::Forward],
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Backward => "BACKWARD",
            Mode::Forward => "FORWARD",
            Mode::Full => "FULL",
        }
    }
}

/// How undeclared properties of an object count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Policy {
    /// Pure inclusion: an object without `additionalProperties` accepts any
    /// undeclared property, so declaring a new optional one narrows it.
    Strict,
    /// Writers are generated from the types and write only the properties a
    /// struct declares (an object that declares `properties` and says nothing
    /// about others), so adding or dropping an optional property is
    /// compatible both ways. Maps (`additionalProperties` given) stay open.
    Lenient,
}

impl Policy {
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Strict => "STRICT",
            Policy::Lenient => "LENIENT",
        }
    }
}

/// Every way `new` breaks a reader, for the directions `mode` asks about.
pub fn compare(
    old: &Value,
    new: &Value,
    mode: Mode,
    policy: Policy,
) -> Result<Vec<Finding>, SchemaError> {
    for (label, schema) in [("old", old), ("new", new)] {
        if !schema.is_object() && !schema.is_boolean() {
            return Err(SchemaError(format!(
                "the {label} schema is neither an object nor a boolean"
            )));
        }
    }
    let mut out = Vec::new();
    for &direction in mode.directions() {
        let (writer, reader) = match direction {
            Direction::Backward => (old, new),
            Direction::Forward => (new, old),
        };
        let mut cx = Cx::new(policy == Policy::Lenient);
        let w = [Node::root(writer)];
        let r = [Node::root(reader)];
        let found = cx.includes(&w, &r, "$");
        if let Some(err) = cx.errors.into_iter().next() {
            return Err(SchemaError(err));
        }
        out.extend(found.into_iter().map(|b| b.finish(direction)));
    }
    out.sort();
    out.dedup();
    Ok(out)
}
