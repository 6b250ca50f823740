//! DynamoDB stream mappings, played locally: each shard polled as Lambda
//! polls it, its batches handed over synchronously with AWS's retry,
//! bisect and OnFailure.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::runtime::{Arrival, Function};
use crate::table_writes::Writes;

use super::drop_nulls;

/// A batch of stream records as Lambda hands it over: without the fields
/// AWS leaves out (`userIdentity` is only on a TTL deletion), and without
/// the image a change does not have (no `OldImage` on INSERT, no
/// `NewImage` on REMOVE).
fn stream_event(batch: &[Record]) -> Value {
    let mut event = json!({ "Records": batch });
    drop_nulls(&mut event, &["recordFormat", "tableName", "userIdentity"]);
    for record in event["Records"].as_array_mut().into_iter().flatten() {
        if let Some(change) = record["dynamodb"].as_object_mut() {
            change.retain(|k, v| {
                !(matches!(k.as_str(), "OldImage" | "NewImage")
                    && v.as_object().is_some_and(serde_json::Map::is_empty))
            });
        }
    }
    event
}

/// A stream batch starts a trace of its own (streams carry no context);
/// it links the traces of the writes its records carry, which the
/// function continues record by record.
fn stream_arrival(batch: &[Record], label: &str) -> Arrival {
    let mut arrival = Arrival::new("stream", label);
    for r in batch {
        let image = &r.change.new_image;
        if let Some(serde_dynamo::AttributeValue::S(h)) = image.get(kit::telemetry::ATTRIBUTE)
            && let Some(root) = kit::telemetry::root_of(h)
            && !arrival.links.iter().any(|l| l == root)
        {
            arrival.links.push(root.to_owned());
        }
        if let Some(serde_dynamo::AttributeValue::S(c)) = image.get("correlation_id")
            && !arrival.correlation_ids.contains(c)
        {
            arrival.correlation_ids.push(c.clone());
        }
    }
    arrival
}

/// Until a write to the table is reported, or the idle timer ends (which
/// then backs off; a write starts it again).
async fn wait(written: &Notify, idle: &mut Duration) {
    tokio::select! {
        _ = tokio::time::sleep(*idle) => *idle = (*idle * 2).min(IDLE_MAX),
        _ = written.notified() => *idle = IDLE_FIRST,
    }
}

/// A DynamoDB stream mapping, played locally.
/// The dimension the local cloud records a stream reader's `IteratorAge`
/// under, as Lambda does: the function's name (here the local cloud's).
pub const ITERATOR_AGE_DIMENSION: &str = "FunctionName";

pub struct StreamPoller {
    pub function: Function,
    pub table: String,
    pub batch_size: u32,
    pub bisect_on_error: bool,
    pub max_retries: i64,
    pub on_failure_topic: Option<String>,
    pub starting_position: ShardIteratorType,
    pub report_batch_item_failures: bool,
    pub streams: aws_sdk_dynamodbstreams::Client,
    pub ddb: aws_sdk_dynamodb::Client,
    pub sns: aws_sdk_sns::Client,
    pub retry_delay: Duration,
    /// The wake signal of the table's writes, when something reports them.
    pub writes: Option<Arc<Writes>>,
    /// Asked before an OnFailure record is published: Lambda publishes it
    /// as the function's role.
    pub judge: Option<Arc<dyn crate::on_behalf::Judge>>,
}

type Record = aws_lambda_events::dynamodb::EventRecord;

/// An idle shard's timer, from the first wait up to the longest. Writes
/// through the proxy wake the poller at once, so the timer serves only
/// writers that bypass it (tests, tools) and a rollback's stale iterator
/// (above): short ticks would be calls the foreground waits behind. Every
/// idle tick is two calls per stream (GetRecords, then a fresh iterator),
/// and a test run keeps several clouds idle at once: an idle cloud cost
/// 6.6% of a core with ticks of up to 1 s, 2.9% with 4 s (debug, one
/// sitting), for a bypassing write seen up to 3 s later.
const IDLE_FIRST: Duration = Duration::from_millis(250);
const IDLE_MAX: Duration = Duration::from_secs(4);

/// Where a poller is in its shard.
struct Shard {
    stream_arn: String,
    id: String,
    /// The last sequence number processed: a fresh iterator starts after it.
    last: Option<String>,
    iterator: Option<String>,
    idle: Duration,
}

