//! Where a template comes from and which version of it: the copy built into
//! rampart, or a git repository holding a `template/` folder (a team's fork
//! of Rampart, say), used in place when it is a local clone and cloned into
//! a cache when it is a URL. Versions of a repository are its commits, named
//! by tag where there is one; any of them renders from the repository alone,
//! offline, so old versions never become unrenderable.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::Error;
use crate::git::{self, git, git_status};
use crate::policy::{POLICY_FILE, Policy};
use crate::render::{Renderer, digest};
use crate::template::{Template, TemplateFile};

/// The name the state file uses for the template built into rampart.
pub const BUILTIN: &str = "builtin";

/// The folder of a source repository that holds the template.
const TEMPLATE_DIR: &str = "template";

#[derive(Debug, Clone)]
pub enum Source {
    Builtin,
    Git {
        /// As recorded in the state file: an absolute path or a URL.
        location: String,
        /// The repository git reads: the clone itself, or the cached mirror.
        repo: PathBuf,
    },
}

/// One version of a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// For people: a tag, `git describe` output, or rampart's version.
    pub label: String,
    /// The full commit id; `None` for the built-in template.
    pub commit: Option<String>,
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label)
    }
}

/// Splits `SOURCE@REV` into its parts. `git@host:repo` keeps its `@`: a
/// revision never contains `:`.
pub fn split_revision(spec: &str) -> (&str, Option<&str>) {
    match spec.rsplit_once('@') {
        Some((source, rev)) if !source.is_empty() && !rev.is_empty() && !rev.contains(':') => {
            (source, Some(rev))
        }
        _ => (spec, None),
    }
}

impl Source {
    /// Opens `builtin`, a folder that is (inside) a git repository, or a git URL.
    pub fn open(location: &str) -> Result<Self, Error> {
        if location == BUILTIN {
            return Ok(Self::Builtin);
        }
        let path = Path::new(location);
        if path.is_dir() {
            let top = git(path, &["rev-parse", "--show-toplevel"]).map_err(|e| {
                Error::Source(format!(
                    "{location} is not a git repository ({e}); template versions are its commits, so commit the template first"
                ))
            })?;
            let repo = PathBuf::from(top.trim());
            return Ok(Self::Git {
                location: repo.display().to_string(),
                repo,
            });
        }
        // A location is data (a state file is anyone's to edit), never an
        // option to git: `--upload-pack=...` would run a command.
        if !looks_like_url(location) || location.starts_with('-') {
            return Err(Error::Source(format!(
                "{location}: no such folder, and not a git URL"
            )));
        }
        let repo = mirror(location)?;
        Ok(Self::Git {
            location: location.to_owned(),
            repo,
        })
    }

    /// What the state file records.
    pub fn location(&self) -> &str {
        match self {
            Self::Builtin => BUILTIN,
            Self::Git { location, .. } => location,
        }
    }

    /// The version `rev` names; with no `rev`, the newest: the repository's
    /// HEAD, or the built-in template.
    pub fn resolve(&self, rev: Option<&str>) -> Result<Version, Error> {
        match self {
            Self::Builtin => {
                let version = env!("CARGO_PKG_VERSION");
                match rev {
                    None => Ok(builtin_version()),
                    Some(rev) if rev == version => Ok(builtin_version()),
                    Some(rev) => Err(Error::Source(format!(
                        "the built-in template is at version {version}, not {rev}: \
                         name a template source to use another version (--template PATH@REV)"
                    ))),
                }
            }
            Self::Git { repo, location } => {
                let rev = rev.unwrap_or("HEAD");
                let commit = git(
                    repo,
                    &[
                        "rev-parse",
                        "--verify",
                        "--quiet",
                        &format!("{rev}^{{commit}}"),
                    ],
                )
                .map_err(|_| Error::Source(format!("{location} has no revision `{rev}`")))?
                .trim()
                .to_owned();
                let label = git(repo, &["describe", "--tags", "--always", &commit])?
                    .trim()
                    .to_owned();
                Ok(Version {
                    label,
                    commit: Some(commit),
                })
            }
        }
    }

