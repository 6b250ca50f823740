//! `cargo xtask new-service <name>`: a service crate in the house shape,
//! from `tooling/xtask/templates/service/`, registered in the one list of services.
//!
//! The skeleton is a working service: a per-user resource behind an HTTP
//! API (create, list, read), its table with stream, a consumer that erases
//! a deleted user's data and writes the receipt whose insert the publisher
//! turns into the service's `UserDataErased` (its contract folder declares
//! that event, with its type and example), its tests, and a template with everything
//! the other stacks have (DLQ topic → queue under the service's own key,
//! alarms, dashboard, tracing, retention, point-in-time recovery,
//! throttling, access logs).
//!
//! Registration is four edits: the workspace (`Cargo.toml`: member and
//! dependency entry), `repo::SERVICES`, the `contracts` crate, which
//! compiles the service's declaration from its folder
//! (`contract/declaration.rs`) and lists it in `contracts::SERVICES`, and
//! the `events` crate, which compiles its event types from there
//! (`contract/events.rs`) and lists its UserDataErased in the catalog. Everything else (the local cloud, the
//! workflows, CODEOWNERS, the catalog and the AsyncAPI document) reads
//! those.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// The skeleton, relative to the repository root.
pub const TEMPLATE_DIR: &str = repo::paths::SERVICE_SKELETON;

/// The names a skeleton file is written with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// `campaigns`: crate, stack, route and metric namespace.
    pub service: String,
    /// `campaign`: one of what the service holds.
    pub item: String,
}

