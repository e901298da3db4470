//! `rampart update`: moves a service to a newer template version without
//! losing the team's edits. Both versions are rendered in memory with the
//! stored answers; each file is then settled by its ownership class against
//! the working tree, and the state file is written last, so an interrupted
//! update can simply run again.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::answers::{self, Answer};
use crate::journal::{self, Journal};
use crate::lockfile;
use crate::merge::{self, Labels};
use crate::paths::STATE_FILE;
use crate::policy::{Change, Class, Policy};
use crate::render::{Rendered, RenderedFile};
use crate::source::{self, Source, Sources, Version};
use crate::state::State;
use crate::template::Template;
use crate::{Error, git, modes, write};

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
    /// Where the template's version was written, when it could not be
    /// merged into the team's file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub beside: Option<String>,
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
    /// Whether an interrupted update was rolled back first.
    pub recovered: bool,
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
        if self.recovered {
            out.push_str("  an interrupted update was rolled back first\n");
        }
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
            match &file.beside {
                Some(beside) => out.push_str(&format!(
                    "  {}: CONFLICT: kept yours; the template's version is in {beside}: \
                     settle the two, then delete it\n",
                    file.path
                )),
                None => out.push_str(&format!("  {}: {what}\n", file.path)),
            }
        }
        out
    }
}

/// Updates the service at `opts.path`.
pub fn update(opts: &UpdateOptions) -> Result<Report, Error> {
    update_with(opts, &mut Sources::default())
}

/// Like `update`, reusing what `sources` has already read (fleets).
pub(crate) fn update_with(opts: &UpdateOptions, sources: &mut Sources) -> Result<Report, Error> {
    let root = &opts.path;
    let recovered = recover_interrupted(opts)?;
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
    let mut report = Report {
        from: from.label.clone(),
        to: to.label.clone(),
        files: Vec::new(),
        migrations: Vec::new(),
        changes: Vec::new(),
        diff: String::new(),
        recovered,
    };
    if from == to && opts.set.is_empty() {
        return Ok(report);
    }
    // First, so that a version the source cannot render is the error shown.
    let old_template = sources.load(&source, &from)?;
    ensure_forward(sources, &source, &from, &to)?;
    let new_template = sources.load(&source, &to)?;
    let name = state.name()?.to_owned();
    let old_answers = stored_answers(root, &state, &old_template)?;
    let old = sources
        .renderer(&source, &from)?
        .render(&name, &old_answers)?;
    let moves = Moves::pending(&new_template.policy, &old_template.policy, &old_answers);
    report.migrations = moves.described.clone();
    let new_answers = moves.resolve(&new_template, &opts.set)?;
    let new = sources
        .renderer(&source, &to)?
        .render(&name, &new_answers)?;
    let labels = Labels {
        ours: &format!("{OURS_LABEL}{from})"),
        theirs: &format!("{THEIRS_LABEL}{to}"),
    };
    let plan = plan(
        root,
        &old,
        &new,
        &moves.files,
        &new_template,
        &old_template,
        &labels,
    )?;
    if from != to {
        report.changes = sources.changes(&source, &from, &to);
    }
    report.files = plan.iter().map(Planned::change).collect();
    if opts.dry_run {
        report.diff = plan.iter().map(Planned::diff).collect();
        return Ok(report);
    }
    let state = State::new(
        &source,
        &to,
        &name,
        &new_answers,
        &new,
        &new_template.policy,
    );
    apply(root, &plan, &state.to_toml()?)?;
    Ok(report)
}

/// The answers the state file records, checked as `rampart new` checked
/// them, since anyone can edit the file.
fn stored_answers(
    root: &Path,
    state: &State,
    template: &Template,
) -> Result<BTreeMap<String, Answer>, Error> {
    let stored: Vec<(String, String)> = state
        .placeholder_answers()
        .into_iter()
        .map(|(key, answer)| (key, answer.to_string()))
        .collect();
    answers::resolve(&template.placeholders()?, &stored)
        .map_err(|e| Error::Refused(format!("{}: {e}", root.join(STATE_FILE).display())))
}

