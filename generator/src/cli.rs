//! Command-line interface: argument parsing, error reporting and the
//! summary printed after a service is created.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::check::{self, CheckReport};
use crate::fleet;
use crate::template::{Kind, Template};
use crate::update::{self, UpdateOptions};
use crate::{Created, Error, NewOptions, new_service_with_answers};

const NEW_EXAMPLES: &str = "\
Examples:
  rampart new orders-api
  rampart new billing --database postgres --path services/billing --no-git
  rampart new billing --template git@github.com:acme/rampart.git@v3";

const UPDATE_EXAMPLES: &str = "\
Examples:
  rampart update --dry-run
  rampart update --path services/billing --to v4
  rampart update --set database=postgres

Exit status: 0 updated (or already up to date), 5 updated with conflicts to
resolve, 2 refused (dirty tree, downgrade, bad answer), 1 other errors.";

const CHECK_EXAMPLES: &str = "\
Exit status: 0 up to date, 3 an update is available, 4 a managed file
differs from the template in contents or executable bit (drift; wins over 3),
5 conflicts an update left are unresolved: conflict markers, or a
PATH.rampart-template beside a file it could not merge (wins over 3 and 4),
2 or 1 on errors.";

const FLEET_EXAMPLES: &str = "\
Examples:
  rampart fleet services/* --to v4
  rampart fleet services/* --verify 'cargo test --locked'

Each service with changes gets a branch rampart/template-VERSION (plus its
folder, for services below their repository's root) holding one commit; the
repository's current branch and working tree are left as they were. A
repository with any uncommitted change or untracked file is refused. Run
again, a branch holding the same result is `already proposed`, a stale one of
rampart's own is moved, and one with commits of its own is left alone (failed).
Exit status: 0 all updated or up to date, 5 some have conflicts, 1 some failed
or failed --verify.";

/// Exit status of an update that left conflicts to resolve.
const CONFLICTS: u8 = check::CONFLICTS;

/// Scaffold secure Rust HTTP API services.
///
/// Services come from the Rampart template built into this binary, or from a
/// team's template source (a git repository with a `template/` folder), and
/// are byte-identical to what `cargo generate` renders from the same
/// template. `update`, `check` and `fleet` keep them current as it moves on.
#[derive(Debug, Parser)]
#[command(name = "rampart", version, after_help = NEW_EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a new service directory from the built-in template.
    ///
    /// Writes the rendered template plus a `.env` holding a fresh local JWT
    /// secret (mode 0600, git-ignored) and `.rampart.toml` recording how the
    /// service was generated. Nothing is written if any check fails.
    #[command(after_help = NEW_EXAMPLES)]
    New(NewArgs),

    /// Move a service to a newer template version, keeping the team's edits.
    ///
    /// Renders the recorded and the new version with the stored answers and
    /// settles each file by its ownership class: managed files take the
    /// template's version, merged files are merged three-way (overlapping
    /// edits get inline conflict markers), seeded files stay the team's.
    /// Files the team deleted stay deleted; files the template dropped are
    /// removed only when unchanged. `.rampart.toml` is written last.
    #[command(after_help = UPDATE_EXAMPLES)]
    Update(UpdateArgs),

    /// Tell whether a service is up to date and its managed files untouched.
    #[command(after_help = CHECK_EXAMPLES)]
    Check(CheckArgs),

    /// Update many services at once, each on a new branch with one commit.
    #[command(after_help = FLEET_EXAMPLES)]
    Fleet(FleetArgs),
}

#[derive(Debug, Args)]
struct TemplateArgs {
    /// Where the template source is now, as PATH or URL[@REV] (default: the
    /// source `.rampart.toml` records). It must hold the recorded version.
    #[arg(long, value_name = "SOURCE")]
    template: Option<String>,

    /// The template version to move to: a tag or commit of the source
    /// (default: its newest, HEAD).
    #[arg(long, value_name = "REV")]
    to: Option<String>,

    /// Change an answer, e.g. `--set database=postgres`. Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    set: Vec<(String, String)>,
}

#[derive(Debug, Args)]
struct UpdateArgs {
    /// The service's folder.
    #[arg(long, value_name = "DIR", default_value = ".")]
    path: PathBuf,

    #[command(flatten)]
    template: TemplateArgs,

    /// Run even though the git tree has uncommitted changes.
    #[arg(long)]
    allow_dirty: bool,

    /// Print the changes as a diff and touch nothing.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// The service's folder.
    #[arg(long, value_name = "DIR", default_value = ".")]
    path: PathBuf,

    /// Where the template source is now, as PATH or URL[@REV] (default: the
    /// source `.rampart.toml` records; REV defaults to its newest).
    #[arg(long, value_name = "SOURCE")]
    template: Option<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Debug, Args)]
struct FleetArgs {
    /// The services' folders, each in a git repository with a clean tree.
    #[arg(value_name = "DIR", required = true)]
    services: Vec<PathBuf>,

    #[command(flatten)]
    template: TemplateArgs,

    /// Run this shell command (`sh -c`) in each service with its new branch
    /// checked out, e.g. `cargo test`; its output goes to a log per service.
    #[arg(long, value_name = "COMMAND")]
    verify: Option<String>,

    /// Where --verify writes its logs; keep it outside the services'
    /// repositories [default: a new folder in the system's temp dir].
    #[arg(long, value_name = "DIR", requires = "verify")]
    logs: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct NewArgs {
    /// Service name in lowercase kebab-case (e.g. orders-api); it also names
    /// the crate (orders_api) and the default directory.
    #[arg(value_name = "NAME")]
    name: String,

    /// Database the service uses (choices are read from the template).
    #[arg(long, value_name = "DATABASE")]
    database: Option<String>,

    /// Directory for the service; must not exist or be empty [default: ./NAME].
    #[arg(long, value_name = "DIR")]
    path: Option<PathBuf>,

    /// Do not run `git init` in the new directory.
    #[arg(long)]
    no_git: bool,

    /// Answer any template placeholder, e.g. `--set database=postgres`. Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    set: Vec<(String, String)>,

    /// Template source as PATH or URL[@REV]: a git repository with a
    /// `template/` folder, such as a team's fork of Rampart [default: the
    /// template built into rampart].
    #[arg(long, value_name = "SOURCE")]
    template: Option<String>,
}

fn parse_key_value(raw: &str) -> Result<(String, String), String> {
    match raw.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("expected KEY=VALUE, got `{raw}`")),
    }
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let matches = command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// The clap command, with `--database` help listing the template's choices.
fn command() -> clap::Command {
    let database = Template::builtin()
        .and_then(|t| t.placeholders())
        .ok()
        .and_then(|all| all.into_iter().find(|p| p.name == "database"));
    let Some(database) = database else {
        return Cli::command();
    };
    let mut help = String::from("Database the service uses");
    if let Kind::Text {
        choices: Some(choices),
    } = &database.kind
    {
        help.push_str(&format!(" [possible values: {}]", choices.join(", ")));
    }
    if let Some(default) = &database.default {
        help.push_str(&format!(" [default: {default}]"));
    }
    Cli::command().mut_subcommand("new", |new| new.mut_arg("database", |arg| arg.help(help)))
}

fn run(cli: Cli) -> Result<u8, Error> {
    match cli.command {
        Command::New(args) => {
            let opts = NewOptions {
                name: args.name,
                database: args.database,
                path: args.path,
                git: !args.no_git,
                template: args.template,
            };
            let created = new_service_with_answers(&opts, &args.set)?;
            for warning in &created.warnings {
                eprintln!("warning: {warning}");
            }
            print!("{}", summary(&opts.name, &created));
            Ok(0)
        }
        Command::Update(args) => {
            service_dir(&args.path)?;
            let opts = update_options(args.path, args.template, args.allow_dirty, args.dry_run);
            let report = update::update(&opts)?;
            if report.is_noop() {
                println!("already up to date with template {}", report.to);
                return Ok(0);
            }
            if opts.dry_run {
                print!("{}", report.diff);
                println!("dry run: nothing was written");
            }
            print!("{}", report.summary());
            let conflicts = report.conflicted();
            if conflicts.is_empty() {
                Ok(0)
            } else {
                println!("conflicts to resolve: {}", conflicts.join(", "));
                Ok(CONFLICTS)
            }
        }
        Command::Check(args) => {
            let report: CheckReport =
                check::check(service_dir(&args.path)?, args.template.as_deref())?;
            match args.format {
                Format::Text => print!("{}", report.summary()),
                Format::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&report)
                        .map_err(|e| Error::Refused(e.to_string()))?
                ),
            }
            Ok(report.exit_code())
        }
        Command::Fleet(args) => {
            let opts = update_options(PathBuf::new(), args.template, false, false);
            let verify = args
                .verify
                .map(|command| fleet::Verify::new(command, args.logs));
            let rows = fleet::fleet_with(&args.services, &opts, verify.as_ref());
            print!("{}", fleet::table(&rows));
            if let Some(verify) = &verify
                && rows.iter().any(|r| r.verification.is_some())
            {
                println!("verification logs: {}", verify.logs.display());
            }
            Ok(if rows.iter().any(|r| r.failed() || r.verify_failed()) {
                1
            } else if rows.iter().any(|r| r.conflicted > 0) {
                CONFLICTS
            } else {
                0
            })
        }
    }
}

/// The service folder `--path` names, checked before anything reads it, so
/// that a mistyped path is not reported as a folder without `.rampart.toml`.
fn service_dir(path: &Path) -> Result<&Path, Error> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => Ok(path),
        Ok(_) => Err(Error::Refused(format!(
            "{} is not a directory",
            path.display()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(Error::Refused(format!("{} does not exist", path.display())))
        }
        Err(e) => Err(Error::io("inspect", path)(e)),
    }
}

fn update_options(
    path: PathBuf,
    template: TemplateArgs,
    allow_dirty: bool,
    dry_run: bool,
) -> UpdateOptions {
    UpdateOptions {
        path,
        template: template.template,
        to: template.to,
        set: template.set,
        allow_dirty,
        dry_run,
    }
}

/// What was created and how to start it.
fn summary(name: &str, created: &Created) -> String {
    let dir = created.path.display();
    let database = created.answers.get("database").map(ToString::to_string);
    let run_note = match database.as_deref() {
        Some("sqlite") => "serves http://127.0.0.1:8080 with its embedded SQLite database",
        Some("postgres") => {
            "serves http://127.0.0.1:8080; needs PostgreSQL: set APP_DATABASE_URL \
             or run a server on 127.0.0.1:5432"
        }
        _ => "serves http://127.0.0.1:8080",
    };
    let answers: Vec<String> = created
        .answers
        .iter()
        .map(|(key, value)| format!("{key}: {value}"))
        .collect();
    let git = if created.git_initialized {
        ", git repository initialized"
    } else {
        ""
    };
    format!(
        "Created service `{name}` in {dir} ({answers}{git}).\n\
         \n\
         Next steps:\n\
         \x20 cd {dir}\n\
         \x20 cargo run    # {run_note}\n\
         \x20 cargo test\n\
         \n\
         .env holds fresh APP_JWT_SECRET and APP_DATA_KEYS for local development only. It is git-ignored:\n\
         never commit it, and give each deployed environment its own secret.\n",
        answers = answers.join(", "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_definition_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn key_values_parse() {
        assert_eq!(parse_key_value("a=b=c"), Ok(("a".into(), "b=c".into())));
        assert!(parse_key_value("=x").is_err());
        assert!(parse_key_value("novalue").is_err());
    }

    #[test]
    fn help_lists_database_choices() {
        let mut cmd = command();
        let help = cmd
            .find_subcommand_mut("new")
            .expect("new subcommand")
            .render_help()
            .to_string();
        assert!(help.contains("sqlite, postgres"), "{help}");
    }
}
