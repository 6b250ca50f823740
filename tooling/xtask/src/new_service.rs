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
//! (`events/src/{{service}}.rs`, with its catalog of versions) and of the
//! declarations (`events/declarations/src/{{service}}.rs`), and its
//! example under `events/examples/`. The workspace takes any folder under
//! `services/` as a member. Registration is one name at the end of the
//! one list (`events/src/services.rs`): the two crates write their
//! modules from it, and everything else (the local cloud, the workflows,
//! CODEOWNERS, the schemas, the catalog page and the AsyncAPI document)
//! reads it.

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
    let list = root.join(repo::paths::SERVICE_LIST);
    let new_list = register_service(&read(&list)?, &names.service)?;
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
    fs::write(&list, new_list)?;
    created.registered = vec![list];
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

/// The one list (`events/src/services.rs`) with the service appended: it
/// deploys last.
pub fn register_service(list: &str, service: &str) -> Result<String> {
    const OPEN: &str = "$then! { ";
    // The last: the list's doc comment shows the same shape.
    let start = list.rfind(OPEN).with_context(|| {
        format!(
            "{} has no `{OPEN}`: the list's shape changed",
            repo::paths::SERVICE_LIST
        )
    })? + OPEN.len();
    let end = start + list[start..].find(" }").context("the list is not closed")?;
    let names = list[start..end].trim_end_matches(',');
    let sep = if names.is_empty() { "" } else { ", " };
    Ok(format!(
        "{}{names}{sep}{service}{}",
        &list[..start],
        &list[end..]
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
        let list = "macro_rules! each_service {\n    ($then:ident) => {\n        $then! { users, todos }\n    };\n}\n";
        assert_eq!(
            register_service(list, "campaigns").unwrap(),
            list.replace("users, todos }", "users, todos, campaigns }")
        );
        assert!(register_service("const X: u8 = 1;", "campaigns").is_err());
        let list = std::fs::read_to_string(repo::root().join(repo::paths::SERVICE_LIST)).unwrap();
        let added = register_service(&list, "invoices").unwrap();
        assert!(
            added.contains(&format!(
                "{} }}",
                [repo::SERVICES, &["invoices"]].concat().join(", ")
            )),
            "{added}"
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
