//! The third-party sender's API (an email SaaS): submit a campaign with
//! the API key from Parameter Store. A 401 means the key may have been
//! rotated: the key is read again once and the call repeated, so a
//! rotation needs no deploy and fails no campaign.

use kit::outbound::{Answer, Client, OutboundError};
use kit::secrets::{Secret, SecretError};
use serde::{Deserialize, Serialize};

use crate::items::Campaign;

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// 5xx, or no answer: worth retrying later.
    #[error("the sender is unavailable: {0}")]
    Unavailable(String),
    /// 429: worth retrying later, slower.
    #[error("the sender is throttling us: {0}")]
    Throttled(String),
    /// Any other refusal, a 401 after the key was read again included:
    /// retrying will not help.
    #[error("the sender refused the campaign: {0}")]
    Refused(String),
    #[error(transparent)]
    Secret(#[from] SecretError),
}

impl SendError {
    /// The `errorType` the state machine retries or catches by.
    pub fn error_type(&self) -> &'static str {
        match self {
            SendError::Unavailable(_) => "Sender.Unavailable",
            SendError::Throttled(_) => "Sender.Throttled",
            SendError::Refused(_) => "Sender.Refused",
            SendError::Secret(_) => "Sender.Secret",
        }
    }
}

/// The campaign as the sender takes it.
#[derive(Debug, Serialize)]
struct Submission<'a> {
    subject: &'a str,
    body: &'a str,
    recipients: &'a [String],
    /// Our id: the webhook hands it back.
    reference: String,
}

/// The sender's answer to a submission.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Accepted {
    pub id: String,
}

pub struct Sender {
    http: Client,
    base_url: String,
    key: Secret,
}

impl Sender {
    pub fn new(base_url: impl Into<String>, key: Secret) -> Self {
        Self {
            http: Client::new(),
            base_url: base_url.into(),
            key,
        }
    }

    /// Submits the campaign, idempotently: the campaign id is the
    /// idempotency key, so a retried step never sends it twice.
    pub async fn submit(&self, c: &Campaign, recipients: &[String]) -> Result<Accepted, SendError> {
        let body = serde_json::to_vec(&Submission {
            subject: &c.subject,
            body: &c.body,
            recipients,
            reference: c.id.to_string(),
        })
        .map_err(|e| SendError::Refused(e.to_string()))?;
        let key = self.key.get().await?;
        let mut answer = self
            .post(key.expose(), &c.id.to_string(), body.clone())
            .await?;
        if answer.status == 401 {
            tracing::warn!(
                secret = self.key.name(),
                "the sender refused the API key; reading it again"
            );
            let key = self.key.refresh().await?;
            answer = self.post(key.expose(), &c.id.to_string(), body).await?;
        }
        judge(answer)
    }

    async fn post(
        &self,
        key: &str,
        idempotency_key: &str,
        body: Vec<u8>,
    ) -> Result<Answer, SendError> {
        let url = format!("{}/v1/campaigns", self.base_url.trim_end_matches('/'));
        let auth = format!("Bearer {key}");
        let headers = [
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
            ("idempotency-key", idempotency_key),
        ];
        self.http
            .send("POST", &url, &headers, body)
            .await
            .map_err(|e| match e {
                OutboundError::Transport { .. } => SendError::Unavailable(e.to_string()),
                OutboundError::Request { .. } => SendError::Refused(e.to_string()),
            })
    }
}

fn judge(answer: Answer) -> Result<Accepted, SendError> {
    let text = String::from_utf8_lossy(&answer.body);
    let said = format!(
        "HTTP {}: {}",
        answer.status,
        text.chars().take(300).collect::<String>()
    );
    match answer.status {
        200..=299 => serde_json::from_slice(&answer.body)
            .map_err(|e| SendError::Refused(format!("an answer without an id ({e}): {said}"))),
        429 => Err(SendError::Throttled(said)),
        500..=599 => Err(SendError::Unavailable(said)),
        _ => Err(SendError::Refused(said)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status,
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn answers_become_what_the_state_machine_retries_or_catches() {
        assert_eq!(
            judge(answer(202, r#"{"id":"cmp_1","status":"pending"}"#))
                .unwrap()
                .id,
            "cmp_1"
        );
        assert_eq!(
            judge(answer(503, "{}")).unwrap_err().error_type(),
            "Sender.Unavailable"
        );
        assert_eq!(
            judge(answer(429, "{}")).unwrap_err().error_type(),
            "Sender.Throttled"
        );
        assert_eq!(
            judge(answer(401, "{}")).unwrap_err().error_type(),
            "Sender.Refused"
        );
        assert_eq!(
            judge(answer(202, "not json")).unwrap_err().error_type(),
            "Sender.Refused"
        );
    }
}
