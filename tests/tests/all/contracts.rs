//! Contract tests: committed schemas, examples, publishers and consumers
//! agree, and the schema check catches breaking changes.

use std::collections::BTreeSet;

use aws_lambda_events::dynamodb::EventRecord;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Utc};
use compat::{Direction, Mode, Policy, Rule};
use events::todos::DeletionReason;
use events::{EventKey, PutEntry, catalog};
use governance::schemas::{self, Baseline, Problem, Rules};
use kit::stream::record;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{committed_schemas, delivered, examples, root, schema_file, violations};

type Decode = fn(&EventBridgeEvent<Value>) -> Result<(), String>;

struct Service {
    name: &'static str,
    publishes: &'static [EventKey],
    consumes: &'static [EventKey],
    decode: Option<Decode>,
}

fn services() -> Vec<Service> {
    vec![
        Service {
            name: declarations::users::DECLARATION.name,
            publishes: declarations::users::DECLARATION.publishes,
            consumes: declarations::users::DECLARATION.consumes,
            decode: Some(|e| {
                users::erasure::decode_incoming(e)
                    .map(drop)
                    .map_err(|e| e.to_string())
            }),
        },
        Service {
            name: declarations::todos::DECLARATION.name,
            publishes: declarations::todos::DECLARATION.publishes,
            consumes: declarations::todos::DECLARATION.consumes,
            decode: Some(|e| {
                todos::handlers::decode_incoming(e)
                    .map(drop)
                    .map_err(|e| e.to_string())
            }),
        },
        Service {
            name: declarations::notifications::DECLARATION.name,
            publishes: declarations::notifications::DECLARATION.publishes,
            consumes: declarations::notifications::DECLARATION.consumes,
            decode: Some(|e| {
                notifications::handlers::decode_incoming(e)
                    .map(drop)
                    .map_err(|e| e.to_string())
            }),
        },
    ]
}

#[test]
fn every_version_has_examples_that_validate_and_deserialize() {
    let mut seen = 0;
    for spec in catalog() {
        let found = examples(&spec);
        assert!(!found.is_empty(), "{}: no example", spec.key);
        for (path, detail) in found {
            let problems = violations(&spec.key, &detail);
            assert!(problems.is_empty(), "{}: {problems:?}", path.display());
            spec.check_detail(&detail)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            seen += 1;
        }
    }
    assert!(seen >= catalog().len());
}

#[test]
fn a_committed_schema_rejects_what_its_type_rejects() {
    let spec = events::find(&<events::todos::TodoCreatedV1 as events::Event>::KEY).unwrap();
    let (_, mut detail) = examples(&spec).remove(0);
    detail["data"].as_object_mut().unwrap().remove("title");
    detail["metadata"]["event_id"] = json!("not-a-uuid");
    let problems = violations(&spec.key, &detail);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems.iter().any(|p| p.starts_with("/data")));
    assert!(problems.iter().any(|p| p.starts_with("/metadata/event_id")));
    assert!(spec.check_detail(&detail).is_err());
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn item<T: serde::Serialize>(t: &T) -> serde_dynamo::Item {
    serde_dynamo::to_item(t).unwrap()
}

/// A service's receipt for u-1's erasure, answering UserDeleted evt-9.
fn receipt(pk: &str) -> kit::erasure::Receipt {
    let deleted = events::Metadata {
        event_id: Uuid::from_u128(9),
        occurred_at: at("2026-11-22T10:00:00Z"),
        correlation_id: "req-9".into(),
        causation_id: None,
        schema_version: 1,
        producer: "users".into(),
    };
    kit::erasure::Receipt::new(pk.into(), "u-1", &deleted, at("2026-11-22T10:00:02Z"))
}

