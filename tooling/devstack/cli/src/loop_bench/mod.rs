//! `devstack loop-bench`: the developer's loop, timed, as a table: an
//! edit of a service live behind its alias and answering, a team's own
//! test run after a one-line change, and the whole test command on a
//! fresh clone, step by step. Figures to compare, never assertions.

mod edit;
mod fresh;
mod restore;
mod steps;
mod team;

use std::path::Path;

use anyhow::Result;
use devstack::cli::LoopBenchArgs;
use serde::Serialize;

/// One line of the table.
#[derive(Debug, Serialize)]
pub(crate) struct Row {
    pub what: String,
    pub seconds: f64,
    pub note: String,
}

pub(crate) async fn loop_bench(
    args: LoopBenchArgs,
    endpoints_file: &Path,
    json: bool,
) -> Result<()> {
    // Ctrl-C ends the steps through their destructors: an edited file is
    // put back, a child cargo killed, the scratch clone deleted.
    let rows = tokio::select! {
        rows = measure(&args, endpoints_file) => rows?,
        () = crate::cmd::wait_for_signal() => anyhow::bail!("interrupted; the edited files are put back"),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print!("{}", render(&rows));
    }
    Ok(())
}

async fn measure(args: &LoopBenchArgs, endpoints_file: &Path) -> Result<Vec<Row>> {
    let root = repo::find_root(&std::path::absolute(&args.root)?)?;
    let mut rows = Vec::new();
    if args.edits > 0 {
        let endpoints = crate::cmd::read_endpoints(endpoints_file)?;
        rows.extend(edit::run(&root, &endpoints, args.edits, args.minute_ms).await?);
    }
    for service in &args.team {
        rows.push(team::run(&root, service).await?);
    }
    if args.fresh {
        rows.extend(fresh::run(&root, args.scratch.as_deref()).await?);
    }
    Ok(rows)
}

fn render(rows: &[Row]) -> String {
    let width = rows
        .iter()
        .map(|r| r.what.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = format!("{:<width$}  {:>8}  note\n", "step", "seconds");
    for r in rows {
        out.push_str(&format!(
            "{:<width$}  {:>8.1}  {}\n",
            r.what, r.seconds, r.note
        ));
    }
    out.push_str("(scale by the host factor: ../shared/tools/host-speed)\n");
    out
}
