//! checkov over every CloudFormation template (the platform's, each
//! service's, the web app's), judged against the committed skip list: a
//! failed check no entry covers is new and fails the scan; so does an entry
//! that covers nothing (stale), so the list only holds live trade-offs.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use xtask::venv;

use super::relative;

pub const SKIPS: &str = repo::paths::CHECKOV_SKIPS;

/// Keep checkov from calling home: no Prisma Cloud mapping or policy
/// download (with `--skip-download`), no PyPI version check in its banner.
const OFFLINE_ENV: [(&str, &str); 2] = [
    ("BC_SKIP_MAPPING", "TRUE"),
    ("CKV_SKIP_PACKAGE_UPDATE_CHECK", "TRUE"),
];
/// With a platform key checkov would upload results: never from here.
const PLATFORM_ENV: [&str; 3] = ["BC_API_KEY", "BC_API_URL", "PRISMA_API_URL"];

/// One accepted finding, with why.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Skip {
    check: String,
    /// checkov resource ids (`AWS::S3::Bucket.SiteBucket`) or globs of
    /// them; none means every resource.
    resources: Option<Vec<String>>,
    /// Template paths from the root, or globs; none means every template.
    files: Option<Vec<String>>,
    /// Which deployments: `default` (the parameters' defaults) or `domain`
    /// (the product's own domain set); none means both.
    cases: Option<Vec<String>>,
    reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SkipList {
    #[serde(default)]
    skip: Vec<Skip>,
}

/// checkov's JSON report: one per framework, or a bare summary when it
/// found nothing to check.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Output {
    Many(Vec<Report>),
    One(Report),
    Nothing(Summary),
}

#[derive(Debug, Deserialize)]
struct Report {
    results: Results,
    summary: Summary,
}

#[derive(Debug, Deserialize)]
struct Results {
    #[serde(default)]
    failed_checks: Vec<Failure>,
}

#[derive(Debug, Deserialize)]
struct Failure {
    check_id: String,
    check_name: String,
    /// The template as given, with a leading `/`.
    file_path: String,
    resource: String,
    #[serde(default)]
    file_line_range: Vec<u64>,
}

#[derive(Debug, Default, Deserialize)]
struct Summary {
    passed: u64,
    failed: u64,
    /// Suppressed in a template (a `checkov:skip` comment), not here.
    skipped: u64,
    parsing_errors: u64,
    resource_count: u64,
    #[serde(default)]
    checkov_version: String,
}

/// The failures and the summed summary of one run.
struct Scanned {
    failures: Vec<Failure>,
    summary: Summary,
}

/// Which failures the list covers, which are new, which entries are stale.
struct Verdict<'a> {
    skipped: usize,
    new: Vec<&'a Failure>,
    stale: Vec<&'a Skip>,
}

pub fn run(root: &Path) -> Result<bool> {
    let skips = load_skips(&root.join(SKIPS))?;
    let templates = templates(root)?;
    let scanned = scan(root, &templates)?;
    let verdict = judge(&scanned.failures, &skips);
    report(&verdict, &scanned.summary, templates.len());
    let s = &scanned.summary;
    Ok(verdict.new.is_empty()
        && verdict.stale.is_empty()
        && s.parsing_errors == 0
        && s.skipped == 0)
}

/// The skip list, every entry with a reason and no empty pattern list.
fn load_skips(path: &Path) -> Result<Vec<Skip>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let list: SkipList = toml::from_str(&text).with_context(|| format!("parsing {SKIPS}"))?;
    for (n, skip) in list.skip.iter().enumerate() {
        let n = n + 1;
        let check = &skip.check;
        if skip.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
            bail!("{SKIPS}: entry {n} ({check}) has no reason: say why the finding is accepted");
        }
        if check.trim().is_empty() {
            bail!("{SKIPS}: entry {n} has no check id");
        }
        let empty = |list: &Option<Vec<String>>| list.as_ref().is_some_and(Vec::is_empty);
        if empty(&skip.resources) || empty(&skip.files) {
            bail!("{SKIPS}: entry {n} ({check}) has an empty list: leave it out to mean all");
        }
    }
    Ok(list.skip)
}

