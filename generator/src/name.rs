//! Service name validation. Only lowercase kebab-case is accepted because
//! cargo-generate rewrites other spellings, and both renderers must agree.

use crate::Error;

/// Longest accepted name; keeps paths, crate names and database names sane.
pub const MAX_LEN: usize = 64;

const RULE: &str = "names must be lowercase kebab-case: a letter a-z first, then letters a-z, \
                    digits 0-9 and single dashes between words (e.g. `my-api`), at most 64 \
                    characters";

/// Rust keywords (all editions, reserved ones included): a crate named after
/// one cannot be referred to in code.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Names cargo refuses or that clash with the standard library, cargo's own
/// build directories, or device names on Windows.
const RESERVED: &[&str] = &[
    "alloc",
    "core",
    "proc-macro",
    "std",
    "test",
    "build",
    "deps",
    "examples",
    "incremental",
    "con",
    "prn",
    "aux",
    "nul",
    "com1",
    "com2",
    "com3",
    "com4",
    "com5",
    "com6",
    "com7",
    "com8",
    "com9",
    "lpt1",
    "lpt2",
    "lpt3",
    "lpt4",
    "lpt5",
    "lpt6",
    "lpt7",
    "lpt8",
    "lpt9",
];

/// Checks `name` and explains what is wrong, suggesting a fix when one is obvious.
pub fn validate(name: &str) -> Result<(), Error> {
    let reason = if name.is_empty() {
        Some(format!("the name is empty; {RULE}"))
    } else if name.len() > MAX_LEN {
        Some(format!(
            "the name is {} characters long; {RULE}",
            name.len()
        ))
    } else if !is_kebab_case(name) {
        Some(RULE.to_owned())
    } else if KEYWORDS.contains(&name) {
        Some(format!(
            "`{name}` is a Rust keyword; pick a more specific name"
        ))
    } else if RESERVED.contains(&name) {
        Some(format!(
            "`{name}` is a reserved crate name; pick a more specific name"
        ))
    } else {
        None
    };
    match reason {
        None => Ok(()),
        Some(reason) => Err(Error::InvalidName {
            name: name.to_owned(),
            reason,
            suggestion: suggest(name),
        }),
    }
}

/// `^[a-z][a-z0-9]*(-[a-z0-9]+)*$`, written out to avoid a regex dependency.
fn is_kebab_case(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.split('-').all(|word| {
            !word.is_empty()
                && word
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// A valid name close to `name`, if there is an obvious one: `My_Api` -> `my-api`,
/// `test` -> `test-service`.
pub fn suggest(name: &str) -> Option<String> {
    let candidate = kebab_case(name);
    let candidate =
        if KEYWORDS.contains(&candidate.as_str()) || RESERVED.contains(&candidate.as_str()) {
            format!("{candidate}-service")
        } else {
            candidate
        };
    (candidate != name
        && candidate.len() <= MAX_LEN
        && is_kebab_case(&candidate)
        && !KEYWORDS.contains(&candidate.as_str()))
    .then_some(candidate)
}

/// Lowercases and splits words at separators and camelCase humps.
fn kebab_case(name: &str) -> String {
    let chars: Vec<char> = name.trim().chars().collect();
    let mut words: Vec<String> = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            words.push(std::mem::take(&mut current));
            continue;
        }
        let prev = i.checked_sub(1).map(|j| chars[j]);
        let next = chars.get(i + 1).copied();
        let hump = c.is_ascii_uppercase()
            && prev.is_some_and(|p| {
                p.is_ascii_lowercase()
                    || p.is_ascii_digit()
                    || (p.is_ascii_uppercase() && next.is_some_and(|n| n.is_ascii_lowercase()))
            });
        if hump {
            words.push(std::mem::take(&mut current));
        }
        current.push(c.to_ascii_lowercase());
    }
    words.push(current);
    words.retain(|w| !w.is_empty());
    words.join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suggestion_for(name: &str) -> Option<String> {
        match validate(name) {
            Err(Error::InvalidName { suggestion, .. }) => suggestion,
            other => panic!("expected `{name}` to be rejected, got {other:?}"),
        }
    }

    #[test]
    fn accepts_kebab_case() {
        for name in ["api", "my-api", "a1", "svc2-v3", "x", &"a".repeat(MAX_LEN)] {
            assert!(validate(name).is_ok(), "{name} should be valid");
        }
    }

    #[test]
    fn rejects_other_spellings() {
        for name in [
            "", "My-Api", "my_api", "my--api", "-api", "api-", "1api", "my api", "api.rs", "ünï",
            "my-Api", "a-1-", "../etc",
        ] {
            assert!(validate(name).is_err(), "{name:?} should be rejected");
        }
    }

    #[test]
    fn rejects_too_long() {
        assert!(validate(&"a".repeat(MAX_LEN + 1)).is_err());
    }

    #[test]
    fn rejects_keywords_and_reserved_names() {
        for name in [
            "fn",
            "self",
            "super",
            "crate",
            "async",
            "std",
            "core",
            "alloc",
            "proc-macro",
            "test",
        ] {
            assert!(validate(name).is_err(), "{name} should be rejected");
        }
    }

    #[test]
    fn suggests_obvious_fixes() {
        assert_eq!(suggestion_for("My_Api").as_deref(), Some("my-api"));
        assert_eq!(suggestion_for("MyAPI").as_deref(), Some("my-api"));
        assert_eq!(suggestion_for("HTTPServer").as_deref(), Some("http-server"));
        assert_eq!(suggestion_for("my  api ").as_deref(), Some("my-api"));
        assert_eq!(suggestion_for("orders__svc").as_deref(), Some("orders-svc"));
        assert_eq!(suggestion_for("test").as_deref(), Some("test-service"));
        assert_eq!(suggestion_for("Std").as_deref(), Some("std-service"));
    }

    #[test]
    fn no_suggestion_when_nothing_obvious() {
        assert_eq!(suggestion_for(""), None);
        assert_eq!(suggestion_for("1api"), None);
        assert_eq!(suggestion_for("!!!"), None);
    }

    #[test]
    fn error_message_says_what_is_allowed() {
        let message = validate("My_Api").unwrap_err().to_string();
        assert!(message.contains("kebab-case"), "{message}");
        assert!(message.contains("my-api"), "{message}");
    }
}
