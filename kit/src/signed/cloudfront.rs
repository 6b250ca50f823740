//! CloudFront's `CreateInvalidation` as one signed request (why not the
//! CloudFront client: [`super`]'s table). CloudFront is global: its
//! endpoint is `cloudfront.amazonaws.com` and it signs in us-east-1,
//! wherever the caller runs.

use super::{CallError, Signer, endpoint};

/// CloudFront's API version in every path, and its XML namespace.
const VERSION: &str = "2020-05-31";

#[derive(Debug, thiserror::Error)]
pub enum InvalidationError {
    #[error(transparent)]
    Call(#[from] CallError),
    /// CloudFront's answer: `NoSuchDistribution`, `AccessDenied`,
    /// `TooManyInvalidationsInProgress` (a retry later succeeds).
    #[error("CreateInvalidation answered HTTP {status}: {code}")]
    Refused { status: u16, code: String },
}

/// Invalidations with one configuration's credentials and endpoint.
pub struct Invalidations {
    signer: Signer,
    url: String,
    http: crate::outbound::Client,
}

impl Invalidations {
    pub fn new(conf: &aws_config::SdkConfig) -> Self {
        Self {
            signer: Signer::new(conf, "cloudfront").in_region("us-east-1"),
            url: endpoint(conf, "CLOUDFRONT")
                .unwrap_or_else(|| "https://cloudfront.amazonaws.com".into()),
            http: crate::outbound::Client::for_aws(),
        }
    }

    /// Invalidates `paths` (`/view/…`, `/images/*`) of the distribution;
    /// returns the invalidation's id. The same `caller_reference` with the
    /// same paths is the same invalidation, so a retried batch asks once.
    pub async fn create(
        &self,
        distribution_id: &str,
        paths: &[String],
        caller_reference: &str,
    ) -> Result<String, InvalidationError> {
        let url = format!(
            "{}/{VERSION}/distribution/{distribution_id}/invalidation",
            self.url
        );
        let body = batch(paths, caller_reference).into_bytes();
        let answer = self
            .signer
            .send(
                &self.http,
                "POST",
                &url,
                &[("content-type", "application/xml")],
                body,
                aws_sigv4::http_request::SigningSettings::default(),
            )
            .await?;
        let text = String::from_utf8_lossy(&answer.body);
        if answer.status != 201 {
            return Err(InvalidationError::Refused {
                status: answer.status,
                code: element(&text, "Code").unwrap_or_else(|| "no error code".into()),
            });
        }
        Ok(element(&text, "Id").unwrap_or_default())
    }
}

/// CloudFront's XML namespace, on every request's and answer's root.
pub const NAMESPACE: &str = "http://cloudfront.amazonaws.com/doc/2020-05-31/";

/// The request's `InvalidationBatch` document.
pub fn batch(paths: &[String], caller_reference: &str) -> String {
    let mut doc = String::from(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let mut writer = aws_smithy_xml::encode::XmlWriter::new(&mut doc);
    write_batch(
        writer
            .start_el("InvalidationBatch")
            .write_ns(NAMESPACE, None),
        paths,
        caller_reference,
    );
    doc
}

/// An `InvalidationBatch` element's content, under `element` (the
/// request's root, or the batch an `Invalidation` answer repeats).
pub fn write_batch(
    element: aws_smithy_xml::encode::ElWriter<'_, '_>,
    paths: &[String],
    caller_reference: &str,
) {
    let mut root = element.finish();
    let mut listed = root.start_el("Paths").finish();
    listed
        .start_el("Quantity")
        .finish()
        .data(&paths.len().to_string());
    let mut items = listed.start_el("Items").finish();
    for p in paths {
        items.start_el("Path").finish().data(p);
    }
    items.finish();
    listed.finish();
    root.start_el("CallerReference")
        .finish()
        .data(caller_reference);
    root.finish();
}

/// The text of the first `<name>` element under the answer's root, or
/// one level below it (an error's `<Error><Code>`).
pub fn element(xml: &str, name: &str) -> Option<String> {
    use aws_smithy_xml::decode::{Document, try_data};
    let mut doc = Document::new(xml);
    let mut root = doc.root_element().ok()?;
    while let Some(mut child) = root.next_tag() {
        if child.start_el().matches(name) {
            return try_data(&mut child).ok().map(|d| d.into_owned());
        }
        while let Some(mut inner) = child.next_tag() {
            if inner.start_el().matches(name) {
                return try_data(&mut inner).ok().map(|d| d.into_owned());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_names_each_path_its_count_and_reference() {
        let xml = batch(&["/view/a".into(), "/x&y<".into()], "ref-1");
        assert!(xml.contains("<Quantity>2</Quantity>"), "{xml}");
        assert!(xml.contains("<Path>/view/a</Path><Path>/x&amp;y&lt;</Path>"));
        assert_eq!(element(&xml, "CallerReference").as_deref(), Some("ref-1"));
        let refused = "<ErrorResponse><Error><Code>AccessDenied</Code></Error></ErrorResponse>";
        assert_eq!(element(refused, "Code").as_deref(), Some("AccessDenied"));
        assert_eq!(element("<Error/>", "Code"), None);
    }
}
