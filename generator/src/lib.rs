//! Rampart scaffolds secure Rust HTTP API services from a cargo-generate
//! template (built in, or a team's git source), producing the same bytes as
//! `cargo generate`, and keeps them up to date as the template moves on.

// Short functions, read at once (threshold in clippy.toml).
#![warn(clippy::too_many_lines)]

mod answers;
pub mod check;
pub mod cli;
mod error;
pub mod fleet;
mod git;
mod journal;
mod lockfile;
mod merge;
mod modes;
mod name;
mod new;
mod paths;
pub mod policy;
mod render;
mod secret;
mod source;
mod state;
mod template;
pub mod update;
mod write;

pub use answers::Answer;
pub use error::Error;
pub use new::{Created, NewOptions, new_service, new_service_with_answers};
