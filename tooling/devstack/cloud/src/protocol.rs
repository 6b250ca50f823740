//! AWS's error answers in each wire protocol the functions speak, so an
//! SDK treats a refusal made here (a fault, a denial, a bad signature)
//! exactly as it treats AWS's: which status, which error code, which
//! header carries it, and whether it retries.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Response, StatusCode};

/// The wire protocol of a call, told from its headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Protocol {
    /// AWS JSON 1.0/1.1 (DynamoDB, EventBridge, SQS, SSM…): `X-Amz-Target`.
    Json { target: String },
    /// AWS query (SNS, STS, IAM): a form body.
    Query,
    /// REST-XML (S3).
    RestXml,
}

/// One error answer: its status, AWS's code for it, and its message.
#[derive(Clone, Copy)]
struct Shape<'a> {
    status: StatusCode,
    code: &'a str,
    message: &'a str,
}

impl Protocol {
    pub fn of(headers: &HeaderMap) -> Self {
        if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
            return Protocol::Json {
                target: target.to_owned(),
            };
        }
        let form = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
        if form {
            Protocol::Query
        } else {
            Protocol::RestXml
        }
    }

    /// Access denied, which the SDK does not retry: JSON's 400
    /// `AccessDeniedException`, SNS's 403 `AuthorizationError`, S3's 403
    /// `AccessDenied`.
    pub fn denied(&self, message: &str) -> Response<Body> {
        let (status, code) = match self {
            Protocol::Json { .. } => (StatusCode::BAD_REQUEST, "AccessDeniedException"),
            Protocol::Query => (StatusCode::FORBIDDEN, "AuthorizationError"),
            Protocol::RestXml => (StatusCode::FORBIDDEN, "AccessDenied"),
        };
        self.render(Shape {
            status,
            code,
            message,
        })
    }

    /// The KMS key of an encrypted topic or queue refused the service
    /// acting for the caller: SNS's 400 `KMSAccessDenied`, SQS's 400
    /// `KmsAccessDenied`, S3's 403 `AccessDenied`.
    pub fn key_denied(&self, message: &str) -> Response<Body> {
        let (status, code) = match self {
            Protocol::Json { .. } => (StatusCode::BAD_REQUEST, "KmsAccessDenied"),
            Protocol::Query => (StatusCode::BAD_REQUEST, "KMSAccessDenied"),
            Protocol::RestXml => (StatusCode::FORBIDDEN, "AccessDenied"),
        };
        self.render(Shape {
            status,
            code,
            message,
        })
    }

    /// A key AWS does not know (`signature`: false), or a signature that
    /// does not match its key's secret (true).
    pub fn unrecognized(&self, signature: bool, message: &str) -> Response<Body> {
        let (status, code) = match (self, signature) {
            (Protocol::Json { .. }, false) => {
                (StatusCode::BAD_REQUEST, "UnrecognizedClientException")
            }
            (Protocol::Json { .. }, true) => (StatusCode::BAD_REQUEST, "InvalidSignatureException"),
            (Protocol::Query, false) => (StatusCode::FORBIDDEN, "InvalidClientTokenId"),
            (Protocol::RestXml, false) => (StatusCode::FORBIDDEN, "InvalidAccessKeyId"),
            (_, true) => (StatusCode::FORBIDDEN, "SignatureDoesNotMatch"),
        };
        self.render(Shape {
            status,
            code,
            message,
        })
    }

    /// A session STS issued, past its expiry: STS's and the query
    /// services' 403 `ExpiredToken`, JSON's 400 `ExpiredTokenException`,
    /// S3's 400 `ExpiredToken`. The SDK does not retry it.
    pub fn expired(&self) -> Response<Body> {
        let (status, code, message) = match self {
            Protocol::Json { .. } => (
                StatusCode::BAD_REQUEST,
                "ExpiredTokenException",
                "The security token included in the request is expired",
            ),
            Protocol::Query => (
                StatusCode::FORBIDDEN,
                "ExpiredToken",
                "The security token included in the request is expired",
            ),
            Protocol::RestXml => (
                StatusCode::BAD_REQUEST,
                "ExpiredToken",
                "The provided token has expired.",
            ),
        };
        self.render(Shape {
            status,
            code,
            message,
        })
    }

    /// A service's own error (`code`, with its status), in this protocol's
    /// shape: what the local cloud answers for a call it plays itself.
    pub fn refused(&self, status: StatusCode, code: &str, message: &str) -> Response<Body> {
        self.render(Shape {
            status,
            code,
            message,
        })
    }

    /// The error AWS would answer: throttled, or an internal error.
    pub fn error(&self, throttle: bool) -> Response<Body> {
        let dynamo = matches!(self, Protocol::Json { target } if target.starts_with("DynamoDB"));
        let (status, code, message) = match (self, throttle) {
            (Protocol::Json { .. }, true) => (
                StatusCode::BAD_REQUEST,
                "ThrottlingException",
                "Rate exceeded",
            ),
            (Protocol::Json { .. }, false) if dynamo => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerError",
                "Internal server error",
            ),
            (Protocol::Json { .. }, false) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalException",
                "Internal service error",
            ),
            (Protocol::Query, true) => (
                StatusCode::TOO_MANY_REQUESTS,
                "ThrottledException",
                "Rate exceeded",
            ),
            (Protocol::Query, false) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "Internal error",
            ),
            (Protocol::RestXml, true) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "SlowDown",
                "Please reduce your request rate.",
            ),
            (Protocol::RestXml, false) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "We encountered an internal error. Please try again.",
            ),
        };
        self.render(Shape {
            status,
            code,
            message,
        })
    }

    fn render(&self, shape: Shape<'_>) -> Response<Body> {
        let request_id = uuid::Uuid::new_v4().to_string();
        let Shape {
            status,
            code,
            message,
        } = shape;
        let (content_type, error_type, body) = match self {
            Protocol::Json { target } => {
                let dynamo = target.starts_with("DynamoDB");
                let kind = if dynamo {
                    format!("com.amazonaws.dynamodb.v20120810#{code}")
                } else {
                    code.to_owned()
                };
                let version = if dynamo || target.starts_with("AmazonSQS") {
                    "1.0"
                } else {
                    "1.1"
                };
                (
                    format!("application/x-amz-json-{version}"),
                    Some(code),
                    serde_json::json!({"__type": kind, "message": message}).to_string(),
                )
            }
            Protocol::Query => (
                "text/xml".to_owned(),
                None,
                error_response_body(
                    "http://sns.amazonaws.com/doc/2010-03-31/",
                    &shape,
                    &request_id,
                ),
            ),
            Protocol::RestXml => (
                "application/xml".to_owned(),
                None,
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{}</Message><RequestId>{request_id}</RequestId></Error>",
                    escape(message)
                ),
            ),
        };
        let mut response = plain(status, body);
        let headers = response.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&content_type) {
            headers.insert("content-type", v);
        }
        if let Some(v) = error_type.and_then(|c| HeaderValue::from_str(c).ok()) {
            headers.insert("x-amzn-errortype", v);
        }
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            headers.insert("x-amzn-requestid", v);
        }
        response
    }
}

