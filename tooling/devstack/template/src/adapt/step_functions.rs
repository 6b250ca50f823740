//! Step Functions state machines. moto's CloudFormation (5.2.5) reads only
//! `DefinitionString`, `RoleArn`, `StateMachineName` and `Tags`: it ignores
//! `Definition`, `DefinitionSubstitutions` and `DefinitionS3Location`, and
//! its two-argument `Fn::Sub` runs Python's `string.Template`, which turns
//! `$$` into `$` and so breaks `$$.Task.Token`. So each machine's definition
//! becomes one `DefinitionString`: the definition as compact JSON with every
//! substitution expanded, as an `Fn::Join` of literal text and the
//! intrinsics it needs, which moto resolves as AWS would.
//!
//! The rest deploys as written: `LoggingConfiguration` (even with a `GetAtt`
//! to a log group), `TracingConfiguration` and `StateMachineType` are
//! ignored by moto without harm. A machine CloudFormation creates is not
//! runnable on moto's interpreter, so each is listed in the plan for the
//! local cloud to make runnable after the deploy.

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::{AdaptError, Stack};

/// A state machine the local cloud makes runnable once its stack is
/// deployed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StateMachinePlan {
    /// The logical id: the stack's resource whose physical id is the
    /// machine's ARN.
    pub logical_id: String,
    /// `StateMachineName` when the template names it; otherwise
    /// CloudFormation makes one up (`<stack>-<LogicalId>-<suffix>`).
    pub name: Option<String>,
}

/// A piece of the definition's text: literal, or an intrinsic that
/// CloudFormation resolves to text.
#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Value(Value),
}

/// `AWS::StepFunctions::StateMachine`: the definition as one
/// `DefinitionString`, and the machine in the plan.
pub(super) fn state_machine(st: &mut Stack, id: &str, props: &Value) -> Result<(), AdaptError> {
    if !props["DefinitionS3Location"].is_null() {
        return Err(st.unsupported(
            id,
            "DefinitionS3Location: the emulator's CloudFormation ignores it; put the definition in the template",
        ));
    }
    // moto's CloudFormation makes every machine STANDARD, and an Express
    // machine's semantics (at-least-once, no history, StartSyncExecution)
    // are not played locally.
    if props["StateMachineType"] == "EXPRESS" {
        return Err(st.unsupported(id, "Express state machines are not played locally"));
    }
    let definition = definition_string(props).map_err(|message| st.unsupported(id, &message))?;
    let Some(p) = st.resources[id]
        .get_mut("Properties")
        .and_then(Value::as_object_mut)
    else {
        return Err(st.unsupported(id, "has no Properties"));
    };
    p.remove("Definition");
    p.remove("DefinitionSubstitutions");
    p.insert("DefinitionString".into(), definition);
    st.plan.state_machines.push(StateMachinePlan {
        logical_id: id.to_owned(),
        name: props["StateMachineName"].as_str().map(str::to_owned),
    });
    Ok(())
}

