//! Objects: required and declared properties, the names a writer may
//! add beyond them, and the schema each name meets.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::bounds::*;
use crate::findings::{Break, Rule};
use crate::patterns::patterns_disjoint;
use crate::schema::*;

use super::Cx;

impl<'a> Cx<'a> {
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
