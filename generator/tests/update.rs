//! `rampart update`, `check` and `fleet` on real git repositories: a template
//! source holding versions v1 and v2 of the real template, and services
//! generated from v1 that a team has since edited.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use rampart::check::{self, DRIFT, UP_TO_DATE, UPDATE_AVAILABLE};
use rampart::fleet;
use rampart::update::{Outcome, UpdateOptions, update};
use rampart::{Error, NewOptions, new_service_with_answers};

mod support;
use support::{append, commit_all, copy_template, git, rampart_with as rampart, read};

/// Replaces the first occurrence of `from`, which must be there.
fn edit(path: impl AsRef<Path>, from: &str, to: &str) {
    let contents = read(&path);
    assert!(
        contents.contains(from),
        "{} lacks {from:?}",
        path.as_ref().display()
    );
    fs::write(path, contents.replacen(from, to, 1)).unwrap();
}

const V1_TITLE: &str = "# {{project-name}}\n";
const V2_TITLE: &str = "# {{project-name}}, a Rampart service\n";

/// A template source repository: the real template as v1 (plus a `team`
/// answer), and v2 making every kind of change an update must handle.
struct Source {
    _dir: tempfile::TempDir,
    repo: PathBuf,
}

impl Source {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("rampart");
        copy_template(&repo);
        let t = repo.join("template");
        append(
            t.join("cargo-generate.toml"),
            "\n[placeholders.team]\ntype = \"string\"\nprompt = \"Owning team?\"\ndefault = \"platform\"\n",
        );
        append(t.join("README.md"), "\nOwned by {{team}}.\n");
        git(&repo, &["init", "--quiet"]);
        commit_all(&repo, "template v1");
        git(&repo, &["tag", "v1"]);

        // v2: a managed change, both README regions, a dropped file, an added
        // file, a seeded change, a change to a file the team deletes, the
        // `team` answer renamed to `owner_team`, and a new `audit_log`
        // answer, off for new services but on for those made before it.
        append(t.join("deny.toml"), "# v2: managed change\n");
        edit(t.join("README.md"), V1_TITLE, V2_TITLE);
        edit(
            t.join("README.md"),
            "Owned by {{team}}.",
            "Owned by {{owner_team}}.",
        );
        append(t.join("README.md"), "\nSee docs/RUNBOOK.md.\n");
        fs::remove_file(t.join(".github/CODEOWNERS")).unwrap();
        fs::create_dir_all(t.join("docs")).unwrap();
        fs::write(
            t.join("docs/RUNBOOK.md"),
            "# Runbook\n\nOwner: {{owner_team}}\n{% if audit_log %}Audit log: on.\n{% endif %}",
        )
        .unwrap();
        append(
            t.join("src/routes/orders.rs"),
            "// v2: template change to a seeded file\n",
        );
        append(
            t.join("SECURITY.md"),
            "\nv2: template change to SECURITY.md\n",
        );
        edit(
            t.join("cargo-generate.toml"),
            "[placeholders.team]",
            "[placeholders.owner_team]",
        );
        append(
            t.join("cargo-generate.toml"),
            "\n[placeholders.audit_log]\ntype = \"bool\"\nprompt = \"Audit log?\"\ndefault = false\n",
        );
        append(
            repo.join("template-update.toml"),
            "\n[[migrations]]\nid = \"v2-owner-team\"\nrename_answer = { from = \"team\", to = \"owner_team\" }\n\
             [[migrations]]\nid = \"v2-audit-log\"\nset_answer = { key = \"audit_log\", value = \"true\" }\n",
        );
        commit_all(&repo, "template v2: runbook, owner_team");
        git(&repo, &["tag", "v2"]);
        Self { _dir: dir, repo }
    }

    fn at(&self, rev: &str) -> String {
        format!("{}@{rev}", self.repo.display())
    }

    /// `rampart new orders-api` into `dir` from this source at `rev`.
    fn new_options(&self, dir: &Path, rev: &str) -> NewOptions {
        NewOptions {
            name: "orders-api".into(),
            database: None,
            path: Some(dir.to_owned()),
            git: true,
            template: Some(self.at(rev)),
        }
    }
}

/// A service generated from `source` at v1 with team `payments`, committed.
fn service(source: &Source, dir: &Path) -> PathBuf {
    let opts = source.new_options(dir, "v1");
    new_service_with_answers(&opts, &[("team".into(), "payments".into())]).unwrap();
    commit_all(dir, "generated");
    dir.to_owned()
}

