//! The template's README promises, per checklist id, the tests that prove
//! it. This keeps the promise honest: every named test exists, and every
//! id is a well-formed checklist id mentioned by the test that proves it.
use std::{fs, path::Path};

fn template() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../template"))
}

/// `(id, [(file, test function)])` for each row of the conformance table.
/// How a row proves its item: a test of the service, or a gate of its CI.
enum Proof {
    /// `file::test`, a Rust test in the service.
    Test(String, String),
    /// `ci/run STEP...`, steps of the service's local CI.
    Gate(Vec<String>),
}

fn conformance_rows() -> Vec<(String, Vec<Proof>)> {
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
                .skip(1)
                .step_by(2)
                .filter_map(|code| {
                    if let Some((file, test)) = code.split_once("::") {
                        Some(Proof::Test(file.to_owned(), test.to_owned()))
                    } else {
                        code.strip_prefix("ci/run").map(|steps| {
                            Proof::Gate(steps.split_whitespace().map(str::to_owned).collect())
                        })
                    }
                })
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
        for proof in proofs {
            match proof {
                Proof::Test(file, test) => {
                    let source = fs::read_to_string(template().join(&file))
                        .unwrap_or_else(|e| panic!("{id}: {file}: {e}"));
                    let at = source
                        .find(&format!("fn {test}("))
                        .unwrap_or_else(|| panic!("{id}: no test `{test}` in {file}"));
                    // The id is in the test's name or in the comment just above it.
                    mentioned |= test.contains(&needle) || comment_above(&source, at).contains(&id);
                }
                Proof::Gate(steps) => {
                    let runner = fs::read_to_string(template().join("ci/run")).unwrap();
                    if steps.is_empty() {
                        // The runner as a whole: its header says what it proves.
                        mentioned |= runner[..runner.find("\nset ").unwrap()].contains(&id);
                    }
                    for step in steps {
                        let at = runner
                            .find(&format!("\nstep_{}() {{", step.replace('-', "_")))
                            .unwrap_or_else(|| panic!("{id}: ci/run has no step {step}"));
                        // The id is in the comment just above the step.
                        mentioned |= comment_above(&runner, at + 1).contains(&id);
                    }
                }
            }
        }
        assert!(mentioned, "{id}: none of its tests names it");
    }
}

/// The paragraph of `source` just before byte `at`: a test's or a step's comment.
fn comment_above(source: &str, at: usize) -> &str {
    &source[source[..at].rfind("\n\n").unwrap_or(0)..at]
}
