//! One module per command (or group of commands), as `ops` has them; the
//! clap definitions are `xtask::cli`, the dispatch is `main`.

pub(crate) mod deploy_gate;
pub(crate) mod local;
pub(crate) mod new_service;
pub(crate) mod pipeline;
pub(crate) mod schemas;
pub(crate) mod team;
pub(crate) mod test;

use governance::declared;

pub(crate) fn service_names() -> Vec<&'static str> {
    declared::services().iter().map(|s| s.name).collect()
}
