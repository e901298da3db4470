//! The undo journal that makes an update all-or-nothing across a crash:
//! before an update touches the working tree, it saves every file it will
//! write or remove (the state file too) in `.rampart-undo/`; when it is done
//! it drops the journal. A run that finds a journal was interrupted (kill
//! -9, power cut), so it first puts every saved file back, which leaves the
//! tree as it was before that run, and then updates as if nothing happened.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::paths::{self, STATE_FILE};
use crate::{Error, modes, write};

/// The journal's folder, at the service's root.
pub const JOURNAL: &str = ".rampart-undo";
/// Where a journal is written before it is complete.
const STAGING: &str = ".rampart-undo.new";
/// Where a journal goes once its update is complete, to be deleted.
const DONE: &str = ".rampart-undo.done";
/// Lists the saved files: `<number> <mode in octal, or -> <path>` per line.
const MANIFEST: &str = "manifest";

/// A journal in place: the files it names may now be changed.
pub struct Journal {
    root: PathBuf,
}

impl Journal {
    /// Saves the current bytes and mode of `paths` (or that they do not
    /// exist), and only then puts the journal in place.
    pub fn begin<'a>(root: &Path, paths: impl IntoIterator<Item = &'a str>) -> Result<Self, Error> {
        let staging = root.join(STAGING);
        remove_dir(&staging)?;
        fs::create_dir(&staging).map_err(Error::io("create", &staging))?;
        let mut manifest = String::new();
        for (number, path) in paths.into_iter().enumerate() {
            let full = root.join(path);
            let mode = match fs::read(&full) {
                Ok(bytes) => {
                    let saved = staging.join(number.to_string());
                    fs::write(&saved, bytes).map_err(Error::io("write", &saved))?;
                    format!("{:o}", modes::mode(&full)?)
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => "-".to_owned(),
                Err(e) => return Err(Error::io("read", full)(e)),
            };
            manifest.push_str(&format!("{number} {mode} {path}\n"));
        }
        let list = staging.join(MANIFEST);
        fs::write(&list, manifest).map_err(Error::io("write", &list))?;
        sync_dir(&staging)?;
        let journal = root.join(JOURNAL);
        fs::rename(&staging, &journal).map_err(Error::io("create", &journal))?;
        sync_dir(root)?;
        Ok(Self {
            root: root.to_owned(),
        })
    }

    /// The update is complete (its state file written): the journal goes.
    pub fn finish(self) -> Result<(), Error> {
        let (journal, done) = (self.root.join(JOURNAL), self.root.join(DONE));
        // One atomic step decides; deleting the files after it is tidying.
        fs::rename(&journal, &done).map_err(Error::io("remove", &journal))?;
        remove_dir(&done)
    }
}

/// Rolls back an interrupted update, if there is one; true if there was.
pub fn recover(root: &Path) -> Result<bool, Error> {
    remove_dir(&root.join(STAGING))?;
    remove_dir(&root.join(DONE))?;
    let journal = root.join(JOURNAL);
    if !journal.is_dir() {
        return Ok(false);
    }
    // The whole manifest is checked before the first file is touched.
    let saved_files = read_manifest(&journal)?;
    for (path, _) in &saved_files {
        remove_temporaries(&root.join(path))?;
    }
    for (path, saved) in saved_files {
        let full = root.join(&path);
        let Some((number, mode)) = saved else {
            remove_file(&full)?;
            continue;
        };
        let copy = journal.join(number.to_string());
        let bytes = fs::read(&copy).map_err(Error::io("read", &copy))?;
        if let Some(parent) = full.parent() {
            fs::create_dir_all(parent).map_err(Error::io("create directory", parent))?;
        }
        write::replace_file(&full, &bytes)?;
        modes::set_mode(&full, mode)?;
    }
    let done = root.join(DONE);
    fs::rename(&journal, &done).map_err(Error::io("remove", &journal))?;
    remove_dir(&done)?;
    Ok(true)
}

/// A saved file: its path, and its copy's number and mode, or `None` when
/// it did not exist.
type Saved = (String, Option<(usize, u32)>);

fn read_manifest(journal: &Path) -> Result<Vec<Saved>, Error> {
    let list = journal.join(MANIFEST);
    let manifest = fs::read_to_string(&list).map_err(Error::io("read", &list))?;
    let mut saved = Vec::new();
    for (line_number, line) in manifest.lines().enumerate() {
        let bad = |why: &str| {
            Error::Refused(format!(
                "{} line {}: {why}; the interrupted update cannot be rolled back \
                 automatically: restore the service from git, then remove {JOURNAL}",
                list.display(),
                line_number + 1
            ))
        };
        let mut fields = line.splitn(3, ' ');
        let (Some(number), Some(mode), Some(path)) = (fields.next(), fields.next(), fields.next())
        else {
            return Err(bad("malformed"));
        };
        if path != STATE_FILE {
            paths::confined(path).map_err(|why| bad(&format!("the path `{path}` {why}")))?;
        }
        let copy = match mode {
            "-" => None,
            _ => Some((
                number.parse().map_err(|_| bad("malformed number"))?,
                u32::from_str_radix(mode, 8).map_err(|_| bad("malformed mode"))?,
            )),
        };
        saved.push((path.to_owned(), copy));
    }
    Ok(saved)
}

