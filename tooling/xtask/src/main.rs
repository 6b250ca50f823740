use std::path::PathBuf;
use std::process::{Command, ExitCode};

use anyhow::{Context, Result};
use clap::Parser;
use compat::{Mode, Policy};
use repo::workspace::Workspace;
use xtask::cli::{Cli, Cmd, SchemasCmd};
use xtask::folders::{EXAMPLES_DIR, SCHEMAS_DIR};
use xtask::schemas::{self, Baseline, Rules};
use xtask::{
    affected, asyncapi, browser, catalog_page, declared, edges, new_service, node, owners, venv,
    web, workflows,
};

mod engine;
mod gate;
mod lanes;
mod scans;

/// The checkout the command runs in, found from the current directory (never
/// the folder this binary was built from: checkouts may share a target dir).
fn root() -> Result<PathBuf> {
    Ok(repo::try_root()?)
}

fn main() -> ExitCode {
    end_quietly_when_the_reader_goes();
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// A reader that goes away (`cargo xtask plan | head`) ends this process
/// quietly, as it ends any Unix tool. Rust starts with SIGPIPE ignored, so
/// a print to a closed pipe fails and `println!` panics instead. The
/// children this runs get the default back from the standard library
/// anyway, and this process writes to no pipe of theirs.
fn end_quietly_when_the_reader_goes() {
    // SAFETY: sets a signal's disposition, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Cmd::Schemas { command } => schemas_cmd(command),
        Cmd::Venv => venv_cmd(&root()?),
        Cmd::Test { cargo_args } => test(&root()?, &cargo_args),
        Cmd::Scan => Ok(exit_code(scans::run(&root()?)?)),
        Cmd::NewService { name, item } => new_service_cmd(&root()?, &name, item.as_deref()),
        Cmd::Openapi => openapi(&root()?),
        Cmd::Web => web_cmd(&root()?),
        Cmd::Ci { check } => ci(&root()?, check),
        Cmd::Affected { base } => affected_cmd(&root()?, &base),
        Cmd::DeployTools => deploy_tools(&root()?),
        Cmd::SamBuild { service, arch } => sam_build(&root()?, &service, &arch),
        Cmd::CanIDeploy {
            service,
            repo,
            head,
            endpoints_file,
            ops,
        } => gate::can_i_deploy(
            &root()?,
            &service,
            &repo,
            &head,
            &gate::Stacks {
                endpoints_file,
                ops,
            },
        ),
        Cmd::Plan {
            repo,
            base,
            head,
            json,
            deployed,
            endpoints_file,
            ops,
        } => {
            let state = (deployed || endpoints_file.is_some()).then_some(gate::Stacks {
                endpoints_file,
                ops,
            });
            gate::plan(
                &root()?,
                &repo,
                base.as_deref(),
                &head,
                json,
                state.as_ref(),
            )
        }
        Cmd::ContractTags { service } => gate::contract_tags(&service),
        Cmd::Up { args } => devstack(&root()?, "up", &args, false),
        Cmd::Load { args } => devstack(&root()?, "load", &args, true),
        Cmd::Bench { args } => bench(&root()?, &args),
    }
}

/// `schemas generate|check|diff`; `diff` compares two files anywhere, so
/// it alone needs no checkout.
fn schemas_cmd(command: SchemasCmd) -> Result<ExitCode> {
    match command {
        SchemasCmd::Generate => schemas_generate(&root()?),
        SchemasCmd::Check {
            base,
            no_baseline,
            mode,
            policy,
        } => schemas_check(
            &root()?,
            base,
            no_baseline,
            Rules {
                mode: mode.map(Into::into),
                policy: policy.into(),
            },
        ),
        SchemasCmd::Diff {
            old,
            new,
            mode,
            policy,
            json,
        } => schemas_diff(&old, &new, mode.into(), policy.into(), json),
    }
}

fn schemas_generate(root: &std::path::Path) -> Result<ExitCode> {
    let written = schemas::generate(root)?;
    for file in &written {
        println!("wrote {file}");
    }
    println!("schemas: {} file(s) rewritten", written.len());
    Ok(ExitCode::SUCCESS)
}

fn venv_cmd(root: &std::path::Path) -> Result<ExitCode> {
    let dir = venv::ensure(root)?;
    println!("venv ready: {}", dir.display());
    Ok(ExitCode::SUCCESS)
}

