//! `rampart fleet` on real git repositories: services in repositories of
//! their own and together in one, re-runs, interrupted runs and `--verify`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use rampart::fleet::{self, Row};
use rampart::update::UpdateOptions;
use rampart::{NewOptions, new_service_with_answers};

mod support;
use support::{append, commit_all, copy_template, git, rampart_with as rampart, read};

fn rev(dir: &Path, rev: &str) -> String {
    git(dir, &["rev-parse", rev]).trim().to_owned()
}

fn head(dir: &Path) -> String {
    git(dir, &["symbolic-ref", "--short", "HEAD"])
        .trim()
        .to_owned()
}

/// A template source: this workspace's template as v1, and v2 changing a
/// managed file and adding `docs/V2.md`.
struct Source {
    _dir: tempfile::TempDir,
    repo: PathBuf,
}

impl Source {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("rampart");
        copy_template(&repo);
        git(&repo, &["init", "--quiet"]);
        commit_all(&repo, "template v1");
        git(&repo, &["tag", "v1"]);
        let t = repo.join("template");
        append(t.join("deny.toml"), "# v2: managed change\n");
        fs::create_dir_all(t.join("docs")).unwrap();
        fs::write(t.join("docs/V2.md"), "# {{project-name}} on v2\n").unwrap();
        commit_all(&repo, "template v2");
        git(&repo, &["tag", "v2"]);
        Self { _dir: dir, repo }
    }

    /// `rampart new NAME` into `dir` from this source at `rev`.
    fn generate(&self, name: &str, dir: &Path, rev: &str, git: bool) {
        let opts = NewOptions {
            name: name.into(),
            database: None,
            path: Some(dir.to_owned()),
            git,
            template: Some(format!("{}@{rev}", self.repo.display())),
        };
        new_service_with_answers(&opts, &[]).unwrap();
    }
}

/// A service at `rev` in a repository of its own, committed.
fn service(source: &Source, dir: &Path, rev: &str) -> PathBuf {
    source.generate("orders-api", dir, rev, true);
    commit_all(dir, "generated");
    dir.to_owned()
}

/// One repository holding services/alpha, services/beta and NOTES.md, committed.
fn monorepo(source: &Source, root: &Path) -> [PathBuf; 2] {
    let services = ["alpha", "beta"].map(|name| {
        let dir = root.join("services").join(name);
        source.generate(name, &dir, "v1", false);
        dir
    });
    fs::write(root.join("NOTES.md"), "# Notes\n").unwrap();
    git(root, &["init", "--quiet"]);
    commit_all(root, "two services");
    services
}

fn run_fleet(services: &[PathBuf]) -> (Vec<Row>, String) {
    let rows = fleet::fleet(services, &UpdateOptions::default());
    let table = fleet::table(&rows);
    (rows, table)
}

#[test]
fn uncommitted_work_anywhere_in_the_repository_stops_its_services_and_stays() {
    let source = Source::new();
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("mono");
    let services = monorepo(&source, &root);
    append(root.join("NOTES.md"), "uncommitted thoughts\n");
    fs::write(root.join("scratch.txt"), "untracked\n").unwrap();

    let (rows, table) = run_fleet(&services);
    for row in &rows {
        assert!(row.failed(), "{table}");
        assert!(row.status.contains("NOTES.md"), "{table}");
        assert!(row.status.contains("scratch.txt"), "{table}");
        assert!(row.status.contains("commit or stash"), "{table}");
        assert!(!row.status.contains("--allow-dirty"), "{table}");
    }
    assert_eq!(
        read(root.join("NOTES.md")),
        "# Notes\nuncommitted thoughts\n"
    );
    assert!(root.join("scratch.txt").exists());
    assert_eq!(git(&root, &["branch", "--list", "rampart/*"]), "");
}

#[test]
fn services_sharing_a_repository_each_get_a_branch_of_their_own_files() {
    let source = Source::new();
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("mono");
    let services = monorepo(&source, &root);
    let branch_before = head(&root);

    let (rows, table) = run_fleet(&services);
    for (row, name) in rows.iter().zip(["alpha", "beta"]) {
        assert_eq!(row.status, "updated", "{table}");
        let branch = format!("rampart/template-v2-services-{name}");
        assert_eq!(row.branch.as_deref(), Some(branch.as_str()), "{table}");
        let changed = git(&root, &["diff", "--name-only", "HEAD", &branch]);
        assert!(changed.contains("docs/V2.md"), "{changed}");
        let own = format!("services/{name}/");
        assert!(changed.lines().all(|p| p.starts_with(&own)), "{changed}");
    }
    assert_eq!(head(&root), branch_before);
    assert_eq!(git(&root, &["status", "--porcelain"]), "");
}

