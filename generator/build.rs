//! Tracks the template for rebuilds and records which template files are
//! executable, since `include_dir` embeds contents but not permissions.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

fn main() -> io::Result<()> {
    // include_dir cannot tell cargo about the files it embeds on stable, so any
    // change under the template must rebuild rampart (cargo scans directories).
    println!("cargo:rerun-if-changed=../template");

    let root = Path::new(&std::env::var("CARGO_MANIFEST_DIR").map_err(io::Error::other)?)
        .join("../template");
    let mut executables = Vec::new();
    collect_executables(&root, &root, &mut executables)?;
    executables.sort();

    let out = PathBuf::from(std::env::var("OUT_DIR").map_err(io::Error::other)?);
    fs::write(out.join("executables.rs"), format!("&{executables:?}\n"))
}

/// Relative, `/`-separated paths of files with any execute bit set.
fn collect_executables(root: &Path, dir: &Path, found: &mut Vec<String>) -> io::Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            collect_executables(root, &path, found)?;
        } else if kind.is_file() && is_executable(&entry.metadata()?) {
            let relative = path.strip_prefix(root).map_err(io::Error::other)?;
            let parts: Vec<_> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            found.push(parts.join("/"));
        }
    }
    Ok(())
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
