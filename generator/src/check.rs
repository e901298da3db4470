//! `rampart check`: is the service on its template's newest version, and are
//! its managed files still exactly the template's? Reads the working tree
//! and the state file's hashes; writes nothing.

use std::path::Path;

use serde::Serialize;

use crate::Error;
use crate::policy::Class;
use crate::source::{self, Source};
use crate::state::{State, digest};

/// Exit status when the service is up to date and has no drift.
pub const UP_TO_DATE: u8 = 0;
/// Exit status when a newer template version is available.
pub const UPDATE_AVAILABLE: u8 = 3;
/// Exit status when a managed file differs from the template (wins over 3).
pub const DRIFT: u8 = 4;

#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub service: String,
    pub source: String,
    pub version: String,
    pub latest: String,
    pub update_available: bool,
    /// Managed files whose contents differ from the template's, or are missing.
    pub drifted: Vec<String>,
    pub status: &'static str,
}

impl CheckReport {
    pub fn exit_code(&self) -> u8 {
        if !self.drifted.is_empty() {
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
        for path in &self.drifted {
            out.push_str(&format!(
                "  DRIFT: {path} is managed by the template but differs from it \
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
    let latest = source.resolve(rev)?;
    let update_available = current != latest && source.precedes(&current, &latest)? != Some(false);
    // The policy of the version the files came from says which are managed;
    // a built-in template of another rampart version cannot be loaded, so the
    // newest policy stands in.
    let policy = match source.load(&current) {
        Ok(template) => template.policy,
        Err(_) => source.load(&latest)?.policy,
    };
    let mut drifted = Vec::new();
    for (path, recorded) in &state.files {
        if policy.class(path) != Class::Managed {
            continue;
        }
        let now = std::fs::read(root.join(path))
            .ok()
            .map(|bytes| digest(&bytes));
        if now.as_ref() != Some(recorded) {
            drifted.push(path.clone());
        }
    }
    let status = if !drifted.is_empty() {
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
        drifted,
        status,
    })
}