/// Removes what a killed `write::replace_file` left beside `path`.
fn remove_temporaries(path: &Path) -> Result<(), Error> {
    let Some(dir) = path.parent() else {
        return Ok(());
    };
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io("read", dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(Error::io("read", dir))?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with(write::TEMP_PREFIX) {
            remove_file(&entry.path())?;
        }
    }
    Ok(())
}

fn remove_dir(dir: &Path) -> Result<(), Error> {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(Error::io("remove", dir)(e)),
        _ => Ok(()),
    }
}

fn remove_file(path: &Path) -> Result<(), Error> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(Error::io("remove", path)(e)),
        _ => Ok(()),
    }
}

/// Makes a rename inside `dir` durable before the next step relies on it.
fn sync_dir(dir: &Path) -> Result<(), Error> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(Error::io("sync", dir))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modes::set_mode;

    fn mode(path: &Path) -> u32 {
        modes::mode(path).unwrap() & 0o777
    }

    // Whatever an interrupted update did to the files it named, recovery
    // puts back their bytes, their modes, and their absence.
    #[test]
    fn recovery_restores_bytes_modes_and_absence() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        fs::create_dir(root.join("bin")).unwrap();
        fs::write(root.join("bin/run"), b"#!/bin/sh\n").unwrap();
        set_mode(&root.join("bin/run"), 0o755).unwrap();
        fs::write(root.join("README.md"), b"caf\xe9\n").unwrap();
        fs::write(root.join(STATE_FILE), b"v1").unwrap();
        let journal =
            Journal::begin(root, ["bin/run", "README.md", "new/file", STATE_FILE]).unwrap();
        fs::write(root.join("bin/run"), b"changed").unwrap();
        set_mode(&root.join("bin/run"), 0o644).unwrap();
        fs::remove_file(root.join("README.md")).unwrap();
        fs::create_dir(root.join("new")).unwrap();
        fs::write(root.join("new/file"), b"added").unwrap();
        fs::write(root.join(STATE_FILE), b"v2").unwrap();
        fs::write(
            root.join("bin").join(format!("{}x1", write::TEMP_PREFIX)),
            b"half",
        )
        .unwrap();
        std::mem::forget(journal); // killed: finish never runs
        assert!(recover(root).unwrap());
        assert_eq!(fs::read(root.join("bin/run")).unwrap(), b"#!/bin/sh\n");
        assert_eq!(mode(&root.join("bin/run")), 0o755);
        assert_eq!(fs::read(root.join("README.md")).unwrap(), b"caf\xe9\n");
        assert!(!root.join("new/file").exists());
        assert_eq!(fs::read(root.join(STATE_FILE)).unwrap(), b"v1");
        assert_eq!(fs::read_dir(root.join("bin")).unwrap().count(), 1);
        assert!(!root.join(JOURNAL).exists());
        assert!(!recover(root).unwrap());
    }

    #[test]
    fn a_finished_or_unfinished_journal_is_no_interruption() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        fs::write(root.join("a"), b"1").unwrap();
        Journal::begin(root, ["a"]).unwrap().finish().unwrap();
        fs::create_dir(root.join(STAGING)).unwrap();
        fs::write(root.join("a"), b"2").unwrap();
        assert!(!recover(root).unwrap());
        assert_eq!(fs::read(root.join("a")).unwrap(), b"2");
        assert_eq!(fs::read_dir(root).unwrap().count(), 1);
    }

    #[test]
    fn a_hostile_manifest_is_refused_before_any_write() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("svc");
        fs::create_dir_all(root.join(JOURNAL)).unwrap();
        fs::write(tmp.path().join("victim"), b"keep").unwrap();
        fs::write(root.join("mine"), b"keep").unwrap();
        let manifest = "0 - mine\n1 - ../victim\n";
        fs::write(root.join(JOURNAL).join(MANIFEST), manifest).unwrap();
        let err = recover(&root).unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("../victim"), "{err}");
        assert_eq!(fs::read(tmp.path().join("victim")).unwrap(), b"keep");
        assert_eq!(fs::read(root.join("mine")).unwrap(), b"keep");
    }
}
