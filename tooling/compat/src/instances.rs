//! What a conjunction accepts: single values checked against pieces, and
//! pieces that no instance of another can satisfy (disjointness).

use serde_json::{Map, Value};

use crate::bounds::*;
use crate::inclusion::Cx;
use crate::schema::*;

impl<'a> Cx<'a> {
    // ------------------------------------------------------------ disjointness

    /// Whether no instance of the piece is accepted by `conj`.
    pub(crate) fn disjoint_from(&mut self, w: &Piece<'a>, conj: &[Node<'a>]) -> bool {
        let Some(others) = self.normalize(conj, Side::Reader) else {
            return false;
        };
        others
            .iter()
            .filter(|o| o.kind == w.kind)
            .all(|o| self.pieces_disjoint(w, o))
    }

    pub(crate) fn pieces_disjoint(&mut self, a: &Piece<'a>, b: &Piece<'a>) -> bool {
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

    pub(crate) fn conj_disjoint(&mut self, x: &[Node<'a>], y: &[Node<'a>]) -> bool {
        let (Some(xs), Some(ys)) = (
            self.normalize(x, Side::Reader),
            self.normalize(y, Side::Reader),
        ) else {
            return false;
        };
        xs.iter()
            .all(|p| ys.iter().all(|q| self.pieces_disjoint(p, q)))
    }

    pub(crate) fn is_empty(&mut self, conj: &[Node<'a>]) -> bool {
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
    pub(crate) fn accepts(&mut self, conj: &[Node<'a>], value: &Value) -> bool {
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

    pub(crate) fn accepts_piece(&mut self, p: &Piece<'a>, value: &Value) -> bool {
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

    pub(crate) fn object_accepts(&mut self, p: &Piece<'a>, map: &Map<String, Value>) -> bool {
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

    pub(crate) fn opaque_accepts(&mut self, op: Opaque<'a>, value: &Value) -> bool {
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
}

pub(crate) fn all_distinct(items: &[Value]) -> bool {
    items
        .iter()
        .enumerate()
        .all(|(i, a)| items[i + 1..].iter().all(|b| !json_eq(a, b)))
}

/// Checks the formats a reader can be expected to assert; others are
/// accepted (JSON Schema treats unknown formats as annotations).
pub(crate) fn format_accepts(format: &str, value: &Value) -> bool {
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