/// The team's edits: a seeded handler, both README regions, a deleted file.
fn team_edits(dir: &Path, conflicting: bool) {
    append(
        dir.join("src/routes/orders.rs"),
        "// team: our own handler change\n",
    );
    edit(
        dir.join("README.md"),
        "## Run it and test it",
        "## Run it and test it (team)",
    );
    if conflicting {
        edit(
            dir.join("README.md"),
            "# orders-api\n",
            "# orders-api: the team's title\n",
        );
    }
    fs::remove_file(dir.join("SECURITY.md")).unwrap();
    commit_all(dir, "team edits");
}

fn options(dir: &Path) -> UpdateOptions {
    UpdateOptions {
        path: dir.to_owned(),
        ..UpdateOptions::default()
    }
}

fn state(dir: &Path) -> toml::Table {
    toml::from_str(&read(dir.join(".rampart.toml"))).unwrap()
}

#[test]
fn update_settles_every_file_by_its_class_and_keeps_every_team_edit() {
    let source = Source::new();
    let work = tempfile::tempdir().unwrap();
    let dir = service(&source, &work.path().join("svc"));
    team_edits(&dir, true);
    let seeded_before = read(dir.join("src/routes/orders.rs"));

    let report = update(&options(&dir)).expect("update runs");
    let outcomes: BTreeMap<&str, Outcome> = report
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.outcome))
        .collect();
    assert_eq!(
        outcomes,
        BTreeMap::from([
            (".github/CODEOWNERS", Outcome::Removed),
            ("README.md", Outcome::Conflicted),
            ("SECURITY.md", Outcome::KeptDeleted),
            ("deny.toml", Outcome::Updated),
            ("docs/RUNBOOK.md", Outcome::Added),
            ("src/routes/orders.rs", Outcome::KeptSeeded),
        ]),
        "{}",
        report.summary()
    );
    assert_eq!((report.from.as_str(), report.to.as_str()), ("v1", "v2"));
    assert_eq!(report.conflicted(), ["README.md"]);
    assert_eq!(
        report.migrations,
        [
            "v2-owner-team: answer team renamed to owner_team",
            "v2-audit-log: answer audit_log set to true"
        ]
    );
    assert!(
        report
            .changes
            .iter()
            .any(|c| c.ends_with("template v2: runbook, owner_team"))
    );

    // Managed: the template's version.
    assert!(read(dir.join("deny.toml")).ends_with("# v2: managed change\n"));
    // Merged: the team's edit far from the template's change is kept, the
    // template's appended line arrives, the title edited by both is marked
    // inline with both versions named.
    let readme = read(dir.join("README.md"));
    assert!(
        readme.contains("## Run it and test it (team)\n"),
        "{readme}"
    );
    assert!(readme.ends_with("See docs/RUNBOOK.md.\n"), "{readme}");
    assert!(readme.contains("Owned by payments.\n"), "{readme}");
    assert!(
        readme.starts_with(
            "<<<<<<< your version (template v1)\n\
             # orders-api: the team's title\n\
             =======\n\
             # orders-api, a Rampart service\n\
             >>>>>>> template v2\n"
        ),
        "{readme}"
    );
    // Seeded: the team's own, untouched.
    assert_eq!(read(dir.join("src/routes/orders.rs")), seeded_before);
    // Deleted by the team: stays deleted. Dropped by the template: gone.
    assert!(!dir.join("SECURITY.md").exists());
    assert!(!dir.join(".github/CODEOWNERS").exists());
    // Added, rendered with the renamed answer.
    assert_eq!(
        read(dir.join("docs/RUNBOOK.md")),
        "# Runbook\n\nOwner: payments\nAudit log: on.\n"
    );

    let state = state(&dir);
    assert_eq!(state["template"]["version"].as_str(), Some("v2"));
    assert_eq!(state["answers"]["owner_team"].as_str(), Some("payments"));
    assert!(state["answers"].get("team").is_none());
    assert_eq!(state["answers"]["audit_log"].as_bool(), Some(true));
    assert!(state["files"].get("docs/RUNBOOK.md").is_some());
    assert!(state["files"].get(".github/CODEOWNERS").is_none());

    // A second run is a no-op.
    commit_all(&dir, "update to v2");
    let again = update(&options(&dir)).unwrap();
    assert!(again.is_noop(), "{}", again.summary());
    assert_eq!(git(&dir, &["status", "--porcelain"]), "");
}