impl StreamPoller {
    pub async fn run(self) {
        let Some(stream_arn) = self.stream_arn().await else {
            return;
        };
        let shard = self.first_shard(&stream_arn).await;
        // moto answers a cancelled TransactWriteItems by putting back a copy
        // of the table taken before it, stream included, and an open
        // iterator keeps reading the old copy: nothing new would ever show
        // (found by `devstack load --chaos`). So after an empty page the
        // poller asks for a fresh iterator after the last record it saw,
        // which reads the table's current stream; on AWS that is an
        // ordinary, cheap call. `LATEST` is made a position first (the
        // last record there is at the start), so a fresh iterator can
        // never skip a record written since.
        let last = match self.starting_position {
            ShardIteratorType::Latest => self.last_sequence(&stream_arn, &shard).await,
            _ => None,
        };
        let iterator = self.iterator(&stream_arn, &shard, last.as_deref()).await;
        // Writes through the local proxy wake the poller at once; the timer
        // is for writers that bypass it (tests, tools, the ops CLI). An
        // idle shard's timer backs off (as Lambda's pollers do), which
        // also keeps the emulator, ~100-200 calls/s in all, free for
        // foreground calls.
        let written = self
            .writes
            .as_ref()
            .map(|w| w.watch(&self.table))
            .unwrap_or_default();
        let mut shard = Shard {
            stream_arn,
            id: shard,
            last,
            iterator,
            idle: IDLE_FIRST,
        };
        while let Some(it) = shard.iterator.clone() {
            self.poll_once(&mut shard, it, &written).await;
        }
    }

