//! `.rampart.toml`: what a service was generated from, so `rampart update`
//! can later tell template changes apart from the developer's own edits.

use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::Error;
use crate::answers::Answer;
use crate::render::Rendered;

/// The state file, relative to the service root.
pub const STATE_FILE: &str = ".rampart.toml";

const HEADER: &str = "\
# Written by `rampart new`; `rampart update` reads it. Commit it with the service.
# It records the template and answers used and a hash of every generated file
# as generated, so updates can spot files you changed. It never holds secrets.
";

#[derive(Debug, Serialize)]
pub struct State {
    pub template: TemplateInfo,
    /// `project-name` plus one entry per placeholder.
    pub answers: BTreeMap<String, Answer>,
    /// Relative path -> `sha256:<hex>` of the bytes rampart wrote.
    pub files: BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
pub struct TemplateInfo {
    pub source: String,
    pub version: String,
}

impl State {
    /// State for a freshly rendered service.
    pub fn new(name: &str, answers: &BTreeMap<String, Answer>, rendered: &Rendered) -> Self {
        let mut all_answers = answers.clone();
        all_answers.insert("project-name".into(), Answer::Text(name.to_owned()));
        Self {
            template: TemplateInfo {
                source: "builtin".into(),
                // The template ships inside rampart, so they share a version.
                version: env!("CARGO_PKG_VERSION").into(),
            },
            answers: all_answers,
            files: rendered
                .files
                .iter()
                .map(|f| (f.path.clone(), digest(&f.contents)))
                .collect(),
        }
    }

    pub fn to_toml(&self) -> Result<String, Error> {
        Ok(format!("{HEADER}\n{}", toml::to_string(self)?))
    }
}

/// `sha256:<lowercase hex>`.
pub fn digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

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
        let text = State::new("demo", &answers, &rendered).to_toml().unwrap();
        assert!(text.starts_with("# Written by `rampart new`"));
        let parsed: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(parsed["template"]["source"].as_str(), Some("builtin"));
        assert_eq!(parsed["answers"]["project-name"].as_str(), Some("demo"));
        assert_eq!(parsed["answers"]["database"].as_str(), Some("sqlite"));
        assert!(
            parsed["files"]["src/main.rs"]
                .as_str()
                .unwrap()
                .starts_with("sha256:")
        );
    }
}
