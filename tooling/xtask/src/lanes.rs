//! The test command's last step: every test binary, in two lanes at once.
//!
//! `cargo test` runs its binaries one after another, and the cross-service
//! binary (`tests`' `all`: local clouds, browsers) spends most of its time
//! waiting. So the binaries are built by one `cargo test --no-run` (the
//! same package selection as the build, so nothing is compiled again) and
//! run here, as cargo runs them (from their package's folder, with its
//! `CARGO_MANIFEST_DIR`): `all` in one lane, printing as it goes; every
//! other binary, then the doctests, in the other, printed when it ends.
//! Every binary runs even when one fails, as `--no-fail-fast`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context, Result};
use serde::Deserialize;

/// Environment for a cargo step.
pub(crate) type Env = [(&'static str, String)];

/// What the tests run with: the build's compiler and the set-up's tools.
pub(crate) struct TestEnv<'a> {
    /// The build's compiler and its settings (`cmd::test`'s clippy wrapper and CI
    /// settings), so that `cargo test --no-run` finds the build fresh.
    pub(crate) compiler: &'a Env,
    pub(crate) prepared: &'a Prepared,
    /// Where the tests' local clouds write their telemetry.
    pub(crate) telemetry: &'a std::path::Path,
    /// The engine's socket, which every emulator is forked from.
    pub(crate) engine: &'a std::path::Path,
}

pub(crate) struct Prepared {
    pub(crate) venv: std::path::PathBuf,
    pub(crate) chromium: std::path::PathBuf,
    pub(crate) chromedriver: std::path::PathBuf,
}

/// The binary that gets a lane of its own.
const WIDE: &str = "all";

/// Which tests a run takes.
pub(crate) enum Selection<'a> {
    /// Every binary and the doctests: the whole command.
    Everything,
    /// A team's: the binaries of these packages (by folder), and of the
    /// cross-service binary the tests these filters match.
    Team {
        packages: &'a [PathBuf],
        system: &'a [String],
    },
}

/// One test binary, from cargo's `compiler-artifact` message.
#[derive(Debug, Clone)]
struct Binary {
    name: String,
    executable: PathBuf,
    package_dir: PathBuf,
}

#[derive(Deserialize)]
struct Artifact {
    reason: String,
    #[serde(default)]
    executable: Option<PathBuf>,
    #[serde(default)]
    manifest_path: Option<PathBuf>,
    #[serde(default)]
    target: Option<Target>,
    #[serde(default)]
    profile: Option<Profile>,
}

#[derive(Deserialize)]
struct Target {
    name: String,
}

#[derive(Deserialize)]
struct Profile {
    test: bool,
}

/// The test binaries among cargo's JSON messages.
fn binaries(messages: &str) -> Vec<Binary> {
    messages
        .lines()
        .filter_map(|l| serde_json::from_str::<Artifact>(l).ok())
        .filter(|a| a.reason == "compiler-artifact" && a.profile.as_ref().is_some_and(|p| p.test))
        .filter_map(|a| {
            Some(Binary {
                name: a.target?.name,
                executable: a.executable?,
                package_dir: a.manifest_path?.parent()?.to_path_buf(),
            })
        })
        .collect()
}

