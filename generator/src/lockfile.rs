//! The Cargo.lock a new service starts with, so that its first build, its CI
//! and its Docker image resolve the dependencies the template was tested
//! with, not whatever was published since. A template carries one lock per
//! set of answers, listed in `locks/locks.toml` (a folder cargo-generate is
//! told to ignore); each is locked for a root package of any name, which
//! [`with_root`] renames after the service and moves to where cargo sorts
//! it, so the file is byte for byte what cargo itself writes.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::Error;
use crate::answers::Answer;
use crate::template::Template;

/// Lists the template's locks and the answers each is for.
pub const MANIFEST: &str = "locks/locks.toml";

/// Where a service's lock goes.
pub const LOCK_FILE: &str = "Cargo.lock";

/// One lock and the answers it was resolved for.
#[derive(Debug, Clone)]
pub struct Lock {
    pub answers: BTreeMap<String, Answer>,
    pub text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    #[serde(default)]
    lock: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    /// A file name in `locks/`.
    file: String,
    answers: BTreeMap<String, Answer>,
}

/// The locks `template` carries; none when it has no manifest.
pub fn locks(template: &Template) -> Result<Vec<Lock>, Error> {
    let bad = |msg: String| Error::Template(format!("{MANIFEST}: {msg}"));
    let read = |path: &str| {
        let file = template.files.iter().find(|f| f.path == path)?;
        Some(
            String::from_utf8(file.contents.clone())
                .map_err(|_| bad(format!("{path} is not UTF-8"))),
        )
    };
    let Some(manifest) = read(MANIFEST) else {
        return Ok(Vec::new());
    };
    let manifest: Manifest = toml::from_str(&manifest?).map_err(|e| bad(e.to_string()))?;
    manifest
        .lock
        .into_iter()
        .map(|entry| {
            if entry.file.contains('/') || entry.file.starts_with('.') {
                return Err(bad(format!(
                    "`{}` is not a file name in locks/",
                    entry.file
                )));
            }
            let path = format!("locks/{}", entry.file);
            let text = read(&path).ok_or_else(|| bad(format!("{path} is missing")))??;
            Ok(Lock {
                answers: entry.answers,
                text,
            })
        })
        .collect()
}

/// The first lock made for these answers: every answer it names has the
/// same value here.
pub fn pick<'a>(locks: &'a [Lock], answers: &BTreeMap<String, Answer>) -> Option<&'a Lock> {
    locks.iter().find(|lock| {
        lock.answers
            .iter()
            .all(|(key, value)| answers.get(key) == Some(value))
    })
}

/// `lock` with its root package (the one package without a `source`) called
/// `name` and placed among the others in cargo's order (by name, bytewise).
pub fn with_root(lock: &str, name: &str) -> Result<String, Error> {
    let bad = |msg: String| Error::Template(format!("Cargo.lock of the template: {msg}"));
    let start = lock
        .find("[[package]]\n")
        .ok_or_else(|| bad("no [[package]]".into()))?;
    let (preamble, body) = lock.split_at(start);
    // Entries are separated by one blank line; the packages come first, any
    // other section ([metadata], [[patch.unused]]) after them.
    let entries: Vec<&str> = body.trim_end_matches('\n').split("\n\n").collect();
    let is_package = |entry: &&str| entry.starts_with("[[package]]\n");
    let (mut packages, rest): (Vec<&str>, Vec<&str>) = entries.into_iter().partition(is_package);
    let roots: Vec<usize> = (0..packages.len())
        .filter(|&i| !packages[i].lines().any(|l| l.starts_with("source = ")))
        .collect();
    let [root] = roots[..] else {
        return Err(bad(format!(
            "{} packages without a source, not one root",
            roots.len()
        )));
    };
    let root = packages.remove(root);
    if packages.iter().any(|p| package_name(p) == Some(name)) {
        return Err(Error::Refused(format!(
            "`{name}` is the name of one of the template's dependencies: choose another name"
        )));
    }
    let renamed: String = root
        .lines()
        .map(|line| match line.starts_with("name = ") {
            true => format!("name = \"{name}\"\n"),
            false => format!("{line}\n"),
        })
        .collect();
    let at = packages
        .iter()
        .position(|p| package_name(p).is_some_and(|n| n > name))
        .unwrap_or(packages.len());
    let mut out = preamble.to_owned();
    let renamed = renamed.trim_end_matches('\n');
    packages.insert(at, renamed);
    out.push_str(&packages.join("\n\n"));
    for section in rest {
        out.push_str("\n\n");
        out.push_str(section);
    }
    out.push('\n');
    Ok(out)
}

