//! Strict configuration files: every key of a TOML table is checked against the keys the
//! configuration types have, and an unknown one is a [`ConfigError::UnknownKey`] naming its
//! dotted path and, when one is close, the known key it was probably meant to be.
//!
//! The types themselves also carry `#[serde(deny_unknown_fields)]`, so a key that reaches
//! serde unchecked is still refused; this pass exists for the message (`learner.polcy_lr`,
//! did you mean `learner.policy_lr`?), which serde cannot give across sections.

use crate::error::ConfigError;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The keys each section of a configuration file may hold: the section's dotted path (`""`
/// for the top level) to its keys. A key whose value is a section has its own entry.
pub type Schema = BTreeMap<String, Vec<String>>;

/// The keys of a serializable value's TOML form (its `None` options are absent there, so
/// callers add those by name).
pub fn keys_of<T: serde::Serialize>(value: &T) -> Vec<String> {
    toml::Table::try_from(value)
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default()
}

/// Levenshtein distance between two short strings.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let up = row[j + 1];
            row[j + 1] = (up + 1).min(row[j] + 1).min(diag + usize::from(ca != cb));
            diag = up;
        }
    }
    row[b.len()]
}

/// The known dotted key nearest to `key` (compared on their last components, the same
/// section first), if within `max(1, len / 3)` edits.
pub fn suggest(schema: &Schema, key: &str) -> Option<String> {
    let (parent, leaf) = key.rsplit_once('.').unwrap_or(("", key));
    let budget = (leaf.chars().count() / 3).max(1);
    schema
        .iter()
        .flat_map(|(section, keys)| {
            keys.iter().map(move |k| {
                let dotted = if section.is_empty() {
                    k.clone()
                } else {
                    format!("{section}.{k}")
                };
                let d = distance(leaf, k);
                (d, usize::from(section != parent), dotted)
            })
        })
        .filter(|(d, _, _)| *d <= budget)
        .min()
        .map(|(_, _, dotted)| dotted)
}

/// Checks every key of `table` (and of its sub-tables that `schema` describes) against
/// `schema`.
///
/// # Errors
/// [`ConfigError::UnknownKey`] for the first unknown key, with `path` as its file.
pub fn check_keys(table: &toml::Table, schema: &Schema, path: &str) -> Result<(), ConfigError> {
    walk(table, "", schema, path)
}

fn walk(table: &toml::Table, at: &str, schema: &Schema, path: &str) -> Result<(), ConfigError> {
    let Some(known) = schema.get(at) else {
        return Ok(());
    };
    for (key, value) in table {
        let dotted = if at.is_empty() {
            key.clone()
        } else {
            format!("{at}.{key}")
        };
        if !known.contains(key) {
            return Err(ConfigError::UnknownKey {
                path: PathBuf::from(path),
                did_you_mean: suggest(schema, &dotted),
                key: dotted,
            });
        }
        if let toml::Value::Table(sub) = value {
            walk(sub, &dotted, schema, path)?;
        }
    }
    Ok(())
}

/// A serde/TOML error, with a "did you mean" when it is serde's unknown-field or
/// unknown-variant message (the backstop behind [`check_keys`]).
pub fn parse_error(path: &str, schema: &Schema, e: &dyn std::fmt::Display) -> ConfigError {
    let text = e.to_string();
    let quoted: Vec<&str> = text.split('`').skip(1).step_by(2).collect();
    if (text.contains("unknown field") || text.contains("unknown variant"))
        && let Some(bad) = quoted.first()
    {
        let options: Vec<String> = quoted[1..].iter().map(|s| s.to_string()).collect();
        let mut local = Schema::new();
        local.insert(String::new(), options);
        if let Some(s) = suggest(&local, bad).or_else(|| suggest(schema, bad)) {
            return ConfigError::Parse {
                path: PathBuf::from(path),
                reason: format!("{} (did you mean `{s}`?)", text.trim_end()),
            };
        }
    }
    ConfigError::Parse {
        path: PathBuf::from(path),
        reason: text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_counts_edits() {
        assert_eq!(distance("polcy_lr", "policy_lr"), 1);
        assert_eq!(distance("learnr", "learner"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("abc", "abc"), 0);
    }
}
