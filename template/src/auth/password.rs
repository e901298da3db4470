//! argon2id password hashing (AUTH-02) on blocking threads behind a small
//! semaphore, so a burst of logins cannot starve the async workers.
use std::sync::Arc;

use anyhow::Context;
use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use tokio::sync::Semaphore;

use crate::domain::Password;

#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
    /// Verified against when the user does not exist, so that an unknown
    /// e-mail costs as much time as a wrong password (AUTH-04).
    dummy_hash: Arc<str>,
}

impl Passwords {
    pub async fn new(concurrency: usize) -> anyhow::Result<Self> {
        let permits = Arc::new(Semaphore::new(concurrency.max(1)));
        let dummy =
            Password::try_from(uuid::Uuid::new_v4().to_string()).map_err(anyhow::Error::msg)?;
        let dummy_hash = Self::run(&permits, move || hash_blocking(&dummy)).await??;
        Ok(Self {
            permits,
            dummy_hash: dummy_hash.into(),
        })
    }

    /// Hashes with argon2id, m=19456 KiB, t=2, p=1 (the crate's defaults are OWASP's).
    pub async fn hash(&self, password: Password) -> anyhow::Result<String> {
        Self::run(&self.permits, move || hash_blocking(&password)).await?
    }

    /// True when `password` matches `stored`; with no stored hash it still does
    /// the same work against the dummy hash and answers false.
    pub async fn verify(&self, password: Password, stored: Option<String>) -> anyhow::Result<bool> {
        let known = stored.is_some();
        let hash: Arc<str> = stored.map_or_else(|| self.dummy_hash.clone(), Arc::from);
        let matches = Self::run(&self.permits, move || {
            Argon2::default()
                .verify_password(password.expose().as_bytes(), &*hash)
                .is_ok()
        })
        .await?;
        Ok(known && matches)
    }

    async fn run<T: Send + 'static>(
        permits: &Semaphore,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let _permit = permits.acquire().await.context("password hasher closed")?;
        tokio::task::spawn_blocking(work)
            .await
            .context("password hashing task failed")
    }
}

fn hash_blocking(password: &Password) -> anyhow::Result<String> {
    let hash = Argon2::default()
        .hash_password(password.expose().as_bytes())
        .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))?;
    Ok(hash.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password(s: &str) -> Password {
        Password::try_from(s.to_owned()).unwrap()
    }

    // AUTH-02: argon2id with the OWASP parameters, and verification works.
    #[tokio::test]
    async fn auth_02_argon2id_owasp_parameters() {
        let passwords = Passwords::new(1).await.unwrap();
        let hash = passwords.hash(password("a fine passphrase")).await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(
            passwords
                .verify(password("a fine passphrase"), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(
            !passwords
                .verify(password("another passphrase"), Some(hash))
                .await
                .unwrap()
        );
    }

    // AUTH-04: an unknown user never verifies, even with the dummy's own input.
    #[tokio::test]
    async fn auth_04_unknown_user_never_verifies() {
        let passwords = Passwords::new(1).await.unwrap();
        assert!(
            !passwords
                .verify(password("whatever it is"), None)
                .await
                .unwrap()
        );
    }
}
