//! The crate-to-crate arrows: each one in the table, none from the
//! product into the machinery.

use super::*;

/// Every allowed arrow: a crate and the workspace crates it builds with
/// (normal and build dependencies; tests may use anything). Arrows point
/// down: services never depend on each other, `events` knows no service
/// and no SDK, `ops` works without the local cloud, the local cloud's
/// client never links the cloud, the compatibility engine knows no project
/// crate. Keep ARCHITECTURE.md's code map in step.
const ALLOWED: &[(&str, &[&str])] = &[
    ("compat", &[]),
    // EventBridge's pattern language, pure: ops routes and replays with
    // it; the contract tools judge consumers' rules with it.
    ("event-pattern", &[]),
    ("events", &[]),
    // Who publishes and consumes what, one file per team: typed on the
    // events alone. No service depends on it (a declaration rebuilds no
    // service); the tools that reason about the whole bus do.
    ("declarations", &["events"]),
    // The one list of services lives in `events`, whose crates need a
    // module per service; the tools read it through repo.
    ("repo", &["events"]),
    ("kit", &["events"]),
    // The endpoints file is the local cloud's process boundary; ops reads
    // it typed through the boundary crate alone, never the cloud.
    (
        "ops",
        &[
            "declarations",
            "devstack-api",
            "event-pattern",
            "kit",
            "repo",
        ],
    ),
    // The contract tools: schemas judged with the compatibility engine,
    // consumers' rules with the matcher ops routes with, the declarations
    // as every tool reads them.
    (
        "governance",
        &["compat", "declarations", "event-pattern", "events", "repo"],
    ),
    // A dispatcher over the contract tools. The test command reads the
    // tests' local clouds' telemetry records (typed, from the boundary
    // crate) to name the event edges no test exercised; `schemas diff`
    // calls the compatibility engine itself.
    (
        "xtask",
        &[
            "compat",
            "declarations",
            "devstack-api",
            "governance",
            "repo",
        ],
    ),
    ("devstack-api", &[]),
    // moto's server with its launch script: the local cloud's, never a
    // function's. kit gives it the one SDK configuration for an endpoint
    // and the stream record shape.
    ("devstack-emulator", &["kit"]),
    ("devstack-template", &["repo"]),
    // S3's event notification payloads, which moto does not send, come
    // from the emulator crate.
    (
        "devstack-lambda",
        &["devstack-api", "devstack-emulator", "kit"],
    ),
    ("devstack-gateway", &["devstack-lambda", "kit"]),
    // Step Functions on moto's interpreter; the third-party sender's
    // stand-in knows no project crate (it is someone else's product).
    // It marks the Invoke calls it forwards (the header, defined once in
    // the boundary crate), so an invocation's hop names Step Functions.
    ("devstack-sfn", &["devstack-api", "kit"]),
    ("devstack-sender", &[]),
    // An outside identity provider's stand-in: someone else's product too.
    ("devstack-idp", &[]),
    // CloudFront played locally: its origins are the caller's to read.
    ("devstack-cdn", &[]),
    // The console reads the telemetry records (typed, from the boundary
    // crate) and acts through the ops binary, never the cloud's state; it
    // reads an execution with the Step Functions piece's own parser.
    ("devstack-console", &["devstack-api", "devstack-sfn"]),
    // The judge of AWS calls: pure, on a policy evaluator and the SDK's
    // signer, knowing no project crate; the cloud hands it the policies.
    ("devstack-iam", &[]),
    // Each deploy tags its stack with the contract the service carries
    // (declarations::Carried), as the workflows' `sam deploy --tags` do;
    // it seeds the stacks' secrets as an operator does (`ops::secret_store`),
    // so that writing a secret is no function's code; the bus's matcher
    // is `event-pattern`'s, so the engine delivers as the checks judge.
    (
        "devstack-cloud",
        &[
            "declarations",
            "devstack-api",
            "devstack-cdn",
            "devstack-console",
            "devstack-emulator",
            "devstack-gateway",
            "devstack-iam",
            "devstack-idp",
            "devstack-lambda",
            "devstack-sender",
            "devstack-sfn",
            "devstack-template",
            "event-pattern",
            "kit",
            "ops",
            "repo",
        ],
    ),
    ("devstack-client", &["devstack-api", "kit", "ops", "repo"]),
    // What the system's tests and the local cloud's own share: a kept
    // cloud, clients of it, a browser; it reaches a team's account as
    // `ops` does. Only tests depend on it.
    (
        "devstack-testkit",
        &[
            "devstack-client",
            "devstack-cloud",
            "events",
            "kit",
            "ops",
            "repo",
        ],
    ),
    // `devstack executions` reads and renders a history with the Step
    // Functions piece's own parser; `devstack least-privilege` reports with
    // the judge's; `devstack engine` becomes the emulator crate's engine.
    (
        "devstack",
        &[
            "devstack-api",
            "devstack-client",
            "devstack-cloud",
            "devstack-emulator",
            "devstack-iam",
            "devstack-sfn",
            "repo",
        ],
    ),
    ("tests", &[]),
];

