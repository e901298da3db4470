//! `rampart update` against what an adversarial review tried: a rename onto
//! the team's own file, policies and state files pointing outside the
//! service, non-UTF-8 and binary files, mode changes, and kill -9 midway.
//! Each runs on a small template of its own, so each is quick.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use rampart::update::{Outcome, UpdateOptions, update};
use rampart::{NewOptions, new_service};

mod support;
use support::{Entry, git, tree};

/// A template source repository whose versions are given as file lists.
struct Template {
    dir: tempfile::TempDir,
}

impl Template {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        git(dir.path(), &["init", "--quiet"]);
        Self { dir }
    }

    fn repo(&self) -> &Path {
        self.dir.path()
    }

    /// Commits `files` (path, bytes) and `policy` as version `tag`.
    fn version(&self, tag: &str, files: &[(&str, &[u8])], policy: &str) {
        let t = self.repo().join("template");
        let _ = fs::remove_dir_all(&t);
        fs::create_dir_all(&t).unwrap();
        fs::write(t.join("cargo-generate.toml"), "[template]\n").unwrap();
        for (path, bytes) in files {
            let full = t.join(path);
            fs::create_dir_all(full.parent().unwrap()).unwrap();
            fs::write(full, bytes).unwrap();
        }
        fs::write(self.repo().join("template-update.toml"), policy).unwrap();
        git(self.repo(), &["add", "--all"]);
        git(
            self.repo(),
            &["commit", "--quiet", "--allow-empty", "-m", tag],
        );
        git(self.repo(), &["tag", tag]);
    }

    /// A service generated at `v1`, under a folder of its own in `work`.
    fn service(&self, work: &Path) -> PathBuf {
        let dir = work.join("svc");
        new_service(&NewOptions {
            name: "svc".into(),
            database: None,
            path: Some(dir.clone()),
            git: false,
            template: Some(format!("{}@v1", self.repo().display())),
        })
        .unwrap();
        dir
    }
}

fn to(dir: &Path, version: &str) -> UpdateOptions {
    UpdateOptions {
        path: dir.to_owned(),
        to: Some(version.into()),
        allow_dirty: true,
        ..UpdateOptions::default()
    }
}

fn executable(path: &Path) -> bool {
    fs::metadata(path).unwrap().permissions().mode() & 0o111 != 0
}

// A rename migration onto a path where the team has a file of its own:
// the team's file and the file it renamed from stay as they are, and the
// template's version goes beside it, listed as a conflict (also in a dry run).
#[test]
fn a_rename_never_overwrites_the_teams_own_file() {
    let template = Template::new();
    template.version("v1", &[("docs/renameme.md", b"template doc\n")], "");
    let rename = "[[migrations]]\nid = \"r\"\n\
                  rename_file = { from = \"docs/renameme.md\", to = \"docs/renamed.md\" }\n";
    template.version("v2", &[("docs/renamed.md", b"template doc\n")], rename);
    let work = tempfile::tempdir().unwrap();
    let dir = template.service(work.path());
    fs::write(dir.join("docs/renamed.md"), "the team's own page\n").unwrap();

    let dry = update(&UpdateOptions {
        dry_run: true,
        ..to(&dir, "v2")
    })
    .unwrap();
    assert_eq!(dry.conflicted(), ["docs/renamed.md"], "{}", dry.summary());
    assert!(
        dry.diff.contains("docs/renamed.md.rampart-template"),
        "{}",
        dry.diff
    );
    let report = update(&to(&dir, "v2")).unwrap();
    assert_eq!(report.conflicted(), ["docs/renamed.md"]);
    assert!(
        report
            .summary()
            .contains("docs/renamed.md.rampart-template")
    );
    assert_eq!(
        fs::read_to_string(dir.join("docs/renamed.md")).unwrap(),
        "the team's own page\n"
    );
    assert_eq!(
        fs::read_to_string(dir.join("docs/renameme.md")).unwrap(),
        "template doc\n"
    );
    assert_eq!(
        fs::read_to_string(dir.join("docs/renamed.md.rampart-template")).unwrap(),
        "template doc\n"
    );
}

