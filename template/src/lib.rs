#![forbid(unsafe_code)]
//! {{project-name}}: a Rampart service. `startup` wires the pieces below together.

pub mod auth;
pub mod classification;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod encryption;
pub mod error;
pub mod extract;
pub mod http;
pub mod mail;
pub mod openapi;
pub mod routes;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod xml;
