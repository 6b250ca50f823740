//! Cognito identity pools, played by the local cloud: the emulator's
//! CloudFormation has none, and its GetCredentialsForIdentity hands out
//! keys that name no role. The pool, its role attachment and its principal
//! tags leave the template; the pool gets an id of AWS's shape here
//! (`<region>:<guid>`, stable per stack and resource), written wherever
//! the template refers to it (the role's trust policy, the outputs); the
//! local cloud's Cognito front answers GetId and GetCredentialsForIdentity
//! with sessions of the authenticated role that its judge knows, tagged
//! as the pool maps the ID token's claims.
//!
//! Only what the product uses is played: authenticated identities from
//! the stack's own user pool and client, the enhanced flow, one
//! authenticated role, principal tags. A guest role, the classic flow or
//! role mappings are refused by name.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{AdaptError, Stack, target, type_of};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityPoolPlan {
    /// The pool's logical id.
    pub logical: String,
    /// The pool's id, as the template's references now read it.
    pub id: String,
    /// The user pool client whose ID tokens the pool takes (its logical
    /// id in the same stack).
    pub client: String,
    /// Whether the pool asks the user pool that the token's user still
    /// exists and is not signed out before it issues credentials.
    pub server_side_token_check: bool,
    /// The authenticated role's logical id; its ARN once deployed.
    pub authenticated_role: String,
    /// A session tag → the ID token claim it is read from.
    pub principal_tags: BTreeMap<String, String>,
}

const ROLES: &str = "AWS::Cognito::IdentityPoolRoleAttachment";
const TAGS: &str = "AWS::Cognito::IdentityPoolPrincipalTag";

