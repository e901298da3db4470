//! Renders a template in memory exactly as cargo-generate 0.23
//! would: same variables, same Liquid engine, same file renaming rules.

use std::collections::{BTreeMap, BTreeSet};

use liquid::model::{Object, Value};

use sha2::{Digest, Sha256};

use crate::Error;
use crate::answers::Answer;
use crate::lockfile::{self, LOCK_FILE, Lock};
use crate::template::{CONFIG_FILE, Template};

/// cargo-generate strips this suffix, letting `X.liquid` replace a sibling `X`.
const LIQUID_SUFFIX: &str = ".liquid";

/// Root files cargo-generate deletes before rendering.
const DROPPED_ROOT_FILES: &[&str] = &[CONFIG_FILE, ".cargo-ok"];

/// One output file, ready to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedFile {
    /// Relative path with `/` separators.
    pub path: String,
    pub contents: Vec<u8>,
    pub executable: bool,
}

/// The whole service as it will appear on disk, minus `.env` and state.
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    /// Sorted by path.
    pub files: Vec<RenderedFile>,
    /// Every directory to create, including empty ones, sorted.
    pub dirs: Vec<String>,
}

/// The Liquid globals cargo-generate defines that a template may rely on.
pub fn globals(name: &str, answers: &BTreeMap<String, Answer>) -> Object {
    let mut globals = Object::new();
    globals.insert("project-name".into(), Value::scalar(name.to_owned()));
    globals.insert("crate_name".into(), Value::scalar(name.replace('-', "_")));
    globals.insert("crate_type".into(), Value::scalar("bin"));
    for (key, answer) in answers {
        let value = match answer {
            Answer::Text(text) => Value::scalar(text.clone()),
            Answer::Bool(flag) => Value::scalar(*flag),
        };
        globals.insert(key.clone().into(), value);
    }
    globals
}

/// Renders every file of `template` for a service called `name`.
pub fn render(
    template: &Template,
    name: &str,
    answers: &BTreeMap<String, Answer>,
) -> Result<Rendered, Error> {
    Renderer::new(template)?.render(name, answers)
}

/// A template parsed once, to render for many services (a fleet update
/// renders each template version once per service).
pub struct Renderer {
    /// Sorted by output path.
    files: Vec<(String, Body, bool)>,
    dirs: Vec<String>,
    /// The Cargo.lock files it carries (see `lockfile`).
    locks: Vec<Lock>,
}

/// One file: Liquid to render, or text without a Liquid delimiter, which
/// renders to itself (most files; parsing is most of a render's cost).
enum Body {
    Liquid(liquid::Template),
    Text(Vec<u8>),
}

