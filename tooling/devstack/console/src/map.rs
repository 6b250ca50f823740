//! The service map, pure: the declared topology (each account with its
//! services, each service's functions, table and dead-letter queue, and
//! who delivers to whom) drawn before any traffic arrives, with the
//! recorded hops over it: each edge with its count, p50 latency and
//! failures over a window, and a declared delivery that carried nothing
//! in it marked so.

use std::collections::{BTreeMap, HashMap};

use devstack_api::telemetry::{DeadLettered, EventPut, Hop};
use serde::Serialize;

use crate::machines::Machine;
use crate::records::median;

/// The bus's node.
pub const BUS: &str = "EventBridge";

/// A rule's declared delivery: the consumer (`<service>/<LogicalId>`) and
/// the detail-types its pattern names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    pub function: String,
    pub detail_types: Vec<String>,
}

/// What one service's stack declares. Functions are named as the
/// telemetry names them, `<service>/<LogicalId>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Service {
    pub name: String,
    /// The account its stack is deployed in.
    pub account: String,
    pub functions: Vec<String>,
    /// The functions its HTTP API routes to.
    pub api: Vec<String>,
    /// The functions reading its table's stream.
    pub streams: Vec<String>,
    /// The functions its bucket's uploads trigger.
    pub uploads: Vec<String>,
    /// Its rules on the bus.
    pub rules: Vec<Declared>,
}

/// What the deployed stacks declare, drawn before any traffic arrives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Topology {
    /// The account that holds the bus: the platform's.
    pub platform_account: String,
    pub services: Vec<Service>,
}

impl Topology {
    fn account_of(&self, service: &str) -> Option<&str> {
        (self.services.iter())
            .find(|s| s.name == service)
            .map(|s| s.account.as_str())
    }

    /// Each declared delivery: its ends, its label and its kind, as a
    /// recorded hop of the same delivery is drawn.
    fn deliveries(&self) -> Vec<(Ends, &'static str)> {
        let mut out = Vec::new();
        for s in &self.services {
            for f in &s.api {
                out.push(((outside("http").into(), f.clone(), "http".into()), "http"));
            }
            for f in &s.streams {
                out.push(((table(&s.name), f.clone(), "stream".into()), "stream"));
            }
            for f in &s.uploads {
                out.push(((outside("s3").into(), f.clone(), "s3".into()), "s3"));
            }
            for d in &s.rules {
                for dt in &d.detail_types {
                    out.push(((BUS.into(), d.function.clone(), dt.clone()), "rule"));
                }
            }
        }
        out
    }

