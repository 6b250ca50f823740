//! An API stage's settings the local gateway enforces as API Gateway does:
//! the default route throttle and the access log format. Values may name
//! the template's parameters; they resolve to the parameters' defaults,
//! which [`super::with_parameters`] sets from overrides.

use serde::Serialize;
use serde_json::{Map, Value};

use super::resources::of_api;

/// A stage's token bucket: `rate_limit` requests per second refill it, up
/// to `burst_limit`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Throttle {
    pub rate_limit: f64,
    pub burst_limit: u64,
}

// Rates come from templates, never NaN.
impl Eq for Throttle {}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StageSettings {
    pub throttle: Option<Throttle>,
    /// `AccessLogSettings.Format`: `$context.*` variables in a JSON line.
    pub access_log_format: Option<String>,
}

/// The (first) stage of API `api`.
pub(super) fn stage_of<'r>(resources: &'r Map<String, Value>, api: &'r str) -> Option<&'r Value> {
    of_api(resources, "AWS::ApiGatewayV2::Stage", api)
        .next()
        .map(|(_, r)| r)
}

/// The settings of API `api`'s stage (none without a stage).
pub(super) fn settings_of_api(
    resources: &Map<String, Value>,
    parameters: &Value,
    api: &str,
) -> StageSettings {
    stage_of(resources, api)
        .map(|stage| settings(stage, parameters))
        .unwrap_or_default()
}

/// A stage resource's settings.
pub(super) fn settings(stage: &Value, parameters: &Value) -> StageSettings {
    let p = &stage["Properties"];
    let defaults = &p["DefaultRouteSettings"];
    let rate = resolve(&defaults["ThrottlingRateLimit"], parameters).and_then(number);
    let burst = resolve(&defaults["ThrottlingBurstLimit"], parameters).and_then(number);
    StageSettings {
        throttle: rate.zip(burst).map(|(rate_limit, burst)| Throttle {
            rate_limit,
            burst_limit: burst as u64,
        }),
        access_log_format: resolve(&p["AccessLogSettings"]["Format"], parameters)
            .and_then(|f| f.as_str().map(str::to_owned)),
    }
}

/// A literal, or a parameter's default for `{"Ref": parameter}`.
fn resolve<'v>(v: &'v Value, parameters: &'v Value) -> Option<&'v Value> {
    match v.get("Ref").and_then(Value::as_str) {
        Some(name) => parameters.get(name)?.get("Default"),
        None => (!v.is_null()).then_some(v),
    }
}

/// CloudFormation passes numbers as numbers or as strings.
fn number(v: &Value) -> Option<f64> {
    v.as_f64().or_else(|| v.as_str()?.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn settings_resolve_parameters_and_literals() {
        let resources = json!({
            "Stage": {"Type": "AWS::ApiGatewayV2::Stage", "Properties": {
                "ApiId": {"Ref": "Api"},
                "DefaultRouteSettings": {"ThrottlingRateLimit": {"Ref": "Rate"}, "ThrottlingBurstLimit": 7},
                "AccessLogSettings": {"Format": "{\"id\":\"$context.requestId\"}"}}}
        });
        let parameters = json!({"Rate": {"Type": "Number", "Default": "2.5"}});
        let s = settings_of_api(resources.as_object().unwrap(), &parameters, "Api");
        assert_eq!(
            s.throttle,
            Some(Throttle {
                rate_limit: 2.5,
                burst_limit: 7
            })
        );
        assert_eq!(
            s.access_log_format.as_deref(),
            Some("{\"id\":\"$context.requestId\"}")
        );
        let none = settings_of_api(resources.as_object().unwrap(), &parameters, "Other");
        assert_eq!(none, StageSettings::default());
    }
}
