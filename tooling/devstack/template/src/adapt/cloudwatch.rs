//! CloudWatch: alarms are dropped (see the module doc of [`super`]), and a
//! dashboard's body, text for people, names what the local cloud plays or
//! drops by its logical id.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::{target, type_of};

/// A dashboard's body is for people: what the local cloud plays or
/// dropped is named by its logical id (moto stores the body unread).
pub(super) fn name_in_dashboards(resources: &mut Map<String, Value>, removed: &BTreeSet<String>) {
    for r in resources
        .values_mut()
        .filter(|r| type_of(r) == "AWS::CloudWatch::Dashboard")
    {
        name_in_text(&mut r["Properties"], removed);
    }
}

/// Replaces each reference to one of `ids` by the id as text: `Ref` and
/// `GetAtt` values, and `${Id}` or `${Id.Attribute}` in a Sub's text.
fn name_in_text(v: &mut Value, ids: &BTreeSet<String>) {
    if let Some(id) = target(v).filter(|t| ids.contains(*t)) {
        *v = Value::from(id.to_owned());
        return;
    }
    if let Some(sub) = v.get_mut("Fn::Sub") {
        let text = match sub {
            Value::Array(parts) => parts.get_mut(0),
            other => Some(other),
        };
        if let Some(Value::String(text)) = text {
            let mut out = String::with_capacity(text.len());
            let mut rest = text.as_str();
            while let Some(start) = rest.find("${") {
                out.push_str(&rest[..start]);
                let after = &rest[start..];
                let Some(end) = after.find('}') else {
                    rest = after;
                    break;
                };
                let name = after[2..end].split('.').next().unwrap_or_default();
                if ids.contains(name) {
                    out.push_str(name);
                } else {
                    out.push_str(&after[..=end]);
                }
                rest = &after[end + 1..];
            }
            out.push_str(rest);
            *text = out;
        }
    }
    match v {
        Value::Object(map) => map.values_mut().for_each(|c| name_in_text(c, ids)),
        Value::Array(items) => items.iter_mut().for_each(|c| name_in_text(c, ids)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::adapt;
    use super::super::tests::template;

    #[test]
    fn alarms_are_dropped_and_a_dashboard_names_what_the_local_cloud_plays() {
        let mut t = template();
        let ops = json!({"Fn::ImportValue": {"Fn::Sub": "${PlatformStack}-OpsTopicArn"}});
        t["Resources"]["ApiAlarm"] = json!({"Type": "AWS::CloudWatch::Alarm", "Properties": {
            "Metrics": [{"Id": "errors", "MetricStat": {"Metric": {"Namespace": "AWS/ApiGateway", "MetricName": "5xx",
                "Dimensions": [{"Name": "ApiId", "Value": {"Ref": "Api"}}]}, "Period": 300, "Stat": "Sum"}}],
            "AlarmActions": [ops.clone()], "OKActions": [ops]}});
        t["Resources"]["QueueAlarm"] = json!({"Type": "AWS::CloudWatch::Alarm", "Properties": {
            "Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["DlqQueue", "QueueName"]}}]}});
        t["Resources"]["Board"] = json!({"Type": "AWS::CloudWatch::Dashboard", "Properties": {
            "DashboardName": {"Fn::Sub": "${AWS::StackName}-${AWS::Region}"},
            "DashboardBody": {"Fn::Sub": "{\"alarms\": [\"${ApiAlarm.Arn}\"], \"api\": \"${Api}\", \"fn\": \"${Fn}\", \"q\": \"${DlqQueue.QueueName}\", \"r\": \"${AWS::Region}\", \"lit\": \"${!Api}\"}"}}});
        t["Resources"]["Fn"]["Properties"]["TracingConfig"] = json!({"Mode": "Active"});
        let (out, _) = adapt("svc", &t).unwrap();
        for gone in ["ApiAlarm", "QueueAlarm"] {
            assert!(out["Resources"].get(gone).is_none(), "{gone}");
        }
        let board = &out["Resources"]["Board"]["Properties"];
        assert_eq!(
            board["DashboardBody"]["Fn::Sub"],
            "{\"alarms\": [\"ApiAlarm\"], \"api\": \"Api\", \"fn\": \"${Fn}\", \"q\": \"${DlqQueue.QueueName}\", \"r\": \"${AWS::Region}\", \"lit\": \"${!Api}\"}",
            "what the emulator has stays a reference"
        );
        assert_eq!(
            board["DashboardName"],
            json!({"Fn::Sub": "${AWS::StackName}-${AWS::Region}"})
        );
        assert_eq!(
            out["Resources"]["Fn"]["Properties"]["TracingConfig"],
            json!({"Mode": "Active"}),
            "the emulator ignores active tracing; it deploys as written"
        );
    }
}