/// Stream records a user's journey through each service writes.
fn journeys() -> Vec<(&'static str, Vec<EventRecord>)> {
    use todos::items::{Attachment, AttachmentStatus, Todo, Tombstone as TodoTombstone};
    use users::items::{Item as U, Profile, Tombstone};

    let profile = Profile::new(
        "u-1",
        "ada@example.com",
        "Ada",
        at("2026-11-22T09:00:00Z"),
        "req-1",
    );
    let mut renamed = profile.clone();
    renamed.display_name = "Ada L.".into();
    renamed.updated_at = at("2026-11-22T09:05:00Z");
    let users = vec![
        record(
            "u1",
            "INSERT",
            None,
            Some(item(&U::Profile(profile.clone()))),
        ),
        record(
            "u2",
            "MODIFY",
            Some(item(&U::Profile(profile))),
            Some(item(&U::Profile(renamed.clone()))),
        ),
        record("u3", "REMOVE", Some(item(&U::Profile(renamed))), None),
        record(
            "u4",
            "INSERT",
            None,
            Some(item(&U::Tombstone(Tombstone::new(
                "u-1",
                at("2026-11-22T10:00:00Z"),
                "req-9",
            )))),
        ),
    ];

    let todo_id = Uuid::from_u128(0x0193_a4d0_2c30_7000_8000_0000_0000_0001);
    let mut created = Todo::new(
        todo_id,
        "u-1",
        "Write the post",
        at("2026-11-22T09:10:00Z"),
        "req-2",
    );
    created.description = Some("two paragraphs".into());
    created.due_date = Some("2026-11-30".parse().unwrap());
    let mut with_upload = created.clone();
    with_upload.attachments.push(Attachment {
        attachment_id: Uuid::from_u128(0xa1),
        file_name: "diagram.png".into(),
        content_type: "image/png".into(),
        size_bytes: 48_213,
        object_key: format!("users/u-1/todos/{todo_id}/{}", Uuid::from_u128(0xa1)),
        status: AttachmentStatus::Pending,
        reason: None,
        updated_at: at("2026-11-22T09:11:00Z"),
        correlation_id: "req-3".into(),
    });
    let mut ready = with_upload.clone();
    ready.attachments[0].status = AttachmentStatus::Ready;
    let mut done = ready.clone();
    done.completed = true;
    done.completed_at = Some(at("2026-11-22T09:20:00Z"));
    done.updated_at = at("2026-11-22T09:20:00Z");
    done.correlation_id = "req-4".into();
    let gone = TodoTombstone::of(
        &done,
        DeletionReason::UserDeleted,
        at("2026-11-22T10:00:01Z"),
        "req-9",
        Some("evt-9".into()),
    );
    use todos::items::Item as T;
    let todos = vec![
        record("t1", "INSERT", None, Some(item(&T::Todo(created.clone())))),
        record(
            "t2",
            "MODIFY",
            Some(item(&T::Todo(created))),
            Some(item(&T::Todo(with_upload.clone()))),
        ),
        record(
            "t3",
            "MODIFY",
            Some(item(&T::Todo(with_upload))),
            Some(item(&T::Todo(ready.clone()))),
        ),
        record(
            "t4",
            "MODIFY",
            Some(item(&T::Todo(ready))),
            Some(item(&T::Todo(done.clone()))),
        ),
        record("t5", "REMOVE", Some(item(&T::Todo(done))), None),
        record("t6", "INSERT", None, Some(item(&T::Tombstone(gone)))),
        record(
            "t7",
            "INSERT",
            None,
            Some(item(&T::ErasureReceipt(receipt("USER#u-1")))),
        ),
    ];

    use notifications::items::{Item as N, Notification};
    let draft = notifications::domain::welcome(&events::users::UserRegisteredV1 {
        user_id: "u-1".into(),
        email: "ada@example.com".into(),
        display_name: "Ada".into(),
        registered_at: at("2026-11-22T09:00:00Z"),
    });
    let note = Notification::new(
        Uuid::now_v7(),
        draft,
        Uuid::from_u128(5),
        at("2026-11-22T09:00:01Z"),
        "req-1",
    );
    let notifications = vec![
        record("n1", "INSERT", None, Some(item(&N::Notification(note)))),
        record(
            "n2",
            "INSERT",
            None,
            Some(item(&N::ErasureReceipt(receipt("USER#u-1")))),
        ),
    ];

    vec![
        ("users", users),
        ("todos", todos),
        ("notifications", notifications),
    ]
}

fn publish(service: &str, record: &EventRecord) -> Vec<PutEntry> {
    match service {
        "users" => users::publisher::events_for(record),
        "todos" => todos::publisher::events_for(record),
        "notifications" => notifications::publisher::events_for(record),
        other => panic!("unknown service {other}"),
    }
    .unwrap_or_else(|e| panic!("{service}: {e}"))
}