impl Names {
    /// A service name is what a crate, a stack, a route, an event source
    /// (`app.<name>`) and a CODEOWNERS team can all be: lowercase ASCII
    /// letters, 3 to 30 of them.
    pub fn new(service: &str, item: Option<&str>) -> Result<Self> {
        let valid =
            |s: &str| (3..=30).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_lowercase());
        if !valid(service) {
            bail!("{service:?}: a service name is 3 to 30 lowercase ASCII letters");
        }
        let item = match item {
            Some(i) => i.to_owned(),
            None => service
                .strip_suffix('s')
                .filter(|i| i.len() >= 3)
                .with_context(|| {
                    format!("{service:?} does not end in a plural s: say what one of its items is called with --item")
                })?
                .to_owned(),
        };
        if !valid(&item) || item == service {
            bail!(
                "{item:?}: an item name is 3 to 30 lowercase ASCII letters, other than the service's"
            );
        }
        Ok(Self {
            service: service.to_owned(),
            item,
        })
    }

    /// Every placeholder the skeleton uses, with its value.
    fn pairs(&self) -> [(&'static str, String); 6] {
        [
            ("{{service}}", self.service.clone()),
            ("{{Service}}", capitalised(&self.service)),
            ("{{Items}}", capitalised(&self.service)),
            ("{{item}}", self.item.clone()),
            ("{{Item}}", capitalised(&self.item)),
            ("{{ITEM}}", self.item.to_ascii_uppercase()),
        ]
    }

    pub fn fill(&self, text: &str) -> String {
        self.pairs()
            .iter()
            .fold(text.to_owned(), |t, (from, to)| t.replace(from, to))
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

/// What `create` wrote and changed, for the report.
#[derive(Debug, Default)]
pub struct Created {
    pub files: Vec<PathBuf>,
    pub registered: Vec<PathBuf>,
}

/// Writes the service under `product/services/<name>` and registers it. Refuses
/// a name already taken, and changes nothing then.
pub fn create(root: &Path, names: &Names) -> Result<Created> {
    let dir = repo::service_dir_in(root, &names.service);
    if dir.exists() {
        bail!("{} exists already", dir.display());
    }
    if repo::SERVICES.contains(&names.service.as_str()) {
        bail!("{} is in repo::SERVICES already", names.service);
    }
    let cargo = root.join("Cargo.toml");
    let services = root.join(repo::paths::REPO_LIB);
    let contracts = root.join(repo::paths::CONTRACTS_LIB);
    let events = root.join(repo::paths::EVENTS_LIB);
    let catalog = root.join(repo::paths::EVENTS_CATALOG);
    let new_cargo = register_crate(&read(&cargo)?, &names.service)?;
    let new_services = register_service(&read(&services)?, &names.service)?;
    let new_contracts = register_declaration(&read(&contracts)?, &names.service)?;
    let new_events = register_event_types(&read(&events)?, &names.service)?;
    let new_catalog = register_erasure_event(&read(&catalog)?, names)?;
    let mut created = Created::default();
    for source in skeleton_files(&root.join(TEMPLATE_DIR))? {
        let relative = source.strip_prefix(root.join(TEMPLATE_DIR))?;
        let target = dir.join(names.fill(&relative.to_string_lossy()));
        fs::create_dir_all(target.parent().context("a file has a folder")?)?;
        fs::write(&target, names.fill(&read(&source)?))
            .with_context(|| format!("writing {}", target.display()))?;
        created.files.push(target);
    }
    fs::write(&cargo, new_cargo)?;
    fs::write(&services, new_services)?;
    fs::write(&contracts, new_contracts)?;
    fs::write(&events, new_events)?;
    fs::write(&catalog, new_catalog)?;
    created.registered = vec![cargo, services, contracts, events, catalog];
    Ok(created)
}

fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

fn skeleton_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The workspace with the service as a member and a dependency entry, each
/// after the last service's.
pub fn register_crate(cargo_toml: &str, service: &str) -> Result<String> {
    let dir = repo::paths::SERVICES_DIR;
    let member = format!("    \"{dir}/{service}\",\n");
    let dependency = format!("{service} = {{ path = \"{dir}/{service}\" }}\n");
    let text = insert_after_last(cargo_toml, &format!("    \"{dir}/"), &member)?;
    insert_after_last(&text, &format!("= {{ path = \"{dir}/"), &dependency)
}

/// `repo::SERVICES` with the service appended: it deploys last.
pub fn register_service(repo_lib: &str, service: &str) -> Result<String> {
    let start = repo_lib
        .find("pub const SERVICES: &[&str] = &[")
        .with_context(|| {
            format!(
                "{} has no `pub const SERVICES: &[&str] = &[`",
                repo::paths::REPO_LIB
            )
        })?;
    let end = start
        + repo_lib[start..]
            .find("];")
            .context("SERVICES is not closed")?;
    let list = &repo_lib[start..end];
    let entry = if list.trim_end().ends_with(',') || list.ends_with('[') {
        format!("\"{service}\"")
    } else {
        format!(", \"{service}\"")
    };
    Ok(format!("{}{entry}{}", &repo_lib[..end], &repo_lib[end..]))
}

/// The `contracts` crate with the service's module (its declaration,
/// compiled from the service's folder) and its declaration last in
/// `SERVICES`.
pub fn register_declaration(contracts_lib: &str, service: &str) -> Result<String> {
    let text = with_module_from(
        contracts_lib,
        repo::paths::CONTRACTS_LIB,
        &repo::paths::declaration_file(service),
        service,
    )?;
    insert_after_last(
        &text,
        "::DECLARATION,",
        &format!("    {service}::DECLARATION,\n"),
    )
}

/// The `events` crate with the service's module (its event types,
/// compiled from the service's folder).
pub fn register_event_types(events_lib: &str, service: &str) -> Result<String> {
    with_module_from(
        events_lib,
        repo::paths::EVENTS_LIB,
        &repo::paths::event_types_file(service),
        service,
    )
}

/// `lib`, the crate root at `lib_path`, with the module `name` compiled
/// from `file` (`#[path]`), among its modules.
fn with_module_from(lib: &str, lib_path: &str, file: &str, name: &str) -> Result<String> {
    let from = repo::paths::relative(lib_path, file);
    with_module(
        lib,
        name,
        &format!("#[path = \"{from}\"]\npub mod {name};\n"),
    )
}

/// The catalog with the service's UserDataErased last.
pub fn register_erasure_event(catalog: &str, names: &Names) -> Result<String> {
    let spec =
        names.fill("        EventSpec::of::<crate::{{service}}::{{Items}}UserErasedV1>(),\n");
    insert_after_last(catalog, "EventSpec::of::<", &spec)
}

/// `lib` with `module` (its lines, `pub mod <name>;` last) among the
/// modules in name order, as rustfmt keeps them: before the first later
/// module and the attribute lines above it.
fn with_module(lib: &str, name: &str, module: &str) -> Result<String> {
    let lines: Vec<&str> = lib.split_inclusive('\n').collect();
    let declared = format!("pub mod {name};");
    let later = lines
        .iter()
        .position(|l| l.starts_with("pub mod ") && l.trim_end().as_bytes() > declared.as_bytes());
    let Some(mut at) = later else {
        return insert_after_last(lib, "pub mod ", module);
    };
    while at > 0 && lines[at - 1].starts_with("#[") {
        at -= 1;
    }
    Ok(format!(
        "{}{module}{}",
        lines[..at].concat(),
        lines[at..].concat()
    ))
}

/// `text` with `insert` as a new line after the last line containing `marker`.
fn insert_after_last(text: &str, marker: &str, insert: &str) -> Result<String> {
    let at = text
        .rfind(marker)
        .with_context(|| format!("no line with {marker:?}"))?;
    let line_end = at + text[at..].find('\n').context("the last line has no end")? + 1;
    Ok(format!(
        "{}{insert}{}",
        &text[..line_end],
        &text[line_end..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_service() {
        let n = Names::new("campaigns", None).unwrap();
        assert_eq!(n.item, "campaign");
        assert_eq!(
            n.fill("{{Item}} {{ITEM}}# /{{service}} {{Items}} {{item}}"),
            "Campaign CAMPAIGN# /campaigns Campaigns campaign"
        );
        assert!(Names::new("Campaigns", None).is_err());
        assert!(Names::new("mail-out", None).is_err());
        assert!(Names::new("inbox", None).is_err(), "no plural s, no --item");
        assert_eq!(Names::new("inbox", Some("letter")).unwrap().item, "letter");
    }

    #[test]
    fn the_workspace_gets_a_member_and_a_dependency_after_the_last_service() {
        let cargo = "members = [\n    \"kit\",\n    \"product/services/users\",\n    \"tests\",\n]\n\n[workspace.dependencies]\nusers = { path = \"product/services/users\" }\nxtask = { path = \"xtask\" }\n";
        let out = register_crate(cargo, "campaigns").unwrap();
        assert_eq!(
            out,
            "members = [\n    \"kit\",\n    \"product/services/users\",\n    \"product/services/campaigns\",\n    \"tests\",\n]\n\n[workspace.dependencies]\nusers = { path = \"product/services/users\" }\ncampaigns = { path = \"product/services/campaigns\" }\nxtask = { path = \"xtask\" }\n"
        );
    }

    #[test]
    fn the_service_is_appended_to_the_one_list() {
        let lib = "pub const SERVICES: &[&str] = &[\"users\", \"todos\"];\n";
        assert_eq!(
            register_service(lib, "campaigns").unwrap(),
            "pub const SERVICES: &[&str] = &[\"users\", \"todos\", \"campaigns\"];\n"
        );
        assert!(register_service("const X: u8 = 1;", "campaigns").is_err());
    }

    #[test]
    fn the_declaration_is_a_module_from_the_service_folder_and_the_last_of_the_services() {
        let path = |s: &str| format!("#[path = \"../../services/{s}/contract/declaration.rs\"]\n");
        let lib = format!(
            "{}pub mod todos;\n{}pub mod users;\n\npub const SERVICES: &[Service] = &[\n    users::DECLARATION,\n    todos::DECLARATION,\n];\n",
            path("todos"),
            path("users")
        );
        assert_eq!(
            register_declaration(&lib, "campaigns").unwrap(),
            format!(
                "{}pub mod campaigns;\n{}pub mod todos;\n{}pub mod users;\n\npub const SERVICES: &[Service] = &[\n    users::DECLARATION,\n    todos::DECLARATION,\n    campaigns::DECLARATION,\n];\n",
                path("campaigns"),
                path("todos"),
                path("users")
            )
        );
        let last = register_declaration(&lib, "zebras").unwrap();
        assert!(
            last.starts_with(&format!(
                "{}pub mod todos;\n{}pub mod users;\n{}pub mod zebras;\n",
                path("todos"),
                path("users"),
                path("zebras")
            )),
            "{last}"
        );
        assert!(register_declaration("const X: u8 = 1;", "campaigns").is_err());
    }

    #[test]
    fn the_event_types_are_a_module_and_the_erasure_event_is_in_the_catalog() {
        let lib =
            "mod wire;\n\n#[path = \"../../services/todos/contract/events.rs\"]\npub mod todos;\n";
        assert_eq!(
            register_event_types(lib, "invoices").unwrap(),
            "mod wire;\n\n#[path = \"../../services/invoices/contract/events.rs\"]\npub mod invoices;\n#[path = \"../../services/todos/contract/events.rs\"]\npub mod todos;\n"
        );
        let catalog = "    vec![\n        EventSpec::of::<todos::TodoCreatedV1>(),\n    ]\n";
        let names = Names::new("invoices", None).unwrap();
        assert_eq!(
            register_erasure_event(catalog, &names).unwrap(),
            "    vec![\n        EventSpec::of::<todos::TodoCreatedV1>(),\n        EventSpec::of::<crate::invoices::InvoicesUserErasedV1>(),\n    ]\n"
        );
    }

    /// Every placeholder in the skeleton is one `fill` knows, so no
    /// `{{…}}` reaches a generated file.
    #[test]
    fn the_skeleton_uses_only_known_placeholders() {
        let root = repo::root();
        let names = Names::new("campaigns", None).unwrap();
        let files = skeleton_files(&root.join(TEMPLATE_DIR)).unwrap();
        assert!(files.len() >= 10, "{files:?}");
        for file in files {
            let filled = names.fill(&fs::read_to_string(&file).unwrap());
            let path = names.fill(&file.to_string_lossy());
            assert!(
                !filled.contains("{{") && !path.contains("{{"),
                "{}",
                file.display()
            );
        }
    }
}