    /// The template at `version`.
    pub fn load(&self, version: &Version) -> Result<Template, Error> {
        match (self, &version.commit) {
            (Self::Builtin, None) if *version == builtin_version() => Template::builtin(),
            (Self::Builtin, _) => Err(Error::Source(format!(
                "this rampart has the built-in template {}, and cannot render version {version}: \
                 pass the template source that version came from (--template PATH)",
                builtin_version()
            ))),
            (Self::Git { repo, location }, Some(commit)) => {
                if !self.holds(version)? {
                    return Err(Error::Source(format!(
                        "{location} does not hold version {version} (commit {commit}): \
                         fetch it there, or pass --template with a clone that has it"
                    )));
                }
                load_commit(repo, commit)
            }
            (Self::Git { location, .. }, None) => Err(Error::Source(format!(
                "version {version} of {location} names no commit"
            ))),
        }
    }

    /// Whether the repository has `version`'s commit; true when there is
    /// none to look for (the built-in template, a version without a commit).
    pub fn holds(&self, version: &Version) -> Result<bool, Error> {
        match (self, &version.commit) {
            (Self::Git { repo, .. }, Some(commit)) => {
                let object = format!("{commit}^{{commit}}");
                git_status(repo, &["rev-parse", "--verify", "--quiet", &object])
            }
            _ => Ok(true),
        }
    }

    /// Whether `older` comes before `newer` in the source's history; `None`
    /// when the two are unrelated or the source cannot tell (built-in).
    pub fn precedes(&self, older: &Version, newer: &Version) -> Result<Option<bool>, Error> {
        let (Self::Git { repo, .. }, Some(a), Some(b)) = (self, &older.commit, &newer.commit)
        else {
            return Ok(None);
        };
        if git_status(repo, &["merge-base", "--is-ancestor", a, b])? {
            return Ok(Some(true));
        }
        if git_status(repo, &["merge-base", "--is-ancestor", b, a])? {
            return Ok(Some(false));
        }
        Ok(None)
    }

    /// One line per commit between the versions that changed the template.
    pub fn changes(&self, from: &Version, to: &Version) -> Vec<String> {
        let (Self::Git { repo, .. }, Some(a), Some(b)) = (self, &from.commit, &to.commit) else {
            return vec![format!("template {from} -> {to}")];
        };
        let range = format!("{a}..{b}");
        git(
            repo,
            &[
                "log",
                "--no-merges",
                "--format=%h %s",
                &range,
                "--",
                TEMPLATE_DIR,
                POLICY_FILE,
            ],
        )
        .map(|log| log.lines().map(str::to_owned).collect())
        .unwrap_or_default()
    }
}

/// What one run has opened and read, so that a fleet opens, resolves and
/// loads each template version once, however many services use it.
#[derive(Default)]
pub struct Sources {
    opened: HashMap<String, Source>,
    resolved: HashMap<(String, Option<String>), Version>,
    loaded: HashMap<(String, Option<String>), Rc<Template>>,
    parsed: HashMap<(String, Option<String>), Rc<Renderer>>,
    ordered: HashMap<Pair, Option<bool>>,
    changes: HashMap<Pair, Vec<String>>,
}

/// Two versions of one source: (location, first commit, second commit).
type Pair = (String, Option<String>, Option<String>);

fn pair(source: &Source, a: &Version, b: &Version) -> Pair {
    (
        source.location().to_owned(),
        a.commit.clone(),
        b.commit.clone(),
    )
}

impl Sources {
    pub fn open(&mut self, location: &str) -> Result<Source, Error> {
        if let Some(source) = self.opened.get(location) {
            return Ok(source.clone());
        }
        let source = Source::open(location)?;
        self.opened.insert(location.to_owned(), source.clone());
        Ok(source)
    }

