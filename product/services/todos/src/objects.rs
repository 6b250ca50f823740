//! The attachments bucket. Every function signs its few S3 requests (a
//! presigned PUT, HEAD, DELETE, a listing of versions) with `aws-sigv4`
//! alone and sends them through the SDK clients' own HTTP connector: the
//! S3 client, its XML and endpoint rules and the checksum tables it links
//! cost a function over a megabyte (docs/deploying.md, "Artifact size"). The listing's
//! XML is read with `aws-smithy-xml`, the S3 client's own parser. The S3
//! client itself ([`client`]) is for tests and tools. Only this module
//! speaks S3.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignatureLocation, SigningSettings,
    UriPathNormalizationMode,
};
use chrono::{DateTime, Utc};
use kit::signed::{Signer, host_of};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// How long an upload URL stays valid.
pub const UPLOAD_URL_TTL: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, thiserror::Error)]
#[error("S3: {0}")]
pub struct ObjectsError(String);

fn s3<E: std::error::Error + 'static>(err: E) -> ObjectsError {
    ObjectsError(DisplayErrorContext(err).to_string())
}

/// What landed: the object's real size and content type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Landed {
    pub size: u64,
    pub content_type: Option<String>,
}

/// A key in a URL path: S3's URI encoding, `/` kept.
const PATH: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// The bucket's objects, through signed requests.
#[derive(Clone)]
pub struct Objects {
    bucket: String,
    /// `https://<bucket>.s3.<region>.amazonaws.com`, or `<endpoint>/<bucket>`
    /// (path style) when an endpoint is configured: emulators on
    /// `localhost` have no per-bucket host names.
    base: String,
    signer: Signer,
    http: std::sync::Arc<kit::outbound::Client>,
}

impl Objects {
    pub fn new(conf: &SdkConfig, bucket: impl Into<String>) -> Self {
        let bucket = bucket.into();
        let signer = Signer::new(conf, "s3");
        let base = match kit::signed::endpoint(conf, "S3") {
            Some(url) => format!("{url}/{bucket}"),
            None => format!("https://{bucket}.s3.{}.amazonaws.com", signer.region()),
        };
        Self {
            bucket,
            base,
            signer,
            http: std::sync::Arc::new(kit::outbound::Client::for_aws()),
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    fn url(&self, key: &str) -> String {
        format!("{}/{}", self.base, utf8_percent_encode(key, PATH))
    }

    /// One request signed in its headers; its status and headers.
    async fn call(&self, method: &str, key: &str) -> Result<kit::outbound::Answer, ObjectsError> {
        self.call_url(method, self.url(key)).await
    }

    async fn call_url(
        &self,
        method: &str,
        url: String,
    ) -> Result<kit::outbound::Answer, ObjectsError> {
        self.signer
            .send(&self.http, method, &url, &[], Vec::new(), settings())
            .await
            .map_err(|e| ObjectsError(e.to_string()))
    }

    /// A URL that lets its holder PUT exactly this key, with this content
    /// type and length, until it expires.
    pub async fn upload_url(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        now: DateTime<Utc>,
    ) -> Result<(String, DateTime<Utc>), ObjectsError> {
        // `x-id` as the S3 client adds it, so the URL is the one it signs.
        let url = format!("{}?x-id=PutObject", self.url(key));
        let host = host_of(&url);
        let length = size.to_string();
        let headers = [
            ("host", host.as_str()),
            ("content-type", content_type),
            ("content-length", length.as_str()),
        ];
        let mut presigned = settings();
        presigned.signature_location = SignatureLocation::QueryParams;
        presigned.expires_in = Some(UPLOAD_URL_TTL);
        let signature = self
            .signer
            .sign("PUT", &url, &headers, None, now.into(), presigned)
            .await
            .map_err(s3)?;
        let mut signed = url;
        for (k, v) in signature.query {
            signed.push('&');
            signed.push_str(&k);
            signed.push('=');
            signed.extend(utf8_percent_encode(&v, QUERY));
        }
        let expires = now + chrono::Duration::from_std(UPLOAD_URL_TTL).expect("a small duration");
        Ok((signed, expires))
    }

    /// The object as it really is, or `None` when it is gone.
    pub async fn head(&self, key: &str) -> Result<Option<Landed>, ObjectsError> {
        let answer = self.call("HEAD", key).await?;
        match answer.status {
            200 => Ok(Some(Landed {
                size: answer
                    .header("content-length")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_default(),
                content_type: answer.header("content-type").map(str::to_owned),
            })),
            404 => Ok(None),
            other => Err(ObjectsError(format!("HEAD {key}: HTTP {other}"))),
        }
    }

    /// Deletes objects; missing ones are fine.
    pub async fn delete(&self, keys: &[String]) -> Result<(), ObjectsError> {
        for key in keys {
            let answer = self.call("DELETE", key).await?;
            if !(200..300).contains(&answer.status) && answer.status != 404 {
                return Err(ObjectsError(format!(
                    "DELETE {key}: HTTP {}: {}",
                    answer.status,
                    String::from_utf8_lossy(&answer.body)
                )));
            }
        }
        Ok(())
    }
}

/// A query value: everything but the unreserved characters encoded.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// An S3 client; path-style addressing when an endpoint is configured,
/// since emulators on `localhost` have no per-bucket host names.
pub fn client(conf: &SdkConfig) -> Client {
    let path_style =
        conf.endpoint_url().is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
    Client::from_conf(
        aws_sdk_s3::config::Builder::from(conf)
            .force_path_style(path_style)
            .build(),
    )
}

/// Every version of the bucket's objects.
#[derive(Clone)]
pub struct Versions {
    objects: Objects,
}

/// One version (or delete marker) a listing named.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version {
    pub key: String,
    pub id: String,
}

impl Versions {
    pub fn new(conf: &SdkConfig, bucket: impl Into<String>) -> Self {
        Self {
            objects: Objects::new(conf, bucket),
        }
    }

