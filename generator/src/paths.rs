//! Paths read from files anyone can edit (a service's state file, a
//! template's policy) must name a file inside the service and nothing else:
//! every such path passes this one check before rampart reads or writes it.

/// The state file, relative to the service root.
pub const STATE_FILE: &str = ".rampart.toml";

/// Why `path` cannot name a file of the service, or `Ok` when it can: a
/// relative, `/`-separated path of plain names, outside `.git`, and not the
/// state file itself.
pub fn confined(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("is empty".into());
    }
    if path.starts_with('/') {
        return Err("is absolute; paths are relative to the service".into());
    }
    if path.chars().any(|c| c == '\\' || c.is_control()) {
        return Err("holds a backslash or a control character".into());
    }
    for part in path.split('/') {
        match part {
            "" => return Err("has an empty part (`//` or a trailing `/`)".into()),
            "." | ".." => {
                return Err(format!(
                    "has a `{part}` part, which could leave the service"
                ));
            }
            _ if part.eq_ignore_ascii_case(".git") => {
                return Err("is inside `.git`, which is git's, not the service's".into());
            }
            _ => {}
        }
    }
    if path == STATE_FILE {
        return Err(format!("is the state file {STATE_FILE}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::{Component, Path};

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn refuses_every_way_out() {
        for path in [
            "",
            "/etc/passwd",
            "../outside.md",
            "ci/../../etc/shadow",
            "a//b",
            "a/",
            "./a",
            "a\\..\\b",
            ".git/hooks/pre-commit",
            "x/.GIT/config",
            ".rampart.toml",
            "a\nb",
        ] {
            assert!(confined(path).is_err(), "{path:?}");
        }
        for path in [
            "src/main.rs",
            ".github/workflows/ci.yml",
            "a/..b/c..",
            ".env",
        ] {
            assert_eq!(confined(path), Ok(()), "{path:?}");
        }
    }

    proptest! {
        // Whatever the string, a path that passes stays below the service's
        // root: joined to it, it has only plain names after the root.
        #[test]
        fn a_confined_path_never_leaves_the_root(path in "[a-z./\\\\]{0,12}") {
            if confined(&path).is_ok() {
                let joined = Path::new("/service").join(&path);
                prop_assert!(joined.starts_with("/service"));
                prop_assert!(joined.components().skip(2).all(|c| matches!(c, Component::Normal(_))));
            }
        }
    }
}
