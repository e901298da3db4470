//! A service that reaches the current template through `rampart update`: it
//! is generated from an older version (v1) of a template source, edited by
//! its team, then updated to the current template (v2) with a changed answer.
//! The rest of the end-to-end run then proves the updated service builds,
//! passes its own CI and serves.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use rampart::update::{Outcome, UpdateOptions, update};
use rampart::{NewOptions, new_service};

use crate::workdir::{commit_all, git};

/// Replaces the first `from` in the file, which must hold it.
fn edit(path: &Path, from: &str, to: &str) {
    let text = fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} lacks {from:?}", path.display());
    fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// A template source in `work/source`: v1 is the workspace's template made
/// older (each difference is a change v2 brings), v2 is the template itself.
fn template_source(work: &Path) -> PathBuf {
    let repo = work.join("source");
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    fs::create_dir_all(&repo).unwrap();
    for part in ["template", "template-update.toml"] {
        let status = Command::new("cp")
            .arg("-R")
            .arg(workspace.join(part))
            .arg(&repo)
            .status()
            .unwrap();
        assert!(status.success(), "copying {part}");
    }
    let _ = fs::remove_dir_all(repo.join("template/target"));
    git(&repo, &["init", "--quiet"]);
    commit_all(&repo, "v2: the current template");
    let t = repo.join("template");
    // Managed: v2 adds a line to deny.toml.
    edit(&t.join("deny.toml"), "allow-git = []\n", "");
    // Merged: v2 changes the README's title.
    edit(
        &t.join("README.md"),
        "# {{project-name}}\n",
        "# {{project-name}} service\n",
    );
    // Dropped by v2.
    fs::write(t.join("LEGACY.md"), "Replaced by README.md.\n").unwrap();
    // Added by v2.
    fs::remove_file(t.join(".github/dependabot.yml")).unwrap();
    // Changed by v2 in a file the team deletes.
    fs::write(
        t.join("SECURITY.md"),
        fs::read_to_string(t.join("SECURITY.md")).unwrap()
            + "\nOld contact: security@example.com\n",
    )
    .unwrap();
    commit_all(&repo, "v1: an older template");
    git(&repo, &["tag", "v1"]);
    git(&repo, &["revert", "--no-edit", "HEAD"]);
    git(&repo, &["tag", "v2"]);
    repo
}

/// Generates `name` from v1 (SQLite), commits it, makes the team's edits,
/// then updates it to v2 with `database` as the new answer. Returns its folder.
pub fn service(work: &Path, name: &str, database: &str) -> PathBuf {
    let source = template_source(work);
    let dir = work.join(name);
    new_service(&NewOptions {
        name: name.to_owned(),
        database: Some("sqlite".to_owned()),
        path: Some(dir.clone()),
        git: true,
        template: Some(format!("{}@v1", source.display())),
    })
    .unwrap_or_else(|e| panic!("rampart could not generate {name} from v1: {e}"));
    commit_all(&dir, "generated from template v1");

    // The team's edits, none overlapping the template's changes.
    edit(
        &dir.join("README.md"),
        "## Configuration\n",
        "## Configuration\n\nTeam note: production settings live in the ops vault.\n",
    );
    let handler = dir.join("src/routes/orders.rs");
    let ours = fs::read_to_string(&handler).unwrap() + "// Team: reviewed for the v2 launch.\n";
    fs::write(&handler, &ours).unwrap();
    fs::remove_file(dir.join("SECURITY.md")).unwrap();
    commit_all(&dir, "team edits");

    let report = update(&UpdateOptions {
        path: dir.clone(),
        set: vec![("database".to_owned(), database.to_owned())],
        ..UpdateOptions::default()
    })
    .unwrap_or_else(|e| panic!("rampart update failed on {name}: {e}"));
    let summary = report.summary();
    eprintln!("{summary}");
    assert!(report.conflicted().is_empty(), "{summary}");
    let outcome = |path: &str| {
        report
            .files
            .iter()
            .find(|f| f.path == path)
            .map(|f| f.outcome)
    };
    assert_eq!(outcome("deny.toml"), Some(Outcome::Updated), "{summary}");
    assert_eq!(outcome("README.md"), Some(Outcome::Merged), "{summary}");
    assert_eq!(outcome("LEGACY.md"), Some(Outcome::Removed), "{summary}");
    assert_eq!(
        outcome(".github/dependabot.yml"),
        Some(Outcome::Added),
        "{summary}"
    );
    assert_eq!(
        outcome("SECURITY.md"),
        Some(Outcome::KeptDeleted),
        "{summary}"
    );
    let readme = fs::read_to_string(dir.join("README.md")).unwrap();
    assert!(readme.starts_with(&format!("# {name}\n")), "{readme}");
    assert!(
        readme.contains("Team note: production settings"),
        "{readme}"
    );
    assert_eq!(fs::read_to_string(&handler).unwrap(), ours);
    assert!(!dir.join("SECURITY.md").exists() && !dir.join("LEGACY.md").exists());
    commit_all(&dir, "template v2");
    dir
}
