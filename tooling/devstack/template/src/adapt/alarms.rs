//! The alarms a gradual deployment watches (`DeploymentPreference.Alarms`),
//! read from the template before the alarms leave it (see the module doc
//! of [`super`]), so that the local cloud can evaluate them itself while it
//! shifts traffic: what each measures, over which period, against what.

use serde::Serialize;
use serde_json::{Map, Value};

use super::resources::{target, type_of};

/// One CloudWatch alarm on one metric, as its template defines it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RollbackAlarm {
    /// Its logical id.
    pub id: String,
    pub namespace: String,
    pub metric: String,
    pub dimensions: Vec<(String, Dimension)>,
    /// `Sum`, `Maximum`, `Average`, `Minimum` or `SampleCount`, or the
    /// `ExtendedStatistic` (a percentile such as `p99`) where it has one.
    pub statistic: String,
    /// In seconds, as the template says (the local clock compresses it).
    pub period: u32,
    pub evaluation_periods: u32,
    /// Of the evaluated periods, how many must breach (`DatapointsToAlarm`,
    /// else all of them).
    pub datapoints: u32,
    /// The threshold's text, a number.
    pub threshold: String,
    pub comparison: String,
    /// `TreatMissingData` (`missing` when unset, as CloudWatch defaults).
    pub missing: String,
}

/// What a dimension's value stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum Dimension {
    /// A function of the stack (`!Ref Fn`): all its versions.
    Function(String),
    /// A function's alias (`!Sub "${Fn}:live"`, the `Resource` dimension).
    Alias(String),
    /// The version being deployed (`!GetAtt Fn.Version.Version`, the
    /// `ExecutedVersion` dimension).
    NewVersion,
    /// A queue of the stack (`!GetAtt Queue.QueueName`).
    Queue(String),
    /// A value written as it is.
    Text(String),
    /// Anything else: the local cloud cannot tell what it names.
    Unknown,
}

/// The alarm `id` of `resources`, if it is one the local cloud can read.
pub(super) fn rollback_alarm(
    id: &str,
    resources: &Map<String, Value>,
    parameters: &Value,
) -> Option<RollbackAlarm> {
    let alarm = resources.get(id)?;
    if type_of(alarm) != "AWS::CloudWatch::Alarm" {
        return None;
    }
    let p = &alarm["Properties"];
    let text = |k: &str| super::conditions::value(&p[k], parameters).unwrap_or_default();
    let number = |k: &str, or: u32| text(k).parse().unwrap_or(or);
    let evaluation_periods = number("EvaluationPeriods", 1);
    Some(RollbackAlarm {
        id: id.to_owned(),
        namespace: text("Namespace"),
        metric: text("MetricName"),
        dimensions: (p["Dimensions"].as_array().into_iter().flatten())
            .map(|d| {
                let name = d["Name"].as_str().unwrap_or_default().to_owned();
                (name, dimension(&d["Value"], resources))
            })
            .collect(),
        statistic: Some(text("ExtendedStatistic"))
            .filter(|e| !e.is_empty())
            .unwrap_or_else(|| text("Statistic")),
        period: number("Period", 60),
        evaluation_periods,
        datapoints: number("DatapointsToAlarm", evaluation_periods),
        threshold: text("Threshold"),
        comparison: text("ComparisonOperator"),
        missing: Some(text("TreatMissingData"))
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| "missing".to_owned()),
    })
}

