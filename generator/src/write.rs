//! Puts a rendered service on disk all at once: everything is written to a
//! temporary sibling directory that is renamed into place only when complete,
//! so a failure never leaves a half-written service behind.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::render::Rendered;
use crate::{Error, modes};

/// A file rampart adds next to the rendered template (`.env`, state).
pub struct ExtraFile<'a> {
    pub path: &'a str,
    pub contents: &'a [u8],
    /// Unix permission bits before the umask.
    pub mode: u32,
}

/// Fails unless `target` is absent or an empty directory; never modifies it.
pub fn check_target(target: &Path) -> Result<(), Error> {
    let meta = match fs::symlink_metadata(target) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io("inspect", target)(e)),
    };
    if !meta.is_dir() {
        return Err(Error::TargetNotDirectory {
            path: target.to_owned(),
        });
    }
    let mut entries = fs::read_dir(target).map_err(Error::io("read", target))?;
    match entries.next() {
        None => Ok(()),
        Some(_) => Err(Error::TargetNotEmpty {
            path: target.to_owned(),
        }),
    }
}

/// Writes `rendered` and `extra` so that `target` appears complete or not at all.
pub fn write_service(target: &Path, rendered: &Rendered, extra: &[ExtraFile]) -> Result<(), Error> {
    check_target(target)?;
    // An existing (empty) target may be spelled `.` or `dir/..`, which cannot
    // be renamed onto; its absolute path can.
    let resolved;
    let target = if target.exists() {
        resolved = fs::canonicalize(target).map_err(Error::io("resolve", target))?;
        resolved.as_path()
    } else {
        target
    };
    let parent = match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(Error::io("create directory", &parent))?;

    // Same filesystem as the target, so the final rename is atomic. Dropping
    // the guard on any error below removes everything written so far.
    let mut builder = tempfile::Builder::new();
    builder.prefix(".rampart-new-");
    // A normal directory (subject to the umask), not tempfile's private default.
    if let Some(normal) = modes::permissions(0o777) {
        builder.permissions(normal);
    }
    let staging = builder
        .tempdir_in(&parent)
        .map_err(Error::io("create a temporary directory in", &parent))?;
    let root = staging.path();

    for dir in &rendered.dirs {
        let path = root.join(dir);
        fs::create_dir_all(&path).map_err(Error::io("create directory", &path))?;
    }
    for file in &rendered.files {
        let mode = if file.executable { 0o777 } else { 0o666 };
        create_file(&root.join(&file.path), &file.contents, mode)?;
    }
    for file in extra {
        create_file(&root.join(file.path), file.contents, file.mode)?;
    }

    fs::rename(root, target).map_err(|e| match e.kind() {
        // Something appeared in the target since the check above.
        io::ErrorKind::DirectoryNotEmpty | io::ErrorKind::AlreadyExists => Error::TargetNotEmpty {
            path: target.to_owned(),
        },
        _ => Error::io("move the new service into", target)(e),
    })?;
    // The directory now lives at `target`: the guard must not delete it.
    let _ = staging.keep();
    Ok(())
}

fn create_file(path: &Path, contents: &[u8], mode: u32) -> Result<(), Error> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(Error::io("create directory", dir))?;
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    modes::create_with_mode(&mut options, mode);
    let mut file = options.open(path).map_err(Error::io("create", path))?;
    file.write_all(contents).map_err(Error::io("write", path))?;
    restrict(path, mode)
}

/// Owner-only files keep exactly their mode whatever the umask allowed.
fn restrict(path: &Path, mode: u32) -> Result<(), Error> {
    if mode & 0o077 == 0 {
        modes::set_mode(path, mode)?;
    }
    Ok(())
}

/// How `replace_file`'s temporary siblings are named: a process killed
/// midway leaves one behind, which the undo journal's recovery removes.
pub const TEMP_PREFIX: &str = ".rampart-tmp-";

/// Replaces (or creates) the file at `path` through a temporary sibling and
/// a rename, so that it is never seen half written. Keeps its permissions.
pub fn replace_file(path: &Path, contents: &[u8]) -> Result<(), Error> {
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut file = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(parent)
        .map_err(Error::io("create a file in", parent))?;
    file.write_all(contents)
        .map_err(Error::io("write", file.path().to_owned()))?;
    let permissions = match fs::metadata(path) {
        Ok(meta) => meta.permissions(),
        Err(_) => fs::metadata(parent)
            .map_err(Error::io("inspect", parent))
            .map(|_| default_permissions())?,
    };
    fs::set_permissions(file.path(), permissions).map_err(Error::io("set permissions of", path))?;
    file.persist(path)
        .map_err(|e| Error::io("replace", path)(e.error))?;
    Ok(())
}

fn default_permissions() -> fs::Permissions {
    modes::permissions(0o644)
        .unwrap_or_else(|| unreachable!("rampart writes services on unix only"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::RenderedFile;

    fn sample() -> Rendered {
        Rendered {
            files: vec![RenderedFile {
                path: "src/main.rs".into(),
                contents: b"fn main() {}\n".to_vec(),
                executable: false,
            }],
            dirs: vec!["src".into(), "empty".into()],
        }
    }

    #[test]
    fn writes_into_a_new_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("a/b/svc");
        let extra = [ExtraFile {
            path: ".env",
            contents: b"X=1\n",
            mode: 0o600,
        }];
        write_service(&target, &sample(), &extra).unwrap();
        assert_eq!(
            fs::read(target.join("src/main.rs")).unwrap(),
            b"fn main() {}\n"
        );
        assert!(target.join("empty").is_dir());
        #[cfg(unix)]
        assert_eq!(modes::mode(&target.join(".env")).unwrap() & 0o777, 0o600);
        // Only the service is left behind, no staging directory.
        assert_eq!(fs::read_dir(tmp.path().join("a/b")).unwrap().count(), 1);
    }

    #[test]
    fn replaces_an_empty_directory() {
        let tmp = tempfile::tempdir().unwrap();
        write_service(tmp.path(), &sample(), &[]).unwrap_or_else(|e| panic!("{e}"));
        assert!(tmp.path().join("src/main.rs").is_file());
    }

    #[test]
    fn replaces_an_empty_directory_given_as_dot() {
        let tmp = tempfile::tempdir().unwrap();
        fs::create_dir(tmp.path().join("here")).unwrap();
        write_service(&tmp.path().join("here/."), &sample(), &[]).unwrap();
        assert!(tmp.path().join("here/src/main.rs").is_file());
    }

    #[test]
    fn refuses_non_empty_directories_and_files() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("keep.txt"), "mine").unwrap();
        let err = write_service(tmp.path(), &sample(), &[]).unwrap_err();
        assert!(matches!(err, Error::TargetNotEmpty { .. }), "{err}");
        let err = write_service(&tmp.path().join("keep.txt"), &sample(), &[]).unwrap_err();
        assert!(matches!(err, Error::TargetNotDirectory { .. }), "{err}");
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 1);
    }

    #[test]
    fn cleans_up_when_a_write_fails() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("svc");
        // Two files with one path: the second create_new fails midway.
        let extra = [
            ExtraFile {
                path: "x",
                contents: b"1",
                mode: 0o644,
            },
            ExtraFile {
                path: "x",
                contents: b"2",
                mode: 0o644,
            },
        ];
        assert!(write_service(&target, &sample(), &extra).is_err());
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 0);
    }
}