    pub fn resolve(&mut self, source: &Source, rev: Option<&str>) -> Result<Version, Error> {
        let key = (source.location().to_owned(), rev.map(str::to_owned));
        if let Some(version) = self.resolved.get(&key) {
            return Ok(version.clone());
        }
        let version = source.resolve(rev)?;
        self.resolved.insert(key, version.clone());
        Ok(version)
    }

    pub fn load(&mut self, source: &Source, version: &Version) -> Result<Rc<Template>, Error> {
        let key = (source.location().to_owned(), version.commit.clone());
        if let Some(template) = self.loaded.get(&key) {
            return Ok(Rc::clone(template));
        }
        let template = Rc::new(source.load(version)?);
        self.loaded.insert(key, Rc::clone(&template));
        Ok(template)
    }

    /// The template at `version`, parsed for rendering.
    pub fn renderer(&mut self, source: &Source, version: &Version) -> Result<Rc<Renderer>, Error> {
        let key = (source.location().to_owned(), version.commit.clone());
        if let Some(renderer) = self.parsed.get(&key) {
            return Ok(Rc::clone(renderer));
        }
        let template = self.load(source, version)?;
        let renderer = Rc::new(Renderer::new(&template)?);
        self.parsed.insert(key, Rc::clone(&renderer));
        Ok(renderer)
    }

    pub fn precedes(
        &mut self,
        source: &Source,
        older: &Version,
        newer: &Version,
    ) -> Result<Option<bool>, Error> {
        let key = pair(source, older, newer);
        if let Some(&known) = self.ordered.get(&key) {
            return Ok(known);
        }
        let known = source.precedes(older, newer)?;
        self.ordered.insert(key, known);
        Ok(known)
    }

    pub fn changes(&mut self, source: &Source, from: &Version, to: &Version) -> Vec<String> {
        self.changes
            .entry(pair(source, from, to))
            .or_insert_with(|| source.changes(from, to))
            .clone()
    }
}

fn builtin_version() -> Version {
    Version {
        label: env!("CARGO_PKG_VERSION").to_owned(),
        commit: None,
    }
}

fn looks_like_url(location: &str) -> bool {
    location.contains("://")
        || location
            .split_once(':')
            .is_some_and(|(host, _)| host.contains('@') && !host.contains('/'))
}

/// A mirror of `url` in rampart's cache, fetched now when the network allows.
fn mirror(url: &str) -> Result<PathBuf, Error> {
    let cache = cache_dir()?.join("sources");
    let hash = digest(url.as_bytes());
    let repo = cache.join(&hash["sha256:".len()..][..16]);
    if repo.join("HEAD").is_file() {
        if let Err(e) = git(&repo, &["fetch", "--quiet", "--prune", "--tags", "origin"]) {
            eprintln!(
                "warning: could not fetch {url} ({e}); using the copy cached in {}",
                repo.display()
            );
        }
        return Ok(repo);
    }
    std::fs::create_dir_all(&cache).map_err(Error::io("create directory", &cache))?;
    let partial = tempfile::Builder::new()
        .prefix(".clone-")
        .tempdir_in(&cache)
        .map_err(Error::io("create a folder in", &cache))?;
    let into = partial.path().join("repo");
    let into_str = into.to_string_lossy().into_owned();
    git(
        &cache,
        &["clone", "--quiet", "--mirror", "--", url, &into_str],
    )
    .map_err(|e| Error::Source(format!("cannot clone {url}: {e}")))?;
    std::fs::rename(&into, &repo).map_err(Error::io("move into place", &repo))?;
    Ok(repo)
}

/// `$RAMPART_CACHE_DIR`, else `$XDG_CACHE_HOME/rampart`, else `~/.cache/rampart`.
fn cache_dir() -> Result<PathBuf, Error> {
    let var = |name| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var("RAMPART_CACHE_DIR")
        .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("rampart")))
        .or_else(|| var("HOME").map(|d| d.join(".cache/rampart")))
        .ok_or_else(|| Error::Source("no cache folder: set RAMPART_CACHE_DIR".into()))
}

