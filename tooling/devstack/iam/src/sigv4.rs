//! Who signed a call: the SigV4 `Authorization` header read, and its
//! signature computed again with the secret of the key it names, by the
//! SDK's own signer (`aws-sigv4`). So a function's key id is worth nothing
//! without its secret: a call cannot pass as another function's.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation,
    SigningSettings, UriPathNormalizationMode, sign,
};
use aws_smithy_runtime_api::client::identity::Identity;

/// The parts of `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub key_id: String,
    pub region: String,
    /// The signing name: `dynamodb`, `events`, `s3`, `states`…
    pub service: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("the Authorization header is not a SigV4 one ({0})")]
    Malformed(&'static str),
    #[error("the request has no valid x-amz-date")]
    Date,
    #[error(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method."
    )]
    Mismatch,
    #[error("the request cannot be signed again: {0}")]
    Unsignable(String),
    #[error("Request has expired")]
    Expired,
}

impl Authorization {
    pub fn parse(header: &str) -> Result<Self, SignatureError> {
        let rest = header
            .strip_prefix("AWS4-HMAC-SHA256 ")
            .ok_or(SignatureError::Malformed("not AWS4-HMAC-SHA256"))?;
        let (mut credential, mut signed, mut signature) = (None, None, None);
        for part in rest.split(',') {
            match part.trim().split_once('=') {
                Some(("Credential", v)) => credential = Some(v),
                Some(("SignedHeaders", v)) => signed = Some(v),
                Some(("Signature", v)) => signature = Some(v),
                _ => {}
            }
        }
        let credential = credential.ok_or(SignatureError::Malformed("no Credential"))?;
        let scope: Vec<&str> = credential.split('/').collect();
        let [key_id, _date, region, service, "aws4_request"] = scope[..] else {
            return Err(SignatureError::Malformed(
                "Credential is not key/date/region/service/aws4_request",
            ));
        };
        Ok(Self {
            key_id: key_id.to_owned(),
            region: region.to_owned(),
            service: service.to_owned(),
            signed_headers: signed
                .ok_or(SignatureError::Malformed("no SignedHeaders"))?
                .split(';')
                .map(str::to_owned)
                .collect(),
            signature: signature
                .ok_or(SignatureError::Malformed("no Signature"))?
                .to_owned(),
        })
    }
}

/// A request as it arrived, for checking its signature.
#[derive(Debug, Clone, Copy)]
pub struct Arrived<'a> {
    pub method: &'a str,
    /// Path and query exactly as sent.
    pub path_and_query: &'a str,
    /// Every header as received (names in any case).
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
}

impl Arrived<'_> {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }
}

/// Whether `request` was signed with `secret`, the secret of the key its
/// `Authorization` names.
pub fn verify(
    auth: &Authorization,
    secret: &str,
    request: &Arrived<'_>,
) -> Result<(), SignatureError> {
    let time = request
        .header("x-amz-date")
        .and_then(parse_amz_date)
        .ok_or(SignatureError::Date)?;
    let body = match request.header("x-amz-content-sha256") {
        Some(hash) => SignableBody::Precomputed(hash.to_owned()),
        None => SignableBody::Bytes(request.body),
    };
    let signature = signature_of(
        Signing {
            key_id: &auth.key_id,
            secret,
            token: None,
            region: &auth.region,
            service: &auth.service,
            time,
            settings: settings(&auth.service),
            signed_headers: &auth.signed_headers,
            path_and_query: request.path_and_query,
            body,
        },
        request,
    )?;
    matches(&signature, &auth.signature)
}

/// What a signature is computed again from: the key and its scope, the
/// time, the signer's settings, and the request as it was signed. Only the
/// headers the caller signed are handed over.
struct Signing<'a> {
    key_id: &'a str,
    secret: &'a str,
    /// Set for a presigned URL, whose query carries the token it signed.
    token: Option<String>,
    region: &'a str,
    service: &'a str,
    time: SystemTime,
    settings: SigningSettings,
    signed_headers: &'a [String],
    path_and_query: &'a str,
    body: SignableBody<'a>,
}

