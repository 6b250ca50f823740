//! `devstack up`, the whole system until Ctrl-C, and `devstack engine`, the
//! emulator's warm engine for the test command.

use std::path::Path;

use anyhow::Result;
use devstack::cli::UpArgs;
use devstack_api::Endpoints;
use devstack_cloud::Options;

use super::{telemetry_dir, wait_for_signal};

pub(crate) async fn up(args: UpArgs, endpoints_file: &Path) -> Result<()> {
    for service in &args.from_sam {
        if !repo::SERVICES.contains(&service.as_str()) {
            anyhow::bail!("--from-sam {service}: not a service ({:?})", repo::SERVICES);
        }
    }
    let mut options = Options {
        endpoint_url: args.endpoint_url,
        port: args.port,
        lambda_port: args.lambda_port,
        web_port: args.web_port,
        console_port: args.console_port,
        faults: args.faults,
        iam: args.iam,
        parameter_overrides: args.parameter_overrides,
        max_environments: args
            .max_environments
            .unwrap_or_else(devstack_cloud::default_environments),
        managed_instances: args.managed_instances.into_iter().collect(),
        from_sam: args
            .from_sam
            .iter()
            .map(|s| (s.clone(), repo::sam_build_dir(s)))
            .collect(),
        accounts: devstack_cloud::accounts::layout(args.one_account),
        // A person watches `up`: the functions' lines as they come.
        echo_logs: true,
        ..Options::default()
    };
    if let Some(dir) = args.bin_dir {
        options.bin_dir = dir;
    }
    if let Ok(level) = std::env::var("FUNCTION_LOG") {
        options.function_env.push(("RUST_LOG".into(), level));
    }
    options.telemetry_dir = Some(telemetry_dir(endpoints_file));
    let running = devstack_cloud::start(options).await?;
    write_endpoints(endpoints_file, &running.endpoints)?;
    banner(&running.endpoints, endpoints_file, running.started_in);
    wait_for_signal().await;
    eprintln!("stopping: every process this command started ends with it");
    drop(running);
    Ok(())
}

/// Becomes the engine's Python process (it only returns on failure).
pub(crate) fn engine(socket: &Path, owner: u32) -> Result<()> {
    use std::os::unix::process::CommandExt;
    let mut command =
        devstack_emulator::engine_command(socket, owner).map_err(anyhow::Error::msg)?;
    Err(anyhow::Error::new(command.exec()).context("starting the engine"))
}

pub(crate) fn write_endpoints(path: &Path, endpoints: &Endpoints) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, serde_json::to_string_pretty(endpoints)? + "\n")?;
    Ok(())
}

pub(crate) fn banner(e: &Endpoints, file: &std::path::Path, took: std::time::Duration) {
    println!("local cloud ready in {:.1}s", took.as_secs_f64());
    println!("  web app:    {}   (open it in a browser)", e.web_url);
    println!(
        "  console:    {}   (the service map, live trail, dead letters)",
        e.console_url
    );
    println!("  API:        {}", e.api_base_url);
    println!("  WebSocket:  {}   (?token=<ID token>)", e.socket_url);
    println!("  emulator:   {}", e.emulator_url);
    println!(
        "  Lambda API: {}   (AWS_ENDPOINT_URL_LAMBDA)",
        e.lambda_endpoint
    );
    println!(
        "  control:    {}   (devstack deploy <service>)",
        e.control_url
    );
    println!("  endpoints:  {}", file.display());
    for (account, held) in e.accounts() {
        println!("  account:    {account}   ({})", held.join(", "));
    }
    println!();
    println!("  TOKEN=$(cargo devstack token --email ada@example.com)");
    println!(
        "  curl -s -X PUT {}/users/me -H \"authorization: Bearer $TOKEN\" -d '{{\"display_name\":\"Ada\"}}'",
        e.api_base_url
    );
    println!(
        "  curl -s -X POST {}/todos -H \"authorization: Bearer $TOKEN\" -d '{{\"title\":\"ship it\"}}'",
        e.api_base_url
    );
    println!("  cargo devstack walkthrough");
    println!();
}