fn openapi(root: &std::path::Path) -> Result<ExitCode> {
    // The document is built by each service's own unit test, so this
    // tool never compiles the services (or their SDK clients) itself.
    let status = std::process::Command::new(env!("CARGO"))
        .current_dir(root)
        .env("OPENAPI_WRITE", "1")
        .args(["test", "-q", "--lib"])
        .args(repo::SERVICES.iter().flat_map(|s| ["-p", *s]))
        .arg("openapi::")
        .status()?;
    if !status.success() {
        anyhow::bail!("generating the OpenAPI documents failed");
    }
    for service in service_names() {
        println!("wrote {}/{service}/openapi.json", repo::paths::SERVICES_DIR);
    }
    Ok(ExitCode::SUCCESS)
}

fn web_cmd(root: &std::path::Path) -> Result<ExitCode> {
    let dist = web::build(root)?;
    println!("web app built: {}", dist.display());
    let console = web::build_console(root)?;
    println!("console built: {}", console.display());
    Ok(ExitCode::SUCCESS)
}

fn affected_cmd(root: &std::path::Path, base: &str) -> Result<ExitCode> {
    let workspace = Workspace::load(root)?;
    let files = affected::changed_files(root, base)?;
    for unit in affected::units(&workspace, &service_names(), &files) {
        println!("{unit}");
    }
    Ok(ExitCode::SUCCESS)
}

fn deploy_tools(root: &std::path::Path) -> Result<ExitCode> {
    let dir = venv::ensure_deploy(root)?;
    println!(
        "deploy tools ready: {}/bin (sam, cargo-lambda)",
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The local cloud's benchmarks, then the browser bench.
fn bench(root: &std::path::Path, args: &[String]) -> Result<ExitCode> {
    let status = devstack(root, "bench", args, true)?;
    if status != ExitCode::SUCCESS {
        return Ok(status);
    }
    web_bench(root)
}

fn schemas_diff(
    old: &std::path::Path,
    new: &std::path::Path,
    mode: Mode,
    policy: Policy,
    json: bool,
) -> Result<ExitCode> {
    let read = |path: &std::path::Path| -> Result<serde_json::Value> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
    };
    // Bad input is exit 2 (main's error path), distinct from "breaking".
    let findings = compat::compare(&read(old)?, &read(new)?, mode, policy)
        .context("not a usable JSON Schema")?;
    for finding in &findings {
        if json {
            println!("{}", finding.to_json());
        } else {
            println!("{finding}");
        }
    }
    if !json {
        let verdict = if findings.is_empty() {
            "compatible".to_owned()
        } else {
            format!("breaking: {} finding(s)", findings.len())
        };
        println!("{verdict} ({}, {})", mode.as_str(), policy.as_str());
    }
    Ok(exit_code(findings.is_empty()))
}

fn schemas_check(
    root: &std::path::Path,
    base: Option<String>,
    no_baseline: bool,
    rules: Rules,
) -> Result<ExitCode> {
    let baseline = match (base, no_baseline) {
        (_, true) => Baseline::None,
        (Some(rev), false) => Baseline::Git {
            repo: root.to_path_buf(),
            rev,
        },
        (None, false) => Baseline::auto(root),
    };
    let mut report = schemas::check_with(
        &root.join(SCHEMAS_DIR),
        &root.join(EXAMPLES_DIR),
        &baseline,
        rules,
    )?;
    report.problems.extend(schemas::check_docs(root)?);
    print!("{}", report.render());
    Ok(exit_code(report.is_ok()))
}

fn devstack(
    root: &std::path::Path,
    command: &str,
    args: &[String],
    release: bool,
) -> Result<ExitCode> {
    venv::ensure(root)?;
    web::build(root)?;
    web::build_console(root)?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(&cargo);
    build
        .current_dir(root)
        .args(["build", "--workspace", "--bins"]);
    if release {
        build.arg("--release");
    }
    if !build.status().context("building the binaries")?.success() {
        return Ok(ExitCode::FAILURE);
    }
    // Wherever cargo put them: CARGO_TARGET_DIR, a config file, the default.
    let dir = Workspace::load(root)?
        .target_dir
        .join(if release { "release" } else { "debug" });
    let status = Command::new(dir.join("devstack"))
        .current_dir(root)
        .arg(command)
        .arg("--bin-dir")
        .arg(&dir)
        .args(args)
        .env("PROJECT_VENV", venv::dir(root))
        .status()
        .context("starting devstack")?;
    Ok(exit_code(status.success()))
}

/// Completion → congratulation rendered in a real browser, against the
/// release functions `devstack` (bench) just built.
fn web_bench(root: &std::path::Path) -> Result<ExitCode> {
    let (chromium, chromedriver) = browser::ensure()?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(&cargo)
        .current_dir(root)
        .args(["bench", "-p", "tests", "--bench", "web"])
        .env("PROJECT_VENV", venv::dir(root))
        .env("CHROMIUM", chromium)
        .env("CHROMEDRIVER", chromedriver)
        .status()
        .context("running the browser bench")?;
    Ok(exit_code(status.success()))
}

fn test(root: &std::path::Path, cargo_args: &[String]) -> Result<ExitCode> {
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
        let tested = compiled? && run_tests(root, cargo_args, &build, &prepared)?;
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
fn run_tests(
    root: &std::path::Path,
    cargo_args: &[String],
    compiler: &Env,
    prepared: &Prepared,
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
    let passed = lanes::run(root, cargo_args, &env)?;
    for line in edges::report(
        &edges::declared(&declared::services()),
        &edges::exercised(&telemetry),
    ) {
        eprintln!("{line}");
    }
    eprintln!(
        "==> least privilege over the tests' clouds: cargo run -q -p devstack -- least-privilege --telemetry .local/test-telemetry"
    );
    Ok(passed)
}

/// This thread, and every process it starts, at the lowest CPU priority
/// (Linux's nice is per thread, and a child inherits its thread's).
fn lowest_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority only reads its arguments; `0` is this thread.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 19);
    }
}

