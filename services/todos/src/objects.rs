//! The attachments bucket, through the official S3 client: presigned
//! uploads, HEAD, DELETE, and erasing every version under a prefix. Only
//! this module speaks S3.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::presigning::PresigningConfig;
use chrono::{DateTime, Utc};

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

/// The bucket's objects.
#[derive(Clone)]
pub struct Objects {
    bucket: String,
    s3: Client,
}

impl Objects {
    pub fn new(conf: &SdkConfig, bucket: impl Into<String>) -> Self {
        Self {
            bucket: bucket.into(),
            s3: client(conf),
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
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
        let length = i64::try_from(size)
            .map_err(|_| ObjectsError(format!("an upload of {size} bytes is too large")))?;
        let presigning = PresigningConfig::builder()
            .start_time(now.into())
            .expires_in(UPLOAD_URL_TTL)
            .build()
            .map_err(s3)?;
        let signed = self
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .content_length(length)
            .presigned(presigning)
            .await
            .map_err(s3)?;
        let expires = now + chrono::Duration::from_std(UPLOAD_URL_TTL).expect("a small duration");
        Ok((signed.uri().to_owned(), expires))
    }

    /// The object as it really is, or `None` when it is gone.
    pub async fn head(&self, key: &str) -> Result<Option<Landed>, ObjectsError> {
        let answer = self
            .s3
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await;
        match answer {
            Ok(object) => Ok(Some(Landed {
                size: object
                    .content_length()
                    .and_then(|n| u64::try_from(n).ok())
                    .unwrap_or_default(),
                content_type: object.content_type().map(str::to_owned),
            })),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(None),
            Err(e) => Err(s3(e)),
        }
    }

    /// Deletes objects; missing ones are fine.
    pub async fn delete(&self, keys: &[String]) -> Result<(), ObjectsError> {
        for key in keys {
            self.delete_one(key, None).await?;
        }
        Ok(())
    }

    /// An object, or one version of it (for good); one already gone is
    /// fine.
    async fn delete_one(&self, key: &str, version: Option<&str>) -> Result<(), ObjectsError> {
        let answer = self
            .s3
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .set_version_id(version.map(str::to_owned))
            .send()
            .await;
        match answer {
            Ok(_) => Ok(()),
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => Ok(()),
            Err(e) => Err(s3(e)),
        }
    }
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

    /// ListObjectVersions' first page (up to 1,000) under `prefix`:
    /// versions and delete markers alike.
    async fn list(&self, prefix: &str) -> Result<Vec<Version>, ObjectsError> {
        let page = self
            .objects
            .s3
            .list_object_versions()
            .bucket(&self.objects.bucket)
            .prefix(prefix)
            .send()
            .await
            .map_err(s3)?;
        let versions = page.versions().iter().map(|v| (v.key(), v.version_id()));
        let markers = page
            .delete_markers()
            .iter()
            .map(|m| (m.key(), m.version_id()));
        versions
            .chain(markers)
            .map(|named| match named {
                (Some(key), Some(id)) => Ok(Version {
                    key: key.to_owned(),
                    id: id.to_owned(),
                }),
                _ => Err(ObjectsError(
                    "listing versions: a version without its Key or VersionId".into(),
                )),
            })
            .collect()
    }

    /// One version, for good; one already gone is fine.
    async fn delete(&self, version: &Version) -> Result<(), ObjectsError> {
        self.objects
            .delete_one(&version.key, Some(&version.id))
            .await
    }
}