#[test]
fn every_published_event_validates_against_its_committed_schema() {
    for (name, records) in journeys() {
        let service = services().into_iter().find(|s| s.name == name).unwrap();
        let mut published = BTreeSet::new();
        for record in &records {
            for entry in publish(name, record) {
                assert!(
                    service.publishes.contains(&entry.key),
                    "{name} published {} without declaring it",
                    entry.key
                );
                let detail: Value = serde_json::from_str(&entry.detail).unwrap();
                let problems = violations(&entry.key, &detail);
                assert!(problems.is_empty(), "{}: {problems:?}", entry.key);
                assert_eq!(detail["metadata"]["producer"], name);
                published.insert(entry.key);
            }
        }
        let declared: BTreeSet<_> = service.publishes.iter().copied().collect();
        assert_eq!(
            published, declared,
            "{name}: the journey should publish every declared event"
        );
    }
}

#[test]
fn consumers_decode_every_example_they_declare_and_nothing_else() {
    for service in services() {
        let Some(decode) = service.decode else {
            assert!(
                service.consumes.is_empty(),
                "{} declares consumption without a decoder",
                service.name
            );
            continue;
        };
        for spec in catalog() {
            let declared = service.consumes.contains(&spec.key);
            for (path, detail) in examples(&spec) {
                let result = decode(&delivered(&spec.key, detail));
                match (declared, result) {
                    (true, Err(e)) => {
                        panic!("{} cannot decode {}: {e}", service.name, path.display())
                    }
                    (false, Ok(())) => {
                        panic!("{} decodes {} without declaring it", service.name, spec.key)
                    }
                    _ => {}
                }
            }
        }
    }
}

#[test]
fn a_malformed_consumed_event_is_rejected_naming_the_field() {
    let spec = events::find(&<events::users::UserDeletedV1 as events::Event>::KEY).unwrap();
    let (_, mut detail) = examples(&spec).remove(0);
    detail["data"]["deleted_at"] = json!(12);
    let err = todos::handlers::decode_incoming(&delivered(&spec.key, detail)).unwrap_err();
    assert!(err.to_string().contains("detail.data.deleted_at"), "{err}");
}

#[test]
fn the_schema_check_passes_on_the_repository() {
    let committed = committed_schemas();
    let report = schemas::check_sets(
        &schemas::generated(),
        &committed,
        &committed,
        "the committed schemas".into(),
        &catalog(),
        &root(),
        Rules::default(),
    )
    .unwrap();
    assert!(report.is_ok(), "{}", report.render());
    assert_eq!(report.checked, catalog().len());
}

/// The committed schemas, each where it lives, into another checkout.
fn copy_schemas(to: &std::path::Path) {
    for (key, value) in committed_schemas() {
        let path = to.join(schema_file(&key));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, schemas::render(&value)).unwrap();
    }
}

#[test]
fn a_field_removed_from_a_type_is_breaking_against_the_baseline() {
    // The fixture is the committed TodoCreated v1 with `title` removed, as
    // the types would generate it after deleting the field.
    let fixture: Value = serde_json::from_str(include_str!(
        "../../fixtures/breaking/todo-created-v1-without-title.json"
    ))
    .unwrap();
    let file = "app.todos/TodoCreated/v1.json".to_owned();
    let mut now = schemas::generated();
    now.insert(file.clone(), fixture);
    let report = schemas::check_sets(
        &now,
        &now,
        &committed_schemas(),
        "the committed schemas".into(),
        &catalog(),
        &root(),
        Rules::default(),
    )
    .unwrap();
    let found: Vec<_> = report
        .breaking()
        .map(|(f, c)| (f.to_owned(), c.path.clone(), c.direction, c.rule))
        .collect();
    // Consumers still on v1 require the title that new events lack.
    assert_eq!(
        found,
        [(
            file.clone(),
            "$.data.title".into(),
            Direction::Forward,
            Rule::Required
        )]
    );
    let text = report.render();
    assert!(
        text.contains("app.todos TodoCreated v1 (FULL, LENIENT)"),
        "{text}"
    );
    assert!(
        text.contains("app.todos TodoCreated v1: $.data.title [forward] required: the old schema requires `title`"),
        "{text}"
    );
}

/// The committed schemas with one file changed, as a baseline.
fn baseline_with(file: &str, change: impl FnOnce(&mut Value)) -> schemas::SchemaSet {
    let mut set = committed_schemas();
    change(set.get_mut(file).unwrap());
    set
}

