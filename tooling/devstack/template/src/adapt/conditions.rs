//! A template's `Conditions`, evaluated with its parameters' defaults (the
//! values the local cloud deploys): a resource or output whose condition
//! is false is not deployed, so it leaves the template before anything
//! else is adapted, as CloudFormation would never create it. What cannot
//! be evaluated is refused by name. Each `Fn::If` is then resolved to its
//! branch, and `AWS::NoValue` takes its property or list item away, so the
//! families read what CloudFormation would deploy (a conditional origin
//! of a distribution, say).

use serde_json::{Map, Value};

use super::{AdaptError, unsupported};

/// The region every local stack is in.
pub(super) const REGION: &str = "us-east-1";
/// The account every local stack is in (the emulator's).
pub(super) const ACCOUNT: &str = "123456789012";

/// Drops the resources and outputs whose `Condition` is false.
pub(super) fn drop_false(stack: &str, template: &mut Value) -> Result<(), AdaptError> {
    let conditions = template["Conditions"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    if conditions.is_empty() {
        return Ok(());
    }
    let parameters = template["Parameters"].clone();
    let holds = |name: &str, owner: &str| -> Result<bool, AdaptError> {
        evaluate(&Value::from(name), &conditions, &parameters, true).ok_or_else(|| {
            unsupported(
                stack,
                owner,
                &format!("condition {name} cannot be evaluated locally"),
            )
        })
    };
    for section in ["Resources", "Outputs"] {
        let Some(items) = template.get(section).and_then(Value::as_object) else {
            continue;
        };
        let mut gone = Vec::new();
        for (id, item) in items {
            if let Some(name) = item["Condition"].as_str()
                && !holds(name, id)?
            {
                gone.push(id.clone());
            }
        }
        let items = template[section].as_object_mut().expect("checked above");
        for id in gone {
            items.remove(&id);
        }
    }
    for section in ["Resources", "Outputs"] {
        if let Some(items) = template.get_mut(section) {
            resolve_ifs(items, &conditions, &parameters);
        }
    }
    Ok(())
}

/// Replaces each `Fn::If` whose condition evaluates by its branch; drops
/// what resolves to `AWS::NoValue`. An `Fn::If` on a condition that cannot
/// be evaluated stays for the emulator.
fn resolve_ifs(v: &mut Value, conditions: &Map<String, Value>, parameters: &Value) {
    let no_value = |v: &Value| v.get("Ref").and_then(Value::as_str) == Some("AWS::NoValue");
    if let Some([name, yes, no]) = v.get("Fn::If").and_then(Value::as_array).map(Vec::as_slice)
        && let Some(holds) = evaluate(name, conditions, parameters, true)
    {
        *v = if holds { yes.clone() } else { no.clone() };
        return resolve_ifs(v, conditions, parameters);
    }
    match v {
        Value::Object(map) => {
            for item in map.values_mut() {
                resolve_ifs(item, conditions, parameters);
            }
            map.retain(|_, item| !no_value(item));
        }
        Value::Array(items) => {
            for item in items.iter_mut() {
                resolve_ifs(item, conditions, parameters);
            }
            items.retain(|item| !no_value(item));
        }
        _ => {}
    }
}

/// A condition (by name, when `named`) or a condition function's value.
fn evaluate(
    v: &Value,
    conditions: &Map<String, Value>,
    parameters: &Value,
    named: bool,
) -> Option<bool> {
    if named {
        return evaluate(conditions.get(v.as_str()?)?, conditions, parameters, false);
    }
    let (function, args) = v.as_object()?.iter().next()?;
    let args = args.as_array();
    let each = || {
        args.into_iter()
            .flatten()
            .map(|a| evaluate(a, conditions, parameters, false))
    };
    match function.as_str() {
        "Fn::Equals" => {
            let args = args?;
            Some(value(args.first()?, parameters)? == value(args.get(1)?, parameters)?)
        }
        "Fn::Not" => Some(!evaluate(args?.first()?, conditions, parameters, false)?),
        "Fn::And" => each()
            .collect::<Option<Vec<_>>>()
            .map(|all| all.iter().all(|b| *b)),
        "Fn::Or" => each()
            .collect::<Option<Vec<_>>>()
            .map(|all| all.iter().any(|b| *b)),
        "Condition" => evaluate(&v["Condition"], conditions, parameters, true),
        _ => None,
    }
}

/// A literal, or a parameter's default or a pseudo parameter (`Ref`).
pub(super) fn value(v: &Value, parameters: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => match v.get("Ref")?.as_str()? {
            "AWS::Region" => Some(REGION.to_owned()),
            "AWS::AccountId" => Some(ACCOUNT.to_owned()),
            "AWS::Partition" => Some("aws".to_owned()),
            name => match &parameters[name]["Default"] {
                Value::String(s) => Some(s.clone()),
                Value::Null => None,
                other => Some(other.to_string()),
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn template(domain: &str) -> Value {
        json!({
            "Parameters": {"DomainName": {"Type": "String", "Default": domain}},
            "Conditions": {
                "HasDomain": {"Fn::Not": [{"Fn::Equals": [{"Ref": "DomainName"}, ""]}]},
                "HasDomainHere": {"Fn::And": [{"Condition": "HasDomain"}, {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}]}
            },
            "Resources": {
                "Always": {"Type": "AWS::SNS::Topic"},
                "Cert": {"Type": "AWS::CertificateManager::Certificate", "Condition": "HasDomainHere"}
            },
            "Outputs": {"Domain": {"Condition": "HasDomain", "Value": {"Ref": "DomainName"}}}
        })
    }

    #[test]
    fn what_a_false_condition_guards_is_not_deployed() {
        let mut without = template("");
        drop_false("s", &mut without).unwrap();
        assert!(without["Resources"].get("Cert").is_none());
        assert!(without["Outputs"].get("Domain").is_none());
        assert!(without["Resources"].get("Always").is_some());
        let mut with = template("example.test");
        drop_false("s", &mut with).unwrap();
        assert!(with["Resources"].get("Cert").is_some());
        assert!(with["Outputs"].get("Domain").is_some());
    }

    #[test]
    fn an_if_becomes_its_branch_and_no_value_takes_its_place_away() {
        for (domain, aliases, items) in [
            ("", None, 1),
            ("example.test", Some(json!(["example.test"])), 2),
        ] {
            let mut t = template(domain);
            t["Resources"]["Dist"] = json!({"Type": "AWS::CloudFront::Distribution", "Properties": {
                "Aliases": {"Fn::If": ["HasDomain", [{"Ref": "DomainName"}], {"Ref": "AWS::NoValue"}]},
                "Origins": [{"Id": "site"}, {"Fn::If": ["HasDomain", {"Id": "page"}, {"Ref": "AWS::NoValue"}]}],
                "Other": {"Fn::If": ["Unknown", 1, 2]}}});
            drop_false("s", &mut t).unwrap();
            let props = &t["Resources"]["Dist"]["Properties"];
            assert_eq!(
                props.get("Aliases").map(|a| a[0]["Ref"].clone()),
                aliases.map(|_| json!("DomainName"))
            );
            assert_eq!(props["Origins"].as_array().unwrap().len(), items);
            assert!(
                props["Other"].get("Fn::If").is_some(),
                "an unknown condition stays"
            );
        }
    }

    #[test]
    fn a_condition_it_cannot_evaluate_is_refused_by_name() {
        let mut t = template("");
        t["Conditions"]["HasDomain"] = json!({"Fn::Contains": [["a"], "a"]});
        let refused = drop_false("s", &mut t).unwrap_err().to_string();
        assert!(refused.contains("HasDomain"), "{refused}");
    }
}
