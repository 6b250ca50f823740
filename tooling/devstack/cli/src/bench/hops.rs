//! One end-to-end run and where its time went: the path from a PATCH to
//! the notification's read, cut into the hops the telemetry recorded.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use reqwest::Method;
use serde_json::json;

use devstack_api::telemetry::Hop;
use devstack_client::walkthrough::Client;

/// One end-to-end run: create, complete, then read until the congratulation
/// shows. The answer is the time and the correlation id of the read that
/// saw it.
pub(crate) async fn e2e(api: &Client, telemetry: &Path, i: usize) -> Result<(Duration, String)> {
    let mut hops = HopTail::new(telemetry);
    let title = format!("bench todo {i} {}", uuid::Uuid::new_v4().simple());
    let t0 = Instant::now();
    let (status, todo) = api
        .call_correlated(
            Method::POST,
            "/todos",
            Some(json!({"title": title})),
            Some(&format!("bench-{i}-create")),
        )
        .await?;
    if status != 201 {
        bail!("POST /todos answered {status}: {todo}");
    }
    let id = todo["id"].as_str().unwrap_or_default().to_owned();
    let (status, answer) = api
        .call_correlated(
            Method::PATCH,
            &format!("/todos/{id}"),
            Some(json!({"completed": true})),
            Some(&format!("bench-{i}")),
        )
        .await?;
    if status != 200 {
        bail!("PATCH /todos/{id} answered {status}: {answer}");
    }
    // Read when the local cloud has seen the consumer succeed, then again
    // every few milliseconds until the notification shows: a blind loop of
    // reads would load the emulator whose latency it measures.
    let deadline = t0 + Duration::from_secs(30);
    let consumed = |h: &Hop| {
        h.kind == "rule"
            && h.outcome == "ok"
            && h.detail.contains("TodoCompleted")
            && h.correlation_ids.iter().any(|c| c == &format!("bench-{i}"))
    };
    while !hops.next_batch().iter().any(consumed) {
        if Instant::now() > deadline {
            bail!("the congratulation for {title} was never consumed within 30 s");
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    for k in 0.. {
        let read = format!("bench-{i}-read-{k}");
        let (_, list) = api
            .call_correlated(Method::GET, "/notifications", None, Some(&read))
            .await?;
        let seen = list["items"].as_array().is_some_and(|items| {
            items
                .iter()
                .any(|n| n["message"].as_str().is_some_and(|m| m.contains(&title)))
        });
        if seen {
            return Ok((t0.elapsed(), read));
        }
        if Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    bail!("the congratulation for {title} did not show within 30 s")
}

/// The hops recorded since the last look, read from the end of `hops.jsonl`.
pub(crate) struct HopTail {
    path: PathBuf,
    offset: u64,
    partial: String,
}

impl HopTail {
    fn new(dir: &Path) -> Self {
        let path = dir.join("hops.jsonl");
        let offset = std::fs::metadata(&path).map_or(0, |m| m.len());
        Self {
            path,
            offset,
            partial: String::new(),
        }
    }

    fn next_batch(&mut self) -> Vec<Hop> {
        use std::io::{Read, Seek, SeekFrom};
        let Ok(mut f) = std::fs::File::open(&self.path) else {
            return Vec::new();
        };
        if f.seek(SeekFrom::Start(self.offset)).is_err() {
            return Vec::new();
        }
        let mut text = String::new();
        let Ok(n) = f.read_to_string(&mut text) else {
            return Vec::new();
        };
        self.offset += n as u64;
        self.partial.push_str(&text);
        // A line still being written stays for the next look.
        let complete = self.partial.rfind('\n').map_or(0, |i| i + 1);
        let lines: String = self.partial.drain(..complete).collect();
        lines
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

pub(crate) fn end(h: &Hop) -> f64 {
    h.start_ms + h.duration_ms
}

/// Run `i`'s path, cut into [`HOPS`] from the trace record: the PATCH's
/// http hop, its table write, the todos publisher's stream batch, the
/// TodoCompleted PutEvents entry, the notifications consumer's delivery and
/// its table write, then the read that saw the result (`read`). `None` when
/// a hop is missing (a retried or replayed delivery, an older local cloud
/// that does not record table writes).
pub fn path_hops(hops: &[Hop], i: usize, read: &str) -> Option<Vec<(&'static str, f64)>> {
    let corr = format!("bench-{i}");
    let with = |h: &&Hop, c: &str| h.correlation_ids.iter().any(|x| x == c);
    let ok = |h: &&Hop| h.outcome == "ok";
    let create = hops
        .iter()
        .find(|h| h.kind == "http" && with(h, &format!("{corr}-create")))?;
    let patch = hops
        .iter()
        .find(|h| h.kind == "http" && with(h, &corr) && h.detail.contains("PATCH"))?;
    let write = hops
        .iter()
        .filter(|h| {
            h.kind == "dynamodb"
                && h.trace_id == patch.trace_id
                && h.start_ms >= patch.start_ms
                && end(h) <= end(patch) + 1.0
        })
        .max_by(|a, b| end(a).total_cmp(&end(b)))?;
    let stream = hops.iter().find(|h| {
        h.kind == "stream" && h.function.starts_with("todos/") && with(h, &corr) && ok(h)
    })?;
    let bus = hops.iter().find(|h| {
        h.kind == "bus" && h.detail == "PutEvents TodoCompleted" && with(h, &corr) && ok(h)
    })?;
    let rule = hops.iter().find(|h| {
        h.kind == "rule"
            && h.function.starts_with("notifications/")
            && h.detail.contains("TodoCompleted")
            && with(h, &corr)
            && ok(h)
    })?;
    let stored = hops
        .iter()
        .filter(|h| {
            h.kind == "dynamodb"
                && h.trace_id == rule.trace_id
                && h.start_ms >= rule.start_ms
                && end(h) <= end(rule) + 1.0
        })
        .max_by(|a, b| end(a).total_cmp(&end(b)))?;
    let get = hops.iter().find(|h| h.kind == "http" && with(h, read))?;
    Some(vec![
        ("api_create", create.duration_ms),
        ("api_write", end(write) - patch.start_ms),
        ("stream_wait", stream.start_ms - end(write)),
        ("publisher", bus.start_ms - stream.start_ms),
        ("put_events", bus.duration_ms),
        ("tap_wait", rule.start_ms - end(bus)),
        ("consumer", stored.start_ms - rule.start_ms),
        ("notification_write", stored.duration_ms),
        ("until_read", get.start_ms - end(stored)),
        ("api_read", get.duration_ms),
    ])
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::bench::HOPS;

    fn hop(
        kind: &str,
        function: &str,
        detail: &str,
        trace: &str,
        corr: &str,
        start: f64,
        dur: f64,
    ) -> Hop {
        Hop {
            trace_id: trace.into(),
            id: devstack_api::telemetry::new_segment_id(),
            parent: None,
            kind: kind.into(),
            function: function.into(),
            detail: detail.into(),
            start_ms: start,
            duration_ms: dur,
            outcome: "ok".into(),
            correlation_ids: if corr.is_empty() {
                vec![]
            } else {
                vec![corr.into()]
            },
            links: vec![],
        }
    }

    #[test]
    fn the_path_is_cut_into_hops_that_cover_patch_to_read() {
        let hops = vec![
            hop(
                "http",
                "todos/ApiFunction",
                "POST /todos",
                "T0",
                "bench-3-create",
                0.0,
                4.0,
            ),
            hop(
                "http",
                "todos/ApiFunction",
                "PATCH /todos/{id}",
                "T1",
                "bench-3",
                10.0,
                6.0,
            ),
            hop(
                "dynamodb",
                "todos-Table",
                "PutItem",
                "T1",
                "bench-3",
                12.0,
                2.0,
            ),
            hop(
                "stream",
                "todos/PublisherFunction",
                "1 record(s)",
                "T2",
                "bench-3",
                20.0,
                9.0,
            ),
            hop(
                "bus",
                "EventBridge",
                "PutEvents TodoUpdated",
                "T1",
                "bench-3",
                22.0,
                3.0,
            ),
            hop(
                "bus",
                "EventBridge",
                "PutEvents TodoCompleted",
                "T1",
                "bench-3",
                22.0,
                3.0,
            ),
            hop(
                "rule",
                "notifications/ConsumerFunction",
                "TodoCompleted",
                "T1",
                "bench-3",
                27.0,
                8.0,
            ),
            hop(
                "dynamodb",
                "notifications-Table",
                "TransactWriteItems",
                "T1",
                "",
                30.0,
                3.0,
            ),
            hop(
                "http",
                "notifications/ApiFunction",
                "GET /notifications",
                "T3",
                "bench-3-read-0",
                36.0,
                2.0,
            ),
            hop(
                "http",
                "notifications/ApiFunction",
                "GET /notifications",
                "T4",
                "bench-3-read-1",
                40.0,
                2.0,
            ),
        ];
        let path: BTreeMap<_, _> = path_hops(&hops, 3, "bench-3-read-1")
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(path["api_write"], 4.0);
        assert_eq!(path["stream_wait"], 6.0);
        assert_eq!(path["publisher"], 2.0);
        assert_eq!(path["tap_wait"], 2.0);
        assert_eq!(path["consumer"], 3.0);
        assert_eq!(path["notification_write"], 3.0);
        assert_eq!(path["until_read"], 7.0);
        // The hops after the POST tile PATCH start → the read's end.
        let tiled: f64 = HOPS.iter().map(|(k, _)| path[k]).sum();
        assert_eq!(tiled, 42.0 - 10.0);
        // Without the table write the path cannot be cut.
        let no_write: Vec<Hop> = hops
            .iter()
            .filter(|h| h.detail != "PutItem")
            .cloned()
            .collect();
        assert!(path_hops(&no_write, 3, "bench-3-read-1").is_none());
    }
}
