//! Command-line interface: argument parsing, error reporting and the
//! summary printed after a service is created.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::template::{self, Kind};
use crate::{Created, Error, NewOptions, new_service_with_answers};

const NEW_EXAMPLES: &str = "\
Examples:
  rampart new orders-api
  rampart new billing --database postgres --path services/billing --no-git";

/// Scaffold secure Rust HTTP API services.
///
/// Services come from the Rampart template built into this binary and are
/// byte-identical to what `cargo generate` renders from the same template.
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
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// The clap command, with `--database` help listing the template's choices.
fn command() -> clap::Command {
    let database = template::placeholders()
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

fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::New(args) => {
            let opts = NewOptions {
                name: args.name,
                database: args.database,
                path: args.path,
                git: !args.no_git,
            };
            let created = new_service_with_answers(&opts, &args.set)?;
            for warning in &created.warnings {
                eprintln!("warning: {warning}");
            }
            print!("{}", summary(&opts.name, &created));
            Ok(())
        }
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
