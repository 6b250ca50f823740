//! Numbers and strings: a writer's bounds, formats and patterns within
//! the reader's.

use crate::bounds::*;
use crate::findings::{Break, Rule};
use crate::patterns::pattern_break;
use crate::schema::*;

use super::Cx;

impl<'a> Cx<'a> {
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
}
