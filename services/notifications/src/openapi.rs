//! The notifications HTTP API as an OpenAPI 3.1 document: the routes `api`
//! dispatches, with the types it answers with. (The WebSocket API is an
//! AsyncAPI matter: see `events/asyncapi.json` for the bus.)

use kit::openapi::{Api, Route};

use crate::api::NotificationPage;

pub fn api() -> Api {
    Api::new(
        "notifications",
        "The caller's notifications. The caller is the Cognito ID token's subject; nobody reads another's notifications.",
    )
    .route(
        Route::new("GET /notifications", "listNotifications", "The caller's newest notifications")
            .reply::<NotificationPage>(200, "Newest first."),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_committed_document_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
        kit::openapi::check_committed(&path, &super::api().document(env!("CARGO_PKG_VERSION")))
            .unwrap();
    }
}
