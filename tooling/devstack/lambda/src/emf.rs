//! The functions' own metrics (their EMF documents), kept by metric and
//! dimension set as CloudWatch would store them: what a gradual
//! deployment's alarm on a function's metric reads locally. Each series
//! keeps its values in order, so that an alarm takes a period's values
//! (any statistic of them, a percentile too) by where it read up to last.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::Value;

/// One metric series: namespace, name, and its dimensions sorted by name.
type Series = (String, String, Vec<(String, String)>);

/// A series' last values: a cloud left running keeps at most [`KEPT`] of
/// them, as an alarm's period needs only its own.
#[derive(Default)]
struct Values {
    kept: std::collections::VecDeque<f64>,
    /// How many values were let go from the front.
    dropped: usize,
}

const KEPT: usize = 100_000;

impl Values {
    fn push(&mut self, values: Vec<f64>) {
        self.kept.extend(values);
        while self.kept.len() > KEPT {
            self.kept.pop_front();
            self.dropped += 1;
        }
    }

    fn count(&self) -> usize {
        self.dropped + self.kept.len()
    }

    fn from(&self, from: usize) -> Vec<f64> {
        let skip = from.saturating_sub(self.dropped);
        self.kept.iter().skip(skip).copied().collect()
    }
}

#[derive(Default)]
pub struct Recorded(Mutex<HashMap<Series, Values>>);

impl Recorded {
    /// Adds one EMF document's values: each metric of each directive, once
    /// per dimension set (a histogram's values each).
    pub fn add(&self, doc: &Value) {
        let mut series = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let directives = doc["_aws"]["CloudWatchMetrics"].as_array();
        for d in directives.into_iter().flatten() {
            let namespace = d["Namespace"].as_str().unwrap_or_default();
            for set in d["Dimensions"].as_array().into_iter().flatten() {
                let mut dims: Vec<(String, String)> = (set.as_array().into_iter().flatten())
                    .filter_map(Value::as_str)
                    .map(|n| (n.to_owned(), doc[n].as_str().unwrap_or_default().to_owned()))
                    .collect();
                dims.sort();
                for m in d["Metrics"].as_array().into_iter().flatten() {
                    let name = m["Name"].as_str().unwrap_or_default();
                    let values: Vec<f64> = match &doc[name] {
                        Value::Array(values) => values.iter().filter_map(Value::as_f64).collect(),
                        v => v.as_f64().into_iter().collect(),
                    };
                    let key = (namespace.to_owned(), name.to_owned(), dims.clone());
                    series.entry(key).or_default().push(values);
                }
            }
        }
    }

    /// One value of a series the local cloud records itself (as Lambda's
    /// own metrics are not the function's output).
    pub fn record(
        &self,
        namespace: &str,
        metric: &str,
        dimensions: &[(String, String)],
        value: f64,
    ) {
        let mut series = self.0.lock().unwrap_or_else(|e| e.into_inner());
        (series
            .entry(key(namespace, metric, dimensions))
            .or_default())
        .push(vec![value]);
    }

    /// How many values the series holds so far: where a reader that took
    /// them all starts next time.
    pub fn count(&self, namespace: &str, metric: &str, dimensions: &[(String, String)]) -> usize {
        self.read(namespace, metric, dimensions, Values::count)
            .unwrap_or_default()
    }

    /// The series' values from the `from`th on, in the order recorded.
    pub fn values_from(
        &self,
        namespace: &str,
        metric: &str,
        dimensions: &[(String, String)],
        from: usize,
    ) -> Vec<f64> {
        self.read(namespace, metric, dimensions, |v| v.from(from))
            .unwrap_or_default()
    }

    fn read<T>(
        &self,
        namespace: &str,
        metric: &str,
        dimensions: &[(String, String)],
        f: impl FnOnce(&Values) -> T,
    ) -> Option<T> {
        let all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        all.get(&key(namespace, metric, dimensions)).map(f)
    }
}

