//! The sender's webhook: public, proven by signature. Each status change
//! arrives signed with HMAC-SHA256 over `<timestamp>.<body>` with the
//! signing secret (header `Sender-Signature: v1=<hex>`, timestamp in
//! `Sender-Timestamp`, Unix seconds). A bad or missing signature and a
//! stale timestamp are 401 before anything is read or changed; a
//! delivery seen before (the sender retries and duplicates) is answered
//! 200 and changes nothing.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use kit::http_api::{Invalid, Request, Response};
use kit::idempotency::Processed;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use uuid::Uuid;

use crate::domain::{self, Reported, VendorStatus};
use crate::flow::Resumer;
use crate::store::Store;

pub const TIMESTAMP_HEADER: &str = "sender-timestamp";
pub const SIGNATURE_HEADER: &str = "sender-signature";
/// How old a signed delivery may be: a captured one replayed later is
/// refused (the sender retries within minutes, re-signing each attempt).
pub const TOLERANCE_SECS: i64 = 300;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error("no {0} header")]
    Missing(&'static str),
    #[error("the signature does not match")]
    BadSignature,
    #[error("the timestamp is {0} s away from now (at most {TOLERANCE_SECS})")]
    Stale(i64),
}

/// Checks a delivery's signature and age. Constant-time comparison; any
/// `v1=` signature in the header may match (a sender rotating its secret
/// signs with both).
pub fn verify(
    secret: &[u8],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), Rejected> {
    let timestamp = timestamp.ok_or(Rejected::Missing(TIMESTAMP_HEADER))?;
    let signature = signature.ok_or(Rejected::Missing(SIGNATURE_HEADER))?;
    let signed_at: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| Rejected::BadSignature)?;
    let matches = signature
        .split(',')
        .filter_map(|part| part.trim().strip_prefix("v1="))
        .filter_map(|hex_sig| hex::decode(hex_sig).ok())
        .any(|sig| {
            let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key");
            mac.update(timestamp.trim().as_bytes());
            mac.update(b".");
            mac.update(body);
            mac.verify_slice(&sig).is_ok()
        });
    if !matches {
        return Err(Rejected::BadSignature);
    }
    let age = now.timestamp() - signed_at;
    if age.abs() > TOLERANCE_SECS {
        return Err(Rejected::Stale(age));
    }
    Ok(())
}

/// One status change, as the sender delivers it.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct Delivery {
    pub delivery_id: Uuid,
    pub campaign_id: String,
    /// Our campaign id, handed to the sender at submission.
    pub reference: Uuid,
    pub status: VendorStatus,
    #[serde(default)]
    pub reason: Option<String>,
    pub occurred_at: DateTime<Utc>,
}

/// What the webhook needs.
pub struct Webhook<'a> {
    pub store: &'a Store,
    pub processed: &'a Processed,
    pub resumer: &'a Resumer,
}

/// The webhook route: verify, then apply once.
pub async fn handle(
    hook: &Webhook<'_>,
    secret: &[u8],
    req: &Request,
) -> Result<Response, Response> {
    let body = req.body.as_deref().unwrap_or_default();
    let header = |name: &str| req.headers.get(name).map(String::as_str);
    if let Err(rejected) = verify(
        secret,
        header(TIMESTAMP_HEADER),
        header(SIGNATURE_HEADER),
        body.as_bytes(),
        Utc::now(),
    ) {
        // The hook's unsigned request is expected, and must not page.
        if !req.from_hook {
            kit::telemetry::count("WebhooksRejected", 1);
        }
        tracing::warn!(%rejected, "webhook delivery rejected");
        return Err(Response::error(
            401,
            "unauthorized",
            rejected.to_string(),
            None,
        ));
    }
    let delivery: Delivery = kit::http_api::parse_body(Some(body)).inspect_err(|_| {
        kit::telemetry::count("WebhooksRejected", 1);
    })?;
    apply(hook, &delivery).await
}

