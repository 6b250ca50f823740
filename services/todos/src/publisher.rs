//! The outbox read side: table changes in, domain events out.

use aws_lambda_events::dynamodb::EventRecord;
use events::PutEntry;
use events::todos::{
    TodoAttachmentAddedV1, TodoCompletedV1, TodoCreatedV1, TodoDeletedV1, TodoField, TodoUpdatedV1,
    TodosUserErasedV1,
};
use kit::stream::{Change, Origin, StreamError, change};

use crate::SERVICE;
use crate::items::{AttachmentStatus, Item, Todo};

/// The events one stream record publishes: none, one, or several (an update
/// that also completes a todo publishes both).
pub fn events_for(record: &EventRecord) -> Result<Vec<PutEntry>, StreamError> {
    let origin = Origin {
        record,
        producer: SERVICE,
    };
    let mut out = Vec::new();
    match change::<Item>(record)? {
        Change::Insert { new: Item::Todo(t) } => out.push(origin.entry(
            t.created_at,
            &t.correlation_id,
            None,
            TodoCreatedV1 {
                todo_id: t.todo_id,
                user_id: t.user_id,
                title: t.title,
                description: t.description,
                due_date: t.due_date,
                created_at: t.created_at,
            },
        )?),
        Change::Modify {
            old: Item::Todo(old),
            new: Item::Todo(new),
        } => modified(&origin, &old, &new, &mut out)?,
        Change::Insert {
            new: Item::ErasureReceipt(r),
        } => out.push(origin.entry(
            r.erased_at,
            &r.correlation_id,
            Some(r.causation_id),
            TodosUserErasedV1 {
                user_id: r.user_id,
                erased_at: r.erased_at,
            },
        )?),
        Change::Insert {
            new: Item::Tombstone(t),
        } => out.push(origin.entry(
            t.deleted_at,
            &t.correlation_id,
            t.causation_id.clone(),
            TodoDeletedV1 {
                todo_id: t.todo_id,
                user_id: t.user_id,
                reason: t.reason,
                deleted_at: t.deleted_at,
            },
        )?),
        _ => {}
    }
    Ok(out)
}

fn modified(
    origin: &Origin<'_>,
    old: &Todo,
    new: &Todo,
    out: &mut Vec<PutEntry>,
) -> Result<(), StreamError> {
    let changed = changed_fields(old, new);
    if !changed.is_empty() {
        out.push(origin.entry(
            new.updated_at,
            &new.correlation_id,
            None,
            TodoUpdatedV1 {
                todo_id: new.todo_id,
                user_id: new.user_id.clone(),
                title: new.title.clone(),
                description: new.description.clone(),
                due_date: new.due_date,
                completed: new.completed,
                changed,
                updated_at: new.updated_at,
            },
        )?);
    }
    if !old.completed && new.completed {
        out.push(origin.entry(
            new.updated_at,
            &new.correlation_id,
            None,
            TodoCompletedV1 {
                todo_id: new.todo_id,
                user_id: new.user_id.clone(),
                title: new.title.clone(),
                completed_at: new.completed_at.unwrap_or(new.updated_at),
            },
        )?);
    }
    for attachment in &new.attachments {
        let was_ready = old.attachments.iter().any(|a| {
            a.attachment_id == attachment.attachment_id && a.status == AttachmentStatus::Ready
        });
        if attachment.status == AttachmentStatus::Ready && !was_ready {
            out.push(origin.entry(
                attachment.updated_at,
                &attachment.correlation_id,
                None,
                TodoAttachmentAddedV1 {
                    todo_id: new.todo_id,
                    user_id: new.user_id.clone(),
                    attachment_id: attachment.attachment_id,
                    file_name: attachment.file_name.clone(),
                    content_type: attachment.content_type.clone(),
                    size_bytes: attachment.size_bytes,
                    object_key: attachment.object_key.clone(),
                    added_at: attachment.updated_at,
                },
            )?);
        }
    }
    Ok(())
}

fn changed_fields(old: &Todo, new: &Todo) -> Vec<TodoField> {
    [
        (old.title != new.title, TodoField::Title),
        (old.description != new.description, TodoField::Description),
        (old.due_date != new.due_date, TodoField::DueDate),
        (old.completed != new.completed, TodoField::Completed),
    ]
    .into_iter()
    .filter_map(|(differs, field)| differs.then_some(field))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::items::{Attachment, Tombstone};
    use events::Event;
    use events::todos::DeletionReason;
    use kit::stream::record;
    use uuid::Uuid;

    fn item(i: &Item) -> serde_dynamo::Item {
        serde_dynamo::to_item(i).unwrap()
    }

    fn todo() -> Todo {
        Todo::new(
            Uuid::from_u128(7),
            "u1",
            "ship",
            "2026-11-22T10:00:00Z".parse().unwrap(),
            "req-1",
        )
    }

    fn keys(old: Todo, new: Todo) -> Vec<events::EventKey> {
        let r = record(
            "r",
            "MODIFY",
            Some(item(&Item::Todo(old))),
            Some(item(&Item::Todo(new))),
        );
        events_for(&r).unwrap().into_iter().map(|e| e.key).collect()
    }

    #[test]
    fn insert_creates() {
        let r = record("r", "INSERT", None, Some(item(&Item::Todo(todo()))));
        assert_eq!(events_for(&r).unwrap()[0].key, TodoCreatedV1::KEY);
    }

    #[test]
    fn completing_publishes_updated_and_completed_once() {
        let mut done = todo();
        done.completed = true;
        assert_eq!(
            keys(todo(), done.clone()),
            [TodoUpdatedV1::KEY, TodoCompletedV1::KEY]
        );
        let mut retitled = done.clone();
        retitled.title = "ship it".into();
        assert_eq!(keys(done, retitled), [TodoUpdatedV1::KEY]);
    }

    #[test]
    fn an_unchanged_write_publishes_nothing() {
        assert!(keys(todo(), todo()).is_empty());
    }

    #[test]
    fn an_attachment_turning_ready_is_added_once() {
        let mut pending = todo();
        pending.attachments.push(Attachment {
            attachment_id: Uuid::from_u128(9),
            file_name: "a.png".into(),
            content_type: "image/png".into(),
            size_bytes: 10,
            object_key: "users/u1/todos/7/9".into(),
            status: AttachmentStatus::Pending,
            reason: None,
            updated_at: "2026-11-22T10:00:00Z".parse().unwrap(),
            correlation_id: "req-up".into(),
        });
        let mut ready = pending.clone();
        ready.attachments[0].status = AttachmentStatus::Ready;
        assert_eq!(keys(pending, ready.clone()), [TodoAttachmentAddedV1::KEY]);
        assert!(keys(ready.clone(), ready).is_empty());
    }

    #[test]
    fn a_tombstone_announces_the_deletion_with_its_cause() {
        let t = Tombstone::of(
            &todo(),
            DeletionReason::UserDeleted,
            "2026-11-22T12:00:00Z".parse().unwrap(),
            "req-del",
            Some("cause".into()),
        );
        let r = record("r", "INSERT", None, Some(item(&Item::Tombstone(t))));
        let entries = events_for(&r).unwrap();
        assert_eq!(entries[0].key, TodoDeletedV1::KEY);
        assert!(entries[0].detail.contains("\"causation_id\":\"cause\""));
        let removed = record("r2", "REMOVE", Some(item(&Item::Todo(todo()))), None);
        assert!(events_for(&removed).unwrap().is_empty());
    }
}
