//! `rampart fleet`: updates many services in one run. Each service's update
//! lands as one commit on a new branch, leaving its current branch as it
//! was; one service failing never stops the others.

use std::path::{Path, PathBuf};

use crate::Error;
use crate::git;
use crate::source::Sources;
use crate::state::State;
use crate::update::{self, Report, UpdateOptions};

/// One line of the fleet summary.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    pub service: String,
    pub from: String,
    pub to: String,
    pub updated: usize,
    pub merged: usize,
    pub conflicted: usize,
    /// `updated`, `conflicted`, `up to date` or `failed: why`.
    pub status: String,
    /// The branch holding the update, when there is one.
    pub branch: Option<String>,
}

impl Row {
    pub fn failed(&self) -> bool {
        self.status.starts_with("failed")
    }
}

/// Updates every service in `services` with the template options of `opts`
/// (its `path` is ignored).
pub fn fleet(services: &[PathBuf], opts: &UpdateOptions) -> Vec<Row> {
    // Services share template versions: each is read and parsed once.
    let mut sources = Sources::default();
    services
        .iter()
        .map(|dir| {
            let service = dir.display().to_string();
            update_on_branch(dir, opts, &mut sources).unwrap_or_else(|e| Row {
                service,
                from: String::new(),
                to: String::new(),
                updated: 0,
                merged: 0,
                conflicted: 0,
                status: format!("failed: {e}"),
                branch: None,
            })
        })
        .collect()
}

fn update_on_branch(dir: &Path, opts: &UpdateOptions, sources: &mut Sources) -> Result<Row, Error> {
    // Before anything else: the clean-up after a failure resets the tree.
    State::read(dir)?;
    update::ensure_clean(dir)?;
    let git = |args: &[&str]| git::git(dir, args);
    let original = match git(&["symbolic-ref", "--quiet", "--short", "HEAD"]) {
        Ok(branch) => branch.trim().to_owned(),
        Err(_) => git(&["rev-parse", "HEAD"])?.trim().to_owned(),
    };
    let opts = UpdateOptions {
        path: dir.to_owned(),
        // Checked above, once.
        allow_dirty: true,
        dry_run: false,
        ..opts.clone()
    };
    // Updated in place, then moved onto a new branch with the changes.
    let mut created = None;
    let result = update::update_with(&opts, sources).and_then(|report| {
        if report.is_noop() {
            return Ok(report);
        }
        let branch = format!("rampart/template-{}", branch_safe(&report.to));
        git(&["switch", "--quiet", "-c", &branch])?;
        created = Some(branch);
        git(&["add", "--all", "--", "."])?;
        commit(dir, &commit_message(&report))?;
        git(&["switch", "--quiet", &original])?;
        Ok(report)
    });
    match result {
        Ok(report) => {
            let status = if report.is_noop() {
                "up to date"
            } else if report.conflicted().is_empty() {
                "updated"
            } else {
                "conflicted"
            };
            Ok(Row {
                service: dir.display().to_string(),
                from: report.from.clone(),
                to: report.to.clone(),
                updated: report.updated(),
                merged: report.merged(),
                conflicted: report.conflicted().len(),
                status: status.to_owned(),
                branch: created,
            })
        }
        Err(e) => {
            // Put the service back as it was: its tree was clean before.
            let _ = git(&["reset", "--quiet", "--hard"]);
            let _ = git(&["clean", "--quiet", "-fd"]);
            let _ = git(&["switch", "--quiet", "--force", &original]);
            if let Some(branch) = created {
                let _ = git(&["branch", "--quiet", "-D", &branch]);
            }
            Err(e)
        }
    }
}

/// Commits with the user's identity, or rampart's when git has none.
fn commit(dir: &Path, message: &str) -> Result<(), Error> {
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
    args.extend(["commit", "--quiet", "--no-verify", "-m", message]);
    git::git(dir, &args).map(drop)
}

fn commit_message(report: &Report) -> String {
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
            let status = match &r.branch {
                Some(branch) => format!("{} (branch {branch})", r.status),
                None => r.status.clone(),
            };
            [
                r.service.clone(),
                version,
                format!("{}/{}/{}", r.updated, r.merged, r.conflicted),
                status,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_names_are_safe() {
        assert_eq!(branch_safe("v2.0.1"), "v2.0.1");
        assert_eq!(branch_safe("v2-3-gabc"), "v2-3-gabc");
        assert_eq!(branch_safe("a b/c~1"), "a-b-c-1");
    }

    #[test]
    fn table_aligns_columns() {
        let row = |service: &str, status: &str| Row {
            service: service.into(),
            from: "v1".into(),
            to: "v2".into(),
            updated: 3,
            merged: 1,
            conflicted: 0,
            status: status.into(),
            branch: None,
        };
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
}
