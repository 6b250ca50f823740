//! Bringing the whole system up: emulator, stacks, functions, event
//! sources, gateway, Lambda API, endpoints file.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use aws_config::SdkConfig;
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use serde::Serialize;

use crate::adapt::{Plan, adapt};
use crate::deploy::{Deployed, TAG_COMMIT, TAG_SERVICE, apply, create_tagged};
use crate::gateway::{Authorizer, Gateway, RouteTarget};
use crate::invoke::AsyncFunction;
use crate::redeploy::{Artifacts, Control};
use crate::runtime::{Function, Spec};
use crate::sources::{StreamPoller, TapKind, poll_tap};
use crate::{PLATFORM, SERVICES, cognito, template_path};

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
    /// default `services/<name>/.aws-sam/build` ([`crate::sam_build_dir`]).
    pub from_sam: BTreeMap<String, PathBuf>,
    /// Delay between async retries and stream retries.
    pub retry_delay: Duration,
    /// Extra environment for every function, e.g. `RUST_LOG`.
    pub function_env: Vec<(String, String)>,
    /// The WebSocket APIs' quotas (AWS's by default; tests shorten the
    /// timeouts).
    pub socket_limits: crate::websocket::Limits,
    /// Web app port; 0 picks a free one.
    pub web_port: u16,
    /// The built web app ([`crate::web::dist_dir`] by default).
    pub web_dir: PathBuf,
    /// Where hops, metrics and the functions' logs are recorded
    /// ([`crate::telemetry`]); a fresh temporary folder by default.
    pub telemetry_dir: Option<PathBuf>,
    /// Where every event is recorded as a function's `/next` hands it over:
    /// `<stack>-<LogicalId>.jsonl`, one `{"headers", "event"}` per line (the
    /// parity suite compares them with AWS's). Off by default, and then
    /// nothing is written.
    pub capture_dir: Option<PathBuf>,
    /// Every function reaches the emulator through a fault proxy of its own
    /// ([`crate::chaos`]), so faults can be injected (`devstack load
    /// --chaos`). Off by default: one hop less on every AWS call.
    pub faults: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            endpoint_url: None,
            port: 0,
            lambda_port: 0,
            bin_dir: crate::profile_dir(),
            from_sam: BTreeMap::new(),
            retry_delay: Duration::from_millis(100),
            function_env: Vec::new(),
            socket_limits: crate::websocket::Limits::default(),
            web_port: 0,
            web_dir: crate::web::dist_dir(),
            telemetry_dir: None,
            capture_dir: None,
            faults: false,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ServiceEndpoints {
    pub stack: String,
    pub table: String,
    pub dlq_topic_arn: String,
    pub dlq_queue_url: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub outputs: BTreeMap<String, String>,
    /// Logical id → physical function name.
    pub functions: BTreeMap<String, String>,
    /// WebSocket API (logical id) → its `ws://` URL (connect with
    /// `?token=<ID token>`); its `@connections` API is under the same URL.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub sockets: BTreeMap<String, String>,
    /// Which function receives which async events: what the ops CLI needs
    /// to re-deliver a dead letter to the function that failed it.
    pub consumers: Vec<Consumer>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Consumer {
    /// Physical function name.
    pub function: String,
    /// `rule` (with its EventBridge pattern) or `upload` (S3 notifications).
    pub trigger: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern: Option<serde_json::Value>,
}

/// The machine-readable description of a running local cloud.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Endpoints {
    pub api_base_url: String,
    pub emulator_url: String,
    pub lambda_endpoint: String,
    pub region: String,
    pub user_pool_id: String,
    pub client_id: String,
    pub issuer: String,
    pub jwks_url: String,
    pub bus_name: String,
    /// The local cloud's own API: `POST /deploy` redeploys one service.
    pub control_url: String,
    /// The notifications service's WebSocket API: live push to browsers.
    pub socket_url: String,
    /// The web app, with its `config.json` for this local cloud.
    pub web_url: String,
    /// Hops, EMF metrics and function logs (`devstack trace`, `devstack
    /// metrics`).
    pub telemetry_dir: String,
    pub services: BTreeMap<String, ServiceEndpoints>,
}

