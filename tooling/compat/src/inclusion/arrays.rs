//! Arrays: items, prefix items, lengths, uniqueness and `contains`.

use crate::bounds::*;
use crate::findings::{Break, Rule};
use crate::schema::*;

use super::Cx;

impl<'a> Cx<'a> {
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
}
