//! The notifications HTTP API: the caller's notifications, newest first.

use kit::http::{Request, Response};
use serde_json::json;

use crate::store::Store;

pub const PAGE: i32 = 50;

pub async fn handle(store: &Store, req: Request) -> Response {
    kit::http::serve(&req, |caller, req| async move {
        match req.route_key.as_str() {
            "GET /notifications" => {
                let items = store.newest(&caller.user_id, PAGE).await?;
                Ok(Response::json(
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
                ))
            }
            other => Err(Response::no_route(other)),
        }
    })
    .await
}
