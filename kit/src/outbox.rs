//! The stream publisher function's body, shared by every service: a batch
//! of stream records in, events on the bus, and a checkpoint out.

use aws_lambda_events::dynamodb::EventRecord;
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use events::PutEntry;

use crate::publisher::{PublishError, Publisher};
use crate::stream::StreamError;
use crate::telemetry;

/// A span for one stream record, continuing the trace of the write that
/// made it (every stream consumer starts its per-record work in one).
pub fn record_span(record: &EventRecord) -> tracing::Span {
    let span = tracing::info_span!(
        "record",
        record = %record.event_id,
        trace_id = tracing::field::Empty,
    );
    if let Some(header) = trace_of(record) {
        telemetry::continue_from(&span, &header);
    }
    span.record("trace_id", telemetry::trace_id_of(&span).as_str());
    span
}

/// The trace header the write stored in the item (new image; a REMOVE has
/// none, and publishes nothing anyway).
fn trace_of(record: &EventRecord) -> Option<String> {
    match record.change.new_image.get(telemetry::ATTRIBUTE) {
        Some(serde_dynamo::AttributeValue::S(header)) => Some(header.clone()),
        _ => None,
    }
}

/// What happened to one batch.
#[derive(Debug, Default)]
pub struct Outcome {
    pub published: usize,
    /// The first record that could not be published, and why. Lambda
    /// retries the batch from it (ReportBatchItemFailures), bisects on
    /// repeated failure, and finally sends it to the OnFailure destination.
    pub failed: Option<(String, String)>,
}

impl Outcome {
    pub fn response(&self) -> DynamoDbEventResponse {
        let mut response = DynamoDbEventResponse::default();
        if let Some((sequence, _)) = &self.failed {
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = Some(sequence.clone());
            response.batch_item_failures.push(failure);
        }
        response
    }
}

/// Maps records to events in order and publishes them. Records after the
/// first failure are left for the retry, so events keep their stream order
/// per item; a record retried after a partial publish yields the same event
/// ids, which consumers deduplicate.
pub async fn publish_records(
    records: &[EventRecord],
    map: impl Fn(&EventRecord) -> Result<Vec<PutEntry>, StreamError>,
    publisher: &Publisher,
) -> Outcome {
    let mut entries = Vec::new();
    // Index of the first entry of each record, to find a failed entry's record.
    let mut starts = Vec::with_capacity(records.len());
    let mut failed = None;
    for (i, record) in records.iter().enumerate() {
        // Each record continues the trace of the write that made it, and
        // hands it on to the bus in its entries' TraceHeader.
        let span = record_span(record);
        let _in = span.enter();
        match map(record) {
            Ok(mut mapped) => {
                let header = telemetry::header_of(&span);
                for entry in &mut mapped {
                    entry.trace_header = header.clone();
                }
                if !mapped.is_empty() {
                    tracing::info!(
                        events = ?mapped.iter().map(|e| e.event_id).collect::<Vec<_>>(),
                        "record → events"
                    );
                }
                starts.push(entries.len());
                entries.append(&mut mapped);
            }
            Err(err) => {
                tracing::error!(error = %err, "stream record does not map to events");
                failed = Some((i, err.to_string()));
                break;
            }
        }
    }
    let mut outcome = Outcome::default();
    match publisher.publish(&entries).await {
        Ok(done) => outcome.published = done.entries,
        Err(err) => {
            let first_bad_entry = match &err {
                PublishError::TooLarge { event_id, .. } => {
                    entries.iter().position(|e| e.event_id == *event_id)
                }
                PublishError::Rejected { failed, .. } => entries
                    .iter()
                    .position(|e| failed.iter().any(|f| f.event_id == e.event_id)),
            }
            .unwrap_or(0);
            let record = starts
                .iter()
                .rposition(|&s| s <= first_bad_entry)
                .unwrap_or(0);
            tracing::error!(error = %err, "publishing failed");
            if failed.as_ref().is_none_or(|(i, _)| record < *i) {
                failed = Some((record, err.to_string()));
            }
        }
    }
    outcome.failed = failed.map(|(i, reason)| {
        let sequence = records[i]
            .change
            .sequence_number
            .clone()
            .unwrap_or_default();
        (sequence, reason)
    });
    outcome
}

/// The whole stream publisher function for a service: configuration from
/// the environment (`EVENT_BUS_NAME`, optional `PUT_EVENTS_MAX_BYTES`),
/// clients built once, then the Lambda runtime loop.
pub async fn run(
    meta: telemetry::Meta,
    map: fn(&EventRecord) -> Result<Vec<PutEntry>, StreamError>,
) -> Result<(), lambda_runtime::Error> {
    use aws_lambda_events::dynamodb::Event;
    use lambda_runtime::LambdaEvent;

    let telemetry = telemetry::init(meta);
    let bus = crate::config::var("EVENT_BUS_NAME")?;
    let limits = crate::publisher::Limits {
        max_request_bytes: crate::config::number(
            "PUT_EVENTS_MAX_BYTES",
            crate::publisher::DEFAULT_MAX_REQUEST_BYTES,
        )?,
        ..crate::publisher::Limits::default()
    };
    let publisher = &crate::config::Lazy::new(move |conf| {
        Publisher::new(aws_sdk_eventbridge::Client::new(conf), bus.clone(), limits)
    });
    telemetry
        .run(move |event: LambdaEvent<Event>| async move {
            let outcome = publish_records(&event.payload.records, map, publisher.get().await).await;
            Ok::<DynamoDbEventResponse, lambda_runtime::Error>(outcome.response())
        })
        .await
}
