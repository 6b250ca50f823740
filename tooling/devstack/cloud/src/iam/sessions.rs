//! The sessions the judge issues, and knows by their keys: a function's
//! of its execution role (as Lambda hands it over), a browser's of an
//! identity pool's role (as GetCredentialsForIdentity hands it out).

use std::sync::Arc;

use anyhow::Result;
use devstack_api::telemetry::{GrantedStatement, RoleGrants};
use devstack_iam::Mode;
use devstack_iam::actions::{Call, Place};
use devstack_iam::policy::NamedPolicy;
use devstack_iam::verdict::{Caller, judge};

use super::{Judge, Session, reads};

impl Session {
    /// `who`'s session `name` of `role_arn`, tagged `tags`, acting in
    /// `place` with `credentials` under `policies`: one that Lambda renews
    /// (no expiry), with no source identity and nothing transitive.
    pub(super) fn of_role(
        who: &str,
        role_arn: &str,
        name: &str,
        tags: Vec<(String, String)>,
        place: Place,
        credentials: &reads::Credentials,
        policies: Vec<NamedPolicy>,
    ) -> Self {
        let role = role_arn.rsplit('/').next().unwrap_or(role_arn);
        let session_arn = format!("arn:aws:sts::{}:assumed-role/{role}/{name}", place.account);
        Session {
            function: who.to_owned(),
            caller: Caller::Role {
                arn: role_arn.to_owned(),
                session: Some(session_arn.clone()),
                tags,
            },
            session_arn,
            secret: credentials.secret.clone(),
            token: credentials.token.clone(),
            policies,
            place,
            expires: None,
            source_identity: None,
            transitive: Vec::new(),
        }
    }
}

impl Judge {
    /// A new session of `role_arn` for `function` (`<service>/<LogicalId>`):
    /// the credentials its process starts with. The role's `policies` as a
    /// cloud's start read them after its deploy; without them, as they are
    /// now. Empty when nothing is judged: the process keeps the emulator's
    /// test keys.
    pub async fn session(
        &self,
        function: &str,
        role_arn: &str,
        policies: Option<Vec<NamedPolicy>>,
    ) -> Result<Vec<(String, String)>> {
        if self.mode == Mode::Off {
            return Ok(Vec::new());
        }
        // Lambda names the session after the function; IAM allows 64
        // characters of [\w+=,.@-].
        let name: String = function.replace('/', "-").chars().take(64).collect();
        let credentials = self
            .open(function, role_arn, &name, Vec::new(), policies)
            .await?;
        Ok(vec![
            ("AWS_ACCESS_KEY_ID".to_owned(), credentials.key_id),
            ("AWS_SECRET_ACCESS_KEY".to_owned(), credentials.secret),
            ("AWS_SESSION_TOKEN".to_owned(), credentials.token),
        ])
    }

    /// A browser's session of an identity pool's role (`who` names it in
    /// the trail: `identity/<identity id>`), tagged as the pool maps the
    /// ID token's claims: what GetCredentialsForIdentity hands out.
    pub async fn identity_session(
        &self,
        who: &str,
        role_arn: &str,
        tags: Vec<(String, String)>,
    ) -> Result<reads::Credentials> {
        // Cognito names the session CognitoIdentityCredentials.
        let name = "CognitoIdentityCredentials";
        if self.mode == Mode::Off {
            return self.query.assume_role(role_arn, name).await;
        }
        self.open(who, role_arn, name, tags, None).await
    }

    /// Whether `role_arn`'s trust policy lets `identity` (a federated web
    /// identity) assume it, and tag the session when `tagged`, as STS's
    /// AssumeRoleWithWebIdentity asks it: each action judged and recorded
    /// as `who`. In audit mode a refusal is only recorded.
    pub async fn may_assume(
        &self,
        who: &str,
        role_arn: &str,
        identity: &Caller,
        tagged: bool,
    ) -> Result<bool> {
        if self.mode == Mode::Off {
            return Ok(true);
        }
        let role = role_arn.rsplit('/').next().unwrap_or(role_arn);
        let trust = self.query.role_trust(role).await?;
        let mut actions = vec!["sts:AssumeRoleWithWebIdentity"];
        if tagged {
            actions.push("sts:TagSession");
        }
        let mut allowed = true;
        for action in actions {
            let call = Call::new(action, role_arn);
            let verdict = judge(identity, &[], Some(&trust), &call, &self.place);
            self.record(who, identity.name(), &call, &verdict);
            allowed &= verdict.allowed || self.mode != Mode::Strict;
        }
        Ok(allowed)
    }

    /// Assumes `role_arn` as session `name` and judges what its keys sign
    /// from now on as `who`, with the role's `policies` (when not given,
    /// as they are now).
    pub(super) async fn open(
        &self,
        who: &str,
        role_arn: &str,
        name: &str,
        tags: Vec<(String, String)>,
        policies: Option<Vec<NamedPolicy>>,
    ) -> Result<reads::Credentials> {
        let role = role_arn.rsplit('/').next().unwrap_or(role_arn);
        let credentials = self.query.assume_role(role_arn, name).await?;
        let account = role_arn.split(':').nth(4).unwrap_or_default();
        let policies = match policies {
            Some(given) => given,
            None => {
                self.in_account(account)
                    .await?
                    .query
                    .role_policies(role)
                    .await?
            }
        };
        self.recorder.grants(&RoleGrants {
            function: who.to_owned(),
            role: role_arn.to_owned(),
            statements: policies
                .iter()
                .flat_map(NamedPolicy::grants)
                .map(|g| GrantedStatement {
                    statement: g.statement,
                    actions: g.actions,
                    resources: g.resources,
                })
                .collect(),
        });
        let session = Arc::new(Session::of_role(
            who,
            role_arn,
            name,
            tags,
            self.place_of(role_arn),
            &credentials,
            policies,
        ));
        self.by_function
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(who.to_owned(), session.clone());
        self.sessions
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(credentials.key_id.clone(), session);
        Ok(credentials)
    }

    /// `function`'s latest session (none when nothing is judged).
    pub(super) fn session_for(&self, function: &str) -> Option<Arc<Session>> {
        self.by_function
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(function)
            .cloned()
    }

    /// The function whose session signed a request with this
    /// `Authorization` header (none for a key the judge did not issue).
    pub fn function_signing(&self, authorization: &str) -> Option<String> {
        let key = devstack_iam::sigv4::Authorization::parse(authorization)
            .ok()?
            .key_id;
        Some(self.session_of(&key)?.function.clone())
    }

    /// The session whose key id this is.
    pub(super) fn session_of(&self, key_id: &str) -> Option<Arc<Session>> {
        self.sessions
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(key_id)
            .cloned()
    }
}
