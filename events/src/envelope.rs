use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Event;

/// Facts about an occurrence, common to every event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Metadata {
    /// Unique per occurrence. Consumers deduplicate on it: the bus delivers at
    /// least once and a replay delivers again.
    pub event_id: Uuid,
    /// When the change happened in the producer's table.
    pub occurred_at: DateTime<Utc>,
    /// Carried from the API request that started the chain of events.
    pub correlation_id: String,
    /// The event id that directly caused this event, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<String>,
    /// Version of the `data` contract; equals the detail-type's version.
    pub schema_version: u32,
    /// The service that produced the event.
    pub producer: String,
}

/// The EventBridge `detail` of every event: metadata beside data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Envelope<E> {
    pub metadata: Metadata,
    pub data: E,
}

impl<E: Event> Envelope<E> {
    /// An envelope whose metadata is filled in from the contract's identity.
    pub fn new(
        event_id: Uuid,
        occurred_at: DateTime<Utc>,
        correlation_id: impl Into<String>,
        causation_id: Option<String>,
        producer: impl Into<String>,
        data: E,
    ) -> Self {
        Self {
            metadata: Metadata {
                event_id,
                occurred_at,
                correlation_id: correlation_id.into(),
                causation_id,
                schema_version: E::VERSION,
                producer: producer.into(),
            },
            data,
        }
    }
}
