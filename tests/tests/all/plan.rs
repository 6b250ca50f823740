//! `cargo xtask plan` over real revisions of a scratch repository holding
//! this project's contracts and templates: the order printed, its JSON,
//! and its exit codes (0 any order, 1 an order required, 2 cannot tell).

use serde_json::{Value, json};

use crate::support::Scratch;

fn plan(scratch: &Scratch, args: &[&str]) -> (Option<i32>, String, String) {
    let out = std::process::Command::new(repo::profile_dir().join("xtask"))
        .current_dir(repo::root())
        .arg("plan")
        .arg("--repo")
        .arg(scratch.dir.path())
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_removed_field_under_full_needs_expand_and_contract_and_an_optional_one_any_order() {
    let scratch = Scratch::new();
    let base = scratch.git(&["rev-parse", "HEAD"]);
    scratch.edit_todo_completed(|data| {
        data["properties"]["priority"] = json!({"type": "string"});
    });
    scratch.commit("an optional field");
    let (code, out, err) = plan(&scratch, &["--base", &base]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("app.todos/TodoCompleted v1\n  producer: todos\n  consumers: notifications\n  mode: FULL"), "{out}");
    assert!(out.contains("order: any"), "{out}");

    scratch.edit_todo_completed(|data| {
        data["properties"].as_object_mut().unwrap().remove("title");
        let required = data["required"].as_array_mut().unwrap();
        required.retain(|r| r != "title");
    });
    scratch.commit("title removed");
    let (code, out, err) = plan(&scratch, &["--base", &base]);
    assert_eq!(code, Some(1), "{out}{err}");
    for line in [
        "forward (old readers, new events): breaking",
        "order: none is safe in place; expand and contract",
        "1. todos: publish app.todos/TodoCompleted v2 beside v1",
        "2. notifications: move from app.todos/TodoCompleted v1 to v2 (decoder and rule ConsumerFunctionTodoEvents)",
        "3. todos: stop publishing app.todos/TodoCompleted v1",
        "why: app.todos/TodoCompleted v1 declares FULL, which this change breaks",
    ] {
        assert!(out.contains(line), "{line}\n{out}");
    }
    let (code, json_out, err) = plan(&scratch, &["--base", &base, "--json"]);
    assert_eq!(code, Some(1), "{err}");
    let doc: Value = serde_json::from_str(&json_out).unwrap();
    let event = &doc["events"][0];
    assert_eq!(event["event"], "app.todos/TodoCompleted");
    assert_eq!(event["order"]["kind"], "expand_contract");
    assert_eq!(event["stages"][1][0]["ships"], "move");
    assert_eq!(event["stages"][1][0]["service"], "notifications");
    assert_eq!(doc["safe_in_any_order"], false);
}

#[test]
fn it_cannot_tell_for_an_unknown_revision_or_an_unreadable_schema_and_names_it() {
    let scratch = Scratch::new();
    let (code, _, err) = plan(&scratch, &["--base", "no-such-rev"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("no-such-rev: no such revision"), "{err}");

    let base = scratch.git(&["rev-parse", "HEAD"]);
    let file = "events/schemas/app.todos/TodoCompleted/v1.json";
    std::fs::write(scratch.dir.path().join(file), "{ not json").unwrap();
    scratch.commit("broken");
    let (code, out, err) = plan(&scratch, &["--base", &base]);
    assert_eq!(code, Some(2), "{out}");
    assert!(err.contains(file) && err.contains("not JSON"), "{err}");
}

#[test]
fn nothing_changed_is_safe_in_any_order() {
    let scratch = Scratch::new();
    let (code, out, err) = plan(&scratch, &["--base", "HEAD"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("no event's contract changes"), "{out}");
}

/// A base from either layout before today's (every schema under
/// `product/events/schemas/`, then each team's under its service's
/// `contract/schemas/`, the AsyncAPI document and templates under
/// `product/`) reads as today's: a move alone changes no contract, and an
/// edit after it is judged against the schema as it was.
#[test]
fn a_base_from_an_earlier_layout_reads_as_todays() {
    let scratch = Scratch::new();
    let mv = |from: &str, to: &str| {
        let parent = std::path::Path::new(to).parent().unwrap();
        std::fs::create_dir_all(scratch.dir.path().join(parent)).unwrap();
        scratch.git(&["mv", from, to]);
    };
    mv("events", "product/events");
    mv("services", "product/services");
    let all_in_events = scratch.commit("every schema in product/events/schemas");
    for service in repo::SERVICES {
        mv(
            &format!("product/events/schemas/app.{service}"),
            &format!("product/services/{service}/contract/schemas"),
        );
    }
    let in_team_folders = scratch.commit("each team's schemas in its folder");
    mv("product/events", "events");
    mv("product/services", "services");
    for service in repo::SERVICES {
        mv(
            &format!("services/{service}/contract/schemas"),
            &format!("events/schemas/app.{service}"),
        );
    }
    scratch.commit("today's layout");
    for base in [&all_in_events, &in_team_folders] {
        let (code, out, err) = plan(&scratch, &["--base", base]);
        assert_eq!(code, Some(0), "{out}{err}");
        assert!(out.contains("no event's contract changes"), "{out}");
    }
    scratch.edit_todo_completed(|data| {
        data["properties"]["priority"] = json!({"type": "string"});
    });
    scratch.commit("an optional field");
    for base in [&all_in_events, &in_team_folders] {
        let (code, out, err) = plan(&scratch, &["--base", base]);
        assert_eq!(code, Some(0), "{out}{err}");
        assert!(out.contains("app.todos/TodoCompleted v1"), "{out}");
        assert!(out.contains("order: any"), "{out}");
    }
}
