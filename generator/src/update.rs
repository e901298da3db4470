//! `rampart update`: moves a service to a newer template version without
//! losing the team's edits. Both versions are rendered in memory with the
//! stored answers; each file is then settled by its ownership class against
//! the working tree, and the state file is written last, so an interrupted
//! update can simply run again.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::answers;
use crate::lockfile;
use crate::merge::{self, Labels};
use crate::policy::{Change, Class};
use crate::render::{Rendered, RenderedFile};
use crate::source::{self, Sources};
use crate::state::{STATE_FILE, State};
use crate::{Error, git, write};

/// What to update and how.
#[derive(Debug, Clone, Default)]
pub struct UpdateOptions {
    /// The service's root folder.
    pub path: PathBuf,
    /// Where to find the template source now (`--template`); by default the
    /// one the state file records. It must hold the recorded version.
    pub template: Option<String>,
    /// The version to move to (`--to`); by default the source's newest.
    pub to: Option<String>,
    /// Answers to change, e.g. `database=postgres`.
    pub set: Vec<(String, String)>,
    /// Run on a tree with uncommitted changes.
    pub allow_dirty: bool,
    /// Compute and show everything, write nothing.
    pub dry_run: bool,
}

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Taken from the new template: the team had not changed it.
    Updated,
    /// New in the template, written.
    Added,
    /// Dropped by the template and unchanged by the team: removed.
    Removed,
    /// The team's and the template's changes combined.
    Merged,
    /// Overlapping edits: marked inline, to resolve by hand.
    Conflicted,
    /// Managed: the team's copy was replaced by the template's.
    Replaced,
    /// Managed: deleted by the team, written back.
    Restored,
    /// Deleted by the team: stays deleted although the template changed it.
    KeptDeleted,
    /// Dropped by the template, but changed by the team: kept.
    KeptChanged,
    /// Seeded (the team's own): the template changed it, the service keeps its copy.
    KeptSeeded,
    /// The service's own Cargo.lock, from before the template carried one: kept.
    KeptOwnLock,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileChange {
    pub path: String,
    pub class: Class,
    pub outcome: Outcome,
}

/// What an update did (or, with `dry_run`, would do).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub from: String,
    pub to: String,
    /// Every file whose outcome is not "nothing to do", sorted by path.
    pub files: Vec<FileChange>,
    /// Migrations run, as `id: description`.
    pub migrations: Vec<String>,
    /// One line per template commit between the versions.
    pub changes: Vec<String>,
    /// The unified diff of the working tree (dry runs only).
    #[serde(skip)]
    pub diff: String,
}

impl Report {
    fn count(&self, outcomes: &[Outcome]) -> usize {
        self.files
            .iter()
            .filter(|f| outcomes.contains(&f.outcome))
            .count()
    }

    /// Files taken from the template whole: updated, added, removed, replaced, restored.
    pub fn updated(&self) -> usize {
        use Outcome::*;
        self.count(&[Updated, Added, Removed, Replaced, Restored])
    }

    pub fn merged(&self) -> usize {
        self.count(&[Outcome::Merged])
    }

    pub fn conflicted(&self) -> Vec<&str> {
        self.files
            .iter()
            .filter(|f| f.outcome == Outcome::Conflicted)
            .map(|f| f.path.as_str())
            .collect()
    }

    /// Whether the update changed nothing at all.
    pub fn is_noop(&self) -> bool {
        self.files.is_empty() && self.migrations.is_empty() && self.from == self.to
    }

    /// The human summary `rampart update` prints.
    pub fn summary(&self) -> String {
        let mut out = format!(
            "template {} -> {}: {} updated, {} merged, {} conflicted\n",
            self.from,
            self.to,
            self.updated(),
            self.merged(),
            self.conflicted().len()
        );
        for migration in &self.migrations {
            out.push_str(&format!("  migration {migration}\n"));
        }
        for file in &self.files {
            let what = match file.outcome {
                Outcome::Updated => "updated from the template",
                Outcome::Added => "added by the template",
                Outcome::Removed => "removed: the template dropped it",
                Outcome::Merged => "merged: your edits and the template's",
                Outcome::Conflicted => "CONFLICT: resolve the <<<<<<< markers",
                Outcome::Replaced => {
                    "managed by the template: your edits were replaced (see git diff)"
                }
                Outcome::Restored => "managed by the template: written back after you deleted it",
                Outcome::KeptDeleted => "you deleted it: it stays deleted",
                Outcome::KeptChanged => {
                    "the template dropped it, but you changed it: kept, remove it if unused"
                }
                Outcome::KeptSeeded => {
                    "yours since generation: the template's change was not applied"
                }
                Outcome::KeptOwnLock => {
                    "yours, from before the template had one: kept (`cargo update` if builds say so)"
                }
            };
            out.push_str(&format!("  {}: {what}\n", file.path));
        }
        out
    }
}

