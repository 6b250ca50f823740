//! Two versions on the bus at once: NotificationSent v1 → v2 migrated step
//! by step in the order the deploy plan gives (`governance::plan`), on the
//! emulator's bus with an archive. The producer publishes typed envelopes
//! with kit's publisher, each version it publishes for each notification;
//! the consumer is a rule pinned to the versions it declares (as every
//! template's rule is) into a queue, decoding each event with that
//! version's type. At every step each notification arrives and decodes;
//! a replay of the archive across the migration reaches the consumer at
//! the version it declares. The same steps out of order lose
//! notifications: the order is what keeps them.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_eventbridge::primitives::DateTime;
use aws_sdk_eventbridge::types::{ReplayDestination, ReplayState, Target};
use compat::Mode;
use devstack_emulator::fixtures::{new_queue, queue_arn};
use devstack_emulator::{shared, unique};
use events::notifications::{Kind, NotificationSentV1, NotificationSentV2};
use events::{Envelope, Event, EventKey, PutEntry};
use governance::plan::{self, Action, Change, Consumer, Subject};
use governance::rules::Verdict;
use kit::publisher::{Limits, Publisher};
use serde_json::{Value, json};
use uuid::Uuid;

const RULE: &str = "reader-notifications";

struct Bus {
    eb: aws_sdk_eventbridge::Client,
    sqs: aws_sdk_sqs::Client,
    name: String,
    queue: String,
    publisher: Publisher,
}

impl Bus {
    /// The consumer's rule's ARN.
    async fn rule_arn(&self) -> String {
        let eb = &self.eb;
        let rule = eb
            .describe_rule()
            .name(RULE)
            .event_bus_name(&self.name)
            .send()
            .await;
        rule.unwrap().arn.expect("the rule's ARN")
    }

    async fn new() -> Bus {
        let conf = shared().sdk_config().await;
        let eb = aws_sdk_eventbridge::Client::new(&conf);
        let sqs = aws_sdk_sqs::Client::new(&conf);
        let name = unique("migration");
        eb.create_event_bus().name(&name).send().await.unwrap();
        let queue = new_queue(&sqs, "reader").await;
        let arn = queue_arn(&sqs, &queue).await;
        let bus = Bus {
            publisher: Publisher::new(eb.clone(), &name, Limits::default()),
            eb,
            sqs,
            name,
            queue,
        };
        bus.consume(&[1]).await;
        let rule_arn = bus.rule_arn().await;
        devstack_emulator::fixtures::let_the_rule_send(&bus.sqs, &bus.queue, &arn, &rule_arn).await;
        (bus.eb.put_targets())
            .rule(RULE)
            .event_bus_name(&bus.name)
            .targets(Target::builder().id("reader").arn(arn).build().unwrap())
            .send()
            .await
            .unwrap();
        bus
    }

    /// The consumer's rule, pinned to `versions` as a template's is.
    async fn consume(&self, versions: &[u32]) {
        let pattern = json!({
            "source": ["app.notifications"],
            "detail-type": ["NotificationSent"],
            "detail": {"metadata": {"schema_version": versions}},
        });
        (self.eb.put_rule())
            .name(RULE)
            .event_bus_name(&self.name)
            .event_pattern(pattern.to_string())
            .send()
            .await
            .unwrap();
    }

    /// Everything in the consumer's queue.
    async fn drain(&self) -> Vec<Value> {
        crate::support::drain(&self.sqs, &self.queue).await
    }
}

/// Who publishes and reads which versions at a point of the migration.
struct State {
    publishes: BTreeSet<u32>,
    reads: BTreeSet<u32>,
}

