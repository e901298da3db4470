//! Every query on the platform's tables, one module per table (the login
//! jail's counters on `users` have one of their own): handlers,
//! extractors and the command line call these functions and write no SQL.
//! Each takes any executor (the pool, or a transaction's connection as
//! `&mut *tx`), so a caller decides what runs in one transaction.
pub mod applications;
pub mod jail;
pub mod registrations;
pub mod sessions;
pub mod users;
