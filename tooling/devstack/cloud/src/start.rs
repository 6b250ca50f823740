//! Bringing the whole system up: emulator, stacks, functions, event
//! sources, gateway, Lambda API, endpoints file.

mod boot;
mod configured;
mod deploying;
mod kept;
mod mappings;
mod sign_in;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use aws_config::SdkConfig;
use devstack_api::control::Artifacts;
use devstack_api::{Consumer, Endpoints, ServiceEndpoints};
use devstack_gateway::{Authorizer, Gateway, RouteTarget, Stage};
use devstack_lambda::environment::{endpoint_env, endpoint_key};
use devstack_lambda::invoke::AsyncFunction;
use devstack_lambda::runtime::{Function, Spec};
use devstack_lambda::table_writes::Writes;
use devstack_template::adapt::StageSettings;
use repo::SERVICES;

use crate::cognito;
use crate::deploy::{Stack, borrowed, qualified, service_tags};
use crate::federation::Federation;
use crate::redeploy::Control;
use configured::Configured;

#[derive(Debug, Clone)]
pub struct Options {
    /// Use this emulator instead of starting one.
    pub endpoint_url: Option<String>,
    /// Gateway port; 0 picks a free one.
    pub port: u16,
    /// Lambda Invoke API port; 0 picks a free one.
    pub lambda_port: u16,
    /// Where the function binaries are (by default beside this executable).
    pub bin_dir: PathBuf,
    /// Services whose functions run from a `sam build` output instead:
    /// service → its build folder (`<dir>/<LogicalId>/bootstrap`), by
    /// default `services/<name>/.aws-sam/build` ([`repo::sam_build_dir`]).
    pub from_sam: BTreeMap<String, PathBuf>,
    /// Delay between async retries and stream retries.
    pub retry_delay: Duration,
    /// Extra environment for every function, e.g. `RUST_LOG`.
    pub function_env: Vec<(String, String)>,
    /// The WebSocket APIs' quotas (AWS's by default; tests shorten the
    /// timeouts).
    pub socket_limits: devstack_gateway::websocket::Limits,
    /// Web app port; 0 picks a free one.
    pub web_port: u16,
    /// The built web app ([`crate::web::dist_dir`] by default).
    pub web_dir: PathBuf,
    /// Console port; 0 picks a free one.
    pub console_port: u16,
    /// The built console ([`crate::console::dist_dir`] by default).
    pub console_dir: PathBuf,
    /// Where hops, metrics and the functions' logs are recorded
    /// (`devstack_api::telemetry`); a fresh temporary folder by default.
    pub telemetry_dir: Option<PathBuf>,
    /// The functions' output and the stages' access logs also on this
    /// process's stdout/stderr (`devstack up`). Off by default: they are in
    /// the telemetry folder's logs, and a thread that panics while this
    /// cloud runs prints the tail of those written in the last minute
    /// ([`crate::failure`]), which a test harness shows with the failure.
    pub echo_logs: bool,
    /// Where every event is recorded as a function's `/next` hands it over:
    /// `<stack>-<LogicalId>.jsonl`, one `{"headers", "event"}` per line (the
    /// parity suite compares them with AWS's). Off by default, and then
    /// nothing is written.
    pub capture_dir: Option<PathBuf>,
    /// Every function reaches the emulator through a fault proxy of its own
    /// ([`crate::chaos`]), so faults can be injected (`devstack load
    /// --chaos`). Off by default: one hop less on every AWS call.
    pub faults: bool,
    /// How calls AWS would refuse are treated ([`crate::iam`]): refused
    /// (strict, the default), recorded (audit), or not judged (off).
    pub iam: devstack_iam::Mode,
    /// How long a minute of a session STS issues to a function's own
    /// AssumeRole lasts before the judge refuses it as expired (a
    /// minute; a test shortens it to see one expire).
    pub session_minute: Duration,
    /// Stacks deployed from another template than their own (`service` →
    /// its file): a test applies a mistake to a copy of a real template.
    pub templates: BTreeMap<String, PathBuf>,
    /// A stack's parameters as `--parameter-overrides` sets them on AWS:
    /// it deploys with them, and the local gateway enforces the throttles
    /// they set.
    pub parameter_overrides: Vec<Override>,
    /// The most execution environments a function gets at once (its
    /// reserved concurrency lowers it): the account's concurrency, sized
    /// to this machine ([`default_environments`]).
    pub max_environments: u32,
    /// The service stacks deployed (with the platform, always); every one
    /// when `None`. A test of one service's mistake needs no other.
    pub services: Option<BTreeSet<String>>,
    /// Functions run as on Lambda Managed Instances, whatever their
    /// template says (`service/LogicalId` → invocations per environment):
    /// the model compared without a capacity provider in the template.
    pub managed_instances: BTreeMap<String, u32>,
    /// The teams deployed into accounts of their own (service → account;
    /// [`crate::accounts::per_team`] is `devstack up`'s layout). The others
    /// share the platform's account; empty, everything does (a sandbox).
    pub accounts: BTreeMap<String, String>,
}

