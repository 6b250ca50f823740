//! `$connect`'s REQUEST authorizer: its identity sources, its call and
//! the policy it answers.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use devstack_lambda::runtime::InvokeError;

use super::api::{Authorizer, Context, Request, SocketApi, message};

/// Whether every identity source has a non-empty value.
pub(super) fn identity_present(
    sources: &[String],
    headers: &Map<String, Value>,
    query: &Map<String, Value>,
) -> bool {
    sources.iter().all(|source| {
        let value = if let Some(name) = source.strip_prefix("route.request.querystring.") {
            query.get(name)
        } else if let Some(name) = source.strip_prefix("route.request.header.") {
            headers.get(&name.to_ascii_lowercase())
        } else {
            None
        };
        value.and_then(Value::as_str).is_some_and(|v| !v.is_empty())
    })
}

/// The REQUEST authorizer's contract: 401 without the identity source
/// (the authorizer is not called) or on `Unauthorized`, 403 on a Deny;
/// on an Allow, its principal and context go into `ctx`.
pub(super) async fn authorize(
    api: &SocketApi,
    authorizer: &Authorizer,
    request: &Request,
    ctx: &mut Context,
) -> Result<(), Response> {
    let name = &api.spec.name;
    if !identity_present(
        &authorizer.identity_source,
        &request.single_headers,
        &request.single_query,
    ) {
        tracing::info!(target: "trail", api = %name, "$connect 401: no identity source (authorizer not called)");
        return Err(message(StatusCode::UNAUTHORIZED, "Unauthorized"));
    }
    let method_arn = api.method_arn("$connect");
    let mut event = json!({
        "type": "REQUEST",
        "methodArn": method_arn,
        "headers": request.single_headers,
        "multiValueHeaders": request.multi_headers,
        "queryStringParameters": request.single_query,
        "multiValueQueryStringParameters": request.multi_query,
        "stageVariables": {},
        "requestContext": api.request_context(ctx, "$connect", "CONNECT"),
    });
    event["requestContext"]
        .as_object_mut()
        .expect("an object")
        .remove("authorizer");
    let started = Instant::now();
    let rest = format!("authorizers/{}", authorizer.id);
    if !api.may_invoke(&authorizer.function, &rest).await {
        return Err(message(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal server error",
        ));
    }
    match authorizer.function.invoke(event).await {
        Err(InvokeError::Function { message: m, .. }) if m == "Unauthorized" => {
            tracing::info!(target: "trail", api = %name, "$connect 401 (authorizer)");
            Err(message(StatusCode::UNAUTHORIZED, "Unauthorized"))
        }
        Err(e) => {
            tracing::warn!(target: "trail", api = %name, error = %e, "$connect 500: the authorizer failed");
            Err(message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal server error",
            ))
        }
        Ok(policy) if !policy_allows(&policy, &method_arn) => {
            tracing::info!(target: "trail", api = %name, "$connect 403 (policy denies)");
            Err(message(StatusCode::FORBIDDEN, "Forbidden"))
        }
        Ok(policy) => {
            // API Gateway hands the context on as strings, numbers and
            // booleans, beside principalId.
            if let Some(c) = policy["context"].as_object() {
                for (k, v) in c {
                    if !v.is_object() && !v.is_array() {
                        ctx.authorizer.insert(k.clone(), v.clone());
                    }
                }
            }
            ctx.authorizer
                .insert("principalId".into(), policy["principalId"].clone());
            ctx.authorizer.insert(
                "integrationLatency".into(),
                Value::from(started.elapsed().as_millis() as u64),
            );
            Ok(())
        }
    }
}

/// The policy's verdict for `arn`: an explicit Deny wins, then any Allow.
pub fn policy_allows(policy: &Value, arn: &str) -> bool {
    let statements: Vec<&Value> = match &policy["policyDocument"]["Statement"] {
        Value::Array(s) => s.iter().collect(),
        s @ Value::Object(_) => vec![s],
        _ => Vec::new(),
    };
    let applies = |s: &Value| {
        let listed = |v: &Value| match v {
            Value::String(x) => vec![x.clone()],
            Value::Array(xs) => xs
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        };
        let action = listed(&s["Action"])
            .iter()
            .any(|a| a == "execute-api:Invoke" || a == "execute-api:*" || a == "*");
        action
            && listed(&s["Resource"])
                .iter()
                .any(|r| wildcard_match(r, arn))
    };
    let effect = |e: &str| statements.iter().any(|s| s["Effect"] == e && applies(s));
    !effect("Deny") && effect("Allow")
}

/// IAM's resource patterns: `*` any run of characters, `?` any one.
pub(super) fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_allows_only_with_a_matching_allow_and_no_matching_deny() {
        let arn = "arn:aws:execute-api:us-east-1:123456789012:abc/live/$connect";
        let policy = |effect: &str, resource: &str| {
            json!({"principalId": "u", "policyDocument": {"Version": "2012-10-17",
                "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}]}})
        };
        assert!(policy_allows(&policy("Allow", arn), arn));
        assert!(policy_allows(
            &policy("Allow", "arn:aws:execute-api:*:*:abc/*"),
            arn
        ));
        assert!(!policy_allows(
            &policy("Allow", "arn:aws:execute-api:*:*:other/*"),
            arn
        ));
        assert!(!policy_allows(&policy("Deny", arn), arn));
        let both = json!({"policyDocument": {"Statement": [
            {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "*"},
            {"Action": ["execute-api:Invoke"], "Effect": "Deny", "Resource": [arn]}]}});
        assert!(!policy_allows(&both, arn));
        assert!(!policy_allows(&json!({}), arn));
    }

    #[test]
    fn identity_sources_must_all_be_present_and_non_empty() {
        let q = |v: Value| v.as_object().unwrap().clone();
        let sources = vec!["route.request.querystring.token".to_owned()];
        assert!(identity_present(
            &sources,
            &Map::new(),
            &q(json!({"token": "t"}))
        ));
        assert!(!identity_present(
            &sources,
            &Map::new(),
            &q(json!({"token": ""}))
        ));
        assert!(!identity_present(&sources, &Map::new(), &Map::new()));
        let header = vec!["route.request.header.Auth".to_owned()];
        assert!(identity_present(
            &header,
            &q(json!({"auth": "x"})),
            &Map::new()
        ));
    }
}
