//! `rampart check` on real git repositories, with a template small enough
//! to render in an instant: conflicts an update left, executable bits of
//! managed files, recorded commits the source lacks, and paths that lead
//! out of the service.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use rampart::check::{self, CONFLICTS, DRIFT, UP_TO_DATE, UPDATE_AVAILABLE};
use rampart::update::{UpdateOptions, update};
use rampart::{NewOptions, new_service};

mod support;
use support::{commit_all, git, rampart_with as rampart};

fn write(path: impl AsRef<Path>, text: &str) {
    let path = path.as_ref();
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

fn chmod(path: impl AsRef<Path>, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

const CONFLICT_DOC: &str = "Conflicts look like this:\n\
    <<<<<<< your version (template v0)\nmine\n=======\ntheirs\n>>>>>>> template v1\n";

/// A template source with a managed executable `ci/run`, a managed
/// `deny.toml`, a merged README whose title v2 changes, and a doc whose own
/// text holds a conflict block.
struct Source {
    dir: tempfile::TempDir,
    repo: PathBuf,
}

impl Source {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("template-repo");
        let t = repo.join("template");
        write(t.join("cargo-generate.toml"), "[template]\n");
        write(t.join("README.md"), "# {{project-name}}\n\nOwned by us.\n");
        write(t.join("ci/run"), "#!/bin/sh\necho checked\n");
        chmod(t.join("ci/run"), 0o755);
        write(t.join("deny.toml"), "[advisories]\n");
        write(t.join("docs/CONFLICTS.md"), CONFLICT_DOC);
        write(
            repo.join("template-update.toml"),
            "[ownership]\nmanaged = [\"ci/**\", \"deny.toml\"]\n",
        );
        git(&repo, &["init", "--quiet"]);
        commit_all(&repo, "v1");
        git(&repo, &["tag", "v1"]);
        write(
            t.join("README.md"),
            "# {{project-name}}, a service\n\nOwned by us.\n",
        );
        commit_all(&repo, "v2: new title");
        git(&repo, &["tag", "v2"]);
        Self { dir, repo }
    }

    /// A service generated at `rev` into a new folder, committed.
    fn service(&self, rev: &str) -> PathBuf {
        let dir = self.dir.path().join(format!("svc-{rev}"));
        let opts = NewOptions {
            name: "orders-api".into(),
            database: None,
            path: Some(dir.clone()),
            git: true,
            template: Some(format!("{}@{rev}", self.repo.display())),
        };
        new_service(&opts).unwrap();
        commit_all(&dir, "generated");
        dir
    }
}

fn set_state(dir: &Path, edit: impl FnOnce(&mut toml::Table)) {
    let path = dir.join(".rampart.toml");
    let mut state: toml::Table = toml::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut state);
    fs::write(path, toml::to_string(&state).unwrap()).unwrap();
}

fn template_table(state: &mut toml::Table) -> &mut toml::Table {
    state["template"].as_table_mut().unwrap()
}

#[test]
fn conflict_markers_an_update_left_fail_check_until_resolved() {
    let source = Source::new();
    let dir = source.service("v1");
    write(
        dir.join("README.md"),
        "# orders-api: ours\n\nOwned by us.\n",
    );
    commit_all(&dir, "our title");
    let updated = update(&UpdateOptions {
        path: dir.clone(),
        ..UpdateOptions::default()
    })
    .unwrap();
    assert_eq!(updated.conflicted(), ["README.md"], "{}", updated.summary());
    fs::write(dir.join("deny.toml"), "# drift too\n").unwrap();

    let report = check::check(&dir, None).unwrap();
    assert_eq!(report.exit_code(), CONFLICTS, "{}", report.summary());
    assert_eq!(report.conflicted, ["README.md"]);
    assert_eq!(report.drifted, ["deny.toml"]);
    assert!(
        report
            .summary()
            .contains("  CONFLICT: README.md still holds conflict markers (resolve them"),
        "{}",
        report.summary()
    );
    assert_eq!(
        serde_json::to_value(&report).unwrap()["status"],
        "conflicts"
    );
    let (code, out) = rampart(&["check", "--path", dir.to_str().unwrap()]);
    assert_eq!(code, 5, "{out}");

    // Resolved, mentioning the markers in passing; the template's own doc
    // holds a block, as the template wrote it.
    write(
        dir.join("README.md"),
        "# orders-api: ours, a service\n\nResolve `<<<<<<< your version` blocks.\n",
    );
    git(&dir, &["checkout", "--", "deny.toml"]);
    let report = check::check(&dir, None).unwrap();
    assert_eq!(report.exit_code(), UP_TO_DATE, "{}", report.summary());
}