/// The machine's definition with its substitutions expanded: a string, or
/// an `Fn::Join` when intrinsics remain.
fn definition_string(props: &Value) -> Result<Value, String> {
    let substitutions = props["DefinitionSubstitutions"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let parts = match (&props["Definition"], &props["DefinitionString"]) {
        (Value::Object(_), _) => definition_parts(&props["Definition"]),
        (_, Value::String(text)) => vec![Part::Text(text.clone())],
        (_, Value::Object(sub)) if sub.contains_key("Fn::Sub") => fn_sub_parts(&sub["Fn::Sub"])?,
        (_, Value::Null) => return Err("has neither Definition nor DefinitionString".into()),
        (_, other) if substitutions.is_empty() => return Ok(other.clone()),
        _ => {
            return Err(
                "DefinitionSubstitutions with a DefinitionString built by an intrinsic other than Fn::Sub".into(),
            );
        }
    };
    let mut out = Vec::new();
    for part in parts {
        match part {
            Part::Text(text) => out.extend(substitute(&text, &substitutions)?),
            value => out.push(value),
        }
    }
    Ok(joined(out))
}

/// `Definition` as compact JSON text. An intrinsic inside it (CloudFormation
/// resolves them in JSON properties) becomes a string-valued part.
fn definition_parts(v: &Value) -> Vec<Part> {
    let mut parts = Vec::new();
    write_json(v, &mut parts);
    parts
}

fn write_json(v: &Value, parts: &mut Vec<Part>) {
    match v {
        Value::Object(map) if is_intrinsic(map) => {
            parts.push(Part::Text("\"".into()));
            parts.push(Part::Value(v.clone()));
            parts.push(Part::Text("\"".into()));
        }
        Value::Object(map) => {
            parts.push(Part::Text("{".into()));
            for (i, (k, child)) in map.iter().enumerate() {
                let comma = if i == 0 { "" } else { "," };
                parts.push(Part::Text(format!("{comma}{}:", Value::from(k.as_str()))));
                write_json(child, parts);
            }
            parts.push(Part::Text("}".into()));
        }
        Value::Array(items) => {
            parts.push(Part::Text("[".into()));
            for (i, child) in items.iter().enumerate() {
                if i > 0 {
                    parts.push(Part::Text(",".into()));
                }
                write_json(child, parts);
            }
            parts.push(Part::Text("]".into()));
        }
        scalar => parts.push(Part::Text(scalar.to_string())),
    }
}

fn is_intrinsic(map: &Map<String, Value>) -> bool {
    map.len() == 1
        && map
            .keys()
            .all(|k| k == "Ref" || k == "Condition" || k.starts_with("Fn::"))
}

/// `Fn::Sub` as CloudFormation reads it: a name from its variable map, else
/// a parameter or resource (`${X}` → `Ref`, `${X.Attr}` → `GetAtt`);
/// `${!X}` is the literal `${X}`, left for `DefinitionSubstitutions`.
fn fn_sub_parts(sub: &Value) -> Result<Vec<Part>, String> {
    let (text, vars) = match sub {
        Value::String(t) => (t.as_str(), Map::new()),
        Value::Array(a) => match (a.first().and_then(Value::as_str), a.get(1)) {
            (Some(t), Some(Value::Object(vars))) => (t, vars.clone()),
            (Some(t), None) => (t, Map::new()),
            _ => return Err("a DefinitionString Fn::Sub that is not [text, variables]".into()),
        },
        _ => return Err("a DefinitionString Fn::Sub that is not text".into()),
    };
    let mut parts = Vec::new();
    for piece in split_variables(text) {
        parts.push(match piece {
            Piece::Text(t) => Part::Text(t.to_owned()),
            Piece::Variable(name) if name.starts_with('!') => {
                Part::Text(format!("${{{}}}", &name[1..]))
            }
            Piece::Variable(name) => match vars.get(name) {
                Some(v) => value_part(v),
                None => Part::Value(reference(name)),
            },
        });
    }
    Ok(parts)
}

/// `${X}` → `{"Ref": X}`; `${X.Attr}` → `{"Fn::GetAtt": [X, Attr]}`.
fn reference(name: &str) -> Value {
    match name.split_once('.') {
        Some((resource, attribute)) if !name.starts_with("AWS::") => {
            json!({"Fn::GetAtt": [resource, attribute]})
        }
        _ => json!({"Ref": name}),
    }
}

/// Each `${Name}` in `text` replaced by its value in `substitutions`;
/// one that names no substitution is refused, as AWS refuses it.
fn substitute(text: &str, substitutions: &Map<String, Value>) -> Result<Vec<Part>, String> {
    split_variables(text)
        .into_iter()
        .map(|piece| match piece {
            Piece::Text(t) => Ok(Part::Text(t.to_owned())),
            Piece::Variable(name) => substitutions
                .get(name)
                .map(value_part)
                .ok_or_else(|| format!("${{{name}}} names no DefinitionSubstitutions entry")),
        })
        .collect()
}

/// A substitution's value: strings, numbers and booleans inline, an
/// intrinsic as a part of its own.
fn value_part(v: &Value) -> Part {
    match v {
        Value::String(s) => Part::Text(s.clone()),
        Value::Number(_) | Value::Bool(_) => Part::Text(v.to_string()),
        other => Part::Value(other.clone()),
    }
}

#[derive(Debug, PartialEq)]
enum Piece<'t> {
    Text(&'t str),
    Variable(&'t str),
}

/// `text` cut at each `${Name}`. A name is what lies between `${` and the
/// next `}`, with no space, quote, `$` or `{` in it; anything else (a lone
/// `$`, `$$.Task.Token`, `$.path`) is text.
fn split_variables(text: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let name_len = after
            .find(|c: char| c == '}' || c.is_whitespace() || matches!(c, '"' | '$' | '{'))
            .filter(|&n| n > 0 && after[n..].starts_with('}'));
        match name_len {
            Some(n) => {
                if start > 0 {
                    pieces.push(Piece::Text(&rest[..start]));
                }
                pieces.push(Piece::Variable(&after[..n]));
                rest = &after[n + 1..];
            }
            None => {
                pieces.push(Piece::Text(&rest[..start + 2]));
                rest = after;
            }
        }
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest));
    }
    pieces
}

/// The parts as one value: adjacent text merged; a plain string when no
/// intrinsic remains.
fn joined(parts: Vec<Part>) -> Value {
    let mut out: Vec<Value> = Vec::new();
    for part in parts {
        match (part, out.last_mut()) {
            (Part::Text(t), Some(Value::String(last))) => last.push_str(&t),
            (Part::Text(t), _) => out.push(Value::String(t)),
            (Part::Value(v), _) => out.push(v),
        }
    }
    match out.as_slice() {
        [] => Value::String(String::new()),
        [Value::String(s)] => Value::String(s.clone()),
        _ => json!({"Fn::Join": ["", out]}),
    }
}

#[cfg(test)]
mod tests {
    use super::super::adapt;
    use super::*;

    fn template(props: Value) -> Value {
        json!({"Resources": {
            "Fn": {"Type": "AWS::Lambda::Function", "Metadata": {"BuildProperties": {"Binary": "svc-fn"}}, "Properties": {}},
            "Role": {"Type": "AWS::IAM::Role", "Properties": {}},
            "Flow": {"Type": "AWS::StepFunctions::StateMachine", "Properties": props}
        }})
    }