/// The signature the SDK's signer computes for `signing` of `request`.
fn signature_of(signing: Signing<'_>, request: &Arrived<'_>) -> Result<String, SignatureError> {
    let host = request
        .header("host")
        .ok_or(SignatureError::Malformed("no host header"))?;
    let signed: Vec<(&str, &str)> = request
        .headers
        .iter()
        .filter(|(n, _)| {
            signing
                .signed_headers
                .iter()
                .any(|s| n.eq_ignore_ascii_case(s))
        })
        .copied()
        .collect();
    let unsignable = |e: &dyn std::fmt::Display| SignatureError::Unsignable(e.to_string());
    let identity: Identity = Credentials::new(
        signing.key_id,
        signing.secret,
        signing.token,
        None,
        "devstack-iam",
    )
    .into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(signing.region)
        .name(signing.service)
        .time(signing.time)
        .settings(signing.settings)
        .build()
        .map_err(|e| unsignable(&e))?
        .into();
    let url = format!("http://{host}{}", signing.path_and_query);
    let signable = SignableRequest::new(request.method, url, signed.into_iter(), signing.body)
        .map_err(|e| unsignable(&e))?;
    let output = sign(signable, &params).map_err(|e| unsignable(&e))?;
    Ok(output.signature().to_owned())
}

fn matches(computed: &str, given: &str) -> Result<(), SignatureError> {
    if computed == given {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// A presigned URL's signature, from its query (`X-Amz-Credential`…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presigned {
    pub key_id: String,
    pub region: String,
    pub service: String,
    /// `X-Amz-Date`.
    pub date: String,
    pub expires_seconds: u64,
    pub signed_headers: Vec<String>,
    pub signature: String,
    pub token: Option<String>,
}

/// The query parameters a presigned URL's signature adds.
const PRESIGN_PARAMS: [&str; 7] = [
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
];

impl Presigned {
    /// `None`: the URL carries no SigV4 query signature.
    pub fn parse(path_and_query: &str) -> Option<Result<Self, SignatureError>> {
        let query = path_and_query.split_once('?')?.1;
        let get = |name: &str| {
            form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        let signature = get("X-Amz-Signature")?;
        Some((|| {
            let credential =
                get("X-Amz-Credential").ok_or(SignatureError::Malformed("no X-Amz-Credential"))?;
            let scope: Vec<&str> = credential.split('/').collect();
            let [key_id, _, region, service, "aws4_request"] = scope[..] else {
                return Err(SignatureError::Malformed(
                    "X-Amz-Credential is not a SigV4 scope",
                ));
            };
            Ok(Self {
                key_id: key_id.to_owned(),
                region: region.to_owned(),
                service: service.to_owned(),
                date: get("X-Amz-Date").ok_or(SignatureError::Date)?,
                expires_seconds: get("X-Amz-Expires")
                    .and_then(|e| e.parse().ok())
                    .ok_or(SignatureError::Malformed("no X-Amz-Expires"))?,
                signed_headers: get("X-Amz-SignedHeaders")
                    .ok_or(SignatureError::Malformed("no X-Amz-SignedHeaders"))?
                    .split(';')
                    .map(str::to_owned)
                    .collect(),
                signature,
                token: get("X-Amz-Security-Token"),
            })
        })())
    }
}

/// Whether a presigned `request` was signed with `secret` (the secret of
/// the key it names) and is still within its expiry at `now`.
pub fn verify_presigned(
    presigned: &Presigned,
    secret: &str,
    request: &Arrived<'_>,
    now: SystemTime,
) -> Result<(), SignatureError> {
    let time = parse_amz_date(&presigned.date).ok_or(SignatureError::Date)?;
    let expires = std::time::Duration::from_secs(presigned.expires_seconds);
    if now > time + expires {
        return Err(SignatureError::Expired);
    }
    // The URL as it was before its signature was added to it.
    let (path, query) = request
        .path_and_query
        .split_once('?')
        .unwrap_or((request.path_and_query, ""));
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            let name = pair.split('=').next().unwrap_or_default();
            !pair.is_empty() && !PRESIGN_PARAMS.contains(&name)
        })
        .collect();
    let unsigned = if kept.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", kept.join("&"))
    };
    let mut settings = settings(&presigned.service);
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(expires);
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    let signature = signature_of(
        Signing {
            key_id: &presigned.key_id,
            secret,
            token: presigned.token.clone(),
            region: &presigned.region,
            service: &presigned.service,
            time,
            settings,
            signed_headers: &presigned.signed_headers,
            path_and_query: &unsigned,
            body: SignableBody::UnsignedPayload,
        },
        request,
    )?;
    matches(&signature, &presigned.signature)
}

