//! Rampart scaffolds secure Rust HTTP API services from an embedded
//! cargo-generate template, producing the same bytes as `cargo generate`.

pub mod answers;
pub mod cli;
mod error;
mod git;
pub mod merge;
pub mod name;
mod new;
pub mod render;
pub mod secret;
pub mod state;
pub mod template;
pub mod write;

pub use error::Error;
pub use new::{Created, NewOptions, new_service, new_service_with_answers};
