//! Turns user input into one validated answer per template placeholder,
//! filling gaps with the template's defaults as `cargo generate --silent` does.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::template::{Kind, Placeholder};

/// Variables rampart supplies itself; a placeholder may not shadow them.
pub const BUILTIN_VARIABLES: &[&str] = &["project-name", "crate_name", "crate_type"];

/// A placeholder's value, typed the way cargo-generate passes it to Liquid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Answer {
    Text(String),
    Bool(bool),
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Text(text) => f.write_str(text),
            Self::Bool(flag) => write!(f, "{flag}"),
        }
    }
}

/// Resolves `given` (key, raw value) pairs against `placeholders`. Later pairs
/// win over earlier ones; placeholders without a value take their default.
pub fn resolve(
    placeholders: &[Placeholder],
    given: &[(String, String)],
) -> Result<BTreeMap<String, Answer>, Error> {
    let mut raw: BTreeMap<&str, &str> = BTreeMap::new();
    for (key, value) in given {
        if BUILTIN_VARIABLES.contains(&key.as_str()) {
            return Err(Error::ReservedPlaceholder { key: key.clone() });
        }
        if !placeholders.iter().any(|p| &p.name == key) {
            return Err(Error::UnknownPlaceholder {
                key: key.clone(),
                known: placeholders.iter().map(|p| p.name.clone()).collect(),
            });
        }
        raw.insert(key, value);
    }

    let mut answers = BTreeMap::new();
    for placeholder in placeholders {
        let value = match raw.get(placeholder.name.as_str()) {
            Some(value) => *value,
            None => placeholder
                .default
                .as_deref()
                .ok_or_else(|| Error::MissingAnswer {
                    key: placeholder.name.clone(),
                })?,
        };
        answers.insert(placeholder.name.clone(), check(placeholder, value)?);
    }
    Ok(answers)
}

fn check(placeholder: &Placeholder, value: &str) -> Result<Answer, Error> {
    match &placeholder.kind {
        Kind::Text {
            choices: Some(choices),
        } if !choices.iter().any(|c| c == value) => Err(Error::InvalidChoice {
            key: placeholder.name.clone(),
            value: value.to_owned(),
            choices: choices.clone(),
        }),
        Kind::Text { .. } => Ok(Answer::Text(value.to_owned())),
        Kind::Bool => value
            .parse()
            .map(Answer::Bool)
            .map_err(|_| Error::InvalidBool {
                key: placeholder.name.clone(),
                value: value.to_owned(),
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database() -> Placeholder {
        Placeholder {
            name: "database".into(),
            kind: Kind::Text {
                choices: Some(vec!["sqlite".into(), "postgres".into()]),
            },
            default: Some("sqlite".into()),
            prompt: None,
        }
    }

    fn given(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_fill_missing_answers() {
        let answers = resolve(&[database()], &[]).unwrap();
        assert_eq!(answers["database"], Answer::Text("sqlite".into()));
    }

    #[test]
    fn given_values_are_checked_against_choices() {
        let answers = resolve(&[database()], &given(&[("database", "postgres")])).unwrap();
        assert_eq!(answers["database"], Answer::Text("postgres".into()));
        let err = resolve(&[database()], &given(&[("database", "mysql")])).unwrap_err();
        assert!(err.to_string().contains("sqlite, postgres"), "{err}");
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn unknown_and_builtin_keys_are_rejected() {
        assert!(matches!(
            resolve(&[database()], &given(&[("colour", "red")])),
            Err(Error::UnknownPlaceholder { .. })
        ));
        assert!(matches!(
            resolve(&[database()], &given(&[("crate_name", "x")])),
            Err(Error::ReservedPlaceholder { .. })
        ));
    }

    #[test]
    fn placeholders_without_default_must_be_given() {
        let name = Placeholder {
            name: "owner".into(),
            kind: Kind::Text { choices: None },
            default: None,
            prompt: None,
        };
        let err = resolve(std::slice::from_ref(&name), &[]).unwrap_err();
        assert!(err.to_string().contains("--set owner="), "{err}");
        let answers = resolve(&[name], &given(&[("owner", "team-a")])).unwrap();
        assert_eq!(answers["owner"], Answer::Text("team-a".into()));
    }

    #[test]
    fn bools_parse_strictly() {
        let flag = Placeholder {
            name: "metrics".into(),
            kind: Kind::Bool,
            default: Some("false".into()),
            prompt: None,
        };
        let answers = resolve(std::slice::from_ref(&flag), &given(&[("metrics", "true")])).unwrap();
        assert_eq!(answers["metrics"], Answer::Bool(true));
        assert!(resolve(&[flag], &given(&[("metrics", "yes")])).is_err());
    }
}
