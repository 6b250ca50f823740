//! `devstack deploy <service>`: one service redeployed into a running local
//! cloud, the local `sam deploy`. The stack is updated on the emulator; a
//! function with a `DeploymentPreference` is deployed gradually behind its
//! alias (`gradual`), and if one is rolled back the stack is put back as it
//! was; any other function's process is swapped ([`Function::swap`]). The
//! other services keep running, and events that arrive meanwhile wait (tap
//! messages stay undeleted in SQS, stream records stay in the stream) and
//! reach the new process.

use std::collections::BTreeMap;
use std::sync::Arc;

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::sync::Mutex;

use devstack_api::control::{MINUTE_MS, Report, Request, SwappedFunction};
use devstack_lambda::runtime::{Function, Swapped};
use devstack_template::adapt::{Plan, adapt};

use crate::deploy::{borrowed, service_tags, update_stack};
use crate::gradual::{Hook, Target};

fn swapped_function(s: Swapped) -> SwappedFunction {
    SwappedFunction {
        function: s.function,
        binary: s.binary,
        drained_ms: s.drained_ms,
        total_ms: s.total_ms,
        waiting: s.waiting,
    }
}

/// What a running local cloud keeps to redeploy its services.
pub struct Control {
    /// Each service's account, where its stack is updated.
    pub accounts: crate::accounts::Accounts,
    /// A swapped process gets a new session of its role, with the role's
    /// policies as the update left them.
    judge: Arc<crate::iam::Judge>,
    /// The hook executions the gate takes the hooks' reports for.
    hooks: Arc<crate::hooks::Hooks>,
    /// `<service>/<LogicalId>` → the running function.
    pub functions: BTreeMap<String, Function>,
    /// The environment the local cloud adds to every function (emulator
    /// endpoint, region, credentials, log level).
    pub local_env: Vec<(String, String)>,
    /// Environment values the local cloud replaces ([`devstack_template::adapt::socket_placeholder`]
    /// → its WebSocket API's `@connections` URL).
    pub substitutions: BTreeMap<String, String>,
    pub plans: BTreeMap<String, Plan>,
    /// One deploy at a time, as CloudFormation allows one update per stack.
    lock: Mutex<()>,
}

impl Control {
    pub fn new(
        accounts: crate::accounts::Accounts,
        (judge, hooks): (Arc<crate::iam::Judge>, Arc<crate::hooks::Hooks>),
        functions: BTreeMap<String, Function>,
        local_env: Vec<(String, String)>,
        substitutions: BTreeMap<String, String>,
        plans: BTreeMap<String, Plan>,
    ) -> Self {
        Self {
            accounts,
            judge,
            hooks,
            functions,
            local_env,
            substitutions,
            plans,
            lock: Mutex::new(()),
        }
    }

