//! What a notification says. Pure: no I/O.

use events::campaigns::CampaignDeliveredV1;
use events::notifications::Kind;
use events::todos::TodoCompletedV1;
use events::users::UserRegisteredV1;

/// A notification to store and deliver, before it has an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub user_id: String,
    pub kind: Kind,
    pub message: String,
    /// A page on the web app's own site (a campaign's public view).
    pub link: Option<String>,
}

pub fn welcome(event: &UserRegisteredV1) -> Draft {
    Draft {
        user_id: event.user_id.clone(),
        kind: Kind::Welcome,
        message: format!("Welcome, {}! Your account is ready.", event.display_name),
        link: None,
    }
}

/// The wording of a congratulation: deploy-time configuration, so the
/// team that owns the copy changes it with a deploy and no code change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wording {
    before: String,
    after: String,
}

/// Where the todo's title goes in [`Wording`].
pub const TITLE: &str = "{title}";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the congratulation must contain {TITLE} exactly once, got {0:?}")]
pub struct WordingError(String);

impl Wording {
    pub fn parse(text: &str) -> Result<Self, WordingError> {
        match text.split_once(TITLE) {
            Some((before, after)) if !after.contains(TITLE) => Ok(Self {
                before: before.to_owned(),
                after: after.to_owned(),
            }),
            _ => Err(WordingError(text.to_owned())),
        }
    }
}

impl Default for Wording {
    fn default() -> Self {
        Self::parse("Nice work: you completed \u{201c}{title}\u{201d}.").expect("has {title}")
    }
}

pub fn congratulate(wording: &Wording, event: &TodoCompletedV1) -> Draft {
    Draft {
        user_id: event.user_id.clone(),
        kind: Kind::TodoCompleted,
        // Concatenation, not a format string: a title holding `{title}`
        // stays as typed.
        message: format!("{}{}{}", wording.before, event.title, wording.after),
        link: None,
    }
}

/// A campaign that reached its recipient: its subject, then its body, and
/// its public page ("view in browser"), on the site that serves the app.
pub fn campaign(event: &CampaignDeliveredV1) -> Draft {
    Draft {
        user_id: event.user_id.clone(),
        kind: Kind::Campaign,
        message: format!("{}: {}", event.subject, event.body),
        link: Some(format!("/view/{}", event.campaign_id)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_campaign_notification_links_to_its_public_page_and_nothing_else_does() {
        let id = uuid::Uuid::now_v7();
        let c = campaign(&CampaignDeliveredV1 {
            campaign_id: id,
            user_id: "u1".into(),
            subject: "News".into(),
            body: "Body".into(),
            delivered_at: "2026-11-22T10:00:00Z".parse().unwrap(),
        });
        assert_eq!(c.link, Some(format!("/view/{id}")));
        assert_eq!(c.message, "News: Body");
    }

    #[test]
    fn messages_name_the_person_and_the_todo() {
        let w = welcome(&UserRegisteredV1 {
            user_id: "u1".into(),
            email: "a@example.com".into(),
            display_name: "Ada".into(),
            registered_at: "2026-11-22T10:00:00Z".parse().unwrap(),
        });
        assert_eq!(w.kind, Kind::Welcome);
        assert!(w.message.contains("Ada"));
        let c = congratulate(
            &Wording::default(),
            &TodoCompletedV1 {
                todo_id: uuid::Uuid::nil(),
                user_id: "u1".into(),
                title: "ship".into(),
                completed_at: "2026-11-22T10:00:00Z".parse().unwrap(),
            },
        );
        assert_eq!(c.kind, Kind::TodoCompleted);
        assert!(c.message.contains("\u{201c}ship\u{201d}"));
    }

    #[test]
    fn wording_places_the_title_once_and_literally() {
        let w = Wording::parse("Done: {title}!").unwrap();
        let event = TodoCompletedV1 {
            todo_id: uuid::Uuid::nil(),
            user_id: "u1".into(),
            title: "a {title} b".into(),
            completed_at: "2026-11-22T10:00:00Z".parse().unwrap(),
        };
        assert_eq!(congratulate(&w, &event).message, "Done: a {title} b!");
        assert!(Wording::parse("no placeholder").is_err());
        assert!(Wording::parse("{title} twice {title}").is_err());
    }
}
