//! A gradual deployment played locally, as CodeDeploy runs one for each
//! function of a stack whose template says `AutoPublishAlias` and
//! `DeploymentPreference`: the new version starts beside the running one
//! behind the alias, takes the configuration's shares of the invocations
//! on a compressed clock (a template minute lasts `minute_ms`), and the
//! deployment's alarms are evaluated every period meanwhile. A pre-traffic
//! hook runs first, before the new version takes any share, and a
//! post-traffic hook last, once it has all of it ([`crate::hooks`]). A
//! failed hook, or an alarm in `ALARM`, stops every
//! function's deployment of the stack and rolls each back, as a failed
//! alias update fails the stack's update; when every function reached all
//! of the traffic, the old versions stop.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use devstack_api::control::{AlarmState, Deployment, HookState, Ran, Shift};
use devstack_lambda::runtime::{Function, VersionFigures};
use devstack_template::adapt::GradualDeploy;

use crate::alarms::{Source, Watch};
use crate::hooks::{Hooks, Status};

/// One function to deploy gradually.
pub struct Target {
    /// `<service>/<LogicalId>`.
    pub name: String,
    pub function: Function,
    pub binary: PathBuf,
    pub env: Vec<(String, String)>,
    /// The new version's own timeout (the template's `Timeout`).
    pub timeout: Duration,
    pub preference: GradualDeploy,
    /// Each of its alarms' source, or why the local cloud cannot evaluate it.
    pub sources: Vec<Result<Source, String>>,
    /// The function its preference names as the pre-traffic hook.
    pub pre_traffic: Option<Hook>,
    /// The one it names as the post-traffic hook.
    pub post_traffic: Option<Hook>,
}

/// What AWSCodeDeployRoleForLambda lets CodeDeploy invoke.
const HOOK_PREFIX: &str = "CodeDeployHook_";

/// A lifecycle hook: a function of the stack.
pub struct Hook {
    /// `<service>/<LogicalId>`.
    pub name: String,
    pub function: Function,
}

impl Hook {
    /// The hook invoked for `deployment_id` as CodeDeploy invokes it, and
    /// its verdict: what it reported, or why it counts as failed. The
    /// invocation is synchronous, so the report (made before the hook
    /// returns) is in when it ends, and the function's own timeout bounds
    /// the wait.
    async fn run(&self, hooks: &Hooks, deployment_id: &str) -> Result<(), String> {
        // CodeDeploy invokes a hook with its service role, whose managed
        // policy (AWSCodeDeployRoleForLambda) allows only these names.
        let physical = &self.function.spec.physical_name;
        if !physical.starts_with(HOOK_PREFIX) {
            return Err(format!(
                "CodeDeploy may not invoke {physical}: its role invokes only functions named {HOOK_PREFIX}*"
            ));
        }
        let execution = hooks.open(deployment_id);
        let outcome = (self.function)
            .invoke(serde_json::json!({
                "DeploymentId": deployment_id,
                "LifecycleEventHookExecutionId": execution,
            }))
            .await;
        match (hooks.close(&execution), outcome) {
            (Some(Status::Succeeded), _) => Ok(()),
            (Some(Status::Failed), _) => Err("it reported Failed".to_owned()),
            (None, Err(e)) => Err(format!("it failed without reporting a status: {e}")),
            (None, Ok(_)) => Err("it ended without reporting a status".to_owned()),
        }
    }
}

/// What every target's deployment did, and why they were rolled back if
/// one failed.
pub struct Played {
    pub deployments: Vec<Deployment>,
    pub rolled_back: Option<String>,
}

