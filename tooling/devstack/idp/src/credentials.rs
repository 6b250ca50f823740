//! How a client authenticates at the token endpoint (RFC 6749 §2.3.1):
//! `client_secret_basic`, HTTP Basic with the id and secret each
//! form-urlencoded first, or `client_secret_post`, both in the body. The
//! decoding is done here by hand: a few lines instead of a dependency.

use std::collections::HashMap;

use axum::http::{HeaderMap, header};

use crate::Options;

/// What the request presented.
pub enum Presented {
    /// `Authorization: Basic`; `None` when it does not decode to `id:secret`.
    Basic(Option<(String, String)>),
    /// The body's `client_id` and `client_secret`, either possibly missing.
    Post(Option<String>, Option<String>),
}

impl Presented {
    pub fn of(headers: &HeaderMap, body: &HashMap<String, String>) -> Self {
        let basic = (headers.get(header::AUTHORIZATION))
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "));
        match basic {
            Some(encoded) => Presented::Basic(id_and_secret(encoded.trim())),
            None => Presented::Post(
                body.get("client_id").cloned(),
                body.get("client_secret").cloned(),
            ),
        }
    }

    pub fn is_basic(&self) -> bool {
        matches!(self, Presented::Basic(_))
    }

    /// The client's id, if it presented the client's secret.
    pub fn client<'o>(&self, options: &'o Options) -> Option<&'o str> {
        let (id, secret) = match self {
            Presented::Basic(pair) => pair.as_ref().map(|(i, s)| (i, s))?,
            Presented::Post(id, secret) => (id.as_ref()?, secret.as_ref()?),
        };
        let known = *id == options.client_id && same(secret, &options.client_secret);
        known.then_some(options.client_id.as_str())
    }
}

/// Equal, in a time that does not tell how much of a guess was right.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0, |d, (x, y)| d | (x ^ y)) == 0
}

fn id_and_secret(encoded: &str) -> Option<(String, String)> {
    let decoded = String::from_utf8(base64(encoded)?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((unform(id), unform(secret)))
}

/// Standard-alphabet base64, padding optional (clients differ).
fn base64(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    engine.decode(text).ok()
}

/// `application/x-www-form-urlencoded` decoding of one value (RFC 6749
/// §2.3.1 encodes the id and the secret so before base64).
fn unform(text: &str) -> String {
    form_urlencoded::parse(format!("v={text}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::{base64, id_and_secret};

    #[test]
    fn base64_decodes_with_or_without_padding_and_refuses_other_characters() {
        assert_eq!(base64("YWJj").as_deref(), Some(&b"abc"[..]));
        assert_eq!(base64("YWI=").as_deref(), Some(&b"ab"[..]));
        assert_eq!(base64("YQ==").as_deref(), Some(&b"a"[..]));
        assert_eq!(base64("YQ").as_deref(), Some(&b"a"[..]));
        assert_eq!(base64("+/8=").as_deref(), Some(&[0xfb, 0xff][..]));
        assert_eq!(base64("YWJjZ"), None);
        assert_eq!(base64("YW-j"), None);
    }

    #[test]
    fn the_id_and_secret_are_form_decoded() {
        // "a+b:s%3Ac%25" is "YStiOnMlM0FjJTI1"
        assert_eq!(
            id_and_secret("YStiOnMlM0FjJTI1"),
            Some(("a b".into(), "s:c%".into()))
        );
        assert_eq!(id_and_secret("bm9jb2xvbg=="), None); // "nocolon"
    }
}