    pub async fn redeploy(&self, request: &Request) -> Result<Report> {
        let _one = self.lock.lock().await;
        let started = Instant::now();
        let service = request.service.as_str();
        let running = self
            .plans
            .get(service)
            .with_context(|| format!("no service {service} runs here"))?;
        let conf = self.accounts.conf(service);
        let previous = crate::deploy::current(conf, service).await?;
        let template = crate::deploy::load_template(&request.template).await?;
        let template = crate::deploy::with_previous_values(template, &previous.0);
        let given = crate::stack_parameters::given(self.accounts.parameters(service));
        let template = devstack_template::adapt::with_parameters(template, &given);
        let (adapted, plan) = adapt(service, &template)?;
        crate::custom_domain::mapped_in_its_account(
            service,
            &plan,
            self.accounts.account(service),
        )?;
        if let Some(what) = wiring_change(running, &plan) {
            bail!(
                "{service}: the {what} changed; the local cloud wires those at start, so restart it (`cargo xtask up`) to apply this template"
            );
        }
        let live = |id: &str| Some(self.functions.get(&format!("{service}/{id}"))?.timeout());
        if let Some(id) = timeout_swapped_in_place(&plan, live) {
            bail!(
                "{service}/{id}: its timeout changed, and a function deployed in place (no DeploymentPreference; a version deployed gradually takes its own) keeps the timeout it started with, so restart the local cloud (`cargo xtask up`) to apply this template"
            );
        }
        // Every binary must exist before anything is touched.
        let mut binaries = Vec::new();
        for f in &plan.functions {
            let binary = request.artifacts.binary(&f.logical_id, &f.binary);
            if !binary.is_file() {
                bail!(
                    "{service}/{}: no binary at {}; build it first",
                    f.logical_id,
                    binary.display()
                );
            }
            binaries.push((f, binary));
        }
        let deployed = update_stack(
            conf,
            service,
            &adapted,
            &[],
            &borrowed(&service_tags(service, &request.commit)?),
        )
        .await;
        // Whatever the update left, roles and policies are read anew.
        self.judge.forget_resources();
        let deployed = deployed?;
        let stack_ms = started.elapsed().as_millis() as u64;
        tracing::info!(target: "trail", stack = %service, commit = %request.commit, ms = stack_ms, "stack updated");
        let mut swapped = Vec::new();
        let mut gradually = Vec::new();
        for (f, binary) in binaries {
            let name = format!("{service}/{}", f.logical_id);
            let function = self
                .functions
                .get(&name)
                .with_context(|| format!("{name} is not running"))?;
            let env = self
                .environment(&name, function, deployed.physical(&f.logical_id)?)
                .await?;
            let Some(preference) = (plan.deployments.iter()).find(|d| d.function == f.logical_id)
            else {
                let done = function.swap(binary, env).await?;
                tracing::info!(target: "trail", function = %name, drained_ms = done.drained_ms, ms = done.total_ms, waiting = done.waiting, "swapped");
                swapped.push(swapped_function(done));
                continue;
            };
            let sources = (preference.alarms.iter())
                .map(|alarm| {
                    crate::alarms::source(
                        alarm,
                        function,
                        |id| self.functions.get(&format!("{service}/{id}")).cloned(),
                        |id| deployed.physical(id).ok().map(str::to_owned),
                        conf,
                    )
                })
                .collect();
            let hook = |id: &Option<String>, what: &str| -> Result<Option<Hook>> {
                let Some(id) = id else { return Ok(None) };
                let name = format!("{service}/{id}");
                let function = (self.functions.get(&name).cloned())
                    .with_context(|| format!("{name}, a {what} hook, is not running"))?;
                Ok(Some(Hook { name, function }))
            };
            let pre_traffic = hook(&preference.pre_traffic, "pre-traffic")?;
            let post_traffic = hook(&preference.post_traffic, "post-traffic")?;
            gradually.push(Target {
                name,
                function: function.clone(),
                binary,
                env,
                timeout: Duration::from_secs(f.timeout_seconds),
                preference: preference.clone(),
                sources,
                pre_traffic,
                post_traffic,
            });
        }
        let minute_ms = request.minute_ms.unwrap_or(MINUTE_MS);
        let played = match crate::gradual::play(gradually, minute_ms, &self.hooks).await {
            Ok(played) => played,
            Err(e) => {
                self.put_back(request, previous, &format!("{e:#}")).await?;
                return Err(e);
            }
        };
        if let Some(why) = &played.rolled_back {
            self.put_back(request, previous, why).await?;
        }
        Ok(Report {
            service: service.to_owned(),
            commit: request.commit.clone(),
            stack_ms,
            swapped,
            deployments: played.deployments,
            rolled_back: played.rolled_back,
            total_ms: started.elapsed().as_millis() as u64,
        })
    }

    /// The alias updates failed, and with them the stack's update:
    /// CloudFormation puts the stack back as it was (`previous`: its
    /// template and tags).
    async fn put_back(
        &self,
        request: &Request,
        (template, tags): (serde_json::Value, Vec<(String, String)>),
        why: &str,
    ) -> Result<()> {
        let service = &request.service;
        let conf = self.accounts.conf(service);
        update_stack(conf, service, &template, &[], &borrowed(&tags)).await?;
        self.judge.forget_resources();
        tracing::warn!(target: "trail", stack = %service, commit = %request.commit, reason = %why, "deployment rolled back");
        Ok(())
    }

    /// The environment a new process of `function` starts with, and its
    /// role's session: as the updated stack says.
    async fn environment(
        &self,
        name: &str,
        function: &Function,
        physical: &str,
    ) -> Result<Vec<(String, String)>> {
        let service = name.split('/').next().unwrap_or(name);
        let conf = self.accounts.conf(service);
        let mut env =
            devstack_lambda::environment::function_env(conf, physical, &self.substitutions).await?;
        env.extend(self.local_env.iter().cloned());
        let session = self
            .judge
            // A redeploy may change the role: read as it is now.
            .session(name, &function.spec.configuration.role, None)
            .await?;
        crate::iam::with_credentials(&mut env, session);
        Ok(env)
    }
}

