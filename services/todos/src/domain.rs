//! Todo rules without I/O: what a valid request is, and what it changes.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use crate::items::Todo;
use kit::http::Invalid;

pub const TITLE_MAX: usize = 200;
pub const DESCRIPTION_MAX: usize = 2000;

fn check_title(title: &str) -> Result<(), Invalid> {
    let n = title.chars().count();
    if title.trim().is_empty() || n > TITLE_MAX {
        return Err(Invalid::range(
            "title",
            format!("must be 1 to {TITLE_MAX} characters and not blank (got {n})"),
        ));
    }
    Ok(())
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

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTodo {
    pub title: String,
    #[serde(default)]
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

/// A partial update. `description` and `due_date` accept `null` to clear.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Patch {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub due_date: Option<Option<NaiveDate>>,
    #[serde(default)]
    pub completed: Option<bool>,
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

/// The JSON a client sees for a todo.
pub fn view(todo: &Todo) -> Value {
    serde_json::json!({
        "id": todo.todo_id,
        "title": todo.title,
        "description": todo.description,
        "due_date": todo.due_date,
        "completed": todo.completed,
        "created_at": todo.created_at,
        "updated_at": todo.updated_at,
        "attachments": todo.attachments.iter().map(|a| serde_json::json!({
            "id": a.attachment_id,
            "file_name": a.file_name,
            "content_type": a.content_type,
            "size": a.size_bytes,
            "status": a.status,
            "reason": a.reason,
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kit::http::parse_body;

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

    #[test]
    fn an_empty_patch_is_rejected() {
        let p: Patch = parse_body(Some("{}")).unwrap();
        assert_eq!(p.validate().unwrap_err().field, "body");
    }
}
