//! The attachments bucket through the official SDK. Only this module
//! speaks S3.

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
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

#[derive(Clone)]
pub struct Objects {
    client: Client,
    bucket: String,
}

/// An S3 client; path-style addressing when an endpoint is configured,
/// since emulators on `localhost` have no per-bucket host names.
pub fn client(conf: &aws_config::SdkConfig) -> Client {
    let path_style =
        conf.endpoint_url().is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
    Client::from_conf(
        aws_sdk_s3::config::Builder::from(conf)
            .force_path_style(path_style)
            .build(),
    )
}

impl Objects {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
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
        let config = PresigningConfig::builder()
            .start_time(now.into())
            .expires_in(UPLOAD_URL_TTL)
            .build()
            .map_err(s3)?;
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .content_length(size as i64)
            .presigned(config)
            .await
            .map_err(s3)?;
        let expires = now + chrono::Duration::from_std(UPLOAD_URL_TTL).expect("a small duration");
        Ok((request.uri().to_owned(), expires))
    }

    /// The object as it really is, or `None` when it is gone.
    pub async fn head(&self, key: &str) -> Result<Option<Landed>, ObjectsError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(head) => Ok(Some(Landed {
                size: head.content_length().unwrap_or_default().max(0) as u64,
                content_type: head.content_type().map(str::to_owned),
            })),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(None),
            Err(err) => Err(s3(err)),
        }
    }

    /// Removes every version and delete marker under `prefix`, so nothing
    /// of it can be restored (in a versioned bucket a plain delete only
    /// hides the object). Returns how many versions went.
    pub async fn erase_prefix(&self, prefix: &str) -> Result<usize, ObjectsError> {
        let mut erased = 0;
        loop {
            let page = self
                .client
                .list_object_versions()
                .bucket(&self.bucket)
                .prefix(prefix)
                .send()
                .await
                .map_err(s3)?;
            let versions = page
                .versions()
                .iter()
                .map(|v| (v.key(), v.version_id()))
                .chain(
                    page.delete_markers()
                        .iter()
                        .map(|m| (m.key(), m.version_id())),
                );
            let ids: Vec<ObjectIdentifier> = versions
                .filter_map(|(key, version)| {
                    ObjectIdentifier::builder()
                        .key(key?)
                        .set_version_id(version.map(str::to_owned))
                        .build()
                        .ok()
                })
                .collect();
            if ids.is_empty() {
                return Ok(erased);
            }
            erased += ids.len();
            self.delete_versions(ids).await?;
        }
    }

    /// One DeleteObjects call (a listing page holds at most 1,000, its
    /// limit); any key it could not delete is an error.
    async fn delete_versions(&self, ids: Vec<ObjectIdentifier>) -> Result<(), ObjectsError> {
        let delete = Delete::builder()
            .set_objects(Some(ids))
            .quiet(true)
            .build()
            .map_err(s3)?;
        let out = self
            .client
            .delete_objects()
            .bucket(&self.bucket)
            .delete(delete)
            .send()
            .await
            .map_err(s3)?;
        match out.errors().first() {
            None => Ok(()),
            Some(e) => Err(ObjectsError(format!(
                "deleting {}: {}",
                e.key().unwrap_or_default(),
                e.message().unwrap_or_default()
            ))),
        }
    }

    /// Deletes objects; missing ones are fine.
    pub async fn delete(&self, keys: &[String]) -> Result<(), ObjectsError> {
        for key in keys {
            self.client
                .delete_object()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
                .map_err(s3)?;
        }
        Ok(())
    }
}
