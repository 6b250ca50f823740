//! What `ops dlq bench` replays: letters shaped as AWS sends them, and
//! the one-at-a-time replay it is compared with.

use anyhow::Result;
use serde_json::json;

use crate::letter::{Raw, Shape, decode};
use crate::queue;
use crate::targets::{Service, Targets};

/// Dead letters shaped exactly like the async-failure letters AWS sends
/// through SNS, for an event no rule consumes (so only replay is timed).
pub fn bench_letters(count: usize) -> Vec<Raw> {
    (0..count)
        .map(|i| {
            let event = json!({
                "version": "0", "id": format!("bench-{i}"), "source": "app.bench", "detail-type": "BenchProbe",
                "account": "123456789012", "time": chrono::Utc::now().to_rfc3339(), "region": "us-east-1", "resources": [],
                "detail": {"metadata": {"event_id": format!("00000000-0000-4000-8000-{i:012}"), "correlation_id": "bench"}, "data": {"n": i}}
            });
            let body = json!({
                "Type": "Notification", "MessageId": format!("bench-{i}"), "TopicArn": "arn:aws:sns:us-east-1:123456789012:bench",
                "Message": event.to_string(), "Timestamp": chrono::Utc::now().to_rfc3339(),
                "MessageAttributes": {
                    "RequestID": {"Type": "String", "Value": format!("req-{i}")},
                    "ErrorCode": {"Type": "Number", "Value": "200"},
                    "ErrorMessage": {"Type": "String", "Value": "bench"}
                }
            });
            Raw { message_id: String::new(), body: body.to_string(), attributes: Default::default(), sent_at_ms: None, receive_count: None, trace_header: None }
        })
        .collect()
}

/// One message at a time: receive 1, put 1, delete 1.
pub async fn naive_replay_to_bus(t: &Targets, service: &Service, count: usize) -> Result<usize> {
    let sqs = aws_sdk_sqs::Client::new(t.conf_of(service));
    let eb = aws_sdk_eventbridge::Client::new(&t.conf);
    let mut done = 0;
    while done < count {
        let got = queue::receive(&sqs, &service.dlq_queue_url, 1, 60).await?;
        let Some(r) = got.into_iter().next() else {
            break;
        };
        if let Shape::AsyncFailure { event, .. } = decode(&r.raw) {
            let answer = (eb.put_events())
                .entries(crate::rule_targets::entry(&t.bus_name, &event).build())
                .send()
                .await?;
            if answer.failed_entry_count() == 0 {
                queue::delete(&sqs, &service.dlq_queue_url, &[r.handle]).await?;
                done += 1;
            }
        }
    }
    Ok(done)
}