fn notification(id: Uuid, version: u32) -> PutEntry {
    let (kind, at) = (Kind::Welcome, chrono::Utc::now());
    let envelope = |event_id| (event_id, at, "req-migration", None, "notifications");
    let (event_id, occurred, correlation, causation, producer) = envelope(Uuid::new_v4());
    match version {
        1 => PutEntry::from_envelope(&Envelope::new(
            event_id,
            occurred,
            correlation,
            causation,
            producer,
            NotificationSentV1 {
                notification_id: id,
                user_id: "u-1".into(),
                kind: kind.v1().unwrap(),
                message: "Welcome".into(),
                source_event_id: Uuid::new_v4(),
                sent_at: at,
            },
        )),
        _ => PutEntry::from_envelope(&Envelope::new(
            event_id,
            occurred,
            correlation,
            causation,
            producer,
            NotificationSentV2 {
                notification_id: id,
                user_id: "u-1".into(),
                kind,
                message: "Welcome".into(),
                source_event_id: Uuid::new_v4(),
                sent_at: at,
            },
        )),
    }
    .unwrap()
}

/// The notification ids `events` carry, each decoded by the version it
/// came as, which must be one the consumer reads.
fn decoded(events: &[Value], reads: &BTreeSet<u32>) -> BTreeMap<Uuid, BTreeSet<u32>> {
    let mut out: BTreeMap<Uuid, BTreeSet<u32>> = BTreeMap::new();
    for e in events {
        let version = e["detail"]["metadata"]["schema_version"].as_u64().unwrap() as u32;
        assert!(
            reads.contains(&version),
            "delivered v{version}, not declared: {e}"
        );
        let key = EventKey {
            version,
            ..NotificationSentV1::KEY
        };
        events::find(&key)
            .unwrap()
            .check_detail(&e["detail"])
            .unwrap_or_else(|err| panic!("v{version} does not decode as v{version}: {err}"));
        let id = e["detail"]["data"]["notification_id"].as_str().unwrap();
        out.entry(id.parse().unwrap()).or_default().insert(version);
    }
    out
}

/// Publishes `n` notifications as the producer does now, and returns the
/// ones the consumer did not get.
async fn batch(bus: &Bus, state: &State, n: usize) -> (Vec<Uuid>, BTreeSet<Uuid>) {
    let ids: Vec<Uuid> = (0..n).map(|_| Uuid::new_v4()).collect();
    let entries: Vec<PutEntry> = (ids.iter())
        .flat_map(|id| state.publishes.iter().map(|v| notification(*id, *v)))
        .collect();
    bus.publisher.publish(&entries).await.unwrap();
    let got = decoded(&bus.drain().await, &state.reads);
    let missing = ids
        .iter()
        .filter(|id| !got.contains_key(id))
        .copied()
        .collect();
    (ids, missing)
}

/// The plan for NotificationSent v1 → v2 with one consumer: its steps in
/// order.
fn steps() -> Vec<Action> {
    let schema = |v| {
        let key = EventKey {
            version: v,
            ..NotificationSentV1::KEY
        };
        events::find(&key).unwrap().schema()
    };
    let subject = Subject {
        event: "app.notifications/NotificationSent".into(),
        producer: "notifications".into(),
        from: 1,
        to: 2,
        digest: declarations::carried::digest(&schema(2)),
    };
    let reader = Consumer {
        service: "reader".into(),
        rule: RULE.into(),
        verdict: Verdict {
            breaking: false,
            reasons: vec![],
        },
    };
    let change =
        Change::between(subject, (&schema(1), &schema(2)), Mode::Full, vec![reader]).unwrap();
    let plan = plan::plan(&change);
    plan.stages
        .into_iter()
        .flatten()
        .map(|s| s.action)
        .collect()
}

