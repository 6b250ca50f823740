//! The deploy gate's commands: `can-i-deploy` (may this service ship now,
//! beside what is deployed?), `plan` (in what order do the teams ship this
//! change?) and `contract-tags` (what a deploy writes for both to read).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};
use governance::can_i_deploy::{self, Deployed};
use governance::changes::{self, Range};
use governance::plan::{self, Order, Plan};
use serde_json::{Value, json};

/// Where the deployed stacks are read from: `ops stacks --json`, against
/// AWS or a local cloud's endpoints file.
pub struct Stacks {
    pub endpoints_file: Option<PathBuf>,
    pub ops: Option<PathBuf>,
}

impl Stacks {
    fn read(&self, root: &Path) -> Result<Vec<Deployed>> {
        let mut list = match &self.ops {
            Some(bin) => Command::new(bin),
            None => {
                let mut c = repo::cargo::command();
                c.current_dir(root)
                    .args(["run", "--quiet", "--bin", "ops", "--"]);
                c
            }
        };
        list.args(["stacks", "--json"]);
        if let Some(file) = &self.endpoints_file {
            list.arg("--endpoints-file").arg(file);
        }
        let out = list.output().context("running ops stacks")?;
        if !out.status.success() {
            bail!(
                "ops stacks failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        can_i_deploy::parse_stacks(&String::from_utf8_lossy(&out.stdout))
    }
}

pub fn can_i_deploy(
    root: &Path,
    service: &str,
    repo: &Path,
    head: &str,
    stacks: &Stacks,
) -> Result<ExitCode> {
    let deployed = stacks.read(root)?;
    for d in &deployed {
        println!("deployed: {:<15} {}", d.service, d.commit);
    }
    let breaks = can_i_deploy::check(repo, service, head, &deployed)?;
    let waits = out_of_order(root, repo, service, head, &deployed)?;
    if breaks.is_empty() && waits.is_empty() {
        println!("can-i-deploy {service} at {head}: yes");
        return Ok(ExitCode::SUCCESS);
    }
    if !breaks.is_empty() {
        println!(
            "can-i-deploy {service} at {head}: no, {} pair(s) would break",
            breaks.len()
        );
        for b in &breaks {
            print!("{b}");
        }
    }
    for w in &waits {
        println!("can-i-deploy {service} at {head}: no, out of order: {w}");
    }
    Ok(ExitCode::FAILURE)
}

/// The plan of what `service` ships (its deployed commit to `head`), and
/// each step another service must ship first. A service not deployed yet
/// has nothing to order against.
fn out_of_order(
    root: &Path,
    repo: &Path,
    service: &str,
    head: &str,
    deployed: &[Deployed],
) -> Result<Vec<String>> {
    let Some(mine) = deployed.iter().find(|d| d.service == service) else {
        return Ok(vec![]);
    };
    let from = can_i_deploy::readable(&mine.commit);
    let range = Range::resolve(repo, Some(from), head)
        .with_context(|| format!("{service} is deployed at {}", mine.commit))?;
    let mut plans = plans(root, repo, &range)?;
    let state = carried(deployed);
    let mut waits = Vec::new();
    for p in &mut plans {
        p.mark(&state);
        if let Some((n, step)) = p.blocks(service) {
            let wait = format!(
                "{}: step {n} first: {}",
                p.subject.label(),
                step.describe(&p.subject.event)
            );
            waits.push(match p.order {
                Order::ExpandContract if p.subject.from == p.subject.to => {
                    format!(
                        "{wait} (no order is safe in place; `cargo xtask plan` shows the steps)"
                    )
                }
                _ => wait,
            });
        }
    }
    Ok(waits)
}

fn carried(deployed: &[Deployed]) -> BTreeMap<String, declarations::Carried> {
    (deployed.iter())
        .map(|d| (d.service.clone(), d.carries.clone()))
        .collect()
}

fn plans(root: &Path, repo: &Path, range: &Range) -> Result<Vec<Plan>> {
    let mut translate = translator(root)?;
    let changes = changes::read(repo, range, &mut translate)?;
    Ok(changes.iter().map(plan::plan).collect())
}

/// SAM to CloudFormation with the project's pinned translator, offline.
fn translator(root: &Path) -> Result<impl FnMut(&str, &str) -> Result<Value>> {
    let python = xtask::venv::ensure(root)?.join("bin/python");
    let shim = root.join(repo::paths::SAM_TRANSLATE);
    let scratch = std::env::temp_dir().join(format!("xtask-plan-{}", std::process::id()));
    Ok(move |file: &str, text: &str| -> Result<Value> {
        std::fs::create_dir_all(&scratch)?;
        let path = scratch.join(file.replace('/', "_"));
        std::fs::write(&path, text)?;
        let out = Command::new(&python).arg(&shim).arg(&path).output();
        let _ = std::fs::remove_file(&path);
        let out = out.with_context(|| format!("running {}", python.display()))?;
        if !out.status.success() {
            bail!(
                "{file} does not translate: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        serde_json::from_slice(&out.stdout).with_context(|| format!("{file}: the translation"))
    })
}

pub fn plan(
    root: &Path,
    repo: &Path,
    base: Option<&str>,
    head: &str,
    as_json: bool,
    state: Option<&Stacks>,
) -> Result<ExitCode> {
    let range = Range::resolve(repo, base, head)?;
    let mut plans = plans(root, repo, &range)?;
    if let Some(stacks) = state {
        let deployed = carried(&stacks.read(root)?);
        for p in &mut plans {
            p.mark(&deployed);
        }
    }
    let safe = plans.iter().all(|p| p.order == Order::AnyOrder);
    if as_json {
        let doc = json!({
            "base": range.base,
            "head": range.head,
            "deployed": state.is_some(),
            "safe_in_any_order": safe,
            "events": plans,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        println!(
            "plan {}..{}",
            &range.base[..12.min(range.base.len())],
            &range.head[..12.min(range.head.len())]
        );
        match state {
            Some(_) => println!("steps marked from the deployed stacks' contract tags"),
            None => println!("steps not marked (--deployed reads the stacks)"),
        }
        if plans.is_empty() {
            println!("no event's contract changes");
        }
        for p in &plans {
            println!();
            print!("{}", plan::render(p));
        }
        println!();
        println!(
            "{}",
            if safe {
                "safe in any order"
            } else {
                "an order is required: ship stage by stage"
            }
        );
    }
    Ok(if safe {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `key=value` per line, for `sam deploy --tags`.
pub fn contract_tags(service: &str) -> Result<ExitCode> {
    let declared = (declarations::SERVICES.iter())
        .find(|s| s.name == service)
        .with_context(|| format!("{service}: no such service in declarations::SERVICES"))?;
    for (k, v) in declarations::Carried::of(declared)?.tags() {
        println!("{k}={v}");
    }
    Ok(ExitCode::SUCCESS)
}
