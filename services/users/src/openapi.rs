//! The users HTTP API as an OpenAPI 3.1 document: the routes `api`
//! dispatches, with the types it parses and answers with.

use kit::openapi::{Api, Route};

use serde_json::json;

use crate::domain::{ProfileInput, ProfileView, UserPage};

pub fn api() -> Api {
    Api::new(
        "users",
        "The caller's own profile. The caller is the Cognito ID token's subject; nobody reads or changes another's profile. Members of the admins group may list every user.",
    )
    .route(
        Route::new("PUT /users/me", "putProfile", "Create or rename the caller's profile")
            .body::<ProfileInput>()
            .reply::<ProfileView>(200, "The profile was renamed.")
            .reply::<ProfileView>(201, "The profile was created (an account confirmed before the sign-up trigger made profiles); UserRegistered follows.")
            .error(409, "A concurrent change to the profile won (retry), or the account was deleted (`account_deleted`).")
            .error(422, "A value is out of range, or the token carries no email (send the ID token); `field` names it."),
    )
    .route(
        Route::new("GET /users/me", "getProfile", "The caller's profile")
            .reply::<ProfileView>(200, "The profile.")
            .error(404, "The caller has no profile yet."),
    )
    .route(
        Route::new("DELETE /users/me", "deleteProfile", "Delete the caller's account")
            .empty(204, "Deleted; UserDeleted follows, and every service erases the user's data.")
            .error(404, "The caller has no profile.")
            .error(409, "A concurrent change to the profile won; retry."),
    )
    .route(
        Route::new("GET /users", "listUsers", "Every user, a page at a time (admins only)")
            .query(
                "limit",
                json!({"type": "integer", "minimum": 1, "maximum": 100, "default": 20}),
                "Users per page.",
            )
            .query(
                "cursor",
                json!({"type": "string", "pattern": "^[0-9a-f]+$", "maxLength": 1024}),
                "The `next_cursor` of the previous page.",
            )
            .reply::<UserPage>(200, "A page, in no particular order.")
            .error(400, "`limit` or `cursor` is malformed; `field` names it.")
            .error(403, "The caller is not in the admins group."),
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
