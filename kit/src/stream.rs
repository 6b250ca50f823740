//! DynamoDB Stream records as typed item changes: the read side of the
//! outbox. A service's publisher turns [`Change`]s into events.

use aws_lambda_events::dynamodb::EventRecord;
use events::{Envelope, Event, PutEntry};
use serde::de::DeserializeOwned;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("stream record {record}: unknown eventName `{name}`")]
    UnknownEventName { record: String, name: String },
    #[error("stream record {record}: {image} image is missing (is the stream NEW_AND_OLD_IMAGES?)")]
    MissingImage { record: String, image: &'static str },
    #[error("stream record {record}: {image} image does not decode: {message}")]
    BadImage {
        record: String,
        image: &'static str,
        message: String,
    },
    #[error(transparent)]
    Contract(#[from] events::ContractError),
}

/// One item change, with both images decoded as the table's item type.
#[derive(Debug, Clone, PartialEq)]
pub enum Change<T> {
    Insert { new: T },
    Modify { old: T, new: T },
    Remove { old: T },
}

/// Decodes a record's images as `T`, the table's item type (usually an
/// enum tagged by an item-kind attribute).
pub fn change<T: DeserializeOwned>(record: &EventRecord) -> Result<Change<T>, StreamError> {
    let image = |item: &serde_dynamo::Item, which: &'static str| -> Result<T, StreamError> {
        if item.is_empty() {
            return Err(StreamError::MissingImage {
                record: record.event_id.clone(),
                image: which,
            });
        }
        serde_dynamo::from_item(item.clone()).map_err(|err| StreamError::BadImage {
            record: record.event_id.clone(),
            image: which,
            message: err.to_string(),
        })
    };
    let c = &record.change;
    match record.event_name.as_str() {
        "INSERT" => Ok(Change::Insert {
            new: image(&c.new_image, "new")?,
        }),
        "MODIFY" => Ok(Change::Modify {
            old: image(&c.old_image, "old")?,
            new: image(&c.new_image, "new")?,
        }),
        "REMOVE" => Ok(Change::Remove {
            old: image(&c.old_image, "old")?,
        }),
        other => Err(StreamError::UnknownEventName {
            record: record.event_id.clone(),
            name: other.to_owned(),
        }),
    }
}

/// Namespace of event ids derived from stream records.
const EVENT_ID_NAMESPACE: Uuid = Uuid::from_u128(0x6c1f_3b5e_0d4a_4f0e_9a57_2f3e_8b1c_7d20);

/// The id of the event of type `E` that a stream record produces.
///
/// Derived, not random: when the publisher retries a batch (or the mapping
/// replays a shard), the same record yields the same event id, so
/// consumers' deduplication absorbs the repeat.
pub fn event_id<E: Event>(record: &EventRecord) -> Uuid {
    let name = format!(
        "{}|{}|{}",
        record.event_source_arn.as_deref().unwrap_or_default(),
        record.event_id,
        E::KEY
    );
    Uuid::new_v5(&EVENT_ID_NAMESPACE, name.as_bytes())
}

/// Facts every envelope built from a record shares.
pub struct Origin<'a> {
    pub record: &'a EventRecord,
    pub producer: &'static str,
}

impl Origin<'_> {
    /// An entry for event `data`, with the id derived from the record.
    pub fn entry<E: Event>(
        &self,
        occurred_at: chrono::DateTime<chrono::Utc>,
        correlation_id: &str,
        causation_id: Option<String>,
        data: E,
    ) -> Result<PutEntry, StreamError> {
        let envelope = Envelope::new(
            event_id::<E>(self.record),
            occurred_at,
            correlation_id,
            causation_id,
            self.producer,
            data,
        );
        Ok(PutEntry::from_envelope(&envelope)?)
    }
}

/// Builds a stream record the way DynamoDB Streams delivers one, for tests
/// and for the local cloud's poller.
pub fn record(
    event_id: &str,
    event_name: &str,
    old: Option<serde_dynamo::Item>,
    new: Option<serde_dynamo::Item>,
) -> EventRecord {
    let mut record = EventRecord::default();
    record.event_id = event_id.to_owned();
    record.event_name = event_name.to_owned();
    record.event_source = Some("aws:dynamodb".into());
    record.event_source_arn = Some(
        "arn:aws:dynamodb:us-east-1:123456789012:table/test/stream/2026-11-22T00:00:00.000".into(),
    );
    record.change.old_image = old.unwrap_or_default();
    record.change.new_image = new.unwrap_or_default();
    record
}

/// A record read with the DynamoDB Streams API, in the exact shape Lambda
/// delivers it to a function (`aws_lambda_events::dynamodb::EventRecord`).
pub fn from_streams_api(
    record: &aws_sdk_dynamodbstreams::types::Record,
    stream_arn: &str,
    region: &str,
) -> EventRecord {
    let mut out = EventRecord::default();
    out.event_id = record.event_id().unwrap_or_default().to_owned();
    out.event_name = record
        .event_name()
        .map(|n| n.as_str().to_owned())
        .unwrap_or_default();
    out.event_version = record.event_version().map(str::to_owned);
    out.event_source = Some("aws:dynamodb".into());
    out.aws_region = region.to_owned();
    out.event_source_arn = Some(stream_arn.to_owned());
    if let Some(change) = record.dynamodb() {
        let image = |m: Option<
            &std::collections::HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>,
        >| {
            m.map(|m| serde_dynamo::Item::from(m.clone()))
                .unwrap_or_default()
        };
        out.change.keys = image(change.keys());
        out.change.new_image = image(change.new_image());
        out.change.old_image = image(change.old_image());
        out.change.sequence_number = change.sequence_number().map(str::to_owned);
        // Lambda copies the table's view type onto every record.
        out.change.stream_view_type = change
            .stream_view_type()
            .and_then(|t| serde_json::from_value(serde_json::Value::from(t.as_str())).ok());
        out.change.size_bytes = change.size_bytes().unwrap_or_default();
        if let Some(t) = change.approximate_creation_date_time() {
            out.change.approximate_creation_date_time =
                chrono::DateTime::from_timestamp(t.secs(), t.subsec_nanos()).unwrap_or_default();
        }
    }
    out
}