// Paths in a template's policy are confined to the service: a rename out of
// it, to an absolute path or into .git is refused (exit 2, naming the file
// and line) before anything is written, and the victim beside it survives.
#[test]
fn a_hostile_policy_is_refused_and_touches_nothing() {
    for target in [
        "../outside-victim.md",
        "/tmp/rampart-anywhere.md",
        ".git/hooks/pre-commit",
    ] {
        let template = Template::new();
        template.version("v1", &[("a.md", b"a\n")], "");
        let policy = format!(
            "# hostile\n[[migrations]]\nid = \"r\"\nrename_file = {{ from = \"a.md\", to = \"{target}\" }}\n"
        );
        template.version("v2", &[("a.md", b"a\n")], &policy);
        let work = tempfile::tempdir().unwrap();
        let dir = template.service(work.path());
        fs::write(work.path().join("outside-victim.md"), "keep me\n").unwrap();
        let before = tree(work.path());
        let err = update(&to(&dir, "v2")).unwrap_err();
        assert_eq!(err.exit_code(), 2, "{err}");
        let message = err.to_string();
        assert!(message.contains("template-update.toml line 4"), "{message}");
        assert!(message.contains(target), "{message}");
        assert_eq!(tree(work.path()), before, "{target}");
    }
}

// A state file is anyone's to edit: a name `rampart new` would refuse and
// paths leaving the service are refused with the line, exit 2, and nothing
// is written.
#[test]
fn a_hostile_state_file_is_refused_and_touches_nothing() {
    let template = Template::new();
    template.version(
        "v1",
        &[("ci/run", b"#!/bin/sh\necho {{project-name}}\n")],
        "",
    );
    template.version(
        "v2",
        &[("ci/run", b"#!/bin/sh\necho {{project-name}}!\n")],
        "",
    );
    for (from, to_text) in [
        ("project-name = \"svc\"", "project-name = \"../../etc\""),
        ("\"ci/run\" = ", "\"ci/../../../../etc/shadow\" = "),
        ("[template]", "managed = [\"/etc/passwd\"]\n\n[template]"),
    ] {
        let work = tempfile::tempdir().unwrap();
        let dir = template.service(work.path());
        let state = dir.join(".rampart.toml");
        let text = fs::read_to_string(&state).unwrap();
        assert!(text.contains(from), "{text}");
        fs::write(&state, text.replacen(from, to_text, 1)).unwrap();
        let before = tree(work.path());
        let err = update(&to(&dir, "v2")).unwrap_err();
        assert_eq!(err.exit_code(), 2, "{err}");
        assert!(err.to_string().contains(".rampart.toml line "), "{err}");
        assert_eq!(tree(work.path()), before, "{to_text}");
    }
}

// A file with a Latin-1 byte still takes the template's change, merged as
// bytes, every byte of the team's kept; a binary file the team and the
// template both changed keeps the team's bytes and gets the template's
// beside it, reported as a conflict.
#[test]
fn non_utf8_files_merge_as_bytes_and_binary_ones_go_beside() {
    let template = Template::new();
    let v1: &[(&str, &[u8])] = &[("README.md", b"# svc\n\nabout\n"), ("logo.bin", b"\0v1\0")];
    template.version("v1", v1, "");
    let v2: &[(&str, &[u8])] = &[
        ("README.md", b"# svc\n\nabout\n\nnew section\n"),
        ("logo.bin", b"\0v2\0"),
    ];
    template.version("v2", v2, "");
    let work = tempfile::tempdir().unwrap();
    let dir = template.service(work.path());
    fs::write(dir.join("README.md"), b"# svc, caf\xe9\n\nabout\n").unwrap();
    fs::write(dir.join("logo.bin"), b"\0team\0").unwrap();
    let report = update(&to(&dir, "v2")).unwrap();
    assert_eq!(
        fs::read(dir.join("README.md")).unwrap(),
        b"# svc, caf\xe9\n\nabout\n\nnew section\n"
    );
    assert_eq!(report.conflicted(), ["logo.bin"], "{}", report.summary());
    assert_eq!(fs::read(dir.join("logo.bin")).unwrap(), b"\0team\0");
    assert_eq!(
        fs::read(dir.join("logo.bin.rampart-template")).unwrap(),
        b"\0v2\0"
    );
}