async fn apply(hook: &Webhook<'_>, d: &Delivery) -> Result<Response, Response> {
    let span = tracing::info_span!("delivery", delivery_id = %d.delivery_id, campaign_id = %d.reference, status = domain::name(d.status));
    let _entered = span.enter();
    if hook.processed.seen(d.delivery_id).await.map_err(internal)? {
        kit::telemetry::count("WebhooksDuplicate", 1);
        tracing::info!("duplicate delivery ignored");
        return Ok(answer("duplicate"));
    }
    let Some(campaign) = hook.store.campaign(d.reference).await? else {
        kit::telemetry::count("WebhooksRejected", 1);
        return Err(Response::not_found("campaign"));
    };
    if campaign
        .vendor_id
        .as_ref()
        .is_some_and(|v| *v != d.campaign_id)
    {
        kit::telemetry::count("WebhooksRejected", 1);
        let field = Invalid::range("campaign_id", "is not the sender's id for this campaign");
        return Err(field.into());
    }
    let reported = hook
        .store
        .update(d.reference, |c| {
            c.vendor_id.get_or_insert_with(|| d.campaign_id.clone());
            let before = c.handed;
            match domain::report(c, d.status, d.reason.as_deref(), Utc::now()) {
                Reported::Stale => None,
                other => Some((other, before)),
            }
        })
        .await?;
    let outcome = match reported {
        None => "stale",
        Some((Reported::Wake { token, progress }, before)) => {
            hook.resumer
                .resume(hook.store, d.reference, &token, &progress, before)
                .await?;
            "resumed"
        }
        Some(_) => "recorded",
    };
    hook.processed
        .record(d.delivery_id)
        .await
        .map_err(internal)?;
    kit::telemetry::count("WebhooksAccepted", 1);
    tracing::info!(outcome, "delivery applied");
    Ok(answer(outcome))
}

/// What the webhook answers a verified delivery.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct WebhookAnswer {
    /// `resumed` (the flow moved on), `recorded` (kept for the next
    /// waiting step), `stale` (an earlier status arriving late) or
    /// `duplicate` (delivered before).
    pub outcome: String,
}

fn answer(outcome: &str) -> Response {
    Response::of(
        200,
        &WebhookAnswer {
            outcome: outcome.to_owned(),
        },
    )
}

fn internal(e: impl std::fmt::Display) -> Response {
    Response::internal(&e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &[u8], ts: i64, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
        mac.update(format!("{ts}.").as_bytes());
        mac.update(body);
        format!("v1={}", hex::encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn only_a_fresh_delivery_signed_with_the_secret_passes() {
        let now = Utc::now();
        let ts = now.timestamp();
        let body = br#"{"status":"sent"}"#;
        let good = sign(b"secret", ts, body);
        let t = ts.to_string();
        assert_eq!(verify(b"secret", Some(&t), Some(&good), body, now), Ok(()));
        let other = format!("v1=00, {good}");
        assert_eq!(
            verify(b"secret", Some(&t), Some(&other), body, now),
            Ok(()),
            "any v1 may match"
        );
        assert_eq!(
            verify(b"other", Some(&t), Some(&good), body, now),
            Err(Rejected::BadSignature)
        );
        let tampered = br#"{"status":"failed"}"#;
        assert_eq!(
            verify(b"secret", Some(&t), Some(&good), tampered, now),
            Err(Rejected::BadSignature)
        );
        let later = now + chrono::Duration::seconds(TOLERANCE_SECS + 1);
        assert_eq!(
            verify(b"secret", Some(&t), Some(&good), body, later),
            Err(Rejected::Stale(TOLERANCE_SECS + 1))
        );
        assert_eq!(
            verify(b"secret", None, Some(&good), body, now),
            Err(Rejected::Missing(TIMESTAMP_HEADER))
        );
        assert_eq!(
            verify(b"secret", Some(&t), None, body, now),
            Err(Rejected::Missing(SIGNATURE_HEADER))
        );
    }
}
