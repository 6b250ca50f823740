//! The notifications HTTP API: the caller's notifications, newest first.

use kit::http::{Request, Response};
use serde_json::json;
use tracing::Instrument;

use crate::store::Store;

pub const PAGE: i32 = 50;

pub async fn handle(store: &Store, req: Request) -> Response {
    let caller = match req.admit() {
        Ok(caller) => caller,
        Err(refused) => return refused,
    };
    let span = req.span();
    async {
        match req.route_key.as_str() {
            "GET /notifications" => match store.newest(&caller.user_id, PAGE).await {
                Ok(items) => Response::json(
                    200,
                    json!({
                        "items": items.iter().map(|n| json!({
                            "id": n.notification_id,
                            "kind": n.notification_kind,
                            "message": n.message,
                            "created_at": n.created_at,
                            "source_event_id": n.source_event_id,
                        })).collect::<Vec<_>>()
                    }),
                ),
                Err(e) => e.into(),
            },
            other => Response::error(404, "no_route", format!("no route {other}"), None),
        }
    }
    .instrument(span)
    .await
}
