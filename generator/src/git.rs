//! The git CLI, so rampart needs no git library: `git init` of a new
//! service, and the commands that read template sources and commit updates.
//! Every git process rampart starts is started here.

use std::io::{Read, Write};
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

/// The contents of the blobs `ids`, in order, read through one
/// `git cat-file --batch` in `repo`.
pub(crate) fn cat_file_batch(repo: &Path, ids: &[&str]) -> Result<Vec<Vec<u8>>, Error> {
    let mut child = Command::new("git")
        .args(["cat-file", "--batch"])
        .current_dir(repo)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(not_found)?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let request: String = ids.iter().map(|id| format!("{id}\n")).collect();
    // Written from a thread: git answers while it reads, and a full stdout
    // pipe would otherwise block both sides.
    let writer = std::thread::spawn(move || stdin.write_all(request.as_bytes()));
    let mut out = Vec::new();
    child
        .stdout
        .take()
        .expect("piped stdout")
        .read_to_end(&mut out)
        .map_err(|e| Error::Git(format!("reading git cat-file: {e}")))?;
    let status = child
        .wait()
        .map_err(|e| Error::Git(format!("git cat-file: {e}")))?;
    let written = writer
        .join()
        .map_err(|_| Error::Git("git cat-file writer panicked".into()))?;
    if !status.success() || written.is_err() {
        return Err(Error::Git(format!(
            "git cat-file --batch failed ({status})"
        )));
    }
    split_batch(&out, ids)
}

/// The blobs `ids` in `git cat-file --batch` output: per object a header
/// line `<id> blob <size>`, then the contents and a newline.
fn split_batch(out: &[u8], ids: &[&str]) -> Result<Vec<Vec<u8>>, Error> {
    let mut blobs = Vec::with_capacity(ids.len());
    let mut rest = out;
    for id in ids {
        let bad = || Error::Git(format!("unexpected git cat-file output for {id}"));
        let newline = rest.iter().position(|&b| b == b'\n').ok_or_else(bad)?;
        let header = std::str::from_utf8(&rest[..newline]).map_err(|_| bad())?;
        let size: usize = match header.split(' ').collect::<Vec<_>>()[..] {
            [_, "blob", size] => size.parse().map_err(|_| bad())?,
            _ => return Err(bad()),
        };
        let body = rest.get(newline + 1..newline + 1 + size).ok_or_else(bad)?;
        blobs.push(body.to_vec());
        rest = rest.get(newline + 2 + size..).ok_or_else(bad)?;
    }
    Ok(blobs)
}

/// The error for a git that cannot be started.
fn not_found(e: std::io::Error) -> Error {
    Error::Git(format!("could not run git ({e}); is it installed?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_splits_into_its_blobs() {
        let out = b"aa blob 3\nx\ny\nbb blob 0\n\ncc blob 2\n\0\xff\n";
        let blobs = split_batch(out, &["aa", "bb", "cc"]).unwrap();
        assert_eq!(blobs, [b"x\ny".to_vec(), Vec::new(), b"\0\xff".to_vec()]);
        for (out, ids) in [
            (&b"aa missing\n"[..], &["aa"][..]),
            (b"aa tree 3\nxyz\n", &["aa"]),
            (b"aa blob 9\nxyz\n", &["aa"]),
            (b"aa blob 3\nxyz\n", &["aa", "bb"]),
        ] {
            let err = split_batch(out, ids).unwrap_err();
            assert!(matches!(err, Error::Git(_)), "{err}");
        }
    }

    // One process reads many blobs, more than a pipe holds, in the order asked.
    #[test]
    fn cat_file_batch_reads_blobs_in_order() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path();
        git(repo, &["init", "-q"]).unwrap();
        let contents: Vec<Vec<u8>> = (0..40u8).map(|n| vec![n; 4096 * usize::from(n)]).collect();
        let ids: Vec<String> = contents
            .iter()
            .enumerate()
            .map(|(n, bytes)| {
                let file = repo.join(format!("f{n}"));
                std::fs::write(&file, bytes).unwrap();
                let path = file.to_str().unwrap();
                git(repo, &["hash-object", "-w", path])
                    .unwrap()
                    .trim()
                    .to_owned()
            })
            .rev()
            .collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let blobs = cat_file_batch(repo, &ids).unwrap();
        assert!(blobs.iter().rev().eq(contents.iter()));
        let err = cat_file_batch(repo, &["0000000000000000000000000000000000000000"]);
        assert!(err.is_err());
    }
}
