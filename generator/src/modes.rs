//! File modes, read and set in this one place: the executable bit a
//! template gives each file (which `rampart update` and `rampart check`
//! compare and set), the whole permission bits the undo journal saves and
//! puts back, and the modes new files and folders are created with. Modes
//! are a unix matter: elsewhere no file is executable, every file reads as
//! mode 0o644, and no mode is set.

use std::fs::{self, Metadata, OpenOptions, Permissions};
use std::path::Path;

use crate::Error;

/// Whether any execute bit is set.
#[cfg(unix)]
pub(crate) fn is_executable(meta: &Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
pub(crate) fn is_executable(_meta: &Metadata) -> bool {
    false
}

/// Whether the file at `path` (a symbolic link followed) is executable;
/// false when there is none or it cannot be inspected.
pub(crate) fn is_executable_at(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|meta| is_executable(&meta))
}

/// The permission bits of the file at `path` (a symbolic link followed),
/// setuid, setgid and sticky included.
#[cfg(unix)]
pub(crate) fn mode(path: &Path) -> Result<u32, Error> {
    use std::os::unix::fs::PermissionsExt;
    let meta = fs::metadata(path).map_err(Error::io("inspect", path))?;
    Ok(meta.permissions().mode() & 0o7777)
}

/// Without unix modes, every file reads as a plain `rw-r--r--` one.
#[cfg(not(unix))]
pub(crate) fn mode(path: &Path) -> Result<u32, Error> {
    fs::metadata(path).map_err(Error::io("inspect", path))?;
    Ok(0o644)
}

/// Gives the file at `path` exactly the permission bits `mode`.
#[cfg(unix)]
pub(crate) fn set_mode(path: &Path, mode: u32) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, Permissions::from_mode(mode))
        .map_err(Error::io("set permissions of", path))
}

#[cfg(not(unix))]
pub(crate) fn set_mode(_path: &Path, _mode: u32) -> Result<(), Error> {
    Ok(())
}

/// Sets or clears the execute bits where the file is readable.
#[cfg(unix)]
pub(crate) fn set_executable(path: &Path, executable: bool) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(path)
        .map_err(Error::io("inspect", path))?
        .permissions()
        .mode();
    let wanted = if executable {
        mode | ((mode & 0o444) >> 2)
    } else {
        mode & !0o111
    };
    if wanted != mode {
        fs::set_permissions(path, Permissions::from_mode(wanted))
            .map_err(Error::io("set permissions of", path))?;
    }
    Ok(())
}

#[cfg(not(unix))]
pub(crate) fn set_executable(_path: &Path, _executable: bool) -> Result<(), Error> {
    Ok(())
}

/// Permissions of exactly `mode`, for a file or folder about to be made;
/// `None` where there are no modes.
#[cfg(unix)]
pub(crate) fn permissions(mode: u32) -> Option<Permissions> {
    use std::os::unix::fs::PermissionsExt;
    Some(Permissions::from_mode(mode))
}

#[cfg(not(unix))]
pub(crate) fn permissions(_mode: u32) -> Option<Permissions> {
    None
}

/// Files `options` creates get `mode`, less the umask.
#[cfg(unix)]
pub(crate) fn create_with_mode(options: &mut OpenOptions, mode: u32) {
    use std::os::unix::fs::OpenOptionsExt;
    options.mode(mode);
}

#[cfg(not(unix))]
pub(crate) fn create_with_mode(_options: &mut OpenOptions, _mode: u32) {}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    // The execute bits follow the read bits: a file only its owner reads
    // becomes executable by its owner only.
    #[test]
    fn the_executable_bit_follows_who_may_read() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("run.sh");
        fs::write(&file, b"#!/bin/sh\n").unwrap();
        for (before, executable, after) in [
            (0o644, true, 0o755),
            (0o600, true, 0o700),
            (0o755, false, 0o644),
            (0o750, false, 0o640),
            (0o644, false, 0o644),
        ] {
            set_mode(&file, before).unwrap();
            set_executable(&file, executable).unwrap();
            assert_eq!(mode(&file).unwrap(), after, "{before:o} {executable}");
            assert_eq!(is_executable_at(&file), executable, "{before:o}");
        }
        assert!(!is_executable_at(&tmp.path().join("missing")));
    }
}