/// Whether every test passed.
pub(crate) fn run(
    root: &Path,
    cargo_args: &[String],
    env: &TestEnv,
    selection: &Selection,
) -> Result<bool> {
    // Before `--`: cargo's (which tests to build); after: each binary's.
    let split = cargo_args.iter().position(|a| a == "--");
    let (cargo_part, test_part) = match split {
        Some(i) => (&cargo_args[..i], &cargo_args[i + 1..]),
        None => (cargo_args, &[][..]),
    };
    let started = std::time::Instant::now();
    let built = with_env(repo::cargo::command(), env)
        .current_dir(root)
        .args([
            "test",
            "--workspace",
            "--no-run",
            "--message-format=json-render-diagnostics",
        ])
        .args(cargo_part.iter().filter(|a| *a != "--no-fail-fast"))
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("running cargo test --no-run")?;
    if !built.status.success() {
        return Ok(false);
    }
    let (wide, mut rest): (Vec<Binary>, Vec<Binary>) =
        binaries(&String::from_utf8_lossy(&built.stdout))
            .into_iter()
            .partition(|b| b.name == WIDE);
    let mut wide_part = test_part.to_vec();
    if let Selection::Team { packages, system } = selection {
        let all = rest.len();
        rest.retain(|b| packages.contains(&b.package_dir));
        let names: Vec<&str> = rest.iter().map(|b| b.name.as_str()).collect();
        eprintln!(
            "==> tests: built in {} s; `{WIDE}`'s tests matching {system:?} beside {} of the {all} other binaries ({})",
            started.elapsed().as_secs(),
            rest.len(),
            names.join(", ")
        );
        wide_part.extend(system.iter().cloned());
    } else {
        eprintln!(
            "==> tests: built in {} s; `{WIDE}` beside the {} other binaries and the doctests",
            started.elapsed().as_secs(),
            rest.len()
        );
    }
    let doctests = matches!(selection, Selection::Everything);
    let (wide_ok, rest_out) = std::thread::scope(|scope| {
        let others = scope.spawn(|| {
            let started = std::time::Instant::now();
            let out = run_lane(&rest, test_part, env, root, doctests.then_some(cargo_part));
            (out, started.elapsed().as_secs())
        });
        let started = std::time::Instant::now();
        let mut wide_ok = true;
        let wide_args = wide_threads(&wide_part, std::env::var_os("RUST_TEST_THREADS").is_some());
        for b in &wide {
            let status = binary(b, &wide_args, env).status();
            wide_ok &= status.is_ok_and(|s| s.success());
        }
        eprintln!("==> tests: `{WIDE}` in {} s", started.elapsed().as_secs());
        (wide_ok, others.join())
    });
    let (rest_out, secs) = rest_out.map_err(|_| anyhow::anyhow!("the test lane panicked"))?;
    let (rest_ok, report) = rest_out?;
    eprintln!("==> the other test binaries and the doctests ({secs} s):\n{report}");
    Ok(wide_ok && rest_ok)
}

/// One binary as `cargo test` runs it.
/// The wide binary's tests mostly wait on their clouds and browsers
/// (alone it keeps 1.3 of the 2 cores busy), and once the other lane ends
/// it runs alone: three at a time, not libtest's one per core, unless the
/// caller chose (`--test-threads`, `RUST_TEST_THREADS`). Measured warm on
/// this 2-core machine: `all` 240 s with two, 204 s with three.
const WIDE_THREADS: &str = "--test-threads=3";

fn wide_threads(test_args: &[String], chosen_by_env: bool) -> Vec<String> {
    let mut args = test_args.to_vec();
    if !chosen_by_env && !args.iter().any(|a| a.starts_with("--test-threads")) {
        args.push(WIDE_THREADS.to_owned());
    }
    args
}

fn binary(b: &Binary, test_args: &[String], env: &TestEnv) -> Command {
    let mut c = with_env(Command::new(&b.executable), env);
    c.current_dir(&b.package_dir)
        .env("CARGO_MANIFEST_DIR", &b.package_dir)
        .args(test_args);
    c
}

fn with_env(mut c: Command, env: &TestEnv) -> Command {
    // The same compiler as the build, so the build is fresh.
    c.envs(env.compiler.iter().map(|(k, v)| (k, v)))
        .env("PROJECT_VENV", &env.prepared.venv)
        .env("CHROMIUM", &env.prepared.chromium)
        .env("CHROMEDRIVER", &env.prepared.chromedriver)
        .env(xtask::edges::TELEMETRY_ROOT, env.telemetry)
        .env(crate::engine::ENGINE_ENV, env.engine);
    c
}

/// The binaries one after another, then the doctests (given cargo's
/// arguments for them); their output held.
fn run_lane(
    binaries: &[Binary],
    test_args: &[String],
    env: &TestEnv,
    root: &Path,
    doctests: Option<&[String]>,
) -> Result<(bool, String)> {
    let mut ok = true;
    let mut report = String::new();
    let mut take = |what: &str, out: Output| {
        ok &= out.status.success();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let shown = if out.status.success() {
            condensed(&text)
        } else {
            text
        };
        if !shown.is_empty() {
            report.push_str(&format!("     Running {what}\n{shown}"));
        }
    };
    for b in binaries {
        let out = held(binary(b, test_args, env))
            .with_context(|| format!("running {}", b.executable.display()))?;
        take(&b.executable.display().to_string(), out);
    }
    if let Some(cargo_args) = doctests {
        let mut doc = with_env(repo::cargo::command(), env);
        doc.current_dir(root)
            .args(["test", "--workspace", "--doc"])
            .args(cargo_args.iter().filter(|a| *a != "--no-fail-fast"));
        take("doctests", held(doc).context("running the doctests")?);
    }
    Ok((ok, report))
}

