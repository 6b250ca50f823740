//! Functions, their async settings, and the event-source mappings the local
//! cloud plays as stream pollers.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;

use super::{AdaptError, Stack, mentions_any, target, type_of};

/// A function the local cloud runs: its binary, and AWS's async settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FunctionPlan {
    pub logical_id: String,
    pub binary: String,
    pub timeout_seconds: u64,
    /// The topic (logical id) a failed async event is published to.
    pub dead_letter_topic: Option<String>,
    /// Async retries after the first attempt (AWS's default is 2).
    pub max_retries: u32,
    /// How long an async event may wait in Lambda's queue (AWS's default,
    /// and longest, is six hours).
    pub max_event_age_seconds: u64,
}

/// A DynamoDB stream the local cloud polls for a function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StreamSource {
    pub function: String,
    pub table: String,
    pub batch_size: u32,
    pub bisect_on_error: bool,
    /// `-1` retries until the record expires, as on AWS.
    pub max_retries: i64,
    pub on_failure_topic: Option<String>,
    pub starting_position: String,
    pub report_batch_item_failures: bool,
}

/// A function's URL, which the local cloud serves itself: the local CDN
/// reaches the function through it as CloudFront's origin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FunctionUrlPlan {
    pub logical_id: String,
    pub function: String,
    /// `AWS_IAM` (signed callers only, judged by the function's policy
    /// for `lambda:InvokeFunctionUrl`) or `NONE`.
    pub auth_type: String,
    /// `https://<id>.lambda-url.us-east-1.on.aws/`, pinned from the stack
    /// and logical id, as `Fn::GetAtt <Url>.FunctionUrl` reads.
    pub url: String,
}

impl FunctionUrlPlan {
    pub fn host(&self) -> &str {
        let rest = self.url.trim_start_matches("https://");
        rest.split('/').next().unwrap_or(rest)
    }
}

/// The URL a function's `AWS::Lambda::Url` gets locally: 32 characters of
/// Lambda's alphabet, from the stack and logical id.
pub fn local_function_url(stack: &str, logical_id: &str) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let id = super::pinned_id(&format!("{stack}/{logical_id}"), ALPHABET, 32);
    format!("https://{id}.lambda-url.us-east-1.on.aws/")
}

/// `AWS::Lambda::Url`: planned and served by the local cloud (the
/// emulator's CloudFormation has no model for it).
pub(super) fn function_url(st: &mut Stack, id: &str, props: &Value) -> Result<(), AdaptError> {
    let function = target(&props["TargetFunctionArn"])
        .filter(|f| st.functions.contains(*f))
        .ok_or_else(|| st.unsupported(id, "a function URL must name a function of the stack"))?
        .to_owned();
    st.plan.function_urls.push(FunctionUrlPlan {
        logical_id: id.to_owned(),
        function,
        auth_type: props["AuthType"].as_str().unwrap_or("AWS_IAM").to_owned(),
        url: local_function_url(st.name, id),
    });
    st.removed.insert(id.to_owned());
    Ok(())
}

/// `Fn::GetAtt <Url>.FunctionUrl` (and `${Url.FunctionUrl}` in a `Sub`)
/// as the pinned local URL.
pub(super) fn pin_function_urls(v: &mut Value, urls: &[FunctionUrlPlan]) {
    let at = v.get("Fn::GetAtt").and_then(Value::as_array).and_then(|a| {
        let (id, attribute) = (a.first()?.as_str()?, a.get(1)?.as_str()?);
        (attribute == "FunctionUrl").then_some(id)
    });
    if let Some(u) = at.and_then(|id| urls.iter().find(|u| u.logical_id == id)) {
        *v = Value::from(u.url.as_str());
        return;
    }
    match v {
        Value::Object(map) => {
            if let Some(text) = super::resources::sub_text(map) {
                for u in urls {
                    *text = text.replace(&format!("${{{}.FunctionUrl}}", u.logical_id), &u.url);
                }
            }
            map.values_mut().for_each(|c| pin_function_urls(c, urls));
        }
        Value::Array(items) => items.iter_mut().for_each(|c| pin_function_urls(c, urls)),
        _ => {}
    }
}

/// The stack's functions, known before any other resource is adapted: the
/// other families ask whether a target is one of them.
pub(super) fn functions(st: &mut Stack) -> Result<(), AdaptError> {
    st.functions = st
        .resources
        .iter()
        .filter(|(_, r)| type_of(r) == "AWS::Lambda::Function")
        .map(|(id, _)| id.clone())
        .collect::<BTreeSet<String>>();
    for id in &st.functions {
        let r = &st.resources[id];
        let binary = r["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .ok_or_else(|| {
                st.unsupported(id, "a function needs Metadata.BuildProperties.Binary")
            })?;
        st.plan.functions.push(FunctionPlan {
            logical_id: id.clone(),
            binary: binary.to_owned(),
            timeout_seconds: r["Properties"]["Timeout"].as_u64().unwrap_or(3),
            dead_letter_topic: target(&r["Properties"]["DeadLetterConfig"]["TargetArn"])
                .map(str::to_owned),
            max_retries: 2,
            max_event_age_seconds: 21_600,
        });
    }
    Ok(())
}