fn package_name(entry: &str) -> Option<&str> {
    entry
        .lines()
        .find_map(|line| line.strip_prefix("name = \""))
        .and_then(|rest| rest.strip_suffix('"'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn package(name: &str, version: &str, registry: bool) -> String {
        let source = match registry {
            true => "source = \"registry+https://github.com/rust-lang/crates.io-index\"\n",
            false => "",
        };
        format!(
            "[[package]]\nname = \"{name}\"\nversion = \"{version}\"\n{source}dependencies = [\n \"x\",\n]"
        )
    }

    fn lock(packages: &[String]) -> String {
        format!(
            "# This file is automatically @generated by Cargo.\n# It is not intended for manual editing.\nversion = 4\n\n{}\n",
            packages.join("\n\n")
        )
    }

    fn names(lock: &str) -> Vec<String> {
        lock.split("\n\n")
            .filter_map(package_name)
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn the_root_moves_to_its_sorted_place() {
        let text = lock(&[
            package("alpha", "1.0.0", true),
            package("service", "0.1.0", false),
            package("zeta", "1.0.0", true),
        ]);
        let out = with_root(&text, "beta-api").unwrap();
        assert_eq!(names(&out), ["alpha", "beta-api", "zeta"]);
        assert_eq!(with_root(&out, "service").unwrap(), text);
        let last = with_root(&text, "zz").unwrap();
        assert_eq!(names(&last), ["alpha", "zeta", "zz"]);
    }

    #[test]
    fn bytewise_order_puts_hyphens_before_underscores() {
        let text = lock(&[
            package("serde", "1.0.0", true),
            package("serde_json", "1.0.0", true),
            package("root", "0.1.0", false),
        ]);
        let out = with_root(&text, "serde-api").unwrap();
        assert_eq!(names(&out), ["serde", "serde-api", "serde_json"]);
    }

    #[test]
    fn refuses_a_lock_without_exactly_one_root_or_a_dependency_name() {
        let two = lock(&[package("a", "0.1.0", false), package("b", "0.1.0", false)]);
        assert!(with_root(&two, "svc").is_err());
        let none = lock(&[package("a", "1.0.0", true)]);
        assert!(with_root(&none, "svc").is_err());
        let one = lock(&[
            package("tokio", "1.0.0", true),
            package("r", "0.1.0", false),
        ]);
        assert!(matches!(with_root(&one, "tokio"), Err(Error::Refused(_))));
        assert!(with_root("", "svc").is_err());
    }

    #[test]
    fn trailing_sections_stay_last() {
        let text = format!(
            "{}\n[[patch.unused]]\nname = \"p\"\nversion = \"1.0.0\"\n",
            lock(&[package("a", "1.0.0", true), package("root", "0.1.0", false)])
        );
        let out = with_root(&text, "zz").unwrap();
        assert!(
            out.ends_with("[[patch.unused]]\nname = \"p\"\nversion = \"1.0.0\"\n"),
            "{out}"
        );
        assert_eq!(names(&out), ["a", "zz", "p"]);
    }

    #[test]
    fn picks_the_lock_whose_answers_all_match() {
        let answers = |db: &str, macros: bool| {
            BTreeMap::from([
                ("database".to_owned(), Answer::Text(db.into())),
                ("sqlx_macros".to_owned(), Answer::Bool(macros)),
            ])
        };
        let locks = [
            Lock {
                answers: answers("sqlite", false),
                text: "s".into(),
            },
            Lock {
                answers: answers("postgres", false),
                text: "p".into(),
            },
        ];
        assert_eq!(pick(&locks, &answers("postgres", false)).unwrap().text, "p");
        assert!(pick(&locks, &answers("postgres", true)).is_none());
    }

    proptest! {
        /// Whatever the names, the renamed root sits in cargo's order, every
        /// other entry is kept byte for byte, and renaming back restores the
        /// original file.
        #[test]
        fn renaming_keeps_every_entry_and_the_order(
            mut deps in proptest::collection::btree_set("[a-z][a-z0-9_-]{0,12}", 1..20),
            root in "[a-z][a-z0-9_-]{0,12}",
            name in "[a-z][a-z0-9_-]{0,12}",
        ) {
            deps.remove(&root);
            prop_assume!(!deps.contains(&name) && !deps.is_empty());
            let mut packages: Vec<String> = deps.iter().map(|d| package(d, "1.0.0", true)).collect();
            let at = deps.iter().position(|d| d.as_str() > root.as_str()).unwrap_or(deps.len());
            packages.insert(at, package(&root, "0.1.0", false));
            let text = lock(&packages);

            let out = with_root(&text, &name).unwrap();
            let got = names(&out);
            let mut sorted = got.clone();
            sorted.sort();
            prop_assert_eq!(&got, &sorted);
            prop_assert_eq!(got.iter().filter(|n| **n == name).count(), 1);
            for dep in &deps {
                let entry = package(dep, "1.0.0", true);
                prop_assert!(out.contains(&entry));
            }
            prop_assert_eq!(with_root(&out, &root).unwrap(), text);
        }
    }
}
