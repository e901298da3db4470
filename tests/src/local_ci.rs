//! A generated service's own CI, run as its users run it: `ci/run` (CI-09).
//! Once whole, and then once per gate after breaking the service on purpose,
//! to prove that each gate fails when it should.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::workdir::git;
use crate::{cargo, deadline};

/// The deadline of one `ci/run`: every step, cold builds included, on a slow
/// two-core machine shared with another scenario.
const LIMIT: Duration = Duration::from_secs(50 * 60);

/// The outcome of one `ci/run`.
pub struct Run {
    pub success: bool,
    pub output: String,
}

impl Run {
    /// The summary line of `step`, such as `PASS      clippy       12s`.
    pub fn verdict(&self, step: &str) -> Option<&str> {
        self.output
            .lines()
            .filter_map(|line| line.strip_prefix("ci: "))
            .map(str::trim_start)
            .find(|line| {
                let mut words = line.split_whitespace();
                matches!(words.next(), Some("PASS" | "FAIL")) && words.next() == Some(step)
            })
    }
}

/// Runs `ci/run ARGS` in `service_dir`, sharing the compiled dependencies of
/// every other service; an `ADVISORY_DB_DIR` in the environment makes the
/// supply-chain steps offline.
pub fn run(service_dir: &Path, args: &[&str]) -> Run {
    run_as(service_dir, args, true)
}

/// Runs `ci/run ARGS` as a team that has not installed rampart nor named a
/// template repository: no RAMPART_BIN, nothing to install it from.
pub fn run_without_rampart(service_dir: &Path, args: &[&str]) -> Run {
    run_as(service_dir, args, false)
}