fn dimension(v: &Value, resources: &Map<String, Value>) -> Dimension {
    let kind = |id: &str| resources.get(id).map(type_of).unwrap_or_default();
    if let Some(text) = v.as_str() {
        return Dimension::Text(text.to_owned());
    }
    if let Some(sub) = v["Fn::Sub"].as_str() {
        // `${Fn}:<alias>`
        let function = sub
            .strip_prefix("${")
            .and_then(|s| s.split_once("}:"))
            .map(|(f, _)| f);
        return match function {
            Some(f) if kind(f) == "AWS::Lambda::Function" => Dimension::Alias(f.to_owned()),
            _ => Dimension::Unknown,
        };
    }
    let attribute = v["Fn::GetAtt"][1].as_str();
    match (target(v), attribute) {
        (Some(id), _) if kind(id) == "AWS::Lambda::Version" => Dimension::NewVersion,
        (Some(id), None) if kind(id) == "AWS::Lambda::Function" => {
            Dimension::Function(id.to_owned())
        }
        (Some(id), Some("QueueName")) if kind(id) == "AWS::SQS::Queue" => {
            Dimension::Queue(id.to_owned())
        }
        _ => Dimension::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_new_versions_errors_and_a_queues_depth_are_read_with_their_dimensions() {
        let resources = json!({
            "Fn": {"Type": "AWS::Lambda::Function"},
            "FnVersion1a2b": {"Type": "AWS::Lambda::Version"},
            "Dlq": {"Type": "AWS::SQS::Queue"},
            "FnNewVersionErrors": {"Type": "AWS::CloudWatch::Alarm", "Properties": {
                "Namespace": "AWS/Lambda", "MetricName": "Errors", "Statistic": "Sum",
                "Period": 60, "EvaluationPeriods": 2, "Threshold": 0,
                "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching",
                "Dimensions": [
                    {"Name": "Resource", "Value": {"Fn::Sub": "${Fn}:live"}},
                    {"Name": "FunctionName", "Value": {"Ref": "Fn"}},
                    {"Name": "ExecutedVersion", "Value": {"Fn::GetAtt": ["FnVersion1a2b", "Version"]}}]}},
            "DlqDepth": {"Type": "AWS::CloudWatch::Alarm", "Properties": {
                "Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible",
                "Statistic": "Maximum", "Period": 60, "EvaluationPeriods": 1,
                "Threshold": {"Ref": "Depth"}, "ComparisonOperator": "GreaterThanThreshold",
                "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["Dlq", "QueueName"]}}]}},
            "FnNewVersionLatency": {"Type": "AWS::CloudWatch::Alarm", "Properties": {
                "Namespace": "app/todos", "MetricName": "Latency", "ExtendedStatistic": "p99",
                "Period": 60, "EvaluationPeriods": 1, "Threshold": 1000,
                "ComparisonOperator": "GreaterThanThreshold",
                "Dimensions": [{"Name": "version", "Value": {"Fn::GetAtt": ["FnVersion1a2b", "Version"]}}]}}
        });
        let resources = resources.as_object().unwrap();
        let parameters = json!({"Depth": {"Type": "Number", "Default": 0}});
        let errors = rollback_alarm("FnNewVersionErrors", resources, &parameters).unwrap();
        assert_eq!(
            errors.dimensions,
            [
                ("Resource".to_owned(), Dimension::Alias("Fn".into())),
                ("FunctionName".to_owned(), Dimension::Function("Fn".into())),
                ("ExecutedVersion".to_owned(), Dimension::NewVersion),
            ]
        );
        assert_eq!(
            (errors.period, errors.evaluation_periods, errors.datapoints),
            (60, 2, 2)
        );
        assert_eq!(
            (errors.threshold.as_str(), errors.missing.as_str()),
            ("0", "notBreaching")
        );
        let depth = rollback_alarm("DlqDepth", resources, &parameters).unwrap();
        assert_eq!(
            depth.dimensions,
            [("QueueName".to_owned(), Dimension::Queue("Dlq".into()))]
        );
        assert_eq!(
            (depth.threshold.as_str(), depth.missing.as_str()),
            ("0", "missing")
        );
        let latency = rollback_alarm("FnNewVersionLatency", resources, &parameters).unwrap();
        assert_eq!(
            (latency.statistic.as_str(), latency.dimensions[0].1.clone()),
            ("p99", Dimension::NewVersion)
        );
        assert_eq!(errors.statistic, "Sum");
        assert!(rollback_alarm("Fn", resources, &parameters).is_none());
    }
}
