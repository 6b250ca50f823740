//! Gradual deployment as SAM writes it (`AutoPublishAlias`,
//! `DeploymentPreference`): a version and an alias per function, every
//! event source pointing at the alias, and CodeDeploy's application, a
//! deployment group per function and its service role. The emulator has no
//! CodeDeploy, and the local cloud runs the alias's versions itself: here
//! the alias is the function. Each reference to an alias (or a version)
//! becomes the function's, and the versions, aliases and CodeDeploy's
//! resources leave the template; each function's preference is kept in
//! the plan ([`GradualDeploy`]) with its alarms, which `devstack deploy`
//! plays.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::alarms::{RollbackAlarm, rollback_alarm};
use super::resources::{sub_text, target, type_of};

/// One function's gradual deployment, as its template asks for it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GradualDeploy {
    /// The function's logical id.
    pub function: String,
    /// The alias's name (`live`).
    pub alias: String,
    /// CodeDeploy's configuration (`CodeDeployDefault.LambdaCanary10Percent5Minutes`).
    pub config: String,
    /// The alarms that stop it, as their template defines them.
    pub alarms: Vec<RollbackAlarm>,
    /// The alarms it names that the local cloud cannot read (not an alarm
    /// of this stack on one metric), by logical id.
    pub unread_alarms: Vec<String>,
    /// The function CodeDeploy invokes before any traffic shifts
    /// (`Hooks: PreTraffic`), by logical id.
    pub pre_traffic: Option<String>,
    /// The function CodeDeploy invokes once all of it has shifted
    /// (`Hooks: PostTraffic`), by logical id.
    pub post_traffic: Option<String>,
}

const GONE: [&str; 4] = [
    "AWS::Lambda::Version",
    "AWS::Lambda::Alias",
    "AWS::CodeDeploy::Application",
    "AWS::CodeDeploy::DeploymentGroup",
];

/// The template with its aliases collapsed onto their functions; the
/// deployments they stood for.
pub(super) fn collapse(template: &mut Value) -> Vec<GradualDeploy> {
    let parameters = template["Parameters"].clone();
    let Some(resources) = template.get("Resources").and_then(Value::as_object) else {
        return Vec::new();
    };
    let stands_for: BTreeMap<String, Stand> = (resources.iter())
        .filter_map(|(id, r)| {
            let version = match type_of(r) {
                "AWS::Lambda::Version" => true,
                "AWS::Lambda::Alias" => false,
                _ => return None,
            };
            let function = target(&r["Properties"]["FunctionName"])?.to_owned();
            Some((id.clone(), Stand { function, version }))
        })
        .collect();
    if stands_for.is_empty() {
        return Vec::new();
    }
    let deployments = deployments(resources, &parameters);
    let mut gone: BTreeSet<String> = (resources.iter())
        .filter(|(_, r)| GONE.contains(&type_of(r)))
        .map(|(id, _)| id.clone())
        .collect();
    gone.extend(service_roles(resources));
    let resources = template["Resources"]
        .as_object_mut()
        .expect("checked above");
    resources.retain(|id, _| !gone.contains(id));
    for r in resources.values_mut() {
        if let Some(deps) = r.get_mut("DependsOn") {
            drop_dependencies(deps, &gone);
        }
    }
    for section in ["Resources", "Outputs"] {
        if let Some(v) = template.get_mut(section) {
            retarget(v, &stands_for);
        }
    }
    deployments
}

/// Each alias's deployment group: its configuration and alarms.
fn deployments(resources: &Map<String, Value>, parameters: &Value) -> Vec<GradualDeploy> {
    let group = |alias: &Value| {
        let name =
            target(&alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]["DeploymentGroupName"])?;
        resources.get(name)
    };
    (resources.values())
        .filter(|r| type_of(r) == "AWS::Lambda::Alias")
        .filter_map(|alias| {
            let group = group(alias)?;
            let config = &group["Properties"]["DeploymentConfigName"];
            let names: Vec<&str> = (group["Properties"]["AlarmConfiguration"]["Alarms"].as_array())
                .into_iter()
                .flatten()
                .filter_map(|a| target(&a["Name"]))
                .collect();
            // Each alarm read once: what it defines, or its name alone.
            let (mut alarms, mut unread_alarms) = (Vec::new(), Vec::new());
            for id in &names {
                match rollback_alarm(id, resources, parameters) {
                    Some(alarm) => alarms.push(alarm),
                    None => unread_alarms.push((*id).to_owned()),
                }
            }
            let update = &alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"];
            Some(GradualDeploy {
                pre_traffic: target(&update["BeforeAllowTrafficHook"]).map(str::to_owned),
                post_traffic: target(&update["AfterAllowTrafficHook"]).map(str::to_owned),
                function: target(&alias["Properties"]["FunctionName"])?.to_owned(),
                alias: alias["Properties"]["Name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                config: config_name(config, parameters),
                alarms,
                unread_alarms,
            })
        })
        .collect()
}

