//! cargo, as the tools here run it: one command, with the environment that
//! `cargo run` gave the tool left out.
//!
//! `cargo xtask …` and `cargo devstack …` hand their process the
//! variables cargo sets for a crate (`CARGO_MANIFEST_DIR`, `CARGO_PKG_NAME`,
//! …). A cargo started with them passes them to every build script, and a
//! build script that watches one (ring's watches both) is run again, and
//! everything above it rebuilt: after `cargo xtask up`, a `cargo build`
//! or a watch started from another command rebuilt ring, rustls, kit and
//! every function (30 s), and back again on the next switch.

use std::ffi::{OsStr, OsString};
use std::process::Command;

/// The variables cargo sets for the crate it runs or builds, which mean
/// nothing to a cargo started from it.
fn set_for_a_crate(name: &OsStr) -> bool {
    let Some(name) = name.to_str() else {
        return false;
    };
    const PREFIXES: [&str; 4] = ["CARGO_PKG_", "CARGO_MANIFEST_", "CARGO_BIN_", "CARGO_CFG_"];
    const NAMES: [&str; 5] = [
        "CARGO_CRATE_NAME",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_TARGET_TMPDIR",
        "OUT_DIR",
        "CARGO_RUSTC_CURRENT_DIR",
    ];
    PREFIXES.iter().any(|p| name.starts_with(p)) || NAMES.contains(&name)
}

/// cargo (the one that runs this tool, else the one on `PATH`), without
/// the variables of the crate it was started for: every cargo a tool
/// starts builds what a plain `cargo build` in the terminal builds.
pub fn command() -> Command {
    let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    leave_out_crate_variables(&mut cargo, std::env::vars_os());
    cargo
}

fn leave_out_crate_variables(
    cargo: &mut Command,
    vars: impl IntoIterator<Item = (OsString, OsString)>,
) {
    for (name, _) in vars {
        if set_for_a_crate(&name) {
            cargo.env_remove(&name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `cargo run` gives `cargo xtask` is not passed on; what the
    /// build itself reads (where the target and the registry are, the
    /// choice of incremental builds) is.
    #[test]
    fn a_started_cargo_gets_none_of_the_crates_variables() {
        let given = [
            ("CARGO_MANIFEST_DIR", "/work/tooling/xtask"),
            ("CARGO_MANIFEST_PATH", "/work/tooling/xtask/Cargo.toml"),
            ("CARGO_PKG_NAME", "xtask"),
            ("CARGO_PKG_VERSION_MAJOR", "0"),
            ("CARGO_CRATE_NAME", "xtask"),
            ("CARGO_TARGET_DIR", "/tmp/target"),
            ("CARGO_HOME", "/tmp/cargo"),
            ("CARGO_INCREMENTAL", "0"),
            ("PATH", "/usr/bin"),
        ];
        let mut cargo = Command::new("cargo");
        leave_out_crate_variables(&mut cargo, given.map(|(k, v)| (k.into(), v.into())));
        let removed: Vec<&OsStr> = (cargo.get_envs())
            .filter(|(_, v)| v.is_none())
            .map(|(k, _)| k)
            .collect();
        assert_eq!(
            removed,
            [
                "CARGO_CRATE_NAME",
                "CARGO_MANIFEST_DIR",
                "CARGO_MANIFEST_PATH",
                "CARGO_PKG_NAME",
                "CARGO_PKG_VERSION_MAJOR"
            ]
            .map(OsStr::new)
        );
    }
}