    /// The table's stream, once the table answers; `None` if it has none.
    async fn stream_arn(&self) -> Option<String> {
        loop {
            match self
                .ddb
                .describe_table()
                .table_name(&self.table)
                .send()
                .await
            {
                Ok(t) => match t.table.and_then(|t| t.latest_stream_arn) {
                    Some(arn) => return Some(arn),
                    None => {
                        tracing::error!(table = %self.table, "the table has no stream");
                        return None;
                    }
                },
                Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        }
    }

    async fn first_shard(&self, stream_arn: &str) -> String {
        loop {
            if let Ok(d) = self
                .streams
                .describe_stream()
                .stream_arn(stream_arn)
                .send()
                .await
                && let Some(id) = d
                    .stream_description
                    .and_then(|d| d.shards)
                    .and_then(|s| s.into_iter().next())
                    .and_then(|s| s.shard_id)
            {
                return id;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// One GetRecords page from `it`: processed, or waited on when empty.
    async fn poll_once(&self, shard: &mut Shard, it: String, written: &Notify) {
        let page = match self
            .streams
            .get_records()
            .shard_iterator(&it)
            .limit(self.batch_size as i32)
            .send()
            .await
        {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(table = %self.table, error = %aws_sdk_dynamodbstreams::error::DisplayErrorContext(e), "GetRecords failed");
                tokio::time::sleep(Duration::from_millis(200)).await;
                shard.iterator = self
                    .iterator(&shard.stream_arn, &shard.id, shard.last.as_deref())
                    .await
                    .or(Some(it));
                return;
            }
        };
        let records: Vec<Record> = page
            .records()
            .iter()
            .map(|r| kit::stream::from_streams_api(r, &shard.stream_arn, kit::config::LOCAL_REGION))
            .collect();
        if records.is_empty() {
            // Fresh before waiting, so a wake costs one call. Should a
            // rollback (above) have left this iterator on an old copy,
            // the fresh one reads the write that woke us at the next
            // tick, IDLE_FIRST after the wake.
            shard.iterator = self
                .iterator(&shard.stream_arn, &shard.id, shard.last.as_deref())
                .await
                .or(page.next_shard_iterator)
                .or(Some(it));
            wait(written, &mut shard.idle).await;
            return;
        }
        shard.idle = IDLE_FIRST;
        if let Some(seq) = records
            .last()
            .and_then(|r| r.change.sequence_number.clone())
        {
            shard.last = Some(seq);
        }
        let drained = records.len() < self.batch_size as usize;
        self.process(&records, &shard.id, &shard.stream_arn).await;
        shard.iterator = page.next_shard_iterator.or(Some(it));
        // A short page drained the shard: wait for the next write rather
        // than read an empty page first. Each call costs the emulator's
        // time, which the foreground shares.
        if drained {
            wait(written, &mut shard.idle).await;
        }
    }

    /// An iterator just after `after`, or at the shard's start.
    async fn iterator(&self, stream_arn: &str, shard: &str, after: Option<&str>) -> Option<String> {
        let request = self
            .streams
            .get_shard_iterator()
            .stream_arn(stream_arn)
            .shard_id(shard);
        let request = match after {
            Some(seq) => request
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .sequence_number(seq),
            None => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
        };
        match request.send().await {
            Ok(o) => o.shard_iterator,
            Err(e) => {
                tracing::warn!(table = %self.table, error = %aws_sdk_dynamodbstreams::error::DisplayErrorContext(e), "GetShardIterator failed");
                None
            }
        }
    }

    /// The sequence number of the shard's last record now, if any.
    async fn last_sequence(&self, stream_arn: &str, shard: &str) -> Option<String> {
        let mut last = None;
        let mut iterator = self.iterator(stream_arn, shard, None).await;
        while let Some(it) = iterator {
            let Ok(page) = self.streams.get_records().shard_iterator(&it).send().await else {
                break;
            };
            let Some(seq) = page
                .records()
                .last()
                .and_then(|r| r.dynamodb())
                .and_then(|d| d.sequence_number())
            else {
                break;
            };
            last = Some(seq.to_owned());
            iterator = page.next_shard_iterator;
        }
        last
    }

    /// One batch, until it succeeds or its failing records went to the
    /// OnFailure destination. Splitting a batch does not count as a retry.
    async fn process(&self, records: &[Record], shard: &str, stream_arn: &str) {
        let mut pending: Vec<(Vec<Record>, i64)> = vec![(records.to_vec(), 0)];
        while let Some((batch, retries)) = pending.pop() {
            self.record_iterator_age(&batch);
            let label = format!("{} record(s) of {}", batch.len(), self.table);
            let started = std::time::Instant::now();
            let result = self
                .function
                .invoke_traced(
                    uuid::Uuid::new_v4().to_string(),
                    stream_event(&batch),
                    stream_arrival(&batch, &label),
                )
                .await;
            let ms = started.elapsed().as_millis();
            let failed_from = match &result {
                Ok(response) if self.report_batch_item_failures => response["batchItemFailures"]
                    .as_array()
                    .and_then(|f| f.first())
                    .and_then(|f| f["itemIdentifier"].as_str())
                    .map(|seq| {
                        batch
                            .iter()
                            .position(|r| r.change.sequence_number.as_deref() == Some(seq))
                            .unwrap_or(0)
                    }),
                Ok(_) => None,
                Err(_) => Some(0),
            };
            let Some(from) = failed_from else {
                tracing::info!(target: "trail", function = %self.function.spec.name, event = %label, ms, "ok");
                continue;
            };
            let failing: Vec<Record> = batch[from..].to_vec();
            let error = match &result {
                Err(e) => e.to_string(),
                Ok(_) => "batch item failure reported".to_owned(),
            };
            tracing::warn!(target: "trail", function = %self.function.spec.name, event = %label, ms, error = %error, "failed");
            if self.bisect_on_error && failing.len() > 1 {
                let (left, right) = failing.split_at(failing.len() / 2);
                // Left half first: the stack pops the last pushed.
                pending.push((right.to_vec(), retries));
                pending.push((left.to_vec(), retries));
                continue;
            }
            if self.max_retries >= 0 && retries >= self.max_retries {
                self.on_failure(&failing, shard, stream_arn, retries + 1, &error)
                    .await;
                continue;
            }
            tokio::time::sleep(self.retry_delay).await;
            pending.push((failing, retries + 1));
        }
    }

    /// Lambda's `IteratorAge` for the batch it is about to hand over: the
    /// age of its last record, from the stream's approximate creation time.
    fn record_iterator_age(&self, batch: &[Record]) {
        let (Some(recorder), Some(last)) = (self.function.spec.recorder.as_ref(), batch.last())
        else {
            return;
        };
        let created = last.change.approximate_creation_date_time;
        let age = (chrono::Utc::now() - created).num_milliseconds().max(0);
        let dims = [(
            ITERATOR_AGE_DIMENSION.to_owned(),
            self.function.spec.name.clone(),
        )];
        recorder
            .emf()
            .record("AWS/Lambda", "IteratorAge", &dims, age as f64);
    }

    async fn on_failure(
        &self,
        records: &[Record],
        shard: &str,
        stream_arn: &str,
        invokes: i64,
        error: &str,
    ) {
        let first = &records[0];
        let last = &records[records.len() - 1];
        let time = |r: &Record| {
            r.change
                .approximate_creation_date_time
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        };
        // AWS's OnFailure record for stream sources: batch metadata only;
        // the records stay in the stream for 24 hours.
        let record = json!({
            "requestContext": {
                "requestId": uuid::Uuid::new_v4().to_string(),
                "functionArn": self.function.spec.arn,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": invokes
            },
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "version": "1.0",
            "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "DDBStreamBatchInfo": {
                "shardId": shard,
                "startSequenceNumber": first.change.sequence_number,
                "endSequenceNumber": last.change.sequence_number,
                "approximateArrivalOfFirstRecord": time(first),
                "approximateArrivalOfLastRecord": time(last),
                "batchSize": records.len(),
                "streamArn": stream_arn
            }
        });
        let Some(topic) = &self.on_failure_topic else {
            tracing::error!(target: "trail", function = %self.function.spec.name, error, "batch dropped: no OnFailure destination");
            return;
        };
        if let Some(judge) = &self.judge
            && !judge.may_publish(&self.function.spec.name, topic).await
        {
            tracing::error!(target: "trail", function = %self.function.spec.name, records = records.len(), error,
                "the role may not publish to its OnFailure destination: the batch's record is lost, as on AWS");
            return;
        }
        match self
            .sns
            .publish()
            .topic_arn(topic)
            .message(record.to_string())
            .send()
            .await
        {
            Ok(_) => {
                tracing::warn!(target: "trail", function = %self.function.spec.name, records = records.len(), error, "→ DLQ (OnFailure)");
                if let Some(recorder) = &self.function.spec.recorder {
                    recorder.dead_lettered(&devstack_api::telemetry::DeadLettered {
                        function: self.function.spec.name.clone(),
                        at_ms: devstack_api::telemetry::now_ms(),
                        trace_id: None,
                        destination: "on-failure".into(),
                        error: error.to_string(),
                    });
                }
            }
            Err(e) => {
                tracing::error!(target: "trail", function = %self.function.spec.name, error = %aws_sdk_sns::error::DisplayErrorContext(e), "OnFailure publish failed")
            }
        }
    }
}
