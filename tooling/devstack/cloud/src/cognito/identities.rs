//! The identity pool's two calls in the enhanced flow, as Cognito answers
//! them (the emulator's hand out keys that name no role): `GetId` and
//! `GetCredentialsForIdentity`, both unsigned, each with the user pool's
//! ID token in `Logins`. The token is checked as Cognito checks it (the
//! pool's keys, issuer, the app client, an ID token), and with
//! `ServerSideTokenCheck` its user must still exist. The role's trust
//! policy must let `cognito-identity.amazonaws.com` assume it (and tag
//! the session) for this pool and an authenticated identity, as STS asks
//! it for Cognito; else the pool's configuration is refused, as Cognito
//! refuses it. The credentials are a session of the authenticated role
//! that the local cloud's judge knows, tagged as the pool maps the
//! token's claims; every call signed with them is judged with those tags.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use devstack_iam::verdict::Caller;
use kit::jwt::{Claims, Verifier};
use kit::signed::json_protocol::JsonApi;
use serde_json::{Value, json};

use super::IdentityPool;
use super::answers::refused;

/// The principal that assumes an identity pool's roles.
const PROVIDER: &str = "cognito-identity.amazonaws.com";

/// The credentials' lifetime in the enhanced flow: an hour.
const LIFETIME_SECONDS: i64 = 3600;

pub struct Identities {
    pub pool: IdentityPool,
    /// `cognito-idp.<region>.amazonaws.com/<user pool id>`: the key of
    /// the token in `Logins`.
    pub provider: String,
    pub user_pool_id: String,
    pub verifier: Verifier,
    pub idp: JsonApi,
    pub judge: Arc<crate::iam::Judge>,
}

/// Cognito Identity's answer (JSON 1.1).
fn answer(body: Value) -> Response {
    (
        StatusCode::OK,
        [
            ("content-type", "application/x-amz-json-1.1"),
            ("access-control-allow-origin", "*"),
        ],
        body.to_string(),
    )
        .into_response()
}

impl Identities {
    /// `operation` of `AWSCognitoIdentityService`.
    pub async fn serve(&self, operation: &str, request: &Value) -> Response {
        let result = match operation {
            "GetId" => self.get_id(request).await,
            "GetCredentialsForIdentity" => self.credentials(request).await,
            other => Err(refused(
                StatusCode::BAD_REQUEST,
                "InvalidParameterException",
                &format!("the local cloud plays GetId and GetCredentialsForIdentity, not {other}"),
            )),
        };
        result.unwrap_or_else(|refusal| refusal)
    }

    async fn get_id(&self, request: &Value) -> Result<Response, Response> {
        if request["IdentityPoolId"].as_str() != Some(self.pool.id.as_str()) {
            return Err(refused(
                StatusCode::BAD_REQUEST,
                "ResourceNotFoundException",
                "IdentityPool not found",
            ));
        }
        let claims = self.signed_in(request).await?;
        Ok(answer(json!({ "IdentityId": self.identity_of(&claims) })))
    }

    async fn credentials(&self, request: &Value) -> Result<Response, Response> {
        let claims = self.signed_in(request).await?;
        let identity = self.identity_of(&claims);
        if request["IdentityId"].as_str() != Some(identity.as_str()) {
            return Err(not_authorized("Logins don't match the identity"));
        }
        let tags: Vec<(String, String)> = (self.pool.tags.iter())
            .filter_map(|(tag, claim)| Some((tag.clone(), claims.get(claim)?.as_str()?.to_owned())))
            .collect();
        let who = format!("identity/{identity}");
        let vouched = self.vouched(&identity, &claims);
        let trusted = (self.judge)
            .may_assume(&who, &self.pool.role_arn, &vouched, !tags.is_empty())
            .await
            .map_err(|e| internal(&e.to_string()))?;
        if !trusted {
            // What Cognito answers when the role refuses the pool.
            return Err(refused(
                StatusCode::BAD_REQUEST,
                "InvalidIdentityPoolConfigurationException",
                "Invalid identity pool configuration. Check assigned IAM roles for this pool.",
            ));
        }
        let session = self
            .judge
            .identity_session(&who, &self.pool.role_arn, tags)
            .await
            .map_err(|e| internal(&e.to_string()))?;
        let expiration = chrono::Utc::now().timestamp() + LIFETIME_SECONDS;
        Ok(answer(json!({
            "IdentityId": identity,
            "Credentials": {
                "AccessKeyId": session.key_id,
                "SecretKey": session.secret,
                "SessionToken": session.token,
                "Expiration": expiration,
            },
        })))
    }

    /// The claims of the ID token in `Logins`, checked as Cognito checks
    /// it; with `ServerSideTokenCheck`, its user must still exist.
    async fn signed_in(&self, request: &Value) -> Result<Claims, Response> {
        let token = request["Logins"][&self.provider]
            .as_str()
            .ok_or_else(|| not_authorized("Logins must hold the user pool's ID token"))?;
        let claims = self.verifier.verify(token).await.map_err(|e| {
            tracing::info!(target: "trail", refusal = %e, "identity pool: token refused");
            not_authorized("Invalid login token.")
        })?;
        if claims.get("token_use").and_then(Value::as_str) != Some("id") {
            return Err(not_authorized("Invalid login token. Not an ID token."));
        }
        if self.pool.server_side_token_check {
            let user = claims.get("cognito:username").and_then(Value::as_str);
            let read = json!({ "UserPoolId": self.user_pool_id, "Username": user });
            if user.is_none() || self.idp.call("AdminGetUser", &read).await.is_err() {
                return Err(not_authorized("Invalid login token. User does not exist."));
            }
        }
        Ok(claims)
    }

    /// What Cognito Identity vouches for when it assumes the role for
    /// `identity`: the pool (`aud`), how the identity signed in (`amr`:
    /// authenticated, by the user pool) and the identity (`sub`).
    fn vouched(&self, identity: &str, claims: &Claims) -> Caller {
        let key = |k: &str| format!("{PROVIDER}:{k}");
        let sub = claims
            .get("sub")
            .and_then(Value::as_str)
            .unwrap_or_default();
        Caller::Federated {
            provider: PROVIDER.to_owned(),
            keys: vec![
                (key("aud"), vec![self.pool.id.clone()]),
                (
                    key("amr"),
                    vec![
                        "authenticated".to_owned(),
                        self.provider.clone(),
                        format!(
                            "{}:{}:CognitoSignIn:{sub}",
                            self.provider, self.user_pool_id
                        ),
                    ],
                ),
                (key("sub"), vec![identity.to_owned()]),
            ],
        }
    }

    /// The identity of the token's user: the same for every sign-in of
    /// that user, as Cognito keeps it.
    fn identity_of(&self, claims: &Claims) -> String {
        let sub = claims
            .get("sub")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let region = self.pool.id.split(':').next().unwrap_or_default();
        let name = format!("{}/{sub}", self.pool.id);
        let id = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, name.as_bytes());
        format!("{region}:{id}")
    }
}

fn internal(message: &str) -> Response {
    refused(
        StatusCode::INTERNAL_SERVER_ERROR,
        "InternalErrorException",
        message,
    )
}

fn not_authorized(message: &str) -> Response {
    refused(StatusCode::BAD_REQUEST, "NotAuthorizedException", message)
}
