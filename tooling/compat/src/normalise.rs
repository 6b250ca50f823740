//! Normalising: a conjunction of subschemas becomes a union of pieces,
//! `allOf`, `$ref`s and siblings merged, `anyOf` distributed.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::bounds::*;
use crate::inclusion::Cx;
use crate::schema::*;

impl<'a> Cx<'a> {
    // ----------------------------------------------------------- normalising

    /// The union of pieces `conj` accepts; `None` past [`MAX_PIECES`].
    pub(crate) fn normalize(&mut self, conj: &[Node<'a>], side: Side) -> Option<Vec<Piece<'a>>> {
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
    pub(crate) fn apply_to(
        &mut self,
        pieces: Vec<Piece<'a>>,
        node: Node<'a>,
        side: Side,
    ) -> Option<Vec<Piece<'a>>> {
        self.apply_guarded(pieces, node, side, &mut Vec::new())
    }

    pub(crate) fn apply_guarded(
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

    pub(crate) fn distribute(
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

    pub(crate) fn branches_disjoint(&mut self, node: Node<'a>, branches: &'a [Value]) -> bool {
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

    pub(crate) fn apply_type(&mut self, pieces: Vec<Piece<'a>>, types: &Value) -> Vec<Piece<'a>> {
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
    pub(crate) fn apply_keywords(
        &mut self,
        p: &mut Piece<'a>,
        node: Node<'a>,
        obj: &'a Map<String, Value>,
    ) {
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

    pub(crate) fn apply_array(
        &mut self,
        p: &mut Piece<'a>,
        node: Node<'a>,
        obj: &'a Map<String, Value>,
    ) {
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

    pub(crate) fn apply_object(
        &mut self,
        p: &mut Piece<'a>,
        node: Node<'a>,
        obj: &'a Map<String, Value>,
    ) {
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
}

/// schemars marks integer widths with formats such as `uint32`.
pub(crate) fn is_numeric_format(format: &str) -> bool {
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
