//! Embeds `migrations/` in the binary: writes `$OUT_DIR/migrations.rs`, the
//! list of `(version, description, SQL)` that `db::migrator` reads. sqlx's
//! `migrate!` macro would do the same, but its macro crate compiles sqlx and
//! SQLite a second time, for the compiler: a fifth of a cold build.
use std::{env, fs, path::PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    let dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo")).join("migrations");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("migrations/ is readable")
        .map(|entry| entry.expect("migrations/ is readable").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "sql"))
        .collect();
    files.sort();
    let mut list = String::from("&[\n");
    for path in files {
        let (version, description) = name_parts(&path);
        let path = path.to_str().expect("the migrations' path is UTF-8");
        list += &format!("    ({version}, {description:?}, include_str!({path:?})),\n");
    }
    list += "]\n";
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("run by cargo")).join("migrations.rs");
    fs::write(out, list).expect("OUT_DIR is writable");
}

/// `0004_add_invoices.sql` is version 4, described as "add invoices": the
/// names and descriptions the `sqlx migrate` tool and `migrate!` give.
fn name_parts(path: &std::path::Path) -> (i64, String) {
    let name = path
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or_default();
    let rest = name.strip_suffix(".sql").unwrap_or(name);
    if rest.ends_with(".up") || rest.ends_with(".down") {
        panic!(
            "migrations/{name}: migrations only go forward (expand, then contract); write a new one instead of a down migration"
        );
    }
    rest.split_once('_')
        .and_then(|(version, description)| {
            Some((version.parse().ok()?, description.replace('_', " ")))
        })
        .unwrap_or_else(|| {
            panic!(
                "migrations/{name}: name it <VERSION>_<DESCRIPTION>.sql, e.g. 0004_add_invoices.sql"
            )
        })
}
