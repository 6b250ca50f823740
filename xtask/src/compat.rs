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

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;

use serde_json::{Map, Value};

use crate::patterns::{self, Inclusion};

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

impl From<events::Compatibility> for Mode {
    fn from(c: events::Compatibility) -> Self {
        match c {
            events::Compatibility::Backward => Mode::Backward,
            events::Compatibility::Forward => Mode::Forward,
            events::Compatibility::Full => Mode::Full,
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

/// A finding before its direction is known.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Break {
    path: String,
    rule: Rule,
    /// Written with `{R}` for the reader and `{W}` for what is written, so one
    /// comparison reads right in either direction.
    reason: String,
}

impl Break {
    fn new(path: &str, rule: Rule, reason: impl Into<String>) -> Self {
        Self {
            path: path.to_owned(),
            rule,
            reason: reason.into(),
        }
    }

    fn finish(self, direction: Direction) -> Finding {
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

/// A subschema together with the document its `$ref`s resolve against.
#[derive(Clone, Copy)]
struct Node<'a> {
    schema: &'a Value,
    root: &'a Value,
}

impl<'a> Node<'a> {
    fn root(schema: &'a Value) -> Self {
        Self {
            schema,
            root: schema,
        }
    }

    fn child(self, schema: &'a Value) -> Self {
        Self {
            schema,
            root: self.root,
        }
    }

    fn key(self) -> NodeKey {
        (
            self.schema as *const Value as usize,
            self.root as *const Value as usize,
        )
    }
}

/// A subschema's identity: its address and its document's.
type NodeKey = (usize, usize);
/// Writer conjunction, reader conjunction, lenient.
type PairKey = (Vec<NodeKey>, Vec<NodeKey>, bool);

static FALSE: Value = Value::Bool(false);
static NO_MAP: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);

fn never<'a>() -> Node<'a> {
    Node {
        schema: &FALSE,
        root: &FALSE,
    }
}

/// A conjunction of subschemas: what applies to one location.
type Conj<'a> = Vec<Node<'a>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Kind {
    Null,
    Boolean,
    Number,
    String,
    Array,
    Object,
}

const KINDS: [Kind; 6] = [
    Kind::Null,
    Kind::Boolean,
    Kind::Number,
    Kind::String,
    Kind::Array,
    Kind::Object,
];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Null => "null",
            Kind::Boolean => "boolean",
            Kind::Number => "number",
            Kind::String => "string",
            Kind::Array => "array",
            Kind::Object => "object",
        }
    }

    fn of(value: &Value) -> Kind {
        match value {
            Value::Null => Kind::Null,
            Value::Bool(_) => Kind::Boolean,
            Value::Number(_) => Kind::Number,
            Value::String(_) => Kind::String,
            Value::Array(_) => Kind::Array,
            Value::Object(_) => Kind::Object,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Bound {
    value: f64,
    exclusive: bool,
}

/// A constraint that is not folded into a piece, kept so the reader's can be
/// checked against the writer's.
#[derive(Clone, Copy)]
enum Opaque<'a> {
    Not(Node<'a>),
    /// The schema object holding `if`/`then`/`else`.
    Cond(Node<'a>),
    /// The schema object holding a `oneOf` whose branches may overlap.
    OneOf(Node<'a>),
}

/// One JSON type with its merged constraints.
#[derive(Clone)]
struct Piece<'a> {
    kind: Kind,
    values: Option<Vec<Value>>,
    formats: BTreeSet<String>,
    opaque: Vec<Opaque<'a>>,
    // number
    integer: bool,
    lower: Option<Bound>,
    upper: Option<Bound>,
    multiple_of: Vec<f64>,
    // string
    min_len: u64,
    max_len: Option<u64>,
    patterns: Vec<String>,
    content: BTreeSet<(String, String)>,
    // array
    prefix: Vec<Conj<'a>>,
    rest: Conj<'a>,
    min_items: u64,
    max_items: Option<u64>,
    unique: bool,
    contains: Vec<Conj<'a>>,
    // object
    props: BTreeMap<String, Conj<'a>>,
    pattern_props: Vec<(String, Conj<'a>)>,
    additional: Conj<'a>,
    /// Some layer said what undeclared properties may be.
    extras_explicit: bool,
    required: BTreeSet<String>,
    min_props: u64,
    max_props: Option<u64>,
    prop_names: Vec<Conj<'a>>,
    dep_required: BTreeMap<String, BTreeSet<String>>,
    dep_schemas: BTreeMap<String, Vec<Node<'a>>>,
}

impl<'a> Piece<'a> {
    fn any(kind: Kind) -> Self {
        Piece {
            kind,
            values: None,
            formats: BTreeSet::new(),
            opaque: Vec::new(),
            integer: false,
            lower: None,
            upper: None,
            multiple_of: Vec::new(),
            min_len: 0,
            max_len: None,
            patterns: Vec::new(),
            content: BTreeSet::new(),
            prefix: Vec::new(),
            rest: Vec::new(),
            min_items: 0,
            max_items: None,
            unique: false,
            contains: Vec::new(),
            props: BTreeMap::new(),
            pattern_props: Vec::new(),
            additional: Vec::new(),
            extras_explicit: false,
            required: BTreeSet::new(),
            min_props: 0,
            max_props: None,
            prop_names: Vec::new(),
            dep_required: BTreeMap::new(),
            dep_schemas: BTreeMap::new(),
        }
    }

    /// No constraint at all beyond its type.
    fn is_whole(&self) -> bool {
        let blank = Piece::any(self.kind);
        self.values.is_none()
            && self.formats.is_empty()
            && self.opaque.is_empty()
            && self.integer == blank.integer
            && self.lower.is_none()
            && self.upper.is_none()
            && self.multiple_of.is_empty()
            && self.min_len == 0
            && self.max_len.is_none()
            && self.patterns.is_empty()
            && self.content.is_empty()
            && self.prefix.is_empty()
            && self.rest.is_empty()
            && self.min_items == 0
            && self.max_items.is_none()
            && !self.unique
            && self.contains.is_empty()
            && self.props.is_empty()
            && self.pattern_props.is_empty()
            && self.additional.is_empty()
            && self.required.is_empty()
            && self.min_props == 0
            && self.max_props.is_none()
            && self.prop_names.is_empty()
            && self.dep_required.is_empty()
            && self.dep_schemas.is_empty()
    }

    /// Empty for a reason visible without looking into nested schemas.
    fn is_void(&self) -> bool {
        if self.values.as_ref().is_some_and(Vec::is_empty) {
            return true;
        }
        match self.kind {
            Kind::Number => {
                let (lo, hi) = self.bounds();
                match (lo, hi) {
                    (Some(l), Some(h)) => {
                        l.value > h.value || (l.value == h.value && (l.exclusive || h.exclusive))
                    }
                    _ => false,
                }
            }
            Kind::String => self.max_len.is_some_and(|m| m < self.min_len),
            Kind::Array => self.max_items.is_some_and(|m| m < self.min_items),
            Kind::Object => self.max_props.is_some_and(|m| m < self.min_props),
            _ => false,
        }
    }

    /// Bounds as the instances see them: integral bounds for integers.
    fn bounds(&self) -> (Option<Bound>, Option<Bound>) {
        if !self.integer {
            return (self.lower, self.upper);
        }
        let lo = self.lower.map(|b| {
            let v = if b.exclusive && b.value == b.value.floor() {
                b.value + 1.0
            } else {
                b.value.ceil()
            };
            Bound {
                value: v,
                exclusive: false,
            }
        });
        let hi = self.upper.map(|b| {
            let v = if b.exclusive && b.value == b.value.floor() {
                b.value - 1.0
            } else {
                b.value.floor()
            };
            Bound {
                value: v,
                exclusive: false,
            }
        });
        (lo, hi)
    }

    fn position(&self, i: usize) -> &Conj<'a> {
        self.prefix.get(i).unwrap_or(&self.rest)
    }

    /// The schemas that apply to a property of this name.
    fn schema_for(&self, name: &str, cx: &mut Cx<'a>) -> (Conj<'a>, Source) {
        let mut conj = Vec::new();
        let mut source = Source::Additional;
        if let Some(declared) = self.props.get(name) {
            conj.extend(declared.iter().copied());
            source = Source::Declared;
        }
        for (pattern, schema) in &self.pattern_props {
            if cx.matches(pattern, name) != Some(false) {
                conj.extend(schema.iter().copied());
                if source == Source::Additional {
                    source = Source::Pattern;
                }
            }
        }
        if source == Source::Additional {
            conj.extend(self.additional.iter().copied());
        }
        (conj, source)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Declared,
    Pattern,
    Additional,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Writer,
    Reader,
}

// Schemas nest deeper than this only by recursion through `$ref`.
const MAX_DEPTH: usize = 64;
// anyOf distributed over anyOf can explode; past this the union is not
// enumerated and the comparison reports that it gave up.
const MAX_PIECES: usize = 512;

struct Cx<'a> {
    lenient: bool,
    /// Pairs being compared further up: assumed included (coinduction).
    assumed: HashSet<PairKey>,
    depth: usize,
    errors: Vec<String>,
    regexes: BTreeMap<String, Option<regex::Regex>>,
    nodes: std::marker::PhantomData<Node<'a>>,
}

impl<'a> Cx<'a> {
    fn new(lenient: bool) -> Self {
        Cx {
            lenient,
            assumed: HashSet::new(),
            depth: 0,
            errors: Vec::new(),
            regexes: BTreeMap::new(),
            nodes: std::marker::PhantomData,
        }
    }

    fn error(&mut self, message: String) {
        if !self.errors.contains(&message) {
            self.errors.push(message);
        }
    }

    /// Whether `text` matches the ECMA-262 `pattern` (unanchored, as JSON
    /// Schema says); `None` when the pattern is beyond the regex engine.
    fn matches(&mut self, pattern: &str, text: &str) -> Option<bool> {
        let compiled = self
            .regexes
            .entry(pattern.to_owned())
            .or_insert_with(|| regex::Regex::new(&patterns::ecma_classes(pattern)).ok());
        compiled.as_ref().map(|re| re.is_match(text))
    }

    // ---------------------------------------------------------------- inclusion

    /// Everything `w` accepts, `r` accepts; else why not.
    fn includes(&mut self, w: &[Node<'a>], r: &[Node<'a>], path: &str) -> Vec<Break> {
        let key = (
            w.iter().map(|n| n.key()).collect::<Vec<_>>(),
            r.iter().map(|n| n.key()).collect::<Vec<_>>(),
            self.lenient,
        );
        if self.depth > MAX_DEPTH || !self.assumed.insert(key.clone()) {
            return Vec::new();
        }
        self.depth += 1;
        let writers = self.normalize(w, Side::Writer);
        let readers = self.normalize(r, Side::Reader);
        let mut out = Vec::new();
        match (writers, readers) {
            (Some(writers), Some(readers)) => {
                // Whole types the reader lacks make one finding, not one each.
                let (homeless, placed): (Vec<_>, Vec<_>) = writers
                    .iter()
                    .filter(|w| !w.is_void())
                    .partition(|w| readers.iter().all(|r| r.kind != w.kind));
                if !homeless.is_empty() {
                    out.push(self.type_break(&homeless, &readers, path));
                }
                for piece in placed {
                    out.extend(self.piece_in(piece, &readers, path));
                }
            }
            _ => out.push(Break::new(
                path,
                Rule::AnyOf,
                format!(
                    "undecidable: more than {MAX_PIECES} alternatives after distributing anyOf/oneOf, treated as breaking"
                ),
            )),
        }
        self.depth -= 1;
        // Only pairs still being compared may be assumed: a trial that failed
        // (one reader alternative of several) must not leave assumptions.
        self.assumed.remove(&key);
        out
    }

    /// Inclusion where neither side is an event writer (inside `not`).
    fn includes_strict(&mut self, w: &[Node<'a>], r: &[Node<'a>], path: &str) -> Vec<Break> {
        let lenient = std::mem::replace(&mut self.lenient, false);
        let out = self.includes(w, r, path);
        self.lenient = lenient;
        out
    }

    /// One writer piece against the union of reader pieces.
    fn piece_in(&mut self, w: &Piece<'a>, readers: &[Piece<'a>], path: &str) -> Vec<Break> {
        if w.is_void() {
            return Vec::new();
        }
        let candidates: Vec<&Piece<'a>> = readers.iter().filter(|r| r.kind == w.kind).collect();
        if candidates.is_empty() {
            return vec![self.type_break(&[w], readers, path)];
        }
        if let Some(values) = self.finite_values(w) {
            let mut out = Vec::new();
            for value in values {
                if !self.accepts_piece(w, &value) {
                    continue;
                }
                if !candidates.iter().any(|r| self.accepts_piece(r, &value)) {
                    let rule = if w.values.is_some() {
                        Rule::Enum
                    } else {
                        Rule::Type
                    };
                    let reason = if rule == Rule::Enum {
                        format!("{{W}} may carry {value}, which {{R}} does not accept")
                    } else {
                        format!("{{W}} may be {value}, which {{R}} does not accept")
                    };
                    out.push(Break::new(path, rule, reason));
                }
            }
            return out;
        }
        let mut best: Option<Vec<Break>> = None;
        for r in &candidates {
            let found = self.piece_in_piece(w, r, path);
            if found.is_empty() {
                return found;
            }
            if best.as_ref().is_none_or(|b| found.len() < b.len()) {
                best = Some(found);
            }
        }
        if w.kind == Kind::Number && self.covered_by_union(w, &candidates) {
            return Vec::new();
        }
        let mut best = best.unwrap_or_default();
        if candidates.len() > 1 {
            for b in &mut best {
                b.reason = format!(
                    "fits none of the reader's {} {} alternatives; closest: {}",
                    candidates.len(),
                    w.kind.name(),
                    b.reason
                );
            }
        }
        best
    }

    fn type_break(&self, writers: &[&Piece<'a>], readers: &[Piece<'a>], path: &str) -> Break {
        let mut accepted: Vec<&str> = readers.iter().map(|r| r.kind.name()).collect();
        accepted.dedup();
        let accepted = if accepted.is_empty() {
            "nothing".to_owned()
        } else {
            accepted.join("|")
        };
        let what = writers
            .iter()
            .map(|w| match &w.values {
                Some(values) => values
                    .iter()
                    .map(Value::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                None if w.kind == Kind::Number && w.integer => "integer".to_owned(),
                None => w.kind.name().to_owned(),
            })
            .collect::<Vec<_>>()
            .join("|");
        Break::new(
            path,
            Rule::Type,
            format!("{{W}} may be {what}, which {{R}} does not accept (it accepts {accepted})"),
        )
    }

    /// The values of a piece when there are few enough to list.
    fn finite_values(&self, w: &Piece<'a>) -> Option<Vec<Value>> {
        if let Some(values) = &w.values {
            return Some(values.clone());
        }
        match w.kind {
            Kind::Null => Some(vec![Value::Null]),
            Kind::Boolean => Some(vec![Value::Bool(false), Value::Bool(true)]),
            _ => None,
        }
    }

    /// Numbers: a writer interval covered by several reader intervals
    /// together (`x ≤ 10` by `x ≤ 3 ∪ x ≥ 2`).
    fn covered_by_union(&mut self, w: &Piece<'a>, readers: &[&Piece<'a>]) -> bool {
        if !w.multiple_of.is_empty() {
            return false;
        }
        let mut intervals: Vec<(Option<Bound>, Option<Bound>)> = Vec::new();
        for r in readers {
            if !r.multiple_of.is_empty()
                || (r.integer && !w.integer)
                || r.values.is_some()
                || !r.opaque.is_empty()
                || r.formats.difference(&w.formats).next().is_some()
            {
                continue;
            }
            intervals.push(if w.integer {
                let mut r = (*r).clone();
                r.integer = true;
                r.bounds()
            } else {
                (r.lower, r.upper)
            });
        }
        let (lo, hi) = w.bounds();
        // Walk up from the writer's lower end, always taking the reader
        // interval that covers the current point and reaches furthest.
        let mut at = lo;
        for _ in 0..=intervals.len() {
            let covering = intervals
                .iter()
                .filter(|(l, h)| starts_before(*l, at) && upper_admits(*h, at))
                .map(|(_, h)| *h)
                .max_by(|a, b| cmp_upper(*a, *b));
            let Some(reach) = covering else {
                return false;
            };
            let Some(reach) = reach else {
                return true;
            };
            if !cmp_upper(Some(reach), hi).is_lt() {
                return true;
            }
            // The first point above what is covered so far.
            at = Some(if w.integer {
                Bound {
                    value: reach.value.floor() + 1.0,
                    exclusive: false,
                }
            } else {
                flip(reach)
            });
        }
        false
    }

    fn piece_in_piece(&mut self, w: &Piece<'a>, r: &Piece<'a>, path: &str) -> Vec<Break> {
        let mut out = Vec::new();
        if let Some(values) = &r.values {
            // The writer's set is not finite here (else it was listed).
            out.push(Break::new(
                path,
                Rule::Enum,
                format!(
                    "{{R}} accepts only {}; {{W}} are not limited to those",
                    Value::Array(values.clone())
                ),
            ));
        }
        for format in r.formats.difference(&w.formats) {
            let was = if w.formats.is_empty() {
                "none".to_owned()
            } else {
                w.formats.iter().cloned().collect::<Vec<_>>().join(", ")
            };
            out.push(Break::new(
                path,
                Rule::Format,
                format!("{{R}} asserts format `{format}`; {{W}} carry {was}"),
            ));
        }
        match w.kind {
            Kind::Number => self.number_in(w, r, path, &mut out),
            Kind::String => self.string_in(w, r, path, &mut out),
            Kind::Array => self.array_in(w, r, path, &mut out),
            Kind::Object => self.object_in(w, r, path, &mut out),
            Kind::Null | Kind::Boolean => {}
        }
        for op in &r.opaque {
            if let Some(b) = self.opaque_in(w, *op, path) {
                out.push(b);
            }
        }
        out
    }

    fn number_in(&mut self, w: &Piece<'a>, r: &Piece<'a>, path: &str, out: &mut Vec<Break>) {
        let integral_steps = w.multiple_of.iter().any(|m| m.fract() == 0.0);
        if r.integer && !w.integer && !integral_steps {
            out.push(Break::new(
                path,
                Rule::Type,
                "{R} accepts only integers; {W} may be any number",
            ));
        }
        let as_integers = w.integer || (r.integer && integral_steps);
        let (wl, wh) = if as_integers {
            let mut w = w.clone();
            w.integer = true;
            w.bounds()
        } else {
            (w.lower, w.upper)
        };
        let (rl, rh) = if as_integers {
            let mut r = r.clone();
            r.integer = true;
            r.bounds()
        } else {
            (r.lower, r.upper)
        };
        if !starts_before(rl, wl) {
            out.push(Break::new(
                path,
                Rule::Range,
                format!(
                    "{{R}} requires {}; {{W}} allow {}",
                    show_lower(rl),
                    show_lower(wl)
                ),
            ));
        }
        if cmp_upper(rh, wh).is_lt() {
            out.push(Break::new(
                path,
                Rule::Range,
                format!(
                    "{{R}} requires {}; {{W}} allow {}",
                    show_upper(rh),
                    show_upper(wh)
                ),
            ));
        }
        for &m in &r.multiple_of {
            let ok = w.multiple_of.iter().any(|&k| is_multiple(k, m))
                || (as_integers && is_multiple(1.0, m));
            if !ok {
                out.push(Break::new(
                    path,
                    Rule::MultipleOf,
                    format!("{{R}} requires a multiple of {m}; {{W}} need not be one"),
                ));
            }
        }
    }

    fn string_in(&mut self, w: &Piece<'a>, r: &Piece<'a>, path: &str, out: &mut Vec<Break>) {
        if r.min_len > w.min_len {
            out.push(Break::new(
                path,
                Rule::Length,
                format!(
                    "{{R}} requires minLength {}; {{W}} allow {}",
                    r.min_len, w.min_len
                ),
            ));
        }
        if let Some(max) = r.max_len
            && w.max_len.is_none_or(|m| m > max)
        {
            out.push(Break::new(
                path,
                Rule::Length,
                format!(
                    "{{R}} requires maxLength {max}; {{W}} allow {}",
                    show_opt(w.max_len)
                ),
            ));
        }
        for pattern in &r.patterns {
            if let Some(reason) = pattern_break(&w.patterns, pattern) {
                out.push(Break::new(path, Rule::Pattern, reason));
            }
        }
        for (keyword, value) in r.content.difference(&w.content) {
            out.push(Break::new(
                path,
                Rule::Content,
                format!("{{R}} asserts {keyword} `{value}` (consumers decode by it); {{W}} do not"),
            ));
        }
    }

    fn array_in(&mut self, w: &Piece<'a>, r: &Piece<'a>, path: &str, out: &mut Vec<Break>) {
        // Past the first position the writer cannot fill, it has no items.
        let mut w_max = w.max_items;
        let span = w.prefix.len().max(r.prefix.len());
        for i in 0..=span {
            if w_max.is_some_and(|m| m <= i as u64) {
                break;
            }
            if self.is_empty(w.position(i)) {
                w_max = Some(w_max.map_or(i as u64, |m| m.min(i as u64)));
                break;
            }
        }
        if r.min_items > w.min_items {
            out.push(Break::new(
                path,
                Rule::ItemCount,
                format!(
                    "{{R}} requires minItems {}; {{W}} allow {}",
                    r.min_items, w.min_items
                ),
            ));
        }
        if let Some(max) = r.max_items
            && w_max.is_none_or(|m| m > max)
        {
            out.push(Break::new(
                path,
                Rule::ItemCount,
                format!(
                    "{{R}} requires maxItems {max}; {{W}} allow {}",
                    show_opt(w_max)
                ),
            ));
        }
        if r.unique && !w.unique && w_max.is_none_or(|m| m > 1) {
            out.push(Break::new(
                path,
                Rule::UniqueItems,
                "{R} requires unique items; {W} may repeat one",
            ));
        }
        for i in 0..span {
            if w_max.is_some_and(|m| m <= i as u64) {
                break;
            }
            let (wi, ri) = (w.position(i).clone(), r.position(i).clone());
            out.extend(self.includes(&wi, &ri, &format!("{path}[{i}]")));
        }
        if w_max.is_none_or(|m| m > span as u64) {
            let (wr, rr) = (w.rest.clone(), r.rest.clone());
            let at = if span == 0 {
                format!("{path}[]")
            } else {
                format!("{path}[{span}..]")
            };
            out.extend(self.includes(&wr, &rr, &at));
        }
        for needed in &r.contains {
            if !self.any_included(&w.contains, needed, path) {
                out.push(Break::new(
                    path,
                    Rule::Contains,
                    "{R} requires an item (contains) that {W} need not carry",
                ));
            }
        }
    }

    /// Whether one of the writer's own requirements already implies `needed`.
    fn any_included(&mut self, haves: &[Conj<'a>], needed: &[Node<'a>], path: &str) -> bool {
        haves
            .iter()
            .any(|have| self.includes(have, needed, path).is_empty())
    }

    fn object_in(&mut self, w: &Piece<'a>, r: &Piece<'a>, path: &str, out: &mut Vec<Break>) {
        for name in r.required.difference(&w.required) {
            let (ws, _) = w.schema_for(name, self);
            let never = self.is_empty(&ws);
            out.push(Break::new(
                &child_path(path, name),
                Rule::Required,
                if !never {
                    format!("{{R}} requires `{name}`; {{W}} may omit it")
                } else {
                    format!("{{R}} requires `{name}`; {{W}} do not carry it")
                },
            ));
        }
        let names: BTreeSet<String> = w
            .props
            .keys()
            .chain(r.props.keys())
            .chain(w.required.iter())
            .chain(r.required.iter())
            .cloned()
            .collect();
        for name in &names {
            let (ws, _) = w.schema_for(name, self);
            if self.is_empty(&ws) {
                continue;
            }
            let (rs, source) = r.schema_for(name, self);
            let at = child_path(path, name);
            if source == Source::Additional && self.is_empty(&rs) {
                out.push(Break::new(
                    &at,
                    Rule::AdditionalProperties,
                    format!("{{W}} may carry `{name}`, which {{R}} does not declare and forbids (additionalProperties: false)"),
                ));
                continue;
            }
            if source == Source::Declared && self.is_empty(&rs) {
                out.push(Break::new(
                    &at,
                    Rule::Property,
                    format!("{{W}} may carry `{name}`, which {{R}} forbids (its schema is false)"),
                ));
                continue;
            }
            out.extend(self.includes(&ws, &rs, &at));
        }
        self.extras_in(w, r, path, out);
        self.property_names_in(w, r, path, out);

        let w_min = w.min_props.max(w.required.len() as u64);
        if r.min_props > w_min {
            out.push(Break::new(
                path,
                Rule::PropertyCount,
                format!(
                    "{{R}} requires minProperties {}; {{W}} allow {w_min}",
                    r.min_props
                ),
            ));
        }
        if let Some(max) = r.max_props {
            let declared = w.props.len() as u64;
            let w_max = match w.max_props {
                Some(m) => Some(m),
                None if !self.has_extras(w) => Some(declared),
                None => None,
            };
            if w_max.is_none_or(|m| m > max) {
                out.push(Break::new(
                    path,
                    Rule::PropertyCount,
                    format!(
                        "{{R}} requires maxProperties {max}; {{W}} allow {}",
                        show_opt(w_max)
                    ),
                ));
            }
        }
        for (trigger, needs) in &r.dep_required {
            let (ws, _) = w.schema_for(trigger, self);
            if self.is_empty(&ws) {
                continue;
            }
            let have = w.dep_required.get(trigger);
            for need in needs {
                if !w.required.contains(need) && !have.is_some_and(|h| h.contains(need)) {
                    out.push(Break::new(
                        &child_path(path, trigger),
                        Rule::Dependencies,
                        format!(
                            "{{R}} requires `{need}` beside `{trigger}`; {{W}} need not carry it"
                        ),
                    ));
                }
            }
        }
        for (trigger, schemas) in &r.dep_schemas {
            let (ws, _) = w.schema_for(trigger, self);
            if self.is_empty(&ws) {
                continue;
            }
            let theirs = w.dep_schemas.get(trigger).cloned().unwrap_or_default();
            for needed in schemas {
                if theirs.iter().any(|have| self.deep_eq(*have, *needed)) {
                    continue;
                }
                let mut as_writer = w.clone();
                as_writer.dep_schemas.clear();
                let readers = self.normalize(&[*needed], Side::Reader).unwrap_or_default();
                if !self.piece_in(&as_writer, &readers, path).is_empty() {
                    out.push(Break::new(
                        &child_path(path, trigger),
                        Rule::Dependencies,
                        format!("{{R}} applies a dependent schema when `{trigger}` is present; {{W}} need not satisfy it"),
                    ));
                }
            }
        }
    }

    fn has_extras(&mut self, w: &Piece<'a>) -> bool {
        let additional = w.additional.clone();
        !w.pattern_props.is_empty() || !self.is_empty(&additional)
    }

    /// Undeclared properties: every class of names the writer may send
    /// against every reader class it may overlap.
    fn extras_in(&mut self, w: &Piece<'a>, r: &Piece<'a>, path: &str, out: &mut Vec<Break>) {
        // (pattern or None for "matches no pattern", schema)
        let mut w_classes: Vec<(Option<&String>, Conj<'a>)> = w
            .pattern_props
            .iter()
            .map(|(p, s)| (Some(p), s.clone()))
            .collect();
        w_classes.push((None, w.additional.clone()));
        let mut r_classes: Vec<(Option<&String>, Conj<'a>)> = r
            .pattern_props
            .iter()
            .map(|(p, s)| (Some(p), s.clone()))
            .collect();
        r_classes.push((None, r.additional.clone()));
        let w_patterns: BTreeSet<&String> = w.pattern_props.iter().map(|(p, _)| p).collect();
        let r_patterns: BTreeSet<&String> = r.pattern_props.iter().map(|(p, _)| p).collect();

        for (wp, ws) in &w_classes {
            if self.is_empty(ws) {
                continue;
            }
            for (rp, rs) in &r_classes {
                let (certain, at) = match (wp, rp) {
                    (Some(a), Some(b)) if a == b => (true, format!("{path}[/{a}/]")),
                    (Some(a), Some(b)) if patterns_disjoint(a, b) => continue,
                    (Some(a), Some(b)) => (false, format!("{path}[/{a}/ & /{b}/]")),
                    (None, Some(b)) if w_patterns.contains(b) => continue,
                    (None, Some(b)) => (true, format!("{path}[/{b}/]")),
                    (Some(a), None) if r_patterns.contains(a) => continue,
                    (Some(a), None) => (true, format!("{path}[/{a}/]")),
                    (None, None) => (true, format!("{path}.*")),
                };
                if rp.is_none() && self.is_empty(rs) {
                    let what = match wp {
                        Some(p) => format!("properties matching /{p}/"),
                        None => "undeclared properties".to_owned(),
                    };
                    out.push(Break::new(
                        &at,
                        Rule::AdditionalProperties,
                        format!("{{W}} may carry {what}, which {{R}} forbids (additionalProperties: false)"),
                    ));
                    continue;
                }
                let found = self.includes(ws, rs, &at);
                if found.is_empty() {
                    continue;
                }
                if certain {
                    out.extend(found);
                } else {
                    out.push(Break::new(
                        &at,
                        Rule::PatternProperties,
                        "{R} and {W} use different property-name patterns that may overlap: inclusion of two different regexes is not decided here, so treated as breaking",
                    ));
                }
            }
        }
    }

    fn property_names_in(
        &mut self,
        w: &Piece<'a>,
        r: &Piece<'a>,
        path: &str,
        out: &mut Vec<Break>,
    ) {
        if r.prop_names.is_empty() {
            return;
        }
        let extras = self.has_extras(w);
        for needed in &r.prop_names {
            for name in w.props.keys() {
                let (ws, _) = w.schema_for(name, self);
                if self.is_empty(&ws) {
                    continue;
                }
                if !self.accepts(needed, &Value::String(name.clone())) {
                    out.push(Break::new(
                        &child_path(path, name),
                        Rule::PropertyNames,
                        format!("{{W}} may carry `{name}`, a name {{R}} rejects (propertyNames)"),
                    ));
                }
            }
            if extras && !self.any_included(&w.prop_names, needed, path) {
                out.push(Break::new(
                    path,
                    Rule::PropertyNames,
                    "{R} restricts property names (propertyNames) that {W} do not restrict as much",
                ));
            }
        }
    }

    /// Whether the reader's unfolded constraint holds for a writer piece.
    fn opaque_in(&mut self, w: &Piece<'a>, op: Opaque<'a>, path: &str) -> Option<Break> {
        if w.opaque.iter().any(|have| self.opaque_eq(*have, op)) {
            return None;
        }
        match op {
            Opaque::Not(banned) => {
                for have in &w.opaque {
                    if let Opaque::Not(allowed_out) = have
                        && self
                            .includes_strict(&[banned], &[*allowed_out], path)
                            .is_empty()
                    {
                        return None;
                    }
                }
                if self.disjoint_from(w, &[banned]) {
                    return None;
                }
                Some(Break::new(
                    path,
                    Rule::Not,
                    "{R} excludes (not) instances that {W} may be, or inclusion is not decided here (treated as breaking)",
                ))
            }
            Opaque::Cond(node) => self.cond_in(w, node, path),
            Opaque::OneOf(node) => {
                let count = node.schema["oneOf"].as_array().map_or(0, Vec::len);
                let mut fits = 0;
                let mut overlaps = 0;
                for branch in node.schema["oneOf"].as_array().into_iter().flatten() {
                    let branch = node.child(branch);
                    let readers = self.normalize(&[branch], Side::Reader).unwrap_or_default();
                    if self.piece_in(w, &readers, path).is_empty() {
                        fits += 1;
                    } else if !self.disjoint_from(w, &[branch]) {
                        overlaps += 1;
                    }
                }
                if fits == 1 && overlaps == 0 {
                    return None;
                }
                Some(Break::new(
                    path,
                    Rule::OneOf,
                    format!(
                        "{{R}} has a oneOf of {count} branches that may overlap, so {{W}} may match none or several of them; inclusion is not decided here (treated as breaking)"
                    ),
                ))
            }
        }
    }

    fn cond_in(&mut self, w: &Piece<'a>, node: Node<'a>, path: &str) -> Option<Break> {
        let part = |key: &str| node.schema.get(key).map(|s| node.child(s));
        let (Some(cond), then, els) = (part("if"), part("then"), part("else")) else {
            return None;
        };
        let then: Conj<'a> = then.into_iter().collect();
        let els: Conj<'a> = els.into_iter().collect();
        // The writer holds the same `if`: compare the branches pairwise.
        let same_if = w.opaque.iter().find_map(|have| match have {
            Opaque::Cond(theirs) => theirs
                .schema
                .get("if")
                .filter(|i| self.deep_eq(theirs.child(i), cond))
                .map(|_| *theirs),
            _ => None,
        });
        if let Some(theirs) = same_if {
            let mut ok = true;
            for (key, readers) in [("then", &then), ("else", &els)] {
                let mut writer = w.clone();
                writer.opaque.clear();
                let pieces = match theirs.schema.get(key) {
                    Some(s) => self.apply_to(vec![writer], theirs.child(s), Side::Writer),
                    None => Some(vec![writer]),
                };
                let readers = self.normalize(readers, Side::Reader).unwrap_or_default();
                for p in pieces.unwrap_or_default() {
                    ok &= self.piece_in(&p, &readers, path).is_empty();
                }
            }
            if ok {
                return None;
            }
        } else {
            let mut writer = w.clone();
            writer.opaque.clear();
            let both: Conj<'a> = then.iter().chain(els.iter()).copied().collect();
            let readers = self.normalize(&both, Side::Reader).unwrap_or_default();
            if self.piece_in(&writer, &readers, path).is_empty() {
                return None;
            }
            let if_readers = self.normalize(&[cond], Side::Reader).unwrap_or_default();
            let target = if self.piece_in(&writer, &if_readers, path).is_empty() {
                Some(&then)
            } else if self.disjoint_from(&writer, &[cond]) {
                Some(&els)
            } else {
                None
            };
            if let Some(target) = target {
                let readers = self.normalize(target, Side::Reader).unwrap_or_default();
                if self.piece_in(&writer, &readers, path).is_empty() {
                    return None;
                }
            }
        }
        Some(Break::new(
            path,
            Rule::Conditional,
            "{R} applies if/then/else that rejects instances {W} may be, or inclusion is not decided here (treated as breaking)",
        ))
    }

    fn opaque_eq(&mut self, a: Opaque<'a>, b: Opaque<'a>) -> bool {
        match (a, b) {
            (Opaque::Not(x), Opaque::Not(y)) => self.deep_eq(x, y),
            (Opaque::Cond(x), Opaque::Cond(y)) => {
                ["if", "then", "else"]
                    .iter()
                    .all(|k| match (x.schema.get(*k), y.schema.get(*k)) {
                        (None, None) => true,
                        (Some(p), Some(q)) => self.deep_eq(x.child(p), y.child(q)),
                        _ => false,
                    })
            }
            (Opaque::OneOf(x), Opaque::OneOf(y)) => {
                let (Some(xs), Some(ys)) =
                    (x.schema["oneOf"].as_array(), y.schema["oneOf"].as_array())
                else {
                    return false;
                };
                xs.len() == ys.len()
                    && xs
                        .iter()
                        .all(|p| ys.iter().any(|q| self.deep_eq(x.child(p), y.child(q))))
            }
            _ => false,
        }
    }

    // ------------------------------------------------------------ disjointness

    /// Whether no instance of the piece is accepted by `conj`.
    fn disjoint_from(&mut self, w: &Piece<'a>, conj: &[Node<'a>]) -> bool {
        let Some(others) = self.normalize(conj, Side::Reader) else {
            return false;
        };
        others
            .iter()
            .filter(|o| o.kind == w.kind)
            .all(|o| self.pieces_disjoint(w, o))
    }

    fn pieces_disjoint(&mut self, a: &Piece<'a>, b: &Piece<'a>) -> bool {
        if a.kind != b.kind || a.is_void() || b.is_void() {
            return true;
        }
        for (x, y) in [(a, b), (b, a)] {
            if let Some(values) = self.finite_values(x) {
                return values
                    .iter()
                    .all(|v| !self.accepts_piece(x, v) || !self.accepts_piece(y, v));
            }
        }
        match a.kind {
            Kind::Number => {
                let (al, ah) = a.bounds();
                let (bl, bh) = b.bounds();
                let above = |h: Option<Bound>, l: Option<Bound>| {
                    h.is_some_and(|h| starts_before(Some(flip(h)), l))
                };
                above(ah, bl) || above(bh, al)
            }
            Kind::String => {
                a.max_len.is_some_and(|m| m < b.min_len) || b.max_len.is_some_and(|m| m < a.min_len)
            }
            Kind::Array => {
                a.max_items.is_some_and(|m| m < b.min_items)
                    || b.max_items.is_some_and(|m| m < a.min_items)
            }
            Kind::Object => {
                // A discriminator: a property both require, with disjoint
                // schemas (internally tagged enums), or one the other forbids.
                for name in a.required.iter().chain(b.required.iter()) {
                    let (x, _) = a.schema_for(name, self);
                    let (y, _) = b.schema_for(name, self);
                    let both = a.required.contains(name) && b.required.contains(name);
                    if (both && self.conj_disjoint(&x, &y))
                        || (a.required.contains(name) && self.is_empty(&y))
                        || (b.required.contains(name) && self.is_empty(&x))
                    {
                        return true;
                    }
                }
                false
            }
            Kind::Null | Kind::Boolean => false,
        }
    }

    fn conj_disjoint(&mut self, x: &[Node<'a>], y: &[Node<'a>]) -> bool {
        let (Some(xs), Some(ys)) = (
            self.normalize(x, Side::Reader),
            self.normalize(y, Side::Reader),
        ) else {
            return false;
        };
        xs.iter()
            .all(|p| ys.iter().all(|q| self.pieces_disjoint(p, q)))
    }

    fn is_empty(&mut self, conj: &[Node<'a>]) -> bool {
        if conj.iter().any(|n| n.schema == &Value::Bool(false)) {
            return true;
        }
        match self.normalize(conj, Side::Reader) {
            Some(pieces) => pieces.iter().all(|p| {
                p.is_void()
                    || self
                        .finite_values(p)
                        .is_some_and(|vs| vs.iter().all(|v| !self.accepts_piece(p, v)))
            }),
            None => false,
        }
    }

    // ------------------------------------------------------------- validation

    /// Whether the instance is valid against the conjunction.
    fn accepts(&mut self, conj: &[Node<'a>], value: &Value) -> bool {
        if self.depth > MAX_DEPTH {
            return true;
        }
        self.depth += 1;
        let result = match self.normalize(conj, Side::Reader) {
            Some(pieces) => pieces.iter().any(|p| self.accepts_piece(p, value)),
            None => true,
        };
        self.depth -= 1;
        result
    }

    fn accepts_piece(&mut self, p: &Piece<'a>, value: &Value) -> bool {
        if Kind::of(value) != p.kind {
            return false;
        }
        if let Some(values) = &p.values
            && !values.iter().any(|v| json_eq(v, value))
        {
            return false;
        }
        if !p.formats.iter().all(|f| format_accepts(f, value)) {
            return false;
        }
        let ok = match value {
            Value::Number(n) => {
                let x = n.as_f64().unwrap_or(f64::NAN);
                (!p.integer || x.fract() == 0.0)
                    && starts_before(
                        p.lower,
                        Some(Bound {
                            value: x,
                            exclusive: false,
                        }),
                    )
                    && !cmp_upper(
                        p.upper,
                        Some(Bound {
                            value: x,
                            exclusive: false,
                        }),
                    )
                    .is_lt()
                    && p.multiple_of.iter().all(|&m| is_multiple(x, m))
            }
            Value::String(s) => {
                let len = s.chars().count() as u64;
                len >= p.min_len
                    && p.max_len.is_none_or(|m| len <= m)
                    && p.patterns
                        .clone()
                        .iter()
                        .all(|pat| self.matches(pat, s) != Some(false))
            }
            Value::Array(items) => {
                let n = items.len() as u64;
                n >= p.min_items
                    && p.max_items.is_none_or(|m| n <= m)
                    && (!p.unique || all_distinct(items))
                    && items.iter().enumerate().all(|(i, item)| {
                        let conj = p.position(i).clone();
                        self.accepts(&conj, item)
                    })
                    && p.contains.clone().iter().all(|c| {
                        let c = c.clone();
                        items.iter().any(|item| self.accepts(&c, item))
                    })
            }
            Value::Object(map) => self.object_accepts(p, map),
            Value::Null | Value::Bool(_) => true,
        };
        ok && p
            .opaque
            .clone()
            .iter()
            .all(|op| self.opaque_accepts(*op, value))
    }

    fn object_accepts(&mut self, p: &Piece<'a>, map: &Map<String, Value>) -> bool {
        let n = map.len() as u64;
        if n < p.min_props || p.max_props.is_some_and(|m| n > m) {
            return false;
        }
        if !p.required.iter().all(|r| map.contains_key(r)) {
            return false;
        }
        for (trigger, needs) in &p.dep_required {
            if map.contains_key(trigger) && !needs.iter().all(|n| map.contains_key(n)) {
                return false;
            }
        }
        let whole = Value::Object(map.clone());
        for (trigger, schemas) in p.dep_schemas.clone() {
            if map.contains_key(&trigger) && !self.accepts(&schemas, &whole) {
                return false;
            }
        }
        for (key, value) in map {
            let name = Value::String(key.clone());
            for names in p.prop_names.clone() {
                if !self.accepts(&names, &name) {
                    return false;
                }
            }
            let (conj, _) = p.schema_for(key, self);
            if !self.accepts(&conj, value) {
                return false;
            }
        }
        true
    }

    fn opaque_accepts(&mut self, op: Opaque<'a>, value: &Value) -> bool {
        match op {
            Opaque::Not(node) => !self.accepts(&[node], value),
            Opaque::Cond(node) => {
                let Some(cond) = node.schema.get("if") else {
                    return true;
                };
                let key = if self.accepts(&[node.child(cond)], value) {
                    "then"
                } else {
                    "else"
                };
                node.schema
                    .get(key)
                    .is_none_or(|s| self.accepts(&[node.child(s)], value))
            }
            Opaque::OneOf(node) => {
                let branches: Vec<Node<'a>> = node.schema["oneOf"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|b| node.child(b))
                    .collect();
                branches
                    .iter()
                    .filter(|b| self.accepts(&[**b], value))
                    .count()
                    == 1
            }
        }
    }

    // ----------------------------------------------------------- normalising

    /// The union of pieces `conj` accepts; `None` past [`MAX_PIECES`].
    fn normalize(&mut self, conj: &[Node<'a>], side: Side) -> Option<Vec<Piece<'a>>> {
        let mut pieces: Vec<Piece<'a>> = KINDS.iter().map(|k| Piece::any(*k)).collect();
        for node in conj {
            pieces = self.apply_to(pieces, *node, side)?;
        }
        if side == Side::Writer && self.lenient {
            for p in &mut pieces {
                // A struct's generated writer never sends what it does not declare.
                if p.kind == Kind::Object && !p.extras_explicit && !p.props.is_empty() {
                    p.additional = vec![never()];
                }
            }
        }
        Some(pieces)
    }

    /// Narrows every piece by one schema.
    fn apply_to(
        &mut self,
        pieces: Vec<Piece<'a>>,
        node: Node<'a>,
        side: Side,
    ) -> Option<Vec<Piece<'a>>> {
        self.apply_guarded(pieces, node, side, &mut Vec::new())
    }

    fn apply_guarded(
        &mut self,
        mut pieces: Vec<Piece<'a>>,
        node: Node<'a>,
        side: Side,
        refs: &mut Vec<usize>,
    ) -> Option<Vec<Piece<'a>>> {
        let obj = match node.schema {
            Value::Bool(true) => return Some(pieces),
            Value::Bool(false) => return Some(Vec::new()),
            Value::Object(obj) => obj,
            _ => {
                self.error("a schema must be an object or a boolean".into());
                return Some(pieces);
            }
        };
        if let Some(reference) = obj.get("$ref").and_then(Value::as_str) {
            match resolve(node.root, reference) {
                Some(target) => {
                    let at = target as *const Value as usize;
                    // `{"$ref": "#"}` at the same instance location would
                    // recurse forever and adds nothing: skip it.
                    if !refs.contains(&at) {
                        refs.push(at);
                        pieces = self.apply_guarded(pieces, node.child(target), side, refs)?;
                        refs.pop();
                    }
                }
                None => self.error(format!("unresolvable $ref `{reference}`")),
            }
        }
        if let Some(types) = obj.get("type") {
            pieces = self.apply_type(pieces, types);
        }
        let values = match (obj.get("const"), obj.get("enum")) {
            (Some(c), _) => Some(vec![c.clone()]),
            (None, Some(Value::Array(vs))) => Some(vs.clone()),
            _ => None,
        };
        if let Some(values) = values {
            for p in &mut pieces {
                let mine: Vec<Value> = values
                    .iter()
                    .filter(|v| Kind::of(v) == p.kind)
                    .filter(|v| {
                        p.values
                            .as_ref()
                            .is_none_or(|have| have.iter().any(|h| json_eq(h, v)))
                    })
                    .cloned()
                    .collect();
                p.values = Some(mine);
            }
        }
        for p in &mut pieces {
            self.apply_keywords(p, node, obj);
        }
        pieces.retain(|p| !p.is_void());

        if let Some(Value::Array(all)) = obj.get("allOf") {
            for sub in all {
                pieces = self.apply_guarded(pieces, node.child(sub), side, refs)?;
            }
        }
        if let Some(Value::Array(any)) = obj.get("anyOf") {
            pieces = self.distribute(pieces, node, any, side, refs)?;
        }
        if let Some(Value::Array(one)) = obj.get("oneOf") {
            // A oneOf is exactly its anyOf when no instance can match two
            // branches; otherwise the anyOf over-approximates it, and the
            // exact constraint stays beside it (for a reader, to be checked;
            // for a writer, to be recognised in the reader).
            let disjoint = self.branches_disjoint(node, one);
            pieces = self.distribute(pieces, node, one, side, refs)?;
            if !disjoint {
                for p in &mut pieces {
                    p.opaque.push(Opaque::OneOf(node));
                }
            }
        }
        if let Some(banned) = obj.get("not") {
            let banned = node.child(banned);
            match self.normalize(&[banned], Side::Reader) {
                // `not: {type: ...}`: removes whole types exactly.
                Some(out) if out.iter().all(Piece::is_whole) => {
                    pieces.retain(|p| {
                        !out.iter()
                            .any(|o| o.kind == p.kind && (!o.integer || p.integer))
                    });
                }
                _ => {
                    for p in &mut pieces {
                        p.opaque.push(Opaque::Not(banned));
                    }
                }
            }
        }
        if obj.contains_key("if") && (obj.contains_key("then") || obj.contains_key("else")) {
            for p in &mut pieces {
                p.opaque.push(Opaque::Cond(node));
            }
        }
        if pieces.len() > MAX_PIECES {
            return None;
        }
        Some(pieces)
    }

    fn distribute(
        &mut self,
        pieces: Vec<Piece<'a>>,
        node: Node<'a>,
        branches: &'a [Value],
        side: Side,
        refs: &mut Vec<usize>,
    ) -> Option<Vec<Piece<'a>>> {
        let mut out = Vec::new();
        for branch in branches {
            out.extend(self.apply_guarded(pieces.clone(), node.child(branch), side, refs)?);
            if out.len() > MAX_PIECES {
                return None;
            }
        }
        Some(out)
    }

    fn branches_disjoint(&mut self, node: Node<'a>, branches: &'a [Value]) -> bool {
        let normalized: Vec<Option<Vec<Piece<'a>>>> = branches
            .iter()
            .map(|b| self.normalize(&[node.child(b)], Side::Reader))
            .collect();
        for (i, a) in normalized.iter().enumerate() {
            for b in &normalized[i + 1..] {
                let (Some(a), Some(b)) = (a, b) else {
                    return false;
                };
                for p in a {
                    for q in b {
                        if !self.pieces_disjoint(p, q) {
                            return false;
                        }
                    }
                }
            }
        }
        true
    }

    fn apply_type(&mut self, pieces: Vec<Piece<'a>>, types: &Value) -> Vec<Piece<'a>> {
        let names: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => {
                self.error(format!("`type` must be a string or an array, not {types}"));
                return pieces;
            }
        };
        let mut kinds = BTreeSet::new();
        let mut integer_only = true;
        for name in names {
            let kind = match name {
                "null" => Kind::Null,
                "boolean" => Kind::Boolean,
                "integer" => Kind::Number,
                "number" => {
                    integer_only = false;
                    Kind::Number
                }
                "string" => Kind::String,
                "array" => Kind::Array,
                "object" => Kind::Object,
                other => {
                    self.error(format!("unknown type `{other}`"));
                    continue;
                }
            };
            kinds.insert(kind);
        }
        pieces
            .into_iter()
            .filter(|p| kinds.contains(&p.kind))
            .map(|mut p| {
                if p.kind == Kind::Number && integer_only {
                    p.integer = true;
                }
                p
            })
            .collect()
    }

    /// The keywords that constrain one type, merged into a piece of it.
    fn apply_keywords(&mut self, p: &mut Piece<'a>, node: Node<'a>, obj: &'a Map<String, Value>) {
        let num = |k: &str| obj.get(k).and_then(Value::as_f64);
        let count = |k: &str| obj.get(k).and_then(Value::as_u64);
        if let Some(format) = obj.get("format").and_then(Value::as_str) {
            let applies = match p.kind {
                Kind::String => !is_numeric_format(format),
                Kind::Number => is_numeric_format(format),
                _ => false,
            };
            if applies {
                p.formats.insert(format.to_owned());
            }
        }
        match p.kind {
            Kind::Number => {
                // Draft 4 spelled exclusive bounds as booleans beside minimum.
                let excl_min_flag = obj.get("exclusiveMinimum") == Some(&Value::Bool(true));
                let excl_max_flag = obj.get("exclusiveMaximum") == Some(&Value::Bool(true));
                if let Some(v) = num("minimum") {
                    tighten_lower(&mut p.lower, v, excl_min_flag);
                }
                if let Some(v) = num("exclusiveMinimum") {
                    tighten_lower(&mut p.lower, v, true);
                }
                if let Some(v) = num("maximum") {
                    tighten_upper(&mut p.upper, v, excl_max_flag);
                }
                if let Some(v) = num("exclusiveMaximum") {
                    tighten_upper(&mut p.upper, v, true);
                }
                if let Some(m) = num("multipleOf").filter(|m| *m > 0.0) {
                    p.multiple_of.push(m);
                }
            }
            Kind::String => {
                if let Some(v) = count("minLength") {
                    p.min_len = p.min_len.max(v);
                }
                if let Some(v) = count("maxLength") {
                    p.max_len = Some(p.max_len.map_or(v, |m| m.min(v)));
                }
                if let Some(pattern) = obj.get("pattern").and_then(Value::as_str)
                    && !p.patterns.iter().any(|x| x == pattern)
                {
                    p.patterns.push(pattern.to_owned());
                }
                for keyword in ["contentEncoding", "contentMediaType"] {
                    if let Some(v) = obj.get(keyword).and_then(Value::as_str) {
                        p.content.insert((keyword.to_owned(), v.to_owned()));
                    }
                }
            }
            Kind::Array => self.apply_array(p, node, obj),
            Kind::Object => self.apply_object(p, node, obj),
            Kind::Null | Kind::Boolean => {}
        }
    }

    fn apply_array(&mut self, p: &mut Piece<'a>, node: Node<'a>, obj: &'a Map<String, Value>) {
        let count = |k: &str| obj.get(k).and_then(Value::as_u64);
        // Draft 2020-12: prefixItems + items; before: items (array) + additionalItems.
        let (prefix, rest): (Vec<&'a Value>, Option<&'a Value>) =
            match (obj.get("prefixItems"), obj.get("items")) {
                (Some(Value::Array(pre)), items) => (pre.iter().collect(), items),
                (_, Some(Value::Array(pre))) => (pre.iter().collect(), obj.get("additionalItems")),
                (_, items) => (Vec::new(), items),
            };
        let rest = rest.or_else(|| obj.get("unevaluatedItems"));
        let span = p.prefix.len().max(prefix.len());
        let mut merged = Vec::with_capacity(span);
        for i in 0..span {
            let mut conj = p.position(i).clone();
            match prefix.get(i) {
                Some(s) => conj.push(node.child(s)),
                None => conj.extend(rest.map(|s| node.child(s))),
            }
            merged.push(conj);
        }
        p.prefix = merged;
        p.rest.extend(rest.map(|s| node.child(s)));
        if let Some(v) = count("minItems") {
            p.min_items = p.min_items.max(v);
        }
        if let Some(v) = count("maxItems") {
            p.max_items = Some(p.max_items.map_or(v, |m| m.min(v)));
        }
        if obj.get("uniqueItems") == Some(&Value::Bool(true)) {
            p.unique = true;
        }
        if let Some(c) = obj.get("contains")
            && obj.get("minContains").and_then(Value::as_u64) != Some(0)
        {
            p.contains.push(vec![node.child(c)]);
        }
    }

    fn apply_object(&mut self, p: &mut Piece<'a>, node: Node<'a>, obj: &'a Map<String, Value>) {
        let count = |k: &str| obj.get(k).and_then(Value::as_u64);
        let props = obj
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&NO_MAP);
        let patterns = obj
            .get("patternProperties")
            .and_then(Value::as_object)
            .unwrap_or(&NO_MAP);
        let additional = obj
            .get("additionalProperties")
            .or_else(|| obj.get("unevaluatedProperties"));
        let layer_has_object_words =
            !props.is_empty() || !patterns.is_empty() || additional.is_some();
        if layer_has_object_words {
            // What this layer says of a name the piece already declares.
            let names: Vec<String> = p.props.keys().cloned().collect();
            for name in names {
                if props.contains_key(&name) {
                    continue;
                }
                let mut extra: Conj<'a> = Vec::new();
                let mut matched = false;
                for (pattern, s) in patterns {
                    if self.matches(pattern, &name) != Some(false) {
                        extra.push(node.child(s));
                        matched = true;
                    }
                }
                if !matched {
                    extra.extend(additional.map(|s| node.child(s)));
                }
                p.props.get_mut(&name).expect("listed above").extend(extra);
            }
            // Names this layer declares that the piece did not.
            for (name, s) in props {
                let entry = match p.props.get(name) {
                    Some(_) => p.props.get_mut(name).expect("present"),
                    None => {
                        let (before, _) = p.schema_for(name, self);
                        p.props.entry(name.clone()).or_insert(before)
                    }
                };
                entry.push(node.child(s));
                let pattern_hits: Vec<Node<'a>> = patterns
                    .iter()
                    .filter(|(pattern, _)| self.matches(pattern, name) != Some(false))
                    .map(|(_, s)| node.child(s))
                    .collect();
                p.props
                    .get_mut(name)
                    .expect("inserted above")
                    .extend(pattern_hits);
            }
            for (pattern, s) in patterns {
                match p.pattern_props.iter_mut().find(|(q, _)| q == pattern) {
                    Some((_, conj)) => conj.push(node.child(s)),
                    None => {
                        let mut conj = p.additional.clone();
                        conj.push(node.child(s));
                        p.pattern_props.push((pattern.clone(), conj));
                    }
                }
            }
            if let Some(a) = additional {
                let a = node.child(a);
                for (pattern, conj) in &mut p.pattern_props {
                    if !patterns.contains_key(pattern) {
                        conj.push(a);
                    }
                }
                p.additional.push(a);
            }
            if !patterns.is_empty() || additional.is_some() {
                p.extras_explicit = true;
            }
        }
        if let Some(Value::Array(required)) = obj.get("required") {
            p.required
                .extend(required.iter().filter_map(Value::as_str).map(str::to_owned));
        }
        if let Some(v) = count("minProperties") {
            p.min_props = p.min_props.max(v);
        }
        if let Some(v) = count("maxProperties") {
            p.max_props = Some(p.max_props.map_or(v, |m| m.min(v)));
        }
        if let Some(names) = obj.get("propertyNames") {
            p.prop_names.push(vec![node.child(names)]);
        }
        for keyword in ["dependencies", "dependentRequired", "dependentSchemas"] {
            let Some(Value::Object(deps)) = obj.get(keyword) else {
                continue;
            };
            for (trigger, dep) in deps {
                match dep {
                    Value::Array(names) => {
                        p.dep_required
                            .entry(trigger.clone())
                            .or_default()
                            .extend(names.iter().filter_map(Value::as_str).map(str::to_owned));
                    }
                    schema => p
                        .dep_schemas
                        .entry(trigger.clone())
                        .or_default()
                        .push(node.child(schema)),
                }
            }
        }
    }

    // ------------------------------------------------------------- equality

    /// Structural equality with `$ref`s followed on both sides.
    fn deep_eq(&mut self, a: Node<'a>, b: Node<'a>) -> bool {
        let mut seen = HashSet::new();
        eq_nodes(a, b, &mut seen, 0)
    }
}

fn eq_nodes<'a>(
    a: Node<'a>,
    b: Node<'a>,
    seen: &mut HashSet<(NodeKey, NodeKey)>,
    depth: usize,
) -> bool {
    if depth > MAX_DEPTH || !seen.insert((a.key(), b.key())) {
        return true;
    }
    match (a.schema, b.schema) {
        (Value::Object(x), Value::Object(y)) => {
            let refs = (
                x.get("$ref").and_then(Value::as_str),
                y.get("$ref").and_then(Value::as_str),
            );
            match refs {
                (Some(rx), Some(ry)) => match (resolve(a.root, rx), resolve(b.root, ry)) {
                    (Some(tx), Some(ty)) => {
                        if !eq_nodes(a.child(tx), b.child(ty), seen, depth + 1) {
                            return false;
                        }
                    }
                    _ => return false,
                },
                (None, None) => {}
                _ => return false,
            }
            let keys: BTreeSet<&String> = x
                .keys()
                .chain(y.keys())
                .filter(|k| *k != "$ref" && !is_annotation(k))
                .collect();
            keys.into_iter().all(|k| match (x.get(k), y.get(k)) {
                (Some(p), Some(q)) => eq_nodes(a.child(p), b.child(q), seen, depth + 1),
                _ => false,
            })
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|(p, q)| eq_nodes(a.child(p), b.child(q), seen, depth + 1))
        }
        (x, y) => json_eq(x, y),
    }
}

fn is_annotation(key: &str) -> bool {
    matches!(
        key,
        "title"
            | "description"
            | "default"
            | "examples"
            | "$comment"
            | "$id"
            | "id"
            | "$schema"
            | "$anchor"
            | "deprecated"
            | "readOnly"
            | "writeOnly"
            | "definitions"
            | "$defs"
    ) || key.starts_with("x-")
}

/// Follows a local reference: `#`, a JSON pointer, or a plain-name fragment
/// (`#Address`, declared by `$anchor` or a draft-07 `$id`).
fn resolve<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let (base, fragment) = reference.split_once('#').unwrap_or((reference, ""));
    if !base.is_empty() && root.get("$id").and_then(Value::as_str) != Some(base) {
        return None;
    }
    if fragment.is_empty() {
        return Some(root);
    }
    if fragment.starts_with('/') {
        let decoded = percent_decode(fragment);
        return root.pointer(&decoded);
    }
    find_anchor(root, fragment)
}