pub struct Running {
    pub endpoints: Endpoints,
    pub functions: BTreeMap<String, Function>,
    pub asyncs: BTreeMap<String, Arc<AsyncFunction>>,
    pub conf: SdkConfig,
    pub pool: cognito::Pool,
    pub started_in: Duration,
    /// The start's steps, each as the time since it began.
    pub phases: Vec<(String, Duration)>,
    pub control: Arc<Control>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// A function's environment as the local cloud starts it: as deployed, then
/// its endpoint, its own port of the fault proxy ([`crate::chaos`]). A
/// redeploy builds it here too, so a swapped process keeps its port.
pub(crate) async fn function_env(
    conf: &SdkConfig,
    physical: &str,
    substitutions: &BTreeMap<String, String>,
) -> Result<Vec<(String, String)>> {
    let mut env = deployed_env(conf, physical, substitutions).await?;
    env.extend(crate::chaos::endpoint_env(physical, substitutions));
    Ok(env)
}

/// A function's environment as deployed, with the values only the local
/// cloud knows (`substitutions`) filled in: what Lambda's API reports.
async fn deployed_env(
    conf: &SdkConfig,
    physical: &str,
    substitutions: &BTreeMap<String, String>,
) -> Result<Vec<(String, String)>> {
    let lambda = aws_sdk_lambda::Client::new(conf);
    let config = lambda
        .get_function_configuration()
        .function_name(physical)
        .send()
        .await
        .with_context(|| format!("reading the configuration of {physical}"))?;
    Ok(config
        .environment()
        .and_then(|e| e.variables())
        .map(|v| {
            v.iter()
                .map(|(k, v)| (k.clone(), substitutions.get(v).unwrap_or(v).clone()))
                .collect()
        })
        .unwrap_or_default())
}

pub async fn start(options: Options) -> Result<Running> {
    let started = Instant::now();
    let mut phases: Vec<(String, Duration)> = Vec::new();
    let mut phase = |name: &str| phases.push((name.to_owned(), started.elapsed()));
    // At once: the emulator boots (about a second of Python imports) while
    // the templates are translated (or read from the cache) and the commit
    // is read.
    let emulator = {
        let url = options.endpoint_url.clone();
        tokio::task::spawn_blocking(move || match url {
            Some(url) => Ok(kit::emulator::Emulator { url }),
            None => kit::emulator::start().map_err(anyhow::Error::msg),
        })
    };
    let templates = tokio::task::spawn_blocking(|| {
        std::thread::scope(|scope| {
            let loading: Vec<_> = std::iter::once(PLATFORM)
                .chain(SERVICES.iter().copied())
                .map(|stack| scope.spawn(move || crate::template::load(&template_path(stack))))
                .collect();
            loading
                .into_iter()
                .map(|t| t.join().expect("a template load panicked"))
                .collect::<Result<Vec<_>>>()
        })
    });
    let commit = tokio::task::spawn_blocking(|| crate::redeploy::commit_of(&crate::root()));
    let mut templates = templates.await??.into_iter();
    phase("templates translated");
    let emulator = emulator.await??;
    let conf = emulator.sdk_config().await;
    tracing::info!(target: "trail", url = %emulator.url, "emulator ready");
    phase("emulator ready");
    let commit = commit.await?;

    let platform = templates.next().context("the platform's template")?;
    let (mut adapted, platform_plan) = adapt(PLATFORM, &platform)?;
    // The pool first: the platform exports its ids, which services import.
    let pool_plan = platform_plan
        .user_pools
        .first()
        .context("the platform has no user pool")?;
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&conf);
    let pool = cognito::create(
        &cognito,
        &emulator.url,
        &format!("{PLATFORM}-{}", pool_plan.pool),
    )
    .await?;
    crate::adapt::bind_user_pool(&mut adapted, pool_plan, &pool.user_pool_id, &pool.client_id);
    phase("user pool");
    let platform_deployed = create_tagged(
        &conf,
        PLATFORM,
        &adapted,
        &[],
        &[(TAG_SERVICE, PLATFORM), (TAG_COMMIT, &commit)],
    )
    .await?;
    let bus_name = platform_deployed
        .outputs
        .get("BusName")
        .cloned()
        .unwrap_or_default();
    phase("platform stack");

