//! `rampart fleet`: updates many services in one run. Each service's update
//! lands as one commit on a branch of its own, leaving the repository's
//! current branch, index and working tree as they were; one service failing
//! never stops the others. Run again, a branch already holding the result is
//! reported, a stale one of rampart's own is moved, any other is left alone.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::Error;
use crate::git;
use crate::source::Sources;
use crate::state::State;
use crate::update::{self, Report, UpdateOptions};

/// How every branch fleet makes starts.
const BRANCH_PREFIX: &str = "rampart/template-";

/// The commit trailer naming the tree rampart committed: a branch tip whose
/// tree still is that one is rampart's alone, and moving it loses no one's work.
const TREE_TRAILER: &str = "Rampart-Tree: ";

/// One line of the fleet summary.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    pub service: String,
    pub from: String,
    pub to: String,
    pub updated: usize,
    pub merged: usize,
    pub conflicted: usize,
    /// `updated`, `conflicted`, `already proposed`, `up to date` or `failed: why`.
    pub status: String,
    /// The branch holding the update, when there is one.
    pub branch: Option<String>,
    /// The `--verify` outcome, for services with a branch.
    pub verification: Option<Verification>,
}

impl Row {
    fn new(dir: &Path, report: &Report, status: &str, branch: Option<String>) -> Self {
        Self {
            service: dir.display().to_string(),
            from: report.from.clone(),
            to: report.to.clone(),
            updated: report.updated(),
            merged: report.merged(),
            conflicted: report.conflicted().len(),
            status: status.to_owned(),
            branch,
            verification: None,
        }
    }

    fn failure(dir: &Path, error: &Error) -> Self {
        Self {
            service: dir.display().to_string(),
            from: String::new(),
            to: String::new(),
            updated: 0,
            merged: 0,
            conflicted: 0,
            status: format!("failed: {error}"),
            branch: None,
            verification: None,
        }
    }

    pub fn failed(&self) -> bool {
        self.status.starts_with("failed")
    }

    pub fn verify_failed(&self) -> bool {
        self.verification.as_ref().is_some_and(|v| !v.passed)
    }
}

/// What `--verify` made of one branch.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Verification {
    pub passed: bool,
    /// The command's output, or why it could not run.
    pub log: PathBuf,
}

/// `--verify`: a shell command run in each service with its branch checked out.
#[derive(Debug, Clone)]
pub(crate) struct Verify {
    pub command: String,
    /// Where each service's log goes, as `FOLDER-NAME.log`.
    pub logs: PathBuf,
}

impl Verify {
    /// Logs go to `logs`, by default a folder of this run in the system's
    /// temp dir: inside a service's repository they would dirty it.
    pub fn new(command: String, logs: Option<PathBuf>) -> Self {
        let logs = logs.unwrap_or_else(|| {
            std::env::temp_dir().join(format!("rampart-fleet-{}", std::process::id()))
        });
        Self { command, logs }
    }
}

/// Updates every service in `services` with the template options of `opts`
/// (its `path` is ignored).
pub fn fleet(services: &[PathBuf], opts: &UpdateOptions) -> Vec<Row> {
    fleet_with(services, opts, None)
}

/// Like `fleet`, verifying each branch it leaves with `verify`.
pub(crate) fn fleet_with(
    services: &[PathBuf],
    opts: &UpdateOptions,
    verify: Option<&Verify>,
) -> Vec<Row> {
    // Services share template versions: each is read and parsed once.
    let mut sources = Sources::default();
    let logs = log_names(services);
    services
        .iter()
        .zip(logs)
        .map(|(dir, log)| {
            let mut row =
                update_on_branch(dir, opts, &mut sources).unwrap_or_else(|e| Row::failure(dir, &e));
            if let (Some(verify), Some(branch)) = (verify, &row.branch) {
                let log = verify.logs.join(log);
                row.verification = Some(run_verification(dir, branch, &verify.command, &log));
            }
            row
        })
        .collect()
}

/// Where a service is in its repository.
struct Place {
    root: String,
    /// The service's folder from the root, `/`-terminated; empty at the root.
    prefix: String,
}

impl Place {
    fn of(dir: &Path) -> Result<Self, Error> {
        let not_git = |_| {
            Error::Refused(format!(
                "{} is not in a git repository: fleet commits each update on a branch",
                dir.display()
            ))
        };
        let root = git::git(dir, &["rev-parse", "--show-toplevel"]).map_err(not_git)?;
        let prefix = git::git(dir, &["rev-parse", "--show-prefix"])?;
        Ok(Self {
            root: root.trim().to_owned(),
            prefix: prefix.trim().to_owned(),
        })
    }
}

