//! Live push: posts to a user's open WebSocket connections through API
//! Gateway's `@connections` management API.

use aws_sdk_apigatewaymanagement::operation::post_to_connection::PostToConnectionError;
use aws_sdk_apigatewaymanagement::primitives::Blob;
use serde_json::{Value, json};

use crate::items::Notification;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    /// 410: the connection is closed or unknown; forget it.
    #[error("connection gone")]
    Gone,
    #[error("{0}")]
    Failed(String),
}

#[derive(Clone)]
pub struct Push {
    client: aws_sdk_apigatewaymanagement::Client,
}

impl Push {
    /// `endpoint` is the stage's URL, `https://{api}.execute-api.{region}.amazonaws.com/{stage}`:
    /// the management API has no regional endpoint of its own.
    pub fn new(conf: &aws_config::SdkConfig, endpoint: &str) -> Self {
        let config = aws_sdk_apigatewaymanagement::config::Builder::from(conf)
            .endpoint_url(endpoint)
            .build();
        Self {
            client: aws_sdk_apigatewaymanagement::Client::from_conf(config),
        }
    }

    pub async fn post(&self, connection_id: &str, message: &Value) -> Result<(), PushError> {
        self.client
            .post_to_connection()
            .connection_id(connection_id)
            .data(Blob::new(message.to_string()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| match e.as_service_error() {
                Some(PostToConnectionError::GoneException(_)) => PushError::Gone,
                _ => PushError::Failed(
                    aws_sdk_apigatewaymanagement::error::DisplayErrorContext(e).to_string(),
                ),
            })
    }
}

/// What a browser receives for a stored notification. `correlation_id`
/// lets the client match it to the action that caused it (the client
/// sends its own `x-correlation-id`).
pub fn notification_message(n: &Notification) -> Value {
    json!({
        "type": "notification",
        "notification": {
            "id": n.notification_id,
            "kind": n.notification_kind,
            "message": n.message,
            "link": n.link,
            "created_at": n.created_at,
            "source_event_id": n.source_event_id,
            "correlation_id": n.correlation_id,
        }
    })
}
