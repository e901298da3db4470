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
    before_the_platform_folder(&repo);
    commit_all(&repo, "v1: an older template");
    git(&repo, &["tag", "v1"]);
    git(&repo, &["revert", "--no-edit", "HEAD"]);
    git(&repo, &["tag", "v2"]);
    repo
}

/// Puts v1 back in the layout before `src/platform/`: every file the
/// policy's `2026-12-platform-*` migrations move goes back where it was,
/// the modules are declared where they were, and the policy is the one
/// before (no such migrations, the security files managed one by one).
/// The files' contents stay v2's: v1 is rendered and updated, never built.
fn before_the_platform_folder(repo: &Path) {
    let policy = repo.join("template-update.toml");
    let text = fs::read_to_string(&policy).unwrap();
    let (kept, moved) = text
        .split_once("\n# The platform's security core moved")
        .expect("the policy names the platform migrations");
    let t = repo.join("template");
    for line in moved.lines().filter(|l| l.starts_with("rename_file")) {
        let quoted: Vec<&str> = line.split('"').collect();
        let (from, to) = (t.join(quoted[1]), t.join(quoted[3]));
        fs::create_dir_all(from.parent().unwrap()).unwrap();
        fs::rename(&to, &from).unwrap_or_else(|e| panic!("{}: {e}", to.display()));
    }
    let old_managed = [
        "src/auth/**",
        "src/encryption.rs",
        "src/http/guards.rs",
        "src/http/rate_limit.rs",
        "src/xml.rs",
    ]
    .map(|p| format!("    \"{p}\",\n"))
    .concat();
    let kept = kept
        .replace("    \"src/platform/**\",\n", &old_managed)
        .replace("    \"tests/api/platform/**\",\n", "");
    fs::write(&policy, kept).unwrap();
    let src = t.join("src");
    let platform_routes = fs::read_to_string(src.join("platform/routes/mod.rs")).unwrap();
    let routes = platform_routes
        .replace("mod me;\n", "mod me;\nmod orders;\n")
        .replace("crate::routes::router()", "orders::router()");
    fs::write(src.join("routes/mod.rs"), routes).unwrap();
    let inputs = fs::read_to_string(src.join("platform/input/mod.rs")).unwrap();
    let domain = fs::read_to_string(src.join("domain/mod.rs")).unwrap();
    let (_, aliases) = domain.split_once("\n\n").unwrap();
    let domain = inputs.replace("use crate::classification::Internal;", "") + aliases;
    fs::write(src.join("domain/mod.rs"), domain).unwrap();
    fs::remove_dir_all(src.join("platform")).unwrap();
    let lib = fs::read_to_string(src.join("lib.rs")).unwrap();
    let (head, _) = lib.split_once("\n//!\n").unwrap();
    let modules = [
        "auth",
        "classification",
        "cli",
        "config",
        "db",
        "domain",
        "encryption",
        "error",
        "extract",
        "http",
        "mail",
        "openapi",
        "routes",
        "startup",
        "state",
        "telemetry",
        "xml",
    ]
    .map(|m| format!("pub mod {m};\n"))
    .concat();
    fs::write(src.join("lib.rs"), format!("{head}\n\n{modules}")).unwrap();
    let tests = t.join("tests/api");
    let main = fs::read_to_string(tests.join("main.rs")).unwrap();
    let (head, _) = main.split_once("mod helpers;").unwrap();
    let mut modules: Vec<String> = fs::read_dir(&tests)
        .unwrap()
        .filter_map(|entry| {
            let name = entry.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".rs")
                .filter(|m| *m != "main")
                .map(str::to_owned)
        })
        .collect();
    modules.sort();
    let modules: String = modules.iter().map(|m| format!("mod {m};\n")).collect();
    fs::write(tests.join("main.rs"), format!("{head}{modules}")).unwrap();
    fs::remove_dir_all(tests.join("platform")).unwrap();
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
    // A setting of the team's own, and a test of its own that uses it and
    // reaches the platform by the old paths (`{crate}::auth::...`).
    let settings = dir.join("src/config.rs");
    let team_setting = "/// Team: the page size the mobile client asks for.\npub const TEAM_PAGE_SIZE: u32 = 50;\n\n";
    let tests_module = "#[cfg(test)]\nmod tests {";
    edit(
        &settings,
        tests_module,
        &format!("{team_setting}{tests_module}"),
    );
    let crate_name = name.replace('-', "_");
    let team_test = format!(
        "\n#[tokio::test]\nasync fn team_settings_and_platform_paths_hold() {{\n    \
         let page_size = {crate_name}::config::TEAM_PAGE_SIZE;\n    \
         let failures = {crate_name}::auth::jail::MAX_FAILURES;\n    \
         assert_eq!((page_size, failures), (50, 5));\n    \
         let app = spawn_app().await;\n    \
         let response = app.client.get(app.url(\"/readyz\")).send().await.unwrap();\n    \
         assert_eq!(response.status(), StatusCode::OK);\n}}\n"
    );
    let team_tests = dir.join("tests/api/orders.rs");
    fs::write(
        &team_tests,
        fs::read_to_string(&team_tests).unwrap() + &team_test,
    )
    .unwrap();
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
    // The platform moved under src/platform/, managed whole, the team's
    // setting and test came along.
    for (path, expected) in [
        ("src/platform/http/mod.rs", Outcome::Updated),
        ("src/platform/auth/jail.rs", Outcome::Updated),
        ("src/platform/routes/auth.rs", Outcome::Updated),
        ("src/platform/mod.rs", Outcome::Added),
        ("tests/api/platform/jail.rs", Outcome::Updated),
        ("tests/api/platform/mod.rs", Outcome::Added),
    ] {
        assert_eq!(outcome(path), Some(expected), "{path}\n{summary}");
    }
    assert!(!dir.join("src/http").exists() && !dir.join("src/auth").exists());
    assert!(
        fs::read_to_string(&settings)
            .unwrap()
            .contains(team_setting)
    );
    assert!(
        fs::read_to_string(&team_tests)
            .unwrap()
            .ends_with(&team_test)
    );
    assert!(!dir.join("SECURITY.md").exists() && !dir.join("LEGACY.md").exists());
    commit_all(&dir, "template v2");
    dir
}
