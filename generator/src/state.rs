//! `.rampart.toml`: what a service was generated from, so `rampart update`
//! can later tell template changes apart from the developer's own edits.

use std::collections::BTreeMap;
use std::path::Path;

use crate::render::digest;
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::answers::Answer;
use crate::paths::STATE_FILE;
use crate::policy::{Class, Policy};
use crate::render::Rendered;
use crate::source::{Source, Version};

const HEADER: &str = "\
# Written by `rampart new` and `rampart update`. Commit it with the service.
# It records the template and answers used and a hash of every generated file
# as generated, so updates can spot files you changed. It never holds secrets.
";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    pub template: TemplateInfo,
    /// `project-name` plus one entry per placeholder.
    pub answers: BTreeMap<String, Answer>,
    /// The files the template manages (see `policy`), so the service's CI
    /// can check them against `files` without rampart. Absent from state
    /// files written before it existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed: Vec<String>,
    /// Relative path -> `sha256:<hex>` of the bytes rampart wrote.
    pub files: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TemplateInfo {
    /// `builtin`, the absolute path of a local clone, or a git URL.
    pub source: String,
    /// For people: a tag or rampart's version.
    pub version: String,
    /// The template's commit in its source; absent for the built-in template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

impl State {
    /// State for a service rendered from `source` at `version`.
    pub fn new(
        source: &Source,
        version: &Version,
        name: &str,
        answers: &BTreeMap<String, Answer>,
        rendered: &Rendered,
        policy: &Policy,
    ) -> Self {
        let mut all_answers = answers.clone();
        all_answers.insert(NAME.into(), Answer::Text(name.to_owned()));
        Self {
            template: TemplateInfo {
                source: source.location().to_owned(),
                version: version.label.clone(),
                commit: version.commit.clone(),
            },
            answers: all_answers,
            managed: rendered
                .files
                .iter()
                .filter(|f| policy.class(&f.path) == Class::Managed)
                .map(|f| f.path.clone())
                .collect(),
            files: rendered
                .files
                .iter()
                .map(|f| (f.path.clone(), digest(&f.contents)))
                .collect(),
        }
    }

    pub fn to_toml(&self) -> Result<String, Error> {
        Ok(format!("{HEADER}\n{}", toml::to_string_pretty(self)?))
    }

    /// The state file of the service in `dir`.
    pub fn read(dir: &Path) -> Result<Self, Error> {
        let path = dir.join(STATE_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::Refused(format!(
                    "{} is not a service made by rampart: it has no {STATE_FILE}",
                    dir.display()
                )));
            }
            Err(e) => return Err(Error::io("read", &path)(e)),
        };
        let state: Self = toml::from_str(&text)
            .map_err(|e| Error::Refused(format!("{} is malformed: {e}", path.display())))?;
        state.validate().map_err(|(needle, why)| {
            let line = text
                .lines()
                .position(|l| l.contains(needle.as_str()))
                .map_or(String::new(), |n| format!(" line {}", n + 1));
            Error::Refused(format!(
                "{}{line}: {why}; restore the file from git",
                path.display()
            ))
        })?;
        Ok(state)
    }

    /// Refuses what `rampart new` would never have written: a name it would
    /// refuse, a path outside the service, a commit that is not a hash. On
    /// failure, the text to find the line by, and what is wrong.
    fn validate(&self) -> Result<(), (String, String)> {
        let name = self.name().map_err(|e| (NAME.to_owned(), e.to_string()))?;
        crate::name::validate(name).map_err(|e| (NAME.to_owned(), e.to_string()))?;
        for path in self.files.keys().chain(&self.managed) {
            crate::paths::confined(path)
                .map_err(|why| (path.clone(), format!("the path `{path}` {why}")))?;
        }
        if let Some(commit) = &self.template.commit {
            let hex = commit.chars().all(|c| c.is_ascii_hexdigit());
            if !hex || ![40, 64].contains(&commit.len()) {
                return Err((
                    commit.clone(),
                    format!("the template commit `{commit}` is not a git commit hash"),
                ));
            }
        }
        Ok(())
    }

    /// The version it records.
    pub fn version(&self) -> Version {
        Version {
            label: self.template.version.clone(),
            commit: self.template.commit.clone(),
        }
    }

    /// The service's name, recorded among the answers.
    pub fn name(&self) -> Result<&str, Error> {
        match self.answers.get(NAME) {
            Some(Answer::Text(name)) => Ok(name),
            _ => Err(Error::Refused(format!("{STATE_FILE} records no {NAME}"))),
        }
    }

    /// The answers to the template's placeholders (without the name).
    pub fn placeholder_answers(&self) -> BTreeMap<String, Answer> {
        let mut answers = self.answers.clone();
        answers.remove(NAME);
        answers
    }
}

/// The answer that names the service.
const NAME: &str = "project-name";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::RenderedFile;

    #[test]
    fn digest_is_prefixed_hex() {
        assert_eq!(
            digest(b"abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn serializes_sorted_sections() {
        let rendered = Rendered {
            files: vec![RenderedFile {
                path: "src/main.rs".into(),
                contents: b"fn main() {}\n".to_vec(),
                executable: false,
            }],
            dirs: vec!["src".into()],
        };
        let answers = BTreeMap::from([("database".into(), Answer::Text("sqlite".into()))]);
        let source = Source::Builtin;
        let version = source.resolve(None).unwrap();
        let policy = Policy::parse("[ownership]\nmanaged = [\"src/**\"]\n").unwrap();
        let state = State::new(&source, &version, "demo", &answers, &rendered, &policy);
        let text = state.to_toml().unwrap();
        assert!(text.starts_with("# Written by `rampart new`"));
        let back: State = toml::from_str(&text).unwrap();
        assert_eq!(back.name().unwrap(), "demo");
        assert_eq!(back.version(), version);
        let parsed: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(parsed["template"]["source"].as_str(), Some("builtin"));
        assert_eq!(parsed["answers"]["project-name"].as_str(), Some("demo"));
        assert_eq!(parsed["answers"]["database"].as_str(), Some("sqlite"));
        assert_eq!(back.managed, ["src/main.rs"]);
        assert!(
            parsed["files"]["src/main.rs"]
                .as_str()
                .unwrap()
                .starts_with("sha256:")
        );
    }
}
