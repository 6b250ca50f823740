//! Replaying the bus's archive: a time window, aimed at the whole bus, at
//! one rule, or at one service's consumers (`Destination.FilterArns`
//! names their rules, so no other rule sees the replay). A dry run
//! replays into a tap instead and counts what each rule would receive.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use aws_config::SdkConfig;
use aws_sdk_eventbridge::types::{ReplayDestination, ReplayState};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use crate::contracts::{Contracts, Kind};
use crate::tap::Tap;
use crate::targets::Targets;
use event_pattern::Pattern;

/// Where a replay goes.
#[derive(Debug, Clone)]
pub enum Aim {
    /// Every rule on the bus but taps and managed rules (an archive's own
    /// rule is managed, and matches no replayed event anyway).
    Bus,
    /// One rule, by name.
    Rule(String),
    /// Every rule whose target is one of the service's functions.
    Consumer(String),
}

/// A rule a replay can reach, and whose it is.
#[derive(Debug, Clone, Serialize)]
pub struct Receiver {
    pub rule: String,
    pub rule_arn: String,
    pub service: Option<String>,
    pub function: Option<String>,
    pub pattern: Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct Archive {
    pub name: String,
    pub arn: String,
    pub bus_arn: String,
    pub retention_days: Option<i32>,
}

/// The bus's archive: the one named, or the only one.
pub async fn archive(
    eb: &aws_sdk_eventbridge::Client,
    bus: &str,
    name: Option<&str>,
) -> Result<Archive> {
    let bus_arn = eb
        .describe_event_bus()
        .name(bus)
        .send()
        .await
        .with_context(|| format!("describing the bus {bus}"))?
        .arn
        .context("the bus has no ARN")?;
    let listed = eb
        .list_archives()
        .event_source_arn(&bus_arn)
        .send()
        .await
        .context("listing the bus's archives")?
        .archives
        .unwrap_or_default();
    let found: Vec<_> = listed
        .iter()
        .filter(|a| name.is_none_or(|n| a.archive_name() == Some(n)))
        .collect();
    let [only] = found.as_slice() else {
        let names: Vec<_> = listed.iter().filter_map(|a| a.archive_name()).collect();
        bail!(
            "{} archive on {bus} (there: {}); name one with --archive",
            if found.is_empty() {
                "no such"
            } else {
                "more than one"
            },
            names.join(", ")
        );
    };
    let name = only.archive_name().unwrap_or_default().to_owned();
    let arn = eb
        .describe_archive()
        .archive_name(&name)
        .send()
        .await
        .context("describing the archive")?
        .archive_arn
        .context("the archive has no ARN")?;
    Ok(Archive {
        name,
        arn,
        bus_arn,
        retention_days: only.retention_days,
    })
}

/// The rules a replay aimed so would reach.
pub async fn receivers(t: &Targets, aim: &Aim) -> Result<Vec<Receiver>> {
    let eb = aws_sdk_eventbridge::Client::new(&t.conf);
    let mut all = Vec::new();
    let mut next = None;
    loop {
        let page = eb
            .list_rules()
            .event_bus_name(&t.bus_name)
            .set_next_token(next)
            .send()
            .await
            .context("listing the bus's rules")?;
        for rule in page.rules.unwrap_or_default() {
            let name = rule.name().unwrap_or_default();
            if rule.managed_by().is_some() || name.starts_with(crate::tap::PREFIX) {
                continue;
            }
            all.push(receiver(t, &rule));
        }
        next = page.next_token;
        if next.is_none() {
            break;
        }
    }
    let chosen: Vec<Receiver> = match aim {
        Aim::Bus => all,
        Aim::Rule(name) => all.into_iter().filter(|r| &r.rule == name).collect(),
        Aim::Consumer(service) => {
            t.service(service)?;
            all.into_iter()
                .filter(|r| r.service.as_deref() == Some(service))
                .collect()
        }
    };
    if chosen.is_empty() {
        bail!("no rule on {} matches {aim:?}", t.bus_name);
    }
    Ok(chosen)
}

fn receiver(t: &Targets, rule: &aws_sdk_eventbridge::types::Rule) -> Receiver {
    let name = rule.name().unwrap_or_default().to_owned();
    // A team's subscription brings events to each of its consumers.
    let owner = t.services.values().find_map(|s| {
        let functions: std::collections::BTreeSet<&str> = (s.consumers.iter())
            .filter(|c| c.rule.as_deref() == Some(name.as_str()))
            .map(|c| c.function.as_str())
            .collect();
        let listed = functions.into_iter().collect::<Vec<_>>().join(", ");
        (!listed.is_empty()).then(|| (s.name.clone(), listed))
    });
    Receiver {
        rule: name,
        rule_arn: rule.arn().unwrap_or_default().to_owned(),
        service: owner.as_ref().map(|o| o.0.clone()),
        function: owner.map(|o| o.1),
        pattern: rule
            .event_pattern()
            .and_then(|p| serde_json::from_str(p).ok())
            .unwrap_or(Value::Null),
    }
}

/// The kinds a filter names, when it names them exactly: `source` and
/// `detail-type` arrays of plain strings. `None` when the filter says
/// nothing about them (everything the rules match goes).
pub fn kinds_of(filter: &Value) -> Option<Vec<Kind>> {
    let strings = |v: &Value| -> Option<Vec<String>> {
        v.as_array()?
            .iter()
            .map(|s| s.as_str().map(str::to_owned))
            .collect()
    };
    let sources = strings(&filter["source"])?;
    let types = strings(&filter["detail-type"])?;
    Some(
        sources
            .iter()
            .flat_map(|s| {
                types.iter().map(move |d| Kind {
                    source: s.clone(),
                    detail_type: d.clone(),
                })
            })
            .collect(),
    )
}

/// Refuses a replay to a service's consumer of kinds its contracts do not
/// declare it consumes: its handler would meet events it never agreed to
/// read. With no kinds named, the consumer's own rules decide.
pub fn check_declared(
    contracts: &Contracts,
    receivers: &[Receiver],
    kinds: Option<&[Kind]>,
) -> Result<()> {
    let Some(kinds) = kinds else {
        return Ok(());
    };
    for service in receivers.iter().filter_map(|r| r.service.as_deref()) {
        let declared = contracts.consumed_by(service);
        let undeclared: Vec<String> = kinds
            .iter()
            .filter(|k| !declared.contains(k))
            .map(ToString::to_string)
            .collect();
        if !undeclared.is_empty() {
            bail!(
                "the contracts do not declare that {service} consumes {}; --force replays anyway",
                undeclared.join(", ")
            );
        }
    }
    Ok(())
}

/// A window and where to send it.
#[derive(Debug, Clone)]
pub struct Plan {
    pub name: String,
    pub archive: Archive,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Empty: every rule on the bus.
    pub filter_arns: Vec<String>,
}

pub fn replay_name() -> String {
    format!("ops-{}", Utc::now().format("%Y%m%dT%H%M%S%3f"))
}

pub async fn start(eb: &aws_sdk_eventbridge::Client, plan: &Plan) -> Result<String> {
    let destination = ReplayDestination::builder()
        .arn(&plan.archive.bus_arn)
        .set_filter_arns((!plan.filter_arns.is_empty()).then(|| plan.filter_arns.clone()))
        .build()?;
    let out = eb
        .start_replay()
        .replay_name(&plan.name)
        .event_source_arn(&plan.archive.arn)
        .event_start_time(to_smithy(plan.from))
        .event_end_time(to_smithy(plan.to))
        .destination(destination)
        .send()
        .await
        .with_context(|| format!("starting the replay {}", plan.name))?;
    Ok(out.replay_arn.unwrap_or_default())
}

fn to_smithy(t: DateTime<Utc>) -> aws_smithy_types::DateTime {
    aws_smithy_types::DateTime::from_millis(t.timestamp_millis())
}

fn from_smithy(t: &aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(t.to_millis().ok()?)
}

/// A replay as DescribeReplay tells it.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub name: String,
    pub state: String,
    pub reason: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub last_replayed: Option<DateTime<Utc>>,
    /// How far through the window the last replayed event is, 0 to 1.
    pub progress: Option<f64>,
}

