//! ARCHITECTURE.md stays a true map: every file path and every type-like name it puts
//! in backticks must exist in the repository. Renaming or deleting one without
//! updating the map fails here.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name == "target" {
            continue;
        }
        if path.is_dir() {
            sources(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Words of the code: identifiers as they appear in Rust sources.
fn words(files: &[PathBuf]) -> HashSet<String> {
    let mut out = HashSet::new();
    for f in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "rs"))
    {
        let text = std::fs::read_to_string(f).unwrap();
        for w in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if !w.is_empty() {
                out.insert(w.to_string());
            }
        }
    }
    out
}

/// A name written like a Rust type (`RocksStore`), as opposed to a word, a constant or
/// a command.
fn is_type_like(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && s.chars().all(|c| c.is_ascii_alphanumeric())
        && s.chars().any(|c| c.is_ascii_lowercase())
        && s.len() > 2
}

fn is_path_like(s: &str) -> bool {
    // Not `.json`: the map names files of a store and a model, which are data.
    let known = [".rs", ".md", ".toml", ".scm", ".sh", ".py", ".yml"];
    !s.contains(char::is_whitespace)
        && !s.contains(['<', '*', '{', '$', '(', ':', '='])
        && !s.starts_with(['-', '/', '.', '~'])
        && (known.iter().any(|k| s.ends_with(k)) || s.ends_with('/'))
}

#[test]
fn every_path_and_type_architecture_md_names_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let map = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let mut files = Vec::new();
    sources(root, &mut files);
    let relative: Vec<String> = files
        .iter()
        .map(|f| {
            f.strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    let words = words(&files);
    let mut missing = Vec::new();
    let mut checked = 0;
    for (i, span) in map.split('`').enumerate() {
        if i % 2 == 0 || span.is_empty() {
            continue;
        }
        if is_path_like(span) {
            checked += 1;
            let dir = span.trim_end_matches('/');
            let found = relative
                .iter()
                .any(|p| p == span || p.ends_with(&format!("/{span}")))
                || root.join(dir).is_dir()
                || relative
                    .iter()
                    .any(|p| p.contains(&format!("/{dir}/")) || p.starts_with(&format!("{dir}/")));
            if !found {
                missing.push(format!("path {span}"));
            }
            continue;
        }
        // `Type`, `Type::item` and `crate::Type` name things in the code.
        for part in span.split("::") {
            if is_type_like(part) {
                checked += 1;
                if !words.contains(part) {
                    missing.push(format!("name {part} (in `{span}`)"));
                }
            }
        }
    }
    assert!(
        checked > 50,
        "only {checked} names checked: is the parser right?"
    );
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md names what the repository no longer has:\n  {}",
        missing.join("\n  ")
    );
}
