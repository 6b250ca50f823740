//! Every case whose answer was recorded against AWS itself
//! (`fixtures/aws-recorded.json`, its README says where each comes from):
//! the pattern is refused with AWS's reason, or it matches the event
//! exactly when AWS's did.

use super::*;

/// One recorded case: `expect` is `true`/`false` (matched or not) or
/// `{"error": reason}` (TestEventPattern's InvalidEventPatternException).
struct Case {
    name: String,
    expect: Value,
    pattern: Value,
    event: Value,
}

fn cases() -> Vec<Case> {
    let fixture: Value = serde_json::from_str(include_str!("../../fixtures/aws-recorded.json"))
        .expect("the fixture is JSON");
    let cases = fixture["cases"].as_array().expect("an array of cases");
    cases
        .iter()
        .map(|c| Case {
            name: c["name"].as_str().expect("a name").to_owned(),
            expect: c["expect"].clone(),
            pattern: c["pattern"].clone(),
            event: c["event"].clone(),
        })
        .collect()
}

/// What this crate answers, in the fixture's terms.
fn answer(case: &Case) -> Value {
    match Pattern::parse(&case.pattern) {
        Ok(pattern) => Value::Bool(pattern.matches(&case.event)),
        Err(e) => json!({ "error": e.aws_reason() }),
    }
}

#[test]
fn every_recorded_answer_is_awss() {
    let cases = cases();
    assert!(
        cases.len() >= 150,
        "the fixture holds {} cases",
        cases.len()
    );
    let differing: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            let got = answer(case);
            (got != case.expect).then(|| format!("{}: AWS {}, here {got}", case.name, case.expect))
        })
        .collect();
    assert!(
        differing.is_empty(),
        "{} of {} cases differ from AWS:\n{}",
        differing.len(),
        cases.len(),
        differing.join("\n")
    );
}
