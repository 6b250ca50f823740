//! Cognito's Lambda triggers, which moto does not run: a front for the
//! user pool's API that passes every call to the emulator and, around a
//! sign-up (an administrator's AdminCreateUser too), a confirmation and a
//! sign-in that issues tokens, invokes the pool's triggers as Cognito
//! does: synchronously, with the trigger's event shape
//! (`aws_lambda_events`' Cognito types), as the function's policy lets
//! `cognito-idp.amazonaws.com` in, 5 s each, a timed-out one tried again
//! (three attempts in all). A trigger's error fails the person's call with
//! Cognito's own error (`UserLambdaValidationException`, "PreSignUp failed
//! with error …"), which the web app shows.
//!
//! As on AWS, a PostConfirmation that fails leaves the user confirmed:
//! the confirmation happened before the trigger ran.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::cognito::{
    CognitoEventUserPoolsPostAuthentication, CognitoEventUserPoolsPostConfirmation,
    CognitoEventUserPoolsPostConfirmationTriggerSource, CognitoEventUserPoolsPreSignup,
    CognitoEventUserPoolsPreSignupTriggerSource,
};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use devstack_lambda::on_behalf::{Invoker, Judge};
use devstack_lambda::runtime::{Arrival, Function, InvokeError};
use kit::signed::json_protocol::JsonApi;
use serde_json::{Value, json};

/// The calls that sign a person in: each may answer with tokens.
const SIGN_INS: [&str; 4] = [
    "InitiateAuth",
    "AdminInitiateAuth",
    "RespondToAuthChallenge",
    "AdminRespondToAuthChallenge",
];

/// How long Cognito waits for a trigger, and how often it tries one that
/// timed out.
const TRIGGER_TIMEOUT: Duration = Duration::from_secs(5);
const ATTEMPTS: u32 = 3;

/// The pool's triggers as deployed: each names a function, which may be
/// missing (a sign-up then fails, as on AWS).
pub struct Triggers {
    pub pool_id: String,
    /// `PreSignUp` / `PostConfirmation` → the function's physical name and
    /// the function, when one of that name runs.
    pub functions: BTreeMap<String, (String, Option<Function>)>,
    pub judge: Option<Arc<dyn Judge>>,
}

pub struct Front {
    upstream: String,
    http: reqwest::Client,
    /// The user pool's API on the emulator, signed as the local cloud.
    pub(super) api: JsonApi,
    triggers: Triggers,
    /// The identity pool's calls, when the platform has one: Cognito
    /// Identity's API on the same front (`AWSCognitoIdentityService.*`).
    identities: Option<super::identities::Identities>,
}

impl Front {
    pub fn new(
        upstream: &str,
        api: JsonApi,
        triggers: Triggers,
        identities: Option<super::identities::Identities>,
    ) -> Arc<Self> {
        Arc::new(Front {
            upstream: upstream.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
            api,
            triggers,
            identities,
        })
    }
}

/// The user pool's and the identity pool's APIs, every call passed on.
pub fn router(front: Arc<Front>) -> Router {
    Router::new().fallback(serve).with_state(front)
}

/// Cognito's error answer, as a trigger's failure gives it.
fn refused(kind: &str, message: String) -> Response {
    super::answers::refused(StatusCode::BAD_REQUEST, kind, &message)
}