    /// Removes every version and delete marker under `prefix`, so nothing
    /// of it can be restored (in a versioned bucket a plain delete only
    /// hides the object). Returns how many versions went. Each pass lists
    /// from the start again: what was deleted is no longer listed.
    pub async fn erase_prefix(&self, prefix: &str) -> Result<usize, ObjectsError> {
        let mut erased = std::collections::HashSet::new();
        loop {
            let page = self.list(prefix).await?;
            if page.is_empty() {
                return Ok(erased.len());
            }
            for version in page {
                // A version listed again survived its deletion (an object
                // lock, say): an error, not another pass for ever.
                if erased.contains(&version) {
                    return Err(ObjectsError(format!(
                        "{} version {} is still there after its deletion",
                        version.key, version.id
                    )));
                }
                self.delete(&version).await?;
                erased.insert(version);
            }
        }
    }

    /// ListObjectVersions' first page (up to 1,000) under `prefix`.
    async fn list(&self, prefix: &str) -> Result<Vec<Version>, ObjectsError> {
        let url = format!(
            "{}/?versions&prefix={}",
            self.objects.base,
            utf8_percent_encode(prefix, QUERY)
        );
        let answer = self.objects.call_url("GET", url).await?;
        if answer.status != 200 {
            return Err(failed("listing versions", &answer));
        }
        let body = std::str::from_utf8(&answer.body)
            .map_err(|e| ObjectsError(format!("listing versions: {e}")))?;
        versions_in(body).map_err(|e| ObjectsError(format!("listing versions: {e}")))
    }

