//! The start's run: each phase in turn, and what it leaves running.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use aws_config::SdkConfig;
use devstack_api::Endpoints;
use devstack_lambda::invoke::AsyncFunction;
use devstack_lambda::runtime::Function;
use repo::SERVICES;

use crate::cognito;
use crate::redeploy::Control;

use super::boot;
use super::deploying;
use super::kept;
use super::options::Options;
use super::phases::Phases;
use super::wiring::{Wiring, serve};

pub struct Running {
    pub endpoints: Endpoints,
    /// The judge of the functions' AWS calls (`bench` reads its timings).
    pub judge: Arc<crate::iam::Judge>,
    pub functions: BTreeMap<String, Function>,
    pub asyncs: BTreeMap<String, Arc<AsyncFunction>>,
    pub conf: SdkConfig,
    pub pool: cognito::Pool,
    pub started_in: Duration,
    /// Whether the emulator is a fork of a state kept by an earlier cloud
    /// of the same templates (nothing was deployed).
    pub from_kept_state: bool,
    /// The start's steps, each as the time since it began.
    pub phases: Vec<(String, Duration)>,
    pub control: Arc<Control>,
    /// The third-party sender's stand-in (stops when dropped).
    pub sender: devstack_sender::Sandbox,
    /// The outside identity provider's stand-in (stops when dropped).
    pub federation: Option<crate::federation::Federation>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

pub async fn start(options: Options) -> Result<Running> {
    let mut phases = Phases {
        started: Instant::now(),
        done: Vec::new(),
    };
    // Bound before the emulator starts: moto's Step Functions interpreter
    // calls Lambda at `localhost:$MOTO_PORT`, which is this router.
    let states_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let sender_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let sender_url = format!("http://{}", sender_listener.local_addr()?);
    let idp_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let states_port = states_listener.local_addr()?.port();
    // moto asks the judge before each SNS delivery to a queue.
    let judge_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let judge_url = format!("http://{}", judge_listener.local_addr()?);
    // The web app's origin is a stack parameter (the attachments bucket's
    // CORS rule lets it upload), deployed as a placeholder and put in
    // place after the deploy.
    let web_listener = tokio::net::TcpListener::bind(("127.0.0.1", options.web_port)).await?;
    let web_origin = format!("http://{}", web_listener.local_addr()?);
    // The user pool's issuer is its front's address (`Pool::served_at`).
    let cognito_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let cognito_url = format!("http://{}", cognito_listener.local_addr()?);
    let booted = boot::boot(&options, (states_port, &judge_url), &mut phases).await?;
    let (emulator, conf, commit) = (booted.emulator, booted.conf, booted.commit);
    let accounts = booted.accounts;
    // The judge answers from now on: the deploy's calls into another
    // account (a team's subscription on the platform's bus) ask it.
    let (telemetry_dir, recorder) = telemetry(&options)?;
    let judge =
        crate::iam::Judge::new(options.iam, &conf, recorder.clone(), options.session_minute)?;
    let judge_routes =
        crate::iam::router(judge.clone()).merge(crate::bus_matcher::router(recorder.clone()));
    let judge_task = serve(judge_listener, judge_routes);
    let mut templates = booted.templates.into_iter();
    let platform = templates.next().context("the platform's template")?;
    let services: Vec<(&str, serde_json::Value)> = (SERVICES.iter().copied())
        .zip(templates)
        .filter(|(s, _)| {
            options
                .services
                .as_ref()
                .is_none_or(|only| only.contains(*s))
        })
        .collect();
    let (sender, signing_secret) = crate::sender::start(sender_listener).await?;
    let wanted = (services.iter()).find_map(|(service, t)| crate::sender::wanted(service, t));
    if let Some(w) = &wanted {
        let conf = accounts.conf(&w.stack);
        crate::sender::seed(conf, w, &sender.api_key(), &signing_secret).await?;
    }
    let from_kept_state = booted.kept.is_some();
    let deploy = match booted.kept {
        Some(state) => {
            let restored = kept::restore(state, &emulator.url, services)?;
            // Kept before the check existed, maybe: a deploy checks each
            // stack before creating it.
            for (service, plan, ..) in &restored.stacks {
                crate::custom_domain::mapped_in_its_account(
                    service,
                    plan,
                    accounts.account(service),
                )?;
            }
            restored
        }
        None => {
            let templates = (platform, services, booted.web);
            let deploy =
                deploying::deploy(&accounts, &emulator.url, templates, &commit, &mut phases)
                    .await?;
            if let Some(key) = &booted.key {
                kept::keep(&emulator.url, key, &deploy).await?;
            }
            drop(booted.deploying);
            deploy
        }
    };
    let kept::Deploy {
        platform,
        mut pool,
        bus_name,
        stacks,
        configured,
        site,
    } = deploy;
    kept::place_web_origin(&accounts, &stacks, &web_origin).await?;
    let aws_issuer = pool.aws_issuer();
    pool.served_at(&cognito_url);
    let idp =
        kit::signed::json_protocol::JsonApi::new(&conf, kit::signed::json_protocol::COGNITO_IDP);
    cognito::issue_at(&idp, &pool).await?;
    let federation = crate::federation::start(&conf, &platform, idp_listener).await?;
    phases.mark("service stacks");
    let mut w = Wiring::new(
        &options,
        (accounts, commit),
        &emulator.url,
        (&pool, bus_name),
        configured,
        (telemetry_dir, recorder, judge),
    )
    .await?;
    w.tasks.push(judge_task);
    w.substitutions
        .insert(kept::SENDER_PLACEHOLDER.to_owned(), sender_url);
    // A function's environment names the issuer the platform exports.
    w.substitutions.insert(aws_issuer, pool.issuer.clone());
    let mut socket_listeners = w.bind_sockets(&stacks).await?;
    for stack in &stacks {
        w.start_service(stack, &mut socket_listeners).await?;
    }
    phases.mark("functions started");
    if let Some(unknown) =
        (options.managed_instances.keys()).find(|f| !w.functions.contains_key(*f))
    {
        anyhow::bail!(
            "--managed-instances {unknown}: no such function (the deployed ones: {:?})",
            w.functions.keys().collect::<Vec<_>>()
        );
    }
    let front = (web_listener, cognito_listener, federation.as_ref(), &site);
    let control = w.serve_front(&pool, &stacks, front).await?;
    let router = devstack_sfn::router::router(
        w.endpoints.lambda_endpoint.clone(),
        emulator.url.clone(),
        Some(w.judge.clone()),
    )?;
    w.tasks.push(serve(states_listener, router));
    w.endpoints.sender_url = sender.url();
    if let Some(wanted) = &wanted {
        let plan = stacks
            .iter()
            .find(|(s, ..)| *s == wanted.stack)
            .map(|(_, p, ..)| p);
        let hook = plan
            .and_then(|p| crate::sender::webhook_url(&w.endpoints.api_base_url, p))
            .with_context(|| {
                format!(
                    "{}: no public POST route for the sender to call",
                    wanted.stack
                )
            })?;
        sender.set_webhook_url(hook);
    }
    let dirs = (options.console_dir.as_path(), options.bin_dir.as_path());
    let console =
        crate::console::serve(&mut w.endpoints, &stacks, options.console_port, dirs).await?;
    w.tasks.push(console);
    phases.mark("ready");
    Ok(Running {
        endpoints: w.endpoints,
        judge: w.judge,
        functions: w.functions,
        asyncs: w.asyncs,
        conf: w.conf,
        pool,
        phases: phases.done,
        started_in: phases.started.elapsed(),
        from_kept_state,
        control,
        sender,
        federation,
        tasks: w.tasks,
    })
}

/// Where hops, metrics and the functions' logs are recorded, and their
/// recorder.
fn telemetry(options: &Options) -> Result<(PathBuf, Arc<devstack_lambda::recorder::Recorder>)> {
    let dir = match &options.telemetry_dir {
        Some(dir) => dir.clone(),
        // The test command gathers every test cloud's telemetry in one
        // folder (`DEVSTACK_TELEMETRY_ROOT`) to report the event edges
        // the tests exercised.
        None => std::env::var_os("DEVSTACK_TELEMETRY_ROOT")
            .map_or_else(std::env::temp_dir, PathBuf::from)
            .join(format!(
                "devstack-telemetry-{}-{}",
                std::process::id(),
                uuid::Uuid::new_v4().simple()
            )),
    };
    let recorder = devstack_lambda::recorder::Recorder::new(&dir, options.echo_logs)?;
    if !options.echo_logs {
        crate::failure::watch(&recorder);
    }
    Ok((dir, recorder))
}