#[test]
fn a_template_version_left_beside_a_file_is_an_unresolved_conflict() {
    let source = Source::new();
    let dir = source.service("v1");
    write(dir.join("docs/CONFLICTS.md.rampart-template"), "theirs\n");
    let report = check::check(&dir, None).unwrap();
    assert_eq!(report.exit_code(), CONFLICTS, "{}", report.summary());
    assert_eq!(report.conflicted, ["docs/CONFLICTS.md.rampart-template"]);
    assert!(
        report.summary().contains(
            "  CONFLICT: docs/CONFLICTS.md.rampart-template is the template's version of \
             docs/CONFLICTS.md"
        ),
        "{}",
        report.summary()
    );
    fs::remove_file(dir.join("docs/CONFLICTS.md.rampart-template")).unwrap();
    let report = check::check(&dir, None).unwrap();
    assert_eq!(report.exit_code(), UPDATE_AVAILABLE, "{}", report.summary());
}

#[test]
fn a_changed_executable_bit_of_a_managed_file_is_drift() {
    let source = Source::new();
    let dir = source.service("v2");
    chmod(dir.join("ci/run"), 0o644);
    chmod(dir.join("README.md"), 0o755); // merged: the team's to choose
    let report = check::check(&dir, None).unwrap();
    assert_eq!(report.exit_code(), DRIFT, "{}", report.summary());
    assert_eq!(report.drifted, ["ci/run"]);
    assert_eq!(report.mode_drifted, ["ci/run"]);
    assert!(
        report
            .summary()
            .contains("  DRIFT: ci/run is managed by the template but its executable bit differs"),
        "{}",
        report.summary()
    );

    chmod(dir.join("ci/run"), 0o755);
    chmod(dir.join("deny.toml"), 0o755);
    let report = check::check(&dir, None).unwrap();
    assert_eq!(report.drifted, ["deny.toml"], "{}", report.summary());

    // A recorded version that cannot be rendered leaves the bits unchecked.
    set_state(&dir, |state| {
        let template = template_table(state);
        template.insert("source".into(), "builtin".into());
        template.insert("version".into(), "0.0.0-gone".into());
        template.remove("commit");
    });
    let report = check::check(&dir, None).unwrap();
    assert!(report.drifted.is_empty(), "{}", report.summary());
}

#[test]
fn a_managed_file_behind_a_symlink_is_drift_and_never_read() {
    let source = Source::new();
    let dir = source.service("v2");
    let outside = source.dir.path().join("outside");
    write(outside.join("deny.toml"), "[advisories]\n");
    write(
        outside.join("README.md"),
        CONFLICT_DOC.replace("v0", "v1").as_str(),
    );
    fs::remove_file(dir.join("deny.toml")).unwrap();
    symlink(outside.join("deny.toml"), dir.join("deny.toml")).unwrap();
    fs::remove_file(dir.join("README.md")).unwrap();
    symlink(outside.join("README.md"), dir.join("README.md")).unwrap();
    let report = check::check(&dir, None).unwrap();
    assert_eq!(report.drifted, ["deny.toml"], "{}", report.summary());
    assert!(report.conflicted.is_empty(), "{}", report.summary());
}

#[test]
fn a_recorded_commit_the_source_lacks_is_a_clear_error() {
    let source = Source::new();
    let dir = source.service("v2");
    let unknown = "0123456789abcdef0123456789abcdef01234567";
    set_state(&dir, |state| {
        template_table(state).insert("commit".into(), unknown.into());
    });
    let err = check::check(&dir, None).unwrap_err();
    assert_eq!(err.exit_code(), 2, "{err}");
    let message = err.to_string();
    assert!(
        message.contains(&format!(
            ".rampart.toml records template commit {unknown}, which {} does not have",
            source.repo.display()
        )),
        "{message}"
    );
    assert!(message.contains("pass --template"), "{message}");

    set_state(&dir, |state| {
        template_table(state).insert("commit".into(), "zzz".into());
    });
    let err = check::check(&dir, None).unwrap_err();
    assert_eq!(err.exit_code(), 2, "{err}");
    assert!(err.to_string().contains(".rampart.toml"), "{err}");
    assert!(err.to_string().contains("zzz"), "{err}");
    assert!(!err.to_string().contains("`git"), "{err}");
}