async fn serve(
    State(front): State<Arc<Front>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (service, operation) = (headers.get("x-amz-target"))
        .and_then(|t| t.to_str().ok())
        .and_then(|t| t.rsplit_once('.'))
        .map(|(service, op)| (service.to_owned(), op.to_owned()))
        .unwrap_or_default();
    // Not an API call (those name their operation) nor a browser's
    // preflight: a page or endpoint of the domain this front does not
    // play (managed login's own sign-in pages, SAML). The engine would
    // answer its internal error page; this says what is missing.
    if operation.is_empty() && method != Method::OPTIONS {
        let why = format!(
            "{method} {}: not played by the local cloud's Cognito front ({} lists what is)",
            uri.path(),
            repo::paths::DIFFERENCES_PAGE
        );
        return super::answers::refused(StatusCode::NOT_IMPLEMENTED, "NotPlayedLocally", &why);
    }
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if service == "AWSCognitoIdentityService"
        && let Some(identities) = &front.identities
    {
        return identities.serve(&operation, &request).await;
    }
    let mut auto_confirm = false;
    let source = match operation.as_str() {
        "SignUp" => Some(CognitoEventUserPoolsPreSignupTriggerSource::SignUp),
        "AdminCreateUser" => Some(CognitoEventUserPoolsPreSignupTriggerSource::AdminCreateUser),
        _ => None,
    };
    if let Some(source) = source {
        match front.pre_sign_up(source, &request).await {
            Ok(answer) => auto_confirm = answer["response"]["autoConfirmUser"] == true,
            Err(refusal) => return refusal,
        }
    }
    let answer = front.forward(&method, &uri, &headers, body).await;
    if !answer.status().is_success() {
        return answer;
    }
    if SIGN_INS.contains(&operation.as_str()) {
        return front.post_authentication(&request, answer).await;
    }
    // The confirmed user's caller, as PostConfirmation names it.
    let app_client = request["ClientId"].as_str().unwrap_or_default();
    let caller = match operation.as_str() {
        "ConfirmSignUp" => app_client,
        "AdminConfirmSignUp" => "CLIENT_ID_NOT_APPLICABLE",
        // PreSignUp's `autoConfirmUser`: Cognito confirms the user itself.
        "SignUp" if auto_confirm => {
            if let Err(refusal) = front.confirm(&request).await {
                return refusal;
            }
            app_client
        }
        _ => return answer,
    };
    let user = request["Username"].as_str().unwrap_or_default();
    match front.post_confirmation(user, caller, &request).await {
        Ok(()) => answer,
        Err(refusal) => refusal,
    }
}