    /// Every resource node it declares, idle or not.
    fn resources(&self) -> impl Iterator<Item = String> + '_ {
        let services = self.services.iter().flat_map(|s| {
            (s.functions.iter().cloned()).chain([table(&s.name), format!("dlq:{}", s.name)])
        });
        std::iter::once(BUS.to_owned()).chain(services)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Node {
    pub id: String,
    /// `function`, `table`, `bus`, `queue` (a service's dead-letter
    /// queue), `state-machine` or `outside` (callers from outside the system: a browser, S3,
    /// Cognito, CloudFront, the Invoke API).
    pub kind: &'static str,
    /// The service a function or table belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The account that holds it; none for a caller from outside.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Edge {
    pub from: String,
    pub to: String,
    /// The hop kind: `http`, `stream`, `bus`, `rule`, `dynamodb`, …
    pub kind: String,
    /// The detail-type of a bus or rule edge; else the kind.
    pub label: String,
    pub count: usize,
    pub p50_ms: Option<f64>,
    pub failures: usize,
    /// False for a declared delivery that carried nothing.
    pub live: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Map {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    /// Each gradually deployed function's live version
    /// ([`crate::versions::live`]); none before its first redeploy.
    pub versions: BTreeMap<String, u32>,
}

/// An edge's from, to and label.
type Ends = (String, String, String);

/// An edge's kind, each delivery's milliseconds, and its failures.
type Tally = (String, Vec<f64>, usize);

/// The map of the hops that started at or after `since_ms` over the
/// declared topology: its resources, and its deliveries that carried none
/// of them.
///
/// What reached the bus comes from the events put (each names the
/// function that put it, when the judge knew its key), not from the bus
/// hops: a stream batch's PutEvents runs in each record's trace, beside
/// any other reader of the same stream.
/// What a map is drawn from: the recorded hops, the events put and the
/// work dead-lettered, and the state machines, whose tasks' invocations
/// the hops know only as Step Functions'.
pub struct Records<'a> {
    pub hops: &'a [Hop],
    pub events: &'a [EventPut],
    pub dead_letters: &'a [DeadLettered],
    pub machines: &'a [Machine],
}

pub fn draw(records: &Records, topology: &Topology, since_ms: f64) -> Map {
    let (hops, events) = (records.hops, records.events);
    let callers = Callers::of(hops);
    let mut grouped: BTreeMap<Ends, Tally> = BTreeMap::new();
    let mut add = |(from, to, label): Ends, kind: &str, ms: f64, ok: bool| {
        let entry = grouped
            .entry((from, to, label))
            .or_insert_with(|| (kind.to_owned(), Vec::new(), 0));
        entry.1.push(ms);
        entry.2 += usize::from(!ok);
    };
    for hop in hops
        .iter()
        .filter(|h| h.start_ms >= since_ms && h.kind != "bus")
    {
        let (from, to, label) = ends(hop, &callers);
        add(
            (by_machine(from, hop, records.machines), to, label),
            &hop.kind,
            hop.duration_ms,
            hop.outcome == "ok",
        );
    }
    for e in events.iter().filter(|e| e.at_ms >= since_ms) {
        let from = (e.publisher.clone())
            .or_else(|| {
                callers
                    .running(&e.trace_id, e.at_ms)
                    .map(|h| h.function.clone())
            })
            .unwrap_or_else(|| outside("bus").to_owned());
        let ends = (from, BUS.to_owned(), e.detail_type.clone());
        add(ends, "bus", e.duration_ms, e.outcome == "ok");
    }
    // Each service's dead-letter queue, as a node its failed work reaches.
    for d in records.dead_letters.iter().filter(|d| d.at_ms >= since_ms) {
        let queue = format!("dlq:{}", service_of(&d.function));
        add(
            (d.function.clone(), queue, d.destination.clone()),
            "dead-letter",
            0.0,
            false,
        );
    }
    let mut edges: Vec<Edge> = grouped
        .into_iter()
        .map(
            |((from, to, label), (kind, mut durations, failures))| Edge {
                from,
                to,
                // A dead letter has no duration of its own.
                p50_ms: (kind != "dead-letter")
                    .then(|| median(&mut durations))
                    .flatten(),
                kind,
                label,
                count: durations.len(),
                failures,
                live: true,
            },
        )
        .collect();
    for ((from, to, label), kind) in topology.deliveries() {
        let carried = (edges.iter()).any(|e| e.from == from && e.to == to && e.label == label);
        if !carried {
            edges.push(Edge {
                from,
                to,
                kind: kind.into(),
                label,
                count: 0,
                p50_ms: None,
                failures: 0,
                live: false,
            });
        }
    }
    let mut nodes: BTreeMap<String, Node> = BTreeMap::new();
    let ends = edges.iter().flat_map(|e| [e.from.clone(), e.to.clone()]);
    for id in topology.resources().chain(ends) {
        nodes
            .entry(id.clone())
            .or_insert_with(|| node(&id, topology));
    }
    Map {
        nodes: nodes.into_values().collect(),
        edges,
        versions: BTreeMap::new(),
    }
}

/// Who made a hop's call. A hop names its caller's segment when the caller
/// was an invocation; a call a function made itself (a PutEvents, a table
/// write) carries a subsegment of its own, so its caller is the function
/// of the same trace that was running when the call started (the one
/// started last, the innermost).
struct Callers<'a> {
    by_id: HashMap<(&'a str, &'a str), &'a Hop>,
    by_trace: HashMap<&'a str, Vec<&'a Hop>>,
}

