//! Crossing the wire: typed events to PutEvents entries, and received
//! EventBridge events back to typed events.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::{Envelope, Event, EventKey};

#[derive(Debug, thiserror::Error)]
pub enum ContractError {
    #[error("{key}: cannot serialize detail: {source}")]
    Serialize {
        key: EventKey,
        #[source]
        source: serde_json::Error,
    },
    #[error("expected {expected}, received {source_name}/{detail_type}")]
    WrongEvent {
        expected: EventKey,
        source_name: String,
        detail_type: String,
    },
    #[error("{expected}: detail.metadata.schema_version is {found}")]
    WrongVersion { expected: EventKey, found: u32 },
    #[error("{what}: invalid detail at `{path}`: {message}")]
    InvalidDetail {
        what: String,
        path: String,
        message: String,
    },
}

/// A PutEvents entry without the SDK: the kit turns it into the SDK's type.
/// `detail` is the serialized [`Envelope`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutEntry {
    pub key: EventKey,
    pub event_id: Uuid,
    pub correlation_id: String,
    pub time: DateTime<Utc>,
    pub detail: String,
    /// The X-Ray header EventBridge hands to the rule's targets
    /// (`TraceHeader`); set by the publisher, not part of the event.
    pub trace_header: Option<String>,
}

impl PutEntry {
    pub fn from_envelope<E: Event>(envelope: &Envelope<E>) -> Result<Self, ContractError> {
        let detail =
            serde_json::to_string(envelope).map_err(|source| ContractError::Serialize {
                key: E::KEY,
                source,
            })?;
        Ok(Self {
            key: E::KEY,
            event_id: envelope.metadata.event_id,
            correlation_id: envelope.metadata.correlation_id.clone(),
            time: envelope.metadata.occurred_at,
            detail,
            trace_header: None,
        })
    }

    /// The entry as EventBridge hands it to a rule's target, for a tool
    /// that delivers it to one consumer directly (a snapshot's backfill)
    /// rather than through the bus.
    pub fn delivered(&self, region: &str) -> Result<EventBridgeEvent<Value>, ContractError> {
        let detail =
            serde_json::from_str(&self.detail).map_err(|source| ContractError::Serialize {
                key: self.key,
                source,
            })?;
        let mut event = EventBridgeEvent::default();
        event.version = Some("0".into());
        event.id = Some(self.event_id.to_string());
        event.detail_type = self.key.detail_type.into();
        event.source = self.key.source.into();
        event.time = Some(self.time);
        event.region = Some(region.into());
        event.resources = Some(Vec::new());
        event.detail = detail;
        Ok(event)
    }

    /// The entry's size as EventBridge counts it against the PutEvents
    /// request limit: 14 bytes for `Time`, plus the UTF-8 bytes of source,
    /// detail-type and detail.
    pub fn eventbridge_size(&self) -> usize {
        const TIME_BYTES: usize = 14;
        TIME_BYTES + self.key.source.len() + self.key.detail_type.len() + self.detail.len()
    }
}

/// What a received event claims to be, read before choosing its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedKey {
    pub source: String,
    pub detail_type: String,
    pub version: Option<u32>,
}

impl ReceivedKey {
    /// Whether the event claims to be exactly this contract version.
    pub fn is(&self, key: EventKey) -> bool {
        self.source == key.source
            && self.detail_type == key.detail_type
            && self.version == Some(key.version)
    }
}

/// Reads source, detail-type and `detail.metadata.schema_version`.
pub fn received_key(event: &EventBridgeEvent<Value>) -> ReceivedKey {
    let version = event
        .detail
        .pointer("/metadata/schema_version")
        .and_then(Value::as_u64)
        .and_then(|v| u32::try_from(v).ok());
    ReceivedKey {
        source: event.source.clone(),
        detail_type: event.detail_type.clone(),
        version,
    }
}

/// Decodes a received EventBridge event as contract `E`. The error names the
/// JSON path of the first field that failed.
pub fn decode<E: Event>(event: &EventBridgeEvent<Value>) -> Result<Envelope<E>, ContractError> {
    if event.source != E::SOURCE || event.detail_type != E::DETAIL_TYPE {
        return Err(ContractError::WrongEvent {
            expected: E::KEY,
            source_name: event.source.clone(),
            detail_type: event.detail_type.clone(),
        });
    }
    let envelope = decode_detail::<E>(&event.detail)?;
    if envelope.metadata.schema_version != E::VERSION {
        return Err(ContractError::WrongVersion {
            expected: E::KEY,
            found: envelope.metadata.schema_version,
        });
    }
    Ok(envelope)
}

pub(crate) fn decode_detail<E: Event>(detail: &Value) -> Result<Envelope<E>, ContractError> {
    serde_path_to_error::deserialize::<_, Envelope<E>>(detail).map_err(|err| {
        let path = err.path().to_string();
        ContractError::InvalidDetail {
            what: E::KEY.to_string(),
            path: format!("detail.{path}"),
            message: err.into_inner().to_string(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::todos::TodoCompletedV1;

    fn completed() -> Envelope<TodoCompletedV1> {
        Envelope::new(
            Uuid::nil(),
            "2026-11-22T10:00:00Z".parse().unwrap(),
            "corr-1",
            None,
            "todos",
            TodoCompletedV1 {
                todo_id: Uuid::nil(),
                user_id: "u1".into(),
                title: "ship".into(),
                completed_at: "2026-11-22T10:00:00Z".parse().unwrap(),
            },
        )
    }

    fn received(detail: Value) -> EventBridgeEvent<Value> {
        let mut ev = EventBridgeEvent::<Value>::default();
        ev.source = crate::todos::SOURCE.into();
        ev.detail_type = "TodoCompleted".into();
        ev.detail = detail;
        ev
    }

    #[test]
    fn size_counts_time_source_detail_type_and_detail_bytes() {
        let entry = PutEntry::from_envelope(&completed()).unwrap();
        assert_eq!(
            entry.eventbridge_size(),
            14 + crate::todos::SOURCE.len() + "TodoCompleted".len() + entry.detail.len()
        );
    }

    #[test]
    fn round_trips_through_a_received_event() {
        let entry = PutEntry::from_envelope(&completed()).unwrap();
        let ev = received(serde_json::from_str(&entry.detail).unwrap());
        let back = decode::<TodoCompletedV1>(&ev).unwrap();
        assert_eq!(back, completed());
        assert_eq!(received_key(&ev).version, Some(1));
    }

    #[test]
    fn names_the_path_of_a_bad_field() {
        let mut detail = serde_json::to_value(completed()).unwrap();
        detail["data"]["completed_at"] = Value::from("yesterday");
        let err = decode::<TodoCompletedV1>(&received(detail)).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("detail.data.completed_at"), "{text}");
    }

    #[test]
    fn rejects_another_detail_type_and_version() {
        let detail = serde_json::to_value(completed()).unwrap();
        let mut ev = received(detail.clone());
        ev.detail_type = "TodoCreated".into();
        assert!(matches!(
            decode::<TodoCompletedV1>(&ev),
            Err(ContractError::WrongEvent { .. })
        ));
        let mut v2 = detail;
        v2["metadata"]["schema_version"] = Value::from(2);
        assert!(matches!(
            decode::<TodoCompletedV1>(&received(v2)),
            Err(ContractError::WrongVersion { found: 2, .. })
        ));
    }
}