/// A passing binary's output as a reader needs it: each test's line and
/// the summary, without the blank lines, and without the sections (a
/// crate's doctests, say) that ran no test at all. A failing binary's
/// output is shown whole.
fn condensed(text: &str) -> String {
    let mut out = String::new();
    let mut section = String::new();
    let mut ran_any = false;
    let mut flush = |section: &mut String, ran_any: &mut bool| {
        if *ran_any {
            out.push_str(section);
        }
        section.clear();
        *ran_any = false;
    };
    for line in text.lines() {
        if line.trim_start().starts_with("Doc-tests ") {
            flush(&mut section, &mut ran_any);
        }
        if line.trim().is_empty() {
            continue;
        }
        if let Some(n) = line.strip_prefix("running ") {
            ran_any |= !n.starts_with("0 tests");
            continue;
        }
        section.push_str(line);
        section.push('\n');
    }
    flush(&mut section, &mut ran_any);
    out
}

/// Runs `c` with its output in a file, read back when it ends. Not a pipe:
/// a test leaves processes behind that hold its output open until they
/// see it gone (the emulator's watchdog), and waiting for a pipe's end
/// would wait for them while the test sits unreaped.
fn held(mut c: Command) -> Result<Output> {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("xtask-lane-{}-{n}.log", std::process::id()));
    let file = std::fs::File::create(&path)?;
    let status = c.stdout(file.try_clone()?).stderr(file).status()?;
    let text = std::fs::read(&path)?;
    std::fs::remove_file(&path)?;
    Ok(Output {
        status,
        stdout: text,
        stderr: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passing_binarys_output_keeps_its_tests_and_drops_what_ran_nothing() {
        let text = "\nrunning 2 tests\ntest a ... ok\ntest b ... ok\n\ntest result: ok. 2 passed; 0 failed\n\n   Doc-tests kit\n\nrunning 0 tests\n\ntest result: ok. 0 passed; 0 failed\n\n   Doc-tests repo\n\nrunning 1 test\ntest src/lib.rs - f (line 3) ... ok\n\ntest result: ok. 1 passed; 0 failed\n\nall doctests ran in 0.2s\n";
        assert_eq!(
            condensed(text),
            "test a ... ok\ntest b ... ok\ntest result: ok. 2 passed; 0 failed\n   Doc-tests repo\ntest src/lib.rs - f (line 3) ... ok\ntest result: ok. 1 passed; 0 failed\nall doctests ran in 0.2s\n"
        );
        assert_eq!(
            condensed("\nrunning 0 tests\n\ntest result: ok. 0 passed\n"),
            ""
        );
    }

    #[test]
    fn the_wide_binary_runs_three_tests_at_once_unless_the_caller_chose() {
        let strings = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            wide_threads(&strings(&["web::"]), false),
            strings(&["web::", "--test-threads=3"])
        );
        assert_eq!(
            wide_threads(&strings(&["--test-threads=1"]), false),
            strings(&["--test-threads=1"])
        );
        assert_eq!(wide_threads(&[], true), Vec::<String>::new());
    }

    #[test]
    fn test_binaries_are_read_from_cargos_messages() {
        let messages = [
            r#"{"reason":"compiler-artifact","target":{"name":"all"},"profile":{"test":true},"executable":"/t/all-1","manifest_path":"/r/tests/Cargo.toml"}"#,
            r#"{"reason":"compiler-artifact","target":{"name":"kit"},"profile":{"test":false},"executable":null,"manifest_path":"/r/kit/Cargo.toml"}"#,
            r#"{"reason":"build-finished","success":true}"#,
        ]
        .join("\n");
        let found = binaries(&messages);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].name, "all");
        assert_eq!(found[0].package_dir, PathBuf::from("/r/tests"));
    }
}
