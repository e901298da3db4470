//! A template's files, from the copy embedded in the binary or from a
//! template source (see `source`), and the placeholders its
//! `cargo-generate.toml` declares (the single source of truth for answers).

use include_dir::{Dir, DirEntry, include_dir};

use crate::Error;
use crate::policy::Policy;

static TEMPLATE: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../template");

/// The built-in template's update policy (see `policy`), kept beside it.
const BUILTIN_POLICY: &str = include_str!("../../template-update.toml");

/// Written by build.rs: include_dir keeps contents but not file modes.
const EXECUTABLES: &[&str] = include!(concat!(env!("OUT_DIR"), "/executables.rs"));

/// cargo-generate's configuration file, read here and never rendered.
pub const CONFIG_FILE: &str = "cargo-generate.toml";

/// One file of the template as stored, before cargo-generate's renaming rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateFile {
    /// Relative path with `/` separators.
    pub path: String,
    pub contents: Vec<u8>,
    pub executable: bool,
}

/// One version of a template: its files, directories and update policy.
#[derive(Debug, Clone)]
pub struct Template {
    /// Sorted by path.
    pub files: Vec<TemplateFile>,
    /// Every directory, sorted (cargo-generate copies empty ones too).
    pub dirs: Vec<String>,
    pub policy: Policy,
}

impl Template {
    /// The template embedded in this binary.
    pub fn builtin() -> Result<Self, Error> {
        let mut files = Vec::new();
        let mut dirs = Vec::new();
        walk(&TEMPLATE, &mut |entry| match entry {
            DirEntry::File(file) => {
                let path = file.path().to_str().unwrap_or_default();
                files.push(TemplateFile {
                    path: path.to_owned(),
                    contents: file.contents().to_vec(),
                    executable: EXECUTABLES.contains(&path),
                });
            }
            DirEntry::Dir(dir) => dirs.push(dir.path().to_str().unwrap_or_default().to_owned()),
        });
        Ok(Self::new(files, dirs, Policy::parse(BUILTIN_POLICY)?))
    }

    /// A template from its parts, sorted.
    pub fn new(mut files: Vec<TemplateFile>, mut dirs: Vec<String>, policy: Policy) -> Self {
        files.sort_by(|a, b| a.path.cmp(&b.path));
        dirs.sort_unstable();
        Self {
            files,
            dirs,
            policy,
        }
    }

    /// Placeholders its cargo-generate.toml declares, sorted by name.
    pub fn placeholders(&self) -> Result<Vec<Placeholder>, Error> {
        parse_placeholders(self.config()?)
    }

    /// The paths its cargo-generate.toml lists in `template.ignore`: files or
    /// folders that are part of the template but never of a service.
    pub fn ignored(&self) -> Result<Vec<String>, Error> {
        parse_ignored(self.config()?)
    }

    fn config(&self) -> Result<&str, Error> {
        self.files
            .iter()
            .find(|f| f.path == CONFIG_FILE)
            .and_then(|f| std::str::from_utf8(&f.contents).ok())
            .ok_or_else(|| Error::Template(format!("{CONFIG_FILE} is missing or not UTF-8")))
    }
}

/// `template.ignore` of cargo-generate.toml: exact paths, as cargo-generate
/// takes them (no wildcards).
pub fn parse_ignored(config: &str) -> Result<Vec<String>, Error> {
    let bad = |msg: &str| Error::Template(format!("{CONFIG_FILE}: template.ignore {msg}"));
    let table: toml::Table = toml::from_str(config).map_err(|e| bad(&e.to_string()))?;
    let Some(list) = table.get("template").and_then(|t| t.get("ignore")) else {
        return Ok(Vec::new());
    };
    let list = list.as_array().ok_or_else(|| bad("must be a list"))?;
    list.iter()
        .map(|entry| match entry.as_str() {
            Some(path) if !path.is_empty() && !path.contains(['*', '?', '[', '\\']) => {
                Ok(path.trim_end_matches('/').to_owned())
            }
            _ => Err(bad("takes plain relative paths, without wildcards")),
        })
        .collect()
}

fn walk(dir: &'static Dir<'static>, visit: &mut dyn FnMut(&'static DirEntry<'static>)) {
    for entry in dir.entries() {
        visit(entry);
        if let DirEntry::Dir(sub) = entry {
            walk(sub, visit);
        }
    }
}

/// What kind of answer a placeholder takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// Free text, or one of `choices` when the template lists them.
    Text {
        choices: Option<Vec<String>>,
    },
    Bool,
}

/// A `[placeholders.NAME]` entry of cargo-generate.toml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    pub name: String,
    pub kind: Kind,
    /// The answer `cargo generate --silent` uses when none is given.
    pub default: Option<String>,
    pub prompt: Option<String>,
}

