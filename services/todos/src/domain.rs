//! Todo rules without I/O: what a valid request is, and what it changes.

use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::items::{Attachment, AttachmentStatus, Todo};
use kit::http_api::{Invalid, LINE_PATTERN, check_line};

pub const TITLE_MAX: usize = 200;
pub const DESCRIPTION_MAX: usize = 2000;

fn check_title(title: &str) -> Result<(), Invalid> {
    check_line("title", title, TITLE_MAX)
}

fn check_description(description: &str) -> Result<(), Invalid> {
    let n = description.chars().count();
    if n > DESCRIPTION_MAX {
        return Err(Invalid::range(
            "description",
            format!("must be at most {DESCRIPTION_MAX} characters (got {n})"),
        ));
    }
    Ok(())
}

/// The body of `POST /todos`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTodo {
    #[schemars(length(min = 1, max = TITLE_MAX), pattern(LINE_PATTERN))]
    pub title: String,
    #[serde(default)]
    #[schemars(length(max = DESCRIPTION_MAX))]
    pub description: Option<String>,
    #[serde(default)]
    pub due_date: Option<NaiveDate>,
}

impl NewTodo {
    pub fn validate(self) -> Result<Self, Invalid> {
        check_title(&self.title)?;
        if let Some(d) = &self.description {
            check_description(d)?;
        }
        Ok(self)
    }

    pub fn into_todo(
        self,
        id: Uuid,
        user_id: &str,
        now: DateTime<Utc>,
        correlation_id: &str,
    ) -> Todo {
        let mut todo = Todo::new(id, user_id, &self.title, now, correlation_id);
        todo.description = self.description;
        todo.due_date = self.due_date;
        todo
    }
}

/// The body of `PATCH /todos/{id}`: a partial update naming at least one
/// field. `description` and `due_date` accept `null` to clear; `title` and
/// `completed` cannot be cleared, so `null` is refused for them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("minProperties" = 1))]
pub struct Patch {
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "String", length(min = 1, max = TITLE_MAX), pattern(LINE_PATTERN))]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schemars(with = "Option<String>", length(max = DESCRIPTION_MAX))]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schemars(with = "Option<NaiveDate>")]
    pub due_date: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "bool")]
    pub completed: Option<bool>,
}

/// A field that may be absent but, when given, is a value (not `null`).
fn present<'de, T, D>(de: D) -> Result<Option<T>, D::Error>
where
    T: Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    T::deserialize(de).map(Some)
}

fn nullable<'de, T, D>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

impl Patch {
    pub fn validate(self) -> Result<Self, Invalid> {
        if self == Patch::default() {
            return Err(Invalid::range(
                "body",
                "name at least one of title, description, due_date, completed",
            ));
        }
        if let Some(t) = &self.title {
            check_title(t)?;
        }
        if let Some(Some(d)) = &self.description {
            check_description(d)?;
        }
        Ok(self)
    }

    /// The todo after this patch. Completing stamps `completed_at` once;
    /// reopening clears it.
    pub fn apply(self, todo: &Todo, now: DateTime<Utc>, correlation_id: &str) -> Todo {
        let mut next = todo.clone();
        if let Some(t) = self.title {
            next.title = t;
        }
        if let Some(d) = self.description {
            next.description = d;
        }
        if let Some(d) = self.due_date {
            next.due_date = d;
        }
        if let Some(c) = self.completed {
            if c && !todo.completed {
                next.completed_at = Some(now);
            } else if !c {
                next.completed_at = None;
            }
            next.completed = c;
        }
        next.updated_at = now;
        next.correlation_id = correlation_id.into();
        next
    }
}

pub const ATTACHMENT_MAX_BYTES: u64 = 10 * 1024 * 1024;
pub const ATTACHMENTS_PER_TODO: usize = 20;
pub const FILE_NAME_MAX: usize = 255;
/// Content types an attachment may have; anything else is refused up front
/// and rejected if it is what actually lands.
pub const ALLOWED_CONTENT_TYPES: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/gif",
    "application/pdf",
    "text/plain",
];

/// The body of `POST /todos/{id}/attachments`: what the client will upload.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAttachment {
    #[schemars(length(min = 1, max = FILE_NAME_MAX), pattern(FILE_NAME_PATTERN))]
    pub file_name: String,
    #[schemars(extend("enum" = ALLOWED_CONTENT_TYPES))]
    pub content_type: String,
    #[serde(deserialize_with = "kit::http_api::whole_number")]
    #[schemars(range(min = 1, max = ATTACHMENT_MAX_BYTES))]
    pub size: u64,
}

