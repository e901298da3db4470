//! A template's update policy, `template-update.toml` beside its `template/`
//! folder: which files the template owns (ownership classes) and the typed
//! migrations, such as renames, that `rampart update` runs between versions.

use serde::Deserialize;

use crate::Error;

/// The policy file, at the root of a template source.
pub(crate) const POLICY_FILE: &str = "template-update.toml";

/// How `rampart update` treats a rendered file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// Kept equal to the template: updates replace it, `rampart check` fails
    /// when it differs (security middleware, CI, supply-chain policy).
    Managed,
    /// Three-way merged: the team's edits and the template's both stay.
    Merged,
    /// Rendered once, then the team's own: updates never touch it.
    Seeded,
}

/// A change a template version makes to services beyond its files' contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    /// A rendered file moved: the team's copy moves with it before merging.
    RenameFile { from: String, to: String },
    /// A placeholder was renamed: the stored answer moves to the new name.
    RenameAnswer { from: String, to: String },
    /// A new placeholder whose default suits new services only: services
    /// generated before it get `value` instead (a `--set` still wins).
    SetAnswer { key: String, value: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Migration {
    /// Unique and never reused: a migration runs when the new version lists
    /// an id the old one did not.
    pub id: String,
    pub change: Change,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    managed: Vec<String>,
    seeded: Vec<String>,
    migrations: Vec<Migration>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    ownership: Ownership,
    #[serde(default)]
    migrations: Vec<MigrationEntry>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Ownership {
    #[serde(default)]
    managed: Vec<String>,
    #[serde(default)]
    seeded: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MigrationEntry {
    id: String,
    rename_file: Option<Rename>,
    rename_answer: Option<Rename>,
    set_answer: Option<SetAnswer>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Rename {
    from: String,
    to: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetAnswer {
    key: String,
    value: String,
}

impl Policy {
    pub fn parse(text: &str) -> Result<Self, Error> {
        let file: PolicyFile =
            toml::from_str(text).map_err(|e| Error::Policy(format!("{POLICY_FILE}: {e}")))?;
        // Names the line holding the first mention of what is wrong.
        let bad = |needle: &str, msg: String| {
            let line = text
                .lines()
                .position(|l| l.contains(needle))
                .map_or(String::new(), |n| format!(" line {}", n + 1));
            Error::Policy(format!("{POLICY_FILE}{line}: {msg}"))
        };
        for pattern in file.ownership.managed.iter().chain(&file.ownership.seeded) {
            let stem = pattern.strip_suffix("/**").unwrap_or(pattern);
            if stem.contains('*') {
                return Err(bad(
                    pattern,
                    format!("pattern `{pattern}`: use a file path or `folder/**`"),
                ));
            }
            crate::paths::confined(stem)
                .map_err(|why| bad(pattern, format!("pattern `{pattern}` {why}")))?;
        }
        let mut migrations: Vec<Migration> = Vec::new();
        for entry in file.migrations {
            if migrations.iter().any(|m| m.id == entry.id) {
                return Err(bad(
                    &entry.id,
                    format!("migration id `{}` is used twice", entry.id),
                ));
            }
            let change = match (entry.rename_file, entry.rename_answer, entry.set_answer) {
                (Some(r), None, None) => {
                    for path in [&r.from, &r.to] {
                        crate::paths::confined(path).map_err(|why| {
                            bad(
                                path,
                                format!("migration `{}`: path `{path}` {why}", entry.id),
                            )
                        })?;
                    }
                    Change::RenameFile {
                        from: r.from,
                        to: r.to,
                    }
                }
                (None, Some(r), None) => Change::RenameAnswer {
                    from: r.from,
                    to: r.to,
                },
                (None, None, Some(s)) => Change::SetAnswer {
                    key: s.key,
                    value: s.value,
                },
                _ => {
                    return Err(bad(
                        &entry.id,
                        format!(
                            "migration `{}` needs exactly one of rename_file, rename_answer, set_answer",
                            entry.id
                        ),
                    ));
                }
            };
            migrations.push(Migration {
                id: entry.id,
                change,
            });
        }
        Ok(Self {
            managed: file.ownership.managed,
            seeded: file.ownership.seeded,
            migrations,
        })
    }

    /// The class of a rendered file; managed wins over seeded, merged is the default.
    pub fn class(&self, path: &str) -> Class {
        let matches = |patterns: &[String]| patterns.iter().any(|p| pattern_matches(p, path));
        if matches(&self.managed) {
            Class::Managed
        } else if matches(&self.seeded) {
            Class::Seeded
        } else {
            Class::Merged
        }
    }

    /// Migrations this policy lists that `older` did not, in order.
    pub(crate) fn pending_since<'a>(&'a self, older: &Policy) -> Vec<&'a Migration> {
        self.migrations
            .iter()
            .filter(|m| !older.migrations.iter().any(|o| o.id == m.id))
            .collect()
    }
}

/// `folder/**` matches everything under `folder`; any other pattern is a path.
fn pattern_matches(pattern: &str, path: &str) -> bool {
    match pattern.strip_suffix("/**") {
        Some(folder) => path
            .strip_prefix(folder)
            .is_some_and(|rest| rest.starts_with('/')),
        None => pattern == path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_patterns() {
        let policy = Policy::parse(
            r#"
            [ownership]
            managed = ["ci/**", "deny.toml"]
            seeded = ["src/routes/orders.rs", "ci/local/**"]
            "#,
        )
        .unwrap();
        assert_eq!(policy.class("ci/run"), Class::Managed);
        assert_eq!(policy.class("ci/local/x"), Class::Managed);
        assert_eq!(policy.class("deny.toml"), Class::Managed);
        assert_eq!(policy.class("src/routes/orders.rs"), Class::Seeded);
        assert_eq!(policy.class("cim"), Class::Merged);
        assert_eq!(policy.class("Cargo.toml"), Class::Merged);
    }

    #[test]
    fn migrations_run_once_in_order() {
        let old = Policy::parse(
            "[[migrations]]\nid = \"a\"\nrename_file = { from = \"x\", to = \"y\" }\n",
        )
        .unwrap();
        let new = Policy::parse(
            "[[migrations]]\nid = \"a\"\nrename_file = { from = \"x\", to = \"y\" }\n\
             [[migrations]]\nid = \"b\"\nrename_answer = { from = \"team\", to = \"owner\" }\n",
        )
        .unwrap();
        let pending = new.pending_since(&old);
        assert_eq!(pending.len(), 1);
        assert_eq!(
            pending[0].change,
            Change::RenameAnswer {
                from: "team".into(),
                to: "owner".into()
            }
        );
    }

    #[test]
    fn refuses_what_it_cannot_apply() {
        for text in [
            "[ownership]\nmanaged = [\"src/*.rs\"]",
            "[ownership]\nowned = []",
            "[[migrations]]\nid = \"a\"",
            "[[migrations]]\nid = \"a\"\nrename_file = { from = \"x\", to = \"y\" }\n\
             [[migrations]]\nid = \"a\"\nrename_file = { from = \"y\", to = \"z\" }",
            "[[migrations]]\nid = \"a\"\nset_answer = { key = \"x\", value = \"true\" }\n\
             rename_answer = { from = \"x\", to = \"y\" }",
            "[[migrations]]\nid = \"a\"\nset_answer = { key = \"x\" }",
            // Paths leaving the service, or into git's own files.
            "[[migrations]]\nid = \"a\"\nrename_file = { from = \"x\", to = \"../victim.md\" }",
            "[[migrations]]\nid = \"a\"\nrename_file = { from = \"x\", to = \"/tmp/anywhere\" }",
            "[[migrations]]\nid = \"a\"\nrename_file = { from = \"../x\", to = \"y\" }",
            "[[migrations]]\nid = \"a\"\nrename_file = { from = \"x\", to = \".git/hooks/pre-commit\" }",
            "[ownership]\nmanaged = [\"../**\"]",
        ] {
            assert!(Policy::parse(text).is_err(), "{text}");
        }
    }
}
