//! `rampart new` must write the same files, byte for byte, as stock
//! `cargo generate` does from the same template, for every database choice.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use support::{Entry, rampart, run, tree};

/// Files only rampart writes.
const RAMPART_ONLY: &[&str] = &[".env", ".rampart.toml", "Cargo.lock"];

/// A plain name and one with digits, which case conversions could split.
const NAMES: &[&str] = &["parity-svc", "svc2-api9"];

fn template_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../template")
        .canonicalize()
        .expect("template directory exists")
}

/// Database choices as declared by the template, so new ones are covered.
fn database_choices() -> Vec<String> {
    let config = std::fs::read_to_string(template_dir().join("cargo-generate.toml")).unwrap();
    let config: toml::Table = toml::from_str(&config).unwrap();
    config["placeholders"]["database"]["choices"]
        .as_array()
        .expect("database choices")
        .iter()
        .map(|c| c.as_str().expect("string choice").to_owned())
        .collect()
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

fn require_cargo_generate() {
    let found = cargo().args(["generate", "--version"]).output();
    let version = match found {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
        _ => panic!(
            "`cargo generate` is not installed; the parity test needs it: \
             run `cargo install --locked cargo-generate@^0.23`"
        ),
    };
    assert!(
        version.contains(" 0.23."),
        "parity is defined against cargo-generate 0.23, found {version}; \
         run `cargo install --locked cargo-generate@^0.23`"
    );
}

/// cargo-generate adds the project to any enclosing workspace: stay outside one.
fn outside_cargo_projects() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    if let Some(enclosing) = dir
        .path()
        .ancestors()
        .find(|a| a.join("Cargo.toml").exists())
    {
        panic!(
            "temp dir {} is inside the cargo project {}",
            dir.path().display(),
            enclosing.display()
        );
    }
    dir
}

fn cargo_generate(name: &str, database: &str, destination: &Path) -> PathBuf {
    let (output, stdout, stderr) = run(cargo()
        .arg("generate")
        .arg("--path")
        .arg(template_dir())
        .args(["--name", name, "--silent", "-d"])
        .arg(format!("database={database}"))
        .args(["--vcs", "none", "--destination"])
        .arg(destination)
        .current_dir(destination));
    assert!(
        output.status.success(),
        "cargo generate failed:\n{stdout}\n{stderr}"
    );
    destination.join(name)
}

fn rampart_new(name: &str, database: &str, parent: &Path) -> PathBuf {
    let target = parent.join(name);
    let (output, _, stderr) = run(rampart()
        .args(["new", name, "--database", database, "--no-git", "--path"])
        .arg(&target)
        .current_dir(parent));
    assert!(output.status.success(), "rampart new failed:\n{stderr}");
    target
}

/// Human-readable list of every difference between the two trees.
fn differences(
    expected: &BTreeMap<String, Entry>,
    actual: &BTreeMap<String, Entry>,
) -> Vec<String> {
    let mut found = Vec::new();
    for (path, want) in expected {
        match actual.get(path) {
            None => found.push(format!("{path}: missing from rampart's output")),
            Some(got) if got == want => {}
            Some(got) => found.push(describe(path, want, got)),
        }
    }
    for path in actual.keys().filter(|p| !expected.contains_key(*p)) {
        found.push(format!("{path}: written by rampart only"));
    }
    found
}

fn describe(path: &str, want: &Entry, got: &Entry) -> String {
    match (want, got) {
        (
            Entry::File {
                contents: a,
                executable: ax,
            },
            Entry::File {
                contents: b,
                executable: bx,
            },
        ) if a == b => {
            format!("{path}: executable bit differs (cargo-generate {ax}, rampart {bx})")
        }
        (Entry::File { contents: a, .. }, Entry::File { contents: b, .. }) => {
            let (a, b) = (String::from_utf8_lossy(a), String::from_utf8_lossy(b));
            let line = a.lines().zip(b.lines()).position(|(x, y)| x != y);
            match line {
                Some(i) => format!(
                    "{path}: line {} differs\n  cargo-generate: {:?}\n  rampart:        {:?}",
                    i + 1,
                    a.lines().nth(i).unwrap_or_default(),
                    b.lines().nth(i).unwrap_or_default()
                ),
                None => format!(
                    "{path}: contents differ in length or line endings ({} vs {} bytes)",
                    a.len(),
                    b.len()
                ),
            }
        }
        _ => format!("{path}: a file in one tree and a directory in the other"),
    }
}

#[test]
fn rampart_matches_cargo_generate_for_every_choice() {
    require_cargo_generate();
    let choices = database_choices();
    assert!(!choices.is_empty());

    for database in &choices {
        for name in NAMES {
            let generated = outside_cargo_projects();
            let expected = tree(&cargo_generate(name, database, generated.path()));

            let ours = outside_cargo_projects();
            let mut actual = tree(&rampart_new(name, database, ours.path()));
            for only in RAMPART_ONLY {
                assert!(actual.remove(*only).is_some(), "rampart must write {only}");
            }

            assert!(
                expected.contains_key("Cargo.toml"),
                "cargo-generate wrote no Cargo.toml"
            );
            let diffs = differences(&expected, &actual);
            assert!(
                diffs.is_empty(),
                "rampart and cargo-generate disagree for name={name} database={database}:\n{}",
                diffs.join("\n")
            );
        }
    }
}
