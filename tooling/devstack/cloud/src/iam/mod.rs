//! Each function runs as its own role, and every AWS call it makes is
//! judged as IAM would judge it before it reaches the emulator.
//!
//! At its start a function gets a session of its execution role (key,
//! secret, token from the emulator's STS, as Lambda hands them over), and
//! the role's policies are read from the emulator's IAM. The gate
//! ([`crate::call_gate`]) asks [`Judge::check`] about each call: the key must be
//! a session's and the signature its secret's ([`devstack_iam::sigv4`]);
//! the call's actions and resources ([`devstack_iam::actions`]) must be
//! allowed by the role's policies ([`devstack_iam::verdict`]). In `strict`
//! mode a refusal is answered as AWS answers it; in `audit` mode it is only
//! recorded; `off` judges nothing and hands the functions the emulator's
//! test keys. Every refusal is one trail line and one [`Judgement`]; each
//! allowed action on each resource is recorded once, for the least
//! privilege report.
//!
//! The resource's own policy is judged beside the role's (a queue's, a
//! topic's, a bucket's, a key's: [`resources`]), and a topic or queue
//! encrypted with a key asks the key too, as SNS and SQS ask KMS for the
//! caller. SNS's deliveries to queues are judged as AWS judges them, for
//! `sns.amazonaws.com` and its topic (moto asks [`router`] before each),
//! a dead letter is published as the function's role, and a rule or a
//! bucket invokes a function only as its policy (the template's Lambda
//! permissions) lets it (the local Lambda asks, through
//! `devstack_lambda::on_behalf::Judge`), and a Step Functions task invokes
//! its function as the execution's role (moto's interpreter names it; the
//! router asks through `devstack_sfn::router::TaskJudge`). A stream
//! mapping's reads are judged as the function's role before its poller
//! starts: AWS refuses the mapping when the role may not read the stream.
//!
//! The local gateway's invocations are judged by the function's policy too
//! (`devstack_gateway::permission`), and a function's `@connections` calls
//! pass a gate of their API's own ([`Judge::api_at`] names the API by the
//! gate's address, as AWS's host names it).
//!
//! A presigned URL (the browser's upload) is judged as the session that
//! signed it, once its signature and expiry hold; an unsigned one is
//! judged as nobody, by the resource's own policy alone. A session STS
//! issues to a function's own AssumeRole is judged as these, until it
//! expires ([`assumed`]); what AWS does on the account's behalf is in
//! [`on_behalf`].

mod assumed;
mod lookups;
mod on_behalf;
pub(crate) mod reads;
mod resources;
mod routes;
mod sessions;

use lookups::Known;
pub use reads::{ACCESS_ROLE, administrator};
pub use routes::{RuleTarget, router};

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use anyhow::Result;
use aws_config::SdkConfig;
use devstack_api::telemetry::Judgement;
use devstack_iam::Mode;
use devstack_iam::actions::{Call, Place, calls};
use devstack_iam::policy::NamedPolicy;
use devstack_iam::sigv4::{
    Arrived, Authorization, Presigned, SignatureError, verify, verify_presigned,
};
use devstack_iam::verdict::{Caller, Side, Verdict, judge};
use devstack_lambda::recorder::Recorder;
use kit::signed::json_protocol::{EVENTS, JsonApi};

/// Why a call was refused, in the words AWS would use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The key is not a session's (`signature`: false), or the signature
    /// is not its secret's (true).
    Unrecognized {
        signature: bool,
        message: String,
    },
    Denied(String),
    /// The resource's KMS key refused the service acting for the caller.
    KeyDenied(String),
    /// A session STS issued, past its expiry.
    Expired,
    /// A service's own error, in its words (STS's `AccessDenied`,
    /// `ValidationError`).
    Coded {
        status: axum::http::StatusCode,
        code: &'static str,
        message: String,
    },
}

impl Refusal {
    /// A key (or a token) AWS does not know, or no key at all.
    fn unknown(message: impl Into<String>) -> Self {
        Refusal::Unrecognized {
            signature: false,
            message: message.into(),
        }
    }
}

