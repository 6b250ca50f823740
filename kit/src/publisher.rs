//! Puts events on the bus within PutEvents' limits, re-sending only the
//! entries the answer reports as failed.

use std::time::Duration;

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::primitives::DateTime;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use events::PutEntry;
use uuid::Uuid;

/// At most this many entries per PutEvents call (an AWS hard limit).
pub const MAX_ENTRIES: usize = 10;

/// The request size limit as EventBridge counts it. AWS documented 256 KB for
/// years; newer pages mention 1 MB. Override with `PUT_EVENTS_MAX_BYTES`.
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_entries: usize,
    pub max_request_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_entries: MAX_ENTRIES,
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("event {event_id} is {size} bytes, over the {limit}-byte PutEvents limit")]
    TooLarge {
        event_id: Uuid,
        size: usize,
        limit: usize,
    },
    #[error("{} of {total} event(s) not accepted after {attempts} attempt(s): {}", failed.len(), failed.iter().map(|f| format!("{} ({}: {})", f.event_id, f.code, f.message)).collect::<Vec<_>>().join(", "))]
    Rejected {
        total: usize,
        attempts: u32,
        failed: Vec<FailedEntry>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedEntry {
    pub event_id: Uuid,
    pub code: String,
    pub message: String,
}

/// What a successful publish took.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Published {
    pub entries: usize,
    pub calls: usize,
    pub resent: usize,
}

/// Groups entry indices into requests: at most `max_entries` each and at
/// most `max_request_bytes` as EventBridge counts them, keeping order.
pub fn batches(entries: &[PutEntry], limits: Limits) -> Result<Vec<Vec<usize>>, PublishError> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut current = Vec::new();
    let mut bytes = 0;
    for (i, entry) in entries.iter().enumerate() {
        let size = entry.eventbridge_size();
        if size > limits.max_request_bytes {
            return Err(PublishError::TooLarge {
                event_id: entry.event_id,
                size,
                limit: limits.max_request_bytes,
            });
        }
        if current.len() == limits.max_entries || bytes + size > limits.max_request_bytes {
            out.push(std::mem::take(&mut current));
            bytes = 0;
        }
        current.push(i);
        bytes += size;
    }
    if !current.is_empty() {
        out.push(current);
    }
    Ok(out)
}

pub struct Publisher {
    client: Client,
    bus_name: String,
    limits: Limits,
    max_attempts: u32,
}

impl Publisher {
    pub fn new(client: Client, bus_name: impl Into<String>, limits: Limits) -> Self {
        Self {
            client,
            bus_name: bus_name.into(),
            limits,
            max_attempts: 4,
        }
    }

    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Publishes every entry or says which were not accepted. Entries that
    /// succeeded are never sent twice by this call.
    pub async fn publish(&self, entries: &[PutEntry]) -> Result<Published, PublishError> {
        let mut stats = Published {
            entries: entries.len(),
            ..Published::default()
        };
        let mut pending: Vec<usize> = (0..entries.len()).collect();
        let mut failures: Vec<FailedEntry> = Vec::new();
        for attempt in 1..=self.max_attempts {
            if pending.is_empty() {
                break;
            }
            if attempt > 1 {
                stats.resent += pending.len();
                tokio::time::sleep(Duration::from_millis(25 << attempt.min(6))).await;
            }
            let subset: Vec<PutEntry> = pending.iter().map(|&i| entries[i].clone()).collect();
            let mut next = Vec::new();
            failures.clear();
            for batch in batches(&subset, self.limits)? {
                stats.calls += 1;
                let request: Vec<PutEventsRequestEntry> =
                    batch.iter().map(|&i| self.sdk_entry(&subset[i])).collect();
                match self
                    .client
                    .put_events()
                    .set_entries(Some(request))
                    .send()
                    .await
                {
                    Ok(answer) => {
                        // Result entries line up with request entries by position.
                        for (&i, result) in batch.iter().zip(answer.entries()) {
                            if let Some(code) = result.error_code() {
                                next.push(pending[i]);
                                failures.push(FailedEntry {
                                    event_id: subset[i].event_id,
                                    code: code.to_owned(),
                                    message: result.error_message().unwrap_or_default().to_owned(),
                                });
                            }
                        }
                    }
                    Err(err) => {
                        let message =
                            aws_sdk_eventbridge::error::DisplayErrorContext(&err).to_string();
                        tracing::warn!(error = %message, attempt, "PutEvents call failed");
                        for &i in &batch {
                            next.push(pending[i]);
                            failures.push(FailedEntry {
                                event_id: subset[i].event_id,
                                code: "CallFailed".into(),
                                message: message.clone(),
                            });
                        }
                    }
                }
            }
            pending = next;
        }
        crate::telemetry::published(
            entries.len() - pending.len(),
            pending.len(),
            stats.resent,
            entries.len(),
        );
        if pending.is_empty() {
            Ok(stats)
        } else {
            Err(PublishError::Rejected {
                total: entries.len(),
                attempts: self.max_attempts,
                failed: failures,
            })
        }
    }

    fn sdk_entry(&self, entry: &PutEntry) -> PutEventsRequestEntry {
        PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus_name)
            .source(entry.key.source)
            .detail_type(entry.key.detail_type)
            .detail(&entry.detail)
            .time(DateTime::from_millis(entry.time.timestamp_millis()))
            .set_trace_header(entry.trace_header.clone())
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use events::{Envelope, Event, todos::TodoCompletedV1};

    fn entry(title_len: usize) -> PutEntry {
        let envelope = Envelope::new(
            Uuid::new_v4(),
            chrono::Utc::now(),
            "c",
            None,
            "todos",
            TodoCompletedV1 {
                todo_id: Uuid::nil(),
                user_id: "u".into(),
                title: "x".repeat(title_len),
                completed_at: chrono::Utc::now(),
            },
        );
        PutEntry::from_envelope(&envelope).unwrap()
    }

    #[test]
    fn splits_at_ten_entries() {
        let entries: Vec<_> = (0..23).map(|_| entry(10)).collect();
        let sizes: Vec<_> = batches(&entries, Limits::default())
            .unwrap()
            .iter()
            .map(Vec::len)
            .collect();
        assert_eq!(sizes, [10, 10, 3]);
    }

    #[test]
    fn splits_before_the_request_would_pass_the_byte_limit() {
        let entries: Vec<_> = (0..5).map(|_| entry(100 * 1024)).collect();
        let groups = batches(&entries, Limits::default()).unwrap();
        assert_eq!(groups, [vec![0, 1], vec![2, 3], vec![4]]);
        for group in &groups {
            let bytes: usize = group.iter().map(|&i| entries[i].eventbridge_size()).sum();
            assert!(bytes <= DEFAULT_MAX_REQUEST_BYTES);
        }
    }

    #[test]
    fn an_entry_over_the_limit_alone_is_an_error_naming_it() {
        let big = entry(300 * 1024);
        let err = batches(std::slice::from_ref(&big), Limits::default()).unwrap_err();
        assert!(err.to_string().contains(&big.event_id.to_string()));
        assert_eq!(big.key, TodoCompletedV1::KEY);
    }

    #[test]
    fn the_limit_is_configurable() {
        let entries: Vec<_> = (0..3).map(|_| entry(300 * 1024)).collect();
        let limits = Limits {
            max_request_bytes: 1024 * 1024,
            ..Limits::default()
        };
        assert_eq!(batches(&entries, limits).unwrap(), [vec![0, 1, 2]]);
    }
}
