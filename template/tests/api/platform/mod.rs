//! Tests of the platform's security properties, each named after the
//! checklist item it proves. Managed by the template: `rampart update`
//! keeps them equal to the template's, and `rampart check` reports any
//! change, so a property cannot lose its proof quietly.
mod access;
mod admin;
mod admin_listener;
mod applications;
mod auth;
mod classification;
mod encryption;
mod errors;
mod flood;
mod headers;
mod health;
mod jail;
mod keys;
mod logging;
mod migrations;
mod openapi;
mod query_credentials;
mod refresh;
mod registration;
mod sessions;
mod shutdown;
mod transport;
