//! The start's first step: the templates translated (or read from the
//! cache) and their parameters set, the commit read, and an emulator:
//! a fork of the state a cloud with the same templates kept, when the
//! engine holds one, else a fork of the engine.

use anyhow::{Context, Result};
use aws_config::SdkConfig;
use repo::template_path;
use serde_json::Value;

use super::kept::{SENDER_PLACEHOLDER, WEB_ORIGIN_PLACEHOLDER};
use super::options::Options;
use super::phases::Phases;

pub(super) struct Booted {
    pub emulator: devstack_emulator::Emulator,
    pub conf: SdkConfig,
    /// Each stack's account.
    pub accounts: crate::accounts::Accounts,
    /// Every stack's template, parameters set, in deploy order.
    pub templates: Vec<Value>,
    /// The web stack's template, deployed with the others.
    pub web: Value,
    pub commit: String,
    /// What the cloud that kept the emulator's state said of it, when the
    /// emulator is a fork of a kept state: nothing is deployed again.
    pub kept: Option<Value>,
    /// Under which key this cloud's deployed state may be kept (`None`:
    /// another emulator, or templates a caller replaced).
    pub key: Option<String>,
    /// Held while this cloud deploys state no cloud has kept yet under its
    /// key: see [`first_deploy`].
    pub deploying: Option<tokio::sync::OwnedMutexGuard<()>>,
}

/// One deploy at a time per key in this process. Clouds of the same
/// templates started together (a test binary's first seconds) each
/// deployed afresh while none had kept its state: on two cores, seven
/// deploys at once kept one stack in CREATE_IN_PROGRESS past its minute
/// (a fresh clone's run). The first deploys and keeps its state; the
/// others wait for it and fork that state.
fn first_deploy(key: &str) -> std::sync::Arc<tokio::sync::Mutex<()>> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};
    static GATES: OnceLock<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>> = OnceLock::new();
    let gates = GATES.get_or_init(Mutex::default);
    let mut gates = gates.lock().unwrap_or_else(|e| e.into_inner());
    gates.entry(key.to_owned()).or_default().clone()
}

/// `states_port`: where moto's Step Functions call Lambda; `judge_url`:
/// where moto asks before SNS delivers to a queue. The engine starts
/// (when this process has none yet) while the templates are read.
pub(super) async fn boot(
    options: &Options,
    (states_port, judge_url): (u16, &str),
    phases: &mut Phases,
) -> Result<Booted> {
    let engine = options
        .endpoint_url
        .is_none()
        .then(|| tokio::task::spawn_blocking(|| devstack_emulator::engine_socket().map(|_| ())));
    let commit = tokio::task::spawn_blocking(|| repo::git::commit_of(&repo::root()));
    let mut templates = parameterised(options, load(options).await?);
    phases.mark("templates translated");
    let commit = commit.await?;
    if let Some(engine) = engine {
        engine.await?.map_err(anyhow::Error::msg)?;
    }
    // A replaced template is a test's mistake: it deploys its own copy.
    let key = (options.endpoint_url.is_none() && options.templates.is_empty())
        .then(|| state_key(&templates, options, &commit));
    // Waits while another cloud of this process deploys the same state.
    let gate = match &key {
        Some(k) => Some(first_deploy(k).lock_owned().await),
        None => None,
    };
    let env = [
        ("MOTO_PORT", states_port.to_string()),
        ("DEVSTACK_JUDGE_URL", judge_url.to_owned()),
    ];
    let (endpoint, wanted) = (options.endpoint_url.clone(), key.clone());
    let started = tokio::task::spawn_blocking(move || match endpoint {
        Some(url) => Ok(devstack_emulator::Started {
            emulator: devstack_emulator::Emulator { url },
            kept: None,
        }),
        None => devstack_emulator::start_from(wanted.as_deref(), &env),
    })
    .await?
    .map_err(anyhow::Error::msg)?;
    let conf = started.emulator.sdk_config().await;
    let accounts = crate::accounts::Accounts::reach(&conf, &options.accounts).await?;
    let from = if started.kept.is_some() {
        "kept state"
    } else {
        "engine"
    };
    tracing::info!(target: "trail", url = %started.emulator.url, from, "emulator ready");
    phases.mark("emulator ready");
    // A fork of kept state deploys nothing: the next cloud need not wait.
    let deploying = gate.filter(|_| started.kept.is_none());
    let web = templates.pop().context("the web stack's template")?;
    Ok(Booted {
        emulator: started.emulator,
        conf,
        accounts,
        templates,
        web,
        commit,
        kept: started.kept,
        key,
        deploying,
    })
}

/// Every stack's template, the caller's replacements first.
async fn load(options: &Options) -> Result<Vec<Value>> {
    let replaced = options.templates.clone();
    tokio::task::spawn_blocking(move || {
        let path = |stack: &str| {
            replaced
                .get(stack)
                .cloned()
                .unwrap_or_else(|| template_path(stack))
        };
        std::thread::scope(|scope| {
            let loading: Vec<_> = deployed_stacks()
                .map(|stack| {
                    let file = path(stack);
                    scope.spawn(move || devstack_template::load(&file))
                })
                .collect();
            loading
                .into_iter()
                .map(|t| t.join().expect("a template load panicked"))
                .collect::<Result<Vec<_>>>()
        })
    })
    .await?
    .context("loading the templates")
}

/// Every stack a cloud deploys, the web stack last: the state kept after
/// the deploy holds them all, so the key covers every template.
fn deployed_stacks() -> impl Iterator<Item = &'static str> {
    repo::stacks().chain([repo::WEB])
}

/// The parameters every local deploy sets, then the caller's. The values
/// only this cloud knows (the sender's stand-in and the web app's
/// origin, on ports of their own) are deployed as placeholders and put
/// in place after the deploy, so that the deployed state is the same for
/// every cloud of the same templates, and can be kept.
fn parameterised(options: &Options, templates: Vec<Value>) -> Vec<Value> {
    deployed_stacks()
        .zip(templates)
        .map(|(stack, t)| {
            let mut overrides = vec![
                ("SenderUrl".to_owned(), SENDER_PLACEHOLDER.to_owned()),
                ("WebOrigin".to_owned(), WEB_ORIGIN_PLACEHOLDER.to_owned()),
            ];
            overrides.extend(crate::stack_parameters::given(crate::accounts::parameters(
                &options.accounts,
                stack,
            )));
            overrides.extend(
                (options.parameter_overrides.iter())
                    .filter(|o| o.stack == stack)
                    .map(|o| (o.parameter.clone(), o.value.clone())),
            );
            devstack_template::adapt::with_parameters(t, &overrides)
        })
        .collect()
}

/// What the deployed state follows from: every template as deployed (its
/// parameters set), the stacks chosen, and the commit the stacks are
/// tagged with. The engine's own code is not in it: a state is kept
/// beside its engine, and a changed engine is a new one.
fn state_key(templates: &[Value], options: &Options, commit: &str) -> String {
    let services = match &options.services {
        Some(only) => only.iter().cloned().collect::<Vec<_>>().join(","),
        None => "*".to_owned(),
    };
    let parts: Vec<String> = (templates.iter().map(Value::to_string))
        .chain([services, commit.to_owned()])
        .collect();
    let mut key = devstack_template::translate::digest(parts.iter().map(String::as_bytes));
    // 64 bits name a state among a run's few; the socket's path is short.
    key.truncate(16);
    key
}