/// `AWS::Lambda::EventInvokeConfig`: the function's async retries and
/// its events' longest wait.
pub(super) fn invoke_config(st: &mut Stack, props: &Value) {
    let function = target(&props["FunctionName"]).unwrap_or_default();
    let Some(f) = st
        .plan
        .functions
        .iter_mut()
        .find(|f| f.logical_id == function)
    else {
        return;
    };
    if let Some(n) = props["MaximumRetryAttempts"].as_u64() {
        f.max_retries = n as u32;
    }
    if let Some(age) = props["MaximumEventAgeInSeconds"].as_u64() {
        f.max_event_age_seconds = age;
    }
}

/// `AWS::Lambda::EventSourceMapping`: the emulator's mappings consume the stream,
/// so the mapping leaves the template and becomes a poller.
pub(super) fn stream_mapping(st: &mut Stack, id: &str, props: &Value) -> Result<(), AdaptError> {
    let table = props["EventSourceArn"]["Fn::GetAtt"]
        .get(0)
        .and_then(Value::as_str)
        .filter(|_| props["EventSourceArn"]["Fn::GetAtt"][1] == "StreamArn")
        .ok_or_else(|| st.unsupported(id, "only DynamoDB stream mappings are supported"))?;
    st.plan.streams.push(StreamSource {
        function: target(&props["FunctionName"])
            .unwrap_or_default()
            .to_owned(),
        table: table.to_owned(),
        batch_size: props["BatchSize"].as_u64().unwrap_or(100) as u32,
        bisect_on_error: props["BisectBatchOnFunctionError"]
            .as_bool()
            .unwrap_or(false),
        max_retries: props["MaximumRetryAttempts"].as_i64().unwrap_or(-1),
        on_failure_topic: target(&props["DestinationConfig"]["OnFailure"]["Destination"])
            .map(str::to_owned),
        starting_position: props["StartingPosition"]
            .as_str()
            .unwrap_or("LATEST")
            .to_owned(),
        report_batch_item_failures: props["FunctionResponseTypes"]
            .as_array()
            .is_some_and(|t| t.iter().any(|x| x == "ReportBatchItemFailures")),
    });
    st.removed.insert(id.to_owned());
    Ok(())
}

/// `AWS::Lambda::Permission`: a rule's or a bucket's deploys as written,
/// for the local cloud to judge their invocations by; one that names what
/// the local cloud plays itself (an API) leaves with it.
pub(super) fn permissions_of_what_stays(st: &mut Stack) {
    let gone: Vec<String> = st
        .resources
        .iter()
        .filter(|(_, r)| type_of(r) == "AWS::Lambda::Permission" && mentions_any(r, &st.removed))
        .map(|(id, _)| id.clone())
        .collect();
    st.removed.extend(gone);
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::adapt;
    use super::super::tests::template;
    use super::*;

    #[test]
    fn functions_keep_their_binary_timeout_dlq_and_retries() {
        let (_, plan) = adapt("svc", &template()).unwrap();
        assert_eq!(
            plan.functions,
            [FunctionPlan {
                logical_id: "Fn".into(),
                binary: "svc-fn".into(),
                timeout_seconds: 9,
                dead_letter_topic: Some("Dlq".into()),
                max_retries: 1,
                max_event_age_seconds: 120,
            }]
        );
    }

    #[test]
    fn stream_mappings_become_pollers_with_their_settings() {
        let (out, plan) = adapt("svc", &template()).unwrap();
        assert!(out["Resources"].get("Mapping").is_none());
        let s = &plan.streams[0];
        assert_eq!(
            (
                s.table.as_str(),
                s.batch_size,
                s.bisect_on_error,
                s.max_retries
            ),
            ("Table", 10, true, 3)
        );
        assert_eq!(s.on_failure_topic.as_deref(), Some("Dlq"));
        assert!(s.report_batch_item_failures);
    }

    #[test]
    fn a_function_url_is_planned_and_its_url_pinned_where_read() {
        let mut t = template();
        t["Resources"]["FnUrl"] = json!({"Type": "AWS::Lambda::Url", "Properties": {
            "TargetFunctionArn": {"Ref": "Fn"}, "AuthType": "AWS_IAM"}});
        t["Outputs"] = json!({
            "Url": {"Value": {"Fn::GetAtt": ["FnUrl", "FunctionUrl"]}},
            "Host": {"Value": {"Fn::Select": [2, {"Fn::Split": ["/", {"Fn::GetAtt": ["FnUrl", "FunctionUrl"]}]}]}}});
        let (out, plan) = adapt("svc", &t).unwrap();
        let u = &plan.function_urls[0];
        assert_eq!(
            (u.function.as_str(), u.auth_type.as_str()),
            ("Fn", "AWS_IAM")
        );
        assert!(
            u.host().ends_with(".lambda-url.us-east-1.on.aws"),
            "{}",
            u.url
        );
        assert_eq!(u.host().len(), 32 + ".lambda-url.us-east-1.on.aws".len());
        assert!(out["Resources"].get("FnUrl").is_none());
        assert_eq!(out["Outputs"]["Url"]["Value"], u.url.as_str());
        assert_eq!(
            out["Outputs"]["Host"]["Value"]["Fn::Select"][1]["Fn::Split"][1],
            u.url.as_str()
        );
    }

    #[test]
    fn a_function_without_a_binary_is_refused_by_name() {
        let mut t = template();
        t["Resources"]["Fn"]["Metadata"] = json!({});
        let err = adapt("svc", &t).unwrap_err().to_string();
        assert!(err.contains("svc/Fn"), "{err}");
    }
}
