//! CloudFront's API for the distribution the local CDN plays, answered at
//! the gate once the judge let the call through: `CreateInvalidation`
//! empties what its paths name from the CDN's cache, at once (CloudFront
//! takes seconds to a minute). The same caller reference is the same
//! invalidation, as on AWS. Any other operation, or another distribution,
//! is answered as CloudFront answers what it does not have.

use std::sync::{Arc, OnceLock};

use aws_smithy_xml::decode::{Document, try_data};
use axum::body::Body;
use axum::http::{HeaderValue, Response, StatusCode};

/// The distribution the local CDN plays, once the web stack deployed.
pub type Played = Arc<OnceLock<Arc<devstack_cdn::Cdn>>>;

/// The answer to a CloudFront call (`path` under `/2020-05-31/`).
pub fn answer(
    played: Option<&devstack_cdn::Cdn>,
    method: &str,
    path: &str,
    body: &[u8],
) -> Response<Body> {
    let parts: Vec<&str> = path
        .split('?')
        .next()
        .unwrap_or_default()
        .trim_matches('/')
        .split('/')
        .collect();
    let ["2020-05-31", "distribution", id, "invalidation"] = parts[..] else {
        return error(
            StatusCode::NOT_IMPLEMENTED,
            "NotImplemented",
            "the local cloud answers CreateInvalidation only",
        );
    };
    let Some(cdn) = played.filter(|c| c.id() == id && method == "POST") else {
        return error(
            StatusCode::NOT_FOUND,
            "NoSuchDistribution",
            "The specified distribution does not exist.",
        );
    };
    let batch = match Batch::parse(&String::from_utf8_lossy(body)) {
        Ok(batch) => batch,
        Err(why) => return error(StatusCode::BAD_REQUEST, "MalformedInput", &why),
    };
    let dropped = cdn.invalidate(&batch.paths);
    let invalidation = invalidation_id(id, &batch.reference);
    tracing::info!(target: "trail", distribution = id, %invalidation, paths = ?batch.paths, dropped, "cdn: invalidated");
    let mut response = Response::new(Body::from(created(&invalidation, &batch)));
    *response.status_mut() = StatusCode::CREATED;
    let location = format!(
        "https://cloudfront.amazonaws.com/2020-05-31/distribution/{id}/invalidation/{invalidation}"
    );
    for (name, value) in [
        ("content-type", "text/xml".to_owned()),
        ("location", location),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, v);
        }
    }
    response
}

/// An `InvalidationBatch`, read.
#[derive(Debug, PartialEq, Eq)]
pub struct Batch {
    pub paths: Vec<String>,
    pub reference: String,
}

impl Batch {
    pub fn parse(xml: &str) -> Result<Self, String> {
        let mut doc = Document::new(xml);
        let mut root = doc.root_element().map_err(|e| e.to_string())?;
        if !root.start_el().matches("InvalidationBatch") {
            return Err("the body is not an InvalidationBatch".into());
        }
        let (mut paths, mut reference) = (Vec::new(), None);
        while let Some(mut child) = root.next_tag() {
            if child.start_el().matches("CallerReference") {
                reference = Some(
                    try_data(&mut child)
                        .map_err(|e| e.to_string())?
                        .into_owned(),
                );
            } else if child.start_el().matches("Paths") {
                while let Some(mut items) = child.next_tag() {
                    while let Some(mut path) = items.next_tag() {
                        if path.start_el().matches("Path") {
                            paths
                                .push(try_data(&mut path).map_err(|e| e.to_string())?.into_owned());
                        }
                    }
                }
            }
        }
        let reference = reference.ok_or("an InvalidationBatch needs its CallerReference")?;
        if paths.is_empty() {
            return Err("an InvalidationBatch needs at least one path".into());
        }
        Ok(Self { paths, reference })
    }
}

/// `I` and 13 characters, the same for the same distribution and reference.
fn invalidation_id(distribution: &str, reference: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let seed = format!("{distribution}/{reference}");
    format!(
        "I{}",
        devstack_template::adapt::pinned_id(&seed, ALPHABET, 13)
    )
}

/// CreateInvalidation's answer: the invalidation, done, with its batch.
fn created(id: &str, batch: &Batch) -> String {
    let mut doc = String::from(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let mut writer = aws_smithy_xml::encode::XmlWriter::new(&mut doc);
    let mut root = writer
        .start_el("Invalidation")
        .write_ns(kit::signed::cloudfront::NAMESPACE, None)
        .finish();
    root.start_el("Id").finish().data(id);
    root.start_el("Status").finish().data("Completed");
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    root.start_el("CreateTime").finish().data(&now);
    kit::signed::cloudfront::write_batch(
        root.start_el("InvalidationBatch"),
        &batch.paths,
        &batch.reference,
    );
    root.finish();
    doc
}

fn error(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    crate::protocol::error_response(status, kit::signed::cloudfront::NAMESPACE, code, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_reads_back_as_the_sdk_and_kit_write_it() {
        let written = kit::signed::cloudfront::batch(&["/view/a".into(), "/b&c".into()], "ref");
        let batch = Batch::parse(&written).unwrap();
        assert_eq!(batch.paths, ["/view/a", "/b&c"]);
        assert_eq!(batch.reference, "ref");
        assert!(
            Batch::parse(
                "<InvalidationBatch><CallerReference>r</CallerReference></InvalidationBatch>"
            )
            .is_err()
        );
        assert!(Batch::parse("<Other/>").is_err());
        assert_eq!(invalidation_id("E1", "ref"), invalidation_id("E1", "ref"));
        let answer = created("I1", &batch);
        assert_eq!(
            kit::signed::cloudfront::element(&answer, "Id").as_deref(),
            Some("I1")
        );
    }
}