#[test]
fn a_missing_or_non_directory_path_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere");
    let (code, out) = rampart(&["check", "--path", missing.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains(&format!("{} does not exist", missing.display())),
        "{out}"
    );
    assert!(!out.contains(".rampart.toml"), "{out}");

    let file = dir.path().join("file");
    fs::write(&file, "").unwrap();
    let (code, out) = rampart(&["update", "--path", file.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains(&format!("{} is not a directory", file.display())),
        "{out}"
    );
}

#[test]
fn a_recorded_path_outside_the_service_is_refused_and_not_read() {
    let source = Source::new();
    let dir = source.service("v2");
    write(
        source.dir.path().join("secret"),
        &format!("TOPSECRET\n{}", CONFLICT_DOC.replace("v0", "v1")),
    );
    set_state(&dir, |state| {
        let files = state["files"].as_table_mut().unwrap();
        files.insert("ci/../../secret".into(), "sha256:00".into());
    });
    let (code, out) = rampart(&["check", "--path", dir.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("ci/../../secret"), "{out}");
    assert!(
        !out.contains("TOPSECRET") && !out.contains("CONFLICT"),
        "{out}"
    );
}

/// Every file that implements a security mechanism is the platform's and
/// managed, and so is every test of the platform: an edit to any of them,
/// in a service of the built-in template, is drift that `rampart check`
/// names.
#[test]
fn an_edit_to_any_security_file_is_drift() {
    let dir = tempfile::tempdir().unwrap();
    let svc = dir.path().join("svc");
    new_service(&NewOptions {
        name: "svc".into(),
        database: None,
        path: Some(svc.clone()),
        git: false,
        template: None,
    })
    .unwrap();
    let clean = check::check(&svc, None).unwrap();
    assert!(clean.drifted.is_empty(), "{}", clean.summary());
    // Named by mechanism, so a file moved out of the platform fails here.
    let mechanisms = [
        ("security headers", "src/platform/http/mod.rs"),
        ("token validation", "src/platform/auth/token.rs"),
        ("TLS and HTTP/1.1-only", "src/platform/startup.rs"),
        ("proxy trust", "src/platform/http/client.rs"),
        ("password hashing", "src/platform/auth/password.rs"),
        ("login and its jail", "src/platform/routes/auth.rs"),
        ("encryption at rest", "src/platform/encryption.rs"),
        ("XML without DOCTYPE", "src/platform/xml.rs"),
        ("body limits and extractors", "src/platform/extract.rs"),
        ("error envelope", "src/platform/error.rs"),
        ("deny by default", "src/platform/routes/mod.rs"),
        ("the headers' proof", "tests/api/platform/headers.rs"),
    ];
    // The platform's code, and the tests that prove its properties.
    let mut files: Vec<String> = [
        walk(&svc.join("src/platform")),
        walk(&svc.join("tests/api/platform")),
    ]
    .concat()
    .into_iter()
    .map(|p| p.strip_prefix(&svc).unwrap().display().to_string())
    .collect();
    files.sort();
    for (mechanism, file) in mechanisms {
        assert!(
            files.iter().any(|f| f == file),
            "{mechanism}: {file} is not under src/platform/"
        );
    }
    for file in &files {
        let path = svc.join(file);
        let original = fs::read(&path).unwrap();
        fs::write(&path, [original.as_slice(), b"\n// weakened\n"].concat()).unwrap();
        let report = check::check(&svc, None).unwrap();
        assert_eq!(report.exit_code(), DRIFT, "{file}: {}", report.summary());
        assert_eq!(report.drifted, [file.as_str()], "{}", report.summary());
        fs::write(&path, original).unwrap();
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        match path.is_dir() {
            true => found.extend(walk(&path)),
            false => found.push(path),
        }
    }
    found
}
