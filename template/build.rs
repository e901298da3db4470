//! `sqlx::migrate!` embeds `migrations/` at compile time, but cargo only
//! reruns the macro when a Rust source changes: without this, a new migration
//! would be missing from the next build, and from the compat step's proof.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