/// What `cargo clippy --all-targets -D warnings` denies.
const LINTS: [&str; 2] = ["-D", "warnings"];

/// Environment for a cargo step.
type Env = [(&'static str, String)];

/// Clippy as the workspace's compiler: `clippy-driver` is rustc with the
/// lints, so one build gives the binaries, the tests and every lint (the
/// browser bench's code is in the `all` test target), where `cargo clippy`
/// first checked every dependency a second time (370 s of a fresh run).
/// Dependencies still get plain rustc: the wrapper is for workspace crates.
fn clippy_as_compiler() -> Result<[(&'static str, String); 2]> {
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
fn ci_build() -> Option<(&'static str, String)> {
    without_incremental(
        std::env::var("CI").ok().as_deref(),
        std::env::var_os("CARGO_INCREMENTAL").is_some(),
    )
    .then(|| ("CARGO_INCREMENTAL", "0".to_owned()))
}

/// Whether a build under `ci` (the `CI` variable) turns incremental
/// compilation off, unless the caller set it (`chosen`).
fn without_incremental(ci: Option<&str>, chosen: bool) -> bool {
    !chosen && ci.is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// A check's verdict as the process's.
fn exit_code(passed: bool) -> ExitCode {
    if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// What the tests run with: the build's compiler and the set-up's tools.
struct TestEnv<'a> {
    /// The build's compiler and its settings ([`clippy_as_compiler`],
    /// [`ci_build`]), so that `cargo test --no-run` finds the build fresh.
    compiler: &'a Env,
    prepared: &'a Prepared,
    /// Where the tests' local clouds write their telemetry.
    telemetry: &'a std::path::Path,
    /// The engine's socket, which every emulator is forked from.
    engine: &'a std::path::Path,
}

struct Prepared {
    venv: std::path::PathBuf,
    chromium: std::path::PathBuf,
    chromedriver: std::path::PathBuf,
}

/// The tools (`tools_ready` is told when the venv and the Node tools are
/// installed, or that they failed), the built web app and the browser.
fn prepare(root: &std::path::Path, tools_ready: std::sync::mpsc::Sender<bool>) -> Result<Prepared> {
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
fn timed<T>(name: &str, step: impl FnOnce() -> Result<T>) -> Result<T> {
    let started = std::time::Instant::now();
    let out = step();
    eprintln!("==> {name}: {:.0} s", started.elapsed().as_secs_f64());
    out
}

/// The schemas, and the generated documents judged by the official tools
/// of each format.
fn documents_check(root: &std::path::Path) -> Result<bool> {
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
    let files = delivery_files(root)?;
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
fn compile(root: &std::path::Path, compiler: &Env) -> Result<bool> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
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
        let out = Command::new(&cargo)
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

fn new_service_cmd(root: &std::path::Path, name: &str, item: Option<&str>) -> Result<ExitCode> {
    let names = new_service::Names::new(name, item)?;
    let created = new_service::create(root, &names)?;
    for file in created.files.iter().chain(&created.registered) {
        println!(
            "wrote {}",
            file.strip_prefix(root).unwrap_or(file).display()
        );
    }
    // The skeleton's lines are as long as the names make them.
    let status = Command::new(env!("CARGO"))
        .current_dir(root)
        .args(["fmt", "--package", name])
        .status()?;
    if !status.success() {
        anyhow::bail!("cargo fmt --package {name} failed");
    }
    // A new run of this tool, built with the new service in the list: the
    // running one compiled the contracts of the services it knew.
    for step in [&["openapi"][..], &["ci"], &["schemas", "generate"]] {
        let status = Command::new(env!("CARGO"))
            .current_dir(root)
            .args(["run", "--quiet", "--package", "xtask", "--"])
            .args(step)
            .status()?;
        if !status.success() {
            anyhow::bail!(
                "cargo xtask {} failed after creating {name}",
                step.join(" ")
            );
        }
    }
    println!(
        "{name}: created. Next: its events ({}/src/), its domain, `cargo xtask test`.",
        repo::paths::EVENTS_DIR
    );
    Ok(ExitCode::SUCCESS)
}

fn service_names() -> Vec<&'static str> {
    declared::services().iter().map(|s| s.name).collect()
}

/// The files `cargo xtask ci` writes: the workflows and CODEOWNERS.
fn delivery_files(root: &std::path::Path) -> Result<Vec<(String, String)>> {
    let mut files = workflows::generate(&Workspace::load(root)?, &service_names());
    files.push((owners::FILE.to_owned(), owners::generated()));
    Ok(files)
}

/// Writes the workflows and CODEOWNERS, or with `check` only reports the
/// ones that differ.
fn ci(root: &std::path::Path, check: bool) -> Result<ExitCode> {
    let files = delivery_files(root)?;
    if check {
        return Ok(report_stale(root, &files));
    }
    let stale = workflows::stale(root, &files);
    for (file, text) in files.iter().filter(|(f, _)| stale.contains(f)) {
        let path = root.join(file);
        std::fs::create_dir_all(path.parent().expect("a file has a folder"))?;
        std::fs::write(&path, text)?;
        println!("wrote {file}");
    }
    Ok(ExitCode::SUCCESS)
}

fn report_stale(root: &std::path::Path, files: &[(String, String)]) -> ExitCode {
    let stale = workflows::stale(root, files);
    if stale.is_empty() {
        eprintln!("{} generated file(s) up to date", files.len());
        return ExitCode::SUCCESS;
    }
    for file in &stale {
        eprintln!("stale: {file}");
    }
    eprintln!("run `cargo xtask ci` and commit the result");
    ExitCode::FAILURE
}

fn sam_build(root: &std::path::Path, service: &str, arch: &str) -> Result<ExitCode> {
    if !service_names().contains(&service) {
        anyhow::bail!(
            "no service {service}; known: {}",
            service_names().join(", ")
        );
    }
    let tools = venv::ensure_deploy(root)?.join("bin");
    let dir = repo::service_dir_in(root, service);
    let path = std::env::join_paths(std::iter::once(tools.clone()).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))?;
    let started = std::time::Instant::now();
    let status = Command::new(tools.join("sam"))
        .current_dir(&dir)
        .args(["build", "--beta-features", "--parameter-overrides"])
        .arg(format!("Architecture={arch}"))
        .env("PATH", path)
        .env("SAM_CLI_TELEMETRY", "0")
        .status()
        .context("starting sam")?;
    if !status.success() {
        return Ok(ExitCode::FAILURE);
    }
    let took = started.elapsed();
    println!("sam build {service} ({arch}): {:.0} s", took.as_secs_f64());
    let build = dir.join(".aws-sam/build");
    let mut rows: Vec<(String, u64)> = Vec::new();
    for entry in std::fs::read_dir(&build)?.flatten() {
        let bootstrap = entry.path().join("bootstrap");
        if let Ok(meta) = std::fs::metadata(&bootstrap) {
            rows.push((entry.file_name().to_string_lossy().into_owned(), meta.len()));
        }
    }
    rows.sort();
    println!("{:<32} {:>10}", "FUNCTION", "BYTES");
    for (function, bytes) in rows {
        println!("{function:<32} {bytes:>10}  ({:.2} MB)", bytes as f64 / 1e6);
    }
    Ok(ExitCode::SUCCESS)
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
