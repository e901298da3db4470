//! argon2id password hashing (AUTH-02) on a few threads of its own, at the
//! lowest CPU priority: when a core is contended the async workers that serve
//! every other request go first.
//!
//! Both the queue and the memory are bounded here, whatever starts the
//! service. A login or registration first takes a `Ticket`, one of a few per
//! thread, before any other work (its database lookup included); without
//! one it is shed at once with 503 and `Retry-After`, so a flood costs
//! little more than its parsing, other routes keep their database
//! connections, and the jail never counts a shed attempt. Each thread hashes
//! in one argon2 working area it allocates once and reuses, so memory stays
//! at threads × 19 MiB instead of following the allocator's appetite for
//! freed 19 MiB blocks.
use std::{
    panic::AssertUnwindSafe,
    sync::{Arc, Mutex, mpsc},
};

use anyhow::Context;
use argon2::{
    Algorithm, Argon2, Block, Params, PasswordHash, Version,
    password_hash::phc::{Output, ParamsString, Salt},
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use crate::input::Password;

/// Requests that may wait for each hashing thread, besides the one it runs:
/// at ~35 ms a hash, a login waits at most about a third of a second.
pub const QUEUED_PER_THREAD: usize = 8;

/// A job gets its thread's argon2 working memory.
type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

/// Every ticket is taken: shed the request.
#[derive(Debug, thiserror::Error)]
#[error("password hashing is at capacity")]
pub struct Busy;

/// A place among the requests that may hash: held from before a request's
/// other work until its hash is done (or dropped, if it never hashes).
pub struct Ticket {
    /// Given back to the semaphore when the ticket is dropped.
    _permit: OwnedSemaphorePermit,
}

#[derive(Clone)]
pub struct Passwords {
    jobs: mpsc::SyncSender<Job>,
    tickets: Arc<Semaphore>,
    /// Verified against when the user does not exist, so that an unknown
    /// e-mail costs as much time as a wrong password (AUTH-04).
    dummy_hash: Arc<str>,
}

impl Passwords {
    /// Starts `threads` hashing threads; they stop when the last clone is
    /// dropped.
    pub async fn new(threads: usize) -> anyhow::Result<Self> {
        let threads = threads.max(1);
        // Every queued job holds a ticket, so the queue never fills.
        let tickets = threads * (QUEUED_PER_THREAD + 1);
        let (jobs, queue) = mpsc::sync_channel::<Job>(tickets);
        let tickets = Arc::new(Semaphore::new(tickets));
        let queue = Arc::new(Mutex::new(queue));
        for _ in 0..threads {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name("password-hash".into())
                .spawn(move || hash_thread(&queue))
                .context("starting a password hashing thread")?;
        }
        let dummy =
            Password::try_from(uuid::Uuid::new_v4().to_string()).map_err(anyhow::Error::msg)?;
        let mut passwords = Self {
            jobs,
            tickets,
            dummy_hash: Arc::from(""),
        };
        let ticket = passwords.ticket()?;
        passwords.dummy_hash = passwords.hash(ticket, dummy).await?.into();
        Ok(passwords)
    }

    /// A place to hash, or `Busy` at once when all are taken.
    pub fn ticket(&self) -> Result<Ticket, Busy> {
        let permit = self.tickets.clone().try_acquire_owned();
        permit
            .map(|permit| Ticket { _permit: permit })
            .map_err(|_| Busy)
    }

    /// Hashes with argon2id, m=19456 KiB, t=2, p=1 (OWASP's parameters).
    pub fn hash(
        &self,
        ticket: Ticket,
        password: Password,
    ) -> impl Future<Output = anyhow::Result<String>> + use<> {
        let hashing = submit(&self.jobs, ticket, move |memory| {
            hash_blocking(&password, memory)
        });
        async move { hashing.await? }
    }

    /// Checks `password` against `stored`; with no stored hash it does the
    /// same work against the dummy hash and answers false.
    pub fn verify(
        &self,
        ticket: Ticket,
        password: Password,
        stored: Option<String>,
    ) -> impl Future<Output = anyhow::Result<bool>> + use<> {
        let known = stored.is_some();
        let hash: Arc<str> = stored.map_or_else(|| self.dummy_hash.clone(), Arc::from);
        let matches = submit(&self.jobs, ticket, move |memory| {
            verify_blocking(&password, &hash, memory)
        });
        // Awaited in every case: the dummy's work is the point.
        async move {
            let matches = matches.await?;
            Ok(known && matches)
        }
    }
}

/// Queues `work` for a hashing thread; the future waits for its answer. The
/// ticket is given back when the job is done, or dropped unrun.
fn submit<T, F>(
    jobs: &mpsc::SyncSender<Job>,
    ticket: Ticket,
    work: F,
) -> impl Future<Output = anyhow::Result<T>> + use<T, F>
where
    T: Send + 'static,
    F: FnOnce(&mut Vec<Block>) -> T + Send + 'static,
{
    let (reply, answer) = oneshot::channel();
    let job: Job = Box::new(move |memory| {
        // A caller that gave up (its client went away) costs no hashing.
        if reply.is_closed() {
            return;
        }
        let answer = work(memory);
        // Back before the answer, so that whoever gets the answer finds
        // the ticket free again.
        drop(ticket);
        let _ = reply.send(answer);
    });
    // Full cannot happen (a ticket per queued job); disconnected only at
    // shutdown. Either way the caller's future reports it.
    let queued = jobs.try_send(job).is_ok();
    async move {
        anyhow::ensure!(queued, "the password hashing threads stopped");
        answer.await.context("password hashing failed")
    }
}

fn hash_thread(queue: &Mutex<mpsc::Receiver<Job>>) {
    lower_priority();
    // This thread's argon2 working memory: allocated by the first job,
    // reused by every later one.
    let mut memory = Vec::new();
    loop {
        // The lock is held while waiting for a job, not while hashing.
        let job = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        // Every sender is gone: the service is shutting down.
        let Ok(job) = job else { return };
        // A panic fails its own job (the reply is dropped), not the thread.
        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut memory)));
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

