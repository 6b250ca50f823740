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

use compat::{Mode, Policy};
use serde_json::Value;

use crate::rules::Verdict;

/// One consumer of a changing event, and what the change does to its rule.
#[derive(Debug, Clone)]
pub struct Consumer {
    pub service: String,
    /// The template's rule (its logical id), for the plan's wording.
    pub rule: String,
    pub verdict: Verdict,
}

/// One event's change.
#[derive(Debug, Clone)]
pub struct Change {
    /// `app.todos TodoDeleted v1`.
    pub event: String,
    pub producer: String,
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
        (event, producer): (&str, &str),
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
            event: event.to_owned(),
            producer: producer.to_owned(),
            backward: findings(Mode::Backward)?,
            forward: findings(Mode::Forward)?,
            mode,
            consumers,
        })
    }
}

/// What the teams do for one change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Order {
    /// Nobody is hurt whoever ships first.
    AnyOrder,
    /// These consumers ship first (each a step; they in any order among
    /// themselves), then the producer.
    ConsumersFirst { consumers: Vec<String> },
    /// The producer ships first, then the consumers in any order.
    ProducerFirst,
    /// No order is safe: each step in turn.
    ExpandContract { steps: Vec<String> },
}

/// The order for `change`, and why.
pub fn order(change: &Change) -> (Order, Vec<String>) {
    let mut why = Vec::new();
    if change.consumers.is_empty() {
        why.push(format!("{}: no service consumes it", change.event));
        return (Order::AnyOrder, why);
    }
    let backward = change.backward.is_empty();
    let forward = change.forward.is_empty();
    // A direction the declared mode promises and the change breaks is one
    // the schema check refuses within a version: only a new version helps.
    let broken_promise = change.mode.directions().iter().any(|d| match d {
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
        why.push(format!(
            "old readers of {} fail on new events: {f}",
            change.event
        ));
    }
    for b in &change.backward {
        why.push(format!(
            "new readers of {} fail on old events: {b}",
            change.event
        ));
    }
    let order = match (backward, forward) {
        _ if broken_promise => Order::ExpandContract {
            steps: expand_contract(change),
        },
        (true, true) if rules.is_empty() => Order::AnyOrder,
        // The rules' consumers must move first; everyone reads both ways.
        (true, true) => Order::ConsumersFirst {
            consumers: rules.iter().map(|c| c.service.clone()).collect(),
        },
        (true, false) => Order::ConsumersFirst {
            consumers: change.consumers.iter().map(|c| c.service.clone()).collect(),
        },
        (false, true) if rules.is_empty() => Order::ProducerFirst,
        // The producer must go first and a rule's consumer too, or nothing
        // reads both ways.
        _ => Order::ExpandContract {
            steps: expand_contract(change),
        },
    };
    if broken_promise {
        why.push(format!(
            "{} declares {}, which this change breaks: the schema check refuses it within a version",
            change.event,
            change.mode.as_str()
        ));
    }
    (order, why)
}

/// Publish the new version beside the old, move each consumer, stop the
/// old: each step names the service and what it ships.
fn expand_contract(change: &Change) -> Vec<String> {
    let (event, producer) = (&change.event, &change.producer);
    let mut steps = vec![format!(
        "{producer}: publish the new version of {event} beside the current one (a new version number)"
    )];
    for c in &change.consumers {
        steps.push(format!(
            "{}: consume the new version (its rule {} and decoder), and stop consuming the current one",
            c.service, c.rule
        ));
    }
    steps.push(format!(
        "{producer}: stop publishing the current version of {event}"
    ));
    steps
}

/// The plan as a person reads it.
pub fn render(change: &Change) -> String {
    let (order, why) = order(change);
    let consumers: Vec<&str> = change
        .consumers
        .iter()
        .map(|c| c.service.as_str())
        .collect();
    let mut out = format!(
        "{}\n  producer: {}\n  consumers: {}\n  backward (new readers, old events): {}\n  forward (old readers, new events): {}\n",
        change.event,
        change.producer,
        if consumers.is_empty() {
            "none".to_owned()
        } else {
            consumers.join(", ")
        },
        if change.backward.is_empty() {
            "compatible"
        } else {
            "breaking"
        },
        if change.forward.is_empty() {
            "compatible"
        } else {
            "breaking"
        },
    );
    let order = match order {
        Order::AnyOrder => "  order: any\n".to_owned(),
        Order::ConsumersFirst { consumers } => format!(
            "  order: 1. {} (any order among them)  2. {}\n",
            consumers.join(", "),
            change.producer
        ),
        Order::ProducerFirst => format!(
            "  order: 1. {}  2. {} (any order among them)\n",
            change.producer,
            consumers.join(", ")
        ),
        Order::ExpandContract { steps } => {
            let mut s = String::from("  order: none is safe; expand and contract:\n");
            for (i, step) in steps.iter().enumerate() {
                s.push_str(&format!("    {}. {step}\n", i + 1));
            }
            s
        }
    };
    out.push_str(&order);
    for w in why {
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

    fn change(old: &Value, new: &Value, mode: Mode, consumers: Vec<Consumer>) -> Change {
        Change::between(
            ("app.todos TodoDeleted v1", "todos"),
            (old, new),
            mode,
            consumers,
        )
        .unwrap()
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
        let text = render(&backward);
        assert!(
            text.contains("order: 1. notifications (any order among them)  2. todos"),
            "{text}"
        );
        // FULL promises both directions: removing a required field breaks
        // old readers, so only expand and contract is safe.
        let full = change(&base(), &new, Mode::Full, vec![reader("notifications")]);
        let (o, why) = order(&full);
        let Order::ExpandContract { steps } = o else {
            panic!("{o:?}")
        };
        assert_eq!(steps.len(), 3);
        assert!(steps[0].starts_with("todos: publish the new version"));
        assert!(
            steps[1]
                .starts_with("notifications: consume the new version (its rule notificationsRule")
        );
        assert!(steps[2].starts_with("todos: stop publishing"));
        assert!(why.iter().any(|w| w.contains("declares FULL")), "{why:?}");
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
        assert!(matches!(order(&backward).0, Order::ExpandContract { .. }));
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
        assert_eq!(why, ["app.todos TodoDeleted v1: no service consumes it"]);
        assert!(render(&c).contains("consumers: none"));
    }
}
