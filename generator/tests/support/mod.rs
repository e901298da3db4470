//! Helpers shared by the integration tests.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::{Command, Output};

/// A file-system entry as the tests compare it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Dir,
    File { contents: Vec<u8>, executable: bool },
}

/// The real `rampart` binary built by cargo for these tests.
pub fn rampart() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rampart"))
}

/// Runs `cmd` and returns its output, with stdout/stderr as text for messages.
pub fn run(cmd: &mut Command) -> (Output, String, String) {
    let output = cmd.output().expect("command starts");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output, stdout, stderr)
}

/// Every entry under `root`, keyed by `/`-separated relative path, skipping `.git`.
pub fn tree(root: &Path) -> BTreeMap<String, Entry> {
    let mut entries = BTreeMap::new();
    walk(root, root, &mut entries);
    entries
}

fn walk(root: &Path, dir: &Path, entries: &mut BTreeMap<String, Entry>) {
    for entry in fs::read_dir(dir).expect("readable directory") {
        let path = entry.expect("directory entry").path();
        let relative = path
            .strip_prefix(root)
            .expect("inside root")
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        if relative == ".git" {
            continue;
        }
        let meta = fs::symlink_metadata(&path).expect("metadata");
        if meta.is_dir() {
            entries.insert(relative, Entry::Dir);
            walk(root, &path, entries);
        } else {
            let contents = fs::read(&path).expect("readable file");
            entries.insert(
                relative,
                Entry::File {
                    contents,
                    executable: is_executable(&meta),
                },
            );
        }
    }
}

#[cfg(unix)]
fn is_executable(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_meta: &fs::Metadata) -> bool {
    false
}
