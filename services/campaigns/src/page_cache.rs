//! The page-cache function's body: the campaign pages a batch of table
//! changes made stale ([`crate::page::stale`]) are invalidated in the web
//! app's distribution, in one request. The distribution's id is the web
//! stack's (an SSM parameter it writes): the campaigns stack deploys
//! before it and cannot import it, and no web stack means no cache.

use aws_lambda_events::dynamodb::EventRecord;
use kit::signed::cloudfront::{InvalidationError, Invalidations};
use kit::signed::json_protocol::{JsonApi, Refused};
use kit::stream::StreamError;
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum PageCacheError {
    #[error(transparent)]
    Record(#[from] StreamError),
    #[error("reading the distribution's id from {parameter}: {refused}")]
    Distribution { parameter: String, refused: Refused },
    #[error(transparent)]
    Invalidation(#[from] InvalidationError),
}

/// Where the distribution's id is read.
pub struct Site<'a> {
    pub ssm: &'a JsonApi,
    pub parameter: &'a str,
}

/// Invalidates what the batch made stale. Any failure fails the batch,
/// which Lambda retries (bisecting) and finally sends to the dead-letter
/// topic with its reason; a retried batch asks for the same invalidation.
pub async fn invalidate(
    records: &[EventRecord],
    cdn: &Invalidations,
    site: Site<'_>,
) -> Result<usize, PageCacheError> {
    let mut paths = Vec::new();
    for record in records {
        if let Some(path) = crate::page::stale(record)?
            && !paths.contains(&path)
        {
            paths.push(path);
        }
    }
    if paths.is_empty() {
        return Ok(0);
    }
    let Some(distribution) = distribution_id(site).await? else {
        return Ok(0);
    };
    let id = cdn
        .create(&distribution, &paths, &reference(records, &paths))
        .await?;
    tracing::info!(%distribution, invalidation = %id, ?paths, "campaign pages invalidated");
    Ok(paths.len())
}

/// The web stack's distribution, or `None` where no web stack wrote it
/// (then nothing is cached).
async fn distribution_id(site: Site<'_>) -> Result<Option<String>, PageCacheError> {
    let answer = site
        .ssm
        .call(
            "GetParameter",
            &serde_json::json!({ "Name": site.parameter }),
        )
        .await;
    match answer {
        Ok(json) => Ok(json["Parameter"]["Value"].as_str().map(str::to_owned)),
        Err(refused) if refused.kind == "ParameterNotFound" => {
            tracing::warn!(
                parameter = site.parameter,
                "no web stack wrote its distribution's id: nothing to invalidate"
            );
            Ok(None)
        }
        Err(refused) => Err(PageCacheError::Distribution {
            parameter: site.parameter.to_owned(),
            refused,
        }),
    }
}

/// The invalidation's caller reference: the same for the same records and
/// paths, so CloudFront answers a retry with the invalidation it made.
pub fn reference(records: &[EventRecord], paths: &[String]) -> String {
    let mut hash = Sha256::new();
    for r in records {
        hash.update(r.event_id.as_bytes());
        hash.update([0]);
    }
    for p in paths {
        hash.update(p.as_bytes());
        hash.update([0]);
    }
    hex::encode(hash.finalize())
}