// Modes merge like contents: the team's chmod +x on its file survives a
// template change to it; a managed file gets the template's mode back.
#[test]
fn the_teams_executable_bit_is_kept_and_managed_modes_restored() {
    let template = Template::new();
    let policy = "[ownership]\nmanaged = [\"ci/**\"]\n";
    let v1: &[(&str, &[u8])] = &[("tools/lint", b"echo lint\n"), ("ci/run", b"echo ci\n")];
    template.version("v1", v1, policy);
    let v2: &[(&str, &[u8])] = &[
        ("tools/lint", b"echo lint\necho more\n"),
        ("ci/run", b"echo ci\n"),
    ];
    template.version("v2", v2, policy);
    let work = tempfile::tempdir().unwrap();
    let dir = template.service(work.path());
    for path in ["tools/lint", "ci/run"] {
        fs::set_permissions(dir.join(path), fs::Permissions::from_mode(0o755)).unwrap();
    }
    let report = update(&to(&dir, "v2")).unwrap();
    assert_eq!(
        fs::read_to_string(dir.join("tools/lint")).unwrap(),
        "echo lint\necho more\n"
    );
    assert!(executable(&dir.join("tools/lint")));
    assert!(!executable(&dir.join("ci/run")), "{}", report.summary());
    let ci = report.files.iter().find(|f| f.path == "ci/run").unwrap();
    assert_eq!(ci.outcome, Outcome::Replaced);
}

/// Many files, each changed by both sides, so an update has much to write.
fn busy_template() -> Template {
    let template = Template::new();
    let files = |marker: &str| -> Vec<(String, Vec<u8>)> {
        (0..300)
            .map(|n| {
                let text = format!("line one {n}\nline two\nline three {marker}\n");
                (format!("src/f{n:03}.txt"), text.into_bytes())
            })
            .collect()
    };
    for (tag, marker) in [("v1", "v1"), ("v2", "v2")] {
        let owned = files(marker);
        let list: Vec<(&str, &[u8])> = owned
            .iter()
            .map(|(p, b)| (p.as_str(), b.as_slice()))
            .collect();
        template.version(tag, &list, "");
    }
    template
}

// kill -9 at any moment of an update: running it again gives exactly the
// tree an uninterrupted update gives, never nested conflict markers.
#[test]
fn an_update_killed_midway_finishes_when_run_again() {
    let template = busy_template();
    let work = tempfile::tempdir().unwrap();
    let pristine = template.service(work.path());
    for n in 0..300 {
        let path = pristine.join(format!("src/f{n:03}.txt"));
        let team = fs::read_to_string(&path)
            .unwrap()
            .replace("line one", "team line one");
        fs::write(path, team).unwrap();
    }
    let copy = |name: &str| {
        let dir = work.path().join(name);
        let status = Command::new("cp")
            .arg("-a")
            .arg(&pristine)
            .arg(&dir)
            .status()
            .unwrap();
        assert!(status.success());
        dir
    };
    let reference = copy("reference");
    update(&to(&reference, "v2")).unwrap();
    let expected = tree(&reference);
    assert!(matches!(
        expected.get("src/f000.txt"),
        Some(Entry::File { .. })
    ));
    let run = |dir: &Path| {
        support::rampart()
            .args(["update", "--allow-dirty", "--to", "v2", "--path"])
            .arg(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    // Kills spread over the time a whole run takes, most in its later half,
    // where it writes.
    let started = std::time::Instant::now();
    assert!(run(&copy("timed")).wait().unwrap().success());
    let whole = started.elapsed();
    let mut interrupted = 0;
    for (round, share) in [0.1, 0.3, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95]
        .into_iter()
        .enumerate()
    {
        let dir = copy(&format!("killed-{round}"));
        let mut child = run(&dir);
        std::thread::sleep(whole.mul_f64(share));
        child.kill().unwrap();
        child.wait().unwrap();
        if dir.join(".rampart-undo").exists() {
            interrupted += 1; // killed while it was writing
        }
        update(&to(&dir, "v2")).unwrap();
        let got = tree(&dir);
        let differ: Vec<&String> = got
            .keys()
            .chain(expected.keys())
            .filter(|k| got.get(*k) != expected.get(*k))
            .collect();
        assert_eq!(got, expected, "killed at {share} of a run: {differ:?}");
    }
    assert!(
        interrupted > 0,
        "no kill landed while an update was writing"
    );
}
