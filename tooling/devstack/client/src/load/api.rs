//! The HTTP side of the load: every attempt timed per route, each answer
//! classified (worth retrying or not), and the figures per route.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use reqwest::Method;
use serde_json::Value;

use super::RouteFigures;

/// The HTTP side: every attempt timed per route.
pub(super) struct Api {
    pub(super) http: reqwest::Client,
    pub(super) base: String,
    pub(super) samples: Mutex<BTreeMap<&'static str, Samples>>,
}

#[derive(Default)]
pub(super) struct Samples {
    /// The first few 4xx answers, whatever the client did next: valid
    /// input should never get one.
    pub(super) rejected: Vec<String>,
    pub(super) ms: Vec<f64>,
    pub(super) s2xx: u64,
    pub(super) s4xx: u64,
    pub(super) s5xx: u64,
    pub(super) transport: u64,
}

/// An answer, or none.
pub(super) enum Answer {
    Status(u16, Value),
    NoAnswer(String),
}

impl Answer {
    pub(super) fn status(&self) -> Option<u16> {
        match self {
            Answer::Status(s, _) => Some(*s),
            Answer::NoAnswer(_) => None,
        }
    }

    /// Worth trying again: no answer, a 5xx, a conflict or throttling.
    pub(super) fn unsure(&self) -> bool {
        match self {
            Answer::Status(s, _) => *s >= 500 || *s == 409 || *s == 429,
            Answer::NoAnswer(_) => true,
        }
    }

    pub(super) fn describe(&self) -> String {
        match self {
            Answer::Status(s, v) => format!("{s} {v}"),
            Answer::NoAnswer(e) => format!("no answer: {e}"),
        }
    }
}

impl Api {
    pub(super) fn record(&self, route: &'static str, ms: f64, answer: &Answer) {
        let mut all = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        let s = all.entry(route).or_default();
        s.ms.push(ms);
        match answer.status() {
            Some(200..=299) => s.s2xx += 1,
            Some(400..=499) => {
                s.s4xx += 1;
                if s.rejected.len() < 5 {
                    s.rejected.push(format!("{route}: {}", answer.describe()));
                }
            }
            Some(_) => s.s5xx += 1,
            None => s.transport += 1,
        }
    }

    pub(super) async fn call(
        &self,
        route: &'static str,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Answer {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(b) = body {
            request = request
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        self.send(route, request).await
    }

    pub(super) async fn send(
        &self,
        route: &'static str,
        request: reqwest::RequestBuilder,
    ) -> Answer {
        let started = Instant::now();
        let answer = match request.send().await {
            Ok(r) => {
                let status = r.status().as_u16();
                match r.text().await {
                    Ok(text) => {
                        Answer::Status(status, serde_json::from_str(&text).unwrap_or(Value::Null))
                    }
                    Err(e) => Answer::NoAnswer(e.to_string()),
                }
            }
            Err(e) => Answer::NoAnswer(e.to_string()),
        };
        self.record(route, started.elapsed().as_secs_f64() * 1000.0, &answer);
        answer
    }

    pub(super) fn rejected(&self) -> Vec<String> {
        let all = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        all.values().flat_map(|s| s.rejected.clone()).collect()
    }

    pub(super) fn figures(&self) -> Vec<RouteFigures> {
        let all = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        all.iter()
            .map(|(route, s)| {
                let mut ms = s.ms.clone();
                ms.sort_by(f64::total_cmp);
                RouteFigures {
                    route: (*route).to_owned(),
                    calls: ms.len() as u64,
                    status_2xx: s.s2xx,
                    status_4xx: s.s4xx,
                    status_5xx: s.s5xx,
                    transport_errors: s.transport,
                    p50_ms: percentile(&ms, 50.0),
                    p95_ms: percentile(&ms, 95.0),
                    p99_ms: percentile(&ms, 99.0),
                    max_ms: ms.last().copied().unwrap_or(0.0),
                }
            })
            .collect()
    }
}

/// Nearest rank on sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 95.0), 95.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&[7.0], 99.0), 7.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }
}
