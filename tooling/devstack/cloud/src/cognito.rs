//! The user pool, made by API (the emulator's CloudFormation skips
//! Cognito), through Cognito's JSON protocol (`kit::signed::json_protocol`).

mod answers;
pub mod discovery;
pub mod federated;
pub mod hosted;
pub mod identities;
pub mod triggers;

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use kit::signed::json_protocol::JsonApi;
use serde_json::json;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Pool {
    pub user_pool_id: String,
    pub client_id: String,
    pub issuer: String,
    pub jwks_url: String,
    /// The pool's triggers (`PreSignUp`, ...) → the physical name of the
    /// function each names, played by [`triggers`].
    pub triggers: BTreeMap<String, String>,
    /// The identity pool that takes the pool's ID tokens, played by
    /// [`identities`].
    pub identity: Option<IdentityPool>,
}

/// An identity pool as deployed: what GetCredentialsForIdentity needs.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct IdentityPool {
    pub id: String,
    /// The authenticated role's ARN.
    pub role_arn: String,
    /// A session tag → the ID token claim it is read from.
    pub tags: BTreeMap<String, String>,
    pub server_side_token_check: bool,
}

impl Pool {
    /// The pool `user_pool_id` on the emulator at `emulator_url`: its
    /// issuer as Cognito names it, its JWKS where the emulator serves it,
    /// until [`Pool::served_at`] names the front that serves both.
    pub fn on(
        emulator_url: &str,
        user_pool_id: String,
        client_id: String,
        triggers: BTreeMap<String, String>,
    ) -> Self {
        let mut pool = Self {
            issuer: String::new(),
            jwks_url: String::new(),
            user_pool_id,
            client_id,
            triggers,
            identity: None,
        };
        pool.issuer = pool.aws_issuer();
        pool.jwks_url = pool.engine_jwks_url(emulator_url);
        pool
    }

    /// Where the engine at `emulator_url` serves the pool's keys.
    pub fn engine_jwks_url(&self, emulator_url: &str) -> String {
        format!("{emulator_url}/{}/.well-known/jwks.json", self.user_pool_id)
    }

    /// The pool's name as Cognito gives it (`cognito-idp.<region>.
    /// amazonaws.com/<pool>`): an identity pool's provider name, and its
    /// issuer after `https://`.
    pub fn provider_name(&self) -> String {
        format!(
            "cognito-idp.{}.amazonaws.com/{}",
            kit::config::LOCAL_REGION,
            self.user_pool_id
        )
    }

    /// The issuer Cognito would name (`https://cognito-idp.<region>.
    /// amazonaws.com/<pool>`): what the platform exports as `Issuer`, and
    /// so what a deployed function's environment holds.
    pub fn aws_issuer(&self) -> String {
        format!("https://{}", self.provider_name())
    }

    /// The pool as the Cognito front at `front_url` serves it: its issuer
    /// is `<front>/<pool>`, where its discovery document and keys are, as
    /// Cognito's are at its issuer, so a client that starts from discovery
    /// finds them with no local setting. The engine's tokens name it too
    /// ([`issue_at`]).
    pub fn served_at(&mut self, front_url: &str) {
        self.issuer = format!("{front_url}/{}", self.user_pool_id);
        self.jwks_url = format!("{}/.well-known/jwks.json", self.issuer);
    }
}

/// Tells the engine the issuer its tokens for `pool` name.
pub async fn issue_at(api: &JsonApi, pool: &Pool) -> Result<()> {
    let call = json!({ "UserPoolId": pool.user_pool_id, "Issuer": pool.issuer });
    api.call("DevstackIssuer", &call)
        .await
        .context("naming the user pool's issuer")?;
    Ok(())
}