/// Refuses to move `from` to a version that is not later in `source`.
fn ensure_forward(
    sources: &mut Sources,
    source: &Source,
    from: &Version,
    to: &Version,
) -> Result<(), Error> {
    if from == to || sources.precedes(source, from, to)? == Some(true) {
        return Ok(());
    }
    Err(match sources.precedes(source, to, from)? {
        Some(true) => Error::Refused(format!(
            "{to} is older than the service's template {from}: rampart does not downgrade"
        )),
        _ => Error::Refused(format!(
            "{to} is not a later version of the service's template {from} in {}",
            source.location()
        )),
    })
}

/// Rolls back an update a crash interrupted, so this run starts from the
/// tree as it was before that one. A dry run writes nothing, so it refuses.
fn recover_interrupted(opts: &UpdateOptions) -> Result<bool, Error> {
    if opts.dry_run {
        if opts.path.join(journal::JOURNAL).is_dir() {
            return Err(Error::Refused(format!(
                "an update of {} was interrupted; run `rampart update` without --dry-run \
                 to roll it back and update again",
                opts.path.display()
            )));
        }
        return Ok(false);
    }
    journal::recover(&opts.path)
}

/// What the template's migrations pending between two versions change.
struct Moves {
    /// The stored answers, renamed ones under their new names.
    answers: BTreeMap<String, Answer>,
    set_answers: Vec<(String, String)>,
    /// Renamed files, `(from, to)`.
    files: Vec<(String, String)>,
    described: Vec<String>,
}

impl Moves {
    /// Renamed answers move before the new answers resolve, renamed files
    /// before the merge compares them.
    fn pending(new: &Policy, old: &Policy, answers: &BTreeMap<String, Answer>) -> Self {
        let mut moves = Self {
            answers: answers.clone(),
            set_answers: Vec::new(),
            files: Vec::new(),
            described: Vec::new(),
        };
        for migration in new.pending_since(old) {
            let id = &migration.id;
            match &migration.change {
                Change::RenameAnswer { from, to } => {
                    if let Some(answer) = moves.answers.remove(from) {
                        moves.answers.insert(to.clone(), answer);
                    }
                    moves
                        .described
                        .push(format!("{id}: answer {from} renamed to {to}"));
                }
                Change::RenameFile { from, to } => {
                    moves.files.push((from.clone(), to.clone()));
                    moves
                        .described
                        .push(format!("{id}: file {from} renamed to {to}"));
                }
                Change::SetAnswer { key, value } => {
                    if !moves.answers.contains_key(key) {
                        moves.set_answers.push((key.clone(), value.clone()));
                        moves
                            .described
                            .push(format!("{id}: answer {key} set to {value}"));
                    }
                }
            }
        }
        moves
    }
}

impl Moves {
    /// The new version's answers: the stored ones it still declares, then
    /// the migrations' values, then `--set`, each checked as `rampart new`
    /// checks them.
    fn resolve(
        &self,
        template: &Template,
        set: &[(String, String)],
    ) -> Result<BTreeMap<String, Answer>, Error> {
        let placeholders = template.placeholders()?;
        let mut given: Vec<(String, String)> = self
            .answers
            .iter()
            .filter(|(key, _)| placeholders.iter().any(|p| &p.name == *key))
            .map(|(key, answer)| (key.clone(), answer.to_string()))
            .collect();
        given.extend(self.set_answers.iter().cloned());
        given.extend(set.iter().cloned());
        answers::resolve(&placeholders, &given)
    }
}

/// One file's part of an update, decided before anything is written.
struct Planned {
    path: String,
    class: Class,
    /// The team's copy moves here from this path (a rename migration).
    renamed_from: Option<String>,
    /// The team's copy as it is now, and whether it is executable.
    ours: Option<Vec<u8>>,
    ours_executable: bool,
    step: Step,
}

impl Planned {
    fn change(&self) -> FileChange {
        FileChange {
            path: self.path.clone(),
            class: self.class,
            outcome: self.step.outcome(),
            beside: matches!(self.step, Step::Beside(..)).then(|| beside(&self.path)),
        }
    }