/// One function's session of its role.
struct Session {
    function: String,
    caller: Caller,
    /// `arn:aws:sts::<account>:assumed-role/<role>/<session>`, as AWS's
    /// messages name the caller.
    session_arn: String,
    secret: String,
    token: String,
    policies: Vec<NamedPolicy>,
    /// The role's account (a team's, where each team has its own) and
    /// the region: where the session's calls are made.
    place: Place,
    /// When a session STS issued to a caller's AssumeRole ends (a
    /// function's own session is renewed by Lambda: none).
    expires: Option<SystemTime>,
    /// The source identity an AssumeRole set, which every session
    /// chained from it keeps (`aws:SourceIdentity`).
    source_identity: Option<String>,
    /// The session tags that pass to a session chained from this one.
    transitive: Vec<(String, String)>,
}

/// One account's reads, as its administrator.
struct InAccount {
    query: reads::Query,
    secrets: JsonApi,
}

pub struct Judge {
    mode: Mode,
    place: Place,
    query: reads::Query,
    resources: resources::Resources,
    /// The rules' creators, read as the administrator.
    events: JsonApi,
    /// The administrator's configuration, from which another account's
    /// administrator is reached.
    conf: SdkConfig,
    /// An account's IAM and secrets, read as its administrator.
    elsewhere: RwLock<HashMap<String, Arc<InAccount>>>,
    recorder: Arc<Recorder>,
    /// Key id → its session.
    sessions: RwLock<HashMap<String, Arc<Session>>>,
    /// Function → its latest session.
    by_function: RwLock<HashMap<String, Arc<Session>>>,
    /// `<account>/<a secret's name>` → its ARN.
    secret_arns: RwLock<HashMap<String, String>>,
    /// A role that acts without a session of ours (a state machine's, a
    /// rule target's) → its policies, read once per deploy.
    role_policies: RwLock<HashMap<String, Arc<Vec<NamedPolicy>>>>,
    /// A role a rule's target names (EventBridge assumes it) → its trust
    /// policy, read once per deploy: every event a team's subscription
    /// forwards is judged with it.
    role_trusts: RwLock<HashMap<String, Arc<NamedPolicy>>>,
    /// `host:port` of an API's own gate → the API's id.
    api_hosts: RwLock<HashMap<String, String>>,
    /// How long a minute of a session STS issues lasts here (a minute;
    /// a test shortens it to see a session expire).
    session_minute: std::time::Duration,
    /// (function, action, resource) already recorded as allowed.
    allowed: Mutex<HashSet<(String, String, String)>>,
    /// How long each judged call took, in milliseconds (the first
    /// [`TIMINGS_KEPT`]).
    timings: Mutex<Vec<f64>>,
}

const TIMINGS_KEPT: usize = 100_000;

