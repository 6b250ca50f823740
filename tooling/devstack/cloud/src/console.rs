//! The console beside the web app (`devstack-console`): served on
//! loopback once everything else is up, with what it reads handed over:
//! the telemetry folder, the topology the stacks declare, and an endpoints file of its own for the ops binary it runs.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use devstack_api::Endpoints;
use devstack_console::map::{self, Declared, Topology};

use crate::deploy::Stack;

/// The built console (`tooling/devstack/console/page/dist`).
pub fn dist_dir() -> PathBuf {
    repo::root().join(repo::paths::CONSOLE_DIST)
}

/// Serves the console on `127.0.0.1:port` and sets `console_url`.
pub async fn serve(
    endpoints: &mut Endpoints,
    stacks: &[Stack],
    port: u16,
    (dist, bin_dir): (&std::path::Path, &std::path::Path),
) -> Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| format!("binding the console to 127.0.0.1:{port}"))?;
    endpoints.console_url = format!("http://{}", listener.local_addr()?);
    let telemetry_dir = PathBuf::from(&endpoints.telemetry_dir);
    // The ops binary reads the cloud from a file, as a person's does.
    let endpoints_file = telemetry_dir.join("endpoints.json");
    std::fs::write(&endpoints_file, serde_json::to_vec_pretty(&*endpoints)?)
        .with_context(|| format!("writing {}", endpoints_file.display()))?;
    let console = devstack_console::Console {
        telemetry_dir,
        dist: dist.to_owned(),
        topology: topology(endpoints, stacks),
        emulator_url: endpoints.emulator_url.clone(),
        accounts: endpoints.accounts().keys().map(|a| a.to_string()).collect(),
        devstack: bin_dir.join("devstack"),
        functions: endpoints.function_ids(),
        ops: devstack_console::letters::Ops {
            binary: bin_dir.join("ops"),
            endpoints_file,
        },
    };
    let app = devstack_console::router(Arc::new(console));
    Ok(tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    }))
}

/// What the stacks declare, for the map before any traffic: each
/// service's account, functions, API routes, stream readers, upload
/// handlers and rules (with the detail-types each pattern names).
fn topology(endpoints: &Endpoints, stacks: &[Stack]) -> Topology {
    let services = stacks.iter().map(|(service, plan, _, adapted)| {
        let id = |logical: &str| format!("{service}/{logical}");
        let ids = |logical: Vec<&String>| -> Vec<String> {
            let unique: BTreeSet<&String> = logical.into_iter().collect();
            unique.into_iter().map(|l| id(l)).collect()
        };
        let rules = (plan.rules.iter())
            .map(|tap| {
                let pattern = &adapted["Resources"][&tap.rule]["Properties"]["EventPattern"];
                Declared {
                    function: id(&tap.function),
                    detail_types: (pattern["detail-type"].as_array().into_iter().flatten())
                        .filter_map(|x| x.as_str().map(str::to_owned))
                        .collect(),
                }
            })
            .collect();
        map::Service {
            name: service.clone(),
            account: (endpoints.services.get(service))
                .map(|s| s.account.clone())
                .unwrap_or_default(),
            functions: ids(plan.functions.iter().map(|f| &f.logical_id).collect()),
            api: ids(plan.routes.iter().map(|r| &r.function).collect()),
            streams: ids(plan.streams.iter().map(|s| &s.function).collect()),
            uploads: ids(plan.uploads.iter().map(|u| &u.function).collect()),
            rules,
        }
    });
    Topology {
        platform_account: endpoints.platform_account.clone(),
        services: services.collect(),
    }
}
