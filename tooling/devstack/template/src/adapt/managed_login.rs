//! A user pool's managed login, played by the local cloud's Cognito front:
//! its domain (`AWS::Cognito::UserPoolDomain`), its outside identity
//! providers (`AWS::Cognito::UserPoolIdentityProvider`, OIDC only) and its
//! app client's OAuth settings. The emulator's CloudFormation has none of
//! them; they leave the template with the pool and become a
//! [`ManagedLogin`] in its plan.
//!
//! A provider's client secret is read from Secrets Manager, named by a
//! dynamic reference (`{{resolve:secretsmanager:<name>}}`): a secret
//! written in the template is refused by name, as it would be readable
//! by anyone who can read the template.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use super::{AdaptError, Stack, target, type_of};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ManagedLogin {
    /// The domain's prefix (`<prefix>.auth.<region>.amazoncognito.com`),
    /// when the pool has one: without a domain there is no managed login.
    pub domain: Option<String>,
    pub providers: Vec<OidcProvider>,
    pub client: OAuthClient,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OidcProvider {
    /// `ProviderName`: what `identity_provider=` and the federated
    /// usernames (`<name>_<sub>`) carry.
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    /// The Secrets Manager secret whose string is the client secret.
    pub client_secret_name: String,
    /// `authorize_scopes`, space-separated.
    pub scopes: String,
    /// A user pool attribute → the provider's claim it is read from.
    pub attribute_mapping: BTreeMap<String, String>,
}

/// The app client's OAuth settings, as Cognito applies them: none unless
/// `AllowedOAuthFlowsUserPoolClient` is true.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OAuthClient {
    pub flows: Vec<String>,
    pub scopes: Vec<String>,
    pub callback_urls: Vec<String>,
    pub logout_urls: Vec<String>,
    pub identity_providers: Vec<String>,
}

const DOMAIN: &str = "AWS::Cognito::UserPoolDomain";
const PROVIDER: &str = "AWS::Cognito::UserPoolIdentityProvider";

/// The pool `pool`'s managed login, its domain and providers taken out of
/// the template.
pub(super) fn of_pool(
    st: &mut Stack,
    pool: &str,
    client: &Value,
) -> Result<ManagedLogin, AdaptError> {
    let mut login = ManagedLogin {
        client: oauth_client(st, client)?,
        ..ManagedLogin::default()
    };
    let owned: Vec<(String, Value)> = (st.resources.iter())
        .filter(|(_, r)| target(&r["Properties"]["UserPoolId"]) == Some(pool))
        .filter(|(_, r)| [DOMAIN, PROVIDER].contains(&type_of(r)))
        .map(|(id, r)| (id.clone(), r.clone()))
        .collect();
    for (id, resource) in owned {
        let props = &resource["Properties"];
        if type_of(&resource) == DOMAIN {
            if props.get("CustomDomainConfig").is_some() {
                return Err(st.unsupported(&id, "a custom domain is not played locally"));
            }
            login.domain =
                Some(text(st, &props["Domain"]).ok_or_else(|| {
                    st.unsupported(&id, "Domain must be a literal or a parameter")
                })?);
        } else {
            login.providers.push(provider(st, &id, props)?);
        }
        st.removed.insert(id);
    }
    Ok(login)
}