impl Status {
    pub fn finished(&self) -> bool {
        matches!(self.state.as_str(), "COMPLETED" | "CANCELLED" | "FAILED")
    }

    pub fn succeeded(&self) -> bool {
        self.state == "COMPLETED"
    }
}

pub async fn status(eb: &aws_sdk_eventbridge::Client, name: &str) -> Result<Status> {
    let d = eb
        .describe_replay()
        .replay_name(name)
        .send()
        .await
        .with_context(|| format!("describing the replay {name}"))?;
    let from = d.event_start_time().and_then(from_smithy);
    let to = d.event_end_time().and_then(from_smithy);
    let last_replayed = d.event_last_replayed_time().and_then(from_smithy);
    let state = d.state().map_or("UNKNOWN", ReplayState::as_str).to_owned();
    let progress = match (from, to, last_replayed) {
        _ if state == "COMPLETED" => Some(1.0),
        (Some(f), Some(t), Some(l)) if t > f => Some(
            ((l - f).num_milliseconds() as f64 / (t - f).num_milliseconds() as f64).clamp(0.0, 1.0),
        ),
        _ => None,
    };
    Ok(Status {
        name: name.to_owned(),
        state,
        reason: d.state_reason().map(str::to_owned),
        from,
        to,
        last_replayed,
        progress,
    })
}