/// Every template from the root: each stack's, then the web app's; then
/// each again as deployed with the product's own domain set (its domain
/// parameters' defaults given), under [`DOMAIN_DIR`].
fn templates(root: &Path) -> Result<Vec<String>> {
    let files: Vec<String> = repo::stacks()
        .map(|stack| relative(root, &repo::template_in(root, stack)))
        .chain([relative(root, &repo::template_in(root, repo::WEB))])
        .collect();
    if let Some(missing) = files.iter().find(|f| !root.join(f).is_file()) {
        bail!("no template at {missing}");
    }
    let mut all = files.clone();
    for file in &files {
        let text = std::fs::read_to_string(root.join(file))?;
        let rendered = with_domain(&text);
        if rendered != text {
            let copy = format!("{DOMAIN_DIR}/{file}");
            std::fs::create_dir_all(root.join(&copy).parent().expect("a file has a folder"))?;
            std::fs::write(root.join(&copy), rendered)?;
            all.push(copy);
        }
    }
    Ok(all)
}

/// `!If [HasDomain, a, b]` in a line, as `a` (commas inside brackets are
/// the branches' own).
fn resolve_if(line: &str) -> String {
    let conditions = ["!If [HasDomain, ", "!If [HasApiDomain, "];
    let Some((start, prefix)) = conditions
        .iter()
        .find_map(|c| line.find(c).map(|at| (at, *c)))
    else {
        return line.to_owned();
    };
    let rest = &line[start + prefix.len()..];
    let mut depth = 0;
    for (i, c) in rest.char_indices() {
        match c {
            '[' => depth += 1,
            ']' if depth > 0 => depth -= 1,
            ',' if depth == 0 => return format!("{}{}", &line[..start], rest[..i].trim()),
            _ => {}
        }
    }
    line.to_owned()
}

/// Where the domain renderings are written (under the checkout's
/// untracked `.local/`).
const DOMAIN_DIR: &str = ".local/checkov-domain";

/// A template with its domain parameters' empty defaults given values,
/// and its one-line `!If [HasDomain, a, b]` (or `HasApiDomain`) taken as
/// `a`: checkov reads property values as written, not through conditions.
fn with_domain(text: &str) -> String {
    let text = text.lines().map(resolve_if).collect::<Vec<_>>().join("\n");
    let text = if text.is_empty() { text } else { text + "\n" };
    [
        ("DomainName", "example.com"),
        ("HostedZoneId", "Z0123456789EXAMPLE"),
        ("ApiDomainName", "api.example.com"),
    ]
    .iter()
    .fold(text, |t, (name, value)| {
        t.replace(
            &format!("  {name}:\n    Type: String\n    Default: \"\"\n"),
            &format!("  {name}:\n    Type: String\n    Default: \"{value}\"\n"),
        )
    })
}

/// checkov over `templates`, offline, from the scan venv.
fn scan(root: &Path, templates: &[String]) -> Result<Scanned> {
    let checkov = venv::ensure_scan(root)?.join("bin/checkov");
    let mut cmd = Command::new(&checkov);
    cmd.current_dir(root)
        .args([
            "--framework",
            "cloudformation",
            "--output",
            "json",
            "--quiet",
        ])
        .args(["--skip-download", "--skip-results-upload", "--file"])
        .args(templates)
        .envs(OFFLINE_ENV)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    for var in PLATFORM_ENV {
        cmd.env_remove(var);
    }
    let out = cmd.output().context("starting checkov")?;
    // 0: nothing failed, 1: something failed; anything else: it broke.
    if !matches!(out.status.code(), Some(0 | 1)) {
        bail!("checkov failed ({}); its messages are above", out.status);
    }
    let output: Output =
        serde_json::from_slice(&out.stdout).context("reading checkov's JSON report")?;
    Ok(Scanned::from(output))
}

impl From<Output> for Scanned {
    fn from(output: Output) -> Scanned {
        let reports = match output {
            Output::Many(reports) => reports,
            Output::One(report) => vec![report],
            Output::Nothing(summary) => {
                return Scanned {
                    failures: Vec::new(),
                    summary,
                };
            }
        };
        let mut summary = Summary::default();
        let mut failures = Vec::new();
        for report in reports {
            summary.add(&report.summary);
            failures.extend(report.results.failed_checks);
        }
        Scanned { failures, summary }
    }
}

impl Summary {
    fn add(&mut self, other: &Summary) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.skipped += other.skipped;
        self.parsing_errors += other.parsing_errors;
        self.resource_count += other.resource_count;
        self.checkov_version.clone_from(&other.checkov_version);
    }
}

impl Failure {
    /// The template from the root (a domain rendering's, its original's).
    fn file(&self) -> &str {
        let file = self.file_path.trim_start_matches('/');
        file.strip_prefix(DOMAIN_DIR)
            .and_then(|f| f.strip_prefix('/'))
            .unwrap_or(file)
    }

