//! The notifications HTTP API: the caller's notifications, newest first.

use chrono::{DateTime, Utc};
use events::notifications::Kind;
use kit::http_api::{Request, Response};
use schemars::JsonSchema;
use serde::Serialize;
use uuid::Uuid;

use crate::items::Notification;
use crate::store::Store;

pub const PAGE: i32 = 50;

/// The caller's newest notifications.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationPage {
    /// Newest first, at most 50.
    pub items: Vec<NotificationView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationView {
    pub id: Uuid,
    pub kind: Kind,
    pub message: String,
    /// A page on the site that serves the web app, a path from its root
    /// (`/view/<campaign id>`: a campaign's public page).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The event that caused it.
    pub source_event_id: Uuid,
}

fn view(n: &Notification) -> NotificationView {
    NotificationView {
        id: n.notification_id,
        kind: n.notification_kind,
        message: n.message.clone(),
        link: n.link.clone(),
        created_at: n.created_at,
        source_event_id: n.source_event_id,
    }
}

pub async fn handle(store: &Store, req: Request) -> Response {
    kit::http_api::serve(&req, |caller, req| async move {
        match req.route_key.as_str() {
            "GET /notifications" => {
                let items = store.newest(&caller.user_id, PAGE).await?;
                Ok(Response::of(
                    200,
                    &NotificationPage {
                        items: items.iter().map(view).collect(),
                    },
                ))
            }
            other => Err(Response::no_route(other)),
        }
    })
    .await
}
