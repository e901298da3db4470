//! `rampart check`: is the service on its template's newest version, are its
//! managed files still exactly the template's, and has every conflict an
//! update left been resolved? Reads the working tree and the state file's
//! hashes; writes nothing.

use std::collections::BTreeMap;
use std::fs::{self, Metadata};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::paths::STATE_FILE;
use crate::policy::{Class, Policy};
use crate::render::{Renderer, digest};
use crate::source::{self, Source, Version};
use crate::state::State;
use crate::{Error, merge, modes, update};

/// Exit status when the service is up to date and has no drift.
pub const UP_TO_DATE: u8 = 0;
/// Exit status when a newer template version is available.
pub const UPDATE_AVAILABLE: u8 = 3;
/// Exit status when a managed file differs from the template (wins over 3).
pub const DRIFT: u8 = 4;
/// Exit status while conflicts an update left are unresolved (wins over 3
/// and 4): the status `rampart update` exits with when it leaves them.
pub const CONFLICTS: u8 = 5;

#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub service: String,
    pub source: String,
    pub version: String,
    pub latest: String,
    pub update_available: bool,
    /// Managed files whose contents or executable bit differ from the
    /// template's, or that are missing.
    pub drifted: Vec<String>,
    /// The files of `drifted` whose contents match but whose executable bit
    /// does not.
    pub mode_drifted: Vec<String>,
    /// Files still holding an update's conflict markers, and the template's
    /// versions (`PATH.rampart-template`) an update left beside files it
    /// could not merge.
    pub conflicted: Vec<String>,
    pub status: &'static str,
}

impl CheckReport {
    pub fn exit_code(&self) -> u8 {
        if !self.conflicted.is_empty() {
            CONFLICTS
        } else if !self.drifted.is_empty() {
            DRIFT
        } else if self.update_available {
            UPDATE_AVAILABLE
        } else {
            UP_TO_DATE
        }
    }

    pub fn summary(&self) -> String {
        let mut out = format!(
            "{}: template {} from {}\n",
            self.service, self.version, self.source
        );
        if self.update_available {
            out.push_str(&format!(
                "  update available: {} -> {} (run `rampart update`)\n",
                self.version, self.latest
            ));
        } else {
            out.push_str("  up to date\n");
        }
        for path in &self.conflicted {
            out.push_str(&match path.strip_suffix(update::BESIDE_SUFFIX) {
                Some(file) => format!(
                    "  CONFLICT: {path} is the template's version of {file}, which update \
                     could not merge (bring its changes into {file}, delete it, then commit)\n"
                ),
                None => format!(
                    "  CONFLICT: {path} still holds conflict markers (resolve them, then commit)\n"
                ),
            });
        }
        for path in &self.drifted {
            let how = if self.mode_drifted.contains(path) {
                "its executable bit differs"
            } else {
                "differs from it"
            };
            out.push_str(&format!(
                "  DRIFT: {path} is managed by the template but {how} \
                 (restore it with `git checkout`, or change the template instead)\n"
            ));
        }
        out
    }
}

/// Checks the service in `root`; `template` overrides where its source is.
pub fn check(root: &Path, template: Option<&str>) -> Result<CheckReport, Error> {
    let state = State::read(root)?;
    let (location, rev) = match template {
        Some(spec) => source::split_revision(spec),
        None => (state.template.source.as_str(), None),
    };
    let source = Source::open(location)?;
    let current = state.version();
    ensure_held(root, &source, &current)?;
    let latest = source.resolve(rev)?;
    let update_available = current != latest && source.precedes(&current, &latest)? != Some(false);
    let (policy, modes) = recorded_template(&source, &current, &latest, &state)?;
    let found = inspect(root, &state, &policy, modes.as_ref())?;
    let status = if !found.conflicted.is_empty() {
        "conflicts"
    } else if !found.drifted.is_empty() {
        "drift"
    } else if update_available {
        "update-available"
    } else {
        "up-to-date"
    };
    Ok(CheckReport {
        service: state.name()?.to_owned(),
        source: source.location().to_owned(),
        version: current.label,
        latest: latest.label,
        update_available,
        drifted: found.drifted,
        mode_drifted: found.mode_drifted,
        conflicted: found.conflicted,
        status,
    })
}

/// Refuses a recorded commit the source lacks, which git alone would report
/// in its own words.
fn ensure_held(root: &Path, source: &Source, version: &Version) -> Result<(), Error> {
    match &version.commit {
        Some(commit) if !source.holds(version)? => Err(Error::Refused(format!(
            "{} records template commit {commit}, which {} does not have: was the \
             template's history rewritten? pass --template with a source that has it",
            root.join(STATE_FILE).display(),
            source.location()
        ))),
        _ => Ok(()),
    }
}

/// The policy of the version the files came from, which says which are
/// managed, and the executable bit of each file it rendered. A built-in
/// template of another rampart version cannot be loaded, so the newest
/// policy stands in; without a render, executable bits go unchecked.
fn recorded_template(
    source: &Source,
    current: &Version,
    latest: &Version,
    state: &State,
) -> Result<(Policy, Option<BTreeMap<String, bool>>), Error> {
    let template = match source.load(current) {
        Ok(template) => template,
        Err(_) => return Ok((source.load(latest)?.policy, None)),
    };
    let rendered = Renderer::new(&template)
        .and_then(|renderer| renderer.render(state.name()?, &state.placeholder_answers()));
    let modes = rendered.ok().map(|rendered| {
        rendered
            .files
            .into_iter()
            .map(|file| (file.path, file.executable))
            .collect()
    });
    Ok((template.policy, modes))
}