#[test]
fn check_tells_up_to_date_update_available_and_drift_apart() {
    let source = Source::new();
    let work = tempfile::tempdir().unwrap();
    let dir = service(&source, &work.path().join("svc"));

    let before = check::check(&dir, None).unwrap();
    assert_eq!(before.exit_code(), UPDATE_AVAILABLE, "{}", before.summary());
    assert_eq!(
        (before.version.as_str(), before.latest.as_str()),
        ("v1", "v2")
    );
    let pinned = check::check(&dir, Some(&source.at("v1"))).unwrap();
    assert_eq!(pinned.exit_code(), UP_TO_DATE, "{}", pinned.summary());

    update(&options(&dir)).unwrap();
    let after = check::check(&dir, None).unwrap();
    assert_eq!(after.exit_code(), UP_TO_DATE, "{}", after.summary());
    assert!(after.drifted.is_empty());

    // A managed file edited by hand is drift; a merged one is not.
    append(dir.join("README.md"), "team note\n");
    append(dir.join("ci/run"), "# local tweak\n");
    let drifted = check::check(&dir, None).unwrap();
    assert_eq!(drifted.exit_code(), DRIFT, "{}", drifted.summary());
    assert_eq!(drifted.drifted, ["ci/run"]);
    let json: serde_json::Value = serde_json::to_value(&drifted).unwrap();
    assert_eq!(json["status"], "drift");
    assert_eq!(json["drifted"][0], "ci/run");
}

#[test]
fn update_refuses_dirty_trees_and_downgrades_and_dry_runs_touch_nothing() {
    let source = Source::new();
    let work = tempfile::tempdir().unwrap();
    let dir = service(&source, &work.path().join("svc"));
    let state_before = read(dir.join(".rampart.toml"));

    // Dry run: the diff of what would change, and nothing written.
    let dry = update(&UpdateOptions {
        dry_run: true,
        ..options(&dir)
    })
    .unwrap();
    assert!(dry.diff.contains("+# v2: managed change"), "{}", dry.diff);
    assert!(
        dry.diff.contains("--- a/.github/CODEOWNERS\n+++ /dev/null"),
        "{}",
        dry.diff
    );
    assert_eq!(git(&dir, &["status", "--porcelain"]), "");

    // Uncommitted work: refused, nothing touched.
    append(dir.join("src/main.rs"), "// work in progress\n");
    let err = update(&options(&dir)).unwrap_err();
    assert!(matches!(err, Error::Refused(_)), "{err}");
    assert!(err.to_string().contains("uncommitted changes"), "{err}");
    assert_eq!(read(dir.join(".rampart.toml")), state_before);
    assert!(dir.join(".github/CODEOWNERS").exists());
    git(&dir, &["checkout", "--", "src/main.rs"]);

    // A recorded version the source does not hold: a clear error.
    let bogus = state_before.replace(
        &state(&dir)["template"]["commit"]
            .as_str()
            .unwrap()
            .to_owned(),
        &"0".repeat(40),
    );
    fs::write(dir.join(".rampart.toml"), &bogus).unwrap();
    let err = update(&UpdateOptions {
        allow_dirty: true,
        ..options(&dir)
    })
    .unwrap_err();
    assert!(
        err.to_string().contains("does not hold version v1"),
        "{err}"
    );
    fs::write(dir.join(".rampart.toml"), &state_before).unwrap();

    // Downgrade: refused.
    update(&options(&dir)).unwrap();
    commit_all(&dir, "update to v2");
    let err = update(&UpdateOptions {
        to: Some("v1".into()),
        ..options(&dir)
    })
    .unwrap_err();
    assert!(err.to_string().contains("does not downgrade"), "{err}");
    assert_eq!(err.exit_code(), 2);
    assert_eq!(git(&dir, &["status", "--porcelain"]), "");
}

#[test]
fn set_changes_an_answer_and_re_renders() {
    let source = Source::new();
    let work = tempfile::tempdir().unwrap();
    let dir = service(&source, &work.path().join("svc"));
    let report = update(&UpdateOptions {
        to: Some("v1".into()),
        set: vec![("database".into(), "postgres".into())],
        ..options(&dir)
    })
    .unwrap();
    assert!(
        report.files.iter().any(|f| f.path == "Cargo.toml"),
        "{}",
        report.summary()
    );
    assert!(report.conflicted().is_empty(), "{}", report.summary());
    assert!(read(dir.join("Cargo.toml")).contains("postgres"));
    assert_eq!(
        state(&dir)["answers"]["database"].as_str(),
        Some("postgres")
    );

    // What a fresh postgres service would hold, for every file the team did not touch.
    let fresh = work.path().join("fresh");
    new_service_with_answers(
        &NewOptions {
            database: Some("postgres".into()),
            git: false,
            ..source.new_options(&fresh, "v1")
        },
        &[("team".into(), "payments".into())],
    )
    .unwrap();
    for file in [
        "Cargo.toml",
        "src/platform/db.rs",
        ".github/workflows/ci.yml",
        "README.md",
    ] {
        assert_eq!(read(dir.join(file)), read(fresh.join(file)), "{file}");
    }
}