/// Polls until the replay ends, telling `progress` each state seen and
/// renewing the leases of `borrowed` (a filtered replay's rule copies)
/// between polls.
pub async fn wait(
    eb: &aws_sdk_eventbridge::Client,
    name: &str,
    mut progress: impl FnMut(&Status),
    borrowed: &mut [crate::tap::Borrowed],
) -> Result<Status> {
    let mut pause = Duration::from_millis(100);
    loop {
        let s = status(eb, name).await?;
        progress(&s);
        if s.finished() {
            return Ok(s);
        }
        for b in borrowed.iter_mut() {
            b.keep_alive().await?;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

pub async fn cancel(eb: &aws_sdk_eventbridge::Client, name: &str) -> Result<String> {
    let out = eb
        .cancel_replay()
        .replay_name(name)
        .send()
        .await
        .with_context(|| format!("cancelling the replay {name}"))?;
    Ok(out
        .state()
        .map_or("UNKNOWN", ReplayState::as_str)
        .to_owned())
}

/// What a dry run found: the window's events (those the filter keeps),
/// and how many of them each rule would receive.
#[derive(Debug, Clone, Serialize)]
pub struct DryRun {
    pub replay: String,
    pub events: usize,
    pub by_rule: Vec<(Receiver, usize)>,
}

/// How a dry run's tap behaves.
#[derive(Debug, Clone, Copy)]
pub struct Capture {
    /// The tap's lease (see `tap`).
    pub lease: Duration,
    /// How long the tap must stay quiet once the replay has ended.
    pub settle: Duration,
}

/// Replays the window into a tap that only this replay's events match
/// (`replay-name`), with `FilterArns` naming the tap alone: no rule of
/// the bus sees anything. The tap is removed when the count is done, and
/// also when `stop` resolves first (the replay is cancelled then).
pub async fn dry_run(
    conf: &SdkConfig,
    bus: &str,
    plan: &Plan,
    filter: Option<&Value>,
    receivers: Vec<Receiver>,
    capture: Capture,
    stop: impl Future<Output = ()>,
) -> Result<DryRun> {
    let pattern = with_replay_name(filter, &plan.name)?;
    let mut tap = Tap::open(conf, bus, &pattern, "replay dry run", capture.lease).await?;
    let counted = tokio::select! {
        counted = count_into(&mut tap, conf, plan, &receivers, capture.settle) => counted,
        () = stop => {
            let eb = aws_sdk_eventbridge::Client::new(conf);
            cancel(&eb, &plan.name).await.ok();
            Err(anyhow::anyhow!("interrupted; the replay into the tap is cancelled"))
        }
    };
    let closed = tap.close().await;
    let (events, counts) = counted?;
    closed?;
    Ok(DryRun {
        replay: plan.name.clone(),
        events,
        by_rule: receivers.into_iter().zip(counts).collect(),
    })
}

async fn count_into(
    tap: &mut Tap,
    conf: &SdkConfig,
    plan: &Plan,
    receivers: &[Receiver],
    settle: Duration,
) -> Result<(usize, Vec<usize>)> {
    let eb = aws_sdk_eventbridge::Client::new(conf);
    let mut plan = plan.clone();
    plan.filter_arns = vec![tap.rule_arn.clone()];
    start(&eb, &plan).await?;
    let patterns: Vec<Option<Pattern>> = receivers
        .iter()
        .map(|r| Pattern::parse(&r.pattern).ok())
        .collect();
    let mut counts = vec![0; receivers.len()];
    let mut events = 0;
    let mut quiet_since = None;
    loop {
        let got = tap.receive(Duration::from_secs(1)).await?;
        for event in &got {
            events += 1;
            for (n, p) in counts.iter_mut().zip(&patterns) {
                *n += usize::from(p.as_ref().is_some_and(|p| p.matches(event)));
            }
        }
        tap.keep_alive("replay dry run").await?;
        if !got.is_empty() {
            quiet_since = None;
        } else if status(&eb, &plan.name).await?.finished() {
            let since = *quiet_since.get_or_insert_with(std::time::Instant::now);
            if since.elapsed() >= settle {
                return Ok((events, counts));
            }
        }
    }
}

/// Both patterns at once (EventBridge has no AND of two patterns): their
/// fields merged, nested objects merged in turn, and a field both name
/// kept to the values both allow, when both list plain values. Anything
/// else both constrain is refused by name rather than guessed at.
pub fn both(a: &Value, b: &Value) -> Result<Value> {
    both_at(a, b, "")
}

fn both_at(a: &Value, b: &Value, path: &str) -> Result<Value> {
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        bail!("{}: both patterns constrain it differently", shown(path));
    };
    let mut out = a.clone();
    for (key, theirs) in b {
        let at = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        let merged = match out.get(key) {
            None => theirs.clone(),
            Some(ours) if ours.is_object() && theirs.is_object() && key != "$or" => {
                both_at(ours, theirs, &at)?
            }
            Some(ours) => common_values(ours, theirs, &at)?,
        };
        out.insert(key.clone(), merged);
    }
    Ok(Value::Object(out))
}

fn common_values(a: &Value, b: &Value, path: &str) -> Result<Value> {
    let (Some(a), Some(b)) = (plain_values(a), plain_values(b)) else {
        bail!(
            "{path}: the filter and the rule both constrain it with more than plain values; narrow one of them"
        );
    };
    let common: Vec<Value> = a.iter().filter(|x| b.contains(x)).cloned().collect();
    if common.is_empty() {
        bail!("{path}: no value satisfies both the filter and the rule: nothing would be replayed");
    }
    Ok(Value::Array(common))
}

fn plain_values(v: &Value) -> Option<&Vec<Value>> {
    v.as_array()
        .filter(|xs| xs.iter().all(|x| !x.is_object() && !x.is_array()))
}

fn shown(path: &str) -> &str {
    if path.is_empty() { "the pattern" } else { path }
}

/// A replay narrowed by `filter`: for each receiver, a borrowed rule (see
/// `tap::Borrowed`) whose pattern is the receiver's and the filter's and
/// this replay's name, pointing at the receiver's own targets; the replay
/// names those rules alone. They go when the replay ends, or when `stop`
/// resolves (the replay is cancelled then).
pub async fn replay_narrowed(
    conf: &SdkConfig,
    bus: &str,
    plan: &Plan,
    receivers: &[Receiver],
    filter: &Value,
    lease: Duration,
    stop: impl Future<Output = ()>,
) -> Result<Status> {
    let mut borrowed = Vec::new();
    let opened = borrow_all(conf, bus, plan, receivers, filter, lease, &mut borrowed).await;
    let outcome = match opened {
        Ok(()) => {
            let mut plan = plan.clone();
            plan.filter_arns = borrowed.iter().map(|b| b.arn.clone()).collect();
            tokio::select! {
                s = start_and_wait(conf, &plan, &mut borrowed) => s,
                () = stop => {
                    let eb = aws_sdk_eventbridge::Client::new(conf);
                    cancel(&eb, &plan.name).await.ok();
                    status(&eb, &plan.name).await
                }
            }
        }
        Err(e) => Err(e),
    };
    for b in borrowed {
        b.close().await?;
    }
    outcome
}

async fn borrow_all(
    conf: &SdkConfig,
    bus: &str,
    plan: &Plan,
    receivers: &[Receiver],
    filter: &Value,
    lease: Duration,
    out: &mut Vec<crate::tap::Borrowed>,
) -> Result<()> {
    let eb = aws_sdk_eventbridge::Client::new(conf);
    for r in receivers {
        let pattern = with_replay_name(Some(&both(&r.pattern, filter)?), &plan.name)?;
        let targets = eb
            .list_targets_by_rule()
            .rule(&r.rule)
            .event_bus_name(bus)
            .send()
            .await
            .with_context(|| format!("listing the targets of {}", r.rule))?
            .targets
            .unwrap_or_default();
        let purpose = format!("replay {} for {}", plan.name, r.rule);
        out.push(crate::tap::Borrowed::open(conf, bus, &pattern, targets, &purpose, lease).await?);
    }
    Ok(())
}

async fn start_and_wait(
    conf: &SdkConfig,
    plan: &Plan,
    borrowed: &mut [crate::tap::Borrowed],
) -> Result<Status> {
    let eb = aws_sdk_eventbridge::Client::new(conf);
    start(&eb, plan).await?;
    wait(&eb, &plan.name, |_| {}, borrowed).await
}

/// The filter, narrowed to one replay's events.
fn with_replay_name(filter: Option<&Value>, name: &str) -> Result<Value> {
    let mut pattern = filter.cloned().unwrap_or_else(|| json!({}));
    let Some(fields) = pattern.as_object_mut() else {
        bail!("the event pattern must be a JSON object");
    };
    fields.insert("replay-name".into(), json!([name]));
    Pattern::parse(&pattern).context("the event pattern")?;
    Ok(pattern)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receiver(service: &str) -> Receiver {
        Receiver {
            rule: "r".into(),
            rule_arn: "arn".into(),
            service: Some(service.into()),
            function: None,
            pattern: json!({}),
        }
    }

    #[test]
    fn kinds_are_named_only_by_exact_source_and_detail_type() {
        let k = kinds_of(
            &json!({"source": ["app.users"], "detail-type": ["UserRegistered", "UserDeleted"]}),
        )
        .unwrap();
        assert_eq!(k.len(), 2);
        assert_eq!(k[1].to_string(), "app.users UserDeleted");
        assert!(kinds_of(&json!({"source": ["app.users"]})).is_none());
        assert!(kinds_of(&json!({"source": [{"prefix": "app."}], "detail-type": ["X"]})).is_none());
    }

    #[test]
    fn a_replay_of_undeclared_events_to_a_consumer_is_refused() {
        let c = Contracts::built_in();
        let registered =
            kinds_of(&json!({"source": ["app.users"], "detail-type": ["UserRegistered"]})).unwrap();
        let completed =
            kinds_of(&json!({"source": ["app.todos"], "detail-type": ["TodoCompleted"]})).unwrap();
        assert!(check_declared(&c, &[receiver("campaigns")], Some(&registered)).is_ok());
        let err = check_declared(&c, &[receiver("campaigns")], Some(&completed)).unwrap_err();
        assert!(
            err.to_string()
                .contains("campaigns consumes app.todos TodoCompleted"),
            "{err}"
        );
        assert!(check_declared(&c, &[receiver("campaigns")], None).is_ok());
    }

    #[test]
    fn two_patterns_are_merged_and_a_shared_field_keeps_the_common_values() {
        let rule = json!({"source": ["app.users"], "detail-type": ["UserRegistered", "UserDeleted"], "detail": {"metadata": {"schema_version": [1]}}});
        let filter = json!({"detail-type": ["UserDeleted", "TodoCompleted"], "detail": {"data": {"user_id": [{"prefix": "a"}]}}});
        assert_eq!(
            both(&rule, &filter).unwrap(),
            json!({"source": ["app.users"], "detail-type": ["UserDeleted"], "detail": {"metadata": {"schema_version": [1]}, "data": {"user_id": [{"prefix": "a"}]}}})
        );
        let disjoint = both(&rule, &json!({"detail-type": ["TodoCompleted"]})).unwrap_err();
        assert!(
            disjoint
                .to_string()
                .contains("detail-type: no value satisfies both"),
            "{disjoint}"
        );
        let operators = both(&rule, &json!({"source": [{"prefix": "app."}]})).unwrap_err();
        assert!(
            operators
                .to_string()
                .contains("source: the filter and the rule both constrain it"),
            "{operators}"
        );
    }

    #[test]
    fn the_dry_run_pattern_keeps_the_filter_and_adds_the_replay() {
        let p = with_replay_name(Some(&json!({"source": ["app.users"]})), "ops-1").unwrap();
        assert_eq!(
            p,
            json!({"source": ["app.users"], "replay-name": ["ops-1"]})
        );
        assert!(with_replay_name(Some(&json!(["x"])), "ops-1").is_err());
    }
}
