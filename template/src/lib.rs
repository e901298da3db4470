#![forbid(unsafe_code)]
//! {{project-name}}: a Rampart service. `startup` wires the pieces below together.
//!
//! Two owners, one folder each: `platform/` is the template's security core
//! (managed: `rampart update` keeps it equal to the template), and the
//! modules beside it are the service's own.

pub mod platform;

// The platform's modules, at the paths the service's code names them by.
pub use platform::{
    classification, cli, db, encryption, error, extract, http, input, mail, openapi, paging,
    startup, telemetry, xml,
};

/// The platform's `auth`, with the service's scopes (`scopes`) beside the
/// platform's in `auth::scope`.
pub mod auth {
    pub use crate::platform::auth::*;

    pub mod scope {
        pub use crate::platform::auth::scope::*;
        pub use crate::scopes::*;
    }
}

// The service's own: its settings, state, resources and their scopes,
// storage and domain types.
pub mod config;
pub mod domain;
pub mod routes;
pub mod scopes;
pub mod state;
pub mod store;
