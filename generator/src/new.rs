//! `rampart new`: validate everything, render in memory, then write at once.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::answers::{self, Answer};
use crate::paths::STATE_FILE;
use crate::secret::{self, ENV_FILE};
use crate::source::{self, Source};
use crate::state::State;
use crate::write::{self, ExtraFile};
use crate::{Error, git, name, render};

/// What to generate; the CLI's `new` subcommand maps onto this one to one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOptions {
    /// Lowercase kebab-case service name, e.g. `orders-api`.
    pub name: String,
    /// One of the template's database choices; `None` takes its default.
    pub database: Option<String>,
    /// The service's own directory; `None` means `./NAME`.
    pub path: Option<PathBuf>,
    /// Run `git init` in the new directory.
    pub git: bool,
    /// Template source as `SOURCE[@REV]` (a git clone or URL with a
    /// `template/` folder); `None` is the template built into rampart.
    pub template: Option<String>,
}

/// A service that now exists on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    /// The service's directory.
    pub path: PathBuf,
    /// The answer used for every template placeholder, defaults included.
    pub answers: BTreeMap<String, Answer>,
    /// Relative paths of the rendered template files (sorted, without `.env`
    /// and `.rampart.toml`).
    pub files: Vec<String>,
    /// Whether `git init` ran and succeeded.
    pub git_initialized: bool,
    /// Problems that did not stop generation (e.g. git missing).
    pub warnings: Vec<String>,
}

/// Generates a service as described by `opts`.
pub fn new_service(opts: &NewOptions) -> Result<Created, Error> {
    new_service_with_answers(opts, &[])
}

/// Like [`new_service`], with extra `(placeholder, value)` answers for any
/// placeholder the template declares; `opts.database` wins over `database` here.
pub fn new_service_with_answers(
    opts: &NewOptions,
    extra: &[(String, String)],
) -> Result<Created, Error> {
    name::validate(&opts.name)?;
    let mut given = extra.to_vec();
    if let Some(database) = &opts.database {
        given.push(("database".to_owned(), database.clone()));
    }
    let (location, rev) =
        source::split_revision(opts.template.as_deref().unwrap_or(source::BUILTIN));
    let source = Source::open(location)?;
    let version = source.resolve(rev)?;
    let template = source.load(&version)?;
    let answers = answers::resolve(&template.placeholders()?, &given)?;
    let target = opts
        .path
        .clone()
        .unwrap_or_else(|| PathBuf::from(&opts.name));
    // Fail on a taken directory before doing any work.
    write::check_target(&target)?;

    let rendered = render::render(&template, &opts.name, &answers)?;
    let env = secret::env_file()?;
    let state = State::new(
        &source,
        &version,
        &opts.name,
        &answers,
        &rendered,
        &template.policy,
    )
    .to_toml()?;
    write::write_service(
        &target,
        &rendered,
        &[
            ExtraFile {
                path: ENV_FILE,
                contents: env.as_bytes(),
                mode: 0o600,
            },
            ExtraFile {
                path: STATE_FILE,
                contents: state.as_bytes(),
                mode: 0o666,
            },
        ],
    )?;

    let mut warnings = Vec::new();
    let mut git_initialized = false;
    if opts.git {
        match git::init(&target) {
            Ok(()) => git_initialized = true,
            Err(warning) => warnings.push(format!(
                "{warning}; the service was created without a git repository"
            )),
        }
    }

    Ok(Created {
        path: target,
        answers,
        files: rendered.files.into_iter().map(|f| f.path).collect(),
        git_initialized,
        warnings,
    })
}