    fn adapted(props: Value) -> Result<(Value, super::super::Plan), AdaptError> {
        adapt("svc", &template(props))
    }

    fn callback_definition() -> Value {
        json!({"StartAt": "Wait", "States": {"Wait": {"Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "${FnArn}", "Payload": {"token.$": "$$.Task.Token", "input.$": "$"}},
            "End": true}}})
    }

    #[test]
    fn a_get_att_becomes_a_join_part_and_the_token_path_survives() {
        let (out, plan) = adapted(json!({
            "Definition": callback_definition(),
            "DefinitionSubstitutions": {"FnArn": {"Fn::GetAtt": ["Fn", "Arn"]}},
            "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
            "StateMachineType": "STANDARD"
        }))
        .unwrap();
        let p = &out["Resources"]["Flow"]["Properties"];
        assert!(p.get("Definition").is_none() && p.get("DefinitionSubstitutions").is_none());
        let parts = p["DefinitionString"]["Fn::Join"][1].as_array().unwrap();
        assert_eq!(parts.len(), 3, "{parts:?}");
        assert_eq!(parts[1], json!({"Fn::GetAtt": ["Fn", "Arn"]}));
        let text = format!(
            "{}ARN{}",
            parts[0].as_str().unwrap(),
            parts[2].as_str().unwrap()
        );
        let back: Value = serde_json::from_str(&text).unwrap();
        let params = &back["States"]["Wait"]["Parameters"];
        assert_eq!(params["FunctionName"], "ARN");
        assert_eq!(params["Payload"]["token.$"], "$$.Task.Token");
        assert_eq!(params["Payload"]["input.$"], "$");
        assert_eq!(
            plan.state_machines,
            [StateMachinePlan {
                logical_id: "Flow".into(),
                name: None
            }]
        );
    }

    #[test]
    fn an_unknown_substitution_is_refused_by_name() {
        let err = adapted(
            json!({"Definition": callback_definition(), "DefinitionSubstitutions": {"Other": "x"}}),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("svc/Flow") && err.contains("${FnArn}"),
            "{err}"
        );
    }

    #[test]
    fn a_definition_without_substitutions_still_becomes_a_definition_string() {
        let definition = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"t.$": "$$.Execution.Name"}, "End": true}}});
        let (out, plan) =
            adapted(json!({"Definition": definition, "StateMachineName": "flow"})).unwrap();
        let text = out["Resources"]["Flow"]["Properties"]["DefinitionString"]
            .as_str()
            .unwrap();
        assert_eq!(serde_json::from_str::<Value>(text).unwrap(), definition);
        assert_eq!(plan.state_machines[0].name.as_deref(), Some("flow"));
    }

    #[test]
    fn plain_substitutions_inline_and_a_two_argument_sub_keeps_its_references() {
        let (out, _) = adapted(json!({
            "DefinitionString": {"Fn::Sub": ["{\"A\":\"${Fn.Arn}\",\"B\":\"${Table}\",\"C\":\"$$.Task.Token\",\"D\":\"${!Later}\",\"E\":\"${AWS::Region}\"}",
                                             {"Table": "todos"}]},
            "DefinitionSubstitutions": {"Later": 7}
        }))
        .unwrap();
        assert_eq!(
            out["Resources"]["Flow"]["Properties"]["DefinitionString"],
            json!({"Fn::Join": ["", [
                "{\"A\":\"", {"Fn::GetAtt": ["Fn", "Arn"]}, "\",\"B\":\"todos\",\"C\":\"$$.Task.Token\",\"D\":\"7\",\"E\":\"",
                {"Ref": "AWS::Region"}, "\"}"]]})
        );
    }

    #[test]
    fn an_intrinsic_inside_definition_is_a_string_part() {
        let (out, _) = adapted(json!({"Definition": {"R": {"Ref": "Fn"}}})).unwrap();
        assert_eq!(
            out["Resources"]["Flow"]["Properties"]["DefinitionString"],
            json!({"Fn::Join": ["", ["{\"R\":\"", {"Ref": "Fn"}, "\"}"]]})
        );
    }

    #[test]
    fn what_is_not_a_variable_stays_text() {
        assert_eq!(
            split_variables("$$.a ${ x} ${y"),
            [
                Piece::Text("$$.a ${"),
                Piece::Text(" x} ${"),
                Piece::Text("y")
            ]
        );
        assert_eq!(
            split_variables("${a}b"),
            [Piece::Variable("a"), Piece::Text("b")]
        );
    }

    #[test]
    fn express_and_s3_definitions_are_refused() {
        let express = adapted(json!({"Definition": {}, "StateMachineType": "EXPRESS"}));
        assert!(express.unwrap_err().to_string().contains("Express"));
        let s3 = adapted(json!({"DefinitionS3Location": {"Bucket": "b", "Key": "k"}}));
        assert!(s3.unwrap_err().to_string().contains("DefinitionS3Location"));
    }
}
