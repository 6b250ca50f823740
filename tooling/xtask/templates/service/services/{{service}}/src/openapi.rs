//! The {{service}} HTTP API as an OpenAPI 3.1 document: the routes `api`
//! dispatches, with the types it parses and answers with.

use kit::openapi::{Api, Route, uuid};

use crate::domain::{{{Item}}Input, {{Item}}List, {{Item}}View};

pub fn api() -> Api {
    Api::new(
        "{{service}}",
        "The caller's own {{service}}. The caller is the Cognito ID token's subject; nobody reads another's.",
    )
    .route(
        Route::new("POST /{{service}}", "create{{Item}}", "Create a {{item}}")
            .body::<{{Item}}Input>()
            .reply::<{{Item}}View>(201, "The {{item}} was created.")
            .error(422, "A value is out of range; `field` names it."),
    )
    .route(
        Route::new("GET /{{service}}", "list{{Items}}", "The caller's newest {{service}}")
            .reply::<{{Item}}List>(200, "Newest first."),
    )
    .route(
        Route::new("GET /{{service}}/{id}", "get{{Item}}", "One of the caller's {{service}}")
            .path("id", uuid(), "The {{item}}'s id.")
            .reply::<{{Item}}View>(200, "The {{item}}.")
            .error(404, "The caller has no such {{item}}."),
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