/// Twice the machine's cores: a function's environments mostly wait on
/// the emulator, and each is a process of its own.
pub fn default_environments() -> u32 {
    std::thread::available_parallelism().map_or(2, |n| n.get() as u32) * 2
}

/// One parameter's value for one stack.
#[derive(Debug, Clone)]
pub struct Override {
    pub stack: String,
    pub parameter: String,
    pub value: String,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            endpoint_url: None,
            port: 0,
            lambda_port: 0,
            bin_dir: repo::profile_dir(),
            from_sam: BTreeMap::new(),
            retry_delay: Duration::from_millis(100),
            function_env: Vec::new(),
            socket_limits: devstack_gateway::websocket::Limits::default(),
            web_port: 0,
            web_dir: crate::web::dist_dir(),
            console_port: 0,
            console_dir: crate::console::dist_dir(),
            telemetry_dir: None,
            echo_logs: false,
            capture_dir: None,
            faults: false,
            iam: devstack_iam::Mode::default(),
            session_minute: Duration::from_secs(60),
            templates: BTreeMap::new(),
            parameter_overrides: Vec::new(),
            max_environments: default_environments(),
            services: None,
            managed_instances: BTreeMap::new(),
            accounts: BTreeMap::new(),
        }
    }
}

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

/// The start's steps, each as the time since it began.
struct Phases {
    started: Instant,
    done: Vec<(String, Duration)>,
}

