//! What a cloud recorded: a trace as a waterfall (`trace`), the
//! functions' figures (`metrics`), and the least-privilege report.

use std::path::{Path, PathBuf};

use anyhow::Result;
use devstack_api::telemetry;

use super::recorded_dir;

pub(crate) fn trace(id: &str, endpoints_file: &Path, json: bool) -> Result<()> {
    let dir = recorded_dir(endpoints_file);
    let hops = telemetry::read_hops(&dir)?;
    let traces = telemetry::traces_for(&hops, id);
    if traces.is_empty() {
        anyhow::bail!(
            "no hop of {id} recorded in {} (a correlation id or a trace id `1-…`)",
            dir.display()
        );
    }
    for trace in traces {
        let waterfall = telemetry::waterfall(&hops, &trace);
        if json {
            for h in waterfall {
                println!("{}", serde_json::to_string(h)?);
            }
        } else {
            println!("{}", telemetry::render_waterfall(&trace, &waterfall));
        }
    }
    Ok(())
}

/// Every folder under `dirs` (themselves included) holding judge records.
pub(crate) fn judged_dirs(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending: Vec<PathBuf> = dirs.to_vec();
    while let Some(dir) = pending.pop() {
        if dir.join(devstack_api::telemetry::GRANTS).is_file() {
            found.push(dir.clone());
        }
        if let Ok(entries) = std::fs::read_dir(&dir) {
            pending.extend(entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()));
        }
    }
    found
}

pub(crate) fn least_privilege(endpoints_file: &Path, dirs: Vec<PathBuf>, json: bool) -> Result<()> {
    use devstack_iam::report::{Granted, Used, render, report};
    let dirs = if dirs.is_empty() {
        vec![recorded_dir(endpoints_file)]
    } else {
        dirs
    };
    let found = judged_dirs(&dirs);
    if found.is_empty() {
        anyhow::bail!(
            "no judge records under {dirs:?}: run a local cloud in strict or audit mode first"
        );
    }
    let mut used = Vec::new();
    let mut grants: std::collections::BTreeMap<String, Vec<Granted>> = Default::default();
    for dir in &found {
        for j in devstack_api::telemetry::read_judgements(dir) {
            // A service acting for a function (SNS) is no function's grant.
            if j.function.contains('/') {
                used.push(Used {
                    function: j.function,
                    action: j.action,
                    resource: j.resource,
                });
            }
        }
        for g in devstack_api::telemetry::read_grants(dir) {
            grants.entry(g.function).or_insert_with(|| {
                g.statements
                    .into_iter()
                    .map(|s| Granted {
                        statement: s.statement,
                        actions: s.actions,
                        resources: s.resources,
                    })
                    .collect()
            });
        }
    }
    let reports = report(&used, &grants);
    if json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    } else {
        println!("from {} local cloud(s)' records\n", found.len());
        print!("{}", render(&reports));
    }
    Ok(())
}

pub(crate) fn metrics(endpoints_file: &Path, json: bool) -> Result<()> {
    let table = telemetry::read_metrics(&recorded_dir(endpoints_file));
    if json {
        println!("{}", serde_json::to_string_pretty(&table)?);
    } else {
        print!("{}", telemetry::render_metrics(&table));
    }
    Ok(())
}
