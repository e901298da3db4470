//! argon2id password hashing (AUTH-02) on a few threads of its own, at the
//! lowest CPU priority: a flood of logins queues for them, and when a core is
//! contended the async workers that serve every other request go first.
use std::{
    panic::AssertUnwindSafe,
    sync::{Arc, Mutex, mpsc},
};

use anyhow::Context;
use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use tokio::sync::oneshot;

use crate::domain::Password;

type Job = Box<dyn FnOnce() + Send>;

#[derive(Clone)]
pub struct Passwords {
    jobs: mpsc::Sender<Job>,
    /// Verified against when the user does not exist, so that an unknown
    /// e-mail costs as much time as a wrong password (AUTH-04).
    dummy_hash: Arc<str>,
}

impl Passwords {
    /// Starts `threads` hashing threads; they stop when the last clone is
    /// dropped.
    pub async fn new(threads: usize) -> anyhow::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for _ in 0..threads.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name("password-hash".into())
                .spawn(move || hash_thread(&queue))
                .context("starting a password hashing thread")?;
        }
        let dummy =
            Password::try_from(uuid::Uuid::new_v4().to_string()).map_err(anyhow::Error::msg)?;
        let dummy_hash = run(&jobs, move || hash_blocking(&dummy)).await??;
        Ok(Self {
            jobs,
            dummy_hash: dummy_hash.into(),
        })
    }

    /// Hashes with argon2id, m=19456 KiB, t=2, p=1 (the crate's defaults are OWASP's).
    pub async fn hash(&self, password: Password) -> anyhow::Result<String> {
        run(&self.jobs, move || hash_blocking(&password)).await?
    }

    /// True when `password` matches `stored`; with no stored hash it still does
    /// the same work against the dummy hash and answers false.
    pub async fn verify(&self, password: Password, stored: Option<String>) -> anyhow::Result<bool> {
        let known = stored.is_some();
        let hash: Arc<str> = stored.map_or_else(|| self.dummy_hash.clone(), Arc::from);
        let matches = run(&self.jobs, move || {
            Argon2::default()
                .verify_password(password.expose().as_bytes(), &*hash)
                .is_ok()
        })
        .await?;
        Ok(known && matches)
    }
}

/// Queues `work` for a hashing thread and waits for its answer.
async fn run<T: Send + 'static>(
    jobs: &mpsc::Sender<Job>,
    work: impl FnOnce() -> T + Send + 'static,
) -> anyhow::Result<T> {
    let (reply, answer) = oneshot::channel();
    let job: Job = Box::new(move || {
        // A caller that gave up (its client went away) costs no hashing.
        if !reply.is_closed() {
            let _ = reply.send(work());
        }
    });
    jobs.send(job)
        .ok()
        .context("the password hashing threads stopped")?;
    answer.await.context("password hashing failed")
}

fn hash_thread(queue: &Mutex<mpsc::Receiver<Job>>) {
    lower_priority();
    loop {
        // The lock is held while waiting for a job, not while hashing.
        let job = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        // Every sender is gone: the service is shutting down.
        let Ok(job) = job else { return };
        // A panic fails its own job (the reply is dropped), not the thread.
        let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
    }
}

/// Nice 19, the lowest priority. On Linux the nice value belongs to the
/// calling thread; elsewhere it would lower the whole process, so it is left.
#[cfg(target_os = "linux")]
fn lower_priority() {
    const LOWEST: i32 = 19;
    if let Err(e) = rustix::process::setpriority_process(None, LOWEST) {
        tracing::warn!(error = %e, "password hashing runs at normal priority");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

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

    // A panic while hashing fails that request only: the one thread left
    // goes on hashing.
    #[tokio::test]
    async fn a_panicking_job_does_not_stop_its_thread() {
        let passwords = Passwords::new(1).await.unwrap();
        let failed = run(&passwords.jobs, || panic!("argon2 failed")).await;
        assert!(failed.is_err());
        let hash = passwords.hash(password("a fine passphrase")).await.unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
    }

    // Hashing runs at nice 19 on threads of its own; the caller's thread
    // keeps its priority.
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashing_threads_run_at_the_lowest_priority() {
        /// The nice value of the calling thread, read from /proc.
        fn nice() -> i32 {
            let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
            // Fields after the command name, which is in parentheses: state
            // is field 3, nice field 19.
            let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 1..]
                .split_whitespace()
                .collect();
            fields[19 - 3].parse().unwrap()
        }
        let before = nice();
        let passwords = Passwords::new(2).await.unwrap();
        let hashing = run(&passwords.jobs, || {
            (nice(), std::thread::current().name().map(str::to_owned))
        })
        .await
        .unwrap();
        assert_eq!(hashing, (19, Some("password-hash".to_owned())));
        assert_eq!(nice(), before);
    }
}