    /// What a dry run shows of it.
    fn diff(&self) -> String {
        let after = match &self.step {
            Step::Write(_, contents, _) => Some(contents.as_slice()),
            Step::Remove(_) => None,
            Step::Keep(_) | Step::Beside(..) => self.ours.as_deref(),
        };
        let from = self.renamed_from.as_deref().unwrap_or(&self.path);
        let mut text = diff(from, &self.path, self.ours.as_deref(), after);
        if let Step::Beside(_, contents) = &self.step {
            text.push_str(&diff(&self.path, &beside(&self.path), None, Some(contents)));
        }
        text
    }
}

/// How an update labels the sides of its conflict blocks (before the
/// versions); `rampart check` finds blocks left unresolved by them.
pub(crate) const OURS_LABEL: &str = "your version (template ";
pub(crate) const THEIRS_LABEL: &str = "template ";
/// The suffix of `beside`.
pub(crate) const BESIDE_SUFFIX: &str = ".rampart-template";

/// Where the template's version of a file goes when it cannot be merged
/// into the team's: beside it, for the team to settle (`rampart check`
/// fails while it is there).
pub(crate) fn beside(path: &str) -> String {
    format!("{path}{BESIDE_SUFFIX}")
}

/// Decides every file, reading the working tree but writing nothing.
fn plan(
    root: &Path,
    old: &Rendered,
    new: &Rendered,
    renames: &[(String, String)],
    new_template: &Template,
    old_template: &Template,
    labels: &Labels,
) -> Result<Vec<Planned>, Error> {
    // A move onto a file of the team's own stops there (`beside_own_file`):
    // the team's file at the old path stays, with its old base.
    let (stopped, moves): (Vec<_>, Vec<_>) = compose(renames)
        .into_iter()
        .partition(|(_, to)| fs::symlink_metadata(root.join(to)).is_ok());
    let mut base = by_path(old);
    for (from, to) in &moves {
        if let Some(file) = base.remove(from.as_str()) {
            base.insert(to.as_str(), file);
        }
    }
    let theirs = by_path(new);
    let mut plan = Vec::new();
    let paths: BTreeSet<&str> = base.keys().chain(theirs.keys()).copied().collect();
    for path in paths {
        let class = match theirs.get(path) {
            Some(_) => new_template.policy.class(path),
            None => old_template.policy.class(path),
        };
        // A file the team could edit until now (or a file of its own where
        // the template puts a new managed one) is merged one last time when
        // it becomes managed: its edits stay, and `rampart check` names it.
        let was = moves
            .iter()
            .find(|(_, to)| to == path)
            .map_or(path, |(from, _)| from);
        let was_theirs =
            !base.contains_key(path) || old_template.policy.class(was) != Class::Managed;
        let class = match class {
            Class::Managed if was_theirs => Class::Merged,
            class => class,
        };
        let stopped_from = stopped.iter().any(|(from, _)| from == path);
        // Where a stopped move's source is gone, a template file there is
        // new: the old one is the one that moved.
        let gone = stopped_from && fs::symlink_metadata(root.join(path)).is_err();
        let sides = Sides {
            base: base.get(path).copied().filter(|_| !gone),
            theirs: theirs.get(path).copied(),
        };
        let planned = if stopped.iter().any(|(_, to)| to == path) {
            beside_own_file(root, path, class, sides)?
        } else if stopped_from && sides.theirs.is_none() {
            None // not dropped: moved, and the move stopped
        } else {
            plan_file(root, path, class, sides, &moves, labels)?
        };
        plan.extend(planned);
    }
    Ok(plan)
}

/// Renames in order, chained: `a -> b` then `b -> c` is `a -> c`, since a
/// service two versions behind has its file at `a`.
fn compose(renames: &[(String, String)]) -> Vec<(String, String)> {
    let mut moves: Vec<(String, String)> = Vec::new();
    for (from, to) in renames {
        match moves.iter_mut().find(|(_, moved_to)| moved_to == from) {
            Some(chained) => chained.1 = to.clone(),
            None => moves.push((from.clone(), to.clone())),
        }
    }
    moves
}

/// One file's old and new render.
#[derive(Clone, Copy)]
struct Sides<'a> {
    base: Option<&'a RenderedFile>,
    theirs: Option<&'a RenderedFile>,
}

