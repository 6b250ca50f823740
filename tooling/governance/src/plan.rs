//! The order teams must ship a contract change in: the plan's core, pure.
//! An event's compatibility in each direction (compat) and its consumers'
//! rules (`rules`) decide it:
//!
//! - old readers read new events (FORWARD holds): the producer may ship
//!   first;
//! - new readers read old events (BACKWARD holds): the consumers may ship
//!   first;
//! - both: any order; neither, or a direction the event's declared mode
//!   does not promise: expand and contract (publish the new version beside
//!   the old, move each consumer, stop the old);
//! - a consumer whose rule the change breaks ships first, with a rule that
//!   matches both shapes; it is named with its rule.
//!
//! A change that adds a version is an expand and contract under way: its
//! steps are marked done from what the deployed stacks carry
//! (`declarations::Carried`).

use std::collections::BTreeMap;

use compat::{Mode, Policy};
use declarations::Carried;
use serde::Serialize;
use serde_json::Value;

use crate::rules::Verdict;

/// One consumer of a changing event, and what the change does to its rule.
#[derive(Debug, Clone, Serialize)]
pub struct Consumer {
    pub service: String,
    /// The template's rule (its logical id), for the plan's wording.
    pub rule: String,
    pub verdict: Verdict,
}

/// Which event changes, between which versions, and who publishes it.
#[derive(Debug, Clone, Serialize)]
pub struct Subject {
    /// `app.todos/TodoDeleted`.
    pub event: String,
    pub producer: String,
    /// The version the change starts from; equal to `to` for a change made
    /// in place.
    pub from: u32,
    pub to: u32,
    /// The digest of `to`'s schema as changed (`declarations::carried::digest`).
    pub digest: String,
}

impl Subject {
    /// `app.todos/TodoDeleted v1`, or `… v1 → v2` for a new version.
    pub fn label(&self) -> String {
        if self.from == self.to {
            format!("{} v{}", self.event, self.to)
        } else {
            format!("{} v{} → v{}", self.event, self.from, self.to)
        }
    }
}

/// One event's change.
#[derive(Debug, Clone)]
pub struct Change {
    pub subject: Subject,
    pub consumers: Vec<Consumer>,
    /// The mode the version declares.
    pub mode: Mode,
    /// Findings of new readers reading old events.
    pub backward: Vec<String>,
    /// Findings of old readers reading new events.
    pub forward: Vec<String>,
}

impl Change {
    /// The change from `old` to `new`, with both directions compared as
    /// the schema check compares them.
    pub fn between(
        subject: Subject,
        (old, new): (&Value, &Value),
        mode: Mode,
        consumers: Vec<Consumer>,
    ) -> Result<Self, compat::SchemaError> {
        let findings = |m: Mode| -> Result<Vec<String>, compat::SchemaError> {
            Ok(compat::compare(old, new, m, Policy::Lenient)?
                .iter()
                .map(ToString::to_string)
                .collect())
        };
        Ok(Self {
            subject,
            backward: findings(Mode::Backward)?,
            forward: findings(Mode::Forward)?,
            mode,
            consumers,
        })
    }

    fn services(&self) -> Vec<String> {
        self.consumers.iter().map(|c| c.service.clone()).collect()
    }
}

/// What the teams do for one change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Order {
    /// Nobody is hurt whoever ships first.
    AnyOrder,
    /// These consumers ship first (in any order among themselves), then
    /// the producer and the rest.
    ConsumersFirst { consumers: Vec<String> },
    /// The producer ships first, then the consumers in any order.
    ProducerFirst,
    /// No order is safe: publish the new version beside the current one,
    /// move each consumer, stop the current one.
    ExpandContract,
}

/// What one service ships in a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "ships", rename_all = "snake_case")]
pub enum Action {
    /// The producer, publishing the changed schema.
    Publish,
    /// A consumer, reading the changed schema with its rule.
    Read { rule: String },
    /// The producer, publishing `version` beside `current`.
    PublishBeside { version: u32, current: u32 },
    /// A consumer, consuming `version` (its rule and decoder) instead of
    /// `current`.
    Move {
        version: u32,
        current: u32,
        rule: String,
    },
    /// The producer, no longer publishing `version`.
    Stop { version: u32 },
}

/// One service's step, and whether the deployed stacks show it done
/// (`None`: the stacks were not read).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub service: String,
    #[serde(flatten)]
    pub action: Action,
    pub done: Option<bool>,
}

impl Step {
    fn new(service: &str, action: Action) -> Self {
        Self {
            service: service.to_owned(),
            action,
            done: None,
        }
    }