impl Judge {
    /// `conf`: the administrator's configuration for the emulator.
    /// `session_minute`: how long a minute of an assumed session lasts.
    pub fn new(
        mode: Mode,
        conf: &SdkConfig,
        recorder: Arc<Recorder>,
        session_minute: std::time::Duration,
    ) -> Result<Arc<Self>> {
        Ok(Arc::new(Self {
            mode,
            place: Place {
                account: kit::config::LOCAL_ACCOUNT.to_owned(),
                region: kit::config::LOCAL_REGION.to_owned(),
            },
            query: reads::Query::new(conf)?,
            resources: resources::Resources::new(conf, kit::config::LOCAL_ACCOUNT),
            events: JsonApi::new(conf, EVENTS),
            conf: conf.clone(),
            elsewhere: RwLock::default(),
            recorder,
            sessions: RwLock::default(),
            by_function: RwLock::default(),
            secret_arns: RwLock::default(),
            role_policies: RwLock::default(),
            role_trusts: RwLock::default(),
            api_hosts: RwLock::default(),
            session_minute,
            allowed: Mutex::default(),
            timings: Mutex::default(),
        }))
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The API `api_id`'s calls (`@connections`) arrive at `host` (its
    /// gate's `host:port`), where AWS's host would name the API.
    pub fn api_at(&self, host: &str, api_id: &str) {
        self.api_hosts
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(host.to_owned(), api_id.to_owned());
    }

    /// Where a role acts, or a resource is: the account its ARN names
    /// (else the administrator's), in this cloud's region.
    fn place_of(&self, arn: &str) -> Place {
        Place {
            account: (arn.split(':').nth(4))
                .filter(|a| !a.is_empty())
                .unwrap_or(&self.place.account)
                .to_owned(),
            region: self.place.region.clone(),
        }
    }

    /// Whether `request` may reach the emulator.
    pub async fn check(&self, request: &Arrived<'_>) -> Result<(), Refusal> {
        if self.mode == Mode::Off {
            return Ok(());
        }
        let started = std::time::Instant::now();
        let verdict = self.judged(request).await;
        let mut timings = self.timings.lock().unwrap_or_else(|e| e.into_inner());
        if timings.len() < TIMINGS_KEPT {
            timings.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        verdict
    }

    /// Each judged call's time so far, in milliseconds.
    pub fn times_ms(&self) -> Vec<f64> {
        self.timings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    async fn judged(&self, request: &Arrived<'_>) -> Result<(), Refusal> {
        let Some(header) = request.header("authorization") else {
            return match Presigned::parse(request.path_and_query) {
                // A browser's CORS preflight carries the URL but no
                // signature of its own: the gate answers it by CORS.
                _ if request.method == "OPTIONS" => Ok(()),
                Some(presigned) => self.presigned(presigned, request).await,
                None => self.anonymous(request).await,
            };
        };
        let auth = Authorization::parse(header).map_err(|e| Refusal::unknown(e.to_string()))?;
        let session = self.session_of(&auth.key_id).ok_or_else(|| {
            Refusal::unknown("The security token included in the request is invalid.")
        })?;
        if request.header("x-amz-security-token") != Some(session.token.as_str()) {
            return Err(Refusal::unknown(
                "The security token included in the request is invalid.",
            ));
        }
        if session.expired() {
            return Err(self.expired(&session, &auth.service));
        }
        verify(&auth, &session.secret, request).map_err(|e| Refusal::Unrecognized {
            signature: true,
            message: e.to_string(),
        })?;
        self.signed_by(&session, &auth.service, request).await
    }

    /// A call signed by nobody. S3 judges it by the resource's own policy
    /// (only one that lets every principal in allows it); every other
    /// service wants a signature.
    async fn anonymous(&self, request: &Arrived<'_>) -> Result<(), Refusal> {
        let form = request
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
        if request.header("x-amz-target").is_some() || form {
            return Err(Refusal::unknown("Request is missing Authentication Token"));
        }
        let wanted = calls("s3", request, &self.place, &Known::default())
            .map_err(|e| Refusal::unknown(e.to_string()))?;
        for call in wanted {
            let policy = self.resources.of(&call.resource).await.policy.clone();
            let verdict = judge(&Caller::Anonymous, &[], policy.as_ref(), &call, &self.place);
            self.record("anonymous", Caller::Anonymous.name(), &call, &verdict);
            if !verdict.allowed && self.mode == Mode::Strict {
                return Err(Refusal::Denied("Access Denied".into()));
            }
        }
        Ok(())
    }

    /// A request whose signature `session` made: the actions it asks for,
    /// each judged for the session's role.
    async fn signed_by(
        &self,
        session: &Session,
        service: &str,
        request: &Arrived<'_>,
    ) -> Result<(), Refusal> {
        if let Some(asked) = assumed::Asked::of(service, request) {
            return self.assume_role(session, asked?).await;
        }
        let names = self.names(service, request, &session.place).await;
        let wanted = match calls(service, request, &session.place, &names) {
            Ok(wanted) => wanted,
            Err(e) => return self.unmapped(session, service, e.to_string()),
        };
        self.verdicts(session, &wanted, service).await
    }

    /// A presigned URL used by whoever holds it (the browser): judged as
    /// the session that signed it, once its signature and expiry hold.
    async fn presigned(
        &self,
        presigned: Result<Presigned, SignatureError>,
        request: &Arrived<'_>,
    ) -> Result<(), Refusal> {
        let presigned = presigned.map_err(|e| Refusal::unknown(e.to_string()))?;
        let session = self.session_of(&presigned.key_id).ok_or_else(|| {
            Refusal::unknown("The AWS Access Key Id you provided does not exist in our records.")
        })?;
        if presigned.token.as_deref() != Some(session.token.as_str()) {
            return Err(Refusal::unknown(
                "The provided token is malformed or otherwise invalid.",
            ));
        }
        if session.expired() {
            return Err(self.expired(&session, &presigned.service));
        }
        match verify_presigned(&presigned, &session.secret, request, SystemTime::now()) {
            Ok(()) => {}
            Err(SignatureError::Expired) => {
                return Err(Refusal::Denied("Request has expired".into()));
            }
            Err(e) => {
                return Err(Refusal::Unrecognized {
                    signature: true,
                    message: e.to_string(),
                });
            }
        }
        self.signed_by(&session, &presigned.service, request).await
    }

    /// Each call's verdict for `session`'s role, under the resource's own
    /// policy and, for an encrypted topic or queue, its key's as
    /// `service` uses it: the first refusal, in strict mode.
    async fn verdicts(
        &self,
        session: &Session,
        wanted: &[Call],
        service: &str,
    ) -> Result<(), Refusal> {
        for call in wanted {
            let facts = self.resources.of(&call.resource).await;
            let call = &session.with_source_identity(call);
            let mut asked = vec![(call.clone(), facts.policy.as_ref().cloned(), false)];
            if let Some(key) = &facts.key {
                let key_policy = self.resources.of(key).await.policy.clone();
                for action in through_key(&call.action) {
                    let via = format!("{service}.{}.amazonaws.com", session.place.region);
                    let kms = Call::new(*action, key.clone()).with("kms:ViaService", via);
                    asked.push((kms, key_policy.clone(), true));
                }
            }
            for (call, resource_policy, key) in asked {
                let verdict = judge(
                    &session.caller,
                    &session.policies,
                    resource_policy.as_ref(),
                    &call,
                    &session.place,
                );
                self.record(&session.function, session.caller.name(), &call, &verdict);
                if !verdict.allowed && self.mode == Mode::Strict {
                    let message = denial(&session.session_arn, &call, &verdict);
                    return Err(if key {
                        Refusal::KeyDenied(message)
                    } else {
                        Refusal::Denied(message)
                    });
                }
            }
        }
        Ok(())
    }

    /// A call whose actions are unknown is refused by name in strict mode.
    fn unmapped(&self, session: &Session, service: &str, why: String) -> Result<(), Refusal> {
        let verdict = Verdict::refused(why.clone());
        let call = Call::new(format!("{service}:?"), "*");
        self.record(&session.function, session.caller.name(), &call, &verdict);
        match self.mode {
            Mode::Strict => Err(Refusal::Denied(why)),
            _ => Ok(()),
        }
    }

    /// One verdict: a trail line when it refuses, a record always (an
    /// allowed action on a resource once per caller).
    fn record(&self, function: &str, role: &str, call: &Call, verdict: &Verdict) {
        let outcome = match (verdict.allowed, self.mode) {
            (true, _) => "allowed",
            (false, Mode::Strict) => "denied",
            (false, _) => "would-deny",
        };
        if verdict.allowed {
            let key = (
                function.to_owned(),
                call.action.clone(),
                call.resource.clone(),
            );
            if !self
                .allowed
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(key)
            {
                return;
            }
        } else {
            tracing::warn!(target: "trail", function = %function, action = %call.action,
                resource = %call.resource, decided = %verdict.reason(), "iam: {outcome}");
        }
        self.recorder.judgement(&Judgement {
            function: function.to_owned(),
            role: role.to_owned(),
            action: call.action.clone(),
            resource: call.resource.clone(),
            verdict: outcome.to_owned(),
            reason: verdict.reason(),
            at_ms: devstack_api::telemetry::now_ms(),
        });
    }
}

/// A function's own credentials in place of the emulator's test keys
/// (none when nothing is judged: it keeps those).
pub fn with_credentials(env: &mut Vec<(String, String)>, session: Vec<(String, String)>) {
    if session.is_empty() {
        return;
    }
    let replaced = [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ];
    env.retain(|(k, _)| !replaced.contains(&k.as_str()));
    env.extend(session);
}

/// What SNS and SQS ask KMS for the caller of `action` on an encrypted
/// topic or queue.
fn through_key(action: &str) -> &'static [&'static str] {
    match action {
        "sns:Publish" | "sqs:SendMessage" => &["kms:GenerateDataKey", "kms:Decrypt"],
        "sqs:ReceiveMessage" => &["kms:Decrypt"],
        _ => &[],
    }
}

/// AWS's message for a denied call.
fn denial(caller: &str, call: &Call, verdict: &Verdict) -> String {
    let why = match &verdict.statement {
        Some(statement) => format!("with an explicit deny in {statement}"),
        None => format!(
            "because no {} policy allows the {} action",
            verdict.lacking.unwrap_or(Side::Identity).words(),
            call.action
        ),
    };
    format!(
        "User: {} is not authorized to perform: {} on resource: {} {why}",
        caller, call.action, call.resource
    )
}
