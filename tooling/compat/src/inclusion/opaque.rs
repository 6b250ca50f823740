//! What inclusion cannot unfold keyword by keyword: `not`, conditionals
//! and structural equality.

use std::collections::HashSet;

use crate::findings::{Break, Rule};
use crate::schema::*;

use super::Cx;

impl<'a> Cx<'a> {
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

    /// Structural equality with `$ref`s followed on both sides.
    pub(crate) fn deep_eq(&mut self, a: Node<'a>, b: Node<'a>) -> bool {
        let mut seen = HashSet::new();
        eq_nodes(a, b, &mut seen, 0)
    }
}
