//! The functions' own metrics (their EMF documents), summed by metric and
//! dimension set as CloudWatch would store them: what a gradual
//! deployment's alarm on a function's metric reads locally.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::Value;

/// One metric series: namespace, name, and its dimensions sorted by name.
type Series = (String, String, Vec<(String, String)>);

#[derive(Default)]
pub struct Sums(Mutex<HashMap<Series, f64>>);

impl Sums {
    /// Adds one EMF document's values: each metric of each directive, once
    /// per dimension set (a histogram's values summed).
    pub fn add(&self, doc: &Value) {
        let mut sums = self.0.lock().unwrap_or_else(|e| e.into_inner());
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
                    let value = match &doc[name] {
                        Value::Array(values) => values.iter().filter_map(Value::as_f64).sum(),
                        v => v.as_f64().unwrap_or_default(),
                    };
                    let series = (namespace.to_owned(), name.to_owned(), dims.clone());
                    *sums.entry(series).or_default() += value;
                }
            }
        }
    }

    /// The sum so far of a metric with exactly these dimensions.
    pub fn sum(&self, namespace: &str, metric: &str, dimensions: &[(String, String)]) -> f64 {
        let mut dims = dimensions.to_vec();
        dims.sort();
        let series = (namespace.to_owned(), metric.to_owned(), dims);
        let sums = self.0.lock().unwrap_or_else(|e| e.into_inner());
        sums.get(&series).copied().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::Sums;

    #[test]
    fn each_dimension_set_is_a_series_of_its_own() {
        let doc = json!({
            "_aws": {"Timestamp": 0, "CloudWatchMetrics": [{"Namespace": "app/todos",
                "Dimensions": [["service", "function", "route"], ["service", "function", "version"]],
                "Metrics": [{"Name": "Http5xx"}, {"Name": "Latency", "Unit": "Milliseconds"}]}]},
            "service": "todos", "function": "todos-api", "route": "GET /todos", "version": "2",
            "Http5xx": 1, "Latency": [3.0, 4.0]
        });
        let sums = Sums::default();
        sums.add(&doc);
        sums.add(&doc);
        let dims = |extra: (&str, &str)| {
            vec![
                ("function".to_owned(), "todos-api".to_owned()),
                (extra.0.to_owned(), extra.1.to_owned()),
                ("service".to_owned(), "todos".to_owned()),
            ]
        };
        assert_eq!(
            sums.sum("app/todos", "Http5xx", &dims(("version", "2"))),
            2.0
        );
        assert_eq!(
            sums.sum("app/todos", "Http5xx", &dims(("route", "GET /todos"))),
            2.0
        );
        assert_eq!(
            sums.sum("app/todos", "Latency", &dims(("version", "2"))),
            14.0
        );
        assert_eq!(
            sums.sum("app/todos", "Http5xx", &dims(("version", "3"))),
            0.0
        );
    }
}