/// `CodeDeployDefault.Lambda<Type>`, as SAM writes it: a `Fn::Sub` whose
/// variable is the type's parameter, read at its default.
fn config_name(v: &Value, parameters: &Value) -> String {
    let Some(items) = v["Fn::Sub"].as_array() else {
        return v.as_str().unwrap_or_default().to_owned();
    };
    let mut text = items
        .first()
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    for (name, value) in items
        .get(1)
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let value = super::conditions::value(value, parameters).unwrap_or_default();
        text = text.replace(&format!("${{{name}}}"), &value);
    }
    text
}

/// The roles only deployment groups use (SAM's `CodeDeployServiceRole`).
fn service_roles(resources: &Map<String, Value>) -> Vec<String> {
    (resources.values())
        .filter(|r| type_of(r) == "AWS::CodeDeploy::DeploymentGroup")
        .filter_map(|g| target(&g["Properties"]["ServiceRoleArn"]).map(str::to_owned))
        .collect()
}

fn drop_dependencies(deps: &mut Value, gone: &BTreeSet<String>) {
    match deps {
        Value::Array(items) => items.retain(|d| d.as_str().is_none_or(|d| !gone.contains(d))),
        Value::String(d) if gone.contains(d.as_str()) => *deps = json!([]),
        _ => {}
    }
}

/// What an alias or a version stands for locally.
struct Stand {
    function: String,
    version: bool,
}

impl Stand {
    /// The `Sub` text it is replaced by.
    fn text(&self) -> String {
        let arn = format!("${{{}.Arn}}", self.function);
        if self.version { arn + ":$LATEST" } else { arn }
    }
}

