//! Optional `git init` of a new service, done with the git CLI so rampart
//! needs no git library. Failure is reported, never fatal.

use std::path::Path;
use std::process::Command;

/// Runs `git init -q` in `dir`; on failure returns a warning to show the user.
pub fn init(dir: &Path) -> Result<(), String> {
    match Command::new("git")
        .args(["init", "-q"])
        .current_dir(dir)
        .output()
    {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(format!(
            "`git init` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => Err(format!("could not run git ({e}); is it installed?")),
    }
}