/// Updates the service at `opts.path`.
pub fn update(opts: &UpdateOptions) -> Result<Report, Error> {
    update_with(opts, &mut Sources::default())
}

/// Like `update`, reusing what `sources` has already read (fleets).
pub fn update_with(opts: &UpdateOptions, sources: &mut Sources) -> Result<Report, Error> {
    let root = &opts.path;
    let state = State::read(root)?;
    if !opts.allow_dirty && !opts.dry_run {
        ensure_clean(root)?;
    }
    let (location, rev) = match &opts.template {
        Some(spec) => source::split_revision(spec),
        None => (state.template.source.as_str(), None),
    };
    let source = sources.open(location)?;
    let from = state.version();
    let to = sources.resolve(&source, opts.to.as_deref().or(rev))?;
    if from == to && opts.set.is_empty() {
        return Ok(Report {
            from: from.label.clone(),
            to: to.label,
            files: Vec::new(),
            migrations: Vec::new(),
            changes: Vec::new(),
            diff: String::new(),
        });
    }
    // First, so that a version the source cannot render is the error shown.
    let old_template = sources.load(&source, &from)?;
    if from != to && sources.precedes(&source, &from, &to)? != Some(true) {
        return Err(match sources.precedes(&source, &to, &from)? {
            Some(true) => Error::Refused(format!(
                "{to} is older than the service's template {from}: rampart does not downgrade"
            )),
            _ => Error::Refused(format!(
                "{to} is not a later version of the service's template {from} in {}",
                source.location()
            )),
        });
    }
    let new_template = sources.load(&source, &to)?;
    let name = state.name()?.to_owned();
    let old_answers = state.placeholder_answers();
    let old = sources
        .renderer(&source, &from)?
        .render(&name, &old_answers)?;

    // Migrations: renamed answers move before the new answers resolve,
    // renamed files move before the merge compares them.
    let mut moved_answers = old_answers.clone();
    let mut renames = Vec::new();
    let mut set_answers = Vec::new();
    let mut migrations = Vec::new();
    for migration in new_template.policy.pending_since(&old_template.policy) {
        match &migration.change {
            Change::RenameAnswer { from, to } => {
                if let Some(answer) = moved_answers.remove(from) {
                    moved_answers.insert(to.clone(), answer);
                }
                migrations.push(format!("{}: answer {from} renamed to {to}", migration.id));
            }
            Change::RenameFile { from, to } => {
                renames.push((from.clone(), to.clone()));
                migrations.push(format!("{}: file {from} renamed to {to}", migration.id));
            }
            Change::SetAnswer { key, value } => {
                if !moved_answers.contains_key(key) {
                    set_answers.push((key.clone(), value.clone()));
                    migrations.push(format!("{}: answer {key} set to {value}", migration.id));
                }
            }
        }
    }
    let placeholders = new_template.placeholders()?;
    let mut given: Vec<(String, String)> = moved_answers
        .iter()
        .filter(|(key, _)| placeholders.iter().any(|p| &p.name == *key))
        .map(|(key, answer)| (key.clone(), answer.to_string()))
        .collect();
    given.extend(set_answers);
    given.extend(opts.set.iter().cloned());
    let new_answers = answers::resolve(&placeholders, &given)?;
    let new = sources
        .renderer(&source, &to)?
        .render(&name, &new_answers)?;

    let mut base = by_path(&old);
    for (from, to) in &renames {
        if let Some(file) = base.remove(from.as_str()) {
            base.insert(to.as_str(), file);
        }
    }
    let theirs = by_path(&new);
    let labels = Labels {
        ours: &format!("your version (template {from})"),
        theirs: &format!("template {to}"),
    };
    let mut plan = Vec::new();
    let paths: BTreeSet<&str> = base.keys().chain(theirs.keys()).copied().collect();
    for path in paths {
        let class = match theirs.get(path) {
            Some(_) => new_template.policy.class(path),
            None => old_template.policy.class(path),
        };
        let renamed_from = renames
            .iter()
            .find(|(_, to)| to == path)
            .map(|(f, _)| f.as_str());
        let ours = read_file(root, renamed_from.unwrap_or(path))?;
        let step = settle(
            class,
            base.get(path).map(|f| f.contents.as_slice()),
            theirs.get(path).copied(),
            ours.as_deref(),
            &labels,
        );
        if let Some(step) = step {
            plan.push((path.to_owned(), class, renamed_from, ours, step));
        } else if let Some(from) = renamed_from
            && ours.is_some()
        {
            // Unchanged contents, new place.
            let contents = ours.clone().unwrap_or_default();
            let executable = theirs.get(path).is_some_and(|f| f.executable);
            plan.push((
                path.to_owned(),
                class,
                Some(from),
                ours,
                Step::Write(Outcome::Updated, contents, executable),
            ));
        }
    }

    let mut report = Report {
        from: from.label.clone(),
        to: to.label.clone(),
        files: Vec::new(),
        migrations,
        changes: if from == to {
            Vec::new()
        } else {
            sources.changes(&source, &from, &to)
        },
        diff: String::new(),
    };
    for (path, class, renamed_from, ours, step) in &plan {
        let outcome = step.outcome();
        report.files.push(FileChange {
            path: path.clone(),
            class: *class,
            outcome,
        });
        if opts.dry_run {
            let after = match step {
                Step::Write(_, contents, _) => Some(contents.as_slice()),
                Step::Remove(_) => None,
                Step::Keep(_) => ours.as_deref(),
            };
            report.diff.push_str(&diff(
                renamed_from.unwrap_or(path),
                path,
                ours.as_deref(),
                after,
            ));
            continue;
        }
        match step {
            Step::Write(_, contents, executable) => write_file(root, path, contents, *executable)?,
            Step::Remove(_) => remove_file(root, path)?,
            Step::Keep(_) => {
                if let (Some(from), Some(contents)) = (renamed_from, ours) {
                    // Read before the old path goes below.
                    let executable = is_executable(root, from);
                    write_file(root, path, contents, executable)?;
                }
            }
        }
        if let Some(from) = renamed_from {
            remove_file(root, from)?;
        }
    }
    if !opts.dry_run {
        // Last: until it is written, running the update again redoes it.
        let state = State::new(
            &source,
            &to,
            &name,
            &new_answers,
            &new,
            &new_template.policy,
        );
        let text = state.to_toml()?;
        write::replace_file(&root.join(STATE_FILE), text.as_bytes())?;
    }
    Ok(report)
}