/// The series of a metric with exactly these dimensions, in any order.
fn key(namespace: &str, metric: &str, dimensions: &[(String, String)]) -> Series {
    let mut dims = dimensions.to_vec();
    dims.sort();
    (namespace.to_owned(), metric.to_owned(), dims)
}

/// CloudWatch's percentile (`p99`, `p99.9`) of `values`: the nearest
/// rank, as a datapoint of few samples has it; `None` for no values or a
/// statistic that is no percentile.
pub fn percentile(statistic: &str, values: &[f64]) -> Option<f64> {
    let p: f64 = statistic.strip_prefix('p')?.parse().ok()?;
    if values.is_empty() || !(0.0..=100.0).contains(&p) {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{Recorded, percentile};

    #[test]
    fn each_dimension_set_is_a_series_of_its_own() {
        let doc = json!({
            "_aws": {"Timestamp": 0, "CloudWatchMetrics": [{"Namespace": "app/todos",
                "Dimensions": [["service", "function", "route"], ["service", "function", "version"]],
                "Metrics": [{"Name": "Http5xx"}, {"Name": "Latency", "Unit": "Milliseconds"}]}]},
            "service": "todos", "function": "todos-api", "route": "GET /todos", "version": "2",
            "Http5xx": 1, "Latency": [3.0, 4.0]
        });
        let recorded = Recorded::default();
        recorded.add(&doc);
        recorded.add(&doc);
        let dims = |extra: (&str, &str)| {
            vec![
                ("function".to_owned(), "todos-api".to_owned()),
                (extra.0.to_owned(), extra.1.to_owned()),
                ("service".to_owned(), "todos".to_owned()),
            ]
        };
        let all = |metric: &str, extra| recorded.values_from("app/todos", metric, &dims(extra), 0);
        assert_eq!(all("Http5xx", ("version", "2")), [1.0, 1.0]);
        assert_eq!(all("Http5xx", ("route", "GET /todos")), [1.0, 1.0]);
        assert_eq!(all("Latency", ("version", "2")), [3.0, 4.0, 3.0, 4.0]);
        assert!(all("Http5xx", ("version", "3")).is_empty());
    }

    #[test]
    fn a_reader_takes_the_values_after_where_it_read_up_to() {
        let doc = |values: &[f64]| {
            json!({
                "_aws": {"Timestamp": 0, "CloudWatchMetrics": [{"Namespace": "app/todos",
                    "Dimensions": [["version"]], "Metrics": [{"Name": "Latency"}]}]},
                "version": "2", "Latency": values
            })
        };
        let recorded = Recorded::default();
        let dims = [("version".to_owned(), "2".to_owned())];
        recorded.add(&doc(&[3.0, 4.0]));
        let read = recorded.count("app/todos", "Latency", &dims);
        recorded.add(&doc(&[900.0]));
        assert_eq!(
            recorded.values_from("app/todos", "Latency", &dims, read),
            [900.0]
        );
        assert_eq!(recorded.count("app/todos", "Latency", &dims), 3);
        assert!(
            (recorded.values_from("app/todos", "Latency", &dims, 3)).is_empty(),
            "nothing new"
        );
    }

    #[test]
    fn a_percentile_is_the_nearest_rank_as_cloudwatch_takes_it() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile("p99", &values), Some(99.0));
        assert_eq!(percentile("p50", &values), Some(50.0));
        assert_eq!(percentile("p100", &values), Some(100.0));
        // Few samples: the p99 of three is the largest.
        assert_eq!(percentile("p99", &[5.0, 1.0, 700.0]), Some(700.0));
        assert_eq!(percentile("p99.9", &[2.0]), Some(2.0));
        assert_eq!(percentile("p99", &[]), None, "no datapoint");
        assert_eq!(percentile("Sum", &values), None, "no percentile");
        assert_eq!(percentile("p101", &values), None);
    }
}