/// The shares a CodeDeploy configuration shifts to the new version, each
/// held for so many minutes: `CodeDeployDefault.Lambda` followed by
/// `AllAtOnce`, `Canary<P>Percent<M>Minutes` or
/// `Linear<P>PercentEvery<M>Minute(s)`.
pub fn steps(config: &str) -> Result<Vec<(f64, u64)>> {
    let Some(kind) = config.strip_prefix("CodeDeployDefault.Lambda") else {
        bail!(
            "{config}: a custom deployment configuration, which the local cloud does not know; use one of CodeDeploy's predefined ones"
        );
    };
    if kind == "AllAtOnce" {
        return Ok(vec![(1.0, 0)]);
    }
    let number = |s: &str| s.parse::<u64>().ok();
    if let Some((percent, minutes)) = kind
        .strip_prefix("Canary")
        .and_then(|rest| rest.split_once("Percent"))
        && let (Some(p), Some(m)) = (
            number(percent),
            minutes.strip_suffix("Minutes").and_then(number),
        )
    {
        return Ok(vec![(p as f64 / 100.0, m), (1.0, 0)]);
    }
    if let Some((percent, every)) = kind
        .strip_prefix("Linear")
        .and_then(|rest| rest.split_once("PercentEvery"))
        && let (Some(p), Some(m)) = (
            number(percent).filter(|p| (1..=100).contains(p)),
            (every.strip_suffix("Minutes"))
                .or_else(|| every.strip_suffix("Minute"))
                .and_then(number),
        )
    {
        let mut out: Vec<(f64, u64)> = (1..)
            .map(|i| i * p)
            .take_while(|share| *share < 100)
            .map(|share| (share as f64 / 100.0, m))
            .collect();
        out.push((1.0, 0));
        return Ok(out);
    }
    bail!("{config}: not a deployment configuration the local cloud knows")
}

/// Every target's deployment, at once, as CodeDeploy runs a stack's
/// deployment groups in parallel.
pub async fn play(targets: Vec<Target>, minute_ms: u64, hooks: &Hooks) -> Result<Played> {
    // Every configuration is known before any version is staged.
    let plans = (targets.iter())
        .map(|t| steps(&t.preference.config))
        .collect::<Result<Vec<_>>>()?;
    let mut staged = Vec::new();
    for (t, plan) in targets.iter().zip(&plans) {
        let from = t.function.weights().0[0].0;
        match (t.function)
            .stage(t.binary.clone(), t.env.clone(), t.timeout)
            .await
        {
            Ok(to) => staged.push((t, plan, (from, to))),
            Err(e) => {
                // A version that never started leaves none staged behind.
                for (t, ..) in staged {
                    t.function.roll_back().await;
                }
                return Err(e.context(format!("{}: the new version", t.name)));
            }
        }
    }
    let failed = AtomicBool::new(false);
    let runs = (staged.iter())
        .map(|(t, plan, versions)| shift(t, plan, *versions, (minute_ms, hooks), &failed));
    let done = futures_util::future::join_all(runs).await;
    let rolled_back = done.iter().find_map(|(d, _)| d.decided_by.clone());
    let mut deployments = Vec::new();
    for ((t, ..), (mut d, before)) in staged.into_iter().zip(done) {
        let after = if rolled_back.is_some() {
            if d.outcome == "succeeded" {
                d.outcome = "stopped".into();
            }
            t.function.roll_back().await
        } else {
            t.function.promote().await
        };
        d.old_version = ran(&before, &after, d.from_version);
        d.new_version = ran(&before, &after, d.to_version);
        record(t, &d);
        tracing::info!(target: "trail", function = %t.name, version = d.to_version, outcome = %d.outcome, "deployment ended");
        deployments.push(d);
    }
    Ok(Played {
        deployments,
        rolled_back,
    })
}

/// What `version` ran between two readings of the alias's figures.
fn ran(before: &[VersionFigures], after: &[VersionFigures], version: u32) -> Ran {
    let at = |figures: &[VersionFigures]| {
        (figures.iter())
            .find(|f| f.version == version)
            .map(|f| (f.invocations, f.errors))
            .unwrap_or_default()
    };
    let ((i0, e0), (i1, e1)) = (at(before), at(after));
    Ran {
        invocations: i1.saturating_sub(i0),
        errors: e1.saturating_sub(e0),
    }
}