/// What to do with one file.
enum Step {
    /// Write these bytes, executable or not.
    Write(Outcome, Vec<u8>, bool),
    Remove(Outcome),
    /// Leave the working tree's file (or its absence) as it is.
    Keep(Outcome),
}

impl Step {
    fn outcome(&self) -> Outcome {
        match self {
            Self::Write(o, ..) | Self::Remove(o) | Self::Keep(o) => *o,
        }
    }
}

/// Decides one file from its base (old render), theirs (new render) and ours
/// (working tree); `None` when there is nothing to do.
fn settle(
    class: Class,
    base: Option<&[u8]>,
    theirs: Option<&RenderedFile>,
    ours: Option<&[u8]>,
    labels: &Labels,
) -> Option<Step> {
    let write = |outcome, contents: &[u8], file: &RenderedFile| {
        Some(Step::Write(outcome, contents.to_vec(), file.executable))
    };
    let Some(theirs_file) = theirs else {
        // The template dropped it.
        return match (base, ours) {
            (_, None) => None,
            (Some(base), Some(ours)) if base == ours && class != Class::Seeded => {
                Some(Step::Remove(Outcome::Removed))
            }
            _ => Some(Step::Keep(Outcome::KeptChanged)),
        };
    };
    // A service made before the template carried a Cargo.lock has its own:
    // two lock files without a common base would conflict on every line, and
    // its --locked builds say when it needs `cargo update`.
    if theirs_file.path == lockfile::LOCK_FILE && base.is_none() && ours.is_some() {
        return Some(Step::Keep(Outcome::KeptOwnLock));
    }
    let new = theirs_file.contents.as_slice();
    if ours == Some(new) {
        return None;
    }
    match (class, base, ours) {
        (_, None, None) => write(Outcome::Added, new, theirs_file),
        (Class::Managed, _, None) => write(Outcome::Restored, new, theirs_file),
        (Class::Managed, base, Some(ours)) => {
            let outcome = if base == Some(ours) {
                Outcome::Updated
            } else {
                Outcome::Replaced
            };
            write(outcome, new, theirs_file)
        }
        (Class::Seeded, Some(base), _) if base == new => None,
        (Class::Seeded, Some(_), _) => Some(Step::Keep(Outcome::KeptSeeded)),
        (Class::Seeded, None, Some(_)) => Some(Step::Keep(Outcome::KeptSeeded)),
        (Class::Merged, Some(base), None) if base == new => None,
        (Class::Merged, Some(_), None) => Some(Step::Keep(Outcome::KeptDeleted)),
        (Class::Merged, base, Some(ours)) => {
            let base = base.unwrap_or_default();
            if base == ours {
                return write(Outcome::Updated, new, theirs_file);
            }
            if base == new {
                return None;
            }
            match (
                std::str::from_utf8(base),
                std::str::from_utf8(ours),
                std::str::from_utf8(new),
            ) {
                (Ok(base), Ok(ours), Ok(new)) => {
                    let merged = merge::merge(base, ours, new, labels);
                    let outcome = if merged.conflicts > 0 {
                        Outcome::Conflicted
                    } else {
                        Outcome::Merged
                    };
                    write(outcome, merged.text.as_bytes(), theirs_file)
                }
                // Binary files cannot be merged: the team's copy stays.
                _ => Some(Step::Keep(Outcome::Conflicted)),
            }
        }
    }
}