fn plan_file(
    root: &Path,
    path: &str,
    class: Class,
    sides: Sides,
    moves: &[(String, String)],
    labels: &Labels,
) -> Result<Option<Planned>, Error> {
    let moved_from = moves
        .iter()
        .find(|(_, to)| to == path)
        .map(|(from, _)| from);
    // The team's file at a path the template moves away is the moved
    // file's, not a version of a new file the template puts there.
    let moved_away = moves.iter().any(|(from, _)| from == path);
    let source = moved_from.map_or(path, String::as_str);
    let ours = match moved_from.is_none() && moved_away {
        true => None,
        false => read_file(root, source)?,
    };
    let ours_executable = ours.is_some() && modes::is_executable_at(&root.join(source));
    let team_bit = ours.as_ref().map(|_| ours_executable);
    let renamed_from = moved_from.filter(|_| ours.is_some()).cloned();
    let step = settle(class, sides.base, sides.theirs, ours.as_deref(), labels)
        .map(|step| with_mode(step, class, sides, team_bit))
        .or_else(|| mode_only(class, sides, ours.as_deref(), team_bit))
        .or_else(|| {
            // Unchanged contents, new place.
            renamed_from.as_ref().map(|_| {
                let executable = bit(class, sides, team_bit);
                Step::Write(
                    Outcome::Updated,
                    ours.clone().unwrap_or_default(),
                    executable,
                )
            })
        });
    Ok(step.map(|step| Planned {
        path: path.to_owned(),
        class,
        renamed_from,
        ours,
        ours_executable,
        step,
    }))
}

/// The team has a file of its own where the template moves one: both of
/// the team's files stay, the template's version goes beside (nothing to
/// do when the team made the same move already).
fn beside_own_file(
    root: &Path,
    path: &str,
    class: Class,
    sides: Sides,
) -> Result<Option<Planned>, Error> {
    let own = read_file(root, path)?.unwrap_or_default();
    let contents = sides.theirs.map_or_else(Vec::new, |f| f.contents.clone());
    Ok((contents != own).then(|| Planned {
        path: path.to_owned(),
        class,
        renamed_from: None,
        ours: Some(own),
        ours_executable: modes::is_executable_at(&root.join(path)),
        step: Step::Beside(Outcome::Conflicted, contents),
    }))
}

/// The executable bit a file ends with: a managed file's is the
/// template's; a seeded one keeps the team's; any other keeps the team's
/// when the team changed it, and takes the template's otherwise.
fn bit(class: Class, sides: Sides, team: Option<bool>) -> bool {
    let team_changed = matches!((sides.base, team), (Some(b), Some(t)) if b.executable != t);
    match (class, sides.theirs, team) {
        (Class::Managed, Some(theirs), _) => theirs.executable,
        (Class::Seeded, _, Some(team)) => team,
        (_, _, Some(team)) if team_changed => team,
        (_, Some(theirs), _) => theirs.executable,
        (_, None, team) => team.unwrap_or(false),
    }
}

/// Whether a managed file's bit is the team's change, which the template's
/// replaces.
fn replaces_team_bit(class: Class, sides: Sides, team: Option<bool>) -> bool {
    class == Class::Managed && matches!((sides.base, team), (Some(b), Some(t)) if b.executable != t)
}

/// A written file takes the bit `bit` decides; an update of a managed file
/// whose bit the team changed replaces the team's change.
fn with_mode(step: Step, class: Class, sides: Sides, team: Option<bool>) -> Step {
    match step {
        Step::Write(outcome, contents, _) => {
            let outcome = match outcome {
                Outcome::Updated if replaces_team_bit(class, sides, team) => Outcome::Replaced,
                outcome => outcome,
            };
            Step::Write(outcome, contents, bit(class, sides, team))
        }
        step => step,
    }
}

/// A file whose contents need nothing may still need its bit.
fn mode_only(class: Class, sides: Sides, ours: Option<&[u8]>, team: Option<bool>) -> Option<Step> {
    let (ours, current) = (ours?, team?);
    sides.theirs?;
    let wanted = bit(class, sides, team);
    let outcome = match replaces_team_bit(class, sides, team) {
        true => Outcome::Replaced,
        false => Outcome::Updated,
    };
    (wanted != current).then(|| Step::Write(outcome, ours.to_vec(), wanted))
}

