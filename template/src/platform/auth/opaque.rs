//! Opaque secrets handed out once and stored only as hashes: refresh tokens
//! and application API keys (AUTH-05, AUTH-08). They are 256 random bits, so
//! a fast SHA-256 is enough; a slow password hash would add nothing.
use aws_lc_rs::digest::{SHA256, digest};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

/// A fresh secret: `value` for the client, `hash` for the database.
pub struct OpaqueToken {
    pub value: String,
    pub hash: Vec<u8>,
}

impl OpaqueToken {
    pub fn generate() -> anyhow::Result<Self> {
        let value = URL_SAFE_NO_PAD.encode(random_bytes(32)?);
        Ok(Self {
            hash: Self::hash(&value),
            value,
        })
    }

    /// The hash a presented value is looked up by.
    pub fn hash(value: &str) -> Vec<u8> {
        digest(&SHA256, value.as_bytes()).as_ref().to_vec()
    }
}

/// `len` bytes from the operating system's random generator.
pub fn random_bytes(len: usize) -> anyhow::Result<Vec<u8>> {
    let mut bytes = vec![0; len];
    aws_lc_rs::rand::fill(&mut bytes)
        .map_err(|_| anyhow::anyhow!("the system random generator failed"))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    // AUTH-05: tokens are random and only their hash is kept.
    #[test]
    fn auth_05_opaque_tokens_hashed() {
        let (a, b) = (
            OpaqueToken::generate().unwrap(),
            OpaqueToken::generate().unwrap(),
        );
        assert_ne!(a.value, b.value);
        assert_eq!(a.hash, OpaqueToken::hash(&a.value));
        assert_eq!(a.hash.len(), 32);
        assert_eq!(URL_SAFE_NO_PAD.decode(&a.value).unwrap().len(), 32);
    }
}
