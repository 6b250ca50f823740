//! The conformance page (`docs/conformance.md`): every AWS operation the
//! product's functions and the operator's CLI call, read from their code
//! ([`calls`]); which part of the local cloud answers it (the engine, one
//! of the engine's declared changes, or a front of the local cloud's
//! own); whether the judge evaluates it, as which IAM actions and with
//! which condition keys ([`judged`]), beside the keys AWS defines for
//! those actions that the judge does not set; and the test that
//! exercises it (`exercised.toml`). `devstack conformance` writes it; the
//! local cloud's tests fail when the page is stale, when a call has no
//! test named, or when a named test is gone.

pub mod calls;
pub mod judged;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use calls::{Called, Caller, Calls};
use judged::Judged;

use crate::call_gate::{Part, answered_by};

/// Which test exercises each operation: `"<service>:<Operation>" =
/// "<file>::<test function>"`, or [`UNTESTED`] and why no test does.
const EXERCISED: &str = include_str!("exercised.toml");
const UNTESTED: &str = "none: ";

#[derive(Debug, thiserror::Error)]
pub enum ConformanceError {
    #[error(transparent)]
    Scan(#[from] calls::ScanError),
    #[error("exercised.toml: {0}")]
    Exercised(String),
    #[error("the IAM reference data: {0}")]
    Reference(String),
}

/// One row of the page.
#[derive(Debug, Clone)]
pub struct Row {
    pub called: Called,
    pub callers: BTreeMap<Caller, BTreeSet<String>>,
    pub answered: String,
    pub judged: Option<Judged>,
    /// Condition keys AWS defines for the judged actions that the judge
    /// does not set.
    pub unset: Vec<String>,
    pub test: Option<String>,
}

/// Every call the product makes, read from the code under `root`.
pub fn calls(root: &Path) -> Result<Calls, ConformanceError> {
    let sdks = calls::sdks(root)?;
    let mut found = Calls::new();
    let mut dirs: Vec<(&str, Caller)> = repo::paths::FUNCTIONS_CODE
        .iter()
        .map(|d| (*d, Caller::Function))
        .collect();
    dirs.push((repo::paths::OPS_CODE, Caller::Operator));
    calls::scan(root, &dirs, &sdks, &mut found)?;
    Ok(found)
}

/// The page's rows.
pub fn rows(root: &Path) -> Result<Vec<Row>, ConformanceError> {
    let exercised = exercised()?;
    let changes = devstack_emulator::changes();
    let mut reference = Reference::at(&root.join(repo::paths::IAM_REFERENCE))?;
    let mut rows = Vec::new();
    for (called, callers) in calls(root)? {
        let judged = callers
            .contains_key(&Caller::Function)
            .then(|| judged::judged(&called.service, &called.operation));
        let unset = match &judged {
            Some(Judged::Actions { actions, keys }) => {
                reference.unset(actions, &[keys.clone(), judged::common_keys()].concat())?
            }
            _ => Vec::new(),
        };
        rows.push(Row {
            answered: answered(&called, &callers, &changes),
            test: exercised.get(&key(&called)).cloned(),
            called,
            callers,
            judged,
            unset,
        });
    }
    Ok(rows)
}

/// `dynamodb:PutItem`.
pub fn key(called: &Called) -> String {
    format!("{}:{}", called.service, called.operation)
}

fn exercised() -> Result<BTreeMap<String, String>, ConformanceError> {
    toml::from_str(EXERCISED).map_err(|e| ConformanceError::Exercised(e.to_string()))
}

/// Who answers the call: a function's passes the gate ([`answered_by`]);
/// the operator's CLI reaches the emulator, and the local Invoke API for
/// the Lambda operations it serves.
fn answered(
    called: &Called,
    callers: &BTreeMap<Caller, BTreeSet<String>>,
    changes: &[(String, Vec<String>)],
) -> String {
    let by_function = callers.contains_key(&Caller::Function);
    let part = if by_function {
        answered_by(&called.service)
    } else if called.service == "lambda"
        && devstack_lambda::lambda_api::OPERATIONS.contains(&called.operation.as_str())
    {
        Part::Lambda
    } else {
        Part::Engine
    };
    let name = match part {
        Part::Engine => "the engine",
        Part::Cdn => "the local CDN (front)",
        Part::Hooks => "the deployment hooks (front)",
        Part::Lambda => "the local Invoke API (front)",
        Part::Gateway => "the local API gateway (front)",
    };
    let changed: Vec<String> = changes
        .iter()
        .filter(|(_, ops)| ops.contains(&key(called)))
        .map(|(change, _)| format!("`{change}`"))
        .collect();
    if part == Part::Engine && !changed.is_empty() {
        format!("{name}, changed by {}", changed.join(", "))
    } else {
        name.to_owned()
    }
}

/// IAM's reference: each action's condition keys.
struct Reference {
    dir: std::path::PathBuf,
    /// Each service's actions, read once (`dynamodb` → its file's JSON):
    /// many rows ask about the same service.
    services: BTreeMap<String, serde_json::Value>,
}

impl Reference {
    fn at(dir: &Path) -> Result<Self, ConformanceError> {
        if !dir.is_dir() {
            return Err(ConformanceError::Reference(format!(
                "{} is missing (the test command installs it; alone: cd {} && npm ci)",
                dir.display(),
                repo::paths::NODE_TOOLS
            )));
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            services: BTreeMap::new(),
        })
    }

