//! The todos HTTP API as an OpenAPI 3.1 document: the routes `api`
//! dispatches, with the types it parses and answers with.

use kit::openapi::{Api, Route, uuid};
use serde_json::json;

use crate::domain::{NewAttachment, NewTodo, Patch, TodoPage, TodoView, UploadTicket};

const ID: &str = "The todo's id.";
const NOT_YOURS: &str =
    "No such todo for the caller (another user's todo is indistinguishable from a missing one).";

pub fn api() -> Api {
    Api::new(
        "todos",
        "The caller's to-dos and their attachments. The caller is the Cognito ID token's subject; nobody reads or changes another's todos.",
    )
    .route(
        Route::new("POST /todos", "createTodo", "Create a todo")
            .body::<NewTodo>()
            .reply::<TodoView>(201, "Created; TodoCreated follows.")
            .error(409, "The caller's account was deleted (`account_deleted`): a token issued before the erasure writes nothing.")
            .error(422, "A value is out of range; `field` names it."),
    )
    .route(
        Route::new("GET /todos", "listTodos", "The caller's todos, a page at a time")
            .query(
                "limit",
                json!({"type": "integer", "minimum": 1, "maximum": 100, "default": 20}),
                "Todos per page.",
            )
            .query("cursor", uuid(), "The `next_cursor` of the previous page.")
            .reply::<TodoPage>(200, "A page.")
            .error(400, "`limit` or `cursor` is malformed; `field` names it."),
    )
    .route(
        Route::new("GET /todos/{id}", "getTodo", "One todo")
            .path("id", uuid(), ID)
            .reply::<TodoView>(200, "The todo.")
            .error(404, NOT_YOURS),
    )
    .route(
        Route::new("PATCH /todos/{id}", "updateTodo", "Change, complete or reopen a todo")
            .path("id", uuid(), ID)
            .body::<Patch>()
            .reply::<TodoView>(200, "The todo after the change; TodoUpdated or TodoCompleted follows.")
            .error(404, NOT_YOURS)
            .error(409, "A concurrent change to the todo won; retry.")
            .error(422, "A value is out of range, or the patch names no field; `field` names it."),
    )
    .route(
        Route::new("DELETE /todos/{id}", "deleteTodo", "Delete a todo and its attachments")
            .path("id", uuid(), ID)
            .empty(204, "Deleted; TodoDeleted follows.")
            .error(404, NOT_YOURS)
            .error(409, "A concurrent change to the todo won; retry."),
    )
    .route(
        Route::new("POST /todos/{id}/attachments", "attachToTodo", "Ask for an upload URL for a new attachment")
            .path("id", uuid(), ID)
            .body::<NewAttachment>()
            .reply::<UploadTicket>(201, "The attachment is pending: upload the object with the ticket, and the S3-triggered check marks it ready or rejected.")
            .error(404, NOT_YOURS)
            .error(409, "The todo holds the most attachments it can (`field` is `attachments`), or a concurrent change to it won.")
            .error(422, "A value is out of range; `field` names it."),
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