/// The template folder and policy file of `commit`, read from git's objects.
fn load_commit(repo: &Path, commit: &str) -> Result<Template, Error> {
    let listing = git(
        repo,
        &[
            "ls-tree",
            "-r",
            "-z",
            "--full-tree",
            commit,
            "--",
            TEMPLATE_DIR,
            POLICY_FILE,
        ],
    )?;
    let mut entries = Vec::new(); // (path, blob id, executable)
    for entry in listing.split('\0').filter(|e| !e.is_empty()) {
        let (meta, path) = entry
            .split_once('\t')
            .ok_or_else(|| Error::Git(format!("unexpected ls-tree output `{entry}`")))?;
        let mut fields = meta.split(' ');
        let (mode, id) = (fields.next().unwrap_or(""), fields.nth(1).unwrap_or(""));
        match mode {
            "100644" | "100755" => entries.push((path.to_owned(), id.to_owned(), mode == "100755")),
            _ => {
                return Err(Error::Source(format!(
                    "{path} at {commit}: only regular files are supported in a template (mode {mode})"
                )));
            }
        }
    }
    let ids: Vec<&str> = entries.iter().map(|(_, id, _)| id.as_str()).collect();
    let blobs = git::cat_file_batch(repo, &ids)?;

    let mut policy = Policy::default();
    let mut files = Vec::new();
    let mut dirs = std::collections::BTreeSet::new();
    let prefix = format!("{TEMPLATE_DIR}/");
    for ((path, _, executable), contents) in entries.into_iter().zip(blobs) {
        if path == POLICY_FILE {
            let text = String::from_utf8(contents)
                .map_err(|_| Error::Source(format!("{POLICY_FILE} at {commit} is not UTF-8")))?;
            policy = Policy::parse(&text)?;
            continue;
        }
        let Some(relative) = path.strip_prefix(&prefix) else {
            continue;
        };
        let mut parent = Path::new(relative).parent();
        while let Some(dir) = parent.filter(|d| !d.as_os_str().is_empty()) {
            dirs.insert(dir.to_string_lossy().into_owned());
            parent = dir.parent();
        }
        files.push(TemplateFile {
            path: relative.to_owned(),
            contents,
            executable,
        });
    }
    if files.is_empty() {
        return Err(Error::Source(format!(
            "commit {commit} has no {TEMPLATE_DIR}/ folder"
        )));
    }
    Ok(Template::new(files, dirs.into_iter().collect(), policy))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revisions_split_off_the_last_at() {
        assert_eq!(split_revision("../rampart@v2"), ("../rampart", Some("v2")));
        assert_eq!(split_revision("../rampart"), ("../rampart", None));
        assert_eq!(
            split_revision("git@github.com:acme/rampart.git"),
            ("git@github.com:acme/rampart.git", None)
        );
        assert_eq!(
            split_revision("git@github.com:acme/rampart.git@release/2"),
            ("git@github.com:acme/rampart.git", Some("release/2"))
        );
    }

    #[test]
    fn urls_are_told_from_paths() {
        assert!(looks_like_url("https://github.com/acme/rampart"));
        assert!(looks_like_url("file:///srv/rampart.git"));
        assert!(looks_like_url("git@github.com:acme/rampart.git"));
        assert!(!looks_like_url("../rampart"));
        assert!(!looks_like_url("dir/with:colon"));
    }

    // A source from a hostile state file never becomes an option of git.
    #[test]
    fn a_location_is_never_an_option() {
        let marker = std::env::temp_dir().join(format!("rampart-pwned-{}", std::process::id()));
        let location = format!("--upload-pack=touch {}://x", marker.display());
        let err = Source::open(&location).unwrap_err();
        assert!(matches!(err, Error::Source(_)), "{err}");
        assert!(!marker.exists());
    }
}