fn find_anchor<'a>(schema: &'a Value, name: &str) -> Option<&'a Value> {
    match schema {
        Value::Object(obj) => {
            let hash = format!("#{name}");
            if obj.get("$anchor").and_then(Value::as_str) == Some(name)
                || obj.get("$id").and_then(Value::as_str) == Some(hash.as_str())
            {
                return Some(schema);
            }
            obj.values().find_map(|v| find_anchor(v, name))
        }
        Value::Array(items) => items.iter().find_map(|v| find_anchor(v, name)),
        _ => None,
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Why a string matching every writer pattern may fail the reader's, if it
/// may. No writer pattern at all is the empty pattern, which admits anything.
fn pattern_break(writer: &[String], reader: &str) -> Option<String> {
    let candidates: Vec<&str> = if writer.is_empty() {
        vec![""]
    } else {
        writer.iter().map(String::as_str).collect()
    };
    let mut why = None;
    for candidate in candidates {
        match patterns::included(candidate, reader) {
            Inclusion::Included => return None,
            Inclusion::Excluded(example) if candidate.is_empty() => {
                why = Some(format!(
                    "{{R}} requires pattern `{reader}`; {{W}} need not match it (e.g. {})",
                    Value::String(example)
                ));
            }
            Inclusion::Excluded(example) => {
                why = Some(format!(
                    "{{R}} requires pattern `{reader}`; {{W}} match `{candidate}`, which admits {} that it rejects",
                    Value::String(example)
                ));
            }
            Inclusion::Undecided(reason) => {
                why.get_or_insert(format!(
                    "{{R}} requires pattern `{reader}`, {{W}} match `{candidate}`: inclusion not decided ({reason}), so treated as breaking"
                ));
            }
        }
    }
    why
}

/// Two patterns no name can match both: anchored at the start with literal
/// prefixes that part ways (`^S_` and `^I_`). Anything else is not decided.
fn patterns_disjoint(a: &str, b: &str) -> bool {
    fn literal_prefix(pattern: &str) -> Option<String> {
        let rest = pattern.strip_prefix('^')?;
        let mut literal = String::new();
        for c in rest.chars() {
            match c {
                '\\' | '.' | '[' | '(' | '|' | '$' | '^' => break,
                // The character before a quantifier may be absent.
                '*' | '?' | '{' => {
                    literal.pop();
                    break;
                }
                '+' => break,
                c => literal.push(c),
            }
        }
        Some(literal).filter(|l| !l.is_empty())
    }
    match (literal_prefix(a), literal_prefix(b)) {
        (Some(x), Some(y)) => !x.starts_with(&y) && !y.starts_with(&x),
        _ => false,
    }
}

fn child_path(path: &str, name: &str) -> String {
    if name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !name.is_empty()
    {
        format!("{path}.{name}")
    } else {
        format!("{path}[{}]", Value::String(name.to_owned()))
    }
}

/// Numbers compare by value (`1` equals `1.0`), everything else as JSON.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

fn all_distinct(items: &[Value]) -> bool {
    items
        .iter()
        .enumerate()
        .all(|(i, a)| items[i + 1..].iter().all(|b| !json_eq(a, b)))
}

fn is_multiple(x: f64, of: f64) -> bool {
    let q = x / of;
    (q - q.round()).abs() < 1e-9
}

fn tighten_lower(bound: &mut Option<Bound>, value: f64, exclusive: bool) {
    let new = Bound { value, exclusive };
    if starts_before(*bound, Some(new)) {
        *bound = Some(new);
    }
}

fn tighten_upper(bound: &mut Option<Bound>, value: f64, exclusive: bool) {
    let new = Bound { value, exclusive };
    if !cmp_upper(*bound, Some(new)).is_lt() {
        *bound = Some(new);
    }
}

/// Whether lower bound `a` admits everything lower bound `b` admits.
fn starts_before(a: Option<Bound>, b: Option<Bound>) -> bool {
    match (a, b) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(a), Some(b)) => {
            a.value < b.value || (a.value == b.value && (!a.exclusive || b.exclusive))
        }
    }
}