/// As the SDK signs for the service: S3 encodes paths once and never
/// normalises them; every other service encodes twice and normalises.
/// Only the headers the caller signed are handed over, so none is excluded.
fn settings(service: &str) -> SigningSettings {
    let mut s = SigningSettings::default();
    s.payload_checksum_kind = PayloadChecksumKind::NoHeader;
    s.excluded_headers = Some(Vec::new());
    if service == "s3" {
        s.percent_encoding_mode = PercentEncodingMode::Single;
        s.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    }
    s
}

/// `20261125T105604Z`.
fn parse_amz_date(value: &str) -> Option<SystemTime> {
    let t = chrono::NaiveDateTime::parse_from_str(value, "%Y%m%dT%H%M%SZ").ok()?;
    Some(t.and_utc().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Signs as an SDK client does, with `aws-sigv4`'s defaults for the service.
    fn signed(
        service: &str,
        key: (&str, &str),
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Vec<(String, String)> {
        let identity: Identity = Credentials::new(key.0, key.1, None, None, "t").into();
        let mut settings = SigningSettings::default();
        if service == "s3" {
            settings.percent_encoding_mode = PercentEncodingMode::Single;
            settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
            settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        }
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name(service)
            .time(SystemTime::now())
            .settings(settings)
            .build()
            .unwrap()
            .into();
        let url = format!("http://127.0.0.1:4566{path}");
        let request = SignableRequest::new(
            method,
            url,
            headers.iter().copied(),
            SignableBody::Bytes(body),
        )
        .unwrap();
        let (instructions, _) = sign(request, &params).unwrap().into_parts();
        let (added, _) = instructions.into_parts();
        let mut all: Vec<(String, String)> = headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        all.extend(
            added
                .iter()
                .map(|h| (h.name().to_owned(), h.value().to_owned())),
        );
        all
    }

    fn check(
        secret: &str,
        method: &str,
        path: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<Authorization, SignatureError> {
        let pairs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let arrived = Arrived {
            method,
            path_and_query: path,
            headers: &pairs,
            body,
        };
        let auth = Authorization::parse(arrived.header("authorization").unwrap())?;
        verify(&auth, secret, &arrived).map(|()| auth)
    }

    #[test]
    fn a_json_call_verifies_with_its_secret_and_no_other() {
        let body = br#"{"TableName":"todos-Table","Key":{"pk":{"S":"USER#1"}}}"#;
        let headers = signed(
            "dynamodb",
            ("ASIAFUNCTIONA", "secret-a"),
            "POST",
            "/",
            &[
                ("host", "127.0.0.1:4566"),
                ("content-type", "application/x-amz-json-1.0"),
                ("x-amz-target", "DynamoDB_20120810.GetItem"),
                ("user-agent", "aws-sdk-rust"),
            ],
            body,
        );
        let auth = check("secret-a", "POST", "/", &headers, body).unwrap();
        assert_eq!(
            (
                auth.key_id.as_str(),
                auth.service.as_str(),
                auth.region.as_str()
            ),
            ("ASIAFUNCTIONA", "dynamodb", "us-east-1")
        );
        assert_eq!(
            check("secret-b", "POST", "/", &headers, body),
            Err(SignatureError::Mismatch)
        );
        // The body is part of what was signed.
        assert_eq!(
            check("secret-a", "POST", "/", &headers, b"{}"),
            Err(SignatureError::Mismatch)
        );
        // So is every signed header.
        let mut other_target = headers.clone();
        for (n, v) in &mut other_target {
            if n == "x-amz-target" {
                *v = "DynamoDB_20120810.DeleteItem".into();
            }
        }
        assert_eq!(
            check("secret-a", "POST", "/", &other_target, body),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn an_s3_call_with_an_odd_key_verifies() {
        let path = "/attachments/users/u%201/todo%2Bx/file%20name.png?versionId=3";
        let headers = signed(
            "s3",
            ("ASIAFUNCTIONB", "secret-b"),
            "GET",
            path,
            &[("host", "127.0.0.1:4566")],
            b"",
        );
        check("secret-b", "GET", path, &headers, b"").unwrap();
        assert_eq!(
            check(
                "secret-b",
                "GET",
                "/attachments/other?versionId=3",
                &headers,
                b""
            ),
            Err(SignatureError::Mismatch)
        );
    }

    /// A presigned PUT as `todos::objects` makes one, with a session token.
    fn presign(secret: &str, time: SystemTime) -> String {
        let identity: Identity =
            Credentials::new("ASIAFUNCTIONC", secret, Some("token-c".into()), None, "t").into();
        let mut settings = settings("s3");
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(std::time::Duration::from_secs(300));
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("s3")
            .time(time)
            .settings(settings)
            .build()
            .unwrap()
            .into();
        let path = "/todos-attachments/users/u%201/a.png?x-id=PutObject";
        let headers = [
            ("host", "127.0.0.1:4566"),
            ("content-type", "image/png"),
            ("content-length", "5"),
        ];
        let request = SignableRequest::new(
            "PUT",
            format!("http://127.0.0.1:4566{path}"),
            headers.iter().copied(),
            SignableBody::UnsignedPayload,
        )
        .unwrap();
        let (instructions, _) = sign(request, &params).unwrap().into_parts();
        let (_, query) = instructions.into_parts();
        let mut url = path.to_owned();
        for (k, v) in query {
            url.push_str(&format!(
                "&{k}={}",
                percent_encoding::utf8_percent_encode(&v, percent_encoding::NON_ALPHANUMERIC)
            ));
        }
        url
    }

    #[test]
    fn a_presigned_put_verifies_until_it_expires_and_only_as_signed() {
        let signed_at = SystemTime::now() - std::time::Duration::from_secs(10);
        let url = presign("secret-c", signed_at);
        let check = |url: &str, content_type: &str, secret: &str, now: SystemTime| {
            let headers = [
                ("host", "127.0.0.1:4566"),
                ("content-type", content_type),
                ("content-length", "5"),
                ("origin", "http://127.0.0.1:3000"),
            ];
            let arrived = Arrived {
                method: "PUT",
                path_and_query: url,
                headers: &headers,
                body: b"hello",
            };
            let presigned = Presigned::parse(url).unwrap().unwrap();
            assert_eq!(presigned.token.as_deref(), Some("token-c"));
            verify_presigned(&presigned, secret, &arrived, now)
        };
        let now = SystemTime::now();
        assert_eq!(check(&url, "image/png", "secret-c", now), Ok(()));
        assert_eq!(
            check(&url, "text/html", "secret-c", now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            check(&url, "image/png", "secret-d", now),
            Err(SignatureError::Mismatch)
        );
        let later = now + std::time::Duration::from_secs(300);
        assert_eq!(
            check(&url, "image/png", "secret-c", later),
            Err(SignatureError::Expired)
        );
        let other_key = url.replace("u%201", "u%202");
        assert_eq!(
            check(&other_key, "image/png", "secret-c", now),
            Err(SignatureError::Mismatch)
        );
        assert!(Presigned::parse("/b/k?x-id=PutObject").is_none());
    }

    #[test]
    fn an_unsigned_or_foreign_header_is_refused_by_name() {
        assert_eq!(
            Authorization::parse("Basic dGVzdDp0ZXN0"),
            Err(SignatureError::Malformed("not AWS4-HMAC-SHA256"))
        );
        assert!(matches!(
            Authorization::parse(
                "AWS4-HMAC-SHA256 Credential=AKID/20261125/us-east-1, SignedHeaders=host, Signature=00"
            ),
            Err(SignatureError::Malformed(_))
        ));
    }
}