    /// `service`'s actions, as the reference's file for it says.
    fn actions(&mut self, service: &str) -> Result<&serde_json::Value, ConformanceError> {
        if !self.services.contains_key(service) {
            let path = self.dir.join("actions").join(format!("{service}.json"));
            let unread =
                |e: String| ConformanceError::Reference(format!("{}: {e}", path.display()));
            let text = std::fs::read_to_string(&path).map_err(|e| unread(e.to_string()))?;
            let all = serde_json::from_str(&text).map_err(|e| unread(e.to_string()))?;
            self.services.insert(service.to_owned(), all);
        }
        Ok(&self.services[service])
    }

    /// The keys AWS defines for `actions` (and their resource types) that
    /// are not in `set`. An action the reference does not have is an
    /// error: the judge asks for something IAM does not define.
    fn unset(
        &mut self,
        actions: &[String],
        set: &[String],
    ) -> Result<Vec<String>, ConformanceError> {
        let missing = |why: String| ConformanceError::Reference(why);
        let mut out = BTreeSet::new();
        for action in actions {
            let (service, name) = (action.split_once(':'))
                .ok_or_else(|| missing(format!("{action} is not service:Action")))?;
            let entry = &self.actions(service)?[name.to_lowercase()];
            if entry.is_null() {
                return Err(missing(format!("{action} is not in IAM's reference")));
            }
            let own = entry["conditionKeys"].as_array().into_iter().flatten();
            let by_resource = (entry["resourceTypes"].as_array().into_iter().flatten())
                .flat_map(|r| r["conditionKeys"].as_array().into_iter().flatten());
            out.extend(
                own.chain(by_resource)
                    .filter_map(|k| k.as_str())
                    .filter(|k| !set.iter().any(|s| s == k))
                    .map(str::to_owned),
            );
        }
        Ok(out.into_iter().collect())
    }
}