fn by_path(rendered: &Rendered) -> BTreeMap<&str, &RenderedFile> {
    rendered
        .files
        .iter()
        .map(|f| (f.path.as_str(), f))
        .collect()
}

/// Refuses to run over uncommitted work, which an update could mix with its own.
pub(crate) fn ensure_clean(root: &Path) -> Result<(), Error> {
    let status = git::git(
        root,
        &[
            "status",
            "--porcelain",
            "--untracked-files=normal",
            "--",
            ".",
        ],
    )
    .map_err(|_| {
        Error::Refused(format!(
            "{} is not in a git repository, so its edits could not be told from the update's; \
                 commit it to git first, or pass --allow-dirty",
            root.display()
        ))
    })?;
    if status.trim().is_empty() {
        Ok(())
    } else {
        let first: Vec<&str> = status.lines().take(5).collect();
        Err(Error::Refused(format!(
            "{} has uncommitted changes; commit or stash them first, or pass --allow-dirty:\n{}",
            root.display(),
            first.join("\n")
        )))
    }
}

fn read_file(root: &Path, path: &str) -> Result<Option<Vec<u8>>, Error> {
    let full = root.join(path);
    match fs::read(&full) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("read", full)(e)),
    }
}

fn write_file(root: &Path, path: &str, contents: &[u8], executable: bool) -> Result<(), Error> {
    let full = root.join(path);
    if let Some(parent) = full.parent() {
        fs::create_dir_all(parent).map_err(Error::io("create directory", parent))?;
    }
    write::replace_file(&full, contents)?;
    write::set_executable(&full, executable)
}

fn remove_file(root: &Path, path: &str) -> Result<(), Error> {
    let full = root.join(path);
    match fs::remove_file(&full) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("remove", full)(e)),
    }
}

fn is_executable(root: &Path, path: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(root.join(path)).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

/// A unified diff of one file, `git diff` style.
fn diff(old_path: &str, new_path: &str, before: Option<&[u8]>, after: Option<&[u8]>) -> String {
    let text =
        |bytes: Option<&[u8]>| String::from_utf8_lossy(bytes.unwrap_or_default()).into_owned();
    let (before_text, after_text) = (text(before), text(after));
    if before_text == after_text && old_path == new_path {
        return String::new();
    }
    let old_name = if before.is_some() {
        format!("a/{old_path}")
    } else {
        "/dev/null".into()
    };
    let new_name = if after.is_some() {
        format!("b/{new_path}")
    } else {
        "/dev/null".into()
    };
    similar::TextDiff::from_lines(&before_text, &after_text)
        .unified_diff()
        .header(&old_name, &new_name)
        .to_string()
}
