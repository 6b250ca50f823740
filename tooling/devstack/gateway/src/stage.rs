//! What an API stage does around every request, as API Gateway does: its
//! throttle (a token bucket; an empty bucket answers 429 before any
//! authorizer or function runs) and its access log, one line per request
//! from the stage's own `$context` format. The composition fills both
//! from the template: the gateway knows no SAM.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Where a stage's access log lines go.
pub type Sink = Arc<dyn Fn(&str) + Send + Sync>;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throttle {
    /// Tokens added per second.
    pub rate_limit: f64,
    /// The bucket's size: how many requests may arrive at once.
    pub burst_limit: u64,
}

pub struct Stage {
    bucket: Option<Mutex<Bucket>>,
    access_log: Option<(String, Sink)>,
}

impl Stage {
    /// `access_log`: the stage's format and where its lines go.
    pub fn new(throttle: Option<Throttle>, access_log: Option<(String, Sink)>) -> Self {
        Self {
            bucket: throttle.map(|t| Mutex::new(Bucket::full(t, Instant::now()))),
            access_log,
        }
    }

    /// Whether a request may go on now (it takes a token).
    pub fn admit(&self) -> bool {
        self.bucket.as_ref().is_none_or(|b| {
            b.lock()
                .unwrap_or_else(|e| e.into_inner())
                .take(Instant::now())
        })
    }

    /// Writes the request's access log line, if the stage has a log.
    pub fn log(&self, vars: &HashMap<&str, String>) {
        if let Some((format, sink)) = &self.access_log {
            sink(&render(format, vars));
        }
    }
}

/// API Gateway's token bucket: full at the start, refilled continuously.
#[derive(Debug)]
struct Bucket {
    throttle: Throttle,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full(throttle: Throttle, now: Instant) -> Self {
        Self {
            throttle,
            tokens: throttle.burst_limit as f64,
            at: now,
        }
    }

    fn take(&mut self, now: Instant) -> bool {
        let refill =
            now.saturating_duration_since(self.at).as_secs_f64() * self.throttle.rate_limit;
        self.tokens = (self.tokens + refill).min(self.throttle.burst_limit as f64);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// `format` with each `$context.name` replaced by its value, escaped for a
/// JSON string; `-` for a variable the request has no value for, as API
/// Gateway writes it.
pub fn render(format: &str, vars: &HashMap<&str, String>) -> String {
    const MARK: &str = "$context.";
    let mut out = String::with_capacity(format.len());
    let mut rest = format;
    while let Some(at) = rest.find(MARK) {
        out.push_str(&rest[..at]);
        let after = &rest[at + MARK.len()..];
        let len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_'))
            .unwrap_or(after.len());
        let name = after[..len].trim_end_matches('.');
        let value = vars.get(name).map(String::as_str).unwrap_or("-");
        let quoted = serde_json::to_string(value).unwrap_or_default();
        out.push_str(&quoted[1..quoted.len() - 1]);
        rest = &after[name.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_bucket_admits_a_burst_then_the_rate() {
        let t0 = Instant::now();
        let mut b = Bucket::full(
            Throttle {
                rate_limit: 2.0,
                burst_limit: 3,
            },
            t0,
        );
        assert_eq!((0..5).filter(|_| b.take(t0)).count(), 3, "the burst");
        assert!(!b.take(t0 + Duration::from_millis(400)), "0.8 of a token");
        assert!(
            b.take(t0 + Duration::from_millis(500)),
            "one token in 500 ms"
        );
        // A long pause refills to the burst, not beyond.
        let later = t0 + Duration::from_secs(60);
        assert_eq!((0..10).filter(|_| b.take(later)).count(), 3);
    }

    #[test]
    fn render_fills_escapes_and_marks_missing_values() {
        let vars = HashMap::from([
            ("requestId", "r-1".to_owned()),
            ("authorizer.claims.sub", "a\"b".to_owned()),
        ]);
        let line = render(
            r#"{"id":"$context.requestId","sub":"$context.authorizer.claims.sub","ip":"$context.identity.sourceIp"}"#,
            &vars,
        );
        assert_eq!(line, r#"{"id":"r-1","sub":"a\"b","ip":"-"}"#);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["sub"], "a\"b");
    }
}