/// Carries out `plan` and writes the state file, all under the undo
/// journal: a crash at any point leaves a tree the next run rolls back.
fn apply(root: &Path, plan: &[Planned], state: &str) -> Result<(), Error> {
    let mut touched: Vec<String> = vec![STATE_FILE.to_owned()];
    for planned in plan {
        touched.push(planned.path.clone());
        touched.extend(planned.renamed_from.clone());
        if matches!(planned.step, Step::Beside(..)) {
            touched.push(beside(&planned.path));
        }
    }
    let journal = Journal::begin(root, touched.iter().map(String::as_str))?;
    // Moved files leave first: a path a file moves away from may be where
    // the template puts a new one.
    for from in plan.iter().filter_map(|p| p.renamed_from.as_ref()) {
        remove_file(root, from)?;
    }
    for planned in plan {
        let path = &planned.path;
        // A moved file the update keeps as the team has it, at its new path.
        let moved = planned.renamed_from.as_ref().and(planned.ours.as_ref());
        match &planned.step {
            Step::Write(_, contents, executable) => write_file(root, path, contents, *executable)?,
            Step::Remove(_) => remove_file(root, path)?,
            Step::Keep(_) | Step::Beside(..) => {
                if let Some(contents) = moved {
                    write_file(root, path, contents, planned.ours_executable)?;
                }
            }
        }
        if let Step::Beside(_, contents) = &planned.step {
            write_file(root, &beside(path), contents, false)?;
        }
    }
    // Last: until the journal goes, running the update again redoes it.
    write::replace_file(&root.join(STATE_FILE), state.as_bytes())?;
    journal.finish()
}

/// What to do with one file.
enum Step {
    /// Write these bytes, executable or not.
    Write(Outcome, Vec<u8>, bool),
    Remove(Outcome),
    /// Leave the working tree's file (or its absence) as it is.
    Keep(Outcome),
    /// Leave the team's file as it is, and write the template's version
    /// beside it (`beside`), for the team to settle.
    Beside(Outcome, Vec<u8>),
}

impl Step {
    fn outcome(&self) -> Outcome {
        match self {
            Self::Write(o, ..) | Self::Remove(o) | Self::Keep(o) | Self::Beside(o, _) => *o,
        }
    }
}