fn check_against(
    baseline: &schemas::SchemaSet,
    specs: &[events::EventSpec],
    rules: Rules,
) -> schemas::Report {
    let now = schemas::generated();
    schemas::check_sets(
        &now,
        &now,
        baseline,
        "a test baseline".into(),
        specs,
        &root(),
        rules,
    )
    .unwrap()
}

fn findings(report: &schemas::Report) -> Vec<(String, Direction, Rule)> {
    report
        .breaking()
        .map(|(_, c)| (c.path.clone(), c.direction, c.rule))
        .collect()
}

#[test]
fn an_additive_optional_field_passes_under_the_default_policy_only() {
    // The baseline's TodoCreated v1 had no `description`: the types added it.
    let file = "app.todos/TodoCreated/v1.json";
    let before = baseline_with(file, |s| {
        s["$defs"]["TodoCreatedV1"]["properties"]
            .as_object_mut()
            .unwrap()
            .remove("description");
    });
    let report = check_against(&before, &catalog(), Rules::default());
    assert!(report.is_ok(), "{}", report.render());
    // Strictly, the old open object accepted any `description`.
    let strict = Rules {
        mode: None,
        policy: Policy::Strict,
    };
    assert_eq!(
        findings(&check_against(&before, &catalog(), strict)),
        [(
            "$.data.description".to_owned(),
            Direction::Backward,
            Rule::Type
        )]
    );
}

#[test]
fn an_enum_value_added_breaks_consumers_still_on_the_old_schema() {
    // TodoUpdated v1's `changed` lists TodoField values; the baseline lacked one.
    let file = "app.todos/TodoUpdated/v1.json";
    let before = baseline_with(file, |s| {
        s["$defs"]["TodoField"]["enum"] = json!(["title", "description", "completed"]);
    });
    let report = check_against(&before, &catalog(), Rules::default());
    let found: Vec<_> = report.breaking().map(|(_, c)| c.clone()).collect();
    assert_eq!(found.len(), 1, "{}", report.render());
    assert_eq!(found[0].path, "$.data.changed[]");
    assert_eq!(
        (found[0].direction, found[0].rule),
        (Direction::Forward, Rule::Enum)
    );
    assert!(
        found[0].reason.contains("#[serde(other)]"),
        "{}",
        found[0].reason
    );
    // Replays only need the new schema to read old events: BACKWARD passes.
    let backward = Rules {
        mode: Some(Mode::Backward),
        policy: Policy::Lenient,
    };
    assert!(check_against(&before, &catalog(), backward).is_ok());
}

#[test]
fn each_version_is_held_to_the_mode_it_declares() {
    // The baseline required `due_date`; the types made it optional, which
    // only consumers still on the old schema notice.
    let file = "app.todos/TodoCreated/v1.json";
    let before = baseline_with(file, |s| {
        s["$defs"]["TodoCreatedV1"]["required"]
            .as_array_mut()
            .unwrap()
            .push(json!("due_date"));
    });
    let full = check_against(&before, &catalog(), Rules::default());
    assert_eq!(
        findings(&full),
        [(
            "$.data.due_date".to_owned(),
            Direction::Forward,
            Rule::Required
        )]
    );
    let declared_backward: Vec<_> = catalog()
        .into_iter()
        .map(|mut spec| {
            if spec.key.schema_file() == file {
                spec.compatibility = events::Compatibility::Backward;
            }
            spec
        })
        .collect();
    let report = check_against(&before, &declared_backward, Rules::default());
    assert!(report.is_ok(), "{}", report.render());
    // `--mode` overrides what the version declares.
    let forced = Rules {
        mode: Some(Mode::Full),
        policy: Policy::Lenient,
    };
    assert!(!check_against(&before, &declared_backward, forced).is_ok());
}

