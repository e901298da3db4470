//! End-to-end tests of the `rampart` binary.

mod support;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use support::{Entry, rampart, run, tree};

/// Generates `name` into `parent/name`, asserting success; returns stdout.
fn generate(parent: &Path, name: &str, extra: &[&str]) -> String {
    let target = parent.join(name);
    let (output, stdout, stderr) = run(rampart()
        .args(["new", name, "--path"])
        .arg(&target)
        .args(extra));
    assert!(output.status.success(), "rampart new failed:\n{stderr}");
    stdout
}

fn env_key(service: &Path) -> String {
    let env = fs::read_to_string(service.join(".env")).expect(".env exists");
    let key = env
        .lines()
        .find_map(|line| line.strip_prefix("APP_JWT_SECRET="))
        .expect("APP_JWT_SECRET line");
    assert!(
        env.lines()
            .any(|l| l.starts_with('#') && l.contains("never commit")),
        "{env}"
    );
    key.to_owned()
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn help_describes_new_and_its_options() {
    let (output, stdout, _) = run(rampart().arg("--help"));
    assert!(output.status.success());
    assert!(stdout.contains("new"), "{stdout}");
    assert!(stdout.contains("Scaffold"), "{stdout}");

    let (output, stdout, _) = run(rampart().args(["new", "--help"]));
    assert!(output.status.success());
    for needle in [
        "<NAME>",
        "--database",
        "--path",
        "--no-git",
        "--set",
        "sqlite",
        "postgres",
        "Examples:",
    ] {
        assert!(
            stdout.contains(needle),
            "`new --help` lacks {needle}:\n{stdout}"
        );
    }
}

#[test]
fn bad_name_is_rejected_with_a_suggestion_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let (output, _, stderr) = run(rampart().current_dir(dir.path()).args(["new", "My_Api"]));
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains("kebab-case"), "{stderr}");
    assert!(stderr.contains("my-api"), "{stderr}");
    assert!(tree(dir.path()).is_empty());
}

#[test]
fn bad_database_is_rejected_listing_choices_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let (output, _, stderr) =
        run(rampart()
            .current_dir(dir.path())
            .args(["new", "good-api", "--database", "mysql"]));
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("mysql"), "{stderr}");
    assert!(stderr.contains("sqlite, postgres"), "{stderr}");
    assert!(tree(dir.path()).is_empty());
}

#[test]
fn unknown_setting_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let (output, _, stderr) =
        run(rampart()
            .current_dir(dir.path())
            .args(["new", "good-api", "--set", "colour=red"]));
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("colour") && stderr.contains("database"),
        "{stderr}"
    );
    assert!(tree(dir.path()).is_empty());
}

#[test]
fn non_empty_target_is_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("taken");
    fs::create_dir_all(target.join("sub")).unwrap();
    fs::write(target.join("notes.txt"), "mine\n").unwrap();
    fs::write(target.join("sub/data.bin"), [0u8, 1, 2, 255]).unwrap();
    let before = tree(dir.path());

    let (output, _, stderr) = run(rampart()
        .args(["new", "taken", "--no-git", "--path"])
        .arg(&target));
    assert!(!output.status.success());
    assert!(stderr.contains("not empty"), "{stderr}");
    // Same bytes, and no staging directory left next to it.
    assert_eq!(tree(dir.path()), before);
}

