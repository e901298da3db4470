//! Black-box tests: each starts the real server on port 0 with a fresh
//! database and talks to it over HTTP. Test names carry the checklist ids
//! they prove.
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
mod helpers;
mod jail;
mod keys;
mod logging;
mod migrations;
mod openapi;
mod orders;
mod query_credentials;
mod refresh;
mod registration;
mod sessions;
mod shutdown;
mod transport;