#[test]
fn a_re_run_reports_a_proposed_branch_and_moves_a_stale_one() {
    let source = Source::new();
    let work = tempfile::tempdir().unwrap();
    let dir = service(&source, &work.path().join("svc"), "v1");
    let branch = "rampart/template-v2";
    let (rows, table) = run_fleet(std::slice::from_ref(&dir));
    assert_eq!(rows[0].status, "updated", "{table}");
    let first = rev(&dir, branch);

    // Nothing changed since: the branch already holds this run's result.
    let (rows, table) = run_fleet(std::slice::from_ref(&dir));
    assert_eq!(rows[0].status, "already proposed", "{table}");
    assert_eq!(rows[0].branch.as_deref(), Some(branch), "{table}");
    assert_eq!(rev(&dir, branch), first);

    // The current branch moved on: the branch is rebuilt on top of it.
    fs::write(dir.join("NOTES.md"), "team notes\n").unwrap();
    commit_all(&dir, "notes");
    let (rows, table) = run_fleet(std::slice::from_ref(&dir));
    assert_eq!(rows[0].status, "updated", "{table}");
    assert_eq!(rev(&dir, &format!("{branch}^")), rev(&dir, "HEAD"));
    assert_eq!(
        git(&dir, &["show", &format!("{branch}:NOTES.md")]),
        "team notes\n"
    );
    assert_eq!(git(&dir, &["status", "--porcelain"]), "");
}

#[test]
fn a_branch_holding_someone_elses_commits_is_left_alone() {
    let source = Source::new();
    let work = tempfile::tempdir().unwrap();
    let dir = service(&source, &work.path().join("svc"), "v1");
    let branch = "rampart/template-v2";
    let main = head(&dir);
    run_fleet(std::slice::from_ref(&dir));
    let proposed = rev(&dir, branch);

    // A commit on top, then an amended update: neither is rampart's alone.
    let edits: [&[&str]; 2] = [
        &["commit", "--quiet", "-am", "resolve conflicts"],
        &["commit", "--quiet", "-a", "--amend", "--no-edit"],
    ];
    for edit in edits {
        git(&dir, &["checkout", "--quiet", branch]);
        git(&dir, &["reset", "--quiet", "--hard", &proposed]);
        append(dir.join("docs/V2.md"), "Reviewed.\n");
        git(&dir, edit);
        git(&dir, &["checkout", "--quiet", &main]);
        let theirs = rev(&dir, branch);

        let (rows, table) = run_fleet(std::slice::from_ref(&dir));
        assert!(rows[0].failed(), "{table}");
        assert!(
            rows[0].status.contains(&format!(
                "branch {branch} has commits of its own: merge or delete it"
            )),
            "{table}"
        );
        assert_eq!(rev(&dir, branch), theirs);
        assert_eq!(head(&dir), main);
        assert_eq!(git(&dir, &["status", "--porcelain"]), "");
    }
}

