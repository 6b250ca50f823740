//! The start's state once the stacks are deployed, and the gate every
//! function's AWS calls pass.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use aws_config::SdkConfig;
use devstack_api::Endpoints;
use devstack_gateway::RouteTarget;
use devstack_lambda::invoke::AsyncFunction;
use devstack_lambda::runtime::Function;
use devstack_lambda::table_writes::Writes;

use super::configured::Configured;
use super::options::Options;
use crate::cognito;

/// What the start builds up after the stacks are deployed: the shared
/// clients and proxies, and the running pieces as they start.
pub(super) struct Wiring<'a> {
    pub(super) options: &'a Options,
    /// The platform's administrator.
    pub(super) conf: SdkConfig,
    /// Each stack's account: a stack's sources and dead letters are read
    /// and written in it.
    pub(super) accounts: crate::accounts::Accounts,
    pub(super) commit: String,
    pub(super) recorder: Arc<devstack_lambda::recorder::Recorder>,
    pub(super) writes: Arc<Writes>,
    pub(super) chaos: Arc<crate::chaos::Chaos>,
    pub(super) judge: Arc<crate::iam::Judge>,
    /// The functions and roles as deployed.
    pub(super) configured: Configured,
    /// The environment the local cloud adds to every function.
    pub(super) local_env: Vec<(String, String)>,
    /// Values only the local cloud knows, by the placeholder deployed.
    pub(super) substitutions: BTreeMap<String, String>,
    /// The CDN, the Invoke API and the hooks, for the gate.
    pub(super) local: crate::call_gate::Local,
    pub(super) functions: BTreeMap<String, Function>,
    pub(super) asyncs: BTreeMap<String, Arc<AsyncFunction>>,
    pub(super) routes: Vec<RouteTarget>,
    pub(super) tasks: Vec<tokio::task::JoinHandle<()>>,
    pub(super) endpoints: Endpoints,
}

impl<'a> Wiring<'a> {
    pub(super) async fn new(
        options: &'a Options,
        (accounts, commit): (crate::accounts::Accounts, String),
        emulator_url: &str,
        (pool, bus_name): (&cognito::Pool, String),
        configured: Configured,
        (telemetry_dir, recorder, judge): (
            PathBuf,
            Arc<devstack_lambda::recorder::Recorder>,
            Arc<crate::iam::Judge>,
        ),
    ) -> Result<Wiring<'a>> {
        if let Some(dir) = &options.capture_dir {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating the capture folder {}", dir.display()))?;
        }
        // The gate's address is in the fault proxies' routing and in every
        // function's environment, so it is bound first.
        let gate_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let gate_url = format!("http://{}", gate_listener.local_addr()?);
        let conf = accounts.platform().clone();
        let mut w = Wiring {
            options,
            conf,
            accounts,
            commit,
            recorder,
            writes: Arc::new(Writes::default()),
            chaos: crate::chaos::Chaos::new(&gate_url),
            judge,
            configured,
            local_env: base_env(),
            substitutions: BTreeMap::new(),
            local: Default::default(),
            functions: BTreeMap::new(),
            asyncs: BTreeMap::new(),
            routes: Vec::new(),
            tasks: Vec::new(),
            endpoints: Endpoints {
                emulator_url: emulator_url.to_owned(),
                region: kit::config::LOCAL_REGION.into(),
                user_pool_id: pool.user_pool_id.clone(),
                client_id: pool.client_id.clone(),
                identity_pool_id: (pool.identity.as_ref())
                    .map(|i| i.id.clone())
                    .unwrap_or_default(),
                s3_url: gate_url.clone(),
                issuer: pool.issuer.clone(),
                jwks_url: pool.jwks_url.clone(),
                bus_name,
                // The platform deploys with the emulator's own keys.
                platform_account: kit::config::LOCAL_ACCOUNT.into(),
                telemetry_dir: telemetry_dir.display().to_string(),
                ..Endpoints::default()
            },
        };
        w.serve_gate(emulator_url, &gate_url, gate_listener);
        w.local_env.extend(options.function_env.iter().cloned());
        Ok(w)
    }

    /// Every AWS call of a function passes the gate ([`crate::call_gate`]),
    /// which judges it and records its trace. With faults, a fault proxy
    /// per function is in front of it: function → fault proxy → gate →
    /// emulator, and the endpoints are per function.
    fn serve_gate(
        &mut self,
        emulator_url: &str,
        gate_url: &str,
        listener: tokio::net::TcpListener,
    ) {
        if !self.options.faults {
            self.local_env
                .push(("AWS_ENDPOINT_URL".to_owned(), gate_url.to_owned()));
        }
        let gate = self.gate(emulator_url.trim_end_matches('/'));
        self.tasks
            .push(serve(listener, crate::call_gate::router(gate)));
    }

    /// A gate in front of `upstream`.
    pub(super) fn gate(&self, upstream: &str) -> Arc<crate::call_gate::Gate> {
        Arc::new(crate::call_gate::Gate {
            upstream: upstream.to_owned(),
            client: reqwest::Client::new(),
            recorder: self.recorder.clone(),
            writes: self.writes.clone(),
            judge: self.judge.clone(),
            local: self.local.clone(),
        })
    }
}

/// Region and credentials every function gets from the local cloud.
fn base_env() -> Vec<(String, String)> {
    let region = kit::config::LOCAL_REGION.to_owned();
    vec![
        ("AWS_REGION".to_owned(), region.clone()),
        ("AWS_DEFAULT_REGION".to_owned(), region),
        ("AWS_ACCESS_KEY_ID".to_owned(), "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY".to_owned(), "test".to_owned()),
    ]
}

/// `app` served on `listener` until the start's tasks are dropped.
pub(super) fn serve<L>(listener: L, app: axum::Router) -> tokio::task::JoinHandle<()>
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    })
}