/// One function's traffic shifted step by step, its alarms evaluated
/// every period, until all of it is on the new version (and once more
/// when what that version ran by then has ended), an alarm goes to
/// `ALARM`, or another function's deployment failed (`failed`); after its
/// pre-traffic hook, if it has one, and only if that succeeded, and before
/// its post-traffic hook, if all of the traffic got there; with the
/// alias's figures when it began (what each version ran is counted once
/// the alias settles).
async fn shift(
    t: &Target,
    plan: &[(f64, u64)],
    (from, to): (u32, u32),
    (minute_ms, hooks): (u64, &Hooks),
    failed: &AtomicBool,
) -> (Deployment, Vec<VersionFigures>) {
    // Each alarm's reading before the deployment first (a queue's sends
    // are asked of the emulator), so that the first shift is at 0 ms.
    let mut watches = Vec::new();
    for (alarm, source) in (t.preference.alarms.iter().cloned()).zip(t.sources.iter().cloned()) {
        watches.push(Watch::new(alarm, source, minute_ms).await);
    }
    let started = Instant::now();
    let before = t.function.figures();
    let tick = (watches.iter().map(Watch::period))
        .min()
        .unwrap_or(Duration::from_millis(minute_ms))
        .min(Duration::from_millis(250));
    let mut d = Deployment {
        function: t.name.clone(),
        config: t.preference.config.clone(),
        from_version: from,
        to_version: to,
        shifts: Vec::new(),
        alarms: alarm_states(t, &watches),
        hooks: Vec::new(),
        old_version: Ran::default(),
        new_version: Ran::default(),
        outcome: "in progress".to_owned(),
        decided_by: None,
        ms: 0,
    };
    if let Some(hook) = &t.pre_traffic {
        lifecycle(t, &mut d, hook, PRE_TRAFFIC, hooks).await;
    }
    let plan = if d.decided_by.is_some() {
        &[][..]
    } else {
        plan
    };
    'steps: for &(weight, minutes) in plan {
        t.function.shift(weight);
        let at_ms = started.elapsed().as_millis() as u64;
        d.shifts.push(Shift { at_ms, weight });
        record(t, &d);
        tracing::info!(target: "trail", function = %t.name, version = to, weight, minutes, local_ms = minutes * minute_ms, "traffic shifted");
        let until = Instant::now() + Duration::from_millis(minutes * minute_ms);
        while Instant::now() < until {
            tokio::time::sleep(tick.min(until - Instant::now())).await;
            evaluate(t, &mut watches, &mut d, false).await;
            if d.decided_by.is_some() || failed.load(Ordering::SeqCst) {
                break 'steps;
            }
        }
    }
    if !plan.is_empty() && d.decided_by.is_none() && !failed.load(Ordering::SeqCst) {
        close(t, to, &mut watches, &mut d).await;
    }
    // All of it on the new version, its alarms quiet: the post-traffic
    // hook has the last word, as CodeDeploy's AfterAllowTraffic.
    if let Some(hook) = &t.post_traffic
        && d.decided_by.is_none()
        && !failed.load(Ordering::SeqCst)
    {
        lifecycle(t, &mut d, hook, POST_TRAFFIC, hooks).await;
    }
    if d.decided_by.is_some() {
        failed.store(true, Ordering::SeqCst);
    }
    d.outcome = match (&d.decided_by, failed.load(Ordering::SeqCst)) {
        (Some(_), _) => "rolled back",
        (None, true) => "stopped",
        (None, false) => "succeeded",
    }
    .to_owned();
    d.ms = started.elapsed().as_millis() as u64;
    (d, before)
}

/// The alarms' last datapoint, once what the new version was running
/// when the last step came has ended: on the compressed clock one
/// invocation can outlast a step, and it is counted only when it ends (a
/// bad version whose one event failed just after the last step once went
/// unread and was promoted). Bounded by the version's timeout, which no
/// invocation outlives.
async fn close(t: &Target, version: u32, watches: &mut [Watch], d: &mut Deployment) {
    t.function.outlast_running(version).await;
    evaluate(t, watches, d, true).await;
}

