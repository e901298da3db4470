//! Every query on the platform's tables, one module per table: handlers,
//! extractors and the command line call these functions and write no SQL.
//! Each takes any executor (the pool, or a transaction's connection as
//! `&mut *tx`), so a caller decides what runs in one transaction.
//!
//! Two tables keep their SQL beside the logic it is part of: the login
//! jail's counters on `users` (`auth/jail.rs`, atomic statements chosen by
//! budget) and `pending_registrations` (`auth/registration.rs`).
pub mod applications;
pub mod sessions;
pub mod users;
