//! `cargo xtask new-service <name>`: a service crate in the house shape,
//! from `tooling/xtask/templates/service/`, registered in the one list of services.
//!
//! The skeleton is a working service: a per-user resource behind an HTTP
//! API (create, list, read), its table with stream, a consumer that erases
//! a deleted user's data and writes the receipt whose insert the publisher
//! turns into the service's `UserDataErased` (its module of `events`
//! declares that event, with its example beside the schemas), its tests, and a template with everything
//! the other stacks have (DLQ topic → queue under the service's own key,
//! alarms, dashboard, tracing, retention, point-in-time recovery,
//! throttling, access logs).
//!
//! The skeleton mirrors the root: `services/{{service}}/` (the crate, its
//! template and tests), the team's module of the event types
//! (`events/src/{{service}}.rs`) and of the declarations
//! (`events/declarations/src/{{service}}.rs`), and its example under
//! `events/examples/`. The workspace takes any folder under `services/` as
//! a member. Registration is the one list, `repo::SERVICES`, and what Rust
//! needs spelled: the two crates' `pub mod` lines, the
//! `declarations::SERVICES` entry and the catalog's UserDataErased.
//! Everything else (the local cloud, the workflows, CODEOWNERS, the
//! schemas, the catalog page and the AsyncAPI document) reads those.

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

/// Writes the service's files (its folder under `services/` and its
/// modules under `events/`) and registers it. Refuses a name already taken,
/// and changes nothing then.
pub fn create(root: &Path, names: &Names) -> Result<Created> {
    let dir = repo::service_dir_in(root, &names.service);
    if dir.exists() {
        bail!("{} exists already", dir.display());
    }
    if repo::SERVICES.contains(&names.service.as_str()) {
        bail!("{} is in repo::SERVICES already", names.service);
    }
    let services = root.join(repo::paths::REPO_LIB);
    let declarations = root.join(repo::paths::DECLARATIONS_LIB);
    let events = root.join(repo::paths::EVENTS_LIB);
    let catalog = root.join(repo::paths::EVENTS_CATALOG);
    let new_services = register_service(&read(&services)?, &names.service)?;
    let new_declarations = register_declaration(&read(&declarations)?, &names.service)?;
    let new_events = with_module(&read(&events)?, &names.service)?;
    let new_catalog = register_erasure_event(&read(&catalog)?, names)?;
    let skeleton = root.join(TEMPLATE_DIR);
    let mut files = Vec::new();
    for source in skeleton_files(&skeleton)? {
        let relative = source.strip_prefix(&skeleton)?;
        let target = root.join(names.fill(&relative.to_string_lossy()));
        if target.exists() {
            bail!("{} exists already", target.display());
        }
        files.push((source, target));
    }
    let mut created = Created::default();
    for (source, target) in files {
        fs::create_dir_all(target.parent().context("a file has a folder")?)?;
        fs::write(&target, names.fill(&read(&source)?))
            .with_context(|| format!("writing {}", target.display()))?;
        created.files.push(target);
    }
    fs::write(&services, new_services)?;
    fs::write(&declarations, new_declarations)?;
    fs::write(&events, new_events)?;
    fs::write(&catalog, new_catalog)?;
    created.registered = vec![services, declarations, events, catalog];
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

/// The `declarations` crate with the service's module and its declaration
/// last in `SERVICES`.
pub fn register_declaration(declarations_lib: &str, service: &str) -> Result<String> {
    let text = with_module(declarations_lib, service)?;
    insert_after_last(
        &text,
        "::DECLARATION,",
        &format!("    {service}::DECLARATION,\n"),
    )
}

/// The catalog with the service's UserDataErased last.
pub fn register_erasure_event(catalog: &str, names: &Names) -> Result<String> {
    let spec =
        names.fill("        EventSpec::of::<crate::{{service}}::{{Items}}UserErasedV1>(),\n");
    insert_after_last(catalog, "EventSpec::of::<", &spec)
}

/// `lib` with `pub mod <name>;` among the public modules in name order, as
/// rustfmt keeps them: before the first later module and the attribute
/// lines above it.
pub fn with_module(lib: &str, name: &str) -> Result<String> {
    let declared = format!("pub mod {name};");
    let module = format!("{declared}\n");
    let lines: Vec<&str> = lib.split_inclusive('\n').collect();
    let later = lines
        .iter()
        .position(|l| l.starts_with("pub mod ") && l.trim_end().as_bytes() > declared.as_bytes());
    let Some(mut at) = later else {
        return insert_after_last(lib, "pub mod ", &module);
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
    fn the_service_is_appended_to_the_one_list() {
        let lib = "pub const SERVICES: &[&str] = &[\"users\", \"todos\"];\n";
        assert_eq!(
            register_service(lib, "campaigns").unwrap(),
            "pub const SERVICES: &[&str] = &[\"users\", \"todos\", \"campaigns\"];\n"
        );
        assert!(register_service("const X: u8 = 1;", "campaigns").is_err());
    }

    #[test]
    fn the_declaration_is_a_module_and_the_last_of_the_services() {
        let lib = "pub mod carried;\npub mod todos;\npub mod users;\n\npub const SERVICES: &[Service] = &[\n    users::DECLARATION,\n    todos::DECLARATION,\n];\n";
        assert_eq!(
            register_declaration(lib, "campaigns").unwrap(),
            "pub mod campaigns;\npub mod carried;\npub mod todos;\npub mod users;\n\npub const SERVICES: &[Service] = &[\n    users::DECLARATION,\n    todos::DECLARATION,\n    campaigns::DECLARATION,\n];\n"
        );
        let last = register_declaration(lib, "zebras").unwrap();
        assert!(
            last.starts_with("pub mod carried;\npub mod todos;\npub mod users;\npub mod zebras;\n"),
            "{last}"
        );
        assert!(register_declaration("const X: u8 = 1;", "campaigns").is_err());
    }

    #[test]
    fn the_event_types_are_a_module_and_the_erasure_event_is_in_the_catalog() {
        let lib = "mod wire;\n\n#[doc = \"x\"]\npub mod todos;\n";
        assert_eq!(
            with_module(lib, "invoices").unwrap(),
            "mod wire;\n\npub mod invoices;\n#[doc = \"x\"]\npub mod todos;\n"
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