impl<'a> Callers<'a> {
    fn of(hops: &'a [Hop]) -> Self {
        let mut by_trace: HashMap<&str, Vec<&Hop>> = HashMap::new();
        for h in hops
            .iter()
            .filter(|h| !matches!(h.kind.as_str(), "bus" | "dynamodb"))
        {
            by_trace.entry(h.trace_id.as_str()).or_default().push(h);
            // A stream batch runs in a trace of its own and publishes each
            // record's event in that record's trace, which it links.
            for linked in &h.links {
                by_trace.entry(linked.as_str()).or_default().push(h);
            }
        }
        Self {
            by_id: (hops.iter())
                .map(|h| ((h.trace_id.as_str(), h.id.as_str()), h))
                .collect(),
            by_trace,
        }
    }

    fn of_hop(&self, hop: &Hop) -> String {
        let parent = (hop.parent.as_deref())
            .and_then(|p| self.by_id.get(&(hop.trace_id.as_str(), p)).copied());
        let own_call = matches!(hop.kind.as_str(), "bus" | "dynamodb");
        let running = || {
            own_call
                .then(|| self.running(&hop.trace_id, hop.start_ms))
                .flatten()
        };
        match parent.or_else(running) {
            Some(p) if p.kind == "bus" => BUS.to_owned(),
            Some(p) => p.function.clone(),
            None if hop.detail == devstack_api::telemetry::STEP_FUNCTIONS => hop.detail.clone(),
            None => outside(&hop.kind).to_owned(),
        }
    }
}

impl<'a> Callers<'a> {
    /// The invocation of `trace` running at `at_ms` (the innermost).
    fn running(&self, trace: &str, at_ms: f64) -> Option<&'a Hop> {
        (self.by_trace.get(trace).into_iter().flatten())
            .filter(|h| h.start_ms <= at_ms && at_ms <= h.start_ms + h.duration_ms)
            .max_by(|a, b| a.start_ms.total_cmp(&b.start_ms))
            .copied()
    }
}

/// Where a hop came from and went to on the map, and its label.
fn ends(hop: &Hop, callers: &Callers) -> Ends {
    match hop.kind.as_str() {
        "rule" => (BUS.into(), hop.function.clone(), hop.detail.clone()),
        // Physical table names start with their stack's: `todos-Table-…`.
        "dynamodb" => {
            let service = hop.function.split('-').next().unwrap_or(&hop.function);
            (callers.of_hop(hop), table(service), "write".into())
        }
        // A service's stream readers read its own table.
        "stream" => (
            table(service_of(&hop.function)),
            hop.function.clone(),
            "stream".into(),
        ),
        kind => (callers.of_hop(hop), hop.function.clone(), kind.to_owned()),
    }
}

/// Step Functions as a caller is the state machine whose tasks invoke the
/// function, when exactly one does: `states:<service>/<name>`.
fn by_machine(from: String, hop: &Hop, machines: &[Machine]) -> String {
    if from != devstack_api::telemetry::STEP_FUNCTIONS {
        return from;
    }
    let mut invoking = machines
        .iter()
        .filter(|m| m.functions.contains(&hop.function));
    match (invoking.next(), invoking.next()) {
        (Some(m), None) => format!("states:{}/{}", service_of(&hop.function), m.name),
        _ => from,
    }
}

/// A caller from outside the recorded functions, by how its call arrived:
/// the Lambda Invoke API's callers (Step Functions' tasks, ops's replays,
/// a person) are named by the API, which is all the hop knows of them.
fn outside(kind: &str) -> &'static str {
    match kind {
        "s3" => "S3",
        "cognito" => "Cognito",
        "function-url" => "CloudFront",
        "invoke" | "async" => "Invoke API",
        _ => "client",
    }
}

fn table(service: &str) -> String {
    format!("table:{service}")
}

fn service_of(function: &str) -> &str {
    function.split('/').next().unwrap_or(function)
}

