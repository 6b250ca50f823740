//! Whether one JSON Schema `pattern` admits every string another admits,
//! decided on automata rather than by comparing the regexes' text.
//!
//! A pattern matches a string when it matches anywhere in it (JSON Schema's
//! patterns are unanchored). Both patterns become unanchored DFAs; a walk of
//! their product, over valid UTF-8 only (JSON strings are Unicode), looks for
//! a string the inner pattern matches and the outer does not, and returns the
//! shortest one. ECMA-262's ASCII-only `\d` and `\w` are spelled out first;
//! what the regex engine cannot express (look-around, back-references) is
//! reported as undecided.

use std::collections::{HashMap, VecDeque};

use regex_automata::dfa::{Automaton, StartKind, dense};
use regex_automata::util::primitives::StateID;
use regex_automata::util::start;
use regex_automata::{Anchored, MatchKind};
use serde_json::Value;

/// The product walk gives up past this many states: undecided.
const MAX_STATES: usize = 50_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inclusion {
    Included,
    /// A string the inner pattern admits and the outer rejects.
    Excluded(String),
    /// Beyond the engine (look-around, back-references, too large).
    Undecided(String),
}

/// Every string `inner` admits, `outer` admits too.
pub fn included(inner: &str, outer: &str) -> Inclusion {
    let (w, r) = match (compile(inner), compile(outer)) {
        (Ok(w), Ok(r)) => (w, r),
        (Err(e), _) | (_, Err(e)) => return Inclusion::Undecided(e),
    };
    let start = |dfa: &dense::DFA<Vec<u32>>| {
        dfa.start_state(&start::Config::new().anchored(Anchored::No))
            .map_err(|e| e.to_string())
    };
    let (ws, rs) = match (start(&w), start(&r)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return Inclusion::Undecided(e),
    };
    // (inner state, outer state, inner matched, outer matched, UTF-8 state)
    type Config = (StateID, StateID, bool, bool, u8);
    let first: Config = (ws, rs, false, false, 0);
    let mut parent: HashMap<Config, Option<(Config, u8)>> = HashMap::new();
    parent.insert(first, None);
    let mut queue = VecDeque::from([first]);
    while let Some(at) = queue.pop_front() {
        let (sw, sr, mw, mr, utf8) = at;
        if mr {
            // The outer pattern matched already: no extension escapes it.
            continue;
        }
        if utf8 == 0 {
            let end_w = mw || w.is_match_state(w.next_eoi_state(sw));
            let end_r = r.is_match_state(r.next_eoi_state(sr));
            if end_w && !end_r {
                return Inclusion::Excluded(witness(&parent, at));
            }
        }
        if !mw && w.is_dead_state(sw) {
            continue;
        }
        for byte in 0..=255u8 {
            let Some(next_utf8) = utf8_step(utf8, byte) else {
                continue;
            };
            let nw = w.next_state(sw, byte);
            let nr = r.next_state(sr, byte);
            // Match states come one byte late: they report a match that
            // ended before `byte`, which is a match of the whole string too.
            let next = (
                nw,
                nr,
                mw || w.is_match_state(nw),
                r.is_match_state(nr),
                next_utf8,
            );
            if parent.contains_key(&next) {
                continue;
            }
            if parent.len() >= MAX_STATES {
                return Inclusion::Undecided(format!("more than {MAX_STATES} states to compare"));
            }
            parent.insert(next, Some((at, byte)));
            queue.push_back(next);
        }
    }
    Inclusion::Included
}

fn compile(pattern: &str) -> Result<dense::DFA<Vec<u32>>, String> {
    dense::Builder::new()
        .configure(
            dense::Config::new()
                .start_kind(StartKind::Unanchored)
                .match_kind(MatchKind::All),
        )
        .build(&ecma_classes(pattern))
        .map_err(|e| format!("`{pattern}` is beyond the regex engine: {e}"))
}

/// ECMA-262's `\d` and `\w` are ASCII; the engine's are Unicode.
pub fn ecma_classes(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('d') => out.push_str("[0-9]"),
            Some('D') => out.push_str("[^0-9]"),
            Some('w') => out.push_str("[0-9A-Za-z_]"),
            Some('W') => out.push_str("[^0-9A-Za-z_]"),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// A UTF-8 acceptor: 0 at a character boundary, else the continuation
/// bytes still due. Overlong forms and surrogates pass; they only make the
/// search find a witness that is not quite a JSON string, a false alarm.
fn utf8_step(pending: u8, byte: u8) -> Option<u8> {
    match (pending, byte) {
        (0, 0x00..=0x7F) => Some(0),
        (0, 0xC2..=0xDF) => Some(1),
        (0, 0xE0..=0xEF) => Some(2),
        (0, 0xF0..=0xF4) => Some(3),
        (1..=3, 0x80..=0xBF) => Some(pending - 1),
        _ => None,
    }
}

fn witness<K: std::hash::Hash + Eq + Copy>(
    parent: &HashMap<K, Option<(K, u8)>>,
    mut at: K,
) -> String {
    let mut bytes = Vec::new();
    while let Some(Some((before, byte))) = parent.get(&at) {
        bytes.push(*byte);
        at = *before;
    }
    bytes.reverse();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Why a string matching every writer pattern may fail the reader's, if it
/// may. No writer pattern at all is the empty pattern, which admits anything.
pub(crate) fn pattern_break(writer: &[String], reader: &str) -> Option<String> {
    let candidates: Vec<&str> = if writer.is_empty() {
        vec![""]
    } else {
        writer.iter().map(String::as_str).collect()
    };
    let mut why = None;
    for candidate in candidates {
        match included(candidate, reader) {
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
pub(crate) fn patterns_disjoint(a: &str, b: &str) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn yes(inner: &str, outer: &str) {
        assert_eq!(
            included(inner, outer),
            Inclusion::Included,
            "{inner} in {outer}"
        );
    }

    fn no(inner: &str, outer: &str, witness: &str) {
        assert_eq!(
            included(inner, outer),
            Inclusion::Excluded(witness.to_owned()),
            "{inner} in {outer}"
        );
    }

    #[test]
    fn widening_is_included_and_narrowing_is_not() {
        yes("^[a-z]{1,10}$", "^[a-z]{1,20}$");
        no("^[a-z]{1,20}$", "^[a-z]{1,10}$", "aaaaaaaaaaa");
        yes("^[a-z]+$", "^[a-z]*$");
        no("^[a-z]*$", "^[a-z]+$", "");
    }

    #[test]
    fn unanchored_patterns_match_anywhere() {
        // Both match the empty string somewhere in every string.
        yes("[a-z]*", "[A-Z]*");
        yes("^abc", "b");
        no("b", "^abc", "b");
    }

    #[test]
    fn ecma_digit_and_word_classes_are_ascii() {
        yes("^\\d+$", "^[0-9]+$");
        yes("^[0-9]+$", "^\\d+$");
        yes("^\\w+$", "^[A-Za-z0-9_]+$");
    }

    #[test]
    fn witnesses_are_text() {
        no("^.$", "^[a-z]$", "\0");
        no("^[é]$", "^[a-z]$", "é");
    }

    #[test]
    fn what_the_engine_cannot_express_is_undecided() {
        assert!(matches!(included("^(?=a)a", "a"), Inclusion::Undecided(_)));
        assert!(matches!(included("(a)\\1", "a"), Inclusion::Undecided(_)));
    }
}
