//! Each service's functions, routes and WebSocket APIs, started in
//! turn.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use devstack_api::control::Artifacts;
use devstack_api::{Consumer, ServiceEndpoints};
use devstack_gateway::{RouteTarget, Stage};
use devstack_lambda::environment::{endpoint_env, endpoint_key};
use devstack_lambda::invoke::AsyncFunction;
use devstack_lambda::runtime::{Function, Spec};
use devstack_template::adapt::StageSettings;

use super::wiring::{Wiring, serve};
use crate::deploy::{Stack, borrowed, qualified, service_tags};

impl Wiring<'_> {
    /// environment the functions start with. A function's `@connections`
    /// calls pass a gate of the API's own, judged like every AWS call
    /// (`execute-api:ManageConnections`), on their way to the API.
    pub(super) async fn bind_sockets(
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

    pub(super) async fn start_service(
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
    pub(super) async fn start_function(
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
    pub(super) fn binary(
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
    pub(super) fn stage(&self, name: &str, settings: &StageSettings) -> Arc<Stage> {
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
    pub(super) fn serve_socket(
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
