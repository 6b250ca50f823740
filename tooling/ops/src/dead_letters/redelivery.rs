//! One letter re-delivered: its function invoked again (asynchronously,
//! or with its stream records), or its event put back on the bus.

use anyhow::Result;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_lambda::types::InvocationType;
use serde_json::{Value, json};

pub(crate) enum Verdict {
    Delivered,
    Failed(String),
    Skipped(String),
}

pub(super) enum Delivery {
    Async {
        function: String,
        event: Value,
        trace: Option<String>,
    },
    Stream {
        function: String,
        stream: String,
        shard: String,
        start: String,
        end: String,
    },
}

impl Delivery {
    pub(super) async fn run(
        self,
        lambda: &aws_sdk_lambda::Client,
        conf: &aws_config::SdkConfig,
    ) -> Verdict {
        match self {
            Delivery::Async {
                function,
                event,
                trace,
            } => invoke_async(lambda, &function, &event, trace).await,
            Delivery::Stream {
                function,
                stream,
                shard,
                start,
                end,
            } => match read_range(conf, &stream, &shard, &start, &end).await {
                Ok(records) if !records.is_empty() => {
                    invoke_with_records(lambda, &function, records).await
                }
                Ok(_) => Verdict::Failed(
                    "the records are no longer in the stream (24 h retention)".into(),
                ),
                Err(e) => Verdict::Failed(e.to_string()),
            },
        }
    }
}

pub(crate) async fn invoke_async(
    lambda: &aws_sdk_lambda::Client,
    function: &str,
    event: &Value,
    trace: Option<String>,
) -> Verdict {
    match lambda
        .invoke()
        .function_name(function)
        .invocation_type(InvocationType::Event)
        .payload(aws_sdk_lambda::primitives::Blob::new(event.to_string()))
        .customize()
        // Lambda continues a trace the caller names: the replay
        // joins the trace the failure happened in.
        .mutate_request(move |request| {
            if let Some(trace) = &trace {
                request
                    .headers_mut()
                    .insert("X-Amzn-Trace-Id", trace.clone());
            }
        })
        .send()
        .await
    {
        Ok(out) if out.status_code() == 202 => Verdict::Delivered,
        Ok(out) => Verdict::Failed(format!("Invoke answered {}", out.status_code())),
        Err(e) => Verdict::Failed(aws_sdk_lambda::error::DisplayErrorContext(e).to_string()),
    }
}

/// Invokes the stream's function synchronously with the records, as its
/// event source mapping would; a partial batch failure counts as failed.
pub(super) async fn invoke_with_records(
    lambda: &aws_sdk_lambda::Client,
    function: &str,
    records: Vec<Value>,
) -> Verdict {
    let payload = json!({"Records": records});
    match lambda
        .invoke()
        .function_name(function.rsplit(':').next().unwrap_or(function))
        .payload(aws_sdk_lambda::primitives::Blob::new(payload.to_string()))
        .send()
        .await
    {
        Ok(out) if out.function_error().is_some() => Verdict::Failed(
            String::from_utf8_lossy(out.payload().map(|p| p.as_ref()).unwrap_or_default())
                .into_owned(),
        ),
        Ok(out) => {
            let answer: Value = out
                .payload()
                .and_then(|p| serde_json::from_slice(p.as_ref()).ok())
                .unwrap_or_default();
            if answer["batchItemFailures"]
                .as_array()
                .is_some_and(|f| !f.is_empty())
            {
                Verdict::Failed(format!(
                    "batch item failures: {}",
                    answer["batchItemFailures"]
                ))
            } else {
                Verdict::Delivered
            }
        }
        Err(e) => Verdict::Failed(aws_sdk_lambda::error::DisplayErrorContext(e).to_string()),
    }
}

/// The stream records from `start` to `end`, in Lambda's event shape.
pub(super) async fn read_range(
    conf: &aws_config::SdkConfig,
    stream: &str,
    shard: &str,
    start: &str,
    end: &str,
) -> Result<Vec<Value>> {
    let streams = aws_sdk_dynamodbstreams::Client::new(conf);
    let mut iterator = streams
        .get_shard_iterator()
        .stream_arn(stream)
        .shard_id(shard)
        .shard_iterator_type(aws_sdk_dynamodbstreams::types::ShardIteratorType::AtSequenceNumber)
        .sequence_number(start)
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(aws_sdk_dynamodbstreams::error::DisplayErrorContext(e).to_string())
        })?
        .shard_iterator;
    let end_n: u128 = end.parse().unwrap_or(u128::MAX);
    let mut out = Vec::new();
    while let Some(it) = iterator {
        let page = streams
            .get_records()
            .shard_iterator(it)
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(aws_sdk_dynamodbstreams::error::DisplayErrorContext(e).to_string())
            })?;
        if page.records().is_empty() {
            break;
        }
        for r in page.records() {
            let seq: u128 = r
                .dynamodb()
                .and_then(|d| d.sequence_number())
                .and_then(|s| s.parse().ok())
                .unwrap_or(u128::MAX);
            if seq > end_n {
                return Ok(out);
            }
            out.push(serde_json::to_value(kit::stream::from_streams_api(
                r,
                stream,
                conf.region().map_or("us-east-1", |r| r.as_ref()),
            ))?);
        }
        iterator = page.next_shard_iterator;
    }
    Ok(out)
}

/// PutEvents in batches of 10 within the request size limit; entries the
/// answer reports as failed stay in the DLQ.
pub(super) async fn put_on_bus(
    eb: &aws_sdk_eventbridge::Client,
    bus: &str,
    events: &[(usize, Value)],
) -> Vec<(usize, Verdict)> {
    let size = |e: &Value| {
        14 + e["source"].as_str().unwrap_or_default().len()
            + e["detail-type"].as_str().unwrap_or_default().len()
            + e["detail"].to_string().len()
    };
    let mut out = Vec::new();
    let mut batch: Vec<&(usize, Value)> = Vec::new();
    let mut bytes = 0;
    for item in events {
        let s = size(&item.1);
        if batch.len() == kit::publisher::MAX_ENTRIES
            || bytes + s > kit::publisher::DEFAULT_MAX_REQUEST_BYTES
        {
            out.extend(put_batch(eb, bus, &std::mem::take(&mut batch)).await);
            bytes = 0;
        }
        batch.push(item);
        bytes += s;
    }
    if !batch.is_empty() {
        out.extend(put_batch(eb, bus, &batch).await);
    }
    out
}

pub(super) async fn put_batch(
    eb: &aws_sdk_eventbridge::Client,
    bus: &str,
    batch: &[&(usize, Value)],
) -> Vec<(usize, Verdict)> {
    let entries: Vec<PutEventsRequestEntry> = batch
        .iter()
        .map(|(_, e)| crate::rule_targets::entry(bus, e).build())
        .collect();
    match eb.put_events().set_entries(Some(entries)).send().await {
        Ok(answer) => batch
            .iter()
            .zip(answer.entries())
            .map(|((i, _), r)| match r.error_code() {
                Some(code) => (
                    *i,
                    Verdict::Failed(format!("{code}: {}", r.error_message().unwrap_or_default())),
                ),
                None => (*i, Verdict::Delivered),
            })
            .collect(),
        Err(e) => {
            let why = aws_sdk_eventbridge::error::DisplayErrorContext(e).to_string();
            batch
                .iter()
                .map(|(i, _)| (*i, Verdict::Failed(why.clone())))
                .collect()
        }
    }
}