/// The page, as `devstack conformance` writes it.
pub fn page(rows: &[Row]) -> String {
    let common = code_list(&judged::common_keys());
    let tests = repo::paths::CONFORMANCE_TESTS;
    let mut out = format!(
        "# Conformance: every AWS call the product makes\n\n\
         Generated by `cargo devstack conformance` from the code; \
         do not edit. The local cloud's tests fail when this page is stale, \
         when a call has no test named in `{tests}`, or when that test is \
         gone.\n\n\
         - **Called by**: the crates whose code makes the call. A function's call \
         passes the gate and is judged as its role (a presigned URL is judged \
         as the role that signed it, when its holder uses it); `ops` (the \
         operator's CLI) uses the operator's own keys, which the local cloud \
         does not judge.\n\
         - **Answered by**: the engine (moto), with the engine's changes that \
         alter the operation named (the engine's `patches` declare them), or a front \
         the local cloud plays itself.\n\
         - **Judged as**: the IAM actions the judge asks for. Every judged call \
         carries {common}, and any key the judge sets beyond them is named \
         with its actions. \
         *Not set* lists the keys AWS defines for those actions that the judge \
         does not set: a policy condition on one of them does not match \
         locally.\n\n\
         | Operation | Called by | Answered by | Judged as | Not set | Test |\n\
         |---|---|---|---|---|---|\n",
    );
    for row in rows {
        let by = row
            .callers
            .iter()
            .map(|(caller, files)| {
                let crates: BTreeSet<&str> = files.iter().map(|f| crate_of(f)).collect();
                let crates = crates.into_iter().collect::<Vec<_>>().join(", ");
                match caller {
                    Caller::Function => crates,
                    Caller::Operator => format!("{crates} (operator)"),
                }
            })
            .collect::<Vec<_>>()
            .join("; ");
        let judged = match &row.judged {
            Some(Judged::Actions { actions, keys }) if keys.is_empty() => code_list(actions),
            Some(Judged::Actions { actions, keys }) => {
                format!("{}, with {}", code_list(actions), code_list(keys))
            }
            Some(Judged::Refused(why)) => format!("**refused**: {why}"),
            None => "not judged (operator)".into(),
        };
        let _ = writeln!(
            out,
            "| `{}` {} | {by} | {} | {judged} | {} | {} |",
            row.called.service,
            row.called.operation,
            row.answered,
            code_list(&row.unset),
            tested(row.test.as_deref()),
        );
    }
    out
}

/// The test column: the test, or why none.
fn tested(test: Option<&str>) -> String {
    match test {
        None => "**none**".to_owned(),
        Some(t) => match t.strip_prefix(UNTESTED) {
            Some(why) => format!("**none**: {}", why.replace('|', "\\|")),
            None => format!("`{t}`"),
        },
    }
}

fn code_list(items: &[String]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `services/todos/src/objects.rs` → `todos`; `kit/src/…` → `kit`;
/// `tooling/ops/src/…` → `ops`.
fn crate_of(file: &str) -> &str {
    let mut parts = file.split('/');
    match parts.next() {
        Some(dir) if [repo::paths::SERVICES_DIR, repo::paths::TOOLING].contains(&dir) => {
            parts.next().unwrap_or(file)
        }
        Some(first) => first,
        None => file,
    }
}

/// What is wrong with the rows: an operation with no test named, a
/// named test that does not exist, an operation the judge refuses.
pub fn problems(root: &Path, rows: &[Row]) -> Vec<String> {
    let mut out = Vec::new();
    for row in rows {
        let key = key(&row.called);
        match &row.test {
            None => out.push(format!(
                "{key} has no test named in exercised.toml (which test makes this call?)"
            )),
            Some(test) if test.starts_with(UNTESTED) => {}
            Some(test) if !test_exists(root, test) => {
                out.push(format!("{key}: the test {test} does not exist"))
            }
            Some(_) => {}
        }
        if let Some(Judged::Refused(why)) = &row.judged {
            out.push(format!("{key}: the judge refuses it: {why}"));
        }
    }
    if let Ok(named) = exercised() {
        let called: BTreeSet<String> = rows.iter().map(|r| key(&r.called)).collect();
        for stale in named.keys().filter(|k| !called.contains(*k)) {
            out.push(format!("exercised.toml names {stale}, which nothing calls"));
        }
    }
    out
}

/// Whether `<file>::<function>` names a function in that file.
fn test_exists(root: &Path, test: &str) -> bool {
    let Some((file, function)) = test.rsplit_once("::") else {
        return false;
    };
    std::fs::read_to_string(root.join(file))
        .is_ok_and(|text| text.contains(&format!("fn {function}(")))
}
