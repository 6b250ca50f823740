//! The contract changes in a revision range, read from git alone: which
//! events' schemas or roles changed between `base` and `head`, with their
//! producer, consumers (each with its rule from its template at `head`,
//! judged by `rules`), declared mode and both schemas: the input of the
//! plan (`plan`). Nothing here compiles an old commit: who publishes and
//! consumes what, and each version's mode, come from each revision's
//! AsyncAPI document.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result, bail};
use compat::Mode;
use serde_json::Value;

use crate::can_i_deploy::{Key, Roles, roles};
use crate::plan::{Change, Consumer, Subject};
use crate::rules::{self, Verdict};

/// The revisions a plan compares, as given and as resolved.
#[derive(Debug, Clone)]
pub struct Range {
    pub base: String,
    pub head: String,
}

impl Range {
    /// `base..head`, each checked to be a commit; without `base`, the merge
    /// base of `head` with `origin/main`, else `main`.
    pub fn resolve(repo: &Path, base: Option<&str>, head: &str) -> Result<Self> {
        let commit = |rev: &str| -> Result<String> {
            let spec = format!("{rev}^{{commit}}");
            repo::git::run(repo, &["rev-parse", "--verify", "--quiet", &spec])
                .ok()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .with_context(|| format!("{rev}: no such revision in {}", repo.display()))
        };
        let head = commit(head)?;
        let base = match base {
            Some(b) => commit(b)?,
            None => ["origin/main", "main"]
                .iter()
                .find_map(|m| repo::git::run(repo, &["merge-base", m, &head]).ok())
                .map(|s| s.trim().to_owned())
                .context("no merge base with origin/main or main: pass --base")?,
        };
        Ok(Self { base, head })
    }
}

/// What one revision says about the bus.
struct At {
    rev: String,
    roles: Roles,
    modes: BTreeMap<Key, Mode>,
    /// Every committed schema version: (source, detail-type) → versions.
    versions: BTreeMap<(String, String), BTreeSet<u32>>,
}

impl At {
    fn read(repo: &Path, rev: &str) -> Result<Self> {
        let (file, text) = crate::folders::asyncapi_at(repo, rev)?;
        let doc: Value =
            serde_json::from_str(&text).with_context(|| format!("{file} at {rev}: not JSON"))?;
        let roles = roles(&doc).with_context(|| format!("{file} at {rev}"))?;
        let mut modes = BTreeMap::new();
        for (name, m) in doc["components"]["messages"]
            .as_object()
            .into_iter()
            .flatten()
        {
            let eb = &m["x-eventbridge"];
            let key = (
                eb["source"].as_str().unwrap_or_default().to_owned(),
                eb["detail-type"].as_str().unwrap_or_default().to_owned(),
                eb["schema-version"].as_u64().unwrap_or_default() as u32,
            );
            let mode = match eb["compatibility"].as_str() {
                Some("BACKWARD") => Mode::Backward,
                Some("FORWARD") => Mode::Forward,
                Some("FULL") => Mode::Full,
                other => bail!("{file} at {rev}: message {name} has compatibility {other:?}"),
            };
            modes.insert(key, mode);
        }
        let ls = ["ls-tree", "-r", "--name-only", rev, "--"];
        let listing = repo::git::run(repo, &[&ls[..], repo::paths::SCHEMAS_EVER].concat())?;
        let mut versions: BTreeMap<(String, String), BTreeSet<u32>> = BTreeMap::new();
        for path in listing.lines() {
            if let Some((source, dt, v)) = schema_path(path) {
                versions.entry((source, dt)).or_default().insert(v);
            }
        }
        Ok(Self {
            rev: rev.to_owned(),
            roles,
            modes,
            versions,
        })
    }

    fn schema(&self, repo: &Path, (source, dt): &(String, String), v: u32) -> Result<Value> {
        let key = format!("{source}/{dt}/v{v}.json");
        let (file, text) = crate::folders::schema_at(repo, &self.rev, &key)?
            .with_context(|| format!("{key}: not in {}", self.rev))?;
        serde_json::from_str(&text).with_context(|| format!("{file} at {}: not JSON", self.rev))
    }

    /// Every (service, publishes?, version) of `event`.
    fn roles_of(&self, event: &Event) -> Vec<(String, bool, u32)> {
        let mut out = Vec::new();
        for (sends, side) in [(true, &self.roles.sends), (false, &self.roles.receives)] {
            for (service, keys) in side {
                for k in keys.iter().filter(|k| (&k.0, &k.1) == (&event.0, &event.1)) {
                    out.push((service.clone(), sends, k.2));
                }
            }
        }
        out
    }