/// Whether upper bound `h` admits the lowest point lower bound `at` admits.
fn upper_admits(h: Option<Bound>, at: Option<Bound>) -> bool {
    match (h, at) {
        (None, _) | (_, None) => true,
        (Some(h), Some(at)) => {
            h.value > at.value || (h.value == at.value && !h.exclusive && !at.exclusive)
        }
    }
}

/// Orders upper bounds by how much they admit (`None` is unbounded).
fn cmp_upper(a: Option<Bound>, b: Option<Bound>) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    match (a, b) {
        (None, None) => Equal,
        (None, Some(_)) => Greater,
        (Some(_), None) => Less,
        (Some(a), Some(b)) => {
            a.value
                .partial_cmp(&b.value)
                .unwrap_or(Equal)
                .then(match (a.exclusive, b.exclusive) {
                    (false, true) => Greater,
                    (true, false) => Less,
                    _ => Equal,
                })
        }
    }
}

/// An upper bound seen as the lower bound of what lies above it.
fn flip(b: Bound) -> Bound {
    Bound {
        value: b.value,
        exclusive: !b.exclusive,
    }
}

fn show_lower(b: Option<Bound>) -> String {
    match b {
        None => "none".into(),
        Some(b) if b.exclusive => format!("> {}", b.value),
        Some(b) => format!(">= {}", b.value),
    }
}