    /// `domain` for a failure in a domain rendering, else `default`.
    fn case(&self) -> &'static str {
        let file = self.file_path.trim_start_matches('/');
        if file.starts_with(DOMAIN_DIR) {
            "domain"
        } else {
            "default"
        }
    }

    fn line(&self) -> u64 {
        self.file_line_range.first().copied().unwrap_or(0)
    }
}

impl Skip {
    fn covers(&self, failure: &Failure) -> bool {
        let any = |patterns: &Option<Vec<String>>, value: &str| {
            patterns
                .as_ref()
                .is_none_or(|ps| ps.iter().any(|p| glob(p, value)))
        };
        self.check == failure.check_id
            && any(&self.resources, &failure.resource)
            && any(&self.files, failure.file())
            && any(&self.cases, failure.case())
    }

    fn describe(&self) -> String {
        let list = |l: &Option<Vec<String>>| l.as_ref().map_or("all".into(), |v| v.join(", "));
        format!(
            "{} (resources: {}; files: {})",
            self.check,
            list(&self.resources),
            list(&self.files)
        )
    }
}

fn judge<'a>(failures: &'a [Failure], skips: &'a [Skip]) -> Verdict<'a> {
    let mut used = vec![false; skips.len()];
    let mut verdict = Verdict {
        skipped: 0,
        new: Vec::new(),
        stale: Vec::new(),
    };
    for failure in failures {
        let mut covered = false;
        for (i, skip) in skips.iter().enumerate() {
            if skip.covers(failure) {
                used[i] = true;
                covered = true;
            }
        }
        if covered {
            verdict.skipped += 1;
        } else {
            verdict.new.push(failure);
        }
    }
    verdict.stale = skips
        .iter()
        .zip(used)
        .filter(|(_, u)| !u)
        .map(|(s, _)| s)
        .collect();
    verdict
}

fn report(verdict: &Verdict, summary: &Summary, templates: usize) {
    for f in &verdict.new {
        println!("NEW    {} {}", f.check_id, f.check_name);
        println!("       {}:{} {}", f.file(), f.line(), f.resource);
    }
    for skip in &verdict.stale {
        println!(
            "STALE  {}: covers no failure; remove it from {SKIPS}",
            skip.describe()
        );
    }
    if summary.skipped > 0 {
        println!(
            "{} check(s) suppressed inside a template: move each to {SKIPS} with its reason",
            summary.skipped
        );
    }
    println!(
        "checkov {}: {templates} templates, {} resources: {} passed, {} failed ({} skipped with a reason, {} new); {} stale skip(s); {} parsing error(s)",
        summary.checkov_version,
        summary.resource_count,
        summary.passed,
        summary.failed,
        verdict.skipped,
        verdict.new.len(),
        verdict.stale.len(),
        summary.parsing_errors,
    );
}