impl Front {
    /// The call as the emulator answers it, headers and all (its CORS
    /// answers included: the browser calls this front).
    async fn forward(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Response {
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.upstream))
            .body(body);
        for (name, value) in crate::call_gate::forwarded(headers) {
            request = request.header(name, value);
        }
        let answer = match request.send().await {
            Ok(a) => a,
            Err(e) => {
                return (StatusCode::BAD_GATEWAY, format!("the emulator: {e}")).into_response();
            }
        };
        let status = answer.status();
        let mut out = HeaderMap::new();
        for (name, value) in answer.headers() {
            if !matches!(
                name.as_str(),
                "content-length" | "transfer-encoding" | "connection"
            ) && !crate::call_gate::engines_own(name)
            {
                out.append(name, value.clone());
            }
        }
        let bytes = answer.bytes().await.unwrap_or_default();
        (status, out, bytes).into_response()
    }

    async fn confirm(&self, request: &Value) -> Result<(), Response> {
        let confirm =
            json!({ "UserPoolId": self.triggers.pool_id, "Username": request["Username"] });
        self.api
            .call("AdminConfirmSignUp", &confirm)
            .await
            .map(|_| ())
            .map_err(|e| refused(&e.kind, e.message))
    }

    /// PreSignUp's answer: the event, with what the trigger set in
    /// `response`.
    pub(super) async fn pre_sign_up(
        &self,
        source: CognitoEventUserPoolsPreSignupTriggerSource,
        request: &Value,
    ) -> Result<Value, Response> {
        let mut event = CognitoEventUserPoolsPreSignup::default();
        let header = &mut event.cognito_event_user_pools_header;
        header.version = Some("1".into());
        header.trigger_source = Some(source);
        header.region = Some(kit::config::LOCAL_REGION.into());
        header.user_pool_id = Some(self.triggers.pool_id.clone());
        header.user_name = request["Username"].as_str().map(str::to_owned);
        header.caller_context.client_id = request["ClientId"].as_str().map(str::to_owned);
        header.caller_context.awssdk_version = Some("aws-sdk-unknown-unknown".into());
        event.request.user_attributes = attributes(&request["UserAttributes"]);
        event.request.validation_data = attributes(&request["ValidationData"]);
        event.request.client_metadata = metadata(&request["ClientMetadata"]);
        let event = serde_json::to_value(event).expect("an event serializes");
        self.invoke("PreSignUp", event, correlation_of(request))
            .await
    }

    pub(super) async fn post_confirmation(
        &self,
        user: &str,
        client_id: &str,
        request: &Value,
    ) -> Result<(), Response> {
        if !self.triggers.functions.contains_key("PostConfirmation") {
            return Ok(());
        }
        let found = self.user(user).await?;
        let mut event: CognitoEventUserPoolsPostConfirmation = Default::default();
        let header = &mut event.cognito_event_user_pools_header;
        header.version = Some("1".into());
        header.trigger_source =
            Some(CognitoEventUserPoolsPostConfirmationTriggerSource::ConfirmSignUp);
        header.region = Some(kit::config::LOCAL_REGION.into());
        header.user_pool_id = Some(self.triggers.pool_id.clone());
        header.user_name = found["Username"].as_str().map(str::to_owned);
        header.caller_context.client_id = Some(client_id.to_owned());
        header.caller_context.awssdk_version = Some("aws-sdk-unknown-unknown".into());
        let mut attributes = attributes(&found["UserAttributes"]);
        attributes.insert("cognito:user_status".into(), "CONFIRMED".into());
        event.request.user_attributes = attributes;
        event.request.client_metadata = metadata(&request["ClientMetadata"]);
        let event = serde_json::to_value(event).expect("an event serializes");
        self.invoke("PostConfirmation", event, correlation_of(request))
            .await
            .map(|_| ())
    }

    /// After a sign-in that issued tokens: PostAuthentication, whose error
    /// fails the sign-in (the tokens are not handed out), as on AWS. A
    /// renewal with a refresh token is no sign-in.
    async fn post_authentication(&self, request: &Value, answer: Response) -> Response {
        if !self.triggers.functions.contains_key("PostAuthentication") {
            return answer;
        }
        let (parts, body) = answer.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX)
            .await
            .unwrap_or_default();
        let issued: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let flow = request["AuthFlow"].as_str().unwrap_or_default();
        let user = (request["AuthParameters"]["USERNAME"].as_str())
            .or(request["ChallengeResponses"]["USERNAME"].as_str());
        let answer = Response::from_parts(parts, axum::body::Body::from(bytes));
        let (true, false, Some(user)) = (
            issued["AuthenticationResult"].is_object(),
            flow.starts_with("REFRESH_TOKEN"),
            user,
        ) else {
            return answer;
        };
        match self.signed_in(user, request).await {
            Ok(()) => answer,
            Err(refusal) => refusal,
        }
    }

    /// The user as the pool holds them, attributes and all.
    async fn user(&self, user: &str) -> Result<Value, Response> {
        let read = json!({ "UserPoolId": self.triggers.pool_id, "Username": user });
        self.api.call("AdminGetUser", &read).await.map_err(|e| {
            refused(
                "InternalErrorException",
                format!("reading the user {user}: {e}"),
            )
        })
    }

    pub(super) async fn signed_in(&self, user: &str, request: &Value) -> Result<(), Response> {
        let found = self.user(user).await?;
        let mut event = CognitoEventUserPoolsPostAuthentication::default();
        let header = &mut event.cognito_event_user_pools_header;
        header.version = Some("1".into());
        header.trigger_source = Some(Default::default());
        header.region = Some(kit::config::LOCAL_REGION.into());
        header.user_pool_id = Some(self.triggers.pool_id.clone());
        header.user_name = found["Username"].as_str().map(str::to_owned);
        header.caller_context.client_id = request["ClientId"].as_str().map(str::to_owned);
        header.caller_context.awssdk_version = Some("aws-sdk-unknown-unknown".into());
        event.request.user_attributes = attributes(&found["UserAttributes"]);
        event.request.client_metadata = metadata(&request["ClientMetadata"]);
        let event = serde_json::to_value(event).expect("an event serializes");
        self.invoke("PostAuthentication", event, correlation_of(request))
            .await
            .map(|_| ())
    }

    /// A trigger's invocation as Cognito makes it: asked of the function's
    /// policy, 5 s, retried when it timed out; its error becomes Cognito's.
    /// Its trace hop is filed under the correlation id the caller gave.
    async fn invoke(
        &self,
        trigger: &'static str,
        event: Value,
        correlation: Option<&str>,
    ) -> Result<Value, Response> {
        let Some((name, function)) = self.triggers.functions.get(trigger) else {
            return Ok(event);
        };
        let unexpected = |why: String| {
            tracing::error!(target: "trail", trigger, function = %name, "{why}");
            refused(
                "UnexpectedLambdaException",
                format!("{trigger} invocation failed due to error {why}."),
            )
        };
        let Some(function) = function else {
            return Err(unexpected(format!("Function not found: {name}")));
        };
        if let Some(judge) = &self.triggers.judge {
            let invoker = Invoker {
                principal: "cognito-idp.amazonaws.com",
                source_arn: pool_arn(&self.triggers.pool_id),
            };
            if !judge.may_invoke(&invoker, &function.spec.arn).await {
                return Err(unexpected(
                    "AccessDeniedException: the function's policy does not let Cognito in".into(),
                ));
            }
        }
        for attempt in 1..=ATTEMPTS {
            let request_id = uuid::Uuid::new_v4().to_string();
            let arrival = Arrival::new("cognito", trigger).correlated(correlation);
            let run = function.invoke_traced(request_id, event.clone(), arrival);
            match tokio::time::timeout(TRIGGER_TIMEOUT, run).await {
                Ok(Ok(answer)) => return Ok(answer),
                Ok(Err(InvokeError::Function { message, .. })) => {
                    tracing::info!(target: "trail", trigger, function = %name, %message, "trigger refused the call");
                    return Err(refused(
                        "UserLambdaValidationException",
                        format!("{trigger} failed with error {message}."),
                    ));
                }
                Ok(Err(InvokeError::Timeout(_))) | Err(_) if attempt < ATTEMPTS => {
                    tracing::warn!(target: "trail", trigger, function = %name, attempt, "trigger timed out: Cognito tries again");
                }
                Ok(Err(InvokeError::Timeout(_))) | Err(_) => {
                    return Err(unexpected(
                        "Socket timeout while invoking Lambda function".into(),
                    ));
                }
                Ok(Err(other)) => return Err(unexpected(other.to_string())),
            }
        }
        unreachable!("the last attempt returns")
    }
}

pub fn pool_arn(pool_id: &str) -> String {
    format!(
        "arn:aws:cognito-idp:{}:{}:userpool/{pool_id}",
        kit::config::LOCAL_REGION,
        kit::config::LOCAL_ACCOUNT
    )
}

/// The correlation id a caller put in the call's ClientMetadata, which the
/// users service's trigger gives the registration.
fn correlation_of(request: &Value) -> Option<&str> {
    request["ClientMetadata"]["correlation_id"].as_str()
}

/// `[{Name, Value}]` as the trigger's map.
fn attributes(list: &Value) -> std::collections::HashMap<String, String> {
    (list.as_array().into_iter().flatten())
        .filter_map(|a| {
            Some((
                a["Name"].as_str()?.to_owned(),
                a["Value"].as_str()?.to_owned(),
            ))
        })
        .collect()
}

fn metadata(map: &Value) -> std::collections::HashMap<String, String> {
    (map.as_object().into_iter().flatten())
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
        .collect()
}
