//! The person's sign-in: their user in the Cognito user pool, through
//! Cognito's JSON protocol (`kit::signed::json_protocol`; no SDK client for one
//! call).

use kit::signed::json_protocol::{JsonApi, Refused};
use serde_json::{Value, json};

pub struct Accounts {
    pub api: JsonApi,
    pub user_pool_id: String,
}

/// The users table and the pool, as a function holding both reaches them.
pub fn adapters(
    conf: &kit::config::SdkConfig,
    table: &str,
    user_pool_id: &str,
) -> (crate::store::Store, Accounts) {
    let store = crate::store::Store::new(aws_sdk_dynamodb::Client::new(conf), table);
    let api = JsonApi::new(conf, kit::signed::json_protocol::COGNITO_IDP);
    let accounts = Accounts {
        api,
        user_pool_id: user_pool_id.to_owned(),
    };
    (store, accounts)
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

impl Accounts {
    /// The username of the person who signed up with a password and the
    /// email `email`, confirmed and verified: the only account a sign-in
    /// from an outside provider may join. An unconfirmed one is not: its
    /// password may belong to someone who never owned the address.
    pub async fn with_verified_email(&self, email: &str) -> Result<Option<String>, Refused> {
        let filter = format!("email = \"{}\"", email.replace(['"', '\\'], ""));
        let body = json!({ "UserPoolId": self.user_pool_id, "Filter": filter });
        let found = self.api.call("ListUsers", &body).await?;
        let own = |u: &&Value| {
            let verified = (u["Attributes"].as_array().into_iter().flatten())
                .any(|a| a["Name"] == "email_verified" && a["Value"] == "true");
            u["UserStatus"] == "CONFIRMED" && u["Enabled"] != false && verified
        };
        let users = found["Users"].as_array().into_iter().flatten();
        Ok(users
            .filter(own)
            .find_map(|u| u["Username"].as_str().map(str::to_owned)))
    }

    /// Links the provider's user (`subject` at `provider`) to `username`:
    /// from then on it signs in as that user, with its profile.
    pub async fn link(&self, username: &str, provider: &str, subject: &str) -> Result<(), Refused> {
        let body = json!({
            "UserPoolId": self.user_pool_id,
            "DestinationUser": { "ProviderName": "Cognito", "ProviderAttributeValue": username },
            "SourceUser": {
                "ProviderName": provider, "ProviderAttributeName": "Cognito_Subject",
                "ProviderAttributeValue": subject,
            },
        });
        self.api
            .call("AdminLinkProviderForUser", &body)
            .await
            .map(|_| ())
    }
}
