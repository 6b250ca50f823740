//! Custom domains, played by the local gateway and CDN: an API Gateway
//! custom domain (`AWS::ApiGatewayV2::DomainName`) is the gateway's one
//! host, and each `ApiMapping` serves its API under its base path there;
//! a Route 53 alias to something the local cloud plays names it by the
//! name AWS would give it (the API's regional domain, the distribution's
//! `*.cloudfront.net` name), so the record deploys on the emulator.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::{AdaptError, Stack, target, type_of};

/// One API's base path on the custom domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiMappingPlan {
    /// The API's logical id.
    pub api: String,
    /// `ApiMappingKey`: the first path segment that reaches the API.
    pub key: String,
}

/// API Gateway's hosted zone for regional custom domains in us-east-1.
const REGIONAL_ZONE: &str = "Z1UJRXOUMOOFQ8";

pub(super) fn api_mapping(st: &mut Stack, id: &str, props: &Value) -> Result<(), AdaptError> {
    let api = target(&props["ApiId"])
        .ok_or_else(|| st.unsupported(id, "an API mapping must name an API of its stack"))?;
    let key = props["ApiMappingKey"].as_str().unwrap_or_default();
    st.plan.api_mappings.push(ApiMappingPlan {
        api: api.to_owned(),
        key: key.to_owned(),
    });
    st.removed.insert(id.to_owned());
    Ok(())
}

/// `Fn::GetAtt` of what the local cloud plays, in a Route 53 record's
/// alias target, as the names AWS gives them.
pub(super) fn pin_alias_targets(st: &mut Stack) {
    let mut names: BTreeMap<(String, String), String> = BTreeMap::new();
    for (id, r) in st.resources.iter() {
        match type_of(r) {
            "AWS::ApiGatewayV2::DomainName" => {
                let local = super::local_api_id(st.name, id);
                names.insert(
                    (id.clone(), "RegionalDomainName".to_owned()),
                    format!("d-{local}.execute-api.us-east-1.amazonaws.com"),
                );
                names.insert(
                    (id.clone(), "RegionalHostedZoneId".to_owned()),
                    REGIONAL_ZONE.to_owned(),
                );
            }
            "AWS::CloudFront::Distribution" => {
                let local = super::local_distribution_id(st.name, id).to_lowercase();
                names.insert(
                    (id.clone(), "DomainName".to_owned()),
                    format!("{local}.cloudfront.net"),
                );
            }
            _ => {}
        }
    }
    for r in st.resources.values_mut() {
        if type_of(r) != "AWS::Route53::RecordSet" {
            continue;
        }
        let alias = &mut r["Properties"]["AliasTarget"];
        for field in ["DNSName", "HostedZoneId"] {
            let at = alias[field]["Fn::GetAtt"].as_array().and_then(|a| {
                Some((
                    a.first()?.as_str()?.to_owned(),
                    a.get(1)?.as_str()?.to_owned(),
                ))
            });
            if let Some(key) = at
                && let Some(name) = names.get(&key)
            {
                alias[field] = Value::from(name.as_str());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users(api_domain: &str) -> Vec<ApiMappingPlan> {
        let template = crate::load(&repo::template_path("users")).unwrap();
        let template = super::super::with_parameters(
            template,
            &[("ApiDomainName".to_owned(), api_domain.to_owned())],
        );
        super::super::adapt("users", &template)
            .unwrap()
            .1
            .api_mappings
    }

    #[test]
    fn a_service_maps_its_api_at_its_base_path_only_with_the_domain() {
        assert_eq!(users(""), Vec::new());
        assert_eq!(
            users("api.example.test"),
            [ApiMappingPlan {
                api: "HttpApi".into(),
                key: "users".into()
            }]
        );
    }

    #[test]
    fn the_platforms_alias_names_the_played_domain_as_aws_would() {
        let template = crate::load(&repo::template_path(repo::PLATFORM)).unwrap();
        let template = super::super::with_parameters(
            template,
            &[
                ("DomainName".to_owned(), "example.test".to_owned()),
                ("HostedZoneId".to_owned(), "Z1".to_owned()),
            ],
        );
        let (out, _) = super::super::adapt("platform", &template).unwrap();
        let alias = &out["Resources"]["ApiDomainRecord"]["Properties"]["AliasTarget"];
        assert!(
            alias["DNSName"]
                .as_str()
                .unwrap()
                .ends_with(".execute-api.us-east-1.amazonaws.com")
        );
        assert_eq!(alias["HostedZoneId"], "Z1UJRXOUMOOFQ8");
        assert!(
            out["Resources"].get("ApiDomain").is_none(),
            "played by the gateway"
        );
        assert!(
            out["Resources"].get("ApiCertificate").is_some(),
            "deployed on the emulator"
        );
    }
}