#[test]
fn an_interrupted_run_is_refused_with_what_to_do_in_one_table_line() {
    let source = Source::new();
    let work = tempfile::tempdir().unwrap();
    let dir = service(&source, &work.path().join("svc"), "v1");
    // What a killed update leaves: files changed, staged and new.
    append(dir.join("deny.toml"), "# half written\n");
    fs::write(dir.join("staged.md"), "staged\n").unwrap();
    git(&dir, &["add", "staged.md"]);
    fs::write(dir.join("new.md"), "new\n").unwrap();

    let (rows, table) = run_fleet(std::slice::from_ref(&dir));
    assert!(rows[0].failed(), "{table}");
    assert_eq!(table.lines().count(), 2, "{table}");
    let status = &rows[0].status;
    assert!(status.contains("interrupted"), "{status}");
    assert!(
        status.contains(&format!("git -C {} status", dir.display())),
        "{status}"
    );
    assert!(!status.contains("--allow-dirty"), "{status}");
    // The command it gives discards exactly the interrupted update.
    let discard = status
        .split("discard them with `")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .unwrap_or_else(|| panic!("no discard command: {status}"));
    let out = Command::new("sh").args(["-c", discard]).output().unwrap();
    assert!(out.status.success(), "{discard}: {out:?}");
    assert_eq!(git(&dir, &["status", "--porcelain"]), "");

    let (rows, table) = run_fleet(std::slice::from_ref(&dir));
    assert_eq!(rows[0].status, "updated", "{table}");

    // Killed during --verify: the repository is left on rampart's branch.
    git(&dir, &["checkout", "--quiet", "rampart/template-v2"]);
    let (rows, table) = run_fleet(std::slice::from_ref(&dir));
    assert!(rows[0].failed(), "{table}");
    assert!(rows[0].status.contains("switch back"), "{table}");
}

#[test]
fn verify_runs_on_each_new_branch_and_marks_it() {
    let source = Source::new();
    let work = tempfile::tempdir().unwrap();
    let passes = service(&source, &work.path().join("passes"), "v1");
    fs::write(passes.join("marker"), "").unwrap();
    commit_all(&passes, "marker");
    let fails = service(&source, &work.path().join("fails"), "v1");
    let current = service(&source, &work.path().join("current"), "v2");
    let logs = work.path().join("logs");
    let paths = [&passes, &fails, &current].map(|p| p.to_str().unwrap().to_owned());

    let (code, out) = rampart(&[
        "fleet",
        "--verify",
        "test -f docs/V2.md && echo on the branch && test -f marker",
        "--logs",
        logs.to_str().unwrap(),
        &paths[0],
        &paths[1],
        &paths[2],
    ]);
    assert_eq!(code, 1, "{out}");
    let line = |dir: &str| {
        out.lines()
            .find(|l| l.starts_with(&format!("{dir} ")))
            .unwrap_or_else(|| panic!("no row for {dir}: {out}"))
            .to_owned()
    };
    assert!(line(&paths[0]).ends_with(", verified"), "{out}");
    let fails_log = logs.join("fails.log");
    assert!(
        line(&paths[1]).ends_with(&format!(", verify failed (log: {})", fails_log.display())),
        "{out}"
    );
    assert!(line(&paths[2]).ends_with("up to date"), "{out}");
    assert_eq!(read(logs.join("passes.log")), "on the branch\n");
    assert_eq!(read(&fails_log), "on the branch\n");
    assert!(!logs.join("current.log").exists());
    for dir in [&passes, &fails] {
        assert_eq!(head(dir), head(&current));
        assert_eq!(git(dir, &["status", "--porcelain"]), "");
    }
}

// An update killed midway leaves its undo journal (as `update` writes it:
// the saved copy of each file it was about to touch): fleet rolls it back
// and updates the service as if nothing had happened.
#[test]
fn an_update_killed_midway_is_rolled_back_and_redone() {
    let source = Source::new();
    let work = tempfile::tempdir().unwrap();
    let dir = service(&source, &work.path().join("svc"), "v1");
    let journal = dir.join(".rampart-undo");
    fs::create_dir(&journal).unwrap();
    fs::copy(dir.join("deny.toml"), journal.join("0")).unwrap();
    fs::write(
        journal.join("manifest"),
        "0 644 deny.toml\n1 - docs/V2.md\n",
    )
    .unwrap();
    append(dir.join("deny.toml"), "# half written\n");
    fs::create_dir_all(dir.join("docs")).unwrap();
    fs::write(dir.join("docs/V2.md"), "half").unwrap();

    let (rows, table) = run_fleet(std::slice::from_ref(&dir));
    assert_eq!(rows[0].status, "updated", "{table}");
    assert!(!journal.exists());
    assert_eq!(git(&dir, &["status", "--porcelain"]), "");
    let proposed = git(&dir, &["show", "rampart/template-v2:docs/V2.md"]);
    assert_eq!(proposed, "# orders-api on v2\n");
    let deny = git(&dir, &["show", "rampart/template-v2:deny.toml"]);
    assert!(!deny.contains("half written") && deny.ends_with("# v2: managed change\n"));
}
