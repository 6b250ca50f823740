//! A team's loop: `cargo xtask test <service>` after a one-line change in
//! the service's code, the change put back afterwards. Warm figures come
//! from a machine that ran the command once before.

use std::path::Path;
use std::time::Instant;

use anyhow::{Result, bail};

use super::Row;
use super::restore::Restore;
use super::steps;

pub(crate) async fn run(root: &Path, service: &str) -> Result<Row> {
    if !repo::SERVICES.contains(&service) {
        bail!(
            "--team {service}: not a service (the services: {})",
            repo::SERVICES.join(", ")
        );
    }
    let file = Restore::new(&repo::service_dir_in(root, service).join("src/main.rs"))?;
    file.write(&format!(
        "{}// loop-bench: a one-line change\n",
        file.original()
    ))?;
    let mut cargo = repo::cargo::command();
    cargo.current_dir(root).args(["xtask", "test", service]);
    let log = steps::log_in(root, &format!("team-{service}"));
    let started = Instant::now();
    let (passed, text) = steps::run_logged(cargo, &log).await?;
    let took = started.elapsed();
    drop(file);
    let build = (steps::timed(&text).into_iter())
        .find(|(name, _)| name.starts_with("cargo build"))
        .map_or(String::new(), |(_, s)| format!(", build {s:.0} s"));
    Ok(Row {
        what: format!("team loop: cargo xtask test {service}"),
        seconds: took.as_secs_f64(),
        note: format!("{}{build}", steps::outcome(passed, &log)),
    })
}
