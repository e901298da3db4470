//! Helpers shared by the integration tests (each test crate uses some).
#![allow(dead_code)]

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

/// Runs the `rampart` binary with `args`; returns its exit code and its
/// stdout and stderr together.
pub fn rampart_with(args: &[&str]) -> (i32, String) {
    let (output, stdout, stderr) = run(rampart().args(args));
    (
        output.status.code().unwrap_or(-1),
        format!("{stdout}{stderr}"),
    )
}

/// Runs git in `dir` with a fixed identity and returns its stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
        // A signing setup of whoever runs the tests must not apply.
        .args(["-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn commit_all(dir: &Path, message: &str) {
    git(dir, &["add", "--all"]);
    git(dir, &["commit", "--quiet", "-m", message]);
}

pub fn read(path: impl AsRef<Path>) -> String {
    fs::read_to_string(path.as_ref()).unwrap_or_else(|e| panic!("{}: {e}", path.as_ref().display()))
}

pub fn append(path: impl AsRef<Path>, text: &str) {
    let mut contents = read(&path);
    contents.push_str(text);
    fs::write(path, contents).unwrap();
}

/// Copies a folder, leaving out `target` folders (build output).
pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() != "target" {
                copy_dir(&entry.path(), &target);
            }
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// This workspace's template and update policy, copied into `repo`.
pub fn copy_template(repo: &Path) {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    copy_dir(&workspace.join("template"), &repo.join("template"));
    fs::copy(
        workspace.join("template-update.toml"),
        repo.join("template-update.toml"),
    )
    .unwrap();
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