/// No slashes and no control characters (JSON Schema's form of the rule).
pub const FILE_NAME_PATTERN: &str = "^[^/\\\\\\u0000-\\u001f\\u007f-\\u009f]+$";

impl NewAttachment {
    pub fn validate(self, todo: &Todo) -> Result<Self, Invalid> {
        let n = self.file_name.chars().count();
        if n == 0
            || n > FILE_NAME_MAX
            || self.file_name.contains(['/', '\\'])
            || self.file_name.chars().any(char::is_control)
        {
            return Err(Invalid::range(
                "file_name",
                format!(
                    "must be 1 to {FILE_NAME_MAX} characters without slashes or control characters"
                ),
            ));
        }
        if !ALLOWED_CONTENT_TYPES.contains(&self.content_type.as_str()) {
            return Err(Invalid::range(
                "content_type",
                format!("must be one of {}", ALLOWED_CONTENT_TYPES.join(", ")),
            ));
        }
        if self.size == 0 || self.size > ATTACHMENT_MAX_BYTES {
            return Err(Invalid::range(
                "size",
                format!("must be 1 to {ATTACHMENT_MAX_BYTES} bytes"),
            ));
        }
        if todo.attachments.len() >= ATTACHMENTS_PER_TODO {
            // The request is valid; the todo is full (found by Schemathesis:
            // a 422 told a client to fix a body that had nothing wrong).
            return Err(Invalid::state(
                "attachments",
                format!("a todo holds at most {ATTACHMENTS_PER_TODO} attachments"),
            ));
        }
        Ok(self)
    }

    /// The todo with this attachment pending, and the attachment.
    pub fn attach(
        self,
        todo: &Todo,
        id: Uuid,
        now: DateTime<Utc>,
        correlation_id: &str,
    ) -> (Todo, Attachment) {
        let attachment = Attachment {
            attachment_id: id,
            file_name: self.file_name,
            content_type: self.content_type,
            size_bytes: self.size,
            object_key: object_key(&todo.user_id, todo.todo_id, id),
            status: AttachmentStatus::Pending,
            reason: None,
            updated_at: now,
            correlation_id: correlation_id.into(),
        };
        let mut next = todo.clone();
        next.attachments.push(attachment.clone());
        next.updated_at = now;
        (next, attachment)
    }
}

/// Where an attachment's object lives: under its owner's prefix, so a
/// presigned URL can only ever write there.
pub fn object_key(user_id: &str, todo_id: Uuid, attachment_id: Uuid) -> String {
    format!("{}todos/{todo_id}/{attachment_id}", user_prefix(user_id))
}

/// Where every file of a user is, whatever its todo: what erasure empties.
pub fn user_prefix(user_id: &str) -> String {
    format!("users/{user_id}/")
}

/// The owner, todo and attachment an object key names.
pub fn parse_object_key(key: &str) -> Option<(String, Uuid, Uuid)> {
    let mut parts = key.split('/');
    match (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) {
        (Some("users"), Some(user), Some("todos"), Some(todo), Some(attachment), None)
            if !user.is_empty() =>
        {
            Some((
                user.to_owned(),
                todo.parse().ok()?,
                attachment.parse().ok()?,
            ))
        }
        _ => None,
    }
}

/// The verdict on an uploaded object: ready, or rejected with a reason.
pub fn check_upload(
    declared: &Attachment,
    actual_size: u64,
    actual_type: Option<&str>,
) -> Result<(), String> {
    if actual_size > ATTACHMENT_MAX_BYTES {
        return Err(format!(
            "object is {actual_size} bytes, over the {ATTACHMENT_MAX_BYTES}-byte limit"
        ));
    }
    if actual_size != declared.size_bytes {
        return Err(format!(
            "object is {actual_size} bytes, {} were declared",
            declared.size_bytes
        ));
    }
    match actual_type {
        Some(t) if t == declared.content_type && ALLOWED_CONTENT_TYPES.contains(&t) => Ok(()),
        other => Err(format!(
            "object content type is {}, {} was declared",
            other.unwrap_or("missing"),
            declared.content_type
        )),
    }
}

/// The todo after an upload was checked; `None` when the attachment is
/// unknown or already decided (a repeated notification).
pub fn settle(
    todo: &Todo,
    attachment_id: Uuid,
    verdict: Result<(), String>,
    now: DateTime<Utc>,
) -> Option<Todo> {
    let mut next = todo.clone();
    let a = next
        .attachments
        .iter_mut()
        .find(|a| a.attachment_id == attachment_id)?;
    if a.status != AttachmentStatus::Pending {
        return None;
    }
    match verdict {
        Ok(()) => a.status = AttachmentStatus::Ready,
        Err(reason) => {
            a.status = AttachmentStatus::Rejected;
            a.reason = Some(reason);
        }
    }
    a.updated_at = now;
    next.updated_at = now;
    Some(next)
}