/// Runs `steps` from v1 everywhere, a batch after each; the notifications
/// the consumer missed at each step.
async fn migrate(bus: &Bus, steps: &[Action]) -> (Vec<BTreeSet<Uuid>>, State) {
    let mut state = State {
        publishes: [1].into(),
        reads: [1].into(),
    };
    let (_, missing) = batch(bus, &state, 3).await;
    assert!(missing.is_empty(), "before the migration: {missing:?}");
    let mut lost = Vec::new();
    for step in steps {
        match step {
            Action::PublishBeside { version, .. } => {
                state.publishes.insert(*version);
            }
            Action::Move {
                version, current, ..
            } => {
                bus.consume(&[*version]).await;
                state.reads.remove(current);
                state.reads.insert(*version);
            }
            Action::Stop { version } => {
                state.publishes.remove(version);
            }
            other => panic!("not a step of a new version: {other:?}"),
        }
        lost.push(batch(bus, &state, 3).await.1);
    }
    (lost, state)
}

#[tokio::test]
async fn a_migration_in_the_plans_order_loses_nothing_and_replays_at_the_declared_version() {
    let steps = steps();
    assert!(
        matches!(
            steps[..],
            [
                Action::PublishBeside {
                    version: 2,
                    current: 1
                },
                Action::Move { .. },
                Action::Stop { version: 1 }
            ]
        ),
        "{steps:?}"
    );
    let bus = Bus::new().await;
    let arn = |d: aws_sdk_eventbridge::operation::describe_event_bus::DescribeEventBusOutput| {
        d.arn.unwrap()
    };
    let bus_arn = arn(bus
        .eb
        .describe_event_bus()
        .name(&bus.name)
        .send()
        .await
        .unwrap());
    let archive = unique("migration");
    let archive_arn = (bus.eb.create_archive())
        .archive_name(&archive)
        .event_source_arn(&bus_arn)
        .send()
        .await
        .unwrap()
        .archive_arn
        .unwrap();
    let start = chrono::Utc::now().timestamp() - 1;

    let (lost, state) = migrate(&bus, &steps).await;
    assert!(
        lost.iter().all(BTreeSet::is_empty),
        "lost at a step: {lost:?}"
    );
    assert_eq!(state.reads, [2].into());

    // A replay of the whole migration, to the consumer's rule alone: it
    // reads v2 now and gets v2 only, every notification published while
    // v2 was (from the first step on), each once.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let rule_arn = bus.rule_arn().await;
    let replay = unique("replay");
    (bus.eb.start_replay())
        .replay_name(&replay)
        .event_source_arn(&archive_arn)
        .event_start_time(DateTime::from_secs(start))
        .event_end_time(DateTime::from_secs(chrono::Utc::now().timestamp()))
        .destination(
            ReplayDestination::builder()
                .arn(&bus_arn)
                .filter_arns(&rule_arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let mut replayed = Vec::new();
    for _ in 0..50 {
        replayed.extend(bus.drain().await);
        let done = (bus.eb.describe_replay().replay_name(&replay).send().await)
            .unwrap()
            .state
            == Some(ReplayState::Completed);
        if done && replayed.len() >= 9 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    replayed.extend(bus.drain().await);
    let got = decoded(&replayed, &state.reads);
    assert_eq!(
        replayed.len(),
        9,
        "three batches published v2, each event once"
    );
    assert_eq!(got.len(), 9);
    assert!(got.values().all(|v| v == &BTreeSet::from([2])));
}

#[tokio::test]
async fn the_same_steps_out_of_order_lose_notifications() {
    let steps = steps();
    // The consumer moves before the producer publishes v2.
    let out_of_order = [steps[1].clone(), steps[0].clone(), steps[2].clone()];
    let bus = Bus::new().await;
    let (lost, _) = migrate(&bus, &out_of_order).await;
    assert_eq!(
        lost[0].len(),
        3,
        "moved to v2 before anyone published it: {lost:?}"
    );
    // And stopping v1 before the consumer moves loses them too.
    let early_stop = [steps[0].clone(), steps[2].clone(), steps[1].clone()];
    let bus = Bus::new().await;
    let (lost, _) = migrate(&bus, &early_stop).await;
    assert_eq!(
        lost[1].len(),
        3,
        "v1 stopped while the consumer read it: {lost:?}"
    );
}
