//! The emulator asked as a tool asks AWS in the query protocol (STS, IAM,
//! CloudWatch): a form POST signed with [`kit::signed`], and the texts of
//! its XML answer. No SDK client is built for the few such calls the
//! local cloud makes itself.

use anyhow::{Result, bail};
use aws_smithy_xml::decode::{Document, ScopedDecoder, XmlDecodeError, try_data};
use kit::signed::Signer;

/// Where query-protocol calls go: the emulator `conf` names, as `…/`.
pub(crate) fn url(conf: &aws_config::SdkConfig) -> Option<String> {
    let url = conf.endpoint_url()?.trim_end_matches('/');
    Some(format!("{url}/"))
}

/// `params` (`Action` first) posted to `url`, signed by `signer`: the
/// answer's XML, or an error naming the action and AWS's answer.
pub(crate) async fn post(
    signer: &Signer,
    http: &kit::outbound::Client,
    url: &str,
    params: &[(&str, &str)],
) -> Result<String> {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let answer = signer
        .send(
            http,
            "POST",
            url,
            &[(
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            )],
            body.into_bytes(),
            aws_sigv4::http_request::SigningSettings::default(),
        )
        .await?;
    let text = String::from_utf8_lossy(&answer.body).into_owned();
    if answer.status != 200 {
        bail!("{:?}: HTTP {}: {text}", params.first(), answer.status);
    }
    Ok(text)
}

/// The text of every element called `name`, at any depth.
pub(crate) fn texts(xml: &str, name: &str) -> Result<Vec<String>, XmlDecodeError> {
    let mut doc = Document::new(xml);
    let mut root = doc.root_element()?;
    let mut found = Vec::new();
    collect(&mut root, name, &mut found)?;
    Ok(found)
}

fn collect(
    element: &mut ScopedDecoder<'_, '_>,
    name: &str,
    found: &mut Vec<String>,
) -> Result<(), XmlDecodeError> {
    while let Some(mut child) = element.next_tag() {
        if child.start_el().matches(name) {
            found.push(try_data(&mut child)?.into_owned());
        } else {
            collect(&mut child, name, found)?;
        }
    }
    Ok(())
}
