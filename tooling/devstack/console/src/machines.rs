//! Which functions a state machine's tasks invoke, read from its
//! definition: what lets the map draw the state machine itself as the
//! caller of its tasks, where the invocation's hop knows only that Step
//! Functions called.

use serde_json::Value;

/// A state machine and the functions its tasks invoke, by their map names
/// (`<service>/<LogicalId>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    pub name: String,
    pub functions: Vec<String>,
}

/// The function names (physical, or as the definition gives them) that a
/// definition's tasks invoke: a Task whose `Resource` is a Lambda ARN, or
/// the `FunctionName` of a `lambda:invoke` integration, in every branch.
/// A name chosen at run time (`FunctionName.$`) names none.
pub fn task_functions(definition: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(definition, &mut out);
    out.sort();
    out.dedup();
    out
}

fn walk(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(fields) => {
            let resource = fields.get("Resource").and_then(Value::as_str);
            if let Some(arn) = resource.filter(|r| r.starts_with("arn:aws:lambda:")) {
                out.push(function_name(arn).to_owned());
            }
            if resource.is_some_and(|r| r.starts_with("arn:aws:states:::lambda:invoke")) {
                let named = fields["Parameters"]["FunctionName"].as_str();
                out.extend(named.map(|n| function_name(n).to_owned()));
            }
            fields.values().for_each(|v| walk(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
        _ => {}
    }
}

/// `arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]`, or
/// a bare name, as the function's physical name.
pub fn function_name(named: &str) -> &str {
    let name = named.split_once(":function:").map_or(named, |(_, n)| n);
    name.split(':').next().unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tasks_name_their_functions_by_arn_integration_or_in_a_branch() {
        let definition = json!({
            "StartAt": "Send",
            "States": {
                "Send": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                    "Parameters": {
                        "FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:campaigns-Send-1A:live",
                        "Payload.$": "$"
                    },
                    "Next": "Both"
                },
                "Both": {
                    "Type": "Parallel",
                    "Branches": [{
                        "StartAt": "Fail",
                        "States": {"Fail": {
                            "Type": "Task",
                            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:campaigns-Fail-2B",
                            "End": true
                        }}
                    }],
                    "Next": "Chosen"
                },
                "Chosen": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName.$": "$.target"},
                    "Next": "Pause"
                },
                "Pause": {"Type": "Wait", "Seconds": 1, "End": true}
            }
        });
        assert_eq!(
            task_functions(&definition),
            ["campaigns-Fail-2B", "campaigns-Send-1A"]
        );
    }
}
