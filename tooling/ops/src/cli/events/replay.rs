//! `ops events replay`: an archive's window to the bus, one rule or one
//! service's consumers, filtered through leased rule copies, or a dry run
//! that counts what each rule would receive.

use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Args;

use super::EventFilter;
use crate::archive;
use crate::cli::{Cli, interrupted, or_dash};
use crate::targets::Targets;

#[derive(Args)]
#[command(group = clap::ArgGroup::new("aim").required(true).args(["bus", "rule", "consumer"]))]
pub(crate) struct ReplayArgs {
    /// The archive (default: the bus's only archive).
    #[arg(long)]
    archive: Option<String>,
    /// RFC 3339: the window's start.
    #[arg(long)]
    from: chrono::DateTime<chrono::Utc>,
    /// RFC 3339: the window's end (default: now).
    #[arg(long)]
    to: Option<chrono::DateTime<chrono::Utc>>,
    /// Every rule on the bus.
    #[arg(long)]
    bus: bool,
    /// One rule, by name.
    #[arg(long)]
    rule: Option<String>,
    /// One service's consumers (the rules that target its functions).
    #[arg(long)]
    consumer: Option<String>,
    #[command(flatten)]
    filter: EventFilter,
    /// Count what each rule would receive; deliver nothing.
    #[arg(long)]
    dry_run: bool,
    /// Replay to a consumer events its contracts do not declare.
    #[arg(long)]
    force: bool,
    /// The replay's name (default: ops-<time>).
    #[arg(long)]
    name: Option<String>,
    /// Dry run: how long the tap must stay quiet after the replay ends.
    #[arg(long, default_value_t = 3)]
    settle_seconds: u64,
}

pub(super) async fn run(cli: &Cli, t: &Targets, a: &ReplayArgs) -> Result<ExitCode> {
    let eb = aws_sdk_eventbridge::Client::new(&t.conf);
    let aim = match (&a.rule, &a.consumer) {
        (Some(rule), _) => archive::Aim::Rule(rule.clone()),
        (None, Some(service)) => archive::Aim::Consumer(service.clone()),
        (None, None) => archive::Aim::Bus,
    };
    let filter = a.filter.pattern()?;
    let receivers = archive::receivers(t, &aim).await?;
    if !a.force {
        let kinds = filter.as_ref().and_then(archive::kinds_of);
        archive::check_declared(
            &crate::contracts::Contracts::built_in(),
            &receivers,
            kinds.as_deref(),
        )?;
    }
    let plan = archive::Plan {
        name: a.name.clone().unwrap_or_else(archive::replay_name),
        archive: archive::archive(&eb, &t.bus_name, a.archive.as_deref()).await?,
        from: a.from,
        to: a.to.unwrap_or_else(chrono::Utc::now),
        filter_arns: match aim {
            archive::Aim::Bus => Vec::new(),
            _ => receivers.iter().map(|r| r.rule_arn.clone()).collect(),
        },
    };
    if a.dry_run {
        return dry_run(cli, t, a, &plan, filter.as_ref(), receivers).await;
    }
    if let Some(filter) = &filter {
        if matches!(aim, archive::Aim::Bus) {
            bail!(
                "a filtered replay goes through each receiving rule's own copy; aim it with --rule or --consumer"
            );
        }
        let lease = std::time::Duration::from_secs(cli.tap_lease_seconds);
        let waited = archive::replay_narrowed(
            &t.conf,
            &t.bus_name,
            &plan,
            &receivers,
            filter,
            lease,
            interrupted(),
        )
        .await?;
        print_status(cli, &waited)?;
        return Ok(if waited.succeeded() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    archive::start(&eb, &plan).await?;
    eprintln!(
        "replay {} of {} ({} → {}) to {} rule(s): {}",
        plan.name,
        plan.archive.name,
        plan.from,
        plan.to,
        receivers.len(),
        receivers
            .iter()
            .map(|r| r.rule.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let waited = tokio::select! {
        s = archive::wait(&eb, &plan.name, print_progress, &mut []) => s?,
        () = interrupted() => {
            eprintln!("interrupted: cancelling {}", plan.name);
            archive::cancel(&eb, &plan.name).await?;
            archive::status(&eb, &plan.name).await?
        }
    };
    print_status(cli, &waited)?;
    Ok(if waited.succeeded() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_progress(s: &archive::Status) {
    let pct = s
        .progress
        .map_or_else(|| "-".to_owned(), |p| format!("{:.0}%", p * 100.0));
    eprintln!(
        "  {}: {} replayed up to {}",
        s.state,
        pct,
        or_dash(&s.last_replayed)
    );
}

pub(super) fn print_status(cli: &Cli, s: &archive::Status) -> Result<()> {
    if cli.json {
        println!("{}", serde_json::to_string_pretty(s)?);
    } else {
        println!(
            "{} {}{} window {} → {}, replayed up to {}",
            s.name,
            s.state,
            s.reason
                .as_ref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default(),
            or_dash(&s.from),
            or_dash(&s.to),
            or_dash(&s.last_replayed)
        );
    }
    Ok(())
}

async fn dry_run(
    cli: &Cli,
    t: &Targets,
    a: &ReplayArgs,
    plan: &archive::Plan,
    filter: Option<&serde_json::Value>,
    receivers: Vec<archive::Receiver>,
) -> Result<ExitCode> {
    let capture = archive::Capture {
        lease: std::time::Duration::from_secs(cli.tap_lease_seconds),
        settle: std::time::Duration::from_secs(a.settle_seconds),
    };
    let found = archive::dry_run(
        &t.conf,
        &t.bus_name,
        plan,
        filter,
        receivers,
        capture,
        interrupted(),
    )
    .await?;
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&found)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "dry run {}: {} event(s) in {} → {}{}; nothing was delivered",
        found.replay,
        found.events,
        plan.from,
        plan.to,
        if filter.is_some() {
            " match the filter"
        } else {
            ""
        }
    );
    println!("| rule | service | function | would receive |");
    println!("|---|---|---|---|");
    for (r, n) in &found.by_rule {
        println!(
            "| {} | {} | {} | {n} |",
            r.rule,
            or_dash(&r.service),
            or_dash(&r.function)
        );
    }
    Ok(ExitCode::SUCCESS)
}
