//! Flow assertions: a test taps the local cloud's bus before it acts, then
//! waits for the events its request should cause instead of sleeping or
//! polling an API. A wait that fails names the events that did arrive.
//!
//! The tap is the ops CLI's (`ops::tap`): a rule and a queue of its own,
//! so tests running at once each see every event.

use std::time::{Duration, Instant};

use event_pattern::Pattern;
use ops::tap::Tap;
use serde_json::{Value, json};

pub struct Flow {
    tap: Option<Tap>,
    /// Every event the tap delivered so far, in arrival order.
    seen: Vec<Value>,
}

impl Flow {
    /// Taps the bus of the local cloud at `endpoints`: events published
    /// from now on are seen.
    pub async fn watch(endpoints: &devstack_api::Endpoints) -> Flow {
        let conf = kit::config::endpoint(&endpoints.emulator_url).await;
        let tap = Tap::open(
            &conf,
            &endpoints.bus_name,
            &ops::bus_watch::everything(),
            "flow assertions",
            ops::tap::default_lease(),
        )
        .await
        .expect("the flow tap opens");
        Flow {
            tap: Some(tap),
            seen: Vec::new(),
        }
    }

    /// The first event (seen before or arriving within `within`) that
    /// matches `pattern`; panics with what arrived instead.
    pub async fn await_event(&mut self, pattern: Value, within: Duration) -> Value {
        let p = Pattern::parse(&pattern).expect("a valid event pattern");
        let deadline = Instant::now() + within;
        loop {
            if let Some(found) = self.seen.iter().find(|e| p.matches(e)) {
                return found.clone();
            }
            if Instant::now() >= deadline {
                panic!(
                    "no event matching {pattern} within {within:?}; the bus carried:\n{}",
                    self.arrived()
                );
            }
            self.pull().await;
        }
    }

    /// The events carrying `correlation_id`, in causal order (each after
    /// the event that caused it), once they include every detail-type in
    /// `expect` (as many times as it is listed); panics with what arrived.
    pub async fn await_chain(
        &mut self,
        correlation_id: &str,
        expect: &[&str],
        within: Duration,
    ) -> Vec<Value> {
        let deadline = Instant::now() + within;
        loop {
            let chain = causal_order(self.correlated(correlation_id));
            if covers(&chain, expect) {
                return chain;
            }
            if Instant::now() >= deadline {
                panic!(
                    "the chain of {correlation_id} did not reach {expect:?} within {within:?}; \
                     it holds {:?}; the bus carried:\n{}",
                    detail_types(&chain),
                    self.arrived()
                );
            }
            self.pull().await;
        }
    }

    /// The events seen so far that match `pattern`.
    pub fn matching(&self, pattern: &Value) -> Vec<Value> {
        let p = Pattern::parse(pattern).expect("a valid event pattern");
        self.seen.iter().filter(|e| p.matches(e)).cloned().collect()
    }

    fn correlated(&self, correlation_id: &str) -> Vec<Value> {
        self.seen
            .iter()
            .filter(|e| e["detail"]["metadata"]["correlation_id"] == correlation_id)
            .cloned()
            .collect()
    }

    async fn pull(&mut self) {
        let tap = self.tap.as_mut().expect("the flow is open");
        let got = tap
            .receive(Duration::from_secs(1))
            .await
            .expect("the flow tap reads");
        self.seen.extend(got);
        tap.keep_alive("flow assertions")
            .await
            .expect("the flow tap renews");
    }

    fn arrived(&self) -> String {
        if self.seen.is_empty() {
            return "  (nothing)".into();
        }
        self.seen
            .iter()
            .map(|e| format!("  {}", ops::bus_watch::pretty(e)))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Removes the tap (a test that panics leaves it to its lease and the
    /// next tap's sweep).
    pub async fn close(mut self) {
        if let Some(tap) = self.tap.take() {
            tap.close().await.expect("the flow tap is removed");
        }
    }
}

fn detail_types(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["detail-type"].as_str().unwrap_or("?"))
        .collect()
}

fn covers(chain: &[Value], expect: &[&str]) -> bool {
    let mut have = detail_types(chain);
    expect
        .iter()
        .all(|want| match have.iter().position(|h| h == want) {
            Some(i) => {
                have.swap_remove(i);
                true
            }
            None => false,
        })
}

/// Events ordered so that each comes after its cause (`causation_id`),
/// ties kept in arrival order. An event whose cause is not among them
/// starts a branch.
fn causal_order(events: Vec<Value>) -> Vec<Value> {
    let id = |e: &Value| {
        e["detail"]["metadata"]["event_id"]
            .as_str()
            .map(str::to_owned)
    };
    let cause = |e: &Value| {
        e["detail"]["metadata"]["causation_id"]
            .as_str()
            .map(str::to_owned)
    };
    let ids: Vec<Option<String>> = events.iter().map(id).collect();
    let mut placed = vec![false; events.len()];
    let mut order = Vec::with_capacity(events.len());
    while order.len() < events.len() {
        let before = order.len();
        for (i, e) in events.iter().enumerate() {
            let ready = match cause(e) {
                Some(c) => !ids
                    .iter()
                    .enumerate()
                    .any(|(j, id)| !placed[j] && id.as_deref() == Some(c.as_str())),
                None => true,
            };
            if !placed[i] && ready {
                placed[i] = true;
                order.push(e.clone());
            }
        }
        if order.len() == before {
            // A cycle cannot happen with fresh ids; keep the rest as they came.
            order.extend(
                events
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !placed[*i])
                    .map(|(_, e)| e.clone()),
            );
        }
    }
    order
}

/// An event pattern for one detail-type of one correlation.
pub fn of(detail_type: &str, correlation_id: &str) -> Value {
    json!({"detail-type": [detail_type], "detail": {"metadata": {"correlation_id": [correlation_id]}}})
}

#[test]
fn causal_order_puts_each_event_after_its_cause() {
    let e = |id: &str, cause: Option<&str>, t: &str| json!({"detail-type": t, "detail": {"metadata": {"event_id": id, "causation_id": cause}}});
    let arrived = vec![
        e("c", Some("b"), "NotificationSent"),
        e("b", Some("a"), "TodoCompleted"),
        e("a", None, "TodoCreated"),
    ];
    let ordered = causal_order(arrived);
    assert_eq!(
        detail_types(&ordered),
        ["TodoCreated", "TodoCompleted", "NotificationSent"]
    );
    assert!(covers(&ordered, &["TodoCompleted", "TodoCreated"]));
    assert!(!covers(&ordered, &["TodoCompleted", "TodoCompleted"]));
}
