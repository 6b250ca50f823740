//! The bus, watched live through a tap that is removed on the way out (or
//! swept by the next run when the process was killed): what `ops events
//! tail` prints, and what the tests read a flow's events with.

use std::time::Duration;

use anyhow::Result;
use aws_config::SdkConfig;
use serde_json::{Value, json};

use crate::tap::Tap;

/// Every event: EventBridge has no match-all pattern, but every event has
/// a source and every string starts with "".
pub fn everything() -> Value {
    json!({"source": [{"prefix": ""}]})
}

/// When a tail stops on its own.
#[derive(Debug, Clone, Copy, Default)]
pub struct Until {
    pub events: Option<usize>,
    pub duration: Option<Duration>,
}

/// What to tail, and for how long.
pub struct Tail<'a> {
    pub conf: &'a SdkConfig,
    pub bus: &'a str,
    pub pattern: &'a Value,
    pub lease: Duration,
    pub until: Until,
}

/// Taps the bus and hands each event to `each` until `stop` resolves or
/// `until` is reached; returns how many it handed over. `ready` is called
/// once the tap is in place: events published after it are seen.
pub async fn run(
    t: Tail<'_>,
    ready: impl FnOnce(&str),
    mut each: impl FnMut(&Value) -> Result<()>,
    stop: impl Future<Output = ()>,
) -> Result<usize> {
    let until = t.until;
    let mut tap = Tap::open(t.conf, t.bus, t.pattern, "ops events tail", t.lease).await?;
    ready(&tap.name);
    let started = std::time::Instant::now();
    let mut seen = 0;
    let outcome: Result<()> = async {
        tokio::pin!(stop);
        loop {
            if until.events.is_some_and(|n| seen >= n)
                || until.duration.is_some_and(|d| started.elapsed() >= d)
            {
                return Ok(());
            }
            let got = tokio::select! {
                got = tap.receive(Duration::from_secs(1)) => got?,
                () = &mut stop => return Ok(()),
            };
            for event in got
                .iter()
                .take(until.events.map_or(usize::MAX, |n| n - seen))
            {
                each(event)?;
                seen += 1;
            }
            tap.keep_alive("ops events tail").await?;
        }
    }
    .await;
    let closed = tap.close().await;
    outcome?;
    closed?;
    Ok(seen)
}

/// One event as a line for people: time, source, detail-type, the
/// correlation id and the event id our envelope carries.
pub fn pretty(event: &Value) -> String {
    let meta = &event["detail"]["metadata"];
    let text = |v: &Value| v.as_str().unwrap_or("-").to_owned();
    let kind = match meta["schema_version"].as_u64() {
        Some(v) => format!("{} v{v}", text(&event["detail-type"])),
        None => text(&event["detail-type"]),
    };
    let mut line = format!(
        "{}  {:<18} {:<22} correlation={} event={}",
        text(&event["time"]),
        text(&event["source"]),
        kind,
        text(&meta["correlation_id"]),
        text(&meta["event_id"]),
    );
    if let Some(replay) = event["replay-name"].as_str() {
        line.push_str(&format!(" replay={replay}"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pretty_line_names_the_event_and_its_correlation() {
        let line = pretty(
            &json!({"time": "2026-11-23T10:00:00Z", "source": "app.users", "detail-type": "UserDeleted",
            "detail": {"metadata": {"correlation_id": "c-1", "event_id": "e-1"}}, "replay-name": "ops-1"}),
        );
        assert!(
            line.starts_with("2026-11-23T10:00:00Z  app.users"),
            "{line}"
        );
        assert!(
            line.contains("UserDeleted")
                && line.contains("correlation=c-1")
                && line.contains("event=e-1")
        );
        assert!(line.ends_with("replay=ops-1"), "{line}");
    }
}
