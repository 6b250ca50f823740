//! Bus rules: a Lambda target makes the emulator's PutEvents fail with 500,
//! so it becomes an SQS tap queue that the local cloud polls. Every
//! delivery is judged, so the tap's policy lets its rule send: the tap
//! stands in for the function, whose own policy the local cloud judges
//! when it invokes it from the tap (a function without a permission for
//! the rule gets nothing, as on AWS, and the trail names the function).

use serde::Serialize;
use serde_json::{Value, json};

use super::{Stack, target};

/// A bus rule whose function target became a tap queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleTap {
    pub rule: String,
    /// The stack's own bus the rule is on (its logical id), when it is
    /// not the platform's: a team's inbox.
    pub bus: Option<String>,
    pub function: String,
    pub tap_queue: String,
}

/// `AWS::Events::Rule`: its function targets point at tap queues instead;
/// its other targets stay.
pub(super) fn rule(st: &mut Stack, id: &str) {
    let targets = st.resources[id]["Properties"]["Targets"]
        .as_array_mut()
        .map(std::mem::take)
        .unwrap_or_default();
    let bus = st.resources[id]["Properties"]["EventBusName"]["Ref"]
        .as_str()
        .filter(|b| st.resources[*b]["Type"] == "AWS::Events::EventBus")
        .map(str::to_owned);
    let mut kept = Vec::new();
    for mut t in targets {
        match target(&t["Arn"]).filter(|f| st.functions.contains(*f)) {
            Some(function) => {
                let tap = format!("{id}Tap");
                st.plan.rules.push(RuleTap {
                    rule: id.to_owned(),
                    bus: bus.clone(),
                    function: function.to_owned(),
                    tap_queue: tap.clone(),
                });
                st.added
                    .insert(tap.clone(), json!({"Type": "AWS::SQS::Queue"}));
                st.added
                    .insert(format!("{tap}Policy"), tap_policy(&tap, id));
                t["Arn"] = json!({"Fn::GetAtt": [tap, "Arn"]});
                kept.push(t);
            }
            None => kept.push(t),
        }
    }
    st.resources[id]["Properties"]["Targets"] = Value::Array(kept);
}

/// The tap's policy: EventBridge may send to it for rule `id` alone.
fn tap_policy(tap: &str, id: &str) -> Value {
    json!({
        "Type": "AWS::SQS::QueuePolicy",
        "Properties": {
            "Queues": [{"Ref": tap}],
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": {"Fn::GetAtt": [tap, "Arn"]},
                    "Condition": {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [id, "Arn"]}}}
                }]
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::adapt;
    use super::super::tests::template;
    use super::*;

    #[test]
    fn lambda_rule_targets_become_tap_queues_and_other_targets_stay() {
        let (out, plan) = adapt("svc", &template()).unwrap();
        assert_eq!(
            plan.rules,
            [RuleTap {
                rule: "Rule".into(),
                bus: None,
                function: "Fn".into(),
                tap_queue: "RuleTap".into()
            }]
        );
        let targets = &out["Resources"]["Rule"]["Properties"]["Targets"];
        assert_eq!(targets[0]["Arn"], json!({"Fn::GetAtt": ["RuleTap", "Arn"]}));
        assert_eq!(
            targets[1]["Arn"],
            json!({"Fn::GetAtt": ["DlqQueue", "Arn"]})
        );
        assert_eq!(out["Resources"]["RuleTap"]["Type"], "AWS::SQS::Queue");
        let statement =
            &out["Resources"]["RuleTapPolicy"]["Properties"]["PolicyDocument"]["Statement"][0];
        assert_eq!(
            statement["Condition"]["ArnEquals"]["aws:SourceArn"],
            json!({"Fn::GetAtt": ["Rule", "Arn"]})
        );
    }

    #[test]
    fn a_rule_on_the_stacks_own_bus_names_that_bus() {
        let mut t = template();
        t["Resources"]["Inbox"] =
            json!({"Type": "AWS::Events::EventBus", "Properties": {"Name": "inbox"}});
        t["Resources"]["Rule"]["Properties"]["EventBusName"] = json!({"Ref": "Inbox"});
        let (_, plan) = adapt("svc", &t).unwrap();
        assert_eq!(plan.rules[0].bus.as_deref(), Some("Inbox"));
    }
}