/// Every `Ref` of an alias, and its `${...}` in a `Sub`, as the function's
/// ARN; of a version, as the function's `$LATEST`.
fn retarget(v: &mut Value, stands_for: &BTreeMap<String, Stand>) {
    match v {
        Value::Object(map) => {
            if let Some(stand) = map
                .get("Ref")
                .and_then(Value::as_str)
                .and_then(|r| stands_for.get(r))
            {
                let arn = json!({ "Fn::GetAtt": [stand.function, "Arn"] });
                *v = if stand.version {
                    json!({ "Fn::Join": ["", [arn, ":$LATEST"]] })
                } else {
                    arn
                };
                return;
            }
            if let Some(text) = sub_text(map) {
                for (id, stand) in stands_for {
                    *text = text.replace(&format!("${{{id}}}"), &stand.text());
                }
            }
            map.values_mut().for_each(|c| retarget(c, stands_for));
        }
        Value::Array(items) => items.iter_mut().for_each(|c| retarget(c, stands_for)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What SAM makes of a function with `AutoPublishAlias: live` and a
    /// canary preference, an HTTP route and a rule (translated by
    /// aws-sam-translator).
    fn translated() -> Value {
        json!({"Parameters": {"DeploymentType": {"Type": "String", "Default": "Canary10Percent5Minutes"}},
            "Resources": {
            "Fn": {"Type": "AWS::Lambda::Function", "Properties": {}},
            "FnVersion03ba323aca": {"Type": "AWS::Lambda::Version", "DeletionPolicy": "Retain",
                "Properties": {"FunctionName": {"Ref": "Fn"}}},
            "FnAliaslive": {"Type": "AWS::Lambda::Alias",
                "UpdatePolicy": {"CodeDeployLambdaAliasUpdate": {
                    "ApplicationName": {"Ref": "ServerlessDeploymentApplication"},
                    "BeforeAllowTrafficHook": {"Ref": "Hook"},
                    "AfterAllowTrafficHook": {"Ref": "After"},
                    "DeploymentGroupName": {"Ref": "FnDeploymentGroup"}}},
                "Properties": {"Name": "live", "FunctionName": {"Ref": "Fn"},
                    "FunctionVersion": {"Fn::GetAtt": ["FnVersion03ba323aca", "Version"]}}},
            "Hook": {"Type": "AWS::Lambda::Function", "Properties": {
                "Environment": {"Variables": {"NEW_VERSION": {"Ref": "FnVersion03ba323aca"}}}}},
            "FnRule": {"Type": "AWS::Events::Rule", "Properties": {
                "Targets": [{"Arn": {"Ref": "FnAliaslive"}, "Id": "T"}]}},
            "FnRulePermission": {"Type": "AWS::Lambda::Permission", "Properties": {
                "FunctionName": {"Ref": "FnAliaslive"}}},
            "Api": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"Body": {"uri": {"Fn::Sub":
                "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${FnAliaslive}/invocations"}}}},
            "ServerlessDeploymentApplication": {"Type": "AWS::CodeDeploy::Application",
                "Properties": {"ComputePlatform": "Lambda"}},
            "CodeDeployServiceRole": {"Type": "AWS::IAM::Role", "Properties": {}},
            "FnDeploymentGroup": {"Type": "AWS::CodeDeploy::DeploymentGroup", "Properties": {
                "ServiceRoleArn": {"Fn::GetAtt": ["CodeDeployServiceRole", "Arn"]},
                "DeploymentConfigName": {"Fn::Sub": ["CodeDeployDefault.Lambda${ConfigName}",
                    {"ConfigName": {"Ref": "DeploymentType"}}]},
                "AlarmConfiguration": {"Enabled": true, "Alarms": [{"Name": {"Ref": "FnErrors"}}, {"Name": {"Ref": "Elsewhere"}}]}}},
            "FnErrors": {"Type": "AWS::CloudWatch::Alarm", "Properties": {
                "Namespace": "AWS/Lambda", "MetricName": "Errors", "Statistic": "Sum",
                "Period": 60, "EvaluationPeriods": 1, "Threshold": 0,
                "ComparisonOperator": "GreaterThanThreshold",
                "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": "Fn"}}]}},
            "Uses": {"Type": "AWS::SQS::Queue", "DependsOn": ["FnAliaslive", "Fn"], "Properties": {}}
        }})
    }

    #[test]
    fn an_alias_is_its_function_and_codedeploy_leaves_with_the_preference_kept() {
        let mut t = translated();
        let deployments = collapse(&mut t);
        let r = &t["Resources"];
        let left: Vec<&String> = r.as_object().unwrap().keys().collect();
        assert_eq!(
            left,
            [
                "Api",
                "Fn",
                "FnErrors",
                "FnRule",
                "FnRulePermission",
                "Hook",
                "Uses"
            ]
        );
        assert_eq!(
            r["FnRule"]["Properties"]["Targets"][0]["Arn"],
            json!({"Fn::GetAtt": ["Fn", "Arn"]})
        );
        assert_eq!(
            r["FnRulePermission"]["Properties"]["FunctionName"],
            json!({"Fn::GetAtt": ["Fn", "Arn"]})
        );
        let uri = r["Api"]["Properties"]["Body"]["uri"]["Fn::Sub"]
            .as_str()
            .unwrap();
        assert!(uri.contains("functions/${Fn.Arn}/invocations"), "{uri}");
        assert_eq!(r["Uses"]["DependsOn"], json!(["Fn"]));
        assert_eq!(
            r["Hook"]["Properties"]["Environment"]["Variables"]["NEW_VERSION"],
            json!({"Fn::Join": ["", [{"Fn::GetAtt": ["Fn", "Arn"]}, ":$LATEST"]]}),
            "the version a hook tests is the newest code"
        );
        let [deployment] = &deployments[..] else {
            panic!("one deployment: {deployments:?}")
        };
        assert_eq!(
            (deployment.function.as_str(), deployment.alias.as_str()),
            ("Fn", "live")
        );
        assert_eq!(
            deployment.config,
            "CodeDeployDefault.LambdaCanary10Percent5Minutes"
        );
        let alarms: Vec<&str> = deployment.alarms.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(alarms, ["FnErrors"]);
        assert_eq!(deployment.unread_alarms, ["Elsewhere"]);
        assert_eq!(deployment.pre_traffic.as_deref(), Some("Hook"));
        assert_eq!(deployment.post_traffic.as_deref(), Some("After"));
    }

    #[test]
    fn a_template_without_aliases_is_left_alone() {
        let mut t = json!({"Resources": {"Fn": {"Type": "AWS::Lambda::Function"}}});
        let before = t.clone();
        assert!(collapse(&mut t).is_empty());
        assert_eq!(t, before);
    }
}
