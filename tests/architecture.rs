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

/// A crate's modules, each with the source it was read from (test modules cut off):
/// `src/a/b.rs` is `a::b`, `src/a/mod.rs` is `a`, `src/lib.rs` and `src/main.rs` are
/// the root, ``.
fn modules(crate_dir: &Path) -> Vec<(String, String)> {
    let src = crate_dir.join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "rs"))
        .map(|f| {
            let rel = f.strip_prefix(&src).unwrap().with_extension("");
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(
                parts.last().map(|s| s.as_str()),
                Some("mod" | "lib" | "main")
            ) {
                parts.pop();
            }
            let text = std::fs::read_to_string(f).unwrap();
            let text = text.split("#[cfg(test)]").next().unwrap_or("").to_string();
            (parts.join("::"), text)
        })
        .collect()
}

/// The module paths `text` names after `prefix` (`crate::`, `super::`): each run of
/// lowercase path segments, as written.
fn named_after(text: &str, prefix: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for (at, _) in text.match_indices(prefix) {
        let before = text[..at].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let mut segments = Vec::new();
        for seg in text[at + prefix.len()..].split("::") {
            let ident: String = seg
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if ident.is_empty() || !ident.starts_with(|c: char| c.is_ascii_lowercase()) {
                break;
            }
            let whole = ident.len() == seg.len();
            segments.push(ident);
            if !whole {
                break;
            }
        }
        out.push(segments);
    }
    out
}

/// Which modules each module of a crate imports: the longest module path a `crate::`
/// or `super::` path starts with. A module using its own ancestors is not counted
/// (a child module may use what its parent defines, as `lang/python.rs` uses `lang`).
fn import_edges(modules: &[(String, String)]) -> Vec<(String, String)> {
    let names: HashSet<&str> = modules.iter().map(|(m, _)| m.as_str()).collect();
    let mut edges = Vec::new();
    for (module, text) in modules {
        let parent: Vec<&str> = module.split("::").filter(|s| !s.is_empty()).collect();
        let parent = &parent[..parent.len().saturating_sub(1)];
        let mut paths: Vec<Vec<String>> = named_after(text, "crate::");
        for mut p in named_after(text, "super::") {
            let mut full: Vec<String> = parent.iter().map(|s| s.to_string()).collect();
            full.append(&mut p);
            paths.push(full);
        }
        for p in paths {
            for k in (1..=p.len()).rev() {
                let candidate = p[..k].join("::");
                if names.contains(candidate.as_str()) {
                    let ancestor = module.starts_with(&format!("{candidate}::"));
                    if candidate != *module && !ancestor {
                        edges.push((module.clone(), candidate));
                    }
                    break;
                }
            }
        }
    }
    edges.sort();
    edges.dedup();
    edges
}

fn reaches(edges: &[(String, String)], from: &str, to: &str) -> bool {
    let mut seen: HashSet<&str> = HashSet::from([from]);
    let mut todo = vec![from];
    while let Some(m) = todo.pop() {
        if m == to {
            return true;
        }
        for (a, b) in edges {
            if a == m && seen.insert(b.as_str()) {
                todo.push(b.as_str());
            }
        }
    }
    false
}

const CRATES: &[&str] = &[
    ".",
    "codegraph-core",
    "codegraph-parse",
    "codegraph-store",
    "codegraph-vector",
    "codegraph-server",
];

#[test]
fn no_module_imports_a_module_that_imports_it_back() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut circles = Vec::new();
    let mut counted = 0;
    for krate in CRATES {
        let edges = import_edges(&modules(&root.join(krate)));
        counted += edges.len();
        for (a, b) in &edges {
            if reaches(&edges, b, a) {
                circles.push(format!("{krate}: {a} -> {b} -> ... -> {a}"));
            }
        }
    }
    assert!(
        counted > 40,
        "only {counted} imports found: is the parser right?"
    );
    assert!(
        circles.is_empty(),
        "import circles:\n  {}",
        circles.join("\n  ")
    );
}

/// The command line and the HTTP server are two faces of the engine that never use
/// each other's modules: either builds without the other.
#[test]
fn the_command_line_and_the_server_do_not_import_each_other() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let modules = modules(&root.join("codegraph-server"));
    let edges = import_edges(&modules);
    let face = |m: &str| m.split("::").next().unwrap_or("").to_string();
    let crossing: Vec<String> = edges
        .iter()
        .filter(|(a, b)| {
            let (fa, fb) = (face(a), face(b));
            (fa == "cli" && fb == "serve") || (fa == "serve" && fb == "cli")
        })
        .map(|(a, b)| format!("{a} -> {b}"))
        .collect();
    assert!(
        modules.iter().any(|(m, _)| m.starts_with("cli::"))
            && edges.iter().any(|(a, _)| a.starts_with("serve")),
        "no cli/ or serve/ modules found: is the parser right?"
    );
    assert!(
        crossing.is_empty(),
        "the faces import each other:\n  {}",
        crossing.join("\n  ")
    );
}
