//! The S3-triggered check of an uploaded attachment: the real object is
//! compared with what was declared, and the attachment becomes `ready`
//! (publishing TodoAttachmentAdded through the stream) or `rejected`.

use aws_lambda_events::s3::{S3Event, S3EventRecord};
use chrono::Utc;
use kit::table::TableError;
use percent_encoding::percent_decode_str;
use uuid::Uuid;

use crate::domain::{check_upload, parse_object_key, settle};
use crate::items::AttachmentStatus;
use crate::objects::{Objects, ObjectsError};
use crate::store::Store;

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("S3 record has no object key")]
    NoKey,
    #[error("object is in bucket {found}, this function checks {expected}")]
    WrongBucket { found: String, expected: String },
    #[error(transparent)]
    Store(#[from] TableError),
    #[error(transparent)]
    Objects(#[from] ObjectsError),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    Ready(Uuid),
    Rejected(Uuid, String),
    /// A repeated notification for an attachment already decided.
    AlreadySettled(Uuid),
    /// The todo or attachment is gone; the object was deleted.
    Orphan(String),
    /// A key outside the attachment layout; left alone, and logged.
    Foreign(String),
}

/// S3 URL-encodes keys in notifications, with `+` for spaces.
pub fn decoded_key(record: &S3EventRecord) -> Option<String> {
    let raw = record.s3.object.key.as_deref()?;
    Some(
        percent_decode_str(&raw.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned(),
    )
}

pub async fn handle(
    store: &Store,
    objects: &Objects,
    event: &S3Event,
) -> Result<Vec<Checked>, UploadError> {
    let mut out = Vec::new();
    for record in &event.records {
        let bucket = record.s3.bucket.name.clone().unwrap_or_default();
        if bucket != objects.bucket() {
            return Err(UploadError::WrongBucket {
                found: bucket,
                expected: objects.bucket().to_owned(),
            });
        }
        let key = decoded_key(record).ok_or(UploadError::NoKey)?;
        out.push(check(store, objects, &key).await?);
    }
    Ok(out)
}

async fn check(store: &Store, objects: &Objects, key: &str) -> Result<Checked, UploadError> {
    let Some((user_id, todo_id, attachment_id)) = parse_object_key(key) else {
        tracing::warn!(key, "object outside the attachment layout; left alone");
        return Ok(Checked::Foreign(key.to_owned()));
    };
    // A concurrent edit of the todo makes the conditional write fail; read
    // again and retry rather than lose the verdict.
    for _ in 0..3 {
        let todo = store.get(&user_id, todo_id).await?;
        let Some(todo) = todo.filter(|t| {
            t.attachments
                .iter()
                .any(|a| a.attachment_id == attachment_id)
        }) else {
            objects.delete(&[key.to_owned()]).await?;
            tracing::info!(key, "attachment no longer exists; object deleted");
            return Ok(Checked::Orphan(key.to_owned()));
        };
        let declared = todo
            .attachments
            .iter()
            .find(|a| a.attachment_id == attachment_id)
            .expect("filtered above");
        let verdict = match objects.head(key).await? {
            Some(landed) => check_upload(declared, landed.size, landed.content_type.as_deref()),
            None => Err("the object is gone".to_owned()),
        };
        let Some(next) = settle(&todo, attachment_id, verdict.clone(), Utc::now()) else {
            return Ok(Checked::AlreadySettled(attachment_id));
        };
        match store.update(&todo, &next).await {
            Ok(()) => {}
            Err(TableError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
        let status = next
            .attachments
            .iter()
            .find(|a| a.attachment_id == attachment_id)
            .map(|a| a.status);
        return Ok(match (verdict, status) {
            (Ok(()), _) => Checked::Ready(attachment_id),
            (Err(reason), Some(AttachmentStatus::Rejected)) => {
                objects.delete(&[key.to_owned()]).await?;
                tracing::warn!(key, reason, "attachment rejected; object deleted");
                Checked::Rejected(attachment_id, reason)
            }
            (Err(reason), _) => Checked::Rejected(attachment_id, reason),
        });
    }
    Err(UploadError::Store(TableError::Conflict))
}
