//! Numeric bounds and counts: ordering, tightening, showing.

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Bound {
    pub(crate) value: f64,
    pub(crate) exclusive: bool,
}

pub(crate) fn is_multiple(x: f64, of: f64) -> bool {
    let q = x / of;
    (q - q.round()).abs() < 1e-9
}

pub(crate) fn tighten_lower(bound: &mut Option<Bound>, value: f64, exclusive: bool) {
    let new = Bound { value, exclusive };
    if starts_before(*bound, Some(new)) {
        *bound = Some(new);
    }
}

pub(crate) fn tighten_upper(bound: &mut Option<Bound>, value: f64, exclusive: bool) {
    let new = Bound { value, exclusive };
    if !cmp_upper(*bound, Some(new)).is_lt() {
        *bound = Some(new);
    }
}

/// Whether lower bound `a` admits everything lower bound `b` admits.
pub(crate) fn starts_before(a: Option<Bound>, b: Option<Bound>) -> bool {
    match (a, b) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(a), Some(b)) => {
            a.value < b.value || (a.value == b.value && (!a.exclusive || b.exclusive))
        }
    }
}

/// Whether upper bound `h` admits the lowest point lower bound `at` admits.
pub(crate) fn upper_admits(h: Option<Bound>, at: Option<Bound>) -> bool {
    match (h, at) {
        (None, _) | (_, None) => true,
        (Some(h), Some(at)) => {
            h.value > at.value || (h.value == at.value && !h.exclusive && !at.exclusive)
        }
    }
}

/// Orders upper bounds by how much they admit (`None` is unbounded).
pub(crate) fn cmp_upper(a: Option<Bound>, b: Option<Bound>) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    match (a, b) {
        (None, None) => Equal,
        (None, Some(_)) => Greater,
        (Some(_), None) => Less,
        (Some(a), Some(b)) => {
            a.value
                .partial_cmp(&b.value)
                .unwrap_or(Equal)
                .then(match (a.exclusive, b.exclusive) {
                    (false, true) => Greater,
                    (true, false) => Less,
                    _ => Equal,
                })
        }
    }
}

/// An upper bound seen as the lower bound of what lies above it.
pub(crate) fn flip(b: Bound) -> Bound {
    Bound {
        value: b.value,
        exclusive: !b.exclusive,
    }
}

pub(crate) fn show_lower(b: Option<Bound>) -> String {
    match b {
        None => "none".into(),
        Some(b) if b.exclusive => format!("> {}", b.value),
        Some(b) => format!(">= {}", b.value),
    }
}

pub(crate) fn show_upper(b: Option<Bound>) -> String {
    match b {
        None => "none".into(),
        Some(b) if b.exclusive => format!("< {}", b.value),
        Some(b) => format!("<= {}", b.value),
    }
}

pub(crate) fn show_opt(v: Option<u64>) -> String {
    v.map_or_else(|| "none".into(), |v| v.to_string())
}
