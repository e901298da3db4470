//! Thin entry point: everything lives in the library so tests drive the same code.
use std::process::ExitCode;

use clap::Parser;

use {{crate_name}}::cli::{self, Cli};

fn main() -> ExitCode {
    match cli::execute(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // The cause chain on one line, without a backtrace: it is meant for operators.
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
