//! A small argument parser: `--flag`, `--key value`, positionals; every unknown option is an
//! error that names it.

use std::collections::BTreeMap;

/// Parsed arguments of one command.
#[derive(Debug, Default)]
pub struct Args {
    /// `--key value` pairs.
    pub values: BTreeMap<String, Vec<String>>,
    /// `--flag`s.
    pub flags: Vec<String>,
    /// Positional arguments.
    pub positional: Vec<String>,
}

impl Args {
    /// Parses `raw` given the options that take a value and the flags.
    pub fn parse(raw: &[String], with_value: &[&str], flags: &[&str]) -> Result<Self, String> {
        let mut out = Args::default();
        let mut i = 0;
        while i < raw.len() {
            let a = &raw[i];
            if let Some(name) = a.strip_prefix("--") {
                if with_value.contains(&name) {
                    let v = raw
                        .get(i + 1)
                        .ok_or_else(|| format!("--{name} needs a value"))?;
                    out.values
                        .entry(name.to_string())
                        .or_default()
                        .push(v.clone());
                    i += 2;
                    continue;
                }
                if flags.contains(&name) {
                    out.flags.push(name.to_string());
                    i += 1;
                    continue;
                }
                return Err(format!("unknown option --{name}"));
            }
            out.positional.push(a.clone());
            i += 1;
        }
        Ok(out)
    }

    /// The last value of `--key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values
            .get(key)
            .and_then(|v| v.last())
            .map(String::as_str)
    }

    /// Every value of a repeatable `--key`.
    pub fn all(&self, key: &str) -> Vec<String> {
        self.values.get(key).cloned().unwrap_or_default()
    }

    /// `--key` parsed, or the default.
    pub fn parsed<T: std::str::FromStr>(&self, key: &str, default: T) -> Result<T, String> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| format!("--{key}: cannot parse `{v}`")),
        }
    }

    /// Whether `--flag` was given.
    pub fn flag(&self, name: &str) -> bool {
        self.flags.iter().any(|f| f == name)
    }
}
