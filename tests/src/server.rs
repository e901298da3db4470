//! Starts a generated service's binary and stops it again, whatever happens.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::http::Client;

/// A running service. Dropping it kills the process, so a failing test never
/// leaves it behind; on failure it also shows the service's log.
pub struct Server {
    child: Child,
    log: PathBuf,
    pub api_url: String,
    pub admin_url: String,
}

impl Server {
    /// Runs `binary` in `service_dir` (where its `.env` is) on two free
    /// loopback ports, with its output going to `log`.
    pub fn start(binary: &Path, service_dir: &Path, log: &Path, env: &[(&str, String)]) -> Server {
        let api_addr = format!("127.0.0.1:{}", free_port());
        let admin_addr = format!("127.0.0.1:{}", free_port());
        let out = File::create(log).expect("log file can be created");
        let err = out.try_clone().expect("log file handle can be cloned");
        let mut command = service_command(binary, service_dir, &api_addr, &admin_addr);
        command
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(out)
            .stderr(err);
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        Server {
            child,
            log: log.to_owned(),
            api_url: format!("http://{api_addr}"),
            admin_url: format!("http://{admin_addr}"),
        }
    }

    /// Polls `GET /healthz` until it answers 200, or panics after `limit`.
    pub fn wait_healthy(&mut self, client: &Client, limit: Duration) {
        let url = format!("{}/healthz", self.api_url);
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the service exited with {status} before it was healthy");
            }
            match client.get(&url, None) {
                Ok(reply) if reply.status == 200 => return,
                Ok(reply) if started.elapsed() > limit => {
                    panic!("/healthz still answers {reply:?} after {limit:?}")
                }
                Err(e) if started.elapsed() > limit => {
                    panic!("/healthz unreachable after {limit:?}: {e}")
                }
                _ => sleep(Duration::from_millis(200)),
            }
        }
    }

    /// Sends SIGTERM and waits up to `limit` for the process to exit.
    pub fn terminate(mut self, limit: Duration) -> ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(
            matches!(sent, Ok(s) if s.success()),
            "could not send SIGTERM: {sent:?}"
        );
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("child can be waited on") {
                return status;
            }
            assert!(
                started.elapsed() < limit,
                "the service did not exit within {limit:?} of SIGTERM"
            );
            sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Harmless if the process has already exited and been waited on.
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            eprintln!("--- service log ({}) ---\n{log}", self.log.display());
        }
    }
}

/// Runs `binary` in `service_dir` with `env` and expects it to refuse to
/// start: it must exit non-zero within `limit`. Returns everything it printed.
pub fn expect_refusal(
    binary: &Path,
    service_dir: &Path,
    env: &[(&str, &str)],
    limit: Duration,
) -> String {
    let api_addr = format!("127.0.0.1:{}", free_port());
    let admin_addr = format!("127.0.0.1:{}", free_port());
    let mut child = service_command(binary, service_dir, &api_addr, &admin_addr)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("child can be waited on") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("the service started with {env:?}; it should have refused");
        }
        sleep(Duration::from_millis(100));
    };
    let output = child.wait_with_output().expect("output can be read");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !status.success(),
        "the service exited successfully with {env:?}: {printed}"
    );
    printed
}

/// The service's binary, run in `service_dir` (where its `.env` is).
pub fn binary_command(binary: &Path, service_dir: &Path) -> Command {
    let mut command = Command::new(binary);
    command
        .current_dir(service_dir)
        // Each test sets the database itself, or relies on the default.
        .env_remove("APP_DATABASE_URL");
    command
}

/// The service's binary, run in `service_dir` on the given loopback
/// addresses, with no input.
fn service_command(binary: &Path, service_dir: &Path, api_addr: &str, admin_addr: &str) -> Command {
    let mut command = binary_command(binary, service_dir);
    command
        .env("APP_LISTEN_ADDR", api_addr)
        .env("APP_ADMIN_ADDR", admin_addr)
        .stdin(Stdio::null());
    command
}

/// A port that was free a moment ago; the service binds it right after.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}