    /// Who publishes, and who consumes, any version of `event`.
    fn parties(&self, event: &Event) -> (BTreeSet<String>, BTreeSet<String>) {
        let (mut sends, mut receives) = (BTreeSet::new(), BTreeSet::new());
        for (service, publishes, _) in self.roles_of(event) {
            if publishes { &mut sends } else { &mut receives }.insert(service);
        }
        (sends, receives)
    }

    /// The versions of `event` `service` consumes.
    fn consumed(&self, service: &str, event: &Event) -> BTreeSet<u32> {
        (self.roles_of(event).into_iter())
            .filter(|(s, publishes, _)| s == service && !publishes)
            .map(|(_, _, v)| v)
            .collect()
    }
}

/// A committed schema's parts (source, detail-type, version), from its path.
fn schema_path(path: &str) -> Option<(String, String, u32)> {
    let key = repo::paths::schema_key(path)?;
    let [source, dt, file] = key.split('/').collect::<Vec<_>>()[..] else {
        return None;
    };
    let v = file
        .strip_prefix('v')?
        .strip_suffix(".json")?
        .parse()
        .ok()?;
    Some((source.to_owned(), dt.to_owned(), v))
}

/// An event: its source and detail-type.
type Event = (String, String);

/// Every event whose contract changes in `range`, as plan input. Consumers'
/// rules are read from their templates at `head`, translated by `translate`
/// (SAM to CloudFormation).
pub fn read(
    repo: &Path,
    range: &Range,
    translate: &mut dyn FnMut(&str, &str) -> Result<Value>,
) -> Result<Vec<Change>> {
    let mut reader = Reader {
        repo,
        base: At::read(repo, &range.base)?,
        head: At::read(repo, &range.head)?,
        templates: BTreeMap::new(),
        translate,
    };
    let diff = ["diff", "--name-only", &range.base, &range.head, "--"];
    let diff = repo::git::run(repo, &[&diff[..], repo::paths::SCHEMAS_EVER].concat())?;
    // A schema that only moved (between the layouts `repo::paths` lists) is
    // not an edit.
    let mut edited: BTreeSet<(String, String, u32)> = BTreeSet::new();
    for (source, dt, v) in diff.lines().filter_map(schema_path) {
        let key = format!("{source}/{dt}/v{v}.json");
        let text = |rev: &str| crate::folders::schema_at(repo, rev, &key).map(|f| f.map(|f| f.1));
        if text(&range.base)? != text(&range.head)? {
            edited.insert((source, dt, v));
        }
    }
    let mut changes = Vec::new();
    for event in reader.touched(&edited) {
        for (from, to) in reader.pairs(&event, &edited) {
            changes.push(reader.change(&event, (from, to))?);
        }
    }
    Ok(changes)
}

struct Reader<'a> {
    repo: &'a Path,
    base: At,
    head: At,
    /// Each consumer's template at `head`, translated once.
    templates: BTreeMap<String, Value>,
    translate: &'a mut dyn FnMut(&str, &str) -> Result<Value>,
}