/// An id of AWS's shape for `logical` in `stack`: the same on every
/// deploy of the same templates (the kept state's key does not move).
fn pool_id(stack: &str, logical: &str) -> String {
    let hex = format!("{:x}", Sha256::digest(format!("{stack}/{logical}")));
    format!(
        "{}:{}-{}-{}-{}-{}",
        super::conditions::REGION,
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// `AWS::Cognito::IdentityPool`, with its role attachment and tags.
pub(super) fn identity_pool(st: &mut Stack, id: &str, props: &Value) -> Result<(), AdaptError> {
    for refused in ["AllowUnauthenticatedIdentities", "AllowClassicFlow"] {
        if props[refused] == true {
            return Err(st.unsupported(id, &format!("{refused}: the local cloud plays authenticated identities in the enhanced flow only")));
        }
    }
    let providers = props["CognitoIdentityProviders"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let [provider] = providers.as_slice() else {
        return Err(st.unsupported(id, "one Cognito identity provider: the stack's user pool"));
    };
    let client = target(&provider["ClientId"])
        .filter(|c| type_of(&st.resources[*c]) == "AWS::Cognito::UserPoolClient")
        .ok_or_else(|| st.unsupported(id, "ClientId must refer to the stack's user pool client"))?
        .to_owned();
    let (attachment, authenticated_role) = attachment_of(st, id)?;
    let (tags, principal_tags) = tags_of(st, id);
    let plan = IdentityPoolPlan {
        logical: id.to_owned(),
        id: pool_id(st.name, id),
        client,
        server_side_token_check: provider["ServerSideTokenCheck"] == true,
        authenticated_role,
        principal_tags,
    };
    for removed in [Some(id.to_owned()), Some(attachment), tags]
        .into_iter()
        .flatten()
    {
        st.removed.insert(removed);
    }
    for r in st.resources.values_mut() {
        write_id(r, id, &plan.id);
    }
    st.plan.identity_pools.push(plan);
    Ok(())
}

/// The pool's role attachment and the logical id of its authenticated role.
fn attachment_of(st: &Stack, pool: &str) -> Result<(String, String), AdaptError> {
    let (attachment, props) = st
        .resources
        .iter()
        .find(|(_, r)| {
            type_of(r) == ROLES && target(&r["Properties"]["IdentityPoolId"]) == Some(pool)
        })
        .map(|(a, r)| (a.clone(), r["Properties"].clone()))
        .ok_or_else(|| {
            st.unsupported(
                pool,
                "an identity pool needs its role attachment in the same stack",
            )
        })?;
    if props.get("RoleMappings").is_some() || props["Roles"].get("unauthenticated").is_some() {
        return Err(st.unsupported(&attachment, "one authenticated role, no role mappings"));
    }
    let role = target(&props["Roles"]["authenticated"]).ok_or_else(|| {
        st.unsupported(
            &attachment,
            "Roles.authenticated must be the stack's role (!GetAtt Role.Arn)",
        )
    })?;
    Ok((attachment, role.to_owned()))
}

/// The pool's principal tags resource, if any, and its tag → claim map.
fn tags_of(st: &Stack, pool: &str) -> (Option<String>, BTreeMap<String, String>) {
    let Some((tags, props)) = st.resources.iter().find(|(_, r)| {
        type_of(r) == TAGS && target(&r["Properties"]["IdentityPoolId"]) == Some(pool)
    }) else {
        return (None, BTreeMap::new());
    };
    let map = (props["Properties"]["PrincipalTags"]
        .as_object()
        .into_iter()
        .flatten())
    .filter_map(|(tag, claim)| Some((tag.clone(), claim.as_str()?.to_owned())))
    .collect();
    (Some(tags.clone()), map)
}

/// `{"Ref": logical}` and `${logical}` in a `Fn::Sub`, as the pool's id.
pub(super) fn write_id(v: &mut Value, logical: &str, id: &str) {
    if v.get("Ref").and_then(Value::as_str) == Some(logical) {
        *v = Value::from(id);
        return;
    }
    match v {
        Value::Object(map) => {
            if let Some(Value::String(text)) = map.get_mut("Fn::Sub") {
                *text = text.replace(&format!("${{{logical}}}"), id);
            }
            map.values_mut().for_each(|c| write_id(c, logical, id));
        }
        Value::Array(items) => items.iter_mut().for_each(|c| write_id(c, logical, id)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::adapt::adapt;

    fn template(extra: serde_json::Value) -> serde_json::Value {
        let mut t = json!({"Resources": {
            "Pool": {"Type": "AWS::Cognito::UserPool", "Properties": {}},
            "Client": {"Type": "AWS::Cognito::UserPoolClient", "Properties": {"UserPoolId": {"Ref": "Pool"}}},
            "Ids": {"Type": "AWS::Cognito::IdentityPool", "Properties": {
                "AllowUnauthenticatedIdentities": false,
                "CognitoIdentityProviders": [{"ProviderName": "p", "ClientId": {"Ref": "Client"}, "ServerSideTokenCheck": true}]}},
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {"Statement": [{
                "Effect": "Allow", "Principal": {"Federated": "cognito-identity.amazonaws.com"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {"cognito-identity.amazonaws.com:aud": {"Ref": "Ids"}}}}]}}},
            "Roles": {"Type": "AWS::Cognito::IdentityPoolRoleAttachment", "Properties": {
                "IdentityPoolId": {"Ref": "Ids"}, "Roles": {"authenticated": {"Fn::GetAtt": ["Role", "Arn"]}}}},
            "Tags": {"Type": "AWS::Cognito::IdentityPoolPrincipalTag", "Properties": {
                "IdentityPoolId": {"Ref": "Ids"}, "IdentityProviderName": "p", "PrincipalTags": {"user_id": "sub"}}}},
            "Outputs": {"IdentityPoolId": {"Value": {"Ref": "Ids"}}}});
        if let Some(props) = extra.as_object() {
            for (k, v) in props {
                t["Resources"]["Ids"]["Properties"][k] = v.clone();
            }
        }
        t
    }

    #[test]
    fn the_pool_leaves_the_template_and_its_id_is_written_where_it_is_named() {
        let (out, plan) = adapt("platform", &template(json!({}))).unwrap();
        let [pool] = plan.identity_pools.as_slice() else {
            panic!("one pool: {plan:?}")
        };
        assert!(
            pool.id.starts_with("us-east-1:") && pool.id.len() == 46,
            "{}",
            pool.id
        );
        assert_eq!(
            (pool.client.as_str(), pool.authenticated_role.as_str()),
            ("Client", "Role")
        );
        assert!(pool.server_side_token_check);
        assert_eq!(pool.principal_tags["user_id"], "sub");
        for gone in ["Ids", "Roles", "Tags"] {
            assert!(out["Resources"].get(gone).is_none(), "{gone}");
        }
        let trust = &out["Resources"]["Role"]["Properties"]["AssumeRolePolicyDocument"];
        assert_eq!(
            trust["Statement"][0]["Condition"]["StringEquals"]["cognito-identity.amazonaws.com:aud"],
            pool.id.as_str()
        );
        assert_eq!(out["Outputs"]["IdentityPoolId"]["Value"], pool.id.as_str());
        let (_, again) = adapt("platform", &template(json!({}))).unwrap();
        assert_eq!(again.identity_pools[0].id, pool.id, "stable across deploys");
    }

    #[test]
    fn guests_and_the_classic_flow_are_refused_by_name() {
        for refused in ["AllowUnauthenticatedIdentities", "AllowClassicFlow"] {
            let err = adapt("platform", &template(json!({refused: true}))).unwrap_err();
            assert!(err.to_string().contains(refused), "{err}");
        }
    }
}
