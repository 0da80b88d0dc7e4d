//! No import circle inside any crate of the workspace: the modules of a crate form a directed
//! acyclic graph of "file A refers to an item of module B". A type lives where its meaning
//! lives, and a helper shared by two modules goes below both, never into one of them.
//!
//! Edges come from `use crate::…`, `use super::…`, `use self::…` and inline `crate::…` /
//! `super::…` paths, resolved to the longest module prefix that is a file. Re-exports
//! (`pub use`) and `mod` declarations are not edges: a parent that only re-exports a child's
//! items does not depend on it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A crate's modules: module path (`["learner", "flat"]`) to its file's source.
fn modules(src: &Path) -> BTreeMap<Vec<String>, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            if p.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = p.strip_prefix(src).unwrap().with_extension("");
            let mut path: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(
                path.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                path.pop();
            }
            out.insert(path, std::fs::read_to_string(&p).unwrap());
        }
    }
    out
}

/// The code of a file without comments, string literals and re-export or `mod` lines.
fn code(text: &str) -> String {
    let mut out = String::new();
    let mut in_reexport = false;
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with("//") || t.starts_with("mod ") || t.starts_with("pub mod ") {
            continue;
        }
        if t.starts_with("pub use ") || t.starts_with("pub(crate) use ") {
            in_reexport = !t.contains(';');
            continue;
        }
        if in_reexport {
            in_reexport = !t.contains(';');
            continue;
        }
        let line = line.split("//").next().unwrap_or("");
        let mut in_str = false;
        for c in line.chars() {
            if c == '"' {
                in_str = !in_str;
            } else if !in_str {
                out.push(c);
            }
        }
        out.push('\n');
    }
    out
}

/// Every module path a file refers to through `crate::`, `super::` or `self::` paths,
/// including the items of grouped imports (`use super::{a::X, b::Y}`).
fn references(module: &[String], text: &str) -> Vec<Vec<String>> {
    let code = code(text);
    let bytes: Vec<char> = code.chars().collect();
    let mut refs = Vec::new();
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut i = 0;
    while i < bytes.len() {
        let rest: String = bytes[i..bytes.len().min(i + 7)].iter().collect();
        let start_ok = i == 0 || !is_ident(bytes[i - 1]) && bytes[i - 1] != ':';
        let root = ["crate::", "super::", "self::"]
            .into_iter()
            .find(|r| rest.starts_with(r));
        let (Some(root), true) = (root, start_ok) else {
            i += 1;
            continue;
        };
        let mut base: Vec<String> = match root {
            "crate::" => Vec::new(),
            "super::" => module[..module.len().saturating_sub(1)].to_vec(),
            _ => module.to_vec(),
        };
        i += root.len();
        // Further `super::` segments.
        loop {
            let rest: String = bytes[i..bytes.len().min(i + 7)].iter().collect();
            if rest.starts_with("super::") {
                base.pop();
                i += 7;
            } else {
                break;
            }
        }
        // A path, possibly ending in a `{...}` group of paths.
        let mut path = base.clone();
        loop {
            if i < bytes.len() && bytes[i] == '{' {
                let close = (i..bytes.len())
                    .find(|&j| bytes[j] == '}')
                    .unwrap_or(bytes.len());
                let group: String = bytes[i + 1..close].iter().collect();
                for item in group.split(',') {
                    let mut p = path.clone();
                    p.extend(
                        item.split("::")
                            .map(|s| s.trim().to_string())
                            .filter(|s| !s.is_empty() && s.chars().all(is_ident)),
                    );
                    refs.push(p);
                }
                i = close;
                break;
            }
            let seg: String = bytes[i..].iter().take_while(|c| is_ident(**c)).collect();
            if seg.is_empty() {
                break;
            }
            i += seg.chars().count();
            path.push(seg);
            let rest: String = bytes[i..bytes.len().min(i + 2)].iter().collect();
            if rest == "::" {
                i += 2;
            } else {
                break;
            }
        }
        refs.push(path);
    }
    refs
}