impl Phases {
    fn mark(&mut self, name: &str) {
        self.done.push((name.to_owned(), self.started.elapsed()));
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

/// What the start builds up after the stacks are deployed: the shared
/// clients and proxies, and the running pieces as they start.
struct Wiring<'a> {
    options: &'a Options,
    /// The platform's administrator.
    conf: SdkConfig,
    /// Each stack's account: a stack's sources and dead letters are read
    /// and written in it.
    accounts: crate::accounts::Accounts,
    commit: String,
    recorder: Arc<devstack_lambda::recorder::Recorder>,
    writes: Arc<Writes>,
    chaos: Arc<crate::chaos::Chaos>,
    judge: Arc<crate::iam::Judge>,
    /// The functions and roles as deployed.
    configured: Configured,
    /// The environment the local cloud adds to every function.
    local_env: Vec<(String, String)>,
    /// Values only the local cloud knows, by the placeholder deployed.
    substitutions: BTreeMap<String, String>,
    /// The CDN, the Invoke API and the hooks, for the gate.
    local: crate::call_gate::Local,
    functions: BTreeMap<String, Function>,
    asyncs: BTreeMap<String, Arc<AsyncFunction>>,
    routes: Vec<RouteTarget>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    endpoints: Endpoints,
}

fn serve<L>(listener: L, app: axum::Router) -> tokio::task::JoinHandle<()>
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
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

/// Managed login's revocation over HTTPS too, for clients that revoke
/// only there ([`crate::tls`]): its listener and its address, once the
/// endpoints name the authority that signed it.
async fn revocation_over_tls(endpoints: &mut Endpoints) -> Result<(crate::tls::Listener, String)> {
    let tls = crate::tls::Tls::new()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("https://{}", listener.local_addr()?);
    endpoints.ca_certificate = tls.ca_pem.clone();
    Ok((tls.listener(listener), url))
}

impl<'a> Wiring<'a> {
    async fn new(
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
    fn gate(&self, upstream: &str) -> Arc<crate::call_gate::Gate> {
        Arc::new(crate::call_gate::Gate {
            upstream: upstream.to_owned(),
            client: reqwest::Client::new(),
            recorder: self.recorder.clone(),
            writes: self.writes.clone(),
            judge: self.judge.clone(),
            local: self.local.clone(),
        })
    }

    /// WebSocket listeners are bound first: their URLs are in the
    /// environment the functions start with. A function's `@connections`
    /// calls pass a gate of the API's own, judged like every AWS call
    /// (`execute-api:ManageConnections`), on their way to the API.
    async fn bind_sockets(
        &mut self,
        stacks: &[Stack],
    ) -> Result<BTreeMap<(String, String), tokio::net::TcpListener>> {
        let mut listeners = BTreeMap::new();
        for (service, plan, _, _) in stacks {
            for socket in &plan.sockets {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
                let gate_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
                let (addr, gate_addr) = (listener.local_addr()?, gate_listener.local_addr()?);
                self.judge.api_at(&gate_addr.to_string(), &socket.api_id);
                let gate = self.gate(&format!("http://{addr}"));
                self.tasks
                    .push(serve(gate_listener, crate::call_gate::router(gate)));
                self.substitutions.insert(
                    devstack_template::adapt::socket_placeholder(&socket.api),
                    format!("http://{gate_addr}/{}", socket.stage),
                );
                listeners.insert((service.clone(), socket.api.clone()), listener);
            }
        }
        Ok(listeners)
    }

    async fn start_service(
        &mut self,
        stack: &Stack,
        socket_listeners: &mut BTreeMap<(String, String), tokio::net::TcpListener>,
    ) -> Result<()> {
        let (service, plan, deployed, _) = stack;
        let mut svc = service_endpoints(stack)?;
        // The stack's tags, which Lambda hands on to each function.
        let tags = service_tags(service, &self.commit)?;
        for f in &plan.functions {
            let alias = (plan.deployments.iter())
                .find(|d| d.function == f.logical_id)
                .map(|d| d.alias.clone());
            let physical = self.start_function(stack, f, alias, &tags).await?;
            svc.functions.insert(f.logical_id.clone(), physical);
        }
        let mut stages: BTreeMap<&str, Arc<Stage>> = BTreeMap::new();
        for r in &plan.routes {
            let stage = stages
                .entry(&r.api)
                .or_insert_with(|| self.stage(&qualified(service, &r.api), &r.stage))
                .clone();
            self.routes.push(
                RouteTarget::new(
                    &r.route_key,
                    self.functions[&qualified(service, &r.function)].clone(),
                    r.cors.as_ref().map(gateway_cors),
                    stage,
                )
                .of_api(&r.api_id)
                .public(r.public),
            );
        }
        for socket in &plan.sockets {
            let listener = socket_listeners
                .remove(&(service.clone(), socket.api.clone()))
                .expect("bound above");
            let url = self.serve_socket(service, socket, listener)?;
            svc.sockets.insert(socket.api.clone(), url);
        }
        self.start_taps(service, plan, deployed).await?;
        for s in &plan.streams {
            self.start_stream(service, s, deployed).await?;
        }
        self.endpoints.services.insert(service.clone(), svc);
        Ok(())
    }

    /// One function's process, with its async invoker. Returns its
    /// physical name.
    async fn start_function(
        &mut self,
        (service, _, deployed, adapted): &Stack,
        f: &devstack_template::adapt::FunctionPlan,
        alias: Option<String>,
        stack_tags: &[(String, String)],
    ) -> Result<String> {
        let physical = deployed.physical(&f.logical_id)?.to_owned();
        let name = qualified(service, &f.logical_id);
        if self.options.faults {
            let (fault_proxy, serving) = self.chaos.listen(&name).await?;
            self.tasks.push(serving);
            self.substitutions
                .insert(endpoint_key(&physical), fault_proxy);
        }
        let record = self.configured.function(&physical)?;
        let deployed_env = record.environment(&self.substitutions);
        let mut env = deployed_env.clone();
        env.extend(self.local_env.iter().cloned());
        env.extend(endpoint_env(&physical, &self.substitutions));
        let binary = self.binary(service, &name, f)?;
        let dlq = match &f.dead_letter_topic {
            Some(topic) => Some(deployed.physical(topic)?.to_owned()),
            None => None,
        };
        let mut configuration = devstack_lambda::spec::Configuration::of(
            record,
            &devstack_lambda::spec::Deployment {
                stack: service,
                logical_id: &f.logical_id,
                physical: &physical,
                template: adapted,
                environment: &deployed_env,
                dead_letter: dlq.as_deref(),
                stack_tags: &borrowed(stack_tags),
            },
        );
        if let Some(n) = self.options.managed_instances.get(&name) {
            configuration.per_environment_concurrency = Some(*n);
        }
        configuration.alias = alias;
        let policies = self.configured.policies(&configuration.role)?;
        let session = (self.judge)
            .session(&name, &configuration.role, Some(policies))
            .await?;
        crate::iam::with_credentials(&mut env, session);
        let conf = self.accounts.conf(service);
        let function = Function::start(Spec {
            name: name.clone(),
            arn: format!(
                "arn:aws:lambda:{}:{}:function:{physical}",
                kit::config::LOCAL_REGION,
                self.accounts.account(service),
            ),
            physical_name: physical.clone(),
            binary,
            env,
            timeout: Duration::from_secs(f.timeout_seconds),
            recorder: Some(self.recorder.clone()),
            configuration,
            capture: self
                .options
                .capture_dir
                .as_ref()
                .map(|dir| dir.join(format!("{service}-{}.jsonl", f.logical_id))),
            max_environments: self.options.max_environments,
        })
        .await?;
        self.asyncs.insert(
            name.clone(),
            Arc::new(AsyncFunction {
                function: function.clone(),
                dead_letter_topic: dlq,
                max_retries: f.max_retries,
                max_event_age: Duration::from_secs(f.max_event_age_seconds),
                retry_delay: self.options.retry_delay,
                sns: aws_sdk_sns::Client::new(conf),
                sqs: aws_sdk_sqs::Client::new(conf),
                judge: Some(self.judge.clone()),
            }),
        );
        self.functions.insert(name, function);
        Ok(physical)
    }

    /// Where a function's binary is: cargo's output or `sam build`'s.
    fn binary(
        &self,
        service: &str,
        name: &str,
        f: &devstack_template::adapt::FunctionPlan,
    ) -> Result<PathBuf> {
        let artifacts = match self.options.from_sam.get(service) {
            Some(dir) => Artifacts::Sam(dir.clone()),
            None => Artifacts::Cargo(self.options.bin_dir.clone()),
        };
        let binary = artifacts.binary(&f.logical_id, &f.binary);
        if !binary.is_file() {
            anyhow::bail!(
                "{name}: no binary at {} ({})",
                binary.display(),
                match &artifacts {
                    Artifacts::Sam(_) => "run `sam build` in the service's folder first",
                    Artifacts::Cargo(_) => "run `cargo build --workspace --bins` first",
                }
            );
        }
        Ok(binary)
    }

    /// An API's stage as the gateway plays it: its throttle, and its access
    /// log written through the recorder.
    fn stage(&self, name: &str, settings: &StageSettings) -> Arc<Stage> {
        let throttle = settings.throttle.map(|t| devstack_gateway::Throttle {
            rate_limit: t.rate_limit,
            burst_limit: t.burst_limit,
        });
        let access_log = settings.access_log_format.clone().map(|format| {
            let recorder = self.recorder.clone();
            let name = name.to_owned();
            let sink: devstack_gateway::Sink =
                Arc::new(move |line: &str| recorder.access_line(&name, line));
            (format, sink)
        });
        Arc::new(Stage::new(throttle, access_log))
    }

    /// A WebSocket API on its bound listener. Returns its `ws://` URL.
    fn serve_socket(
        &mut self,
        service: &str,
        socket: &devstack_template::adapt::SocketApi,
        listener: tokio::net::TcpListener,
    ) -> Result<String> {
        use devstack_gateway::websocket;
        let addr = listener.local_addr()?;
        let function = |logical: &str| self.functions[&qualified(service, logical)].clone();
        let api = websocket::SocketApi::new(
            websocket::Spec {
                name: qualified(service, &socket.api),
                api_id: socket.api_id.clone(),
                stage: socket.stage.clone(),
                route_selection_expression: socket.route_selection_expression.clone(),
                routes: socket
                    .routes
                    .iter()
                    .map(|r| (r.route_key.clone(), function(&r.function)))
                    .collect(),
                authorizer: socket
                    .routes
                    .iter()
                    .find(|r| r.route_key == "$connect")
                    .and_then(|r| r.authorizer.as_ref())
                    .map(|a| websocket::Authorizer {
                        id: a.id.clone(),
                        function: function(&a.function),
                        identity_source: a.identity_source.clone(),
                    }),
                limits: self.options.socket_limits,
                settings: self.stage(&qualified(service, &socket.api), &socket.settings),
                judge: Some(self.judge.clone()),
            },
            addr.to_string(),
        );
        self.tasks.push(serve(listener, websocket::router(api)));
        Ok(format!("ws://{addr}/{}", socket.stage))
    }

    /// What faces the outside: the HTTP gateway, the Lambda Invoke API,
    /// the user pool's API (with its triggers), the web app (the web
    /// stack, through the local CDN) and the control API.
    async fn serve_front(
        &mut self,
        pool: &cognito::Pool,
        stacks: &[Stack],
        (web_listener, cognito_listener, federation, site): (
            tokio::net::TcpListener,
            tokio::net::TcpListener,
            Option<&Federation>,
            &crate::web::Site,
        ),
    ) -> Result<Arc<Control>> {
        let gateway = Arc::new(Gateway {
            routes: std::mem::take(&mut self.routes),
            authorizer: Authorizer::new(
                pool.issuer.clone(),
                pool.client_id.clone(),
                pool.jwks_url.clone(),
            ),
            judge: Some(self.judge.clone()),
            mappings: crate::custom_domain::mappings(stacks),
        });
        let options = self.options;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", options.port)).await?;
        self.endpoints.api_base_url = format!("http://{}", listener.local_addr()?);
        crate::custom_domain::api_urls(&mut self.endpoints, stacks);
        self.tasks
            .push(serve(listener, devstack_gateway::router(gateway)));
        let lambda_listener =
            tokio::net::TcpListener::bind(("127.0.0.1", options.lambda_port)).await?;
        self.endpoints.lambda_endpoint = format!("http://{}", lambda_listener.local_addr()?);
        let _ = (self.local.lambda).set(self.endpoints.lambda_endpoint.clone());
        let lambda_api =
            devstack_lambda::lambda_api::router(self.functions.clone(), self.asyncs.clone());
        self.tasks.push(serve(lambda_listener, lambda_api));
        self.endpoints.socket_url = self
            .endpoints
            .services
            .get("notifications")
            .and_then(|s| s.sockets.values().next().cloned())
            .unwrap_or_default();
        self.endpoints.cognito_url = format!("http://{}", cognito_listener.local_addr()?);
        let triggers = cognito::triggers_of(
            pool,
            &self.functions,
            options.services.is_some(),
            Some(self.judge.clone()),
        );
        let api = kit::signed::json_protocol::JsonApi::new(
            &self.conf,
            kit::signed::json_protocol::COGNITO_IDP,
        );
        let identities = self.identities(pool);
        let login = match federation {
            Some(f) => Some(self.managed_login(f, pool, &web_listener).await?),
            None => None,
        };
        let tls = match &login {
            Some(_) => Some(revocation_over_tls(&mut self.endpoints).await?),
            None => None,
        };
        let discovery = cognito::discovery::Discovery {
            user_pool_id: pool.user_pool_id.clone(),
            issuer: pool.issuer.clone(),
            engine_jwks_url: pool.engine_jwks_url(&self.endpoints.emulator_url),
            domain_url: login.as_ref().map(|l| l.domain_url.clone()),
            tls_url: tls.as_ref().map(|(_, url)| url.clone()),
        };
        let front = cognito::front(
            &self.endpoints.emulator_url,
            api,
            (triggers, identities),
            discovery,
            login,
        );
        if let Some((listener, _)) = tls {
            self.tasks.push(serve(listener, front.clone()));
        }
        self.tasks.push(serve(cognito_listener, front));
        self.endpoints.web_url = format!("http://{}/", web_listener.local_addr()?);
        let urls = crate::web::function_urls(stacks, &self.functions);
        let cdn = crate::web::publish(
            &self.conf,
            self.judge.clone(),
            (&options.web_dir, urls),
            &self.endpoints,
            site,
        )
        .await?;
        let _ = self.local.cdn.set(cdn.clone());
        self.tasks
            .push(serve(web_listener, devstack_cdn::router(cdn)));
        self.serve_control(stacks).await
    }

    /// The identity pool's calls on the Cognito front, when the platform
    /// has a pool.
    async fn serve_control(&mut self, stacks: &[Stack]) -> Result<Arc<Control>> {
        let control = Arc::new(Control::new(
            self.accounts.clone(),
            (self.judge.clone(), self.local.hooks.clone()),
            self.functions.clone(),
            self.local_env.clone(),
            self.substitutions.clone(),
            stacks
                .iter()
                .map(|(service, plan, _, _)| (service.clone(), plan.clone()))
                .collect(),
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        self.endpoints.control_url = format!("http://{}", listener.local_addr()?);
        let api = crate::redeploy::router(control.clone()).merge(crate::chaos::router(
            self.chaos.clone(),
            self.functions.clone(),
        ));
        self.tasks.push(serve(listener, api));
        Ok(control)
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

/// A service's part of the endpoints file, before its functions start:
/// its resources and which function consumes what.
fn service_endpoints((service, plan, deployed, adapted): &Stack) -> Result<ServiceEndpoints> {
    let dlq_topic_arn = deployed.physical("DeadLetterTopic")?.to_owned();
    let mut svc = ServiceEndpoints {
        stack: service.clone(),
        // A topic's ARN names the account that holds it: the stack's.
        account: dlq_topic_arn
            .split(':')
            .nth(4)
            .unwrap_or_default()
            .to_owned(),
        table: deployed.physical("Table")?.to_owned(),
        dlq_topic_arn,
        dlq_queue_url: deployed.physical("DeadLetterQueue")?.to_owned(),
        outputs: deployed.outputs.clone(),
        ..ServiceEndpoints::default()
    };
    for tap in &plan.rules {
        svc.consumers.push(Consumer {
            function: deployed.physical(&tap.function)?.to_owned(),
            trigger: "rule".into(),
            pattern: Some(adapted["Resources"][&tap.rule]["Properties"]["EventPattern"].clone()),
            rule: Some(ops::targets::rule_name(deployed.physical(
                ops::targets::on_the_platforms_bus(adapted, &tap.rule),
            )?)),
        });
    }
    for tap in &plan.uploads {
        svc.consumers.push(Consumer {
            function: deployed.physical(&tap.function)?.to_owned(),
            trigger: "upload".into(),
            pattern: None,
            rule: None,
        });
    }
    Ok(svc)
}

/// The plan's CORS as the gateway applies it.
fn gateway_cors(c: &devstack_template::adapt::Cors) -> devstack_gateway::Cors {
    devstack_gateway::Cors {
        allow_origins: c.allow_origins.clone(),
        allow_headers: c.allow_headers.clone(),
        allow_methods: c.allow_methods.clone(),
        expose_headers: c.expose_headers.clone(),
        max_age: c.max_age,
    }
}

/// A local cloud on a thread and runtime of its own, for tests and tools
/// whose own runtime must not block on it: it runs until the process ends.
pub struct Detached {
    pub endpoints: Endpoints,
    pub functions: BTreeMap<String, Function>,
    /// [`Running::from_kept_state`].
    pub from_kept_state: bool,
    pub control: Arc<Control>,
    runtime: Option<tokio::runtime::Runtime>,
    running: Option<Running>,
}

impl Drop for Detached {
    fn drop(&mut self) {
        // Stops the tasks (and so the function processes) without blocking,
        // so it may be dropped from async code.
        drop(self.running.take());
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

pub fn start_detached(options: Options) -> Result<Detached> {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new()?;
        let running = runtime.block_on(start(options))?;
        Ok(Detached {
            endpoints: running.endpoints.clone(),
            functions: running.functions.clone(),
            from_kept_state: running.from_kept_state,
            control: running.control.clone(),
            runtime: Some(runtime),
            running: Some(running),
        })
    })
    .join()
    .map_err(|_| anyhow::anyhow!("the local cloud's thread panicked"))?
}