/// A todo as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TodoView {
    pub id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub due_date: Option<NaiveDate>,
    pub completed: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub attachments: Vec<AttachmentView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachmentView {
    pub id: Uuid,
    pub file_name: String,
    pub content_type: String,
    pub size: u64,
    /// `pending` until the uploaded object is checked.
    pub status: AttachmentStatus,
    /// Why it was rejected.
    pub reason: Option<String>,
}

/// One page of the caller's todos, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TodoPage {
    pub items: Vec<TodoView>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<Uuid>,
}

/// Where and how to upload an attachment's object.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadTicket {
    pub attachment_id: Uuid,
    /// A presigned S3 URL; PUT the object there with `headers`.
    pub upload_url: String,
    pub expires_at: DateTime<Utc>,
    /// Always `PUT`.
    pub method: String,
    pub headers: UploadHeaders,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadHeaders {
    #[serde(rename = "content-type")]
    pub content_type: String,
}

pub fn view(todo: &Todo) -> TodoView {
    TodoView {
        id: todo.todo_id,
        title: todo.title.clone(),
        description: todo.description.clone(),
        due_date: todo.due_date,
        completed: todo.completed,
        created_at: todo.created_at,
        updated_at: todo.updated_at,
        attachments: todo
            .attachments
            .iter()
            .map(|a| AttachmentView {
                id: a.attachment_id,
                file_name: a.file_name.clone(),
                content_type: a.content_type.clone(),
                size: a.size_bytes,
                status: a.status,
                reason: a.reason.clone(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kit::http_api::parse_body;

    fn now() -> DateTime<Utc> {
        "2026-11-22T10:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_new_todo_needs_a_title_within_bounds() {
        let ok: NewTodo = parse_body(Some(r#"{"title":"ship","due_date":"2026-12-01"}"#)).unwrap();
        assert!(ok.validate().is_ok());
        let blank: NewTodo = parse_body(Some(r#"{"title":"  "}"#)).unwrap();
        assert_eq!(blank.validate().unwrap_err().field, "title");
        let long: NewTodo =
            parse_body(Some(&format!(r#"{{"title":"{}"}}"#, "é".repeat(201)))).unwrap();
        assert_eq!(long.validate().unwrap_err().status, 422);
        let exactly: NewTodo =
            parse_body(Some(&format!(r#"{{"title":"{}"}}"#, "é".repeat(200)))).unwrap();
        assert!(exactly.validate().is_ok());
    }

    #[test]
    fn a_patch_clears_with_null_and_completes_once() {
        let todo = NewTodo {
            title: "a".into(),
            description: Some("d".into()),
            due_date: None,
        }
        .into_todo(Uuid::nil(), "u", now(), "c1");
        let patch: Patch = parse_body(Some(r#"{"description":null,"completed":true}"#)).unwrap();
        let done = patch.validate().unwrap().apply(&todo, now(), "c2");
        assert_eq!(done.description, None);
        assert_eq!(done.completed_at, Some(now()));
        let later: DateTime<Utc> = "2026-11-23T10:00:00Z".parse().unwrap();
        let again = Patch {
            completed: Some(true),
            ..Patch::default()
        }
        .apply(&done, later, "c3");
        assert_eq!(
            again.completed_at,
            Some(now()),
            "completing twice keeps the first time"
        );
        let reopened = Patch {
            completed: Some(false),
            ..Patch::default()
        }
        .apply(&again, later, "c4");
        assert_eq!(reopened.completed_at, None);
    }

    fn attachment(size: u64, content_type: &str) -> NewAttachment {
        NewAttachment {
            file_name: "a.png".into(),
            content_type: content_type.into(),
            size,
        }
    }

    #[test]
    fn an_attachment_request_is_bounded_and_typed() {
        let todo = NewTodo {
            title: "a".into(),
            description: None,
            due_date: None,
        }
        .into_todo(Uuid::nil(), "u", now(), "c");
        assert!(attachment(10, "image/png").validate(&todo).is_ok());
        assert!(
            attachment(ATTACHMENT_MAX_BYTES, "application/pdf")
                .validate(&todo)
                .is_ok()
        );
        assert_eq!(
            attachment(ATTACHMENT_MAX_BYTES + 1, "image/png")
                .validate(&todo)
                .unwrap_err()
                .field,
            "size"
        );
        assert_eq!(
            attachment(0, "image/png")
                .validate(&todo)
                .unwrap_err()
                .field,
            "size"
        );
        assert_eq!(
            attachment(1, "application/x-msdownload")
                .validate(&todo)
                .unwrap_err()
                .field,
            "content_type"
        );
        let sneaky = NewAttachment {
            file_name: "../etc/passwd".into(),
            ..attachment(1, "text/plain")
        };
        assert_eq!(sneaky.validate(&todo).unwrap_err().field, "file_name");
    }

    #[test]
    fn an_upload_is_ready_only_as_declared_and_settles_once() {
        let todo = NewTodo {
            title: "a".into(),
            description: None,
            due_date: None,
        }
        .into_todo(Uuid::nil(), "u", now(), "c");
        let (with, a) = attachment(10, "image/png").attach(&todo, Uuid::from_u128(3), now(), "c");
        assert_eq!(
            parse_object_key(&a.object_key),
            Some(("u".into(), Uuid::nil(), Uuid::from_u128(3)))
        );
        assert!(check_upload(&a, 10, Some("image/png")).is_ok());
        assert!(
            check_upload(&a, 11, Some("image/png"))
                .unwrap_err()
                .contains("declared")
        );
        assert!(check_upload(&a, 10, Some("text/html")).is_err());
        assert!(check_upload(&a, 10, None).is_err());
        let ready = settle(&with, a.attachment_id, Ok(()), now()).unwrap();
        assert_eq!(ready.attachments[0].status, AttachmentStatus::Ready);
        assert!(settle(&ready, a.attachment_id, Err("late".into()), now()).is_none());
        assert!(settle(&with, Uuid::from_u128(99), Ok(()), now()).is_none());
        assert_eq!(parse_object_key("users/u/todos/not-a-uuid/x"), None);
        assert_eq!(parse_object_key("elsewhere/u/todos/x/y"), None);
    }

    // Found by Schemathesis: JSON Schema's `integer` admits 376607.0, and
    // the API answered 400 to a body its own document allowed.
    #[test]
    fn a_size_may_be_written_as_an_integral_float() {
        let parse = |size: &str| {
            parse_body::<NewAttachment>(Some(&format!(
                r#"{{"file_name":"a.png","content_type":"image/png","size":{size}}}"#
            )))
        };
        assert_eq!(parse("376607.0").unwrap().size, 376607);
        assert_eq!(parse("1e3").unwrap().size, 1000);
        assert_eq!(parse("1.5").unwrap_err().field, "size");
        assert_eq!(parse("-1").unwrap_err().field, "size");
    }

    #[test]
    fn a_full_todo_refuses_another_attachment_as_a_conflict() {
        let mut todo = NewTodo {
            title: "a".into(),
            description: None,
            due_date: None,
        }
        .into_todo(Uuid::nil(), "u", now(), "c");
        for i in 0..ATTACHMENTS_PER_TODO {
            let (next, _) =
                attachment(1, "image/png").attach(&todo, Uuid::from_u128(i as u128), now(), "c");
            todo = next;
        }
        let err = attachment(1, "image/png").validate(&todo).unwrap_err();
        assert_eq!((err.status, err.field.as_str()), (409, "attachments"));
    }

    // The document says title and completed are never null; a null one
    // must not slip through beside another field as "unchanged".
    #[test]
    fn a_patch_refuses_null_for_what_cannot_be_cleared() {
        let err = parse_body::<Patch>(Some(r#"{"title":null,"completed":true}"#)).unwrap_err();
        assert_eq!((err.status, err.field.as_str()), (400, "title"));
        let err = parse_body::<Patch>(Some(r#"{"completed":null}"#)).unwrap_err();
        assert_eq!(err.field, "completed");
        let ok = parse_body::<Patch>(Some(r#"{"description":null}"#)).unwrap();
        assert_eq!(ok.description, Some(None));
    }

    #[test]
    fn a_title_is_one_line_of_text() {
        let title = |t: &str| NewTodo {
            title: t.into(),
            description: None,
            due_date: None,
        };
        assert!(title("Ship it \u{1F680}").validate().is_ok());
        for bad in ["a\nb", "\u{7}", "\u{85}", " \u{3000} "] {
            assert_eq!(title(bad).validate().unwrap_err().field, "title", "{bad:?}");
        }
    }

    #[test]
    fn an_empty_patch_is_rejected() {
        let p: Patch = parse_body(Some("{}")).unwrap();
        assert_eq!(p.validate().unwrap_err().field, "body");
    }
}
