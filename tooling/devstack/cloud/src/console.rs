//! The console beside the web app (`devstack-console`): served on
//! loopback once everything else is up, with what it reads handed over:
//! the telemetry folder, the rules' declared deliveries from the
//! endpoints, and an endpoints file of its own for the ops binary it runs.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use devstack_api::Endpoints;
use devstack_console::map::Declared;

/// The built console (`tooling/console/dist`).
pub fn dist_dir() -> PathBuf {
    repo::root().join(repo::paths::CONSOLE_DIST)
}

/// Serves the console on `127.0.0.1:port` and sets `console_url`.
pub async fn serve(
    endpoints: &mut Endpoints,
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
        declared: declared(endpoints),
        emulator_url: endpoints.emulator_url.clone(),
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

/// Each rule's consumer (`<service>/<LogicalId>`) and the detail-types its
/// pattern names.
fn declared(endpoints: &Endpoints) -> Vec<Declared> {
    let ids = endpoints.function_ids();
    let mut out = Vec::new();
    for s in endpoints.services.values() {
        for c in s.consumers.iter().filter(|c| c.trigger == "rule") {
            let Some(function) = ids.get(&c.function) else {
                continue;
            };
            let names = |v: &serde_json::Value| -> Vec<String> {
                (v.as_array().into_iter().flatten())
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect()
            };
            let pattern = c.pattern.clone().unwrap_or_default();
            out.push(Declared {
                function: function.clone(),
                detail_types: names(&pattern["detail-type"]),
            });
        }
    }
    out
}
