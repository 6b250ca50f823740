//! Event source mappings, driven from the emulator: taps behind bus rules
//! and bucket notifications (asynchronous invocations), and DynamoDB stream
//! pollers (synchronous batches with AWS's retry, bisect and OnFailure).

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use aws_sdk_sqs::types::Message;
use percent_encoding::percent_decode_str;
use serde_json::{Value, json};

use tokio::sync::Notify;

use crate::invoke::{AsyncFunction, AsyncOutcome};
use crate::on_behalf::Invoker;
use crate::runtime::Arrival;
use crate::runtime::Function;
use crate::table_writes::Writes;

/// What a tap queue's messages become before they reach the function.
#[derive(Clone, Copy, Debug)]
pub enum TapKind {
    /// EventBridge events, delivered to SQS without `account`.
    Rule,
    /// The emulator's S3 notifications, normalised to AWS's shape.
    Upload,
}

/// The EventBridge event as a Lambda target receives it.
pub fn rule_event(mut body: Value) -> Value {
    if body.get("account").is_none() {
        body["account"] = Value::from("123456789012");
    }
    body
}

/// Each record of an emulator S3 notification as AWS would send it.
/// `s3:TestEvent` messages produce none.
pub fn upload_events(body: &Value) -> Vec<Value> {
    body["Records"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let raw = r["s3"]["object"]["key"].as_str()?;
            // The emulator encodes keys once more than S3 does.
            let key = percent_decode_str(&raw.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned();
            let bucket = r["s3"]["bucket"]["name"].as_str()?;
            let event = devstack_emulator::s3::object_created(
                bucket,
                &key,
                r["s3"]["object"]["size"].as_i64().unwrap_or_default(),
                r["s3"]["object"]["eTag"].as_str().unwrap_or_default(),
                &format!(
                    "{:016X}",
                    chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
                ),
            );
            let mut event = serde_json::to_value(event).ok()?;
            // The crate's own field, and one S3 sends only for a versioned
            // bucket: S3 leaves both out.
            drop_nulls(&mut event, &["urlDecodedKey", "versionId"]);
            Some(event)
        })
        .collect()
}

/// Removes `keys` wherever they are `null`: the typed events serialise
/// every field, and AWS leaves out the ones it has no value for.
fn drop_nulls(value: &mut Value, keys: &[&str]) {
    match value {
        Value::Object(map) => {
            map.retain(|k, v| !(v.is_null() && keys.contains(&k.as_str())));
            map.values_mut().for_each(|v| drop_nulls(v, keys));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| drop_nulls(v, keys)),
        _ => {}
    }
}

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

