//! `ops events deliver`: events from a file, handed to one service's
//! consumers directly through Lambda's Invoke API (asynchronously, as a
//! rule invokes them), so no other consumer sees them: a backfill beyond
//! the archive's retention. The file holds events as EventBridge delivers
//! them, one JSON object per line: what `users-snapshot` prints, and what
//! `ops events tail --json` prints.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;
use futures_util::StreamExt;
use serde::Serialize;
use serde_json::Value;

use crate::cli::Cli;
use crate::contracts::{Contracts, Kind};
use crate::dead_letters::{Verdict, invoke_async};
use crate::targets::Targets;
use crate::targets::{Consumer, Service};

#[derive(Args)]
pub(crate) struct DeliverArgs {
    /// The service whose consumers receive the events.
    #[arg(long)]
    consumer: String,
    /// JSON Lines: one event each, as EventBridge delivers it.
    #[arg(long = "in")]
    input: PathBuf,
    /// Show where each event would go; invoke nothing.
    #[arg(long)]
    dry_run: bool,
    /// Deliver kinds the service's contracts do not declare.
    #[arg(long)]
    force: bool,
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
}

pub(super) async fn run(cli: &Cli, t: &Targets, a: &DeliverArgs) -> Result<ExitCode> {
    let service = t.service(&a.consumer)?;
    let events = read(&a.input)?;
    if !a.force {
        check_declared(&Contracts::built_in(), &a.consumer, &events)?;
    }
    if a.dry_run {
        let routes = routes(service, &events);
        let mut per_function: BTreeMap<&str, usize> = Default::default();
        for c in routes.iter().flatten() {
            *per_function.entry(c.function.as_str()).or_default() += 1;
        }
        println!("{} event(s); would invoke:", events.len());
        for (function, n) in per_function {
            println!("  {function}: {n}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let report = deliver(t.lambda_of(service), service, &events, a.concurrency).await;
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for f in &report.failed {
            println!("  failed: {f}");
        }
        println!("| events | invocations | no matching consumer | failed |");
        println!("|---|---|---|---|");
        println!(
            "| {} | {} | {} | {} |",
            report.events,
            report.invocations,
            report.unrouted,
            report.failed.len()
        );
    }
    Ok(if report.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The events of a JSON Lines file; a line that is not a JSON object
/// stops the read, named by its number, before anything is delivered.
pub fn read(path: &Path) -> Result<Vec<Value>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut events = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let event: Value = serde_json::from_str(line)
            .with_context(|| format!("{}:{}: not JSON", path.display(), i + 1))?;
        if !event["source"].is_string() || !event["detail-type"].is_string() {
            bail!(
                "{}:{}: not an EventBridge event (no source or detail-type)",
                path.display(),
                i + 1
            );
        }
        events.push(event);
    }
    Ok(events)
}

fn kind(event: &Value) -> Kind {
    Kind {
        source: event["source"].as_str().unwrap_or_default().to_owned(),
        detail_type: event["detail-type"].as_str().unwrap_or_default().to_owned(),
    }
}

/// Refuses events whose kind the service's contracts do not declare.
pub fn check_declared(contracts: &Contracts, service: &str, events: &[Value]) -> Result<()> {
    let declared = contracts.consumed_by(service);
    let mut undeclared: Vec<String> = events
        .iter()
        .map(kind)
        .filter(|k| !declared.contains(k))
        .map(|k| k.to_string())
        .collect();
    undeclared.dedup();
    if !undeclared.is_empty() {
        bail!(
            "the contracts do not declare that {service} consumes {}; --force delivers anyway",
            undeclared.join(", ")
        );
    }
    Ok(())
}

/// For each event, the service's rule-triggered functions whose pattern
/// matches it (a function behind two matching rules is invoked once).
pub fn routes<'a>(service: &'a Service, events: &[Value]) -> Vec<Vec<&'a Consumer>> {
    events
        .iter()
        .map(|e| {
            let mut by_function: BTreeMap<&str, &Consumer> = BTreeMap::new();
            for c in &service.consumers {
                let matched = c.trigger == "rule"
                    && c.pattern
                        .as_ref()
                        .is_some_and(|p| event_pattern::matches(p, e));
                if matched {
                    by_function.entry(c.function.as_str()).or_insert(c);
                }
            }
            by_function.into_values().collect()
        })
        .collect()
}

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub events: usize,
    pub invocations: usize,
    /// Events no consumer of the service matches.
    pub unrouted: usize,
    pub failed: Vec<String>,
}

/// Invokes each routed function with its event, `concurrency` at a time.
pub async fn deliver(
    lambda: &aws_sdk_lambda::Client,
    service: &Service,
    events: &[Value],
    concurrency: usize,
) -> Report {
    let routes = routes(service, events);
    let mut report = Report {
        events: events.len(),
        unrouted: routes.iter().filter(|r| r.is_empty()).count(),
        ..Report::default()
    };
    let calls = events
        .iter()
        .zip(&routes)
        .flat_map(|(e, fns)| fns.iter().map(move |c| (e, *c)));
    let verdicts: Vec<(String, Verdict)> = futures_util::stream::iter(calls)
        .map(|(e, c)| async move {
            let id = e["id"].as_str().unwrap_or("?").to_owned();
            (
                format!("{id} → {}", c.function),
                invoke_async(lambda, &c.function, e, None).await,
            )
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    for (what, verdict) in verdicts {
        match verdict {
            Verdict::Delivered => report.invocations += 1,
            Verdict::Failed(why) | Verdict::Skipped(why) => {
                report.failed.push(format!("{what}: {why}"))
            }
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn service() -> Service {
        let consumer = |function: &str, detail_type: &str| Consumer {
            function: function.into(),
            trigger: "rule".into(),
            pattern: Some(json!({"source": ["app.users"], "detail-type": [detail_type]})),
            rule: Some(format!("{function}-{detail_type}")),
        };
        Service {
            name: "campaigns".into(),
            dlq_queue_url: String::new(),
            reach: None,
            consumers: vec![
                consumer("audience", "UserRegistered"),
                consumer("audience", "UserDeleted"),
            ],
        }
    }

    fn event(detail_type: &str) -> Value {
        json!({"source": "app.users", "detail-type": detail_type, "detail": {}})
    }

    #[test]
    fn an_event_goes_to_the_functions_whose_rules_match_it_once_each() {
        let s = service();
        let routes = routes(&s, &[event("UserRegistered"), event("TodoCompleted")]);
        assert_eq!(routes[0].len(), 1);
        assert_eq!(routes[0][0].function, "audience");
        assert!(routes[1].is_empty());
    }

    #[test]
    fn undeclared_kinds_are_refused_by_name() {
        let c = Contracts::built_in();
        assert!(check_declared(&c, "campaigns", &[event("UserRegistered")]).is_ok());
        let err = check_declared(
            &c,
            "campaigns",
            &[json!({"source": "app.todos", "detail-type": "TodoCompleted"})],
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("campaigns consumes app.todos TodoCompleted"),
            "{err}"
        );
    }

    #[test]
    fn a_line_that_is_not_an_event_is_named_before_anything_is_delivered() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("events.jsonl");
        std::fs::write(
            &file,
            format!("{}\n{{\"source\": 1}}\n", event("UserRegistered")),
        )
        .unwrap();
        let err = read(&file).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("events.jsonl:2: not an EventBridge event (no source or detail-type)"),
            "{err}"
        );
    }
}