    /// One version, for good; one already gone is fine.
    async fn delete(&self, version: &Version) -> Result<(), ObjectsError> {
        let url = format!(
            "{}?versionId={}",
            self.objects.url(&version.key),
            utf8_percent_encode(&version.id, QUERY)
        );
        let answer = self.objects.call_url("DELETE", url).await?;
        match answer.status {
            200..300 | 404 => Ok(()),
            _ => Err(failed(&format!("deleting {}", version.key), &answer)),
        }
    }
}

/// How the S3 client signs: keys already encoded once, paths kept.
fn settings() -> SigningSettings {
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    settings
}

fn failed(what: &str, answer: &kit::outbound::Answer) -> ObjectsError {
    ObjectsError(format!(
        "{what}: HTTP {}: {}",
        answer.status,
        String::from_utf8_lossy(&answer.body)
    ))
}

/// The versions and delete markers a `ListVersionsResult` names.
pub fn versions_in(xml: &str) -> Result<Vec<Version>, aws_smithy_xml::decode::XmlDecodeError> {
    let mut doc = aws_smithy_xml::decode::Document::new(xml);
    let mut root = doc.root_element()?;
    let mut found = Vec::new();
    while let Some(mut entry) = root.next_tag() {
        if !(entry.start_el().matches("Version") || entry.start_el().matches("DeleteMarker")) {
            continue;
        }
        let (mut key, mut id) = (None, None);
        while let Some(mut field) = entry.next_tag() {
            if field.start_el().matches("Key") {
                key = Some(aws_smithy_xml::decode::try_data(&mut field)?.into_owned());
            } else if field.start_el().matches("VersionId") {
                id = Some(aws_smithy_xml::decode::try_data(&mut field)?.into_owned());
            }
        }
        match (key, id) {
            (Some(key), Some(id)) => found.push(Version { key, id }),
            _ => {
                return Err(aws_smithy_xml::decode::XmlDecodeError::custom(
                    "a version without its Key or VersionId",
                ));
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_credential_types::Credentials;
    use aws_credential_types::provider::SharedCredentialsProvider;

    fn conf(endpoint: Option<&str>) -> SdkConfig {
        let mut b = SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-west-1"))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "AKIDEXAMPLE",
                "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", // pragma: allowlist secret (AWS's documented example key)
                Some("a-session/token+with=odd chars".into()),
                None,
                "test",
            )));
        if let Some(url) = endpoint {
            b = b.endpoint_url(url);
        }
        b.build()
    }

    /// The URL signed here is the S3 client's own, byte for byte: the same
    /// request, time and credentials give the same signature. (The
    /// emulator does not check signatures, so this is what does.)
    #[tokio::test]
    async fn an_upload_url_is_the_one_the_s3_client_presigns() {
        let key = "users/u1/todos/7c9e/3f2a-report (final)+v2.pdf";
        let now: DateTime<Utc> = "2026-11-24T10:00:00Z".parse().unwrap();
        for endpoint in [None, Some("http://127.0.0.1:5000")] {
            let conf = conf(endpoint);
            let ours = Objects::new(&conf, "attachments-bucket")
                .upload_url(key, "application/pdf", 1234, now)
                .await
                .unwrap()
                .0;
            let config = aws_sdk_s3::presigning::PresigningConfig::builder()
                .start_time(now.into())
                .expires_in(UPLOAD_URL_TTL)
                .build()
                .unwrap();
            let theirs = client(&conf)
                .put_object()
                .bucket("attachments-bucket")
                .key(key)
                .content_type("application/pdf")
                .content_length(1234)
                .presigned(config)
                .await
                .unwrap();
            assert_eq!(ours, theirs.uri(), "endpoint {endpoint:?}");
        }
    }

    #[test]
    fn objects_are_addressed_virtual_hosted_on_aws_and_path_style_on_an_endpoint() {
        let aws = Objects::new(&conf(None), "b1");
        assert_eq!(
            aws.url("a/b c"),
            "https://b1.s3.eu-west-1.amazonaws.com/a/b%20c"
        );
        let local = Objects::new(&conf(Some("http://127.0.0.1:5000/")), "b1");
        assert_eq!(local.url("a/b"), "http://127.0.0.1:5000/b1/a/b");
        assert_eq!(host_of("http://127.0.0.1:5000/b1/a?x=1"), "127.0.0.1:5000");
    }

    #[test]
    fn a_listing_names_its_versions_and_delete_markers() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>b1</Name><Prefix>users/ada/</Prefix><IsTruncated>false</IsTruncated>
  <Version><Key>users/ada/a &amp; b.txt</Key><VersionId>v2</VersionId><IsLatest>true</IsLatest>
    <Owner><ID>o</ID></Owner></Version>
  <DeleteMarker><Key>users/ada/gone.txt</Key><VersionId>null</VersionId></DeleteMarker>
  <Version><Key>users/ada/a &amp; b.txt</Key><VersionId>v1</VersionId></Version>
</ListVersionsResult>"#;
        let v = |key: &str, id: &str| Version {
            key: key.into(),
            id: id.into(),
        };
        assert_eq!(
            versions_in(xml).unwrap(),
            [
                v("users/ada/a & b.txt", "v2"),
                v("users/ada/gone.txt", "null"),
                v("users/ada/a & b.txt", "v1"),
            ]
        );
        let broken = "<ListVersionsResult><Version><Key>k</Key></Version></ListVersionsResult>";
        assert!(versions_in(broken).is_err());
    }
}