/// Decides one file from its base (old render), theirs (new render) and ours
/// (working tree); `None` when there is nothing to do.
fn settle(
    class: Class,
    base: Option<&RenderedFile>,
    theirs: Option<&RenderedFile>,
    ours: Option<&[u8]>,
    labels: &Labels,
) -> Option<Step> {
    let base = base.map(|f| f.contents.as_slice());
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
            if [base, ours, new].iter().any(|side| side.contains(&0)) {
                // Binary: the team's copy stays, the template's goes beside.
                return Some(Step::Beside(Outcome::Conflicted, new.to_vec()));
            }
            let (merged, conflicts) = merge::merge_bytes(base, ours, new, labels);
            let outcome = if conflicts > 0 {
                Outcome::Conflicted
            } else {
                Outcome::Merged
            };
            write(outcome, &merged, theirs_file)
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
fn ensure_clean(root: &Path) -> Result<(), Error> {
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
    modes::set_executable(&full, executable)
}

fn remove_file(root: &Path, path: &str) -> Result<(), Error> {
    let full = root.join(path);
    match fs::remove_file(&full) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io("remove", full)(e)),
    }
    // Folders the file leaves empty go too (a moved folder leaves none
    // behind); `remove_dir` refuses a folder with anything in it.
    for dir in Path::new(path).ancestors().skip(1) {
        if dir.as_os_str().is_empty() || fs::remove_dir(root.join(dir)).is_err() {
            break;
        }
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn renames_chain_into_one_move() {
        let chained = compose(&pairs(&[("a", "b"), ("x", "y"), ("b", "c")]));
        assert_eq!(chained, pairs(&[("a", "c"), ("x", "y")]));
        assert_eq!(compose(&[]), []);
    }

    // Every combination of class, the old and new template's bit and the
    // team's: managed takes the template's, seeded keeps the team's, the
    // rest keep the team's change and otherwise take the template's.
    #[test]
    fn the_executable_bit_is_merged_like_contents() {
        let file = |executable| RenderedFile {
            path: "f".into(),
            contents: Vec::new(),
            executable,
        };
        for class in [Class::Managed, Class::Seeded, Class::Merged] {
            for (old, new, team) in bit_triples() {
                let (base, theirs) = (file(old), file(new));
                let sides = Sides {
                    base: Some(&base),
                    theirs: Some(&theirs),
                };
                let expected = match class {
                    Class::Managed => new,
                    Class::Seeded => team,
                    Class::Merged if team != old => team,
                    Class::Merged => new,
                };
                assert_eq!(
                    bit(class, sides, Some(team)),
                    expected,
                    "{class:?} {old} {new} {team}"
                );
                let replaced = class == Class::Managed && team != old;
                assert_eq!(replaces_team_bit(class, sides, Some(team)), replaced);
            }
        }
    }

    /// Every (old, new, team) triple of bits.
    fn bit_triples() -> Vec<(bool, bool, bool)> {
        (0..8)
            .map(|n| (n & 4 != 0, n & 2 != 0, n & 1 != 0))
            .collect()
    }

    // The texts `settle`'s table uses: the old render's (`B`, the base), the
    // new render's (`T`, theirs) and the team's own (`O`). The team changed
    // the first line and the template the last, so `O` and `T` merge cleanly
    // over `B`.
    const B: &[u8] = b"a\nb\nc\n";
    const T: &[u8] = b"a\nb\nC\n";
    const O: &[u8] = b"A\nb\nc\n";

    /// A class, the old render (`base`), the new render (`theirs`), and what
    /// `settle` decides for each working-tree copy (`ours`): none, `B`, `T`
    /// and `O`. A base of `T` is a file the template did not change; a base
    /// of `B` with theirs `T`, one it changed.
    type SettleRow = (
        Class,
        Option<&'static [u8]>,
        Option<&'static [u8]>,
        [Option<Outcome>; 4],
    );

    /// Every class, base (none, `T`, `B`) and theirs (none, `T`), with the
    /// outcome (`None`: nothing to do) for every copy of the team's.
    #[rustfmt::skip]
    const SETTLE_TABLE: &[SettleRow] = {
        use Outcome::*;
        // Dropped by the template, but not as it was: kept.
        const KEPT: Option<Outcome> = Some(KeptChanged);
        &[
            // The template dropped the file: a copy equal to its base goes,
            // any other stays; a seeded one always stays; a deleted one is gone.
            // class          base     theirs  ours: none  B              T              O
            (Class::Managed, None,    None,    [None,       KEPT,          KEPT,          KEPT]),
            (Class::Managed, Some(T), None,    [None,       KEPT,          Some(Removed), KEPT]),
            (Class::Managed, Some(B), None,    [None,       Some(Removed), KEPT,          KEPT]),
            (Class::Merged,  None,    None,    [None,       KEPT,          KEPT,          KEPT]),
            (Class::Merged,  Some(T), None,    [None,       KEPT,          Some(Removed), KEPT]),
            (Class::Merged,  Some(B), None,    [None,       Some(Removed), KEPT,          KEPT]),
            (Class::Seeded,  None,    None,    [None,       KEPT,          KEPT,          KEPT]),
            (Class::Seeded,  Some(T), None,    [None,       KEPT,          KEPT,          KEPT]),
            (Class::Seeded,  Some(B), None,    [None,       KEPT,          KEPT,          KEPT]),
            // Managed: the template's copy, whatever the team's; a copy
            // already equal to it needs nothing. (`plan` never asks with no
            // base or a base the team could edit: it settles those as merged.)
            (Class::Managed, None,    Some(T), [Some(Added),    Some(Replaced), None, Some(Replaced)]),
            (Class::Managed, Some(T), Some(T), [Some(Restored), Some(Replaced), None, Some(Replaced)]),
            (Class::Managed, Some(B), Some(T), [Some(Restored), Some(Updated),  None, Some(Replaced)]),
            // Seeded: written when new, never touched after; a deleted one
            // stays deleted.
            (Class::Seeded,  None,    Some(T), [Some(Added),      Some(KeptSeeded), None, Some(KeptSeeded)]),
            (Class::Seeded,  Some(T), Some(T), [None,             None,             None, None]),
            (Class::Seeded,  Some(B), Some(T), [Some(KeptSeeded), Some(KeptSeeded), None, Some(KeptSeeded)]),
            // Merged: three-way over the base; an unchanged template leaves
            // the team's copy alone, a deleted one stays deleted, and a file
            // of the team's own where the template adds one merges over an
            // empty base (both sides whole: a conflict).
            (Class::Merged,  None,    Some(T), [Some(Added),       Some(Conflicted), None, Some(Conflicted)]),
            (Class::Merged,  Some(T), Some(T), [None,              None,             None, None]),
            (Class::Merged,  Some(B), Some(T), [Some(KeptDeleted), Some(Updated),    None, Some(Merged)]),
        ]
    };

    fn rendered(path: &str, contents: &[u8]) -> RenderedFile {
        RenderedFile {
            path: path.into(),
            contents: contents.to_vec(),
            executable: false,
        }
    }

    /// `settle`'s outcome for a file at `path`.
    fn settled(
        path: &str,
        class: Class,
        base: Option<&[u8]>,
        theirs: Option<&[u8]>,
        ours: Option<&[u8]>,
    ) -> Option<Step> {
        let labels = Labels {
            ours: "your version (template v1)",
            theirs: "template v2",
        };
        let (base, theirs) = (
            base.map(|b| rendered(path, b)),
            theirs.map(|t| rendered(path, t)),
        );
        settle(class, base.as_ref(), theirs.as_ref(), ours, &labels)
    }

    #[test]
    fn settle_decides_every_combination_as_its_table_says() {
        let name = |side: Option<&[u8]>| match side {
            None => "none",
            Some(bytes) if bytes == B => "B",
            Some(bytes) if bytes == T => "T",
            Some(_) => "O",
        };
        let mut seen = BTreeSet::new();
        for &(class, base, theirs, outcomes) in SETTLE_TABLE {
            assert!(seen.insert(format!("{class:?} {} {}", name(base), name(theirs))));
            for (ours, expected) in [None, Some(B), Some(T), Some(O)].into_iter().zip(outcomes) {
                let outcome = settled("f", class, base, theirs, ours).map(|step| step.outcome());
                assert_eq!(
                    outcome,
                    expected,
                    "{class:?}: base {}, theirs {}, ours {}",
                    name(base),
                    name(theirs),
                    name(ours)
                );
            }
        }
        assert_eq!(seen.len(), 3 * 3 * 2, "every class, base and theirs once");
    }

    // What the table's texts cannot show: overlapping edits, binary files,
    // an empty file of the team's own, and a service's own Cargo.lock.
    #[test]
    fn settle_marks_conflicts_and_keeps_what_it_cannot_merge() {
        let overlapping: &[u8] = b"a\nb\nX\n";
        let step = settled("f", Class::Merged, Some(B), Some(T), Some(overlapping));
        assert!(
            matches!(&step, Some(Step::Write(Outcome::Conflicted, text, _)) if text.starts_with(b"a\nb\n<<<<<<< "))
        );
        // Binary: the team's copy stays, the template's goes beside it.
        let binary: &[u8] = b"\0A\nb\nc\n";
        let step = settled("f", Class::Merged, Some(B), Some(T), Some(binary));
        assert!(matches!(&step, Some(Step::Beside(Outcome::Conflicted, text)) if text == T));
        // An empty file of the team's equals the empty base a new file merges over.
        let step = settled("f", Class::Merged, None, Some(T), Some(b""));
        assert!(matches!(&step, Some(Step::Write(Outcome::Updated, text, _)) if text == T));
        // A lock file from before the template carried one stays the service's.
        let lock = lockfile::LOCK_FILE;
        for class in [Class::Managed, Class::Merged, Class::Seeded] {
            let outcome =
                |base, ours| settled(lock, class, base, Some(T), ours).map(|s| s.outcome());
            assert_eq!(
                outcome(None, Some(O)),
                Some(Outcome::KeptOwnLock),
                "{class:?}"
            );
            assert_eq!(
                outcome(None, Some(T)),
                Some(Outcome::KeptOwnLock),
                "{class:?}"
            );
            assert_eq!(outcome(None, None), Some(Outcome::Added), "{class:?}");
        }
        let merged = settled(lock, Class::Merged, Some(B), Some(T), Some(O));
        assert_eq!(merged.map(|s| s.outcome()), Some(Outcome::Merged));
    }
}
