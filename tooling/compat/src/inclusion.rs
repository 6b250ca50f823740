//! Inclusion: every writer piece fits into a reader piece, keyword by
//! keyword; nested schemas compared lazily, assumed pairs coinductively.

mod arrays;
mod objects;
mod opaque;
mod scalars;

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;

use crate::bounds::*;
use crate::findings::{Break, Rule};
use crate::patterns::{self};
use crate::schema::*;

pub(crate) struct Cx<'a> {
    pub(crate) lenient: bool,
    /// Pairs being compared further up: assumed included (coinduction).
    pub(crate) assumed: HashSet<PairKey>,
    pub(crate) depth: usize,
    pub(crate) errors: Vec<String>,
    pub(crate) regexes: BTreeMap<String, Option<regex::Regex>>,
    pub(crate) nodes: std::marker::PhantomData<Node<'a>>,
}

impl<'a> Cx<'a> {
    pub(crate) fn new(lenient: bool) -> Self {
        Cx {
            lenient,
            assumed: HashSet::new(),
            depth: 0,
            errors: Vec::new(),
            regexes: BTreeMap::new(),
            nodes: std::marker::PhantomData,
        }
    }

    pub(crate) fn error(&mut self, message: String) {
        if !self.errors.contains(&message) {
            self.errors.push(message);
        }
    }

    /// Whether `text` matches the ECMA-262 `pattern` (unanchored, as JSON
    /// Schema says); `None` when the pattern is beyond the regex engine.
    pub(crate) fn matches(&mut self, pattern: &str, text: &str) -> Option<bool> {
        let compiled = self
            .regexes
            .entry(pattern.to_owned())
            .or_insert_with(|| regex::Regex::new(&patterns::ecma_classes(pattern)).ok());
        compiled.as_ref().map(|re| re.is_match(text))
    }

    /// Everything `w` accepts, `r` accepts; else why not.
    pub(crate) fn includes(&mut self, w: &[Node<'a>], r: &[Node<'a>], path: &str) -> Vec<Break> {
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
    pub(crate) fn includes_strict(
        &mut self,
        w: &[Node<'a>],
        r: &[Node<'a>],
        path: &str,
    ) -> Vec<Break> {
        let lenient = std::mem::replace(&mut self.lenient, false);
        let out = self.includes(w, r, path);
        self.lenient = lenient;
        out
    }

    /// One writer piece against the union of reader pieces.
    pub(crate) fn piece_in(
        &mut self,
        w: &Piece<'a>,
        readers: &[Piece<'a>],
        path: &str,
    ) -> Vec<Break> {
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

    pub(crate) fn type_break(
        &self,
        writers: &[&Piece<'a>],
        readers: &[Piece<'a>],
        path: &str,
    ) -> Break {
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
    pub(crate) fn finite_values(&self, w: &Piece<'a>) -> Option<Vec<Value>> {
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
    pub(crate) fn covered_by_union(&mut self, w: &Piece<'a>, readers: &[&Piece<'a>]) -> bool {
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

    pub(crate) fn piece_in_piece(
        &mut self,
        w: &Piece<'a>,
        r: &Piece<'a>,
        path: &str,
    ) -> Vec<Break> {
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
}
