//! The compatibility checker measured against cases two other projects wrote
//! (Sentry's json-schema-diff, Apicurio Registry), through the same findings
//! other tools read: `compare` in mode M under the strict policy, each finding
//! as the JSON object `cargo xtask schemas diff --json` prints.
//!
//! The peers' verdicts are not ground truth (their README says where they
//! differ from instance-set inclusion), so every case where we disagree is
//! listed with its reason in `peer-suites/disagreements.json`. The test fails
//! when agreement drops under 95%, when a new disagreement appears, or when a
//! listed one disappears, so the list stays honest.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use compat::{Mode, Policy, compare};
use serde_json::Value;

const SUITES: [&str; 2] = ["sentry-json-schema-diff", "apicurio-registry"];

fn here() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peer-suites")
}

fn load(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Disagreement {
    suite: String,
    mode: String,
    id: String,
}

/// Our verdict on one case: breaking when there is a finding; the findings'
/// shape is checked on the way.
fn ours(old: &Value, new: &Value, mode: &str) -> bool {
    let m = match mode {
        "backward" => Mode::Backward,
        "forward" => Mode::Forward,
        other => panic!("no mode {other}"),
    };
    // Bad input (the CLI's exit 2) is an error, never a verdict.
    let findings: Vec<Value> = compare(old, new, m, Policy::Strict)
        .unwrap_or_else(|e| panic!("{e} on {old} -> {new}"))
        .iter()
        .map(compat::Finding::to_json)
        .collect();
    for f in &findings {
        assert_eq!(f["direction"], mode, "{f}");
        for key in ["path", "rule", "reason"] {
            assert!(f[key].as_str().is_some_and(|s| !s.is_empty()), "{f}");
        }
    }
    !findings.is_empty()
}

#[test]
fn the_vendored_suites_are_the_shared_ones() {
    // CI has the shared folder beside the clone; elsewhere the copy stands.
    let shared =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/peer-suites/schema-compat");
    if !shared.exists() {
        return;
    }
    for suite in SUITES {
        let file = format!("{suite}.json");
        assert_eq!(
            load(&shared.join(&file)),
            load(&here().join(&file)),
            "{file} changed in shared/peer-suites: copy it to tooling/compat/tests/peer-suites/ and re-run"
        );
    }
}

#[test]
fn agreement_with_the_peer_suites_is_at_least_95_percent_and_every_disagreement_is_listed() {
    let mut found = BTreeSet::new();
    let mut table = Vec::new();
    for suite in SUITES {
        let cases = load(&here().join(format!("{suite}.json")));
        for (mode, key) in [("backward", "breaking"), ("forward", "breaking_forward")] {
            let (mut total, mut agree) = (0, 0);
            for case in cases.as_array().unwrap() {
                let Some(peer) = case[key].as_bool() else {
                    continue;
                };
                total += 1;
                if ours(&case["old"], &case["new"], mode) == peer {
                    agree += 1;
                } else {
                    found.insert(Disagreement {
                        suite: suite.into(),
                        mode: mode.into(),
                        id: case["id"].as_str().unwrap().into(),
                    });
                }
            }
            if total > 0 {
                table.push((suite, mode, agree, total));
            }
        }
    }
    for (suite, mode, agree, total) in &table {
        println!(
            "{suite} {mode}: {agree}/{total} ({:.1}%)",
            100.0 * *agree as f64 / *total as f64
        );
    }
    // Sentry records only backward verdicts; Apicurio both.
    assert_eq!(table.len(), 3, "{table:?}");

    let listed: BTreeSet<Disagreement> = load(&here().join("disagreements.json"))
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            assert!(
                d["reason"].as_str().is_some_and(|r| !r.is_empty()),
                "every listed disagreement says why: {d}"
            );
            Disagreement {
                suite: d["suite"].as_str().unwrap().into(),
                mode: d["mode"].as_str().unwrap().into(),
                id: d["id"].as_str().unwrap().into(),
            }
        })
        .collect();
    let new: Vec<_> = found.difference(&listed).collect();
    let gone: Vec<_> = listed.difference(&found).collect();
    assert!(
        new.is_empty() && gone.is_empty(),
        "disagreements not in disagreements.json: {new:#?}\nlisted but now agreeing (remove them): {gone:#?}"
    );
    for (suite, mode, agree, total) in table {
        assert!(
            agree * 100 >= total * 95,
            "{suite} {mode}: {agree}/{total} is under 95%"
        );
    }
}
