//! The git CLI, so rampart needs no git library: `git init` of a new
//! service, and the commands that read template sources and commit updates.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::Error;

/// Runs `git init -q` in `dir`; on failure returns a warning to show the user.
pub fn init(dir: &Path) -> Result<(), String> {
    git(dir, &["init", "-q"])
        .map(drop)
        .map_err(|e| e.to_string())
}

/// Runs git in `dir` and returns its standard output.
pub(crate) fn git(dir: &Path, args: &[&str]) -> Result<String, Error> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(not_found)?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(Error::Git(format!(
            "`git {}` failed in {}: {}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// Runs a git command whose answer is its exit status (0 yes, 1 no).
pub(crate) fn git_status(dir: &Path, args: &[&str]) -> Result<bool, Error> {
    let status = Command::new("git")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(not_found)?;
    match status.code() {
        Some(0) => Ok(true),
        Some(1) => Ok(false),
        _ => Err(Error::Git(format!(
            "`git {}` failed ({status})",
            args.join(" ")
        ))),
    }
}

/// The error for a git that cannot be started.
pub(crate) fn not_found(e: std::io::Error) -> Error {
    Error::Git(format!("could not run git ({e}); is it installed?"))
}
