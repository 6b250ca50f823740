//! Cognito user pools, made by API: the pool and its client leave the
//! template, and the outputs that name them wait for the pool to exist.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::{AdaptError, Stack, mentions_any, target, type_of};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserPoolPlan {
    pub pool: String,
    pub client: String,
    pub pool_properties: Value,
    pub client_properties: Value,
    /// The pool's groups (`AWS::Cognito::UserPoolGroup`): name and
    /// description, made by API with the pool.
    pub groups: Vec<(String, String)>,
    /// The pool's Lambda triggers (`LambdaConfig`): trigger (`PreSignUp`,
    /// `PostConfirmation`, `PostAuthentication`) → the physical name of the
    /// function it names.
    /// The local cloud invokes them as Cognito does (moto runs none).
    pub triggers: BTreeMap<String, String>,
    /// The stack's outputs (and exports) of the pool's id, client id or
    /// issuer, held back until the pool exists: [`bind_user_pool`] puts
    /// them back with its real values, so the services import them as on
    /// AWS.
    pub outputs: Map<String, Value>,
    /// The pool's domain, outside identity providers and the client's
    /// OAuth settings, played by the local cloud's Cognito front.
    pub managed_login: super::managed_login::ManagedLogin,
}

/// Puts a user pool's outputs back into the adapted template, with the
/// pool's and client's ids in place of their references.
pub fn bind_user_pool(template: &mut Value, pool: &UserPoolPlan, pool_id: &str, client_id: &str) {
    fn bind(v: &mut Value, names: &[(&str, &str)]) {
        if let Some(Value::String(t)) = v.get("Ref")
            && let Some((_, value)) = names.iter().find(|(n, _)| n == t)
        {
            *v = Value::from(*value);
            return;
        }
        match v {
            Value::Object(map) => {
                if let Some(Value::String(text)) = map.get_mut("Fn::Sub") {
                    for (name, value) in names {
                        *text = text.replace(&format!("${{{name}}}"), value);
                    }
                }
                map.values_mut().for_each(|c| bind(c, names));
            }
            Value::Array(items) => items.iter_mut().for_each(|c| bind(c, names)),
            _ => {}
        }
    }
    let names = [
        (pool.pool.as_str(), pool_id),
        (pool.client.as_str(), client_id),
    ];
    let outputs = template
        .as_object_mut()
        .expect("a template is an object")
        .entry("Outputs")
        .or_insert_with(|| json!({}));
    for (name, output) in &pool.outputs {
        let mut output = output.clone();
        bind(&mut output, &names);
        outputs[name] = output;
    }
}

/// `AWS::Cognito::UserPool`, with the client that names it.
pub(super) fn user_pool(st: &mut Stack, id: &str, props: &Value) -> Result<(), AdaptError> {
    let client = st
        .resources
        .iter()
        .find(|(_, r)| {
            type_of(r) == "AWS::Cognito::UserPoolClient"
                && target(&r["Properties"]["UserPoolId"]) == Some(id)
        })
        .map(|(cid, r)| (cid.clone(), r["Properties"].clone()));
    let (client, client_properties) =
        client.ok_or_else(|| st.unsupported(id, "a user pool needs a client in the same stack"))?;
    let mut groups = Vec::new();
    for (gid, g) in st.resources.iter() {
        if type_of(g) == "AWS::Cognito::UserPoolGroup"
            && target(&g["Properties"]["UserPoolId"]) == Some(id)
        {
            let name = g["Properties"]["GroupName"].as_str().map(str::to_owned);
            let name =
                name.ok_or_else(|| st.unsupported(gid, "a group needs a literal GroupName"))?;
            let description = g["Properties"]["Description"].as_str().unwrap_or_default();
            groups.push((gid.clone(), name, description.to_owned()));
        }
    }
    for (gid, _, _) in &groups {
        st.removed.insert(gid.clone());
    }
    let triggers = triggers(st, id, &props["LambdaConfig"])?;
    let managed_login = super::managed_login::of_pool(st, id, &client_properties)?;
    st.plan.user_pools.push(UserPoolPlan {
        pool: id.to_owned(),
        client,
        pool_properties: props.clone(),
        client_properties,
        groups: groups.into_iter().map(|(_, n, d)| (n, d)).collect(),
        triggers,
        outputs: Map::new(),
        managed_login,
    });
    st.removed.insert(id.to_owned());
    Ok(())
}

/// The triggers the local cloud plays: the sign-up's and the sign-in's
/// last. Any other is refused by name rather than left silently unplayed.
const PLAYED_TRIGGERS: [&str; 3] = ["PreSignUp", "PostConfirmation", "PostAuthentication"];

/// `LambdaConfig`'s triggers, each by the physical name of its function:
/// written as a literal ARN or an `Fn::Sub` of pseudo parameters (the pool
/// deploys before the functions it names, so it cannot `!GetAtt` them).
fn triggers(
    st: &Stack,
    pool: &str,
    config: &Value,
) -> Result<BTreeMap<String, String>, AdaptError> {
    let mut triggers = BTreeMap::new();
    for (trigger, arn) in config.as_object().into_iter().flatten() {
        if !PLAYED_TRIGGERS.contains(&trigger.as_str()) {
            return Err(st.unsupported(
                pool,
                &format!("LambdaConfig.{trigger}: the local cloud plays only {PLAYED_TRIGGERS:?}"),
            ));
        }
        let function = function_named(st.name, arn).ok_or_else(|| {
            st.unsupported(
                pool,
                &format!(
                    "LambdaConfig.{trigger} must name a function by a literal ARN or an \
                     Fn::Sub of pseudo parameters"
                ),
            )
        })?;
        triggers.insert(trigger.clone(), function);
    }
    Ok(triggers)
}

/// The function name at the end of a Lambda ARN, with the pseudo
/// parameters of `Fn::Sub` filled in for the stack.
fn function_named(stack: &str, arn: &Value) -> Option<String> {
    let text = match arn {
        Value::String(t) => t.clone(),
        v => v["Fn::Sub"].as_str()?.replace("${AWS::StackName}", stack),
    };
    let name = text.rsplit_once(":function:")?.1;
    let name = name.split(':').next().unwrap_or(name);
    (!name.is_empty() && !name.contains("${")).then(|| name.to_owned())
}

/// Keeps, for each pool, the outputs that name it (or its client) and
/// nothing else the local cloud plays, before they leave the template.
pub(super) fn hold_back_outputs(
    pools: &mut [UserPoolPlan],
    outputs: &Map<String, Value>,
    removed: &BTreeSet<String>,
) {
    for pool in pools {
        let own: BTreeSet<String> = [pool.pool.clone(), pool.client.clone()].into();
        let others: BTreeSet<String> = removed.difference(&own).cloned().collect();
        for (name, o) in outputs.iter() {
            if mentions_any(o, &own) && !mentions_any(o, &others) {
                pool.outputs.insert(name.clone(), o.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::function_named;

    #[test]
    fn a_trigger_names_its_function_by_arn_or_by_the_stacks_name() {
        let sub = json!({"Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${AWS::StackName}-users-identity"});
        assert_eq!(
            function_named("platform", &sub).as_deref(),
            Some("platform-users-identity")
        );
        let literal = json!("arn:aws:lambda:us-east-1:1:function:f:live");
        assert_eq!(function_named("p", &literal).as_deref(), Some("f"));
        let parameter = json!({"Fn::Sub": "arn:aws:lambda:r:1:function:${Name}"});
        assert_eq!(function_named("p", &parameter), None);
        assert_eq!(
            function_named("p", &json!({"Fn::GetAtt": ["F", "Arn"]})),
            None
        );
    }
}
