//! `devstack deploy`: one service's new build into the running cloud,
//! once or on every save.

use std::path::Path;

use anyhow::Result;
use devstack::cli::DeployArgs;
use devstack_api::control::{Deployment, Report};
use devstack_client::deploy::{self, Source};

use super::{read_endpoints, wait_for_signal};

pub(crate) async fn deploy(args: DeployArgs, endpoints_file: &Path) -> Result<()> {
    let e = read_endpoints(endpoints_file)?;
    if e.control_url.is_empty() {
        anyhow::bail!("the endpoints file has no control_url: restart the local cloud");
    }
    let source = if args.from_sam {
        Source::Sam
    } else {
        Source::Cargo {
            release: args.release,
        }
    };
    deploy_loop(&e.control_url, &args, source).await
}

pub(crate) async fn deploy_loop(control: &str, args: &DeployArgs, source: Source) -> Result<()> {
    let (root, service, watch) = (&args.root, args.service.as_str(), args.watch);
    loop {
        // Read once per deploy, not per poll: `cargo metadata` on every
        // tick would cost more than the check it serves. A deploy re-reads
        // it, so a new path dependency is watched from then on.
        let workspace = repo::workspace::Workspace::load(root)?;
        let seen = deploy::sources_stamp(&workspace, service)?;
        let deployed = deploy::deploy(control, &workspace, service, source, args.minute_ms).await;
        match deployed.and_then(|report| print_report(&report)) {
            Ok(()) => {}
            // Watching, a broken edit is reported and the next one tried.
            Err(e) if watch => eprintln!("deploy failed: {e:#}"),
            Err(e) => return Err(e),
        }
        if !watch {
            return Ok(());
        }
        println!("watching {service}'s sources (Ctrl-C to stop)");
        loop {
            tokio::select! {
                () = wait_for_signal() => return Ok(()),
                () = tokio::time::sleep(std::time::Duration::from_millis(200)) => {}
            }
            let now = deploy::sources_stamp(&workspace, service)?;
            if now > seen {
                // Let an editor finish writing every file it saves at once.
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                break;
            }
        }
    }
}

/// What the deploy did, function by function; an error when it was rolled
/// back, naming the alarm or hook that decided.
fn print_report(report: &Report) -> Result<()> {
    println!(
        "{} {} at {} in {} ms (stack {} ms)",
        if report.rolled_back.is_some() {
            "rolled back"
        } else {
            "deployed"
        },
        report.service,
        report.commit,
        report.total_ms,
        report.stack_ms
    );
    for f in &report.swapped {
        println!(
            "  {:<32} swapped in {:>5} ms (drained {} ms, {} waiting)",
            f.function, f.total_ms, f.drained_ms, f.waiting
        );
    }
    for d in &report.deployments {
        print_deployment(d);
    }
    match &report.rolled_back {
        Some(why) => anyhow::bail!("{}: rolled back by {why}", report.service),
        None => Ok(()),
    }
}

fn print_deployment(d: &Deployment) {
    let config = d.config.trim_start_matches("CodeDeployDefault.Lambda");
    println!(
        "  {:<32} {config}: version {} -> {} {} in {} ms (local clock)",
        d.function, d.from_version, d.to_version, d.outcome, d.ms
    );
    let shifts: Vec<String> = (d.shifts.iter())
        .map(|s| format!("{:.0}% at {} ms", s.weight * 100.0, s.at_ms))
        .collect();
    println!("    shifts: {}", shifts.join(", "));
    println!(
        "    ran: old {} ({} errors), new {} ({} errors)",
        d.old_version.invocations,
        d.old_version.errors,
        d.new_version.invocations,
        d.new_version.errors
    );
    for a in &d.alarms {
        println!("    alarm {:<40} {:<17} {}", a.alarm, a.state, a.reason);
    }
}
