//! Every command the end-to-end tests run has a deadline: one that hangs is
//! killed, with every process it started, and fails its test with a line
//! that names it, instead of holding CI until its own limit.

use std::ffi::OsStr;
use std::process::{Command, ExitStatus};
use std::time::Duration;

/// A builds' deadline: a cold release build on a slow two-core machine,
/// plus the wait for the other scenario's build (they share a target dir).
pub const BUILD: Duration = Duration::from_secs(40 * 60);

/// `program`, run by coreutils' `timeout` in a process group of its own:
/// past `limit` the whole group gets SIGTERM, and SIGKILL ten seconds later.
pub fn command(program: impl AsRef<OsStr>, limit: Duration) -> Command {
    let mut command = Command::new("timeout");
    command
        .arg("--kill-after=10")
        .arg(limit.as_secs().to_string())
        .arg(program);
    command
}

/// Whether a command run by [`command`] was stopped at its deadline.
pub fn timed_out(status: &ExitStatus) -> bool {
    matches!(status.code(), Some(124 | 137))
}
