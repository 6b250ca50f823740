//! What a notification says. Pure: no I/O.

use events::notifications::NotificationKind;
use events::todos::TodoCompletedV1;
use events::users::UserRegisteredV1;

/// A notification to store and deliver, before it has an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub user_id: String,
    pub kind: NotificationKind,
    pub message: String,
}

pub fn welcome(event: &UserRegisteredV1) -> Draft {
    Draft {
        user_id: event.user_id.clone(),
        kind: NotificationKind::Welcome,
        message: format!("Welcome, {}! Your account is ready.", event.display_name),
    }
}

pub fn congratulate(event: &TodoCompletedV1) -> Draft {
    Draft {
        user_id: event.user_id.clone(),
        kind: NotificationKind::TodoCompleted,
        message: format!("Nice work: you completed \u{201c}{}\u{201d}.", event.title),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_person_and_the_todo() {
        let w = welcome(&UserRegisteredV1 {
            user_id: "u1".into(),
            email: "a@example.com".into(),
            display_name: "Ada".into(),
            registered_at: "2026-11-22T10:00:00Z".parse().unwrap(),
        });
        assert_eq!(w.kind, NotificationKind::Welcome);
        assert!(w.message.contains("Ada"));
        let c = congratulate(&TodoCompletedV1 {
            todo_id: uuid::Uuid::nil(),
            user_id: "u1".into(),
            title: "ship".into(),
            completed_at: "2026-11-22T10:00:00Z".parse().unwrap(),
        });
        assert_eq!(c.kind, NotificationKind::TodoCompleted);
        assert!(c.message.contains("\u{201c}ship\u{201d}"));
    }
}
