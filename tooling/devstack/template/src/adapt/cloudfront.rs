//! CloudFront distributions, which the local cloud plays itself (the
//! local CDN, `devstack-cdn`): the distribution and its origin access
//! control leave the template, and a reference to the distribution's id
//! (the site bucket's policy names it in `aws:SourceArn`) becomes its
//! pinned local id, so the bucket's policy admits the local CDN exactly as
//! it admits the deployed one. What the local CDN cannot play (a cache or
//! headers policy of the account's own, an origin other than a bucket) is
//! refused by name.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::{AdaptError, Stack, target, type_of};

/// AWS's managed cache policies the local CDN knows.
pub const CACHING_OPTIMIZED: &str = "658327ea-f89d-4fab-a63d-7e88639e58f6";
pub const CACHING_DISABLED: &str = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad";
/// AWS's managed SecurityHeadersPolicy.
pub const SECURITY_HEADERS: &str = "67f7725c-6f97-4210-82d7-5512b31e9d03";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DistributionPlan {
    pub logical_id: String,
    /// The local distribution id (`E` and 13 letters or digits, as
    /// CloudFront's), pinned from the stack and logical id.
    pub id: String,
    pub default_root_object: Option<String>,
    pub origins: Vec<OriginPlan>,
    /// `CacheBehaviors` in order, then the default behavior (pattern `*`).
    pub behaviors: Vec<BehaviorPlan>,
    pub error_responses: Vec<ErrorResponsePlan>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OriginPlan {
    pub id: String,
    pub target: OriginTarget,
    /// Whether CloudFront signs its reads (an origin access control):
    /// the bucket's policy then judges them as `cloudfront.amazonaws.com`.
    pub access_control: bool,
}

/// What an origin reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OriginTarget {
    /// The bucket (logical id) whose `RegionalDomainName` or `DomainName`
    /// the origin names.
    Bucket(String),
    /// A function URL's host (`<id>.lambda-url.<region>.on.aws`), from a
    /// parameter or written out: another stack's function.
    FunctionUrl(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BehaviorPlan {
    /// `None` for the default behavior.
    pub path_pattern: Option<String>,
    pub origin: String,
    /// Whether CloudFront keeps answers (CachingOptimized) or never does
    /// (CachingDisabled).
    pub cached: bool,
    /// The managed SecurityHeadersPolicy's headers are added.
    pub security_headers: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorResponsePlan {
    pub error_code: u16,
    pub response_code: Option<u16>,
    pub response_page_path: Option<String>,
}

/// `E` and 13 characters of CloudFront's alphabet, from the stack and id.
pub fn local_distribution_id(stack: &str, logical_id: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    format!(
        "E{}",
        super::pinned_id(&format!("{stack}/{logical_id}"), ALPHABET, 13)
    )
}

pub(super) fn distribution(st: &mut Stack, id: &str, props: &Value) -> Result<(), AdaptError> {
    let config = &props["DistributionConfig"];
    let origins = (config["Origins"].as_array().into_iter().flatten())
        .map(|o| origin(st, id, o))
        .collect::<Result<Vec<_>, _>>()?;
    let mut behaviors = Vec::new();
    for b in config["CacheBehaviors"].as_array().into_iter().flatten() {
        behaviors.push(behavior(st, id, b, true)?);
    }
    behaviors.push(behavior(st, id, &config["DefaultCacheBehavior"], false)?);
    if let Some(unknown) = behaviors
        .iter()
        .find(|b| !origins.iter().any(|o| o.id == b.origin))
    {
        return Err(st.unsupported(
            id,
            &format!(
                "a behavior names the origin {:?}, which is not there",
                unknown.origin
            ),
        ));
    }
    let error_responses = (config["CustomErrorResponses"]
        .as_array()
        .into_iter()
        .flatten())
    .map(|e| ErrorResponsePlan {
        error_code: e["ErrorCode"].as_u64().unwrap_or_default() as u16,
        response_code: e["ResponseCode"]
            .as_u64()
            .or_else(|| e["ResponseCode"].as_str()?.parse().ok())
            .map(|c| c as u16),
        response_page_path: e["ResponsePagePath"].as_str().map(str::to_owned),
    })
    .collect();
    st.plan.distributions.push(DistributionPlan {
        logical_id: id.to_owned(),
        id: local_distribution_id(st.name, id),
        default_root_object: config["DefaultRootObject"].as_str().map(str::to_owned),
        origins,
        behaviors,
        error_responses,
    });
    st.removed.insert(id.to_owned());
    for o in config["Origins"].as_array().into_iter().flatten() {
        if let Some(oac) = target(&o["OriginAccessControlId"]) {
            st.removed.insert(oac.to_owned());
        }
    }
    Ok(())
}

fn origin(st: &Stack, distribution: &str, o: &Value) -> Result<OriginPlan, AdaptError> {
    let domain = &o["DomainName"];
    let bucket = target(domain)
        .filter(|b| st.resources.get(*b).map(type_of) == Some("AWS::S3::Bucket"))
        .map(|b| OriginTarget::Bucket(b.to_owned()));
    let host = match domain.get("Ref").and_then(Value::as_str) {
        Some(parameter) => st.parameters[parameter]["Default"].as_str(),
        None => domain.as_str(),
    };
    let function_url = host
        .filter(|h| h.contains(".lambda-url.") && h.ends_with(".on.aws"))
        .map(|h| OriginTarget::FunctionUrl(h.to_owned()));
    let target = bucket.or(function_url).ok_or_else(|| {
        st.unsupported(
            distribution,
            "the local CDN serves origins that are a bucket of the stack or a function URL",
        )
    })?;
    Ok(OriginPlan {
        id: o["Id"].as_str().unwrap_or_default().to_owned(),
        target,
        access_control: !o["OriginAccessControlId"].is_null(),
    })
}

fn behavior(
    st: &Stack,
    distribution: &str,
    b: &Value,
    with_pattern: bool,
) -> Result<BehaviorPlan, AdaptError> {
    let cached = match b["CachePolicyId"].as_str() {
        Some(CACHING_OPTIMIZED) => true,
        Some(CACHING_DISABLED) => false,
        other => {
            return Err(st.unsupported(
                distribution,
                &format!("cache policy {other:?}: the local CDN plays CachingOptimized and CachingDisabled"),
            ));
        }
    };
    let security_headers = match b["ResponseHeadersPolicyId"].as_str() {
        None => false,
        Some(SECURITY_HEADERS) => true,
        Some(other) => {
            return Err(st.unsupported(
                distribution,
                &format!("response headers policy {other}: the local CDN plays the managed SecurityHeadersPolicy"),
            ));
        }
    };
    Ok(BehaviorPlan {
        path_pattern: with_pattern
            .then(|| b["PathPattern"].as_str().map(str::to_owned))
            .flatten(),
        origin: b["TargetOriginId"].as_str().unwrap_or_default().to_owned(),
        cached,
        security_headers,
    })
}

/// The distributions' ids where the template names them (`Ref`, `${Id}`
/// in a `Sub`): the local ids, pinned.
pub(super) fn pin_distribution_ids(st: &mut Stack) {
    let names: BTreeMap<String, String> = (st.plan.distributions.iter())
        .map(|d| (d.logical_id.clone(), d.id.clone()))
        .collect();
    if names.is_empty() {
        return;
    }
    for r in st.resources.values_mut() {
        super::apigateway::pin(r, &names);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_web_stacks_distribution_is_planned_and_its_id_pinned_in_the_bucket_policy() {
        let template = crate::load(&repo::root().join("web/template.yaml")).unwrap();
        let (out, plan) = super::super::adapt("web", &template).unwrap();
        let d = &plan.distributions[0];
        assert_eq!(d.default_root_object.as_deref(), Some("index.html"));
        assert_eq!(
            d.origins[0].target,
            OriginTarget::Bucket("SiteBucket".into())
        );
        assert_eq!(d.origins.len(), 1, "no campaign page without its domain");
        assert!(d.origins[0].access_control);
        let last = d.behaviors.last().unwrap();
        assert_eq!((last.path_pattern.as_deref(), last.cached), (None, true));
        assert!(
            d.behaviors
                .iter()
                .any(|b| b.path_pattern.as_deref() == Some("config.json") && !b.cached)
        );
        assert!(d.error_responses.iter().any(|e| e.error_code == 403
            && e.response_code == Some(200)
            && e.response_page_path.as_deref() == Some("/index.html")));
        let resources = out["Resources"].as_object().unwrap();
        assert!(!resources.contains_key("Distribution"));
        assert!(!resources.contains_key("OriginAccessControl"));
        let policy = serde_json::to_string(&resources["SiteBucketPolicy"]).unwrap();
        assert!(
            policy.contains(&format!("distribution/{}", d.id)),
            "{policy}"
        );
    }

    #[test]
    fn with_the_campaign_pages_domain_view_goes_to_that_function_url() {
        let host = "abc.lambda-url.us-east-1.on.aws";
        let template = crate::load(&repo::root().join("web/template.yaml")).unwrap();
        let template =
            super::super::with_parameters(template, &[("CampaignPageDomain".into(), host.into())]);
        let (out, plan) = super::super::adapt("web", &template).unwrap();
        let d = &plan.distributions[0];
        let page = d.origins.iter().find(|o| o.id == "campaign-page").unwrap();
        assert_eq!(page.target, OriginTarget::FunctionUrl(host.into()));
        assert!(page.access_control);
        let view = d
            .behaviors
            .iter()
            .find(|b| b.origin == "campaign-page")
            .unwrap();
        assert_eq!(
            (view.path_pattern.as_deref(), view.cached),
            (Some("/view/*"), true)
        );
        assert!(out["Resources"].get("CampaignPageAccessControl").is_none());
    }

    #[test]
    fn a_local_distribution_id_looks_like_cloudfronts_and_is_stable() {
        let id = local_distribution_id("web", "Distribution");
        assert_eq!(id.len(), 14);
        assert!(id.starts_with('E') && id.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(id, local_distribution_id("web", "Distribution"));
        assert_ne!(id, local_distribution_id("web", "Other"));
    }
}