/// The module a referenced path lands in: its longest prefix that is a module of the crate.
fn resolve(mods: &BTreeMap<Vec<String>, String>, path: &[String]) -> Option<Vec<String>> {
    (0..=path.len())
        .rev()
        .map(|k| path[..k].to_vec())
        .find(|p| mods.contains_key(p))
}

/// A cycle of modules in a crate, if there is one.
fn find_cycle(src: &Path) -> Option<Vec<String>> {
    let mods = modules(src);
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (m, text) in &mods {
        for r in references(m, text) {
            if let Some(target) = resolve(&mods, &r)
                && &target != m
            {
                edges.entry(m.clone()).or_default().insert(target);
            }
        }
    }
    // Depth-first search with colors.
    fn visit(
        m: &Vec<String>,
        edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        state: &mut BTreeMap<Vec<String>, u8>,
        stack: &mut Vec<Vec<String>>,
    ) -> Option<Vec<String>> {
        state.insert(m.clone(), 1);
        stack.push(m.clone());
        for n in edges.get(m).into_iter().flatten() {
            match state.get(n).copied().unwrap_or(0) {
                1 => {
                    let from = stack.iter().position(|s| s == n).unwrap_or(0);
                    let mut cycle: Vec<String> = stack[from..].iter().map(|p| name(p)).collect();
                    cycle.push(name(n));
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(n, edges, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(m.clone(), 2);
        None
    }
    fn name(p: &[String]) -> String {
        if p.is_empty() {
            "lib".into()
        } else {
            p.join("::")
        }
    }
    let mut state = BTreeMap::new();
    for m in mods.keys() {
        if state.get(m).copied().unwrap_or(0) == 0
            && let Some(c) = visit(m, &edges, &mut state, &mut Vec::new())
        {
            return Some(c);
        }
    }
    None
}

fn crate_sources() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join("crates"))
        .unwrap()
        .flatten()
        .map(|e| e.path().join("src"))
        .filter(|p| p.is_dir())
        .collect();
    dirs.push(root.join("examples/src"));
    dirs.push(root.join("src"));
    dirs.sort();
    dirs
}

#[test]
fn no_crate_has_an_import_circle() {
    let dirs = crate_sources();
    assert!(dirs.len() >= 9, "found only {dirs:?}");
    let cycles: Vec<String> = dirs
        .iter()
        .filter_map(|d| find_cycle(d).map(|c| format!("{}: {}", d.display(), c.join(" -> "))))
        .collect();
    assert!(cycles.is_empty(), "import circles:\n{}", cycles.join("\n"));
}

/// The checker finds a circle where there is one (a regression test of the checker itself).
#[test]
fn the_checker_finds_a_planted_circle() {
    let dir = tempfile_dir();
    std::fs::write(dir.join("lib.rs"), "mod a;\nmod b;\n").unwrap();
    std::fs::write(dir.join("a.rs"), "use crate::b::B;\npub struct A;\n").unwrap();
    std::fs::write(dir.join("b.rs"), "pub struct B(crate::a::A);\n").unwrap();
    let c = find_cycle(&dir).expect("a <-> b is a circle");
    assert!(
        c.contains(&"a".to_string()) && c.contains(&"b".to_string()),
        "{c:?}"
    );
    // A parent that re-exports its child, and a child that uses a sibling, is no circle.
    std::fs::write(dir.join("lib.rs"), "mod a;\nmod b;\npub use a::A;\n").unwrap();
    std::fs::write(dir.join("b.rs"), "pub struct B;\n").unwrap();
    std::fs::write(dir.join("a.rs"), "use super::{b::B};\npub struct A(B);\n").unwrap();
    assert_eq!(find_cycle(&dir), None);
    std::fs::remove_dir_all(&dir).unwrap();
}

fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bprl-import-cycles-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