impl Renderer {
    pub fn new(template: &Template) -> Result<Self, Error> {
        let parser = liquid::ParserBuilder::with_stdlib()
            .build()
            .map_err(|e| Error::Template(e.to_string()))?;
        let sources = &template.files;
        if sources.iter().any(|f| f.path == ".genignore") {
            return Err(Error::Template(
                ".genignore is not supported by rampart".into(),
            ));
        }
        let stored: BTreeSet<&str> = sources.iter().map(|f| f.path.as_str()).collect();
        let ignored = template.ignored()?;
        let is_ignored = |path: &str| {
            ignored.iter().any(|i| {
                path.strip_prefix(i.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            })
        };

        let mut files = Vec::new();
        for source in sources {
            if is_git_metadata(&source.path) {
                continue;
            }
            let path = match source.path.strip_suffix(LIQUID_SUFFIX) {
                Some(stripped) => stripped,
                // The `.liquid` sibling wins, as in cargo-generate.
                None if stored.contains(format!("{}{LIQUID_SUFFIX}", source.path).as_str()) => {
                    continue;
                }
                None => &source.path,
            };
            if DROPPED_ROOT_FILES.contains(&path) || is_ignored(path) {
                continue;
            }
            check_file_name(path)?;
            let broken = |why: String| Error::Template(format!("{}: {why}", source.path));
            let text = std::str::from_utf8(&source.contents)
                .map_err(|_| broken("not UTF-8, so it cannot be rendered".into()))?;
            let parsed = if text.contains("{{") || text.contains("{%") {
                Body::Liquid(
                    parser
                        .parse(text)
                        .map_err(|e| broken(format!("invalid Liquid: {e}")))?,
                )
            } else {
                Body::Text(source.contents.clone())
            };
            files.push((path.to_owned(), parsed, source.executable));
        }
        files.sort_by(|a, b| a.0.cmp(&b.0));
        let locks = lockfile::locks(template)?;
        if !locks.is_empty() && files.iter().any(|f| f.0 == LOCK_FILE) {
            return Err(Error::Template(format!(
                "{LOCK_FILE} and {} both given: keep the locks in {}",
                lockfile::MANIFEST,
                lockfile::MANIFEST
            )));
        }
        let dirs = template
            .dirs
            .iter()
            .filter(|d| !is_git_metadata(d) && !is_ignored(d))
            .cloned()
            .collect();
        Ok(Self { files, dirs, locks })
    }

    /// The service called `name` with these answers.
    pub fn render(
        &self,
        name: &str,
        answers: &BTreeMap<String, Answer>,
    ) -> Result<Rendered, Error> {
        let globals = globals(name, answers);
        let mut files = Vec::with_capacity(self.files.len());
        for (path, body, executable) in &self.files {
            let contents = match body {
                Body::Liquid(template) => template
                    .render(&globals)
                    .map_err(|e| Error::Template(format!("{path}: invalid Liquid: {e}")))?
                    .into_bytes(),
                Body::Text(text) => text.clone(),
            };
            files.push(RenderedFile {
                path: path.clone(),
                contents,
                executable: *executable,
            });
        }
        if let Some(lock) = lockfile::pick(&self.locks, answers) {
            let at = files.partition_point(|f| f.path.as_str() < LOCK_FILE);
            files.insert(
                at,
                RenderedFile {
                    path: LOCK_FILE.to_owned(),
                    contents: lockfile::with_root(&lock.text, name)?.into_bytes(),
                    executable: false,
                },
            );
        }
        Ok(Rendered {
            files,
            dirs: self.dirs.clone(),
        })
    }
}

fn is_git_metadata(path: &str) -> bool {
    path.split('/').any(|part| part == ".git")
}

/// cargo-generate renders and sanitizes file names; rampart copies them as
/// they are, so refuse names that cargo-generate would change.
fn check_file_name(path: &str) -> Result<(), Error> {
    let changed_by_cargo_generate = |part: &str| {
        part.contains("{{")
            || part.contains("{%")
            || part
                .chars()
                .any(|c| c.is_control() || "?<>\\:*|\"".contains(c))
    };
    match path.split('/').find(|part| changed_by_cargo_generate(part)) {
        Some(part) => Err(Error::Template(format!(
            "{path}: file name `{part}` would be rewritten by cargo-generate; rename it"
        ))),
        None => Ok(()),
    }
}

/// `sha256:<lowercase hex>`: how a state file records a rendered file.
pub fn digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers(database: &str) -> BTreeMap<String, Answer> {
        BTreeMap::from([("database".to_owned(), Answer::Text(database.to_owned()))])
    }

    #[test]
    fn globals_match_cargo_generate() {
        let globals = globals("orders-api", &answers("postgres"));
        let parser = liquid::ParserBuilder::with_stdlib().build().unwrap();
        let out = parser
            .parse("{{project-name}} {{crate_name}} {{crate_type}} {% if database == \"postgres\" %}pg{% endif %}")
            .unwrap()
            .render(&globals)
            .unwrap();
        assert_eq!(out, "orders-api orders_api bin pg");
    }

    #[test]
    fn config_file_is_not_rendered() {
        let template = Template::builtin().unwrap();
        let rendered = render(&template, "demo-svc", &answers("sqlite")).unwrap();
        assert!(rendered.files.iter().all(|f| f.path != CONFIG_FILE));
        assert!(
            rendered
                .files
                .iter()
                .all(|f| !f.path.ends_with(LIQUID_SUFFIX))
        );
    }

    #[test]
    fn rejects_names_cargo_generate_would_rewrite() {
        assert!(check_file_name("src/{{crate_name}}.rs").is_err());
        assert!(check_file_name("what?.md").is_err());
        assert!(check_file_name("src/main.rs").is_ok());
    }
}
