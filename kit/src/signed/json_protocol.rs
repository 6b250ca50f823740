//! AWS's JSON protocol (`X-Amz-Target` operations: SSM, Secrets Manager,
//! Cognito's user pools, KMS, EventBridge, CodeDeploy) as signed requests. Why these
//! calls are not an SDK client's, with the clients' measured cost, is in
//! [`super`]'s table.

use super::{Signer, endpoint};

/// An API: the endpoint variable's id (`AWS_ENDPOINT_URL_<ID>`), its
/// signing name, which is also its host's prefix, and the prefix of its
/// operations' `X-Amz-Target` (`AmazonSSM.GetParameter`).
#[derive(Clone, Copy, Debug)]
pub struct Service {
    pub id: &'static str,
    pub name: &'static str,
    pub target: &'static str,
}

pub const SSM: Service = Service {
    id: "SSM",
    name: "ssm",
    target: "AmazonSSM",
};
pub const SECRETS_MANAGER: Service = Service {
    id: "SECRETS_MANAGER",
    name: "secretsmanager",
    target: "secretsmanager",
};
/// The local cloud reads keys' policies with it; no function calls KMS.
pub const KMS: Service = Service {
    id: "KMS",
    name: "kms",
    target: "TrentService",
};
/// The local cloud reads rules' ARNs with it; the functions use the SDK.
pub const EVENTS: Service = Service {
    id: "EVENTBRIDGE",
    name: "events",
    target: "AWSEvents",
};
/// A lifecycle hook reports its verdict with it, once per deployment.
pub const CODEDEPLOY: Service = Service {
    id: "CODEDEPLOY",
    name: "codedeploy",
    target: "CodeDeploy_20141006",
};
pub const COGNITO_IDP: Service = Service {
    id: "COGNITO_IDENTITY_PROVIDER",
    name: "cognito-idp",
    target: "AWSCognitoIdentityProviderService",
};

/// One API called with one configuration's credentials, region and
/// endpoint.
pub struct JsonApi {
    signer: Signer,
    url: String,
    http: crate::outbound::Client,
    target: &'static str,
}

impl JsonApi {
    pub fn new(conf: &aws_config::SdkConfig, service: Service) -> Self {
        let signer = Signer::new(conf, service.name);
        let url = endpoint(conf, service.id).unwrap_or_else(|| signer.aws_endpoint());
        Self {
            signer,
            url: format!("{url}/"),
            http: crate::outbound::Client::for_aws(),
            target: service.target,
        }
    }

    /// The API's `operation` (`GetParameter`) with `body`: the answer's
    /// JSON, or what AWS refused.
    pub async fn call(
        &self,
        operation: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, Refused> {
        let target = format!("{}.{operation}", self.target);
        let headers = [
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", target.as_str()),
        ];
        let answer = self
            .signer
            .send(
                &self.http,
                "POST",
                &self.url,
                &headers,
                body.to_string().into_bytes(),
                aws_sigv4::http_request::SigningSettings::default(),
            )
            .await
            .map_err(|e| Refused {
                status: 0,
                kind: "no answer".into(),
                message: e.to_string(),
            })?;
        answered(answer.status, &answer.body)
    }
}

/// An operation AWS refused: its status (0 without an answer), its error
/// kind (`ParameterNotFound`, `UsernameExistsException`) and message.
#[derive(Debug, PartialEq, thiserror::Error)]
#[error("HTTP {status}: {kind}: {message}")]
pub struct Refused {
    pub status: u16,
    pub kind: String,
    pub message: String,
}

/// An answer's JSON, or the error AWS named.
fn answered(status: u16, body: &[u8]) -> Result<serde_json::Value, Refused> {
    let json: serde_json::Value = serde_json::from_slice(body).map_err(|e| Refused {
        status,
        kind: "not JSON".into(),
        message: e.to_string(),
    })?;
    if status == 200 {
        return Ok(json);
    }
    // `__type` may carry its namespace: `com.amazonaws.ssm#ParameterNotFound`.
    let kind = json["__type"].as_str().unwrap_or_default();
    let kind = kind.rsplit('#').next().unwrap_or_default();
    let message = json["message"]
        .as_str()
        .or_else(|| json["Message"].as_str())
        .unwrap_or_default();
    Err(Refused {
        status,
        kind: kind.to_owned(),
        message: message.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_gives_its_json_and_a_refusal_its_kind() {
        let answer =
            br#"{"Parameter":{"Name":"/k","Type":"SecureString","Value":"s3cr3t","Version":2}}"#;
        assert_eq!(
            answered(200, answer).unwrap()["Parameter"]["Value"],
            "s3cr3t"
        );
        let refused = br#"{"__type":"com.amazonaws.ssm#ParameterNotFound","message":"no /k"}"#;
        let refused = answered(400, refused).unwrap_err();
        assert_eq!(refused.kind, "ParameterNotFound");
        assert_eq!(refused.to_string(), "HTTP 400: ParameterNotFound: no /k");
        let exists = br#"{"__type":"ResourceExistsException","Message":"it exists"}"#;
        assert_eq!(
            answered(400, exists).unwrap_err().to_string(),
            "HTTP 400: ResourceExistsException: it exists"
        );
        assert_eq!(answered(200, b"not json").unwrap_err().kind, "not JSON");
    }
}