    /// The step as a sentence about `event`.
    pub fn describe(&self, event: &str) -> String {
        let s = &self.service;
        match &self.action {
            Action::Publish => format!("{s}: publish the changed {event}"),
            Action::Read { rule } => {
                format!("{s}: read the changed {event} (decoder and rule {rule})")
            }
            Action::PublishBeside { version, current } => {
                format!("{s}: publish {event} v{version} beside v{current}")
            }
            Action::Move {
                version,
                current,
                rule,
            } => {
                format!("{s}: move from {event} v{current} to v{version} (decoder and rule {rule})")
            }
            Action::Stop { version } => format!("{s}: stop publishing {event} v{version}"),
        }
    }
}

/// One event's plan: its change, the order, the steps stage by stage (the
/// steps of a stage in any order among themselves), and why.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    #[serde(flatten)]
    pub subject: Subject,
    pub consumers: Vec<Consumer>,
    pub mode: &'static str,
    pub backward: Vec<String>,
    pub forward: Vec<String>,
    pub order: Order,
    pub stages: Vec<Vec<Step>>,
    pub why: Vec<String>,
}

/// The order for `change`, and why.
pub fn order(change: &Change) -> (Order, Vec<String>) {
    let mut why = Vec::new();
    let event = change.subject.label();
    if change.consumers.is_empty() {
        why.push(format!("{event}: no service consumes it"));
        return (Order::AnyOrder, why);
    }
    let backward = change.backward.is_empty();
    let forward = change.forward.is_empty();
    // A direction the declared mode promises and the change breaks is one
    // the schema check refuses within a version: only a new version helps.
    let in_place = change.subject.from == change.subject.to;
    let broken_promise = in_place
        && change.mode.directions().iter().any(|d| match d {
            compat::Direction::Backward => !backward,
            compat::Direction::Forward => !forward,
        });
    let rules: Vec<&Consumer> = (change.consumers.iter())
        .filter(|c| c.verdict.breaking)
        .collect();
    for c in &rules {
        for r in &c.verdict.reasons {
            why.push(format!("{} (rule {}): {r}", c.service, c.rule));
        }
    }
    for f in &change.forward {
        why.push(format!("old readers of {event} fail on new events: {f}"));
    }
    for b in &change.backward {
        why.push(format!("new readers of {event} fail on old events: {b}"));
    }
    let order = match (backward, forward) {
        // Consumers pin their rules to a version: a new one is always a
        // move, each consumer in its own time.
        _ if !in_place => {
            why.push(format!(
                "{event}: a new version; consumers move to it while both are published"
            ));
            Order::ExpandContract
        }
        _ if broken_promise => {
            why.push(format!(
                "{event} declares {}, which this change breaks: the schema check refuses it within a version",
                change.mode.as_str()
            ));
            Order::ExpandContract
        }
        (true, true) if rules.is_empty() => Order::AnyOrder,
        // The rules' consumers must move first; everyone reads both ways.
        (true, true) => Order::ConsumersFirst {
            consumers: rules.iter().map(|c| c.service.clone()).collect(),
        },
        (true, false) => Order::ConsumersFirst {
            consumers: change.services(),
        },
        (false, true) if rules.is_empty() => Order::ProducerFirst,
        // The producer must go first and a rule's consumer too, or nothing
        // reads both ways.
        _ => Order::ExpandContract,
    };
    (order, why)
}

/// The steps of `order`, stage by stage.
fn stages(change: &Change, order: &Order) -> Vec<Vec<Step>> {
    let producer = change.subject.producer.as_str();
    let read = |c: &Consumer| {
        Step::new(
            &c.service,
            Action::Read {
                rule: c.rule.clone(),
            },
        )
    };
    let publish = || Step::new(producer, Action::Publish);
    match order {
        Order::AnyOrder => {
            vec![
                std::iter::once(publish())
                    .chain(change.consumers.iter().map(read))
                    .collect(),
            ]
        }
        Order::ConsumersFirst { consumers } => {
            let (first, rest): (Vec<&Consumer>, Vec<&Consumer>) =
                (change.consumers.iter()).partition(|c| consumers.contains(&c.service));
            vec![
                first.into_iter().map(read).collect(),
                std::iter::once(publish())
                    .chain(rest.into_iter().map(read))
                    .collect(),
            ]
        }
        Order::ProducerFirst => vec![vec![publish()], change.consumers.iter().map(read).collect()],
        Order::ExpandContract => {
            let (current, version) = if change.subject.from == change.subject.to {
                (change.subject.to, change.subject.to + 1)
            } else {
                (change.subject.from, change.subject.to)
            };
            vec![
                vec![Step::new(
                    producer,
                    Action::PublishBeside { version, current },
                )],
                (change.consumers.iter())
                    .map(|c| {
                        let rule = c.rule.clone();
                        Step::new(
                            &c.service,
                            Action::Move {
                                version,
                                current,
                                rule,
                            },
                        )
                    })
                    .collect(),
                vec![Step::new(producer, Action::Stop { version: current })],
            ]
        }
    }
}