#[test]
fn a_hand_edited_required_property_is_reported_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    copy_schemas(dir.path());
    let path = dir
        .path()
        .join(schema_file("app.todos/TodoCompleted/v1.json"));
    let mut schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let data = &mut schema["$defs"]["TodoCompletedV1"];
    data["properties"]["priority"] = json!({"type": "integer"});
    data["required"]
        .as_array_mut()
        .unwrap()
        .push(json!("priority"));
    std::fs::write(&path, schemas::render(&schema)).unwrap();

    let report = schemas::check(dir.path(), &root(), &Baseline::None).unwrap();
    assert!(!report.is_ok());
    let text = report.render();
    assert!(
        text.contains("out of date: events/schemas/app.todos/TodoCompleted/v1.json"),
        "{text}"
    );
    assert!(
        text.contains("file vs types: $.data.priority [forward] required"),
        "{text}"
    );
    assert!(matches!(report.problems[0], Problem::OutOfDate { .. }));

    // Regenerating restores the file and the check passes again.
    let generated = schemas::generated();
    std::fs::write(
        &path,
        schemas::render(&generated["app.todos/TodoCompleted/v1.json"]),
    )
    .unwrap();
    assert!(
        schemas::check(dir.path(), &root(), &Baseline::None)
            .unwrap()
            .is_ok()
    );
}

#[test]
fn the_git_baseline_catches_a_field_removed_since_the_merge_base() {
    let repo = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        crate::support::git(repo.path(), args);
    };
    git(&["init", "-q"]);
    copy_schemas(repo.path());
    // The baseline's UserDeleted v1 required a `reason` that the type no longer has.
    let path = repo
        .path()
        .join(schema_file("app.users/UserDeleted/v1.json"));
    let mut schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    schema["$defs"]["UserDeletedV1"]["properties"]["reason"] = json!({"type": "string"});
    schema["$defs"]["UserDeletedV1"]["required"]
        .as_array_mut()
        .unwrap()
        .push(json!("reason"));
    std::fs::write(&path, schemas::render(&schema)).unwrap();
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "baseline"]);

    let baseline = Baseline::Git {
        repo: repo.path().to_path_buf(),
        rev: "HEAD".into(),
    };
    let report = schemas::check(&root(), &root(), &baseline).unwrap();
    let found: Vec<_> = report.breaking().map(|(f, c)| format!("{f} {c}")).collect();
    assert_eq!(
        found,
        [
            "app.users/UserDeleted/v1.json $.data.reason [forward] required: the old schema requires `reason`; new events do not carry it"
        ]
    );
}

/// A service publishes under the name its declaration has: the envelope's
/// producer is the service's own constant, the declaration the tools'.
#[test]
fn each_service_publishes_under_the_name_its_declaration_has() {
    let names = [
        users::SERVICE,
        todos::SERVICE,
        notifications::SERVICE,
        campaigns::SERVICE,
    ];
    let declared: Vec<&str> = declarations::SERVICES.iter().map(|s| s.name).collect();
    assert_eq!(names.to_vec(), declared);
}

/// The digest a deploy tags its stack with (from the schema the type
/// generates) is the digest the deploy plan reads from the committed file:
/// otherwise no step of a change made in place would ever show done.
#[test]
fn the_carried_digest_of_each_version_is_its_committed_files() {
    for spec in catalog() {
        let file = root().join(schema_file(&spec.key.schema_file()));
        let committed: Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(
            declarations::carried::digest(&committed),
            declarations::carried::digest(&spec.schema()),
            "{}",
            file.display()
        );
    }
}

#[test]
fn each_consumers_pre_traffic_hook_sends_exactly_what_its_service_declares() {
    let hooked: [(&str, &[EventKey], &[EventKey]); 4] = [
        (
            "users",
            users::erasure::CONSUMED,
            declarations::users::DECLARATION.consumes,
        ),
        (
            "todos",
            todos::handlers::CONSUMED,
            declarations::todos::DECLARATION.consumes,
        ),
        (
            "notifications",
            notifications::handlers::CONSUMED,
            declarations::notifications::DECLARATION.consumes,
        ),
        (
            "campaigns",
            campaigns::handlers::CONSUMED,
            declarations::campaigns::DECLARATION.consumes,
        ),
    ];
    for (service, sent, declared) in hooked {
        let names = |keys: &[EventKey]| -> BTreeSet<String> {
            keys.iter().map(|k| format!("{k:?}")).collect()
        };
        assert_eq!(names(sent), names(declared), "{service}'s hook");
        // Every one of them has a committed example to send.
        let sent = kit::hook::deliveries(sent, || "id".into(), "2026-11-27T00:00:00Z");
        assert_eq!(sent.map(|s| s.len()), Ok(declared.len()), "{service}");
    }
}