    // The service stacks import only the platform's exports, so they
    // deploy together.
    let deploying = SERVICES.iter().zip(templates).map(|(service, template)| {
        let (conf, commit) = (&conf, &commit);
        async move {
            let (adapted, plan) = adapt(service, &template)?;
            let deployed = create_tagged(
                conf,
                service,
                &adapted,
                &[],
                &[(TAG_SERVICE, service), (TAG_COMMIT, commit)],
            )
            .await?;
            apply(conf, &plan, &deployed).await?;
            tracing::info!(target: "trail", stack = %service, functions = plan.functions.len(), "deployed");
            anyhow::Ok((service.to_string(), plan, deployed, adapted))
        }
    });
    let stacks: Vec<(String, Plan, Deployed, serde_json::Value)> =
        futures_util::future::try_join_all(deploying).await?;
    phase("service stacks");

    let sns = aws_sdk_sns::Client::new(&conf);
    let sqs = aws_sdk_sqs::Client::new(&conf);
    let mut functions = BTreeMap::new();
    let mut asyncs = BTreeMap::new();
    let mut tasks = Vec::new();
    let mut endpoints = Endpoints {
        emulator_url: emulator.url.clone(),
        region: kit::emulator::REGION.into(),
        user_pool_id: pool.user_pool_id.clone(),
        client_id: pool.client_id.clone(),
        issuer: pool.issuer.clone(),
        jwks_url: pool.jwks_url.clone(),
        bus_name,
        ..Endpoints::default()
    };
    let mut routes = Vec::new();
    let mut local_env = vec![
        ("AWS_REGION".to_owned(), kit::emulator::REGION.to_owned()),
        (
            "AWS_DEFAULT_REGION".to_owned(),
            kit::emulator::REGION.to_owned(),
        ),
        ("AWS_ACCESS_KEY_ID".to_owned(), "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY".to_owned(), "test".to_owned()),
    ];
    let telemetry_dir = match &options.telemetry_dir {
        Some(dir) => dir.clone(),
        None => std::env::temp_dir().join(format!(
            "devstack-telemetry-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        )),
    };
    let recorder = crate::telemetry::Recorder::new(&telemetry_dir)?;
    if let Some(dir) = &options.capture_dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the capture folder {}", dir.display()))?;
    }
    endpoints.telemetry_dir = telemetry_dir.display().to_string();
    // The functions' EventBridge calls pass the bus proxy, which keeps each
    // entry's TraceHeader for the rule's target. With faults, a fault proxy
    // per function is in front of both: function → fault proxy → (bus
    // proxy →) emulator, and the endpoints are per function.
    let proxy_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let bus_url = format!("http://{}", proxy_listener.local_addr()?);
    if !options.faults {
        local_env.push(("AWS_ENDPOINT_URL".to_owned(), emulator.url.clone()));
        local_env.push(("AWS_ENDPOINT_URL_EVENTBRIDGE".to_owned(), bus_url.clone()));
        // Table writes through the proxy wake the stream pollers at once.
        local_env.push(("AWS_ENDPOINT_URL_DYNAMODB".to_owned(), bus_url.clone()));
    }
    let chaos = crate::chaos::Chaos::new(&emulator.url, &bus_url);
    let proxy = Arc::new(crate::telemetry::bus_proxy::Proxy {
        upstream: emulator.url.trim_end_matches('/').to_owned(),
        client: reqwest::Client::new(),
        recorder: recorder.clone(),
    });
    tasks.push(tokio::spawn(async move {
        let _ = axum::serve(proxy_listener, crate::telemetry::bus_proxy::router(proxy)).await;
    }));
    local_env.extend(options.function_env.iter().cloned());
    // Kit's token checks read the JWKS from here: the emulator does not
    // serve it at the issuer's address, as Cognito does.
    local_env.push(("JWKS_URL".to_owned(), pool.jwks_url.clone()));
    // WebSocket listeners are bound first: their URLs are in the
    // environment the functions start with.
    let mut substitutions = BTreeMap::new();
    let mut socket_listeners = BTreeMap::new();
    for (service, plan, _, _) in &stacks {
        for socket in &plan.sockets {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            substitutions.insert(
                crate::adapt::socket_placeholder(&socket.api),
                format!("http://{addr}/{}", socket.stage),
            );
            socket_listeners.insert((service.clone(), socket.api.clone()), listener);
        }
    }
    for (service, plan, deployed, adapted) in &stacks {
        let artifacts = if let Some(dir) = options.from_sam.get(service) {
            Artifacts::Sam(dir.clone())
        } else {
            Artifacts::Cargo(options.bin_dir.clone())
        };
        let mut svc = ServiceEndpoints {
            stack: service.clone(),
            table: deployed.physical("Table")?.to_owned(),
            dlq_topic_arn: deployed.physical("DeadLetterTopic")?.to_owned(),
            dlq_queue_url: deployed.physical("DeadLetterQueue")?.to_owned(),
            outputs: deployed.outputs.clone(),
            functions: BTreeMap::new(),
            sockets: BTreeMap::new(),
            consumers: Vec::new(),
        };
        for tap in &plan.rules {
            svc.consumers.push(Consumer {
                function: deployed.physical(&tap.function)?.to_owned(),
                trigger: "rule".into(),
                pattern: Some(
                    adapted["Resources"][&tap.rule]["Properties"]["EventPattern"].clone(),
                ),
            });
        }
        for tap in &plan.uploads {
            svc.consumers.push(Consumer {
                function: deployed.physical(&tap.function)?.to_owned(),
                trigger: "upload".into(),
                pattern: None,
            });
        }
        for f in &plan.functions {
            let physical = deployed.physical(&f.logical_id)?.to_owned();
            let name = format!("{service}/{}", f.logical_id);
            if options.faults {
                let (fault_proxy, serving) = chaos.listen(&name).await?;
                tasks.push(serving);
                substitutions.insert(crate::chaos::endpoint_key(&physical), fault_proxy);
            }
            let mut env = deployed_env(&conf, &physical, &substitutions).await?;
            let deployed_env = env.clone();
            env.extend(local_env.iter().cloned());
            env.extend(crate::chaos::endpoint_env(&physical, &substitutions));
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
            let dlq = match &f.dead_letter_topic {
                Some(topic) => Some(deployed.physical(topic)?.to_owned()),
                None => None,
            };
            let configuration = crate::lambda_api::Configuration::read(
                &conf,
                &crate::lambda_api::Deployment {
                    stack: service,
                    logical_id: &f.logical_id,
                    physical: &physical,
                    template: adapted,
                    environment: &deployed_env,
                    dead_letter: dlq.as_deref(),
                    stack_tags: &[(TAG_SERVICE, service), (TAG_COMMIT, &commit)],
                },
            )
            .await?;
            let function = Function::start(Spec {
                name: name.clone(),
                arn: format!(
                    "arn:aws:lambda:{}:123456789012:function:{physical}",
                    kit::emulator::REGION
                ),
                physical_name: physical.clone(),
                binary,
                env,
                timeout: Duration::from_secs(f.timeout_seconds),
                recorder: Some(recorder.clone()),
                configuration,
                capture: options
                    .capture_dir
                    .as_ref()
                    .map(|dir| dir.join(format!("{service}-{}.jsonl", f.logical_id))),
            })
            .await?;
            asyncs.insert(
                name.clone(),
                Arc::new(AsyncFunction {
                    function: function.clone(),
                    dead_letter_topic: dlq,
                    max_retries: f.max_retries,
                    retry_delay: options.retry_delay,
                    sns: sns.clone(),
                    sqs: sqs.clone(),
                }),
            );
            svc.functions.insert(f.logical_id.clone(), physical);
            functions.insert(name, function);
        }
        for r in &plan.routes {
            routes.push(RouteTarget::new(
                &r.route_key,
                functions[&format!("{service}/{}", r.function)].clone(),
                r.cors.clone(),
            ));
        }
        for socket in &plan.sockets {
            let listener = socket_listeners
                .remove(&(service.clone(), socket.api.clone()))
                .expect("bound above");
            let addr = listener.local_addr()?;
            let function = |logical: &str| functions[&format!("{service}/{logical}")].clone();
            let api = crate::websocket::SocketApi::new(
                crate::websocket::Spec {
                    name: format!("{service}/{}", socket.api),
                    api_id: crate::websocket::api_id(),
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
                        .map(|a| crate::websocket::Authorizer {
                            function: function(&a.function),
                            identity_source: a.identity_source.clone(),
                        }),
                    limits: options.socket_limits,
                },
                addr.to_string(),
            );
            svc.sockets
                .insert(socket.api.clone(), format!("ws://{addr}/{}", socket.stage));
            tasks.push(tokio::spawn(async move {
                let _ = axum::serve(listener, crate::websocket::router(api)).await;
            }));
        }
        for tap in &plan.rules {
            let target = asyncs[&format!("{service}/{}", tap.function)].clone();
            let url = deployed.physical(&tap.tap_queue)?.to_owned();
            tasks.push(tokio::spawn(poll_tap(
                sqs.clone(),
                url,
                TapKind::Rule,
                target,
            )));
        }
        for tap in &plan.uploads {
            let target = asyncs[&format!("{service}/{}", tap.function)].clone();
            let url = deployed.physical(&tap.tap_queue)?.to_owned();
            tasks.push(tokio::spawn(poll_tap(
                sqs.clone(),
                url,
                TapKind::Upload,
                target,
            )));
        }
        for s in &plan.streams {
            let poller = StreamPoller {
                function: functions[&format!("{service}/{}", s.function)].clone(),
                table: deployed.physical(&s.table)?.to_owned(),
                batch_size: s.batch_size,
                bisect_on_error: s.bisect_on_error,
                max_retries: s.max_retries,
                on_failure_topic: match &s.on_failure_topic {
                    Some(t) => Some(deployed.physical(t)?.to_owned()),
                    None => None,
                },
                starting_position: if s.starting_position == "LATEST" {
                    ShardIteratorType::Latest
                } else {
                    ShardIteratorType::TrimHorizon
                },
                report_batch_item_failures: s.report_batch_item_failures,
                streams: aws_sdk_dynamodbstreams::Client::new(&conf),
                ddb: aws_sdk_dynamodb::Client::new(&conf),
                sns: sns.clone(),
                retry_delay: options.retry_delay,
            };
            tasks.push(tokio::spawn(poller.run()));
        }
        endpoints.services.insert(service.clone(), svc);
    }

    phase("functions started");
    let gateway = Arc::new(Gateway {
        routes,
        authorizer: Authorizer::new(
            pool.issuer.clone(),
            pool.client_id.clone(),
            pool.jwks_url.clone(),
        ),
    });
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", options.port)).await?;
    endpoints.api_base_url = format!("http://{}", listener.local_addr()?);
    tasks.push(tokio::spawn(async move {
        let _ = axum::serve(listener, crate::gateway::router(gateway)).await;
    }));
    let lambda_listener = tokio::net::TcpListener::bind(("127.0.0.1", options.lambda_port)).await?;
    endpoints.lambda_endpoint = format!("http://{}", lambda_listener.local_addr()?);
    let lambda_api = crate::lambda_api::router(functions.clone(), asyncs.clone());
    tasks.push(tokio::spawn(async move {
        let _ = axum::serve(lambda_listener, lambda_api).await;
    }));
    endpoints.socket_url = endpoints
        .services
        .get("notifications")
        .and_then(|s| s.sockets.values().next().cloned())
        .unwrap_or_default();
    let web_listener = tokio::net::TcpListener::bind(("127.0.0.1", options.web_port)).await?;
    endpoints.web_url = format!("http://{}/", web_listener.local_addr()?);
    let web = crate::web::router(options.web_dir.clone(), &endpoints);
    tasks.push(tokio::spawn(async move {
        let _ = axum::serve(web_listener, web).await;
    }));
    let control = Arc::new(Control::new(
        conf.clone(),
        functions.clone(),
        local_env,
        substitutions,
        stacks
            .iter()
            .map(|(service, plan, _, _)| (service.clone(), plan.clone()))
            .collect(),
    ));
    let control_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    endpoints.control_url = format!("http://{}", control_listener.local_addr()?);
    let control_api = crate::redeploy::router(control.clone())
        .merge(crate::chaos::router(chaos, functions.clone()));
    tasks.push(tokio::spawn(async move {
        let _ = axum::serve(control_listener, control_api).await;
    }));

    phase("ready");
    Ok(Running {
        endpoints,
        functions,
        asyncs,
        conf,
        pool,
        phases,
        started_in: started.elapsed(),
        control,
        tasks,
    })
}

/// A local cloud on a thread and runtime of its own, for tests and tools
/// whose own runtime must not block on it: it runs until the process ends.
pub struct Detached {
    pub endpoints: Endpoints,
    pub functions: BTreeMap<String, Function>,
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
            control: running.control.clone(),
            runtime: Some(runtime),
            running: Some(running),
        })
    })
    .join()
    .map_err(|_| anyhow::anyhow!("the local cloud's thread panicked"))?
}