/// The plan for `change`.
pub fn plan(change: &Change) -> Plan {
    let (order, why) = order(change);
    Plan {
        stages: stages(change, &order),
        subject: change.subject.clone(),
        consumers: change.consumers.clone(),
        mode: change.mode.as_str(),
        backward: change.backward.clone(),
        forward: change.forward.clone(),
        order,
        why,
    }
}

impl Plan {
    /// Marks each step done or not from what each service's deployed
    /// stack carries (a service with no stack has done nothing).
    pub fn mark(&mut self, deployed: &BTreeMap<String, Carried>) {
        let none = Carried::default();
        let event = self.subject.event.clone();
        let (to, digest) = (self.subject.to, self.subject.digest.clone());
        let in_place = self.subject.from == self.subject.to;
        for step in self.stages.iter_mut().flatten() {
            let carried = deployed.get(&step.service).unwrap_or(&none);
            let published = carried.publishes.get(&event);
            let consumed = carried.consumes.get(&event);
            let has = |side: Option<&BTreeMap<u32, String>>, v: u32| {
                side.is_some_and(|m| m.contains_key(&v))
            };
            let carries_new = |side: Option<&BTreeMap<u32, String>>| {
                side.and_then(|m| m.get(&to)) == Some(&digest)
            };
            step.done = Some(match &step.action {
                Action::Publish => carries_new(published),
                Action::Read { .. } => carries_new(consumed),
                // Advice for a change made in place: that version does not
                // exist yet, so nobody has shipped it.
                Action::PublishBeside { version, .. } => !in_place && has(published, *version),
                // Reading both is moved: the current version may stay
                // decodable for archive replays.
                Action::Move { version, .. } => !in_place && has(consumed, *version),
                Action::Stop { version } => {
                    !in_place && deployed.contains_key(&step.service) && !has(published, *version)
                }
            });
        }
    }

    /// The first step not done that `service`'s next step (its first one
    /// not done) must wait for: a step of an earlier stage, or, for a
    /// change no order makes safe in place, the change itself. Numbered as
    /// the plan prints it.
    pub fn blocks(&self, service: &str) -> Option<(usize, &Step)> {
        let mine = self.stages.iter().position(|stage| {
            (stage.iter()).any(|s| s.service == service && s.done != Some(true))
        })?;
        let advice = self.subject.from == self.subject.to && self.order == Order::ExpandContract;
        let mut number = 0;
        for (i, stage) in self.stages.iter().enumerate() {
            for step in stage {
                number += 1;
                if (i < mine || advice) && step.done != Some(true) {
                    return Some((number, step));
                }
            }
        }
        None
    }
}