#[test]
fn file_renames_carry_the_team_edits_along() {
    let source = Source::new();
    let work = tempfile::tempdir().unwrap();
    let dir = service(&source, &work.path().join("svc"));
    update(&options(&dir)).unwrap();
    append(
        dir.join("docs/RUNBOOK.md"),
        "\nTeam: page the on-call first.\n",
    );
    commit_all(&dir, "update to v2 and edit the runbook");

    let t = source.repo.join("template");
    fs::rename(t.join("docs/RUNBOOK.md"), t.join("docs/OPERATIONS.md")).unwrap();
    edit(t.join("docs/OPERATIONS.md"), "# Runbook", "# Operations");
    append(
        source.repo.join("template-update.toml"),
        "\n[[migrations]]\nid = \"v3-runbook\"\nrename_file = { from = \"docs/RUNBOOK.md\", to = \"docs/OPERATIONS.md\" }\n",
    );
    commit_all(
        &source.repo,
        "template v3: the runbook is docs/OPERATIONS.md",
    );

    let report = update(&options(&dir)).unwrap();
    assert_eq!(report.migrations.len(), 1, "{}", report.summary());
    assert!(!dir.join("docs/RUNBOOK.md").exists());
    assert_eq!(
        read(dir.join("docs/OPERATIONS.md")),
        "# Operations\n\nOwner: payments\nAudit log: on.\n\nTeam: page the on-call first.\n"
    );
}

#[test]
fn a_fleet_of_services_updates_in_one_run_each_on_its_own_branch() {
    let source = Source::new();
    let work = tempfile::tempdir().unwrap();
    let mut services: Vec<PathBuf> = (0..20)
        .map(|i| service(&source, &work.path().join(format!("svc-{i:02}"))))
        .collect();
    team_edits(&services[3], true);
    // One service that cannot update: uncommitted work. It must not stop the others.
    let dirty = services[7].clone();
    append(dirty.join("src/main.rs"), "// work in progress\n");
    let missing = work.path().join("not-a-service");
    fs::create_dir_all(&missing).unwrap();
    services.push(missing);

    let rows = fleet::fleet(&services, &UpdateOptions::default());
    let table = fleet::table(&rows);
    assert_eq!(rows.len(), 21, "{table}");
    for (i, row) in rows.iter().enumerate() {
        let expected = match i {
            3 => "conflicted",
            7 | 20 => "failed",
            _ => "updated",
        };
        assert!(row.status.starts_with(expected), "row {i}: {table}");
        if !row.failed() {
            assert_eq!(
                (row.from.as_str(), row.to.as_str()),
                ("v1", "v2"),
                "{table}"
            );
            assert_eq!(
                row.branch.as_deref(),
                Some("rampart/template-v2"),
                "{table}"
            );
        }
    }
    assert_eq!(
        (rows[0].updated, rows[0].merged, rows[0].conflicted),
        (5, 0, 0),
        "{table}"
    );
    assert_eq!(rows[3].conflicted, 1, "{table}");
    assert!(rows[7].status.contains("uncommitted changes"), "{table}");
    assert!(rows[20].status.contains("no .rampart.toml"), "{table}");
    assert!(
        table.lines().next().unwrap().starts_with("service"),
        "{table}"
    );

    // The update is one commit on the branch; the original branch and tree are as they were.
    let svc = &services[0];
    assert_eq!(
        git(svc, &["rev-list", "--count", "HEAD..rampart/template-v2"]).trim(),
        "1"
    );
    let message = git(svc, &["log", "-1", "--format=%B", "rampart/template-v2"]);
    assert!(
        message.starts_with("Update the template from v1 to v2"),
        "{message}"
    );
    assert!(
        message.contains("template v2: runbook, owner_team"),
        "{message}"
    );
    assert!(svc.join(".github/CODEOWNERS").exists());
    assert_eq!(git(svc, &["status", "--porcelain"]), "");
    assert_eq!(
        git(&dirty, &["status", "--porcelain"]).trim(),
        "M src/main.rs"
    );
}

