//! The webhook's signature, the one piece of this crate the campaigns
//! service must match byte for byte (it verifies independently; the
//! scheme is in the crate docs).

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const TIMESTAMP_HEADER: &str = "Sender-Timestamp";
pub const SIGNATURE_HEADER: &str = "Sender-Signature";

#[derive(Debug, thiserror::Error)]
#[error("the signing secret cannot key HMAC-SHA256")]
pub struct InvalidSecret;

/// Signs with one secret. Keyed once, at start, so a secret HMAC refused
/// fails the start instead of every delivery.
#[derive(Clone)]
pub struct Signer {
    keyed: Hmac<Sha256>,
}

impl Signer {
    pub fn new(secret: &str) -> Result<Self, InvalidSecret> {
        let keyed = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|_| InvalidSecret)?;
        Ok(Self { keyed })
    }

    /// `v1=` and the lowercase hex HMAC-SHA256 of `"<timestamp>.<body>"`.
    pub fn sign(&self, timestamp: i64, body: &[u8]) -> String {
        let mut mac = self.keyed.clone();
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1={}", hex::encode(mac.finalize().into_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Computed apart from this crate: Python's
    // hmac.new(b"whsec_test", b'1700000000.{"a":1}', hashlib.sha256).
    #[test]
    fn matches_an_independent_computation() {
        let signer = Signer::new("whsec_test").unwrap();
        assert_eq!(
            signer.sign(1_700_000_000, br#"{"a":1}"#),
            "v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789"
        );
        // A clone per signature: the keyed state is not consumed.
        assert_eq!(
            signer.sign(1_700_000_000, br#"{"a":1}"#),
            signer.sign(1_700_000_000, br#"{"a":1}"#)
        );
        assert_ne!(
            signer.sign(1_700_000_001, br#"{"a":1}"#),
            signer.sign(1_700_000_000, br#"{"a":1}"#)
        );
    }
}