/// The plan as a person reads it.
pub fn render(plan: &Plan) -> String {
    let event = plan.subject.label();
    let consumers: Vec<&str> = plan.consumers.iter().map(|c| c.service.as_str()).collect();
    let verdict = |findings: &[String]| {
        if findings.is_empty() {
            "compatible"
        } else {
            "breaking"
        }
    };
    let mut out = format!(
        "{event}\n  producer: {}\n  consumers: {}\n  mode: {}\n  backward (new readers, old events): {}\n  forward (old readers, new events): {}\n",
        plan.subject.producer,
        if consumers.is_empty() {
            "none".to_owned()
        } else {
            consumers.join(", ")
        },
        plan.mode,
        verdict(&plan.backward),
        verdict(&plan.forward),
    );
    out.push_str(match &plan.order {
        Order::AnyOrder => "  order: any\n",
        Order::ConsumersFirst { .. } => "  order: consumers first\n",
        Order::ProducerFirst => "  order: producer first\n",
        Order::ExpandContract if plan.subject.from != plan.subject.to => {
            "  order: expand and contract, under way\n"
        }
        Order::ExpandContract => "  order: none is safe in place; expand and contract\n",
    });
    let mut number = 0;
    for (i, stage) in plan.stages.iter().enumerate() {
        let together = if stage.len() > 1 {
            " (any order among them)"
        } else {
            ""
        };
        out.push_str(&format!("  stage {}{together}:\n", i + 1));
        for step in stage {
            number += 1;
            let mark = match step.done {
                Some(true) => "[done] ",
                Some(false) => "[todo] ",
                None => "",
            };
            out.push_str(&format!(
                "    {number}. {mark}{}\n",
                step.describe(&plan.subject.event)
            ));
        }
    }
    for w in &plan.why {
        out.push_str(&format!("  why: {w}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn data(properties: Value, required: &[&str]) -> Value {
        json!({"type": "object", "properties": properties, "required": required})
    }

    fn reader(service: &str) -> Consumer {
        Consumer {
            service: service.into(),
            rule: format!("{service}Rule"),
            verdict: Verdict {
                breaking: false,
                reasons: vec![],
            },
        }
    }

    fn subject(from: u32, to: u32) -> Subject {
        Subject {
            event: "app.todos/TodoDeleted".into(),
            producer: "todos".into(),
            from,
            to,
            digest: "0123456789ab".into(),
        }
    }

    fn change(old: &Value, new: &Value, mode: Mode, consumers: Vec<Consumer>) -> Change {
        Change::between(subject(1, 1), (old, new), mode, consumers).unwrap()
    }

    fn described(plan: &Plan) -> Vec<Vec<String>> {
        (plan.stages.iter())
            .map(|stage| stage.iter().map(|s| s.describe("E")).collect())
            .collect()
    }

    fn base() -> Value {
        data(
            json!({"todo_id": {"type": "string"}, "title": {"type": "string"}}),
            &["todo_id", "title"],
        )
    }

    #[test]
    fn an_optional_field_added_ships_in_any_order() {
        let new = data(
            json!({"todo_id": {"type": "string"}, "title": {"type": "string"}, "note": {"type": "string"}}),
            &["todo_id", "title"],
        );
        let c = change(&base(), &new, Mode::Full, vec![reader("notifications")]);
        assert_eq!(order(&c).0, Order::AnyOrder);
    }

    #[test]
    fn a_field_a_consumer_reads_removed_ships_the_producer_last_or_expands() {
        let new = data(json!({"todo_id": {"type": "string"}}), &["todo_id"]);
        let backward = change(&base(), &new, Mode::Backward, vec![reader("notifications")]);
        assert_eq!(
            order(&backward).0,
            Order::ConsumersFirst {
                consumers: vec!["notifications".into()]
            }
        );
        assert_eq!(
            described(&plan(&backward)),
            [
                vec!["notifications: read the changed E (decoder and rule notificationsRule)"],
                vec!["todos: publish the changed E"],
            ]
        );
        // FULL promises both directions: removing a required field breaks
        // old readers, so only expand and contract is safe.
        let full = plan(&change(
            &base(),
            &new,
            Mode::Full,
            vec![reader("notifications")],
        ));
        assert_eq!(full.order, Order::ExpandContract);
        assert_eq!(
            described(&full),
            [
                vec!["todos: publish E v2 beside v1"],
                vec!["notifications: move from E v1 to v2 (decoder and rule notificationsRule)"],
                vec!["todos: stop publishing E v1"],
            ]
        );
        assert!(
            full.why.iter().any(|w| w.contains("declares FULL")),
            "{:?}",
            full.why
        );
    }

    #[test]
    fn a_new_required_field_ships_the_producer_first_or_expands_by_the_mode() {
        let new = data(
            json!({"todo_id": {"type": "string"}, "title": {"type": "string"}, "owner": {"type": "string"}}),
            &["todo_id", "title", "owner"],
        );
        let forward = change(&base(), &new, Mode::Forward, vec![reader("notifications")]);
        assert_eq!(order(&forward).0, Order::ProducerFirst);
        let backward = change(&base(), &new, Mode::Backward, vec![reader("notifications")]);
        assert_eq!(order(&backward).0, Order::ExpandContract);
    }

    #[test]
    fn a_renamed_field_a_rule_filters_on_moves_that_consumer_first_named_with_its_rule() {
        let mut filtering = reader("campaigns");
        filtering.rule = "AudienceRule".into();
        filtering.verdict = Verdict {
            breaking: true,
            reasons: vec!["detail.data.reason: the rule filters on it and the new version has no such field (removed or renamed)".into()],
        };
        let c = change(
            &base(),
            &base(),
            Mode::Full,
            vec![reader("notifications"), filtering],
        );
        let (o, why) = order(&c);
        assert_eq!(
            o,
            Order::ConsumersFirst {
                consumers: vec!["campaigns".into()]
            },
            "that consumer only"
        );
        assert_eq!(why.len(), 1);
        assert!(
            why[0].starts_with("campaigns (rule AudienceRule): detail.data.reason"),
            "{why:?}"
        );
    }

    #[test]
    fn a_change_nobody_consumes_ships_in_any_order() {
        let new = data(json!({"todo_id": {"type": "integer"}}), &["todo_id"]);
        let c = change(&base(), &new, Mode::Full, vec![]);
        let (o, why) = order(&c);
        assert_eq!(o, Order::AnyOrder);
        assert_eq!(why, ["app.todos/TodoDeleted v1: no service consumes it"]);
        assert!(render(&plan(&c)).contains("consumers: none"));
    }

    fn carrying(publishes: &[(u32, &str)], consumes: &[(u32, &str)]) -> Carried {
        let side = |versions: &[(u32, &str)]| {
            let v = versions
                .iter()
                .map(|(n, d)| (*n, (*d).to_owned()))
                .collect();
            [("app.todos/TodoDeleted".to_owned(), v)].into()
        };
        Carried {
            publishes: side(publishes),
            consumes: side(consumes),
        }
    }

    fn marks(plan: &Plan) -> Vec<Option<bool>> {
        plan.stages.iter().flatten().map(|s| s.done).collect()
    }

    #[test]
    fn a_new_versions_steps_are_marked_done_from_what_the_stacks_carry() {
        let mut v2 = base();
        v2["properties"]["reason"] = json!({"type": "string"});
        let c = Change::between(
            subject(1, 2),
            (&base(), &v2),
            Mode::Full,
            vec![reader("notifications")],
        )
        .unwrap();
        let mut p = plan(&c);
        assert_eq!(
            p.order,
            Order::ExpandContract,
            "a new version is always a move"
        );
        assert_eq!(marks(&p), [None, None, None], "not read: nothing marked");
        let (old, new) = ((1, "aaaaaaaaaaaa"), (2, "0123456789ab"));
        let at = |todos: Carried, notifications: Carried| -> BTreeMap<String, Carried> {
            [
                ("todos".into(), todos),
                ("notifications".into(), notifications),
            ]
            .into()
        };
        // Nothing shipped yet: the consumer must wait for the producer.
        p.mark(&at(carrying(&[old], &[]), carrying(&[], &[old])));
        assert_eq!(marks(&p), [Some(false); 3]);
        let (n, step) = p.blocks("notifications").unwrap();
        assert_eq!((n, step.service.as_str()), (1, "todos"));
        assert!(
            p.blocks("todos").is_none(),
            "the producer's first step is free"
        );
        // The producer publishes both; the consumer may move; todos may not stop v1.
        p.mark(&at(carrying(&[old, new], &[]), carrying(&[], &[old])));
        assert_eq!(marks(&p), [Some(true), Some(false), Some(false)]);
        assert!(p.blocks("notifications").is_none());
        assert_eq!(
            p.blocks("todos").map(|(n, s)| (n, s.service.clone())),
            Some((2, "notifications".into()))
        );
        // The consumer moved: the producer may stop v1; then all is done.
        p.mark(&at(carrying(&[old, new], &[]), carrying(&[], &[new])));
        assert!(p.blocks("todos").is_none());
        p.mark(&at(carrying(&[new], &[]), carrying(&[], &[new])));
        assert_eq!(marks(&p), [Some(true); 3]);
        let text = render(&p);
        assert!(
            text.contains("3. [done] todos: stop publishing app.todos/TodoDeleted v1"),
            "{text}"
        );
    }

    #[test]
    fn a_change_in_place_is_done_when_the_stack_carries_its_digest() {
        let new = data(json!({"todo_id": {"type": "string"}}), &["todo_id"]);
        let mut p = plan(&change(
            &base(),
            &new,
            Mode::Backward,
            vec![reader("notifications")],
        ));
        let state = |digest: &str| -> BTreeMap<String, Carried> {
            [("notifications".into(), carrying(&[], &[(1, digest)]))].into()
        };
        p.mark(&state("ffffffffffff"));
        assert_eq!(
            p.blocks("todos").map(|(n, _)| n),
            Some(1),
            "the consumer reads the old schema"
        );
        p.mark(&state("0123456789ab"));
        assert!(p.blocks("todos").is_none());
        // Advice to expand and contract blocks everyone: no stack can carry
        // a version nobody has made.
        let mut full = plan(&change(
            &base(),
            &new,
            Mode::Full,
            vec![reader("notifications")],
        ));
        full.mark(&state("0123456789ab"));
        assert_eq!(full.blocks("notifications").map(|(n, _)| n), Some(1));
        assert_eq!(full.blocks("todos").map(|(n, _)| n), Some(1));
    }
}