#[test]
fn creates_the_service_with_secret_and_state() {
    let dir = tempfile::tempdir().unwrap();
    let stdout = generate(dir.path(), "demo-api", &["--no-git"]);
    let service = dir.path().join("demo-api");

    assert!(service.join("Cargo.toml").is_file());
    assert!(!service.join("cargo-generate.toml").exists());
    assert!(
        !service.join(".git").exists(),
        "--no-git must not create .git"
    );
    // Nothing but the service in the parent: the staging directory was renamed.
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);

    let key = URL_SAFE_NO_PAD
        .decode(env_key(&service))
        .expect("base64url key");
    assert_eq!(key.len(), 48);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(service.join(".env"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, ".env mode is {mode:o}");
    }

    let state: toml::Table =
        toml::from_str(&fs::read_to_string(service.join(".rampart.toml")).unwrap())
            .expect(".rampart.toml parses");
    assert_eq!(state["template"]["source"].as_str(), Some("builtin"));
    assert_eq!(
        state["template"]["version"].as_str(),
        Some(env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(state["answers"]["project-name"].as_str(), Some("demo-api"));
    assert_eq!(state["answers"]["database"].as_str(), Some("sqlite"));

    let recorded: BTreeMap<String, String> = state["files"]
        .as_table()
        .expect("[files] table")
        .iter()
        .map(|(path, hash)| (path.clone(), hash.as_str().expect("hash string").to_owned()))
        .collect();
    let on_disk: BTreeMap<String, String> = tree(&service)
        .into_iter()
        .filter(|(path, _)| path != ".env" && path != ".rampart.toml")
        .filter_map(|(path, entry)| match entry {
            Entry::File { contents, .. } => {
                Some((path, format!("sha256:{}", hex_sha256(&contents))))
            }
            Entry::Dir => None,
        })
        .collect();
    assert_eq!(
        recorded, on_disk,
        "[files] must list every file with its hash"
    );
    let secrets = fs::read_to_string(service.join(".rampart.toml")).unwrap();
    assert!(
        !secrets.contains(&env_key(&service)),
        "state must not hold the secret"
    );

    assert!(stdout.contains("cd "), "{stdout}");
    assert!(stdout.contains("cargo run"), "{stdout}");
    assert!(stdout.contains("http://127.0.0.1:8080"), "{stdout}");
    assert!(stdout.contains("SQLite"), "{stdout}");
    assert!(stdout.contains("cargo test"), "{stdout}");
}

#[test]
fn postgres_service_records_its_answer_and_explains_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let stdout = generate(
        dir.path(),
        "pg-api",
        &["--no-git", "--database", "postgres"],
    );
    let state: toml::Table =
        toml::from_str(&fs::read_to_string(dir.path().join("pg-api/.rampart.toml")).unwrap())
            .unwrap();
    assert_eq!(state["answers"]["database"].as_str(), Some("postgres"));
    assert!(stdout.contains("APP_DATABASE_URL"), "{stdout}");
    assert!(stdout.contains("127.0.0.1:5432"), "{stdout}");
}

#[test]
fn each_service_gets_its_own_key() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), "one-api", &["--no-git"]);
    generate(dir.path(), "two-api", &["--no-git"]);
    assert_ne!(
        env_key(&dir.path().join("one-api")),
        env_key(&dir.path().join("two-api"))
    );
}

#[test]
fn default_path_is_the_name_in_the_current_directory() {
    let dir = tempfile::tempdir().unwrap();
    let (output, _, stderr) = run(rampart()
        .current_dir(dir.path())
        .args(["new", "here-api", "--no-git"]));
    assert!(output.status.success(), "{stderr}");
    assert!(dir.path().join("here-api/Cargo.toml").is_file());
}

#[test]
fn git_repository_is_initialized_and_ignores_env() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), "git-api", &[]);
    let service = dir.path().join("git-api");
    assert!(service.join(".git").is_dir(), "default run must git init");

    let ignored = Command::new("git")
        .args(["check-ignore", "-q", ".env"])
        .current_dir(&service)
        .status()
        .expect("git runs");
    assert!(
        ignored.success(),
        "the template's .gitignore must ignore .env"
    );
    let tracked_state = Command::new("git")
        .args(["check-ignore", "-q", ".rampart.toml"])
        .current_dir(&service)
        .status()
        .expect("git runs");
    assert!(
        !tracked_state.success(),
        ".rampart.toml must not be git-ignored"
    );
}

#[test]
fn missing_git_only_warns() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("nogit-api");
    let (output, _, stderr) = run(rampart()
        .env("PATH", "")
        .args(["new", "nogit-api", "--path"])
        .arg(&target));
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning:") && stderr.contains("git"),
        "{stderr}"
    );
    assert!(target.join("Cargo.toml").is_file());
    assert!(!target.join(".git").exists());
}