#[test]
fn the_cli_reports_with_distinct_exit_codes() {
    let source = Source::new();
    let work = tempfile::tempdir().unwrap();
    let dir = service(&source, &work.path().join("svc"));
    let path = dir.to_str().unwrap();
    team_edits(&dir, true);

    let (code, out) = rampart(&["check", "--path", path]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("update available: v1 -> v2"), "{out}");
    let (code, out) = rampart(&["check", "--path", path, "--format", "json"]);
    assert_eq!(code, 3, "{out}");
    let json: serde_json::Value = serde_json::from_str(&out).expect("JSON on stdout");
    assert_eq!(json["status"], "update-available");

    let (code, out) = rampart(&["update", "--path", path, "--dry-run"]);
    assert_eq!(code, 5, "{out}");
    assert!(out.contains("dry run: nothing was written"), "{out}");
    assert_eq!(git(&dir, &["status", "--porcelain"]), "");

    let (code, out) = rampart(&["update", "--path", path]);
    assert_eq!(code, 5, "{out}");
    assert!(out.contains("README.md: CONFLICT"), "{out}");
    assert!(
        out.contains("SECURITY.md: you deleted it: it stays deleted"),
        "{out}"
    );
    git(&dir, &["checkout", "--", "README.md"]);
    commit_all(&dir, "update, keeping our README");

    let (code, out) = rampart(&["update", "--path", path]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("already up to date with template v2"), "{out}");
    let (code, out) = rampart(&["check", "--path", path]);
    assert_eq!(code, 0, "{out}");

    let (code, out) = rampart(&[
        "update",
        "--path",
        path,
        "--template",
        "/nonexistent/rampart",
    ]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("no such folder, and not a git URL"), "{out}");
}

// A set_answer migration is for services made before the answer existed: a
// new service gets the placeholder's default.
#[test]
fn new_services_get_the_default_that_set_answer_overrides() {
    let source = Source::new();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("svc");
    new_service_with_answers(&source.new_options(&dir, "v2"), &[]).unwrap();
    assert_eq!(
        read(dir.join("docs/RUNBOOK.md")),
        "# Runbook\n\nOwner: platform\n"
    );
    assert_eq!(state(&dir)["answers"]["audit_log"].as_bool(), Some(false));
}

#[test]
fn a_lock_file_of_the_teams_own_survives_the_first_update_that_brings_one() {
    // v1: the template before it carried locks; v2: the template as it is.
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("rampart");
    copy_template(&repo);
    git(&repo, &["init", "--quiet"]);
    commit_all(&repo, "with locks");
    git(&repo, &["rm", "-r", "--quiet", "template/locks"]);
    commit_all(&repo, "v1: no locks yet");
    git(&repo, &["tag", "v1"]);
    git(&repo, &["revert", "--no-edit", "HEAD"]);
    git(&repo, &["tag", "v2"]);
    let new = |name: &str| NewOptions {
        name: name.into(),
        database: None,
        path: Some(dir.path().join(name)),
        git: true,
        template: Some(format!("{}@v1", repo.display())),
    };

    // A team that committed the lock its first build made keeps it whole.
    let own = dir.path().join("own");
    new_service_with_answers(&new("own"), &[]).unwrap();
    assert!(!own.join("Cargo.lock").exists());
    let ours = "# the team's own lock\nversion = 4\n";
    fs::write(own.join("Cargo.lock"), ours).unwrap();
    commit_all(&own, "our lock");
    let report = update(&options(&own)).unwrap();
    let outcome = |report: &rampart::update::Report| {
        report
            .files
            .iter()
            .find(|f| f.path == "Cargo.lock")
            .map(|f| f.outcome)
    };
    assert_eq!(
        outcome(&report),
        Some(Outcome::KeptOwnLock),
        "{}",
        report.summary()
    );
    assert!(report.conflicted().is_empty(), "{}", report.summary());
    assert_eq!(read(own.join("Cargo.lock")), ours);

    // A team without one gets the template's.
    let bare = dir.path().join("bare");
    new_service_with_answers(&new("bare"), &[]).unwrap();
    commit_all(&bare, "generated");
    let report = update(&options(&bare)).unwrap();
    assert_eq!(
        outcome(&report),
        Some(Outcome::Added),
        "{}",
        report.summary()
    );
    assert!(read(bare.join("Cargo.lock")).contains("name = \"bare\""));
}
