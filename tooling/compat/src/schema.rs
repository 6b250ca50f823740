//! A schema as the engine holds it: nodes with their documents, and the
//! pieces (one JSON type each, constraints merged) a union normalises to.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde_json::{Map, Value};

use crate::bounds::Bound;

/// A subschema together with the document its `$ref`s resolve against.
#[derive(Clone, Copy)]
pub(crate) struct Node<'a> {
    pub(crate) schema: &'a Value,
    pub(crate) root: &'a Value,
}

impl<'a> Node<'a> {
    pub(crate) fn root(schema: &'a Value) -> Self {
        Self {
            schema,
            root: schema,
        }
    }

    pub(crate) fn child(self, schema: &'a Value) -> Self {
        Self {
            schema,
            root: self.root,
        }
    }

    pub(crate) fn key(self) -> NodeKey {
        (
            self.schema as *const Value as usize,
            self.root as *const Value as usize,
        )
    }
}

/// A subschema's identity: its address and its document's.
pub(crate) type NodeKey = (usize, usize);
/// Writer conjunction, reader conjunction, lenient.
pub(crate) type PairKey = (Vec<NodeKey>, Vec<NodeKey>, bool);

// Schemas nest deeper than this only by recursion through `$ref`.
pub(crate) const MAX_DEPTH: usize = 64;
// anyOf distributed over anyOf can explode; past this the union is not
// enumerated and the comparison reports that it gave up.
pub(crate) const MAX_PIECES: usize = 512;

pub(crate) static FALSE: Value = Value::Bool(false);
pub(crate) static NO_MAP: std::sync::LazyLock<Map<String, Value>> =
    std::sync::LazyLock::new(Map::new);

pub(crate) fn never<'a>() -> Node<'a> {
    Node {
        schema: &FALSE,
        root: &FALSE,
    }
}

/// A conjunction of subschemas: what applies to one location.
pub(crate) type Conj<'a> = Vec<Node<'a>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Kind {
    Null,
    Boolean,
    Number,
    String,
    Array,
    Object,
}

pub(crate) const KINDS: [Kind; 6] = [
    Kind::Null,
    Kind::Boolean,
    Kind::Number,
    Kind::String,
    Kind::Array,
    Kind::Object,
];

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Null => "null",
            Kind::Boolean => "boolean",
            Kind::Number => "number",
            Kind::String => "string",
            Kind::Array => "array",
            Kind::Object => "object",
        }
    }

    pub(crate) fn of(value: &Value) -> Kind {
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

/// A constraint that is not folded into a piece, kept so the reader's can be
/// checked against the writer's.
#[derive(Clone, Copy)]
pub(crate) enum Opaque<'a> {
    Not(Node<'a>),
    /// The schema object holding `if`/`then`/`else`.
    Cond(Node<'a>),
    /// The schema object holding a `oneOf` whose branches may overlap.
    OneOf(Node<'a>),
}

/// One JSON type with its merged constraints.
#[derive(Clone)]
pub(crate) struct Piece<'a> {
    pub(crate) kind: Kind,
    pub(crate) values: Option<Vec<Value>>,
    pub(crate) formats: BTreeSet<String>,
    pub(crate) opaque: Vec<Opaque<'a>>,
    // number
    pub(crate) integer: bool,
    pub(crate) lower: Option<Bound>,
    pub(crate) upper: Option<Bound>,
    pub(crate) multiple_of: Vec<f64>,
    // string
    pub(crate) min_len: u64,
    pub(crate) max_len: Option<u64>,
    pub(crate) patterns: Vec<String>,
    pub(crate) content: BTreeSet<(String, String)>,
    // array
    pub(crate) prefix: Vec<Conj<'a>>,
    pub(crate) rest: Conj<'a>,
    pub(crate) min_items: u64,
    pub(crate) max_items: Option<u64>,
    pub(crate) unique: bool,
    pub(crate) contains: Vec<Conj<'a>>,
    // object
    pub(crate) props: BTreeMap<String, Conj<'a>>,
    pub(crate) pattern_props: Vec<(String, Conj<'a>)>,
    pub(crate) additional: Conj<'a>,
    /// Some layer said what undeclared properties may be.
    pub(crate) extras_explicit: bool,
    pub(crate) required: BTreeSet<String>,
    pub(crate) min_props: u64,
    pub(crate) max_props: Option<u64>,
    pub(crate) prop_names: Vec<Conj<'a>>,
    pub(crate) dep_required: BTreeMap<String, BTreeSet<String>>,
    pub(crate) dep_schemas: BTreeMap<String, Vec<Node<'a>>>,
}

impl<'a> Piece<'a> {
    pub(crate) fn any(kind: Kind) -> Self {
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
    pub(crate) fn is_whole(&self) -> bool {
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
    pub(crate) fn is_void(&self) -> bool {
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
    pub(crate) fn bounds(&self) -> (Option<Bound>, Option<Bound>) {
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

    pub(crate) fn position(&self, i: usize) -> &Conj<'a> {
        self.prefix.get(i).unwrap_or(&self.rest)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    Declared,
    Pattern,
    Additional,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Writer,
    Reader,
}

pub(crate) fn eq_nodes<'a>(
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

pub(crate) fn is_annotation(key: &str) -> bool {
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
pub(crate) fn resolve<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
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

pub(crate) fn find_anchor<'a>(schema: &'a Value, name: &str) -> Option<&'a Value> {
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

pub(crate) fn percent_decode(text: &str) -> String {
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

/// Numbers compare by value (`1` equals `1.0`), everything else as JSON.
pub(crate) fn json_eq(a: &Value, b: &Value) -> bool {
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
