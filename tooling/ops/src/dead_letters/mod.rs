//! Dead letters: what the `dlq` commands do to them. Every path deletes a
//! message only after its copy is safe: written and read back (export), or
//! re-delivered and accepted (replay). A crash at any point leaves each
//! message in the DLQ (it reappears after its visibility timeout),
//! re-delivered, or exported.

use anyhow::Result;
use serde::Serialize;

use crate::letter::{Raw, Shape, Summary, decode, summarize};
use crate::queue;
use crate::targets::{Service, Targets};

mod bench;
mod export;
mod redelivery;
mod replay;

pub use bench::{bench_letters, naive_replay_to_bus};
pub use export::{ExportFile, export, purge, read_export};
pub(crate) use redelivery::{Verdict, invoke_async};
pub use replay::{Destination, ReplayOptions, ReplayReport, replay};

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

pub fn describe(service: &Service, raw: &Raw) -> (Shape, Summary) {
    let shape = decode(raw);
    let function = match &shape {
        Shape::AsyncFailure { event, .. } => service.consumer_of(event).map(|c| c.function.clone()),
        _ => None,
    };
    let summary = summarize(raw, &shape, function, now_ms());
    (shape, summary)
}

#[derive(Debug, Serialize)]
pub struct QueueState {
    pub service: String,
    pub depth: i64,
    pub in_flight: i64,
    pub oldest_age_seconds: Option<i64>,
}

pub async fn list(t: &Targets) -> Result<Vec<QueueState>> {
    let mut out = Vec::new();
    for s in t.services.values() {
        let sqs = aws_sdk_sqs::Client::new(t.conf_of(s));
        let (depth, in_flight) = queue::depth(&sqs, &s.dlq_queue_url).await?;
        let oldest = if depth > 0 {
            queue::peek(&sqs, &s.dlq_queue_url, 100)
                .await?
                .iter()
                .filter_map(|r| r.sent_at_ms)
                .min()
                .map(|t| (now_ms() - t) / 1000)
        } else {
            None
        };
        out.push(QueueState {
            service: s.name.clone(),
            depth,
            in_flight,
            oldest_age_seconds: oldest,
        });
    }
    Ok(out)
}