/// Each alarm's datapoint if its period is over (or now, `closing`), and
/// the first in `ALARM` decides the deployment; a changed state recorded.
async fn evaluate(t: &Target, watches: &mut [Watch], d: &mut Deployment, closing: bool) {
    for w in watches.iter_mut() {
        if closing {
            w.close().await;
        } else {
            w.tick().await;
        }
        if w.in_alarm() && d.decided_by.is_none() {
            d.decided_by = Some(format!("alarm {}: {}", w.id(), w.state().reason));
        }
    }
    let states = alarm_states(t, watches);
    if states != d.alarms {
        d.alarms = states;
        record(t, d);
    }
}

/// A lifecycle event: CodeDeploy's name for it, and how the trail and a
/// rollback's reason name its hook.
type Event = (&'static str, &'static str);
const PRE_TRAFFIC: Event = ("BeforeAllowTraffic", "pre-traffic");
const POST_TRAFFIC: Event = ("AfterAllowTraffic", "post-traffic");

/// `hook` run for its lifecycle event, its state recorded as it goes; a
/// failure decides the deployment (a rollback).
async fn lifecycle(t: &Target, d: &mut Deployment, hook: &Hook, event: Event, hooks: &Hooks) {
    let (name, said) = event;
    let deployment_id = crate::hooks::deployment_id();
    d.hooks.push(HookState {
        hook: hook.name.clone(),
        event: name.into(),
        state: "InProgress".into(),
        reason: String::new(),
    });
    record(t, d);
    let outcome = hook.run(hooks, &deployment_id).await;
    let version = d.to_version;
    match outcome {
        Ok(()) => {
            tracing::info!(target: "trail", function = %t.name, version, hook = %hook.name, deployment = %deployment_id, "{said} hook succeeded");
            set_last(d, "Succeeded", String::new());
        }
        Err(why) => {
            tracing::warn!(target: "trail", function = %t.name, version, hook = %hook.name, deployment = %deployment_id, reason = %why, "{said} hook failed");
            d.decided_by = Some(format!("{said} hook {}: {why}", hook.name));
            set_last(d, "Failed", why);
        }
    }
    record(t, d);
}

/// The last hook's outcome.
fn set_last(d: &mut Deployment, state: &str, reason: String) {
    if let Some(h) = d.hooks.last_mut() {
        (h.state, h.reason) = (state.to_owned(), reason);
    }
}

/// Each alarm as it stands, and those the local cloud cannot read.
fn alarm_states(t: &Target, watches: &[Watch]) -> Vec<AlarmState> {
    (watches.iter().map(Watch::state))
        .chain(t.preference.unread_alarms.iter().map(|id| AlarmState {
            alarm: id.clone(),
            state: "NOT_EVALUATED".into(),
            reason: "not an alarm of this stack on one metric".into(),
        }))
        .collect()
}

/// The deployment as it stands, for the console.
fn record(t: &Target, d: &Deployment) {
    if let Some(recorder) = &t.function.spec.recorder {
        recorder.deployment(&devstack_api::telemetry::DeploymentSeen {
            at_ms: devstack_api::telemetry::now_ms(),
            deployment: d.clone(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::steps;

    #[test]
    fn codedeploys_configurations_are_their_steps() {
        assert_eq!(
            steps("CodeDeployDefault.LambdaAllAtOnce").unwrap(),
            [(1.0, 0)]
        );
        assert_eq!(
            steps("CodeDeployDefault.LambdaCanary10Percent5Minutes").unwrap(),
            [(0.1, 5), (1.0, 0)]
        );
        let linear = steps("CodeDeployDefault.LambdaLinear10PercentEvery1Minute").unwrap();
        assert_eq!(linear.len(), 10);
        assert_eq!(linear[0], (0.1, 1));
        assert_eq!(linear[8], (0.9, 1));
        assert_eq!(linear[9], (1.0, 0));
        assert_eq!(
            steps("CodeDeployDefault.LambdaLinear30PercentEvery2Minutes").unwrap(),
            [(0.3, 2), (0.6, 2), (0.9, 2), (1.0, 0)]
        );
        let custom = steps("OurOwnConfig").unwrap_err().to_string();
        assert!(
            custom.contains("custom deployment configuration"),
            "{custom}"
        );
        assert!(steps("CodeDeployDefault.LambdaCanaryPercent").is_err());
    }
}
