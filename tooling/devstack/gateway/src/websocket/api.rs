//! The API as configured and as it runs: its spec, its open connections,
//! and what every event of a connection shares.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use tokio::sync::{RwLock, mpsc};

use devstack_lambda::runtime::Function;

/// AWS's WebSocket API quotas.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_frame_bytes: usize,
    pub max_message_bytes: usize,
    pub idle_timeout: Duration,
    pub max_lifetime: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_frame_bytes: 32 * 1024,
            max_message_bytes: 128 * 1024,
            idle_timeout: Duration::from_secs(10 * 60),
            max_lifetime: Duration::from_secs(2 * 60 * 60),
        }
    }
}

/// The `$connect` route's Lambda REQUEST authorizer.
#[derive(Clone)]
pub struct Authorizer {
    /// Its id, in the ARN API Gateway invokes it under.
    pub id: String,
    pub function: Function,
    pub identity_source: Vec<String>,
}

pub struct Spec {
    /// `<service>/<LogicalId>`, for the trail.
    pub name: String,
    /// The API's id (what `{api}` is in an AWS URL).
    pub api_id: String,
    pub stage: String,
    pub route_selection_expression: String,
    pub routes: BTreeMap<String, Function>,
    pub authorizer: Option<Authorizer>,
    pub limits: Limits,
    /// The stage's throttle (on `$connect`) and access log.
    pub settings: Arc<crate::stage::Stage>,
    /// What judges its invocations by the functions' policies.
    pub judge: crate::permission::Judged,
}

pub(super) enum Outgoing {
    Data(Bytes),
    Close(u16, &'static str),
}

pub(super) struct Connection {
    pub(super) tx: mpsc::UnboundedSender<Outgoing>,
    pub(super) connected_at: DateTime<Utc>,
    pub(super) last_active: Mutex<DateTime<Utc>>,
    pub(super) user_agent: String,
}

pub struct SocketApi {
    pub spec: Spec,
    /// `host:port`, the events' `domainName`.
    pub domain: String,
    pub(super) connections: RwLock<HashMap<String, Arc<Connection>>>,
}

impl SocketApi {
    pub fn new(spec: Spec, domain: String) -> Arc<Self> {
        Arc::new(Self {
            spec,
            domain,
            connections: RwLock::new(HashMap::new()),
        })
    }

    pub async fn open_connections(&self) -> usize {
        self.connections.read().await.len()
    }
}

/// A `$connect` request's headers and query, single- and multi-valued, as
/// API Gateway hands them to the authorizer and the route.
pub(super) struct Request {
    pub(super) single_headers: Map<String, Value>,
    pub(super) multi_headers: Map<String, Value>,
    pub(super) single_query: Map<String, Value>,
    pub(super) multi_query: Map<String, Value>,
}

/// The same pieces every event of a connection shares.
pub(super) struct Context {
    pub(super) connection_id: String,
    pub(super) connected_at: DateTime<Utc>,
    pub(super) user_agent: String,
    pub(super) authorizer: Map<String, Value>,
}

impl SocketApi {
    pub(super) fn request_context(
        &self,
        ctx: &Context,
        route_key: &str,
        event_type: &str,
    ) -> Value {
        let now = Utc::now();
        let mut rc = json!({
            "routeKey": route_key,
            "eventType": event_type,
            "extendedRequestId": short_id(11),
            "requestTime": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "messageDirection": "IN",
            "stage": self.spec.stage,
            "connectedAt": ctx.connected_at.timestamp_millis(),
            "requestTimeEpoch": now.timestamp_millis(),
            "identity": {"sourceIp": "127.0.0.1", "userAgent": ctx.user_agent},
            "requestId": short_id(11),
            "domainName": self.domain,
            "connectionId": ctx.connection_id,
            "apiId": self.spec.api_id,
        });
        if !ctx.authorizer.is_empty() {
            rc["authorizer"] = Value::Object(ctx.authorizer.clone());
        }
        rc
    }

    /// Whether API Gateway may invoke `function` for `rest` of this API's
    /// ARN (`{stage}/{route}`, `authorizers/{id}`).
    pub(super) async fn may_invoke(&self, function: &Function, rest: &str) -> bool {
        let source = crate::permission::arn(self.account(), &self.spec.api_id, rest);
        crate::permission::may_invoke(&self.spec.judge, function, source).await
    }

    pub(super) fn method_arn(&self, route_key: &str) -> String {
        let rest = format!("{}/{route_key}", self.spec.stage);
        crate::permission::arn(self.account(), &self.spec.api_id, &rest)
    }

    /// The API's account: its stack's, which holds its functions.
    pub(super) fn account(&self) -> &str {
        (self.spec.routes.values().next()).map_or(kit::config::LOCAL_ACCOUNT, |f| f.spec.account())
    }
}

pub(super) fn message(status: StatusCode, text: &str) -> Response {
    (
        status,
        [("content-type", "application/json")],
        json!({"message": text}).to_string(),
    )
        .into_response()
}

/// Random ids in API Gateway's style (base64 of `bytes` random bytes, so
/// connection ids end in `=` and callers must encode them in URLs).
pub fn short_id(bytes: usize) -> String {
    let random: Vec<u8> = (0..bytes.div_ceil(16))
        .flat_map(|_| uuid::Uuid::new_v4().into_bytes())
        .take(bytes)
        .collect();
    base64(&random)
}

/// Standard base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_is_the_standard_alphabet_with_padding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(&[0xfb, 0xff]), "+/8=");
        assert_eq!(short_id(11).len(), 16);
        assert!(short_id(11).ends_with('='));
    }
}
