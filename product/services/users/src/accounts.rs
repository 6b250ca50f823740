//! The person's sign-in: their user in the Cognito user pool, through
//! Cognito's JSON protocol (`kit::signed::json_protocol`; no SDK client for one
//! call).

use kit::signed::json_protocol::{JsonApi, Refused};
use serde_json::json;

pub struct Accounts {
    pub api: JsonApi,
    pub user_pool_id: String,
}

impl Accounts {
    /// Deletes the user whose `sub` is `user_id` (with email as the
    /// username attribute, Cognito's username is the `sub`). Already gone
    /// is done: a repeated erasure deletes nothing twice.
    pub async fn delete(&self, user_id: &str) -> Result<bool, Refused> {
        let body = json!({ "UserPoolId": self.user_pool_id, "Username": user_id });
        match self.api.call("AdminDeleteUser", &body).await {
            Ok(_) => Ok(true),
            Err(refused) if refused.kind == "UserNotFoundException" => Ok(false),
            Err(refused) => Err(refused),
        }
    }
}
