//! can-i-deploy for the bus: may this service, as built at HEAD, replace
//! the deployed one next to the other services as they are deployed now?
//!
//! Every deployed stack carries `service` and `commit` tags. For each event
//! the service would publish, its schema at HEAD must be readable by each
//! deployed consumer as that consumer was built (the schema at the
//! consumer's commit: FORWARD); for each event it consumes, HEAD must read
//! what each deployed producer sends (the schema at the producer's commit:
//! BACKWARD). Who publishes and consumes what at a commit comes from that
//! commit's AsyncAPI document, so old commits need no compiling.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use compat::{Mode, Policy};

/// A stack as deployed: from `ops stacks --json`.
pub use declarations::carried::Stack as Deployed;

/// One event version: source, detail-type, version.
pub type Key = (String, String, u32);

/// What each service sends and receives at one commit.
#[derive(Debug, Default, Clone)]
pub struct Roles {
    pub sends: BTreeMap<String, BTreeSet<Key>>,
    pub receives: BTreeMap<String, BTreeSet<Key>>,
}

/// One producer–consumer pair that would break.
#[derive(Debug)]
pub struct Break {
    pub producer: String,
    pub producer_commit: String,
    pub consumer: String,
    pub consumer_commit: String,
    pub event: String,
    /// Each difference, with its path in the event.
    pub findings: Vec<String>,
}

impl std::fmt::Display for Break {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} ({}) → {} ({}): {}",
            self.producer,
            short(&self.producer_commit),
            self.consumer,
            short(&self.consumer_commit),
            self.event
        )?;
        for finding in &self.findings {
            writeln!(f, "    {finding}")?;
        }
        Ok(())
    }
}

fn short(commit: &str) -> &str {
    &commit[..commit.len().min(12)]
}

/// The roles at `rev`, read from its `events/asyncapi.json`.
pub fn roles_at(repo: &Path, rev: &str) -> Result<Roles> {
    let (file, text) = crate::folders::asyncapi_at(repo, rev)?;
    let doc: Value =
        serde_json::from_str(&text).with_context(|| format!("{file} at {rev} is not JSON"))?;
    roles(&doc)
}

pub fn roles(doc: &Value) -> Result<Roles> {
    let mut out = Roles::default();
    for (id, op) in doc["operations"].as_object().into_iter().flatten() {
        let service = id.split('.').next().unwrap_or_default().to_owned();
        let side = match op["action"].as_str() {
            Some("send") => out.sends.entry(service).or_default(),
            Some("receive") => out.receives.entry(service).or_default(),
            other => bail!("operation {id}: unknown action {other:?}"),
        };
        for m in op["messages"].as_array().into_iter().flatten() {
            let reference = m["$ref"].as_str().unwrap_or_default();
            // #/channels/<channel>/messages/<Name>V<n>
            let parts: Vec<&str> = reference.split('/').collect();
            let [_, "channels", channel, "messages", message] = parts[..] else {
                bail!("operation {id}: unexpected message reference {reference:?}");
            };
            let address = doc["channels"][channel]["address"]
                .as_str()
                .with_context(|| format!("channel {channel} has no address"))?;
            let (source, detail_type) = address.split_once('/').with_context(|| {
                format!("channel address {address:?} is not source/detail-type")
            })?;
            let version = message
                .rsplit_once('V')
                .and_then(|(_, n)| n.parse().ok())
                .with_context(|| format!("message {message:?} names no version"))?;
            side.insert((source.to_owned(), detail_type.to_owned(), version));
        }
    }
    Ok(out)
}

fn schema_at(repo: &Path, rev: &str, key: &Key) -> Result<Option<Value>> {
    let key = format!("{}/{}/v{}.json", key.0, key.1, key.2);
    crate::folders::schema_at(repo, rev, &key)?
        .map(|(file, text)| {
            serde_json::from_str(&text).with_context(|| format!("{file} at {rev} is not JSON"))
        })
        .transpose()
}

fn label(key: &Key) -> String {
    format!("{}/{} v{}", key.0, key.1, key.2)
}

/// The commit a tag names, as git can read it: a deploy from a work tree
/// with changes is tagged `<sha>-dirty`, and is judged by its commit.
pub fn readable(commit: &str) -> &str {
    commit.strip_suffix("-dirty").unwrap_or(commit)
}

/// Every pair that would break if `service` at `head` replaced the deployed
/// one. The service's own deployed stack is not a partner.
pub fn check(repo: &Path, service: &str, head: &str, deployed: &[Deployed]) -> Result<Vec<Break>> {
    let mine = roles_at(repo, head)?;
    let sends = mine.sends.get(service).cloned().unwrap_or_default();
    let receives = mine.receives.get(service).cloned().unwrap_or_default();
    let mut breaks = Vec::new();
    // Stacks with no place on the bus (the platform) have nothing to break.
    let on_the_bus = |name: &str| mine.sends.contains_key(name) || mine.receives.contains_key(name);
    for other in deployed
        .iter()
        .filter(|d| d.service != service && on_the_bus(&d.service))
    {
        let rev = readable(&other.commit);
        let theirs = roles_at(repo, rev).with_context(|| {
            format!(
                "{} is deployed at {}, which this clone cannot read (fetch it)",
                other.service, other.commit
            )
        })?;
        // What I publish, read by what they were built to read.
        for key in theirs.receives.get(&other.service).into_iter().flatten() {
            let published_then = theirs.sends.get(service).is_some_and(|s| s.contains(key));
            if !sends.contains(key) && !published_then {
                continue; // not my event
            }
            let findings = if sends.contains(key) {
                let Some(old) = schema_at(repo, rev, key)? else {
                    continue;
                };
                let new = schema_at(repo, head, key)?
                    .with_context(|| format!("{} has no schema at {head}", label(key)))?;
                compat::compare(&old, &new, Mode::Forward, Policy::Lenient)
                    .with_context(|| format!("comparing {}", label(key)))?
                    .iter()
                    .map(ToString::to_string)
                    .collect()
            } else {
                vec![format!(
                    "{} is no longer published, and the deployed consumer reads it",
                    label(key)
                )]
            };
            if !findings.is_empty() {
                breaks.push(Break {
                    producer: service.to_owned(),
                    producer_commit: head.to_owned(),
                    consumer: other.service.clone(),
                    consumer_commit: other.commit.clone(),
                    event: label(key),
                    findings,
                });
            }
        }
        // What they publish, read by what I am built to read.
        for key in theirs.sends.get(&other.service).into_iter().flatten() {
            if !receives.contains(key) {
                continue;
            }
            let Some(old) = schema_at(repo, rev, key)? else {
                continue;
            };
            let new = schema_at(repo, head, key)?
                .with_context(|| format!("{} has no schema at {head}", label(key)))?;
            let findings: Vec<String> =
                compat::compare(&old, &new, Mode::Backward, Policy::Lenient)
                    .with_context(|| format!("comparing {}", label(key)))?
                    .iter()
                    .map(ToString::to_string)
                    .collect();
            if !findings.is_empty() {
                breaks.push(Break {
                    producer: other.service.clone(),
                    producer_commit: other.commit.clone(),
                    consumer: service.to_owned(),
                    consumer_commit: head.to_owned(),
                    event: label(key),
                    findings,
                });
            }
        }
    }
    Ok(breaks)
}

/// The deployed stacks, as `ops stacks --json` prints them.
pub fn parse_stacks(json: &str) -> Result<Vec<Deployed>> {
    serde_json::from_str(json).context("ops stacks --json printed no list of stacks")
}
