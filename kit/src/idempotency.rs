//! At-most-once effects for at-least-once deliveries: a consumer records
//! each event id it has processed, with a conditional write in its own table.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, Put};
use uuid::Uuid;

/// The attribute the services' tables use for TTL.
pub const TTL_ATTRIBUTE: &str = "expires_at";

#[derive(Debug, thiserror::Error)]
pub enum IdempotencyError {
    #[error("DynamoDB: {0}")]
    Store(String),
}

/// Records of processed events for one consumer, in the service's own table.
#[derive(Clone)]
pub struct Processed {
    client: Client,
    table: String,
    consumer: String,
    keep_for: Duration,
}

impl Processed {
    pub fn new(client: Client, table: impl Into<String>, consumer: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            consumer: consumer.into(),
            // Longer than any retry or replay window we promise.
            keep_for: Duration::from_secs(14 * 24 * 3600),
        }
    }

    fn pk(&self, event_id: Uuid) -> String {
        format!("EVENT#{}#{event_id}", self.consumer)
    }

    /// A conditional put to add to the transaction that performs the
    /// event's effect: the transaction fails (and the effect with it) when
    /// the event was already processed.
    pub fn marker(&self, event_id: Uuid) -> Put {
        let expires = chrono::Utc::now().timestamp() + self.keep_for.as_secs() as i64;
        Put::builder()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(self.pk(event_id)))
            .item("sk", AttributeValue::S("EVENT".into()))
            .item("kind", AttributeValue::S("processed_event".into()))
            .item(TTL_ATTRIBUTE, AttributeValue::N(expires.to_string()))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .expect("table, item and condition are set")
    }

    /// Whether the event was already processed (strongly consistent).
    pub async fn seen(&self, event_id: Uuid) -> Result<bool, IdempotencyError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(self.pk(event_id)))
            .key("sk", AttributeValue::S("EVENT".into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| {
                IdempotencyError::Store(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
            })?;
        Ok(out.item().is_some())
    }

    /// Records the event as processed after an effect that is itself
    /// idempotent (deletes). Returns false when it was recorded already.
    pub async fn record(&self, event_id: Uuid) -> Result<bool, IdempotencyError> {
        let put = self.marker(event_id);
        let result = self
            .client
            .put_item()
            .table_name(put.table_name())
            .set_item(Some(put.item().clone()))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(err) => Err(IdempotencyError::Store(
                aws_sdk_dynamodb::error::DisplayErrorContext(err).to_string(),
            )),
        }
    }
}
