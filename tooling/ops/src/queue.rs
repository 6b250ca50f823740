//! The DLQ through the official SQS SDK: receive with every attribute,
//! release, delete, depth. Batches of 10, the API's limit.

use std::collections::BTreeMap;

use anyhow::Result;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry,
    MessageAttributeValue, MessageSystemAttributeName, QueueAttributeName,
    SendMessageBatchRequestEntry,
};

use crate::letter::Raw;

fn sdk<E: std::error::Error + 'static>(e: E) -> anyhow::Error {
    anyhow::anyhow!(aws_sdk_sqs::error::DisplayErrorContext(e).to_string())
}

/// A received message: its lossless record and the handle to act on it.
pub struct Received {
    pub raw: Raw,
    pub handle: String,
}

pub async fn receive(sqs: &Client, url: &str, max: i32, visibility: i32) -> Result<Vec<Received>> {
    let out = sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(max.clamp(1, 10))
        .visibility_timeout(visibility)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .message_attribute_names("All")
        .send()
        .await
        .map_err(sdk)?;
    Ok(out
        .messages
        .unwrap_or_default()
        .into_iter()
        .map(|m| {
            let sys = m.attributes.clone().unwrap_or_default();
            let get = |k: MessageSystemAttributeName| sys.get(&k).and_then(|v| v.parse().ok());
            let attributes: BTreeMap<String, (String, String)> = m
                .message_attributes
                .clone()
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| {
                    (
                        k,
                        (
                            v.data_type().to_owned(),
                            v.string_value().unwrap_or_default().to_owned(),
                        ),
                    )
                })
                .collect();
            Received {
                handle: m.receipt_handle.clone().unwrap_or_default(),
                raw: Raw {
                    message_id: m.message_id.clone().unwrap_or_default(),
                    body: m.body.clone().unwrap_or_default(),
                    attributes,
                    sent_at_ms: get(MessageSystemAttributeName::SentTimestamp),
                    receive_count: get(MessageSystemAttributeName::ApproximateReceiveCount)
                        .map(|n: i64| n as u32),
                    trace_header: sys
                        .get(&MessageSystemAttributeName::AwsTraceHeader)
                        .cloned(),
                },
            }
        })
        .collect())
}

/// Makes messages visible again at once.
pub async fn release(sqs: &Client, url: &str, handles: &[String]) -> Result<()> {
    for chunk in handles.chunks(10) {
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(i, h)| {
                ChangeMessageVisibilityBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(h)
                    .visibility_timeout(0)
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()?;
        sqs.change_message_visibility_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(sdk)?;
    }
    Ok(())
}

/// Deletes messages; returns how many the queue confirmed.
pub async fn delete(sqs: &Client, url: &str, handles: &[String]) -> Result<usize> {
    let mut deleted = 0;
    for chunk in handles.chunks(10) {
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(i, h)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(h)
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()?;
        let out = sqs
            .delete_message_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(sdk)?;
        deleted += out.successful().len();
    }
    Ok(deleted)
}

/// Puts exported messages back, body and attributes as they were.
pub async fn send(sqs: &Client, url: &str, raws: &[Raw]) -> Result<usize> {
    let mut sent = 0;
    for chunk in raws.chunks(10) {
        let mut entries = Vec::new();
        for (i, r) in chunk.iter().enumerate() {
            let mut e = SendMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .message_body(&r.body);
            if let Some(trace) = &r.trace_header {
                e = e.message_system_attributes(
                    aws_sdk_sqs::types::MessageSystemAttributeNameForSends::AwsTraceHeader,
                    aws_sdk_sqs::types::MessageSystemAttributeValue::builder()
                        .data_type("String")
                        .string_value(trace)
                        .build()?,
                );
            }
            for (k, (t, v)) in &r.attributes {
                e = e.message_attributes(
                    k,
                    MessageAttributeValue::builder()
                        .data_type(t)
                        .string_value(v)
                        .build()?,
                );
            }
            entries.push(e.build()?);
        }
        let out = sqs
            .send_message_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(sdk)?;
        sent += out.successful().len();
    }
    Ok(sent)
}

/// (visible, in flight).
pub async fn depth(sqs: &Client, url: &str) -> Result<(i64, i64)> {
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .map_err(sdk)?;
    let attrs = out.attributes.unwrap_or_default();
    let get = |k: QueueAttributeName| {
        attrs
            .get(&k)
            .and_then(|v| v.parse().ok())
            .unwrap_or_default()
    };
    Ok((
        get(QueueAttributeName::ApproximateNumberOfMessages),
        get(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
    ))
}

/// Reads up to `max` messages without consuming them: each stays invisible
/// only while reading, then is released.
pub async fn peek(sqs: &Client, url: &str, max: usize) -> Result<Vec<Raw>> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    let mut handles = Vec::new();
    let mut idle = 0;
    while out.len() < max && idle < 2 {
        let got = receive(sqs, url, (max - out.len()).min(10) as i32, 30).await?;
        if got.is_empty() {
            idle += 1;
            continue;
        }
        for r in got {
            handles.push(r.handle);
            if seen.insert(r.raw.message_id.clone()) {
                out.push(r.raw);
            }
        }
    }
    release(sqs, url, &handles).await?;
    Ok(out)
}