fn update_on_branch(dir: &Path, opts: &UpdateOptions, sources: &mut Sources) -> Result<Row, Error> {
    // An update of this service killed midway (fleet's own, or anyone's)
    // left its undo journal: rolled back, the service is as it was.
    crate::journal::recover(dir)?;
    // First, so that a folder that is no service says so.
    State::read(dir)?;
    let place = Place::of(dir)?;
    ensure_pristine(dir, &place)?;
    let opts = UpdateOptions {
        path: dir.to_owned(),
        // Checked above, more strictly.
        allow_dirty: true,
        dry_run: false,
        ..opts.clone()
    };
    // Updated in place and staged to get its tree, then put back as it was.
    let result = update::update_with(&opts, sources).and_then(|report| {
        let tree = if report.is_noop() {
            None
        } else {
            Some(snapshot(dir)?)
        };
        Ok((report, tree))
    });
    restore(dir)?;
    let (report, tree) = result?;
    let Some(tree) = tree else {
        return Ok(Row::new(dir, &report, "up to date", None));
    };
    let branch = branch_name(&place, &report.to);
    let status = match plan(dir, &branch, &tree)? {
        Plan::AlreadyProposed => "already proposed",
        Plan::Write { old } => {
            let commit = commit(dir, &tree, &commit_message(&report, &tree))?;
            let target = format!("refs/heads/{branch}");
            // With the old tip (or none) given, a branch moved meanwhile is not overwritten.
            let old = old.unwrap_or_default();
            git::git(
                dir,
                &["update-ref", "-m", "rampart fleet", &target, &commit, &old],
            )?;
            if report.conflicted().is_empty() {
                "updated"
            } else {
                "conflicted"
            }
        }
    };
    Ok(Row::new(dir, &report, status, Some(branch)))
}

/// Refuses a repository with any uncommitted change or untracked file: fleet
/// stages, commits and restores the service's files, and others' work must
/// neither slip into its commit nor be at risk. Also refuses a repository
/// left on one of rampart's branches, as a killed `--verify` would.
fn ensure_pristine(dir: &Path, place: &Place) -> Result<(), Error> {
    let head = git::git(dir, &["symbolic-ref", "--quiet", "--short", "HEAD"]).unwrap_or_default();
    if head.starts_with(BRANCH_PREFIX) {
        return Err(Error::Refused(format!(
            "{} is on rampart's branch {}, perhaps left by an interrupted --verify: \
             switch back to your own branch first",
            place.root,
            head.trim()
        )));
    }
    let status = git::git(dir, &["status", "--porcelain", "--untracked-files=normal"])?;
    if status.trim().is_empty() {
        return Ok(());
    }
    // Porcelain paths are from the root, after two status letters and a space.
    let inside = status
        .lines()
        .any(|line| line.get(3..).is_some_and(|p| p.starts_with(&place.prefix)));
    let hint = if inside {
        let dir = dir.display();
        format!(
            ". Those in {dir} may be left by an interrupted update: inspect them with \
             `git -C {dir} status`, then commit them, or discard them with \
             `git -C {dir} restore --source=HEAD --staged --worktree -- . && git -C {dir} clean -fd -- .`"
        )
    } else {
        String::new()
    };
    let first: Vec<&str> = status.lines().take(5).collect();
    Err(Error::Refused(format!(
        "{} has uncommitted changes or untracked files, which fleet will not touch: \
         commit or stash them first{hint}:\n{}",
        place.root,
        first.join("\n")
    )))
}

/// Stages the service's files, and only them, and returns the tree holding
/// them: the current commit's, with this service updated.
fn snapshot(dir: &Path) -> Result<String, Error> {
    git::git(dir, &["add", "--all", "--", "."])?;
    Ok(git::git(dir, &["write-tree"])?.trim().to_owned())
}

/// Puts the service's files, staged and in the working tree, back as the
/// current commit has them; the rest of the repository is not touched.
fn restore(dir: &Path) -> Result<(), Error> {
    git::git(
        dir,
        &[
            "restore",
            "--quiet",
            "--source=HEAD",
            "--staged",
            "--worktree",
            "--",
            ".",
        ],
    )?;
    git::git(dir, &["clean", "--quiet", "-fd", "--", "."]).map(drop)
}

/// `rampart/template-VERSION`, plus the service's folder when it is not its
/// repository's root, so that services sharing a repository get a branch each.
fn branch_name(place: &Place, version: &str) -> String {
    let mut branch = format!("{BRANCH_PREFIX}{}", branch_safe(version));
    let folder = place.prefix.trim_end_matches('/');
    if !folder.is_empty() {
        branch.push('-');
        branch.push_str(&branch_safe(folder));
    }
    branch
}