/// Polls a tap queue forever. A message is deleted only once its event has
/// succeeded or been dead-lettered, so a crash of the local cloud loses none,
/// or once `invoker` (the rule, the bucket) is found not allowed to invoke
/// the function.
pub async fn poll_tap(
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    (kind, invoker): (TapKind, Invoker),
    target: Arc<AsyncFunction>,
) {
    let invoker = Arc::new(invoker);
    loop {
        let got = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            // The longest poll: the emulator answers as soon as a message
            // lands, and an idle tap then costs a call every 20 s, not
            // every second, of the emulator the foreground shares.
            .wait_time_seconds(20)
            .visibility_timeout(900)
            .send()
            .await;
        let messages = match got {
            Ok(out) => out.messages.unwrap_or_default(),
            Err(e) => {
                tracing::warn!(queue = %queue_url, error = %aws_sdk_sqs::error::DisplayErrorContext(e), "tap poll failed");
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        for message in messages {
            let sqs = sqs.clone();
            let queue_url = queue_url.clone();
            let target = target.clone();
            let invoker = invoker.clone();
            tokio::spawn(async move {
                if may_invoke(&target, &invoker).await {
                    deliver(&sqs, &queue_url, kind, target, &message).await;
                } else {
                    delete(&sqs, &queue_url, &message).await;
                }
            });
        }
    }
}

/// Whether the function's policy lets `invoker` in. When it does not,
/// EventBridge retries for 24 hours and then drops the event (S3 refuses the
/// notification configuration at deploy): the event is dropped at once.
async fn may_invoke(target: &AsyncFunction, invoker: &Invoker) -> bool {
    let Some(judge) = &target.judge else {
        return true;
    };
    let allowed = judge.may_invoke(invoker, &target.function.spec.arn).await;
    if !allowed {
        tracing::error!(target: "trail", function = %target.function.spec.name,
            invoker = invoker.principal, source = %invoker.source_arn,
            "the function's policy does not let its invoker in: the event is dropped, as on AWS");
    }
    allowed
}

async fn delete(sqs: &aws_sdk_sqs::Client, queue_url: &str, message: &Message) {
    if let Some(handle) = message.receipt_handle() {
        let _ = sqs
            .delete_message()
            .queue_url(queue_url)
            .receipt_handle(handle)
            .send()
            .await;
    }
}

async fn deliver(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    kind: TapKind,
    target: Arc<AsyncFunction>,
    message: &Message,
) {
    let body: Value =
        serde_json::from_str(message.body().unwrap_or_default()).unwrap_or(Value::Null);
    let events = match kind {
        TapKind::Rule => vec![rule_event(body)],
        TapKind::Upload => upload_events(&body),
    };
    let mut keep = false;
    for event in events {
        let label = match kind {
            TapKind::Rule => format!(
                "{}/{} {}",
                event["source"].as_str().unwrap_or("?"),
                event["detail-type"].as_str().unwrap_or("?"),
                event["detail"]["metadata"]["event_id"]
                    .as_str()
                    .unwrap_or("?")
            ),
            TapKind::Upload => format!(
                "s3 {}",
                event["Records"][0]["s3"]["object"]["key"]
                    .as_str()
                    .unwrap_or("?")
            ),
        };
        tracing::info!(target: "trail", event = %label, function = %target.function.spec.name, "event");
        let arrival = match kind {
            // EventBridge hands the target the entry's TraceHeader.
            TapKind::Rule => Arrival::new("rule", event["detail-type"].as_str().unwrap_or("?"))
                .traced(
                    event["detail"]["metadata"]["event_id"]
                        .as_str()
                        .and_then(|id| target.function.spec.recorder.as_ref()?.bus_trace(id)),
                )
                .correlated(event["detail"]["metadata"]["correlation_id"].as_str()),
            TapKind::Upload => Arrival::new("s3", label.clone()),
        };
        if let AsyncOutcome::Dropped { .. } = target.invoke(event, &label, arrival).await {
            keep = target.dead_letter_topic.is_some();
        }
    }
    if !keep {
        delete(sqs, queue_url, message).await;
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emulator_s3_notifications_become_aws_shaped_events() {
        let body = json!({"Records": [{"eventName": "ObjectCreated:Put", "s3": {
            "bucket": {"name": "b"}, "object": {"key": "users%2Fu%2Fa+b.png", "size": 3, "eTag": "e"}}}]});
        let events = upload_events(&body);
        assert_eq!(events.len(), 1);
        let parsed: aws_lambda_events::s3::S3Event =
            serde_json::from_value(events[0].clone()).unwrap();
        let record = &parsed.records[0];
        assert_eq!(record.s3.object.key.as_deref(), Some("users/u/a+b.png"));
        assert!(record.principal_id.principal_id.is_some());
        assert!(record.s3.object.sequencer.is_some());
        assert!(upload_events(&json!({"Event": "s3:TestEvent"})).is_empty());
    }

    #[test]
    fn rule_events_gain_the_account_a_lambda_target_sees() {
        let e = rule_event(json!({"source": "x", "detail-type": "y", "detail": {}}));
        assert_eq!(e["account"], "123456789012");
        let parsed: aws_lambda_events::eventbridge::EventBridgeEvent<Value> =
            serde_json::from_value(e).unwrap();
        assert_eq!(parsed.source, "x");
    }
}
