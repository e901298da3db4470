//! The template's README promises, per checklist id, the tests that prove
//! it. This keeps the promise honest: every named test exists, and every
//! id is a well-formed checklist id mentioned by the test that proves it.
use std::{fs, path::Path};

fn template() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../template"))
}

/// `(id, [(file, test function)])` for each row of the conformance table.
fn conformance_rows() -> Vec<(String, Vec<(String, String)>)> {
    let readme = fs::read_to_string(template().join("README.md")).unwrap();
    let table = readme
        .split("## Checklist conformance")
        .nth(1)
        .expect("README has a Checklist conformance section");
    table
        .lines()
        .filter(|line| {
            line.starts_with("| ") && !line.starts_with("| Id") && !line.starts_with("|--")
        })
        .map(|line| {
            let cells: Vec<&str> = line.split(" | ").collect();
            let id = cells[0].trim_start_matches("| ").trim().to_owned();
            let proofs = cells
                .last()
                .unwrap()
                .split('`')
                .filter_map(|p| p.split_once("::"))
                .map(|(file, test)| (file.to_owned(), test.to_owned()))
                .collect();
            (id, proofs)
        })
        .collect()
}

#[test]
fn every_conformance_row_names_existing_tests_that_mention_its_id() {
    let rows = conformance_rows();
    assert!(rows.len() >= 20, "only {} rows", rows.len());
    let families = [
        "AUTH", "JWT", "OAUTH", "ACC", "IN", "PROC", "OUT", "OPS", "CI",
    ];
    for (id, proofs) in rows {
        let (family, number) = id.split_once('-').unwrap_or_else(|| panic!("bad id {id}"));
        assert!(
            families.contains(&family) && number.len() == 2 && number.parse::<u8>().is_ok(),
            "bad checklist id {id}"
        );
        assert!(!proofs.is_empty(), "{id} names no test");
        let needle = id.to_lowercase().replace('-', "_");
        let mut mentioned = false;
        for (file, test) in proofs {
            let source = fs::read_to_string(template().join(&file))
                .unwrap_or_else(|e| panic!("{id}: {file}: {e}"));
            let at = source
                .find(&format!("fn {test}("))
                .unwrap_or_else(|| panic!("{id}: no test `{test}` in {file}"));
            // The id is in the test's name or in the comment just above it.
            let above = &source[source[..at].rfind("\n\n").unwrap_or(0)..at];
            mentioned |= test.contains(&needle) || above.contains(&id);
        }
        assert!(mentioned, "{id}: none of its tests names it");
    }
}