fn show_upper(b: Option<Bound>) -> String {
    match b {
        None => "none".into(),
        Some(b) if b.exclusive => format!("< {}", b.value),
        Some(b) => format!("<= {}", b.value),
    }
}

fn show_opt(v: Option<u64>) -> String {
    v.map_or_else(|| "none".into(), |v| v.to_string())
}

/// schemars marks integer widths with formats such as `uint32`.
fn is_numeric_format(format: &str) -> bool {
    matches!(
        format,
        "int8"
            | "int16"
            | "int32"
            | "int64"
            | "int128"
            | "uint8"
            | "uint16"
            | "uint32"
            | "uint64"
            | "uint128"
            | "uint"
            | "int"
            | "float"
            | "double"
    )
}

/// Checks the formats a reader can be expected to assert; others are
/// accepted (JSON Schema treats unknown formats as annotations).
fn format_accepts(format: &str, value: &Value) -> bool {
    match (format, value) {
        ("date-time", Value::String(s)) => chrono::DateTime::parse_from_rfc3339(s).is_ok(),
        ("date", Value::String(s)) => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok(),
        ("uuid", Value::String(s)) => uuid::Uuid::parse_str(s).is_ok() && s.len() == 36,
        ("email", Value::String(s)) => s
            .split_once('@')
            .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty()),
        ("uint8" | "uint16" | "uint32" | "uint64" | "uint", Value::Number(n)) => {
            n.as_u64().is_some()
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
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
        let new =
            json!({"type": "object", "additionalProperties": {"type": "string", "maxLength": 3}});
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
        let new = edit(|v| {
            v["$defs"]["Data"]["properties"]["tags"]["items"] = json!({"type": "integer"})
        });
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
        let inline = json!({"type": "object", "properties": {"kind": {"type": "string", "enum": ["a", "b"]}}});
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
}
