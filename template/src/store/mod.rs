//! The service's own storage: every query on its tables, one module per
//! resource, so handlers hold no SQL. Statements are static strings with
//! bound parameters (PROC-05); the platform's tables are in
//! `platform/store/`.
pub mod orders;