/// Each crate's workspace dependencies, by name.
fn arrows(ws: &Workspace) -> BTreeMap<String, BTreeSet<String>> {
    let name_of = |dir: &Path| {
        ws.packages
            .iter()
            .find(|p| p.dir == dir)
            .map(|p| p.name.clone())
            .expect("a path dependency is a workspace crate")
    };
    ws.packages
        .iter()
        .map(|p| {
            let deps = p.path_deps.iter().map(|d| name_of(d)).collect();
            (p.name.clone(), deps)
        })
        .collect()
}

/// What every service (`repo::SERVICES`) may build with: the contracts
/// and the shared plumbing, never another service.
const SERVICE_ARROWS: &[&str] = &["events", "kit"];

/// The arrows that are not in the table, and the crates it does not know.
fn unreviewed(actual: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let services = repo::SERVICES.iter().map(|s| (*s, SERVICE_ARROWS));
    let allowed: BTreeMap<&str, BTreeSet<&str>> = (ALLOWED.iter().copied())
        .chain(services)
        .map(|(c, deps)| (c, deps.iter().copied().collect()))
        .collect();
    let mut problems = Vec::new();
    for (krate, deps) in actual {
        let Some(ok) = allowed.get(krate.as_str()) else {
            problems.push(format!("{krate}: a crate the layout table does not list"));
            continue;
        };
        for dep in deps {
            if !ok.contains(dep.as_str()) {
                problems.push(format!(
                    "{krate} → {dep}: an arrow the layout table does not allow"
                ));
            }
        }
    }
    problems
}

/// The product a team copies: the services, their event types and
/// declared contracts, and the plumbing every function links. The other
/// crates are the machinery that builds, checks and plays it, which the
/// product never builds with, whatever the table above says.
const PRODUCT: &[&str] = &["declarations", "events", "kit"];

/// The arrows from a product crate (`PRODUCT` and every service) to a
/// crate outside the product.
fn into_machinery(arrows: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let product: BTreeSet<&str> = (PRODUCT.iter().copied())
        .chain(repo::SERVICES.iter().copied())
        .collect();
    arrows
        .iter()
        .filter(|(krate, _)| product.contains(krate.as_str()))
        .flat_map(|(krate, deps)| {
            deps.iter()
                .filter(|d| !product.contains(d.as_str()))
                .map(move |d| format!("{krate} → {d}: the product builds with the machinery"))
        })
        .collect()
}

#[test]
fn no_product_crate_builds_with_the_machinery() {
    assert_eq!(into_machinery(&arrows(&workspace())), Vec::<String>::new());
    let table = ALLOWED
        .iter()
        .map(|(krate, deps)| {
            (
                krate.to_string(),
                deps.iter().map(|d| d.to_string()).collect(),
            )
        })
        .collect();
    assert_eq!(
        into_machinery(&table),
        Vec::<String>::new(),
        "the table allows it"
    );
}

#[test]
fn a_product_crate_that_builds_with_the_machinery_is_named() {
    let set = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<BTreeSet<_>>();
    let arrows = BTreeMap::from([
        ("kit".to_owned(), set(&["events", "devstack-api"])),
        ("users".to_owned(), set(&["kit", "repo"])),
        ("ops".to_owned(), set(&["kit", "repo"])),
    ]);
    assert_eq!(
        into_machinery(&arrows),
        [
            "kit → devstack-api: the product builds with the machinery",
            "users → repo: the product builds with the machinery",
        ]
    );
}

#[test]
fn every_crate_arrow_is_in_the_table() {
    let problems = unreviewed(&arrows(&workspace()));
    assert!(
        problems.is_empty(),
        "a new crate-to-crate arrow is a design change: add it to ALLOWED in tests/tests/all/layout/arrows.rs \
         and to ARCHITECTURE.md, with the reason\n{}",
        problems.join("\n")
    );
}

#[test]
fn a_new_arrow_is_refused_by_name() {
    let mut actual = arrows(&workspace());
    actual
        .get_mut("events")
        .expect("events is a crate")
        .insert("kit".into());
    actual
        .get_mut("campaigns")
        .expect("campaigns is a service")
        .insert("users".into());
    actual.insert("reports".into(), BTreeSet::new());
    assert_eq!(
        unreviewed(&actual),
        [
            "campaigns → users: an arrow the layout table does not allow",
            "events → kit: an arrow the layout table does not allow",
            "reports: a crate the layout table does not list",
        ]
    );
}