/// What to do with the branch, given the tree this run would commit.
#[derive(Debug, PartialEq)]
enum Plan {
    AlreadyProposed,
    /// Point the branch at a new commit; `old` is its tip when it exists.
    Write {
        old: Option<String>,
    },
}

fn plan(dir: &Path, branch: &str, tree: &str) -> Result<Plan, Error> {
    let target = format!("refs/heads/{branch}");
    let Ok(tip) = git::git(dir, &["rev-parse", "--verify", "--quiet", &target]) else {
        return Ok(Plan::Write { old: None });
    };
    let tip = tip.trim().to_owned();
    if git::git(dir, &["rev-parse", &format!("{tip}^{{tree}}")])?.trim() == tree {
        Ok(Plan::AlreadyProposed)
    } else if is_stale(dir, &tip)? {
        Ok(Plan::Write { old: Some(tip) })
    } else {
        Err(Error::Refused(format!(
            "branch {branch} has commits of its own: merge or delete it"
        )))
    }
}

/// Whether `tip` is rampart's commit as rampart made it (its tree is the one
/// its trailer names) on top of a commit the current branch holds.
fn is_stale(dir: &Path, tip: &str) -> Result<bool, Error> {
    let parents = git::git(dir, &["rev-list", "--parents", "-n", "1", tip])?;
    let [_, parent] = parents.split_whitespace().collect::<Vec<_>>()[..] else {
        return Ok(false);
    };
    let message = git::git(dir, &["log", "-1", "--format=%B", tip])?;
    let tree = git::git(dir, &["rev-parse", &format!("{tip}^{{tree}}")])?;
    let untouched = message
        .lines()
        .any(|line| line.strip_prefix(TREE_TRAILER) == Some(tree.trim()));
    Ok(untouched && git::git_status(dir, &["merge-base", "--is-ancestor", parent, "HEAD"])?)
}

/// Commits `tree` on top of HEAD with the user's identity, or rampart's when
/// git has none; returns the commit.
fn commit(dir: &Path, tree: &str, message: &str) -> Result<String, Error> {
    let has_identity = git::git(dir, &["config", "user.email"]).is_ok();
    let mut args = Vec::new();
    if !has_identity {
        args.extend([
            "-c",
            "user.name=rampart",
            "-c",
            "user.email=rampart@localhost",
        ]);
    }
    args.extend(["commit-tree", tree, "-p", "HEAD", "-m", message]);
    Ok(git::git(dir, &args)?.trim().to_owned())
}

fn commit_message(report: &Report, tree: &str) -> String {
    let mut message = format!(
        "Update the template from {} to {}\n\n",
        report.from, report.to
    );
    if !report.changes.is_empty() {
        message.push_str("Template changes:\n");
        for change in &report.changes {
            message.push_str(&format!("- {change}\n"));
        }
        message.push('\n');
    }
    message.push_str(&report.summary());
    message.push_str(&format!("\n{TREE_TRAILER}{tree}\n"));
    message
}