pub async fn create(
    api: &JsonApi,
    emulator_url: &str,
    (name, auto_verified): (&str, &serde_json::Value),
    groups: &[(String, String)],
    triggers: &BTreeMap<String, String>,
) -> Result<Pool> {
    // The pool keeps its LambdaConfig, as DescribeUserPool shows it; moto
    // runs none of it ([`triggers`] does).
    let lambda_config: serde_json::Map<String, serde_json::Value> = (triggers.iter())
        .map(|(trigger, function)| (trigger.clone(), function_arn(function).into()))
        .collect();
    // A confirmed sign-up's email is verified where the pool says so
    // (which a federated sign-in's linking relies on).
    let mut pool = json!({
        "PoolName": name, "UsernameAttributes": ["email"], "LambdaConfig": lambda_config,
    });
    if auto_verified.is_array() {
        pool["AutoVerifiedAttributes"] = auto_verified.clone();
    }
    let pool = api
        .call("CreateUserPool", &pool)
        .await
        .context("creating the user pool")?;
    let user_pool_id = pool["UserPool"]["Id"]
        .as_str()
        .context("no pool id")?
        .to_owned();
    let app = json!({
        "UserPoolId": user_pool_id,
        "ClientName": format!("{name}-api"),
        "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    });
    let app = api
        .call("CreateUserPoolClient", &app)
        .await
        .context("creating the user pool client")?;
    let client_id = app["UserPoolClient"]["ClientId"]
        .as_str()
        .context("no client id")?
        .to_owned();
    for (group, description) in groups {
        let body = json!({
            "UserPoolId": user_pool_id, "GroupName": group, "Description": description,
        });
        api.call("CreateGroup", &body)
            .await
            .with_context(|| format!("creating the group {group}"))?;
    }
    Ok(Pool::on(
        emulator_url,
        user_pool_id,
        client_id,
        triggers.clone(),
    ))
}

/// The front every Cognito call of the local cloud goes through: the
/// user pool's API with its triggers, the identity pool's, the pool's
/// discovery document and keys, and managed login where the pool has it.
pub fn front(
    upstream: &str,
    api: JsonApi,
    (triggers, identities): (triggers::Triggers, Option<identities::Identities>),
    discovery: discovery::Discovery,
    login: Option<hosted::Login>,
) -> axum::Router {
    let front = triggers::Front::new(upstream, api, triggers, identities);
    let router = triggers::router(front.clone()).merge(discovery::routes(discovery));
    match login {
        Some(login) => hosted::routes(login, front).merge(router),
        None => router,
    }
}

/// A local function's ARN by its physical name.
pub fn function_arn(physical: &str) -> String {
    format!(
        "arn:aws:lambda:{}:{}:function:{physical}",
        kit::config::LOCAL_REGION,
        kit::config::LOCAL_ACCOUNT
    )
}

/// Puts a user in a group (`devstack admin`), by the email they signed up
/// with: their next tokens carry it in `cognito:groups`.
pub async fn add_to_group(api: &JsonApi, pool_id: &str, email: &str, group: &str) -> Result<()> {
    let body = json!({ "UserPoolId": pool_id, "Username": email, "GroupName": group });
    api.call("AdminAddUserToGroup", &body)
        .await
        .with_context(|| format!("adding {email} to {group}"))?;
    Ok(())
}

/// `devstack admin`: a user of the running local cloud joins `group`.
pub async fn join_group(
    endpoints: &devstack_api::Endpoints,
    email: &str,
    group: &str,
) -> Result<()> {
    let conf = kit::config::endpoint(&endpoints.emulator_url).await;
    let api = JsonApi::new(&conf, kit::signed::json_protocol::COGNITO_IDP);
    add_to_group(&api, &endpoints.user_pool_id, email, group).await
}

/// The pool's triggers and the running functions they name. When only
/// some services run (`Options::services`), a trigger whose function is
/// not among them is left out, said in the trail; otherwise it stays,
/// and the sign-up fails as on AWS, naming the missing function.
pub fn triggers_of(
    pool: &Pool,
    functions: &BTreeMap<String, devstack_lambda::runtime::Function>,
    subset: bool,
    judge: Option<std::sync::Arc<dyn devstack_lambda::on_behalf::Judge>>,
) -> triggers::Triggers {
    let mut found = BTreeMap::new();
    for (trigger, physical) in &pool.triggers {
        let function = (functions.values()).find(|f| f.spec.physical_name == *physical);
        if function.is_none() && subset {
            tracing::warn!(target: "trail", %trigger, function = %physical,
                "the pool's trigger names a function of a service not started: left out");
            continue;
        }
        found.insert(trigger.clone(), (physical.clone(), function.cloned()));
    }
    triggers::Triggers {
        pool_id: pool.user_pool_id.clone(),
        functions: found,
        judge,
    }
}
