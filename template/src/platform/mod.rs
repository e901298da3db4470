//! The platform: Rampart's security core. Every file under `src/platform/`
//! is managed by the template: `rampart update` replaces it and `rampart
//! check` fails when a service's copy differs, so a change here belongs in
//! the template, not in one service. The crate root re-exports these
//! modules (`crate::auth`, `crate::error`, ...), the paths code uses.
//!
//! Services extend the platform through the seams at the crate root, which
//! are theirs: `config` (settings), `state` (what handlers reach), `routes`
//! (their resources, served behind the platform's sign-in) and `domain`
//! (their types).
pub mod auth;
pub mod classification;
pub mod cli;
pub mod db;
pub mod encryption;
pub mod error;
pub mod extract;
pub mod http;
pub mod input;
pub mod mail;
pub mod openapi;
pub mod paging;
pub mod routes;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod xml;