/// `*` matches any run of characters, `?` any one; the rest is literal.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    // Where the last `*` was, and the text position it now stands for.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(check: &str, file: &str, resource: &str) -> Failure {
        Failure {
            check_id: check.into(),
            check_name: "a check".into(),
            file_path: format!("/{file}"),
            resource: resource.into(),
            file_line_range: vec![3, 9],
        }
    }

    fn skips(text: &str) -> Vec<Skip> {
        toml::from_str::<SkipList>(text).unwrap().skip
    }

    #[test]
    fn the_domain_rendering_sets_the_parameters_and_takes_the_domain_branch() {
        let text = "  DomainName:\n    Type: String\n    Default: \"\"\n\
                    Aliases: !If [HasDomain, [!Ref DomainName], !Ref AWS::NoValue]\n\
                    Tls: !If [HasDomain, TLSv1.2_2021, !Ref AWS::NoValue]\n\
                    Other: !If [IsProd, a, b]\n";
        let out = with_domain(text);
        assert!(out.contains("Default: \"example.com\""), "{out}");
        assert!(out.contains("Aliases: [!Ref DomainName]\n"), "{out}");
        assert!(out.contains("Tls: TLSv1.2_2021\n"), "{out}");
        assert!(out.contains("Other: !If [IsProd, a, b]\n"), "{out}");
        let failure = |path: &str| Failure {
            check_id: "CKV_AWS_174".into(),
            check_name: "n".into(),
            file_path: path.into(),
            resource: "AWS::CloudFront::Distribution.Distribution".into(),
            file_line_range: vec![1],
        };
        let domain = failure(&format!("/{DOMAIN_DIR}/web/template.yaml"));
        assert_eq!(
            (domain.file(), domain.case()),
            ("web/template.yaml", "domain")
        );
        let skip =
            &skips("[[skip]]\ncheck = \"CKV_AWS_174\"\ncases = [\"default\"]\nreason = \"r\"\n")[0];
        assert!(skip.covers(&failure("/web/template.yaml")));
        assert!(!skip.covers(&domain), "the domain case is not skipped");
    }

    #[test]
    fn globs_match_resource_ids() {
        assert!(glob(
            "AWS::Serverless::Function.*",
            "AWS::Serverless::Function.Api"
        ));
        assert!(glob(
            "services/*/template.yaml",
            "services/users/template.yaml"
        ));
        assert!(glob("*Function.Api?", "AWS::Lambda::Function.Api1"));
        assert!(!glob("AWS::S3::Bucket.*", "AWS::SNS::Topic.Bucket"));
        assert!(glob("exact", "exact") && !glob("exact", "exactly"));
    }

    #[test]
    fn a_failure_no_entry_covers_is_new_and_an_unused_entry_is_stale() {
        let list = skips(
            r#"
            [[skip]]
            check = "CKV_AWS_117"
            resources = ["AWS::Serverless::Function.*"]
            reason = "public endpoints only"
            [[skip]]
            check = "CKV_AWS_116"
            resources = ["AWS::Serverless::Function.ApiFunction"]
            files = ["services/users/template.yaml"]
            reason = "synchronous"
            [[skip]]
            check = "CKV_AWS_68"
            reason = "cost"
            "#,
        );
        let failures = [
            failure("CKV_AWS_117", "a.yaml", "AWS::Serverless::Function.X"),
            failure(
                "CKV_AWS_116",
                "services/users/template.yaml",
                "AWS::Serverless::Function.ApiFunction",
            ),
            failure(
                "CKV_AWS_116",
                "services/todos/template.yaml",
                "AWS::Serverless::Function.ApiFunction",
            ),
        ];
        let verdict = judge(&failures, &list);
        assert_eq!(verdict.skipped, 2);
        assert_eq!(verdict.new.len(), 1);
        assert_eq!(verdict.new[0].file(), "services/todos/template.yaml");
        assert_eq!(verdict.stale.len(), 1);
        assert_eq!(verdict.stale[0].check, "CKV_AWS_68");
    }

    #[test]
    fn an_entry_needs_a_reason_and_no_empty_list() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("skips.toml");
        for text in [
            "[[skip]]\ncheck = \"CKV_AWS_1\"\n",
            "[[skip]]\ncheck = \"CKV_AWS_1\"\nreason = \"  \"\n",
            "[[skip]]\ncheck = \"CKV_AWS_1\"\nresources = []\nreason = \"r\"\n",
            "[[skip]]\ncheck = \"CKV_AWS_1\"\nreason = \"r\"\ntypo = 1\n",
        ] {
            std::fs::write(&path, text).unwrap();
            assert!(load_skips(&path).is_err(), "{text}");
        }
        std::fs::write(&path, "[[skip]]\ncheck = \"CKV_AWS_1\"\nreason = \"r\"\n").unwrap();
        assert_eq!(load_skips(&path).unwrap().len(), 1);
    }

    #[test]
    fn reads_checkov_reports_of_every_shape() {
        let one = r#"{"check_type": "cloudformation", "results": {"failed_checks": [
            {"check_id": "CKV_AWS_18", "check_name": "n", "file_path": "/web/template.yaml",
             "resource": "AWS::S3::Bucket.SiteBucket", "file_line_range": [8, 22], "extra": 1}]},
            "summary": {"passed": 4, "failed": 1, "skipped": 0, "parsing_errors": 0,
             "resource_count": 2, "checkov_version": "3.3.30"}}"#;
        let scanned = Scanned::from(serde_json::from_str::<Output>(one).unwrap());
        assert_eq!((scanned.failures.len(), scanned.summary.passed), (1, 4));
        assert_eq!(scanned.failures[0].line(), 8);
        let many = format!("[{one}, {one}]");
        let scanned = Scanned::from(serde_json::from_str::<Output>(&many).unwrap());
        assert_eq!((scanned.failures.len(), scanned.summary.failed), (2, 2));
        let nothing = r#"{"passed": 0, "failed": 0, "skipped": 0, "parsing_errors": 0,
            "resource_count": 0, "checkov_version": "3.3.30"}"#;
        let scanned = Scanned::from(serde_json::from_str::<Output>(nothing).unwrap());
        assert!(scanned.failures.is_empty());
    }
}