/// Parses cargo-generate.toml, refusing features rampart does not mirror so a
/// template change cannot silently make the two renderers disagree.
pub fn parse_placeholders(config: &str) -> Result<Vec<Placeholder>, Error> {
    let bad = |msg: String| Error::Template(format!("{CONFIG_FILE}: {msg}"));
    let table: toml::Table = toml::from_str(config).map_err(|e| bad(e.to_string()))?;

    for key in ["hooks", "conditional"] {
        if table.contains_key(key) {
            return Err(bad(format!("`[{key}]` is not supported by rampart")));
        }
    }
    if let Some(template) = table.get("template").and_then(toml::Value::as_table) {
        for key in ["include", "exclude", "sub_templates", "init"] {
            if template.contains_key(key) {
                return Err(bad(format!("`template.{key}` is not supported by rampart")));
            }
        }
    }

    let Some(declared) = table.get("placeholders") else {
        return Ok(Vec::new());
    };
    let declared = declared
        .as_table()
        .ok_or_else(|| bad("`placeholders` must be a table".into()))?;
    declared
        .iter()
        .map(|(name, spec)| {
            let spec = spec
                .as_table()
                .ok_or_else(|| bad(format!("placeholder `{name}` must be a table")))?;
            parse_placeholder(name, spec).map_err(|msg| bad(format!("placeholder `{name}`: {msg}")))
        })
        .collect()
}

fn parse_placeholder(name: &str, spec: &toml::Table) -> Result<Placeholder, String> {
    if spec.contains_key("regex") {
        return Err("`regex` is not supported by rampart".into());
    }
    let prompt = spec
        .get("prompt")
        .and_then(toml::Value::as_str)
        .map(str::to_owned);
    let (kind, default) = match spec.get("type").and_then(toml::Value::as_str) {
        Some("string") => {
            let choices = match spec.get("choices") {
                None => None,
                Some(list) => Some(string_list(list).ok_or("`choices` must be a list of strings")?),
            };
            let default = match spec.get("default") {
                None => None,
                Some(v) => Some(v.as_str().ok_or("`default` must be a string")?.to_owned()),
            };
            if let (Some(choices), Some(default)) = (&choices, &default)
                && !choices.contains(default)
            {
                return Err(format!("default `{default}` is not one of its choices"));
            }
            (Kind::Text { choices }, default)
        }
        Some("bool") => {
            let default = match spec.get("default") {
                None => None,
                Some(v) => Some(
                    v.as_bool()
                        .ok_or("`default` must be a boolean")?
                        .to_string(),
                ),
            };
            (Kind::Bool, default)
        }
        other => {
            return Err(format!(
                "type {other:?} is not supported (use \"string\" or \"bool\")"
            ));
        }
    };
    Ok(Placeholder {
        name: name.to_owned(),
        kind,
        default,
        prompt,
    })
}

fn string_list(value: &toml::Value) -> Option<Vec<String>> {
    value
        .as_array()?
        .iter()
        .map(|v| v.as_str().map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_template_declares_database() {
        let placeholders = Template::builtin()
            .and_then(|t| t.placeholders())
            .expect("embedded cargo-generate.toml parses");
        let database = placeholders
            .iter()
            .find(|p| p.name == "database")
            .expect("database placeholder");
        assert_eq!(database.default.as_deref(), Some("sqlite"));
        assert!(
            matches!(&database.kind, Kind::Text { choices: Some(c) } if c.contains(&"postgres".to_owned()))
        );
    }

    #[test]
    fn parses_string_and_bool_placeholders() {
        let parsed = parse_placeholders(
            r#"
            [placeholders.db]
            type = "string"
            choices = ["a", "b"]
            default = "b"
            [placeholders.metrics]
            type = "bool"
            default = true
            "#,
        )
        .unwrap();
        assert_eq!(parsed[0].name, "db");
        assert_eq!(parsed[0].default.as_deref(), Some("b"));
        assert_eq!(parsed[1].kind, Kind::Bool);
        assert_eq!(parsed[1].default.as_deref(), Some("true"));
    }

    #[test]
    fn refuses_features_it_cannot_mirror() {
        for config in [
            "[hooks]\npre = [\"x.rhai\"]",
            "[template]\nexclude = [\"*.png\"]",
            "[placeholders.x]\ntype = \"string\"\nregex = \"^a$\"",
            "[placeholders.x]\ntype = \"array\"",
            "[placeholders.x]\ntype = \"string\"\nchoices = [\"a\"]\ndefault = \"b\"",
        ] {
            assert!(parse_placeholders(config).is_err(), "{config}");
        }
    }

    #[test]
    fn lists_files_with_paths_relative_to_the_template() {
        let files = Template::builtin().unwrap().files;
        assert!(files.iter().any(|f| f.path == CONFIG_FILE));
        assert!(files.iter().all(|f| !f.path.starts_with('/')));
    }
}