fn provider(st: &Stack, id: &str, props: &Value) -> Result<OidcProvider, AdaptError> {
    if props["ProviderType"] != "OIDC" {
        return Err(st.unsupported(id, "only OIDC identity providers are played locally"));
    }
    let details = &props["ProviderDetails"];
    let detail = |key: &str| {
        text(st, &details[key]).ok_or_else(|| {
            st.unsupported(
                id,
                &format!("ProviderDetails.{key} must be a literal or a parameter"),
            )
        })
    };
    let secret = detail("client_secret")?;
    let client_secret_name = secret_name(&secret).ok_or_else(|| {
        st.unsupported(
            id,
            "ProviderDetails.client_secret must be a dynamic reference to Secrets Manager \
             ({{resolve:secretsmanager:<name>}}), never the secret itself",
        )
    })?;
    let mapping = (props["AttributeMapping"].as_object().into_iter().flatten())
        .filter_map(|(attribute, claim)| Some((attribute.clone(), text(st, claim)?)))
        .collect();
    Ok(OidcProvider {
        name: detail_of(st, props, "ProviderName", id)?,
        issuer: detail("oidc_issuer")?,
        client_id: detail("client_id")?,
        client_secret_name,
        scopes: text(st, &details["authorize_scopes"]).unwrap_or_else(|| "openid".into()),
        attribute_mapping: mapping,
    })
}

fn detail_of(st: &Stack, props: &Value, key: &str, id: &str) -> Result<String, AdaptError> {
    text(st, &props[key])
        .ok_or_else(|| st.unsupported(id, &format!("{key} must be a literal or a parameter")))
}

fn oauth_client(st: &Stack, client: &Value) -> Result<OAuthClient, AdaptError> {
    if client["AllowedOAuthFlowsUserPoolClient"] != true {
        return Ok(OAuthClient::default());
    }
    let list = |key: &str| -> Vec<String> {
        (client[key].as_array().into_iter().flatten())
            .filter_map(|v| text(st, v))
            .collect()
    };
    Ok(OAuthClient {
        flows: list("AllowedOAuthFlows"),
        scopes: list("AllowedOAuthScopes"),
        callback_urls: list("CallbackURLs"),
        logout_urls: list("LogoutURLs"),
        identity_providers: (client["SupportedIdentityProviders"].as_array())
            .into_iter()
            .flatten()
            .filter_map(|v| text(st, v).or_else(|| provider_name(st, v)))
            .collect(),
    })
}

/// A `Ref` to a provider in the stack: its `ProviderName`, as
/// CloudFormation's `Ref` of the resource answers.
fn provider_name(st: &Stack, v: &Value) -> Option<String> {
    let resource = st.resources.get(v["Ref"].as_str()?)?;
    (type_of(resource) == PROVIDER)
        .then(|| text(st, &resource["Properties"]["ProviderName"]))
        .flatten()
}

/// A value as text: a literal, a parameter's `Ref`, or an `Fn::Sub` of
/// parameters, pseudo parameters and the stack's name.
fn text(st: &Stack, v: &Value) -> Option<String> {
    let Some(sub) = v.get("Fn::Sub").and_then(Value::as_str) else {
        return super::conditions::value(v, &st.parameters);
    };
    let mut out = sub.replace("${AWS::StackName}", st.name);
    while let Some(start) = out.find("${") {
        let end = start + out[start..].find('}')?;
        let name = &out[start + 2..end];
        let value = super::conditions::value(&json!({ "Ref": name }), &st.parameters)?;
        out.replace_range(start..=end, &value);
    }
    Some(out)
}

/// The secret's name in `{{resolve:secretsmanager:<name>}}` (or with a
/// `:SecretString` suffix).
fn secret_name(reference: &str) -> Option<String> {
    let inner = reference
        .strip_prefix("{{resolve:secretsmanager:")?
        .strip_suffix("}}")?;
    let name = inner.split(":SecretString").next()?;
    (!name.is_empty()).then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::secret_name;

    #[test]
    fn a_client_secret_is_named_by_a_dynamic_reference_only() {
        assert_eq!(
            secret_name("{{resolve:secretsmanager:idp/secret}}").as_deref(),
            Some("idp/secret")
        );
        assert_eq!(
            secret_name("{{resolve:secretsmanager:idp:SecretString:k}}").as_deref(),
            Some("idp")
        );
        assert_eq!(secret_name("hunter2"), None);
        assert_eq!(secret_name("{{resolve:ssm:x}}"), None);
    }
}
