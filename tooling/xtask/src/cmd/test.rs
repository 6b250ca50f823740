//! `cargo xtask test`: the build linted by clippy, the two test lanes, and
//! the document checks and scans beside them at the lowest priority.

use std::process::{Command, ExitCode};

use anyhow::{Context, Result};
use governance::schemas::Rules;
use governance::{asyncapi, catalog_page, declared};
use xtask::{browser, edges, node, venv, web, workflows};

use crate::cmd::pipeline::{pipeline_files, report_stale};
use crate::cmd::schemas::schemas_check;
use crate::lanes::{Env, Prepared, Selection, TestEnv};
use crate::{engine, exit_code, lanes, scans};

pub(crate) fn test(root: &std::path::Path, cargo_args: &[String]) -> Result<ExitCode> {
    scans::advisory_snapshot(root)?;
    // The compiler and its settings, the same for the build and the tests'
    // `cargo test --no-run`, so that the second finds the first fresh.
    let mut build = clippy_as_compiler()?.to_vec();
    build.extend(ci_build());
    // The compiler keeps both cores busy for minutes; the installs (pip,
    // npm, apt) wait mostly on the network and the disk, so they run beside
    // it. The document checks and the scans need only the installed tools,
    // and nothing needs them: they run at the lowest priority from the
    // moment the tools are there, on what the build leaves idle and then on what the tests leave idle (the
    // tests' local clouds mostly wait), and are awaited at the end.
    std::thread::scope(|scope| {
        let (tools_ready, tools) = std::sync::mpsc::channel();
        let checks = scope.spawn(move || {
            if !tools.recv().unwrap_or(false) {
                return Ok(false);
            }
            lowest_priority();
            timed("document checks and scans (beside the rest)", || {
                Ok(timed("document checks", || documents_check(root))?
                    && timed("scans", || scans::run(root))?)
            })
        });
        let setup = scope.spawn(move || prepare(root, tools_ready));
        let compiled = compile(root, &build);
        let prepared = setup
            .join()
            .map_err(|_| anyhow::anyhow!("the set-up thread panicked"))??;
        let tested =
            compiled? && run_tests(root, cargo_args, &build, &prepared, &Selection::Everything)?;
        let checked = checks
            .join()
            .map_err(|_| anyhow::anyhow!("the checks thread panicked"))??;
        if !checked {
            eprintln!("==> the document checks or the scans failed (above)");
        }
        Ok(exit_code(tested && checked))
    })
}

/// Every test binary in its lane, then the event edges they exercised.
pub(crate) fn run_tests(
    root: &std::path::Path,
    cargo_args: &[String],
    compiler: &Env,
    prepared: &Prepared,
    selection: &Selection,
) -> Result<bool> {
    // Every local cloud the tests start records its deliveries and the
    // judge's verdicts here, so that the edges no test exercised can be
    // named afterwards, and `devstack least-privilege` can read the run.
    let telemetry = root.join(".local/test-telemetry");
    let _ = std::fs::remove_dir_all(&telemetry);
    std::fs::create_dir_all(&telemetry)?;
    let started = std::time::Instant::now();
    let engine = engine::start(&prepared.venv)?;
    eprintln!(
        "==> engine: ready in {:.1} s, each test's emulator forked from it",
        started.elapsed().as_secs_f64()
    );
    let env = TestEnv {
        compiler,
        prepared,
        telemetry: &telemetry,
        engine: &engine.socket,
    };
    let passed = lanes::run(root, cargo_args, &env, selection)?;
    if !matches!(selection, Selection::Everything) {
        return Ok(passed);
    }
    for line in edges::report(
        &edges::declared(&declared::services()),
        &edges::exercised(&telemetry),
    ) {
        eprintln!("{line}");
    }
    eprintln!(
        "==> least privilege over the tests' clouds: cargo devstack least-privilege --telemetry .local/test-telemetry"
    );
    Ok(passed)
}

/// This thread, and every process it starts, at the lowest CPU priority
/// (Linux's nice is per thread, and a child inherits its thread's).
pub(crate) fn lowest_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority only reads its arguments; `0` is this thread.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 19);
    }
}

/// What `cargo clippy --all-targets -D warnings` denies.
pub(crate) const LINTS: [&str; 2] = ["-D", "warnings"];

