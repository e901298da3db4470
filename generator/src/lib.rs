//! Rampart scaffolds secure Rust HTTP API services from a cargo-generate
//! template (built in, or a team's git source), producing the same bytes as
//! `cargo generate`, and keeps them up to date as the template moves on.

// Short functions, read at once (threshold in clippy.toml).
#![warn(clippy::too_many_lines)]

pub mod answers;
pub mod check;
pub mod cli;
mod error;
pub mod fleet;
mod git;
mod journal;
mod lockfile;
pub mod merge;
pub mod name;
mod new;
mod paths;
pub mod policy;
pub mod render;
pub mod secret;
pub mod source;
pub mod state;
pub mod template;
pub mod update;
pub mod write;

pub use error::Error;
pub use new::{Created, NewOptions, new_service, new_service_with_answers};
