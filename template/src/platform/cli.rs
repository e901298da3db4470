//! Command line: `serve` (the default), `migrate`, `create-admin`, `app`.
use std::io::BufRead;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::{
    auth::{Passwords, application},
    config::Settings,
    db,
    input::{Email, Password},
    platform::store::users,
    startup::Application,
    telemetry,
};

#[derive(Parser)]
#[command(version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Apply migrations and serve the API (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Create an administrator, or promote an existing account; reads the password from stdin.
    CreateAdmin {
        /// E-mail address of the administrator.
        #[arg(long)]
        email: String,
    },
    /// Manage the keys of calling applications (AUTH-08).
    #[command(subcommand)]
    App(AppCommand),
}

#[derive(Subcommand)]
pub enum AppCommand {
    /// Create an application, or give an existing one a new key; prints the key once.
    Create {
        /// Unique name of the application.
        #[arg(long)]
        name: String,
        /// A scope the application may use; repeat for several.
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
    },
    /// Revoke an application's key; its next request is refused.
    Revoke {
        #[arg(long)]
        name: String,
    },
    /// List applications with their scopes and state.
    List,
}

/// Runs the command on a new Tokio runtime. The runtime starts here rather
/// than in `main`: `block_on` is generic over the future it drives, so called
/// from the binary it compiled the service's whole async call tree a second
/// time, in the binary's crate and after the library (17 s of a cold release
/// build, on one core).
pub fn execute(cli: Cli) -> anyhow::Result<()> {
    // A local `.env` is a development convenience; real deployments set the
    // environment. It is read before the runtime starts any thread: setting
    // environment variables while other threads run is unsound.
    match dotenvy::dotenv() {
        Ok(_) => {}
        Err(e) if e.not_found() => {}
        Err(e) => return Err(e).context("reading .env"),
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    telemetry::init();
    let settings = Settings::from_env().context("configuration refused")?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            Application::build(settings)
                .await?
                .run_until_stopped()
                .await?
        }
        Command::Migrate => {
            let pool = db::connect(&settings.database_url).await?;
            db::migrate(&pool).await?;
            println!("migrations applied");
        }
        Command::CreateAdmin { email } => create_admin(settings, email).await?,
        Command::App(command) => manage_apps(settings, command).await?,
    }
    Ok(())
}

/// Reads the password as the first line of stdin, so it never appears in
/// shell history or the process list.
async fn create_admin(settings: Settings, email: String) -> anyhow::Result<()> {
    let email = Email::try_from(email).map_err(|e| anyhow::anyhow!("--email {e}"))?;
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from stdin")?;
    let password = Password::try_from(line.trim_end_matches(['\r', '\n']).to_owned())
        .map_err(|e| anyhow::anyhow!("password {e}"))?;
    let pool = db::connect(&settings.database_url).await?;
    db::migrate(&pool).await?;
    upsert_admin(&pool, &Passwords::new(1).await?, &email, password).await?;
    println!("administrator {} is ready", email.as_str());
    Ok(())
}

async fn manage_apps(settings: Settings, command: AppCommand) -> anyhow::Result<()> {
    let pool = db::connect(&settings.database_url).await?;
    db::migrate(&pool).await?;
    match command {
        AppCommand::Create { name, scopes } => {
            let issued = application::issue_key(&pool, &name, &scopes).await?;
            println!(
                "application {name} ({}) has a new key; it is shown only now:",
                issued.id
            );
            println!("{}", issued.key);
        }
        AppCommand::Revoke { name } => {
            application::revoke_key(&pool, &name).await?;
            println!("the key of application {name} is revoked");
        }
        AppCommand::List => {
            for line in application::list(&pool).await? {
                println!("{line}");
            }
        }
    }
    Ok(())
}

/// Creates `email` as an administrator, or promotes, re-enables and unlocks
/// it (its login jail emptied), with a new password.
pub async fn upsert_admin(
    pool: &db::Db,
    passwords: &Passwords,
    email: &Email,
    password: Password,
) -> anyhow::Result<()> {
    let hash = passwords.hash(passwords.ticket()?, password).await?;
    users::upsert_admin(pool, email.as_str(), hash).await?;
    Ok(())
}