/// Clippy as the workspace's compiler: `clippy-driver` is rustc with the
/// lints, so one build gives the binaries, the tests and every lint (the
/// browser bench's code is in the `all` test target), where `cargo clippy`
/// first checked every dependency a second time (370 s of a fresh run).
/// Dependencies still get plain rustc: the wrapper is for workspace crates.
pub(crate) fn clippy_as_compiler() -> Result<[(&'static str, String); 2]> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .context("asking rustc for its sysroot")?;
    let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let driver = std::path::Path::new(&sysroot).join("bin/clippy-driver");
    anyhow::ensure!(
        driver.is_file(),
        "no clippy-driver at {}: the toolchain needs its clippy component (rust-toolchain.toml lists it)",
        driver.display()
    );
    // cargo-clippy's own way of handing the lint arguments to the driver.
    let args: String = LINTS
        .iter()
        .map(|a| format!("{a}__CLIPPY_HACKERY__"))
        .collect();
    Ok([
        ("RUSTC_WORKSPACE_WRAPPER", driver.display().to_string()),
        ("CLIPPY_ARGS", args),
    ])
}

/// On CI (`CI` set, as every CI service sets it), a build without
/// incremental compilation: a clean clone has no incremental state to
/// reuse, and writing it cost the workspace's crates 138 s against 99 s
/// without (both cores, one sitting). Not elsewhere: the setting is part of
/// every workspace crate's fingerprint, so turning it off on a laptop
/// would rebuild them all, then lose the reuse of small edits. A
/// `CARGO_INCREMENTAL` of the caller's own wins.
pub(crate) fn ci_build() -> Option<(&'static str, String)> {
    without_incremental(
        std::env::var("CI").ok().as_deref(),
        std::env::var_os("CARGO_INCREMENTAL").is_some(),
    )
    .then(|| ("CARGO_INCREMENTAL", "0".to_owned()))
}

/// Whether a build under `ci` (the `CI` variable) turns incremental
/// compilation off, unless the caller set it (`chosen`).
pub(crate) fn without_incremental(ci: Option<&str>, chosen: bool) -> bool {
    !chosen && ci.is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// The tools (`tools_ready` is told when the venv and the Node tools are
/// installed, or that they failed), the built web app and the browser.
pub(crate) fn prepare(
    root: &std::path::Path,
    tools_ready: std::sync::mpsc::Sender<bool>,
) -> Result<Prepared> {
    let tools = (|| {
        let venv = timed("set-up: python venv", || venv::ensure(root))?;
        timed("set-up: node tools", || node::ensure(root))?;
        Ok::<_, anyhow::Error>(venv)
    })();
    let _ = tools_ready.send(tools.is_ok());
    let venv = tools?;
    // The browser tests: the built app and a matching Chromium and driver.
    timed("set-up: web app", || web::build(root))?;
    timed("set-up: console", || web::build_console(root))?;
    let (chromium, chromedriver) = timed("set-up: browser", browser::ensure)?;
    Ok(Prepared {
        venv,
        chromium,
        chromedriver,
    })
}

/// `step`, with its wall time on stderr: the test command's own breakdown
/// of where a run goes.
pub(crate) fn timed<T>(name: &str, step: impl FnOnce() -> Result<T>) -> Result<T> {
    let started = std::time::Instant::now();
    let out = step();
    eprintln!("==> {name}: {:.0} s", started.elapsed().as_secs_f64());
    out
}

/// The schemas, and the generated documents judged by the official tools
/// of each format.
pub(crate) fn documents_check(root: &std::path::Path) -> Result<bool> {
    eprintln!("==> schemas check");
    if schemas_check(root, None, false, Rules::default())? != ExitCode::SUCCESS {
        return Ok(false);
    }
    eprintln!("==> asyncapi: {} with @asyncapi/parser", asyncapi::FILE);
    if !node::run(root, "validate-asyncapi.mjs", &[asyncapi::FILE])? {
        return Ok(false);
    }
    eprintln!("==> mermaid: {} with mermaid's parser", catalog_page::FILE);
    if !node::run(root, "check-mermaid.mjs", &[catalog_page::FILE])? {
        return Ok(false);
    }
    eprintln!("==> workflows and CODEOWNERS: generated, unchanged");
    let files = pipeline_files(root)?;
    if report_stale(root, &files) != ExitCode::SUCCESS {
        return Ok(false);
    }
    eprintln!("==> actionlint: {}", workflows::DIR);
    let workflow_files: Vec<&str> = files
        .iter()
        .map(|(f, _)| f.as_str())
        .filter(|f| f.starts_with(workflows::DIR))
        .collect();
    node::run(root, "lint-workflows.mjs", &workflow_files)
}

/// fmt, then the function binaries (the end-to-end tests run them) and the
/// tests, linted as they compile (`compiler`: [`clippy_as_compiler`], and
/// [`ci_build`] on CI). Each step's output is held until it ends, so it
/// does not interleave with the set-up's.
pub(crate) fn compile(root: &std::path::Path, compiler: &Env) -> Result<bool> {
    // With the tests: their dev-dependencies turn on features of shared
    // crates (serde_json, time, regex...), so binaries built without them
    // would be built again, with every SDK crate under them, by `cargo
    // test` (a fresh run spent 353 s on that second build).
    let build = ["build", "--workspace", "--bins", "--tests", "--quiet"];
    let steps: [(&str, &[&str], &Env); 2] = [
        ("cargo fmt --check", &["fmt", "--all", "--", "--check"], &[]),
        (
            "cargo build --bins --tests, linted by clippy",
            &build,
            compiler,
        ),
    ];
    for (name, args, env) in steps {
        let started = std::time::Instant::now();
        let out = repo::cargo::command()
            .current_dir(root)
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .output()
            .with_context(|| format!("running {name}"))?;
        let secs = started.elapsed().as_secs();
        eprintln!(
            "==> {name}: {} in {secs} s\n{}{}",
            if out.status.success() { "ok" } else { "FAILED" },
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if !out.status.success() {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::without_incremental;

    #[test]
    fn only_ci_builds_without_incremental_and_the_callers_choice_wins() {
        assert!(without_incremental(Some("true"), false));
        assert!(without_incremental(Some("1"), false));
        assert!(!without_incremental(None, false), "a laptop keeps it");
        assert!(!without_incremental(Some(""), false));
        assert!(!without_incremental(Some("false"), false));
        assert!(
            !without_incremental(Some("true"), true),
            "CARGO_INCREMENTAL set"
        );
    }
}
