//! The provider's signing key: Ed25519, made per start. RSA is the usual
//! choice of real providers, but making a 2048-bit RSA key takes seconds
//! in this workspace's unoptimised debug builds, at every start of a test
//! cloud; an Ed25519 key is 32 random bytes.

use jsonwebtoken::jwk::{Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

use crate::IdpError;

/// PKCS#8 v1 for an Ed25519 private key, up to its 32-byte seed (RFC 8410
/// §7): what `EncodingKey::from_ed_der` reads, built by hand so no key
/// generation crate is needed.
const PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

pub struct Key {
    kid: String,
    encoding: EncodingKey,
    /// The public half, as `/jwks` publishes it.
    pub public: Jwk,
}

impl Key {
    pub fn new() -> Result<Self, IdpError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| IdpError::Key(e.to_string()))?;
        let der: Vec<u8> = PKCS8_PREFIX.iter().chain(&seed).copied().collect();
        let encoding = EncodingKey::from_ed_der(&der);
        let mut public = Jwk::from_encoding_key(&encoding, Algorithm::EdDSA)
            .map_err(|e| IdpError::Key(e.to_string()))?;
        // Per start, so a client caching the JWKS across restarts sees an
        // unknown kid and fetches it again.
        let kid = random()[..16].to_owned();
        public.common.key_id = Some(kid.clone());
        public.common.public_key_use = Some(PublicKeyUse::Signature);
        public.common.key_algorithm = Some(KeyAlgorithm::EdDSA);
        Ok(Key {
            kid,
            encoding,
            public,
        })
    }

    /// A JWT of `claims`, its header naming this key.
    pub fn sign(&self, claims: &impl Serialize) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
    }
}

/// 32 random bytes as lowercase hex: codes, access tokens, key ids.
pub fn random() -> String {
    let mut bytes = [0u8; 32];
    // As uuid's v4 does: without the OS's randomness nothing here is safe.
    getrandom::fill(&mut bytes).expect("the OS gives random bytes");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
