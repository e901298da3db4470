//! Thin entry point: everything lives in the library so tests drive the same code.
use clap::Parser;

use {{crate_name}}::cli::{self, Cli};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    cli::run(Cli::parse()).await
}