/// What the working tree shows against the state file.
#[derive(Debug, Default)]
struct Findings {
    drifted: Vec<String>,
    mode_drifted: Vec<String>,
    conflicted: Vec<String>,
}

/// Compares each recorded file with its hash (managed files also with the
/// executable bit in `modes`) and looks for the conflicts an update leaves.
fn inspect(
    root: &Path,
    state: &State,
    policy: &Policy,
    modes: Option<&BTreeMap<String, bool>>,
) -> Result<Findings, Error> {
    let mut found = Findings::default();
    for (path, recorded) in &state.files {
        // State::read checks these too; check never reads outside the service.
        crate::paths::confined(path).map_err(|why| {
            Error::Refused(format!(
                "{} lists the file `{path}`, which {why}; restore it from git",
                root.join(STATE_FILE).display()
            ))
        })?;
        let file = regular_file(root, path)?;
        let contents = match &file {
            Some((full, _)) => Some(fs::read(full).map_err(Error::io("read", full))?),
            None => None,
        };
        let unchanged = contents.as_deref().map(digest).as_ref() == Some(recorded);
        if policy.class(path) == Class::Managed {
            let wanted = modes.and_then(|modes| modes.get(path));
            let mode_differs = matches!((&file, wanted), (Some((_, meta)), Some(&executable))
                if modes::is_executable(meta) != executable);
            if !unchanged || mode_differs {
                found.drifted.push(path.clone());
            }
            if unchanged && mode_differs {
                found.mode_drifted.push(path.clone());
            }
        }
        // What rampart wrote is the template's text, markers and all.
        if !unchanged && contents.as_deref().is_some_and(has_conflict_block) {
            found.conflicted.push(path.clone());
        }
        let side = update::beside(path);
        if regular_file(root, &side)?.is_some() {
            found.conflicted.push(side);
        }
    }
    Ok(found)
}

/// The regular file `path` names below `root`, reached without following a
/// symbolic link (which could lead out of the service); `None` when there
/// is none.
fn regular_file(root: &Path, path: &str) -> Result<Option<(PathBuf, Metadata)>, Error> {
    let mut full = root.to_path_buf();
    let mut meta: Option<Metadata> = None;
    for part in path.split('/') {
        if meta.as_ref().is_some_and(|m| !m.is_dir()) {
            return Ok(None);
        }
        full.push(part);
        meta = match fs::symlink_metadata(&full) {
            Ok(m) => Some(m),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("inspect", full)(e)),
        };
    }
    Ok(meta.filter(Metadata::is_file).map(|m| (full, m)))
}

/// Whether `bytes` hold a conflict block as `rampart update` writes it: an
/// opening, a separator and a closing marker line with update's labels, in
/// that order. Only whole lines count, so text that merely mentions the
/// markers is no conflict.
fn has_conflict_block(bytes: &[u8]) -> bool {
    let opening = format!("{}{}", merge::OPENING, update::OURS_LABEL);
    let closing = format!("{}{}", merge::CLOSING, update::THEIRS_LABEL);
    let mut seen = 0; // marker lines found so far
    for line in bytes.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let next = match seen {
            0 => line.starts_with(opening.as_bytes()) && line.ends_with(b")"),
            1 => line == merge::SEPARATOR.as_bytes(),
            _ => line.starts_with(closing.as_bytes()),
        };
        if next {
            seen += 1;
            if seen == 3 {
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_whole_marker_lines_in_order_are_a_conflict() {
        let block = "a\n<<<<<<< your version (template v1)\nmine\n=======\ntheirs\n>>>>>>> template v2\nb\n";
        assert!(has_conflict_block(block.as_bytes()));
        assert!(has_conflict_block(block.replace('\n', "\r\n").as_bytes()));
        for text in [
            "Resolve `<<<<<<< your version (template v1)` markers, then `=======`\n",
            "<<<<<<< HEAD\nmine\n=======\ntheirs\n>>>>>>> main\n",
            ">>>>>>> template v2\n=======\n<<<<<<< your version (template v1)\n",
            "<<<<<<< your version (template v1)\nmine\n=======\ntheirs\n",
        ] {
            assert!(!has_conflict_block(text.as_bytes()), "{text}");
        }
    }

    // State::read refuses such paths too; this is check's own guard.
    #[test]
    fn a_recorded_path_outside_the_service_is_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("svc");
        fs::create_dir(&root).unwrap();
        fs::write(
            dir.path().join("secret"),
            "<<<<<<< your version (template v1)\n",
        )
        .unwrap();
        let state: State = toml::from_str(
            "[template]\nsource = \"builtin\"\nversion = \"0\"\n\
             [answers]\nproject-name = \"svc\"\n\
             [files]\n\"ci/../../secret\" = \"sha256:00\"\n",
        )
        .unwrap();
        let policy = Policy::parse("[ownership]\nmanaged = [\"ci/**\"]\n").unwrap();
        let err = inspect(&root, &state, &policy, None).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("`ci/../../secret`"), "{err}");
    }
}