/// An error in the `<ErrorResponse>` shape the query protocol and
/// CloudFront's REST-XML answer with, under `namespace`.
pub fn error_response(
    status: StatusCode,
    namespace: &str,
    code: &str,
    message: &str,
) -> Response<Body> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let shape = Shape {
        status,
        code,
        message,
    };
    let mut response = plain(status, error_response_body(namespace, &shape, &request_id));
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("text/xml"));
    response
}

fn error_response_body(namespace: &str, shape: &Shape<'_>, request_id: &str) -> String {
    let party = if shape.status.is_server_error() {
        "Receiver"
    } else {
        "Sender"
    };
    format!(
        "<ErrorResponse xmlns=\"{namespace}\"><Error><Type>{party}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
        shape.code,
        escape(shape.message)
    )
}

pub fn plain(status: StatusCode, text: String) -> Response<Body> {
    let mut r = Response::new(Body::from(text));
    *r.status_mut() = status;
    r
}

/// Text made safe inside XML or HTML, an attribute's value included.
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    async fn body_of(r: Response<Body>) -> String {
        String::from_utf8(
            axum::body::to_bytes(r.into_body(), 1 << 20)
                .await
                .unwrap()
                .to_vec(),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn a_dynamodb_throttle_is_the_json_protocols_400_with_its_error_type() {
        let p = Protocol::of(&headers(&[(
            "x-amz-target",
            "DynamoDB_20120810.TransactWriteItems",
        )]));
        let r = p.error(true);
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert_eq!(r.headers()["x-amzn-errortype"], "ThrottlingException");
        assert_eq!(r.headers()["content-type"], "application/x-amz-json-1.0");
        let body: serde_json::Value = serde_json::from_str(&body_of(r).await).unwrap();
        assert_eq!(
            body["__type"],
            "com.amazonaws.dynamodb.v20120810#ThrottlingException"
        );
    }

    #[tokio::test]
    async fn each_protocol_gets_its_own_error_shape() {
        let bus = Protocol::of(&headers(&[("x-amz-target", "AWSEvents.PutEvents")]));
        let r = bus.error(false);
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(r.headers()["content-type"], "application/x-amz-json-1.1");
        let sns = Protocol::of(&headers(&[(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )]));
        assert_eq!(sns, Protocol::Query);
        let r = sns.error(true);
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(body_of(r).await.contains("<Code>ThrottledException</Code>"));
        let s3 = Protocol::of(&headers(&[]));
        let r = s3.error(true);
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(body_of(r).await.contains("<Code>SlowDown</Code>"));
    }

    #[tokio::test]
    async fn a_denial_carries_its_message_escaped_where_the_protocol_is_xml() {
        let message = "User: arn:aws:sts::123456789012:assumed-role/r/s is not authorized to perform: sns:Publish on resource: <t>";
        let r = Protocol::Query.denied(message);
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let body = body_of(r).await;
        assert!(body.contains("<Code>AuthorizationError</Code>"), "{body}");
        assert!(body.contains("resource: &lt;t&gt;</Message>"), "{body}");
        let json = Protocol::Json {
            target: "AWSEvents.PutEvents".into(),
        };
        let r = json.unrecognized(true, "bad");
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert_eq!(r.headers()["x-amzn-errortype"], "InvalidSignatureException");
    }
}
