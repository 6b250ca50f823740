//! `devstack deploy`: one service's new build into the running cloud,
//! once or on every save.

use std::path::Path;

use anyhow::Result;
use devstack::cli::DeployArgs;
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
    deploy_loop(
        &e.control_url,
        &args.root,
        &args.service,
        source,
        args.watch,
    )
    .await
}

pub(crate) async fn deploy_loop(
    control: &str,
    root: &std::path::Path,
    service: &str,
    source: Source,
    watch: bool,
) -> Result<()> {
    loop {
        // Read once per deploy, not per poll: `cargo metadata` on every
        // tick would cost more than the check it serves. A deploy re-reads
        // it, so a new path dependency is watched from then on.
        let workspace = repo::workspace::Workspace::load(root)?;
        let seen = deploy::sources_stamp(&workspace, service)?;
        match deploy::deploy(control, &workspace, service, source).await {
            Ok(report) => {
                println!(
                    "deployed {} at {} in {} ms (stack {} ms)",
                    report.service, report.commit, report.total_ms, report.stack_ms
                );
                for f in &report.swapped {
                    println!(
                        "  {:<32} swapped in {:>5} ms (drained {} ms, {} waiting)",
                        f.function, f.total_ms, f.drained_ms, f.waiting
                    );
                }
            }
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
                () = tokio::time::sleep(std::time::Duration::from_millis(500)) => {}
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
