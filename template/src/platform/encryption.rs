//! Encryption at rest of fields classified sensitive (AUTH-05, OPS-06): AES-256-GCM
//! from aws-lc-rs with a random nonce per value, the row id as associated
//! data (a value copied into another row no longer opens), and the key id
//! stored with each value, so keys rotate: old values stay readable, new
//! writes use the current key.
use std::collections::HashMap;

use anyhow::{Context, anyhow, bail};
use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use secrecy::ExposeSecret;
use uuid::Uuid;

use crate::{classification::Sensitive, config::DataKeys};

/// Layout version of sealed values: `[1][key id length][key id][nonce][ciphertext and tag]`.
const FORMAT: u8 = 1;

pub struct FieldCipher {
    current: String,
    keys: HashMap<String, RandomizedNonceKey>,
}

impl FieldCipher {
    pub fn new(settings: &DataKeys) -> anyhow::Result<Self> {
        let keys = settings
            .keys
            .iter()
            .map(|(id, key)| {
                let key = RandomizedNonceKey::new(&AES_256_GCM, key.expose_secret())
                    .map_err(|_| anyhow!("data key {id} is not an AES-256 key"))?;
                Ok((id.clone(), key))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Self {
            current: settings.current.clone(),
            keys,
        })
    }

    /// Encrypts `value`, which belongs to row `row`, with the current key.
    pub fn seal(&self, value: &Sensitive<impl AsRef<str>>, row: Uuid) -> anyhow::Result<Vec<u8>> {
        let key = &self.keys[&self.current];
        let mut data = value.as_ref().as_bytes().to_vec();
        let nonce = key
            .seal_in_place_append_tag(Aad::from(row.as_bytes()), &mut data)
            .map_err(|_| anyhow!("encryption failed"))?;
        let id = self.current.as_bytes();
        let mut sealed = vec![FORMAT, u8::try_from(id.len())?];
        sealed.extend_from_slice(id);
        sealed.extend_from_slice(nonce.as_ref());
        sealed.extend_from_slice(&data);
        Ok(sealed)
    }

    /// Decrypts a value sealed for row `row`, with whichever key sealed it.
    pub fn open(&self, sealed: &[u8], row: Uuid) -> anyhow::Result<Sensitive<String>> {
        let [FORMAT, id_len, rest @ ..] = sealed else {
            bail!("sealed value of unknown format");
        };
        let (id, rest) = rest
            .split_at_checked(usize::from(*id_len))
            .context("truncated key id")?;
        let (nonce, ciphertext) = rest
            .split_at_checked(NONCE_LEN)
            .context("truncated nonce")?;
        let id = std::str::from_utf8(id)?;
        let key = self
            .keys
            .get(id)
            .with_context(|| format!("data key {id} is not configured"))?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| anyhow!("bad nonce"))?;
        let mut data = ciphertext.to_vec();
        let plaintext = key
            .open_in_place(nonce, Aad::from(row.as_bytes()), &mut data)
            .map_err(|_| anyhow!("sealed value does not authenticate"))?;
        Ok(Sensitive::new(String::from_utf8(plaintext.to_vec())?))
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretBox;

    use super::*;
    use crate::auth::random_bytes;

    fn secret(value: &str) -> Sensitive<String> {
        Sensitive::new(value.to_owned())
    }

    fn keys(ids: &[&str], current: &str) -> DataKeys {
        DataKeys {
            keys: ids
                .iter()
                .map(|id| {
                    let key = random_bytes(32).unwrap();
                    ((*id).to_owned(), SecretBox::new(Box::new(key)))
                })
                .collect(),
            current: current.to_owned(),
        }
    }

    // AUTH-05: sealed values hide the plaintext, open only for their row,
    // and differ each time (random nonces).
    #[test]
    fn auth_05_seal_and_open() {
        let cipher = FieldCipher::new(&keys(&["k1"], "k1")).unwrap();
        let row = Uuid::new_v4();
        let sealed = cipher.seal(&secret("1 Main Street"), row).unwrap();
        assert!(!sealed.windows(4).any(|w| w == b"Main"));
        assert_ne!(sealed, cipher.seal(&secret("1 Main Street"), row).unwrap());
        assert_eq!(cipher.open(&sealed, row).unwrap().as_str(), "1 Main Street");
        assert!(
            cipher.open(&sealed, Uuid::new_v4()).is_err(),
            "moved to another row"
        );
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(cipher.open(&tampered, row).is_err());
    }

    // AUTH-05: after a rotation old values open and new ones use the new key.
    #[test]
    fn auth_05_keys_rotate() {
        let mut settings = keys(&["old"], "old");
        let row = Uuid::new_v4();
        let old_value = FieldCipher::new(&settings)
            .unwrap()
            .seal(&secret("address"), row)
            .unwrap();
        let new_key = random_bytes(32).unwrap();
        settings
            .keys
            .push(("new".into(), SecretBox::new(Box::new(new_key))));
        settings.current = "new".into();
        let rotated = FieldCipher::new(&settings).unwrap();
        assert_eq!(rotated.open(&old_value, row).unwrap().as_str(), "address");
        let new_value = rotated.seal(&secret("address"), row).unwrap();
        assert_eq!(&new_value[2..5], b"new");
        settings.keys.remove(0);
        let retired = FieldCipher::new(&settings).unwrap();
        assert!(
            retired.open(&old_value, row).is_err(),
            "a retired key still opens"
        );
    }
}