impl Reader<'_> {
    /// Events with an edited schema, or whose publishers or consumers (at
    /// any version) differ between the two revisions.
    fn touched(&self, edited: &BTreeSet<(String, String, u32)>) -> BTreeSet<Event> {
        let mut out: BTreeSet<Event> = (edited.iter())
            .map(|(s, d, _)| (s.clone(), d.clone()))
            .collect();
        for event in (self.base.versions.keys()).chain(self.head.versions.keys()) {
            if self.base.roles_of(event) != self.head.roles_of(event) {
                out.insert(event.clone());
            }
        }
        out
    }

    /// The version pairs to plan for: a version added is a migration from
    /// the one before it; else each version edited in place; else (only
    /// roles moved) the newest two, the migration under way. An event
    /// with no version left is retired: nothing to plan.
    fn pairs(&self, event: &Event, edited: &BTreeSet<(String, String, u32)>) -> Vec<(u32, u32)> {
        let Some(now) = self.head.versions.get(event).filter(|v| !v.is_empty()) else {
            return vec![];
        };
        let then = self.base.versions.get(event).cloned().unwrap_or_default();
        let before = |to: u32| now.range(..to).next_back().copied().unwrap_or(to);
        if let Some(&to) = now.difference(&then).max() {
            return vec![(before(to), to)];
        }
        let in_place: Vec<(u32, u32)> = (edited.iter())
            .filter(|(s, d, v)| (s, d) == (&event.0, &event.1) && now.contains(v))
            .map(|k| (k.2, k.2))
            .collect();
        if !in_place.is_empty() {
            return in_place;
        }
        let to = *now.last().expect("non-empty");
        vec![(before(to), to)]
    }

    /// The schemas compared: a version edited in place against itself at
    /// `base`, a new version against the one before it at `head`.
    fn schemas(&self, event: &Event, (from, to): (u32, u32)) -> Result<(Value, Value)> {
        let new = self.head.schema(self.repo, event, to)?;
        let existed = self
            .base
            .versions
            .get(event)
            .is_some_and(|v| v.contains(&to));
        let old = if from == to && existed {
            self.base.schema(self.repo, event, to)?
        } else {
            self.head.schema(self.repo, event, from)?
        };
        Ok((old, new))
    }

    fn change(&mut self, event: &Event, (from, to): (u32, u32)) -> Result<Change> {
        let name = format!("{}/{}", event.0, event.1);
        let (head, base) = (&self.head, &self.base);
        let producer = (head.parties(event).0.into_iter().next())
            .or_else(|| base.parties(event).0.into_iter().next())
            .with_context(|| {
                format!(
                    "{name}: no service publishes it at {} or {}",
                    head.rev, base.rev
                )
            })?;
        let key = (event.0.clone(), event.1.clone(), to);
        let mode = *head.modes.get(&key).with_context(|| {
            let file = crate::asyncapi::FILE;
            format!(
                "{name} v{to}: {file} at {} gives no compatibility",
                head.rev
            )
        })?;
        let (old, new) = self.schemas(event, (from, to))?;
        let consumers = self.consumers(event, (from, to), (&old, &new))?;
        let subject = Subject {
            event: name.clone(),
            producer,
            from,
            to,
            digest: declarations::carried::digest(&new),
        };
        Change::between(subject, (&old, &new), mode, consumers)
            .with_context(|| format!("comparing {name} v{from} with v{to}"))
    }

    /// Each consumer's rules for `event` at `head`, judged across a change
    /// made in place (a consumer moving between versions is the move step
    /// itself). Consumers at either revision count: one that stopped
    /// consuming is still part of the change.
    fn consumers(
        &mut self,
        event: &Event,
        (from, to): (u32, u32),
        (old, new): (&Value, &Value),
    ) -> Result<Vec<Consumer>> {
        let services: BTreeSet<String> = (self.head.parties(event).1.into_iter())
            .chain(self.base.parties(event).1)
            .collect();
        let mut judged = Vec::new();
        for service in services {
            let found = rules_for(self.template(&service)?, event);
            let declared = self.head.consumed(&service, event);
            if found.is_empty() && !declared.is_empty() {
                bail!(
                    "{service} consumes {}/{} at {} but {}/{service}/template.yaml has no rule for it",
                    event.0,
                    event.1,
                    self.head.rev,
                    repo::paths::SERVICES_DIR
                );
            }
            for (rule, pattern) in found {
                let verdict = match declared.last() {
                    Some(&v) if from == to => {
                        let decodes = self.head.schema(self.repo, event, v)?;
                        rules::judge(&pattern, (&event.0, &event.1), (old, new), &decodes)
                            .map_err(|e| anyhow::anyhow!("{service}'s rule {rule}: {e}"))?
                    }
                    _ => Verdict {
                        breaking: false,
                        reasons: vec![],
                    },
                };
                judged.push(Consumer {
                    service: service.clone(),
                    rule,
                    verdict,
                });
            }
        }
        Ok(judged)
    }

    fn template(&mut self, service: &str) -> Result<&Value> {
        if !self.templates.contains_key(service) {
            let (file, text) = crate::folders::template_at(self.repo, &self.head.rev, service)?;
            let cfn = (self.translate)(&file, &text)?;
            self.templates.insert(service.to_owned(), cfn);
        }
        Ok(&self.templates[service])
    }
}

/// The rules of a translated template that can match `event`: their
/// logical ids and patterns. A team's subscription, which forwards to its
/// own inbox bus, decodes nothing: the rules on the inbox are judged.
fn rules_for(cfn: &Value, (source, dt): &Event) -> Vec<(String, Value)> {
    let names = |v: &Value, want: &str| match v {
        Value::Null => true,
        Value::Array(items) => items.iter().any(|i| i == want),
        other => other == want,
    };
    let resources = &cfn["Resources"];
    let forwards = |r: &Value| {
        (r["Properties"]["Targets"].as_array().into_iter().flatten()).any(|t| {
            t["Arn"]["Fn::GetAtt"][0]
                .as_str()
                .is_some_and(|b| resources[b]["Type"] == "AWS::Events::EventBus")
        })
    };
    (resources.as_object().into_iter().flatten())
        .filter(|(_, r)| r["Type"] == "AWS::Events::Rule" && !forwards(r))
        .map(|(id, r)| (id.clone(), r["Properties"]["EventPattern"].clone()))
        .filter(|(_, p)| names(&p["source"], source) && names(&p["detail-type"], dt))
        .collect()
}