/// A git branch name part: anything but letters, digits, `.`, `_` and `-` becomes `-`.
fn branch_safe(label: &str) -> String {
    label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// Each service's log file: `FOLDER.log`, numbered when folders share a name.
fn log_names(services: &[PathBuf]) -> Vec<String> {
    let mut taken = BTreeSet::new();
    services
        .iter()
        .map(|dir| {
            let path = fs::canonicalize(dir).unwrap_or_else(|_| dir.to_owned());
            let name = path.file_name().map_or_else(
                || "service".to_owned(),
                |n| n.to_string_lossy().into_owned(),
            );
            let mut file = format!("{name}.log");
            for n in 2.. {
                if taken.insert(file.clone()) {
                    break;
                }
                file = format!("{name}-{n}.log");
            }
            file
        })
        .collect()
}

/// Runs `command` on `branch`, its output in `log`; why it could not run goes there too.
fn run_verification(dir: &Path, branch: &str, command: &str, log: &Path) -> Verification {
    let passed = verify_on_branch(dir, branch, command, log).unwrap_or_else(|e| {
        // Best effort: the log may be what could not be written.
        let _ = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .and_then(|mut file| writeln!(file, "rampart: {e}"));
        false
    });
    Verification {
        passed,
        log: log.to_owned(),
    }
}

/// Checks `branch` out, runs `command` in the service's folder, puts back
/// what it changed there, and returns to the branch the repository was on.
fn verify_on_branch(dir: &Path, branch: &str, command: &str, log: &Path) -> Result<bool, Error> {
    let original = match git::git(dir, &["symbolic-ref", "--quiet", "--short", "HEAD"]) {
        Ok(branch) => branch.trim().to_owned(),
        Err(_) => git::git(dir, &["rev-parse", "HEAD"])?.trim().to_owned(),
    };
    git::git(dir, &["checkout", "--quiet", branch, "--"])?;
    let passed = run_logged(dir, command, log);
    // Build output and the like are no part of the branch.
    restore(dir)?;
    git::git(dir, &["checkout", "--quiet", &original, "--"])?;
    passed
}

/// Runs `command` with `sh -c` in `dir`, its stdout and stderr in `log`.
fn run_logged(dir: &Path, command: &str, log: &Path) -> Result<bool, Error> {
    if let Some(parent) = log.parent() {
        fs::create_dir_all(parent).map_err(Error::io("create directory", parent))?;
    }
    let stdout = File::create(log).map_err(Error::io("create", log))?;
    let stderr = stdout.try_clone().map_err(Error::io("open", log))?;
    let status = Command::new("sh")
        .args(["-c", command])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .status()
        .map_err(Error::io("run `sh -c` in", dir))?;
    Ok(status.success())
}

/// The summary table: service, old -> new version, files, status.
pub fn table(rows: &[Row]) -> String {
    let header = [
        "service".to_owned(),
        "version".to_owned(),
        "updated/merged/conflicted".to_owned(),
        "status".to_owned(),
    ];
    let lines: Vec<[String; 4]> = rows
        .iter()
        .map(|r| {
            let version = if r.from.is_empty() {
                "-".to_owned()
            } else {
                format!("{} -> {}", r.from, r.to)
            };
            [
                r.service.clone(),
                version,
                format!("{}/{}/{}", r.updated, r.merged, r.conflicted),
                status_cell(r),
            ]
        })
        .collect();
    let mut widths = header.clone().map(|h| h.len());
    for line in &lines {
        for (width, cell) in widths.iter_mut().zip(line) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for line in std::iter::once(&header).chain(&lines) {
        let cells: Vec<String> = line
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// Status, branch and verification on one line: a multi-line error's lines
/// are joined with "; ", so each service stays one row.
fn status_cell(row: &Row) -> String {
    let lines: Vec<&str> = row
        .status
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    let mut cell = lines.join("; ");
    if let Some(branch) = &row.branch {
        cell.push_str(&format!(" (branch {branch})"));
    }
    match &row.verification {
        Some(v) if v.passed => cell.push_str(", verified"),
        Some(v) => cell.push_str(&format!(", verify failed (log: {})", v.log.display())),
        None => {}
    }
    cell
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(service: &str, status: &str) -> Row {
        Row {
            service: service.into(),
            from: "v1".into(),
            to: "v2".into(),
            updated: 3,
            merged: 1,
            conflicted: 0,
            status: status.into(),
            branch: None,
            verification: None,
        }
    }

    #[test]
    fn branch_names_are_safe() {
        assert_eq!(branch_safe("v2.0.1"), "v2.0.1");
        assert_eq!(branch_safe("v2-3-gabc"), "v2-3-gabc");
        assert_eq!(branch_safe("a b/c~1"), "a-b-c-1");
    }

    #[test]
    fn services_below_the_root_get_their_folder_in_the_branch() {
        let place = |prefix: &str| Place {
            root: "/repo".into(),
            prefix: prefix.into(),
        };
        assert_eq!(branch_name(&place(""), "v2"), "rampart/template-v2");
        assert_eq!(
            branch_name(&place("services/sa/"), "v2"),
            "rampart/template-v2-services-sa"
        );
    }

    #[test]
    fn log_names_are_unique() {
        let names = log_names(&["a/api".into(), "b/api".into(), "sa".into()]);
        assert_eq!(names, ["api.log", "api-2.log", "sa.log"]);
    }

    #[test]
    fn table_aligns_columns() {
        let text = table(&[row("a", "updated"), row("longer-name", "up to date")]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        let column = lines[0].find("version").unwrap();
        assert!(
            lines
                .iter()
                .skip(1)
                .all(|l| l[column..].starts_with("v1 -> v2"))
        );
    }

    #[test]
    fn each_row_is_one_line() {
        let mut verified = row("b", "updated");
        verified.branch = Some("rampart/template-v2".into());
        verified.verification = Some(Verification {
            passed: false,
            log: "/tmp/b.log".into(),
        });
        let text = table(&[row("a", "failed: dirty:\n M x\n?? y\n"), verified]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[1].ends_with("failed: dirty:; M x; ?? y"), "{text}");
        assert!(
            lines[2]
                .ends_with("updated (branch rampart/template-v2), verify failed (log: /tmp/b.log)"),
            "{text}"
        );
    }
}