fn node(id: &str, topology: &Topology) -> Node {
    let (kind, service) = if id == BUS {
        ("bus", None)
    } else if let Some(service) = id.strip_prefix("table:") {
        ("table", Some(service.to_owned()))
    } else if let Some(service) = id.strip_prefix("dlq:") {
        ("queue", Some(service.to_owned()))
    } else if let Some(machine) = id.strip_prefix("states:") {
        ("state-machine", Some(service_of(machine).to_owned()))
    } else if id.contains('/') {
        ("function", Some(service_of(id).to_owned()))
    } else {
        ("outside", None)
    };
    let account = match &service {
        _ if kind == "bus" => Some(topology.platform_account.as_str()),
        Some(s) => topology.account_of(s),
        None => None,
    };
    Node {
        id: id.to_owned(),
        kind,
        service,
        account: account.filter(|a| !a.is_empty()).map(str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hop(
        trace: &str,
        id: &str,
        parent: Option<&str>,
        kind: &str,
        function: &str,
        detail: &str,
    ) -> Hop {
        Hop {
            trace_id: trace.into(),
            id: id.into(),
            parent: parent.map(str::to_owned),
            kind: kind.into(),
            function: function.into(),
            detail: detail.into(),
            start_ms: 1000.0,
            duration_ms: 10.0,
            outcome: "ok".into(),
            correlation_ids: vec![],
            links: vec![],
        }
    }

    /// A todo completed, as the cloud records it: the API writes (trace
    /// t1); the stream batch runs in a trace of its own (t2) linking t1,
    /// and publishes the event in t1 with a subsegment of its own; the bus
    /// delivers to notifications twice, once failing.
    fn completed() -> Vec<Hop> {
        let at = |mut h: Hop, start: f64, duration: f64| {
            h.start_ms = start;
            h.duration_ms = duration;
            h
        };
        let mut stream = at(
            hop(
                "t2",
                "p",
                None,
                "stream",
                "todos/PublisherFunction",
                "1 record(s)",
            ),
            1012.0,
            50.0,
        );
        stream.links = vec!["t1".into()];
        let mut failed = at(
            hop(
                "t1",
                "d",
                Some("s"),
                "rule",
                "notifications/ConsumerFunction",
                "TodoCompleted",
            ),
            1040.0,
            10.0,
        );
        failed.outcome = "Unhandled".into();
        vec![
            at(
                hop(
                    "t1",
                    "a",
                    None,
                    "http",
                    "todos/ApiFunction",
                    "POST /todos/{id}/complete",
                ),
                1000.0,
                10.0,
            ),
            at(
                hop(
                    "t1",
                    "w",
                    Some("x"),
                    "dynamodb",
                    "todos-Table-X",
                    "UpdateItem",
                ),
                1004.0,
                3.0,
            ),
            stream,
            at(
                hop("t1", "b", Some("s"), "bus", BUS, "PutEvents TodoCompleted"),
                1020.0,
                5.0,
            ),
            at(
                hop(
                    "t1",
                    "c",
                    Some("s"),
                    "rule",
                    "notifications/ConsumerFunction",
                    "TodoCompleted",
                ),
                1040.0,
                30.0,
            ),
            failed,
        ]
    }

    fn records<'a>(hops: &'a [Hop], events: &'a [EventPut]) -> Records<'a> {
        Records {
            hops,
            events,
            dead_letters: &[],
            machines: &[],
        }
    }

    #[test]
    fn failed_work_reaches_its_services_dead_letter_queue() {
        let dead = [DeadLettered {
            function: "notifications/ConsumerFunction".into(),
            at_ms: 1100.0,
            trace_id: None,
            destination: "dlq".into(),
            error: "missing field `title`".into(),
        }];
        let map = draw(
            &Records {
                hops: &completed(),
                events: &put(None),
                dead_letters: &dead,
                machines: &[],
            },
            &Topology::default(),
            0.0,
        );
        let edge = (map.edges.iter())
            .find(|e| e.to == "dlq:notifications")
            .unwrap();
        assert_eq!(
            (edge.from.as_str(), edge.count, edge.failures),
            ("notifications/ConsumerFunction", 1, 1)
        );
        let queue = map
            .nodes
            .iter()
            .find(|n| n.id == "dlq:notifications")
            .unwrap();
        assert_eq!(queue.kind, "queue");
    }

    /// The TodoCompleted event put in t1 while the batch ran.
    fn put(publisher: Option<&str>) -> Vec<EventPut> {
        vec![EventPut {
            trace_id: "t1".into(),
            at_ms: 1020.0,
            duration_ms: 5.0,
            publisher: publisher.map(str::to_owned),
            source: "app.todos".into(),
            detail_type: "TodoCompleted".into(),
            outcome: "ok".into(),
            correlation_ids: vec![],
            detail: serde_json::json!({}),
        }]
    }

    #[test]
    fn the_publisher_the_judge_named_wins_over_another_reader_running() {
        let mut hops = completed();
        let mut deliverer = hops[2].clone();
        deliverer.function = "todos/OtherReaderFunction".into();
        deliverer.start_ms = 1015.0;
        hops.push(deliverer);
        let guessed = draw(&records(&hops, &put(None)), &Topology::default(), 0.0);
        assert!(
            guessed
                .edges
                .iter()
                .any(|e| e.from == "todos/OtherReaderFunction" && e.to == BUS)
        );
        let named = draw(
            &records(&hops, &put(Some("todos/PublisherFunction"))),
            &Topology::default(),
            0.0,
        );
        let to_bus: Vec<&str> = (named.edges.iter())
            .filter(|e| e.to == BUS)
            .map(|e| e.from.as_str())
            .collect();
        assert_eq!(to_bus, ["todos/PublisherFunction"]);
    }

    #[test]
    fn edges_follow_what_was_delivered_with_counts_p50_and_failures() {
        let map = draw(
            &records(&completed(), &put(None)),
            &Topology::default(),
            0.0,
        );
        let find = |from: &str, to: &str| {
            map.edges
                .iter()
                .find(|e| e.from == from && e.to == to)
                .unwrap_or_else(|| panic!("{from} → {to}: {:?}", map.edges))
        };
        assert_eq!(find("client", "todos/ApiFunction").count, 1);
        assert_eq!(find("todos/ApiFunction", "table:todos").label, "write");
        assert_eq!(
            find("table:todos", "todos/PublisherFunction").kind,
            "stream"
        );
        assert_eq!(find("todos/PublisherFunction", BUS).label, "TodoCompleted");
        let delivered = find(BUS, "notifications/ConsumerFunction");
        assert_eq!(
            (delivered.count, delivered.failures, delivered.p50_ms),
            (2, 1, Some(30.0))
        );
        let table = map.nodes.iter().find(|n| n.id == "table:todos").unwrap();
        assert_eq!(
            (table.kind, table.service.as_deref()),
            ("table", Some("todos"))
        );
    }

    /// todos and notifications in accounts of their own, the bus in the
    /// platform's.
    fn topology() -> Topology {
        Topology {
            platform_account: "111111111111".into(),
            services: vec![
                Service {
                    name: "todos".into(),
                    account: "222222222222".into(),
                    functions: vec!["todos/ApiFunction".into(), "todos/PublisherFunction".into()],
                    api: vec!["todos/ApiFunction".into()],
                    streams: vec!["todos/PublisherFunction".into()],
                    ..Service::default()
                },
                Service {
                    name: "notifications".into(),
                    account: "333333333333".into(),
                    functions: vec!["notifications/ConsumerFunction".into()],
                    rules: vec![Declared {
                        function: "notifications/ConsumerFunction".into(),
                        detail_types: vec!["TodoCompleted".into(), "UserRegistered".into()],
                    }],
                    ..Service::default()
                },
            ],
        }
    }

    #[test]
    fn a_declared_delivery_that_carried_nothing_is_drawn_not_live() {
        let map = draw(&records(&completed(), &put(None)), &topology(), 0.0);
        let idle: Vec<&Edge> = map.edges.iter().filter(|e| !e.live).collect();
        assert_eq!(idle.len(), 1, "{:?}", map.edges);
        assert_eq!(
            (idle[0].label.as_str(), idle[0].count),
            ("UserRegistered", 0)
        );
    }

    #[test]
    fn before_any_traffic_each_account_holds_its_services_resources_and_deliveries() {
        let map = draw(&records(&[], &[]), &topology(), 0.0);
        let placed: Vec<(&str, &str, Option<&str>)> = (map.nodes.iter())
            .map(|n| (n.id.as_str(), n.kind, n.account.as_deref()))
            .collect();
        assert_eq!(
            placed,
            [
                ("EventBridge", "bus", Some("111111111111")),
                ("client", "outside", None),
                ("dlq:notifications", "queue", Some("333333333333")),
                ("dlq:todos", "queue", Some("222222222222")),
                (
                    "notifications/ConsumerFunction",
                    "function",
                    Some("333333333333")
                ),
                ("table:notifications", "table", Some("333333333333")),
                ("table:todos", "table", Some("222222222222")),
                ("todos/ApiFunction", "function", Some("222222222222")),
                ("todos/PublisherFunction", "function", Some("222222222222")),
            ]
        );
        let idle: Vec<(&str, &str, &str)> = (map.edges.iter())
            .map(|e| {
                assert!(!e.live && e.count == 0, "{e:?}");
                (e.from.as_str(), e.to.as_str(), e.label.as_str())
            })
            .collect();
        assert_eq!(
            idle,
            [
                ("client", "todos/ApiFunction", "http"),
                ("table:todos", "todos/PublisherFunction", "stream"),
                (
                    "EventBridge",
                    "notifications/ConsumerFunction",
                    "TodoCompleted"
                ),
                (
                    "EventBridge",
                    "notifications/ConsumerFunction",
                    "UserRegistered"
                ),
            ]
        );
    }

    #[test]
    fn a_recorded_hop_is_drawn_over_its_declared_delivery_not_beside_it() {
        let map = draw(&records(&completed(), &put(None)), &topology(), 0.0);
        let stream: Vec<&Edge> = (map.edges.iter())
            .filter(|e| e.from == "table:todos" && e.to == "todos/PublisherFunction")
            .collect();
        assert_eq!(stream.len(), 1, "{stream:?}");
        assert!(stream[0].live && stream[0].count == 1, "{stream:?}");
    }

    #[test]
    fn a_caller_outside_is_named_by_how_its_call_arrived() {
        let hops = [
            hop(
                "t",
                "s",
                None,
                "invoke",
                "campaigns/SendFunction",
                "Step Functions",
            ),
            hop(
                "u",
                "c",
                None,
                "cognito",
                "users/IdentityFunction",
                "PreSignUp",
            ),
            hop("v", "r", None, "invoke", "todos/ApiFunction", "Invoke API"),
        ];
        let map = draw(&records(&hops, &[]), &Topology::default(), 0.0);
        let from: Vec<&str> = map.edges.iter().map(|e| e.from.as_str()).collect();
        assert_eq!(from, ["Cognito", "Invoke API", "Step Functions"]);
    }

    #[test]
    fn step_functions_is_the_state_machine_whose_tasks_invoke_the_function() {
        let called =
            |function: &str| hop("t", function, None, "invoke", function, "Step Functions");
        let hops = [
            called("campaigns/SendFunction"),
            called("campaigns/SharedFunction"),
            called("campaigns/UnlistedFunction"),
        ];
        let machine = |name: &str, functions: &[&str]| Machine {
            name: name.into(),
            functions: functions.iter().map(|f| f.to_string()).collect(),
        };
        let machines = [
            machine(
                "Flow-1A",
                &["campaigns/SendFunction", "campaigns/SharedFunction"],
            ),
            machine("Other-2B", &["campaigns/SharedFunction"]),
        ];
        let map = draw(
            &Records {
                machines: &machines,
                ..records(&hops, &[])
            },
            &Topology::default(),
            0.0,
        );
        let from: Vec<(&str, &str)> = (map.edges.iter())
            .map(|e| (e.from.as_str(), e.to.as_str()))
            .collect();
        assert_eq!(
            from,
            [
                ("Step Functions", "campaigns/SharedFunction"),
                ("Step Functions", "campaigns/UnlistedFunction"),
                ("states:campaigns/Flow-1A", "campaigns/SendFunction"),
            ]
        );
        let node = map
            .nodes
            .iter()
            .find(|n| n.id == "states:campaigns/Flow-1A");
        assert_eq!(
            node.map(|n| (n.kind, n.service.as_deref())),
            Some(("state-machine", Some("campaigns")))
        );
    }

    #[test]
    fn the_window_leaves_older_hops_out() {
        let map = draw(
            &records(&completed(), &put(None)),
            &Topology::default(),
            3000.0,
        );
        assert!(map.edges.is_empty(), "{:?}", map.edges);
    }
}
