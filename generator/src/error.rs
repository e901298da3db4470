//! The one error type rampart reports, with the exit code each kind maps to.

use std::path::PathBuf;

/// Everything that can stop `rampart` from generating or updating a service.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid service name `{name}`: {reason}{}", suggestion_hint(.suggestion))]
    InvalidName {
        name: String,
        reason: String,
        suggestion: Option<String>,
    },

    #[error("invalid value `{value}` for `{key}`: expected one of {}", .choices.join(", "))]
    InvalidChoice {
        key: String,
        value: String,
        choices: Vec<String>,
    },

    #[error("invalid value `{value}` for `{key}`: expected `true` or `false`")]
    InvalidBool { key: String, value: String },

    #[error("unknown template setting `{key}`: the template declares {}", list_or_none(.known))]
    UnknownPlaceholder { key: String, known: Vec<String> },

    #[error("the template needs a value for `{key}`: pass --set {key}=VALUE")]
    MissingAnswer { key: String },

    #[error("`{key}` is set by rampart itself and cannot be overridden")]
    ReservedPlaceholder { key: String },

    #[error(
        "`{}` already exists and is not empty; choose another --path or remove it first",
        .path.display()
    )]
    TargetNotEmpty { path: PathBuf },

    #[error("`{}` already exists and is not a directory", .path.display())]
    TargetNotDirectory { path: PathBuf },

    #[error("the template is broken: {0}")]
    Template(String),

    #[error("template source: {0}")]
    Source(String),

    #[error("the template's update policy is refused: {0}")]
    Policy(String),

    #[error("{0}")]
    Refused(String),

    #[error("git: {0}")]
    Git(String),

    #[error("could not {action} `{}`: {source}", .path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("could not read random bytes from the operating system: {0}")]
    Random(getrandom::Error),

    #[error("could not write the state file: {0}")]
    State(#[from] toml::ser::Error),
}

impl Error {
    /// 2 for input the user can fix by changing arguments, 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::InvalidName { .. }
            | Self::InvalidChoice { .. }
            | Self::InvalidBool { .. }
            | Self::UnknownPlaceholder { .. }
            | Self::MissingAnswer { .. }
            | Self::ReservedPlaceholder { .. }
            | Self::TargetNotEmpty { .. }
            | Self::TargetNotDirectory { .. }
            | Self::Source(_)
            | Self::Policy(_)
            | Self::Refused(_) => 2,
            Self::Template(_)
            | Self::Git(_)
            | Self::Io { .. }
            | Self::Random(_)
            | Self::State(_) => 1,
        }
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io {
            action,
            path,
            source,
        }
    }
}

fn suggestion_hint(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(fixed) => format!(" (try `{fixed}`)"),
        None => String::new(),
    }
}

fn list_or_none(known: &[String]) -> String {
    if known.is_empty() {
        "no settings".to_owned()
    } else {
        known.join(", ")
    }
}