/// What a redeploy cannot change in a running local cloud: the functions and
/// the event sources wired to them. Everything else (code, environment,
/// rule patterns, policies) it can.
pub fn wiring_change(running: &Plan, new: &Plan) -> Option<&'static str> {
    if wired(running) != wired(new) {
        Some("functions (names, binaries or async settings)")
    } else if running.routes != new.routes {
        Some("HTTP routes (or their stage's throttle or access log)")
    } else if running.rules != new.rules {
        Some("bus rules")
    } else if running.streams != new.streams {
        Some("stream mappings")
    } else if running.uploads != new.uploads || running.versioned_buckets != new.versioned_buckets {
        Some("bucket notifications or versioning")
    } else if running.subscriptions != new.subscriptions {
        Some("topic subscriptions")
    } else if running.sockets != new.sockets {
        Some("WebSocket APIs (routes, authorizers or stage settings)")
    } else {
        None
    }
}

/// The functions as the local cloud wires them at start: everything but
/// the timeout, which each version published gradually carries itself.
fn wired(plan: &Plan) -> Vec<devstack_template::adapt::FunctionPlan> {
    (plan.functions.iter())
        .map(|f| devstack_template::adapt::FunctionPlan {
            timeout_seconds: 0,
            ..f.clone()
        })
        .collect()
}

/// The function swapped in place (no `DeploymentPreference`) whose new
/// timeout differs from the one its running version has: its
/// environments keep theirs, so the local cloud needs a restart.
fn timeout_swapped_in_place(
    plan: &Plan,
    running: impl Fn(&str) -> Option<std::time::Duration>,
) -> Option<&str> {
    plan.functions
        .iter()
        .filter(|f| !plan.deployments.iter().any(|d| d.function == f.logical_id))
        .find(|f| running(&f.logical_id).is_some_and(|t| t.as_secs() != f.timeout_seconds))
        .map(|f| f.logical_id.as_str())
}

/// The control API of a running local cloud (its URL is `control_url` in
/// the endpoints file).
pub fn router(control: std::sync::Arc<Control>) -> axum::Router {
    use axum::Json;
    use axum::extract::State;
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    async fn deploy(
        State(control): State<std::sync::Arc<Control>>,
        Json(request): Json<Request>,
    ) -> axum::response::Response {
        match control.redeploy(&request).await {
            Ok(report) => Json(report).into_response(),
            Err(e) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(serde_json::json!({ "error": format!("{e:#}") })),
            )
                .into_response(),
        }
    }
    axum::Router::new()
        .route("/deploy", axum::routing::post(deploy))
        .with_state(control)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use devstack_template::adapt::{FunctionPlan, GradualDeploy};

    use super::*;

    fn function(id: &str, timeout_seconds: u64) -> FunctionPlan {
        FunctionPlan {
            logical_id: id.into(),
            binary: id.to_lowercase(),
            timeout_seconds,
            dead_letter_topic: None,
            max_retries: 2,
            max_event_age_seconds: 21_600,
        }
    }

    #[test]
    fn a_timeout_is_wiring_only_for_a_function_swapped_in_place_against_its_running_one() {
        let started = Plan {
            functions: vec![function("Api", 10), function("Hook", 10)],
            ..Plan::default()
        };
        let mut next = started.clone();
        next.functions = vec![function("Api", 1), function("Hook", 10)];
        next.deployments = vec![GradualDeploy {
            function: "Api".into(),
            ..GradualDeploy::default()
        }];
        assert_eq!(
            wiring_change(&started, &next),
            None,
            "a version takes its own"
        );
        // The Api's running version already has 1 s; the hook is swapped in
        // place and keeps the 10 s it started with.
        let running = |id: &str| Some(Duration::from_secs(if id == "Api" { 1 } else { 10 }));
        assert_eq!(timeout_swapped_in_place(&next, running), None);
        next.functions[1].timeout_seconds = 5;
        assert_eq!(timeout_swapped_in_place(&next, running), Some("Hook"));
        // Dropping the Api's preference with the 1 s it runs is no change.
        next.deployments.clear();
        next.functions[1].timeout_seconds = 10;
        assert_eq!(timeout_swapped_in_place(&next, running), None);
    }
}