fn run_as(service_dir: &Path, args: &[&str], with_rampart: bool) -> Run {
    let started = Instant::now();
    let mut command = deadline::command(service_dir.join("ci").join("run"), LIMIT);
    if with_rampart {
        // The updates step checks the service with this workspace's rampart.
        command.env("RAMPART_BIN", cargo::rampart_bin());
    } else {
        command.env_remove("RAMPART_BIN").env_remove("RAMPART_GIT");
    }
    let output = command
        .args(args)
        .current_dir(service_dir)
        .env("CARGO_TARGET_DIR", cargo::target_dir())
        .env("CARGO_INCREMENTAL", "0")
        // Enough cases to catch a broken contract, few enough for a test suite.
        .env("DAST_MAX_EXAMPLES", "25")
        // A fixed seed, so a run of this suite can be replayed; the services'
        // own CI keeps drawing a new one each time, to explore further.
        .env("DAST_SEED", "20261125")
        .output()
        .unwrap_or_else(|e| panic!("cannot run ci/run in {}: {e}", service_dir.display()));
    assert!(
        !deadline::timed_out(&output.status),
        "ci/run {} in {} TIMED OUT after {LIMIT:?} and was killed; its output:\n{}{}",
        args.join(" "),
        service_dir.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let run = Run {
        success: output.status.success(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    };
    eprintln!(
        "ci/run {} in {}: {} after {:.0?}",
        args.join(" "),
        service_dir.display(),
        if run.success { "passed" } else { "failed" },
        started.elapsed()
    );
    run
}

/// Runs every step but `skip` and requires each to pass.
pub fn passes(service_dir: &Path, skip: &[&str]) {
    let args: Vec<&str> = skip.iter().flat_map(|step| ["--skip", step]).collect();
    let run = run(service_dir, &args);
    assert!(run.success, "the local CI failed:\n{}", run.output);
    let summary: Vec<&str> = run
        .output
        .lines()
        .skip_while(|l| !l.starts_with("ci: summary"))
        .collect();
    eprintln!("{}", summary.join("\n"));
}

/// A new service's first push: with no rampart installed and no template
/// repository configured, the drift check still runs and passes, and the
/// updates step says plainly that it did not look.
pub fn first_push_needs_no_rampart(service_dir: &Path) {
    let run = run_without_rampart(service_dir, &["template", "updates"]);
    assert!(
        run.success
            && run
                .output
                .contains("managed files as the template wrote them")
            && run
                .output
                .contains("NOT CHECKED: no template repository is configured"),
        "the template steps need rampart on a first push:\n{}",
        run.output
    );
}

/// Runs `step` alone and requires it to fail, with `evidence` in its output.
pub fn gate_bites(service_dir: &Path, step: &str, evidence: &str) {
    let run = run(service_dir, &[step]);
    let verdict = run.verdict(step).unwrap_or("no verdict");
    assert!(
        !run.success && verdict.starts_with("FAIL"),
        "the {step} gate let a deliberate break through ({verdict}):\n{}",
        run.output
    );
    assert!(
        run.output.contains(evidence),
        "the {step} gate failed without naming {evidence:?}:\n{}",
        run.output
    );
}

/// Edits to files of a service, undone on drop (whether the check passed or not).
pub struct Breakage {
    originals: Vec<(PathBuf, Option<Vec<u8>>)>,
}

impl Breakage {
    pub fn new() -> Self {
        Breakage {
            originals: Vec::new(),
        }
    }

    fn remember(&mut self, path: &Path) {
        if !self.originals.iter().any(|(p, _)| p == path) {
            self.originals
                .push((path.to_owned(), std::fs::read(path).ok()));
        }
    }

    /// Replaces `from` with `to` in `path`, which must contain it.
    pub fn replace(&mut self, path: &Path, from: &str, to: &str) -> &mut Self {
        self.remember(path);
        let text = std::fs::read_to_string(path).expect("the file is readable");
        assert!(text.contains(from), "{} has no {from:?}", path.display());
        std::fs::write(path, text.replacen(from, to, 1)).expect("the file is writable");
        self
    }

    /// Appends `text` to `path`.
    pub fn append(&mut self, path: &Path, text: &str) -> &mut Self {
        self.remember(path);
        let mut all = std::fs::read_to_string(path).expect("the file is readable");
        all.push_str(text);
        std::fs::write(path, all).expect("the file is writable");
        self
    }

    /// Creates `path` with `text`; removed on drop.
    pub fn create(&mut self, path: &Path, text: &str) -> &mut Self {
        self.remember(path);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("dirs");
        std::fs::write(path, text).expect("the file is writable");
        self
    }

    /// Keeps `path` as it is now, to restore it on drop (for files a tool rewrites).
    pub fn keep(&mut self, path: &Path) -> &mut Self {
        self.remember(path);
        self
    }
}

impl Default for Breakage {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Breakage {
    fn drop(&mut self) {
        for (path, original) in self.originals.drain(..).rev() {
            let _ = match original {
                Some(bytes) => std::fs::write(&path, bytes),
                None => std::fs::remove_file(&path),
            };
        }
    }
}

/// Breaks the service once per gate and shows that gate failing: a
/// migration the previous release cannot live with, a clippy warning, a
/// dependency with known advisories, a dependency under a licence the policy
/// does not allow, an undocumented status code, and a release binary with
/// debug info.
pub fn every_gate_bites(service_dir: &Path, package: &str) {
    let manifest = service_dir.join("Cargo.toml");
    let lock = service_dir.join("Cargo.lock");
    compat_gate_bites(service_dir);
    {
        // A file the template manages, changed by hand: `rampart check` drift.
        let mut b = Breakage::new();
        b.append(
            &service_dir.join("src/platform/xml.rs"),
            "\n// A local change to a file the template manages.\n",
        );
        gate_bites(service_dir, "template", "DRIFT: src/platform/xml.rs");
    }
    {
        let mut b = Breakage::new();
        b.append(
            &service_dir.join("src").join("lib.rs"),
            "\n/// Deliberately unidiomatic.\npub fn byte_count(bytes: &Vec<u8>) -> usize {\n    bytes.len()\n}\n",
        );
        gate_bites(service_dir, "clippy", "ptr_arg");
    }
    {
        // smallvec 0.6.13 has RUSTSEC-2021-0003 (its fix, 0.6.14, is in the 0.6 line).
        let mut b = Breakage::new();
        b.keep(&lock).replace(
            &manifest,
            "[dependencies]\n",
            "[dependencies]\nsmallvec = \"=0.6.13\"\n",
        );
        update_lockfile(service_dir);
        gate_bites(service_dir, "audit", "smallvec");
        gate_bites(service_dir, "deny", "smallvec");
    }
    {
        let mut b = Breakage::new();
        let vendored = service_dir.join("vendor").join("copyleft");
        b.create(
            &vendored.join("Cargo.toml"),
            "[package]\nname = \"copyleft\"\nversion = \"0.1.0\"\nedition = \"2024\"\nlicense = \"GPL-3.0-only\"\n",
        )
        .create(&vendored.join("src").join("lib.rs"), "//! A dependency under a licence the policy refuses.\n")
        .keep(&lock)
        .replace(
            &manifest,
            "[dependencies]\n",
            "[dependencies]\ncopyleft = { version = \"0.1.0\", path = \"vendor/copyleft\" }\n",
        );
        update_lockfile(service_dir);
        gate_bites(service_dir, "deny", "GPL-3.0-only");
    }
    {
        // Two breaks of the release binary, built once: GET /v1/me answers
        // a status its contract does not list, and the service's own code
        // keeps its debug info and symbols (only that crate is rebuilt).
        let mut b = Breakage::new();
        let me = service_dir.join("src/platform/routes/me.rs");
        b.replace(
            &me,
            "-> ApiResult<axum::Json<Me>> {",
            "-> ApiResult<(axum::http::StatusCode, axum::Json<Me>)> {",
        )
        .replace(
            &me,
            "Ok(axum::Json(Me {",
            "Ok((axum::http::StatusCode::NON_AUTHORITATIVE_INFORMATION, axum::Json(Me {",
        )
        .replace(
            &me,
            "        created_at,\n    }))",
            "        created_at,\n    })))",
        )
        .append(
            &manifest,
            &format!("\n[profile.release.package.{package}]\ndebug = true\nstrip = \"none\"\n"),
        );
        gate_bites(service_dir, "dast", "203");
        gate_bites(service_dir, "hardening", "no debug info");
    }
}

/// CI-07: the service is released as v1.0.0; then an additive migration
/// passes the compat step (v1.0.0 runs on the migrated schema and reads its
/// rows back), and one dropping a column v1.0.0 reads fails it.
fn compat_gate_bites(service_dir: &Path) {
    // Whatever the CI left (nothing, when the lock came with the service).
    git(service_dir, &["add", "--all"]);
    git(
        service_dir,
        &["commit", "--quiet", "--allow-empty", "-m", "Release 1"],
    );
    git(service_dir, &["tag", "v1.0.0"]);
    let first = run(service_dir, &["compat"]);
    assert!(
        first.success && first.output.contains("no earlier release"),
        "the first release has nothing to be compatible with:\n{}",
        first.output
    );

    let migrations = service_dir.join("migrations");
    let mut b = Breakage::new();
    b.create(
        &migrations.join("9001_order_gift_wrap.sql"),
        "ALTER TABLE orders ADD COLUMN gift_wrap BOOLEAN NOT NULL DEFAULT FALSE;\n",
    );
    let additive = run(service_dir, &["compat"]);
    assert!(
        additive.success
            && additive
                .output
                .contains("v1.0.0 works on this version's schema"),
        "an additive migration must pass the compat step:\n{}",
        additive.output
    );
    b.create(
        &migrations.join("9002_drop_order_note.sql"),
        "ALTER TABLE orders DROP COLUMN note;\n",
    );
    gate_bites(service_dir, "compat", "INCOMPATIBLE");
}

/// Adds a new dependency to Cargo.lock without touching the other entries.
fn update_lockfile(service_dir: &Path) {
    cargo::run(service_dir, &["update", "--workspace"]);
}
