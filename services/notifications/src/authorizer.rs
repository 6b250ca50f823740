//! The WebSocket API's `$connect` authorizer (Lambda, REQUEST type). A
//! browser cannot set headers on a WebSocket, so the Cognito ID token comes
//! in the query string (`?token=`); API Gateway answers 401 itself when it
//! is absent. The token checks are `kit::jwt`'s, the HTTP APIs' own.
//!
//! - a token that fails the checks: the error `Unauthorized` (API Gateway
//!   answers 401);
//! - an authentic token that is not an ID token: a Deny policy (403). The
//!   socket pushes to the person, so it takes the token that names them.
//! - otherwise Allow, with the user as `principalId` and in `context`,
//!   which API Gateway hands to every later event of the connection.

use kit::jwt::{Claims, Refusal};
use serde_json::{Value, json};

/// The error message API Gateway maps to 401.
pub const UNAUTHORIZED: &str = "Unauthorized";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Unauthorized")]
pub struct Unauthorized(pub Refusal);

/// The policy for a checked token, or `Unauthorized`.
pub fn decide(checked: Result<Claims, Refusal>, method_arn: &str) -> Result<Value, Unauthorized> {
    let claims = checked.map_err(Unauthorized)?;
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or(Unauthorized(Refusal::Invalid("no sub".into())))?;
    let id_token = claims.get("token_use").and_then(Value::as_str) == Some("id");
    let effect = if id_token { "Allow" } else { "Deny" };
    let mut context = json!({ "sub": sub });
    if let Some(email) = claims.get("email").and_then(Value::as_str) {
        context["email"] = Value::from(email);
    }
    Ok(json!({
        "principalId": sub,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{
                "Action": "execute-api:Invoke",
                "Effect": effect,
                "Resource": method_arn,
            }]
        },
        "context": context,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(v: Value) -> Claims {
        v.as_object().unwrap().clone()
    }

    const ARN: &str = "arn:aws:execute-api:eu-west-1:123456789012:abc/live/$connect";

    #[test]
    fn an_id_token_is_allowed_as_its_user() {
        let policy = decide(
            Ok(claims(
                json!({"sub": "u-1", "token_use": "id", "email": "a@example.com"}),
            )),
            ARN,
        )
        .unwrap();
        assert_eq!(policy["principalId"], "u-1");
        assert_eq!(policy["policyDocument"]["Statement"][0]["Effect"], "Allow");
        assert_eq!(policy["policyDocument"]["Statement"][0]["Resource"], ARN);
        assert_eq!(
            policy["context"],
            json!({"sub": "u-1", "email": "a@example.com"})
        );
    }

    #[test]
    fn an_access_token_is_denied_and_a_refused_token_is_unauthorized() {
        let policy = decide(
            Ok(claims(json!({"sub": "u-1", "token_use": "access"}))),
            ARN,
        )
        .unwrap();
        assert_eq!(policy["policyDocument"]["Statement"][0]["Effect"], "Deny");
        assert_eq!(
            decide(Err(Refusal::WrongClient), ARN),
            Err(Unauthorized(Refusal::WrongClient))
        );
        assert!(decide(Ok(claims(json!({"token_use": "id"}))), ARN).is_err());
        assert_eq!(Unauthorized(Refusal::Missing).to_string(), UNAUTHORIZED);
    }
}
