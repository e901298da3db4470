//! The CI a new service gets, read as its first push would run it: every
//! build is locked to Cargo.lock, every base image is pinned by digest, the
//! toolchain is pinned, only pushes to the default branch and `v*` tags
//! deploy, after every check, and nothing but a newer push to the same pull
//! request cancels a run. What only GitHub can run (the jobs themselves, the
//! Docker build) these tests read; Rampart's end-to-end tests run the rest.

use std::path::Path;

use rampart::{NewOptions, new_service};

fn generated(database: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let created = new_service(&NewOptions {
        name: "ci-svc".into(),
        database: Some(database.into()),
        path: Some(dir.path().join("ci-svc")),
        git: false,
        template: None,
    })
    .unwrap();
    let path = created.path;
    (dir, path)
}

fn read(service: &Path, file: &str) -> String {
    std::fs::read_to_string(service.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// The jobs of a workflow: (name, its lines), from the two-space keys under `jobs:`.
fn jobs(workflow: &str) -> Vec<(String, Vec<String>)> {
    let mut jobs: Vec<(String, Vec<String>)> = Vec::new();
    let mut inside = false;
    for line in workflow.lines() {
        if line == "jobs:" {
            inside = true;
        } else if inside {
            let key = line.strip_prefix("  ").and_then(|l| l.strip_suffix(':'));
            match key {
                Some(name) if !name.starts_with(' ') && !name.starts_with('#') => {
                    jobs.push((name.to_owned(), Vec::new()))
                }
                _ => {
                    if let Some((_, lines)) = jobs.last_mut() {
                        lines.push(line.to_owned());
                    }
                }
            }
        }
    }
    jobs
}

#[test]
fn every_cargo_build_is_locked() {
    for database in ["sqlite", "postgres"] {
        let (_dir, service) = generated(database);
        assert!(
            service.join("Cargo.lock").is_file(),
            "{database}: no Cargo.lock"
        );
        for file in ["ci/run", "Dockerfile"] {
            let text = read(&service, file);
            let builds: Vec<&str> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.starts_with('#') && !l.starts_with("say ") && !l.starts_with("die "))
                .filter(|l| !l.contains("--version"))
                .filter(|l| {
                    [
                        "build", "test", "clippy", "llvm-cov", "install", "fetch", "deny",
                    ]
                    .iter()
                    .any(|sub| {
                        l.contains(&format!("cargo {sub} "))
                            || l.contains(&format!("cargo auditable {sub}"))
                    })
                })
                .collect();
            assert!(!builds.is_empty(), "{file}: no cargo command found");
            for line in builds {
                // The compat step builds the previous release locked when
                // that release has a Cargo.lock (older ones may not).
                assert!(
                    line.contains("--locked")
                        || line.contains("\"${locked[@]}\"")
                        || line.contains("cargo llvm-cov report"),
                    "{database} {file}: not --locked: {line}"
                );
            }
        }
    }
}

#[test]
fn base_images_and_the_toolchain_are_pinned_alike() {
    let (_dir, service) = generated("sqlite");
    let dockerfile = read(&service, "Dockerfile");
    let froms: Vec<&str> = dockerfile
        .lines()
        .filter(|l| l.starts_with("FROM "))
        .collect();
    assert_eq!(froms.len(), 2, "{froms:?}");
    for from in &froms {
        let image = from.split_whitespace().nth(1).unwrap();
        let (named, digest) = image
            .split_once("@sha256:")
            .unwrap_or_else(|| panic!("not pinned by digest: {from}"));
        assert!(named.contains(':'), "no tag beside the digest: {from}");
        assert!(
            digest.len() == 64 && digest.chars().all(|c| c.is_ascii_hexdigit()),
            "{from}"
        );
        assert!(
            !from.contains("${"),
            "an ARG in FROM, which Dependabot cannot bump: {from}"
        );
    }
    let toolchain = read(&service, "rust-toolchain.toml");
    let channel = toolchain
        .lines()
        .find_map(|l| l.strip_prefix("channel = \""))
        .and_then(|l| l.strip_suffix('"'))
        .expect("a pinned channel");
    let parts: Vec<&str> = channel.split('.').collect();
    assert!(
        parts.len() == 3 && parts.iter().all(|p| p.parse::<u32>().is_ok()),
        "not an exact version: {channel}"
    );
    let minor = format!("FROM rust:{}.{}-", parts[0], parts[1]);
    assert!(
        froms[0].starts_with(&minor),
        "the build image is not Rust {channel}: {}",
        froms[0]
    );
    let workflow = read(&service, ".github/workflows/ci.yml");
    assert!(
        !workflow.contains("toolchain install stable"),
        "a job floats on stable"
    );
    let dependabot = read(&service, ".github/dependabot.yml");
    for ecosystem in ["cargo", "rust-toolchain", "docker", "github-actions"] {
        assert!(
            dependabot.contains(&format!("package-ecosystem: {ecosystem}\n")),
            "{ecosystem}"
        );
    }
}

#[test]
fn only_pushes_to_the_default_branch_and_v_tags_deploy_after_every_check() {
    let (_dir, service) = generated("postgres");
    assert!(!service.join(".github/workflows/deploy.yml").exists());
    let workflow = read(&service, ".github/workflows/ci.yml");
    assert!(
        !workflow.contains("workflow_run"),
        "deploys must not hang on workflow_run"
    );
    let jobs = jobs(&workflow);
    let names: Vec<&str> = jobs.iter().map(|(n, _)| n.as_str()).collect();
    let (_, deploy) = jobs
        .iter()
        .find(|(n, _)| n == "deploy")
        .expect("a deploy job");
    let deploy = deploy.join("\n");
    let needs = deploy
        .lines()
        .find_map(|l| l.trim().strip_prefix("needs: ["))
        .and_then(|l| l.strip_suffix(']'))
        .expect("deploy needs the checks");
    let needs: Vec<&str> = needs.split(", ").collect();
    for check in names.iter().filter(|n| !["deploy", "image"].contains(n)) {
        assert!(
            needs.contains(check),
            "deploy does not wait for {check}: {needs:?}"
        );
    }
    assert!(deploy.contains("github.event_name == 'push'"), "{deploy}");
    assert!(deploy.contains("format('refs/heads/{0}', github.event.repository.default_branch)"));
    assert!(
        deploy.contains("startsWith(github.ref, 'refs/tags/v')"),
        "{deploy}"
    );
    assert!(deploy.contains("environment: production"));
    assert!(
        deploy.contains("cancel-in-progress: false"),
        "a deploy cancelled half-way"
    );
    let (_, image) = jobs
        .iter()
        .find(|(n, _)| n == "image")
        .expect("an image job");
    assert!(image.join("\n").contains("docker build"));
    // Only pull requests share a group; every other run is alone in its own.
    let top = &workflow[..workflow.find("\njobs:").unwrap()];
    assert!(
        top.contains("github.event_name == 'pull_request' && github.ref || github.run_id"),
        "{top}"
    );
}
