//! Inclusion: every writer piece fits into a reader piece, keyword by
//! keyword; nested schemas compared lazily, assumed pairs coinductively.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde_json::Value;

use crate::bounds::*;
use crate::findings::{Break, Rule};
use crate::patterns::{self, pattern_break, patterns_disjoint};
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

    // ---------------------------------------------------------------- inclusion

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

    pub(crate) fn number_in(
        &mut self,
        w: &Piece<'a>,
        r: &Piece<'a>,
        path: &str,
        out: &mut Vec<Break>,
    ) {
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

    pub(crate) fn string_in(
        &mut self,
        w: &Piece<'a>,
        r: &Piece<'a>,
        path: &str,
        out: &mut Vec<Break>,
    ) {
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

    pub(crate) fn array_in(
        &mut self,
        w: &Piece<'a>,
        r: &Piece<'a>,
        path: &str,
        out: &mut Vec<Break>,
    ) {
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
    pub(crate) fn any_included(
        &mut self,
        haves: &[Conj<'a>],
        needed: &[Node<'a>],
        path: &str,
    ) -> bool {
        haves
            .iter()
            .any(|have| self.includes(have, needed, path).is_empty())
    }

    pub(crate) fn object_in(
        &mut self,
        w: &Piece<'a>,
        r: &Piece<'a>,
        path: &str,
        out: &mut Vec<Break>,
    ) {
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

    pub(crate) fn has_extras(&mut self, w: &Piece<'a>) -> bool {
        let additional = w.additional.clone();
        !w.pattern_props.is_empty() || !self.is_empty(&additional)
    }

    /// Undeclared properties: every class of names the writer may send
    /// against every reader class it may overlap.
    pub(crate) fn extras_in(
        &mut self,
        w: &Piece<'a>,
        r: &Piece<'a>,
        path: &str,
        out: &mut Vec<Break>,
    ) {
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

    pub(crate) fn property_names_in(
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
    pub(crate) fn opaque_in(&mut self, w: &Piece<'a>, op: Opaque<'a>, path: &str) -> Option<Break> {
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

    pub(crate) fn cond_in(&mut self, w: &Piece<'a>, node: Node<'a>, path: &str) -> Option<Break> {
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

    pub(crate) fn opaque_eq(&mut self, a: Opaque<'a>, b: Opaque<'a>) -> bool {
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

    // ------------------------------------------------------------- equality

    /// Structural equality with `$ref`s followed on both sides.
    pub(crate) fn deep_eq(&mut self, a: Node<'a>, b: Node<'a>) -> bool {
        let mut seen = HashSet::new();
        eq_nodes(a, b, &mut seen, 0)
    }
}

impl<'a> Piece<'a> {
    /// The schemas that apply to a property of this name.
    pub(crate) fn schema_for(&self, name: &str, cx: &mut Cx<'a>) -> (Conj<'a>, Source) {
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

pub(crate) fn child_path(path: &str, name: &str) -> String {
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
