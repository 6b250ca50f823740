//! An execution as plain text for `devstack executions`: the execution,
//! then one line per state (number, name, type, entered, duration,
//! result), each followed by its details indented.

use std::fmt::Write;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;

use crate::history::{Attempt, Execution, Failure, Outcome, Step};

/// The whole listing, ending with a newline.
pub fn render(e: &Execution) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "execution {}  {}  started {}  took {}",
        e.name,
        e.status,
        e.started.map_or("-".into(), |t| t.to_rfc3339()),
        took(e.duration()),
    );
    detail(&mut out, 2, "input", e.input.as_ref());
    detail(&mut out, 2, "output", e.output.as_ref());
    if let Some(f) = &e.failure {
        let _ = writeln!(out, "  failed {}", failure(f));
    }
    let width = e
        .steps
        .iter()
        .map(|s| s.name.len())
        .max()
        .unwrap_or(0)
        .max(5);
    let _ = writeln!(
        out,
        "{:>3}  {:<width$}  {:<8}  {:<12}  {:>9}  result",
        "#", "state", "type", "entered", "took"
    );
    for (i, step) in e.steps.iter().enumerate() {
        line(&mut out, i + 1, step, width);
        details(&mut out, step);
    }
    out
}

fn line(out: &mut String, number: usize, s: &Step, width: usize) {
    let _ = writeln!(
        out,
        "{number:>3}  {:<width$}  {:<8}  {:<12}  {:>9}  {}",
        s.name,
        s.kind,
        clock(s.entered),
        took(s.duration()),
        result(s),
    );
}

fn result(s: &Step) -> String {
    let tries = match s.attempts.len() {
        0 | 1 => String::new(),
        n => format!(" ({n} attempts)"),
    };
    if let Some(f) = &s.failure {
        return format!("failed {}{tries}", failure(f));
    }
    if s.exited.is_some() {
        return format!("ok{tries}");
    }
    match s.attempts.last() {
        Some(a) if a.task_token.is_some() => format!("waiting for its task token{tries}"),
        _ => format!("running{tries}"),
    }
}

fn details(out: &mut String, s: &Step) {
    detail(out, 7, "input", s.input.as_ref());
    let several = s.attempts.len() > 1;
    let mut previous = None;
    for (i, a) in s.attempts.iter().enumerate() {
        attempt(out, i + 1, a, several);
        // A retry sends what the attempt before it sent: said once.
        if a.parameters.as_ref() != previous {
            detail(out, 9, "parameters", a.parameters.as_ref());
        }
        if let Outcome::Succeeded { output } = &a.outcome {
            detail(out, 9, "answer", output.as_ref());
        }
        previous = a.parameters.as_ref();
    }
    detail(out, 7, "output", s.output.as_ref());
}

fn attempt(out: &mut String, number: usize, a: &Attempt, several: bool) {
    let label = if several {
        format!("attempt {number}")
    } else {
        "attempt".to_owned()
    };
    let outcome = match &a.outcome {
        Outcome::Pending => "no answer yet".to_owned(),
        Outcome::Succeeded { .. } => "succeeded".to_owned(),
        Outcome::Failed(f) => format!("failed {}", failure(f)),
        Outcome::TimedOut(f) => format!("timed out {}", failure(f)),
    };
    let _ = writeln!(
        out,
        "       {label}  {}  {outcome}  took {}",
        a.resource.as_deref().unwrap_or("-"),
        took(a.duration()),
    );
    let limits = [
        ("timeout", a.timeout_seconds),
        ("heartbeat", a.heartbeat_seconds),
    ]
    .iter()
    .filter_map(|(what, s)| s.map(|s| format!("{what} {s} s")))
    .collect::<Vec<_>>();
    if !limits.is_empty() {
        let _ = writeln!(out, "         {}", limits.join(", "));
    }
    if let Some(token) = &a.task_token {
        let _ = writeln!(out, "         task token {token}");
    }
    detail(out, 9, "submitted", a.submitted.as_ref());
}

fn detail(out: &mut String, indent: usize, label: &str, v: Option<&Value>) {
    if let Some(v) = v {
        let _ = writeln!(out, "{:indent$}{label} {v}", "");
    }
}

fn failure(f: &Failure) -> String {
    match (&f.error, &f.cause) {
        (Some(e), Some(c)) => format!("{e}: {c}"),
        (Some(e), None) => e.clone(),
        (None, Some(c)) => c.clone(),
        (None, None) => "(no error given)".to_owned(),
    }
}

fn clock(t: Option<DateTime<Utc>>) -> String {
    t.map_or("-".into(), |t| t.format("%H:%M:%S%.3f").to_string())
}

fn took(d: Option<TimeDelta>) -> String {
    d.map_or("-".into(), |d| {
        format!("{:.3} s", d.num_milliseconds() as f64 / 1000.0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Recorded;

    /// The history module's fixture, recorded from moto.
    fn recorded() -> Recorded {
        serde_json::from_str(include_str!("../tests/fixtures/history.json")).unwrap()
    }

    #[test]
    fn the_listing_has_a_line_per_state_then_its_details() {
        let text = render(&recorded().parse());
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("execution run-1  SUCCEEDED"), "{text}");
        let states: Vec<&str> = lines
            .iter()
            .copied()
            .filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
            .collect();
        assert_eq!(states.len(), 3, "{text}");
        assert!(
            states[0].contains("Double") && states[0].ends_with("ok (3 attempts)"),
            "{text}"
        );
        assert!(
            text.contains("attempt 1  lambda:invoke  failed Flaky"),
            "{text}"
        );
        assert!(text.contains("task token "), "{text}");
        assert_eq!(
            text.matches("parameters").count(),
            2,
            "a retry's repeat is left out: {text}"
        );
    }
}
