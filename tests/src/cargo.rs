//! Runs cargo commands inside a generated service.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::deadline;

/// The one target dir shared by every generated service, so dependencies are
/// compiled once rather than once per service and per run.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("RAMPART_E2E_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("target")
            .join("e2e"),
    }
}

/// Runs `cargo ARGS` in `dir`; panics with its whole output if it fails.
pub fn run(dir: &Path, args: &[&str]) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let started = Instant::now();
    let output = deadline::command(cargo, deadline::BUILD)
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir())
        // Each service is compiled once: incremental state would only be waste.
        .env("CARGO_INCREMENTAL", "0")
        .output()
        .unwrap_or_else(|e| panic!("cannot run cargo: {e}"));
    let command = format!("cargo {}", args.join(" "));
    if deadline::timed_out(&output.status) {
        panic!(
            "`{command}` in {} TIMED OUT after {:?} and was killed",
            dir.display(),
            deadline::BUILD
        );
    }
    if !output.status.success() {
        panic!(
            "`{command}` failed in {} ({})\n--- stdout ---\n{}\n--- stderr ---\n{}",
            dir.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        );
    }
    eprintln!("ok: `{command}` in {:.0?}", started.elapsed());
}

/// The `rampart` binary of this workspace: the one `cargo test --workspace`
/// built beside this test, else built now into the shared target dir.
pub fn rampart_bin() -> PathBuf {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        let beside = std::env::current_exe()
            .ok()
            .and_then(|exe| Some(exe.parent()?.parent()?.join("rampart")));
        if let Some(bin) = beside.filter(|bin| bin.is_file()) {
            return bin;
        }
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        run(
            &workspace,
            &["build", "--quiet", "-p", "rampart", "--bin", "rampart"],
        );
        target_dir().join("debug").join("rampart")
    })
    .clone()
}