/// The first `blocks` blocks of the thread's memory, grown only when a hash
/// needs more than any before it.
fn working_area(memory: &mut Vec<Block>, blocks: usize) -> &mut [Block] {
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    &mut memory[..blocks]
}

fn hash_blocking(password: &Password, memory: &mut Vec<Block>) -> anyhow::Result<String> {
    let params = Params::default();
    let salt = Salt::generate();
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    let area = working_area(memory, params.block_count());
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password.expose().as_bytes(), &salt, &mut out, area)
        .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))?;
    let hash = PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(anyhow::Error::msg)?,
        salt: Some(salt),
        hash: Some(Output::new(&out).map_err(anyhow::Error::msg)?),
    };
    Ok(hash.to_string())
}

/// Whether `password` hashes to `stored` under the algorithm, version and
/// parameters `stored` names; false for anything malformed.
fn verify_blocking(password: &Password, stored: &str, memory: &mut Vec<Block>) -> bool {
    let Ok(hash) = PasswordHash::new(stored) else {
        return false;
    };
    let algorithm = Algorithm::try_from(hash.algorithm.as_str());
    let version = hash.version.map_or(Ok(Version::V0x13), Version::try_from);
    let (Ok(algorithm), Ok(version), Ok(params), Some(salt), Some(expected)) = (
        algorithm,
        version,
        Params::try_from(&hash),
        hash.salt,
        hash.hash,
    ) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    let area = working_area(memory, params.block_count());
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password.expose().as_bytes(), &salt, &mut out, area)
        .is_ok()
        // `Output` compares in constant time.
        && Output::new(&out).is_ok_and(|out| out == expected)
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
        let hash = passwords
            .hash(passwords.ticket().unwrap(), password("a fine passphrase"))
            .await
            .unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(
            passwords
                .verify(
                    passwords.ticket().unwrap(),
                    password("a fine passphrase"),
                    Some(hash.clone())
                )
                .await
                .unwrap()
        );
        assert!(
            !passwords
                .verify(
                    passwords.ticket().unwrap(),
                    password("another passphrase"),
                    Some(hash)
                )
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
                .verify(
                    passwords.ticket().unwrap(),
                    password("whatever it is"),
                    None
                )
                .await
                .unwrap()
        );
    }

    // A panic while hashing fails that request only: the one thread left
    // goes on hashing.
    #[tokio::test]
    async fn a_panicking_job_does_not_stop_its_thread() {
        let passwords = Passwords::new(1).await.unwrap();
        let failed = submit(&passwords.jobs, passwords.ticket().unwrap(), |_| {
            panic!("argon2 failed")
        })
        .await;
        assert!(failed.is_err());
        let hash = passwords
            .hash(passwords.ticket().unwrap(), password("a fine passphrase"))
            .await
            .unwrap();
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
        let hashing = submit(&passwords.jobs, passwords.ticket().unwrap(), |_| {
            (nice(), std::thread::current().name().map(str::to_owned))
        })
        .await
        .unwrap();
        assert_eq!(hashing, (19, Some("password-hash".to_owned())));
        assert_eq!(nice(), before);
    }

    // Hashes written before this module reused its memory (by the argon2
    // crate's own hasher) still verify, and the crate verifies ours: the
    // stored format is unchanged.
    #[tokio::test]
    async fn hashes_match_the_argon2_crates_own() {
        use argon2::{PasswordHasher, PasswordVerifier};
        let passwords = Passwords::new(1).await.unwrap();
        let theirs = Argon2::default()
            .hash_password(b"a fine passphrase")
            .unwrap()
            .to_string();
        let verify = |hash: &str, typed: &str| {
            passwords.verify(
                passwords.ticket().unwrap(),
                password(typed),
                Some(hash.to_owned()),
            )
        };
        assert!(verify(&theirs, "a fine passphrase").await.unwrap());
        assert!(!verify(&theirs, "a fine passphrasE").await.unwrap());
        let ours = passwords
            .hash(passwords.ticket().unwrap(), password("a fine passphrase"))
            .await
            .unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"a fine passphrase", ours.as_str())
                .is_ok()
        );
        for malformed in ["", "$argon2id$", "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ"] {
            assert!(!verify(malformed, "a fine passphrase").await.unwrap());
        }
    }

    // Past the tickets (one running and eight waiting per thread), a
    // request is refused at once instead of waiting: the queue is bounded by
    // the code, whatever the load; a ticket comes back when its hash is done,
    // or when it is dropped unused.
    #[tokio::test]
    async fn tickets_bound_the_queue() {
        let passwords = Passwords::new(1).await.unwrap();
        let (release, held) = std::sync::mpsc::channel::<()>();
        let holding = submit(&passwords.jobs, passwords.ticket().unwrap(), move |_| {
            held.recv().ok()
        });
        let queued: Vec<_> = (0..QUEUED_PER_THREAD)
            .map(|_| {
                let ticket = passwords.ticket().unwrap();
                passwords.hash(ticket, password("a fine passphrase"))
            })
            .collect();
        assert!(passwords.ticket().is_err());
        release.send(()).unwrap();
        holding.await.unwrap();
        for hashing in queued {
            assert!(hashing.await.unwrap().starts_with("$argon2id$"));
        }
        let unused = passwords.ticket().unwrap();
        drop(unused);
        let all: Vec<_> = (0..=QUEUED_PER_THREAD)
            .map(|_| passwords.ticket().unwrap())
            .collect();
        assert!(passwords.ticket().is_err());
        drop(all);
        assert!(passwords.ticket().is_ok());
    }
}
