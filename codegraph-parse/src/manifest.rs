//! Package manifests read into the graph. A Rust `Cargo.toml` names its library crate,
//! which the other crates of a workspace (and the package's own tests) reach by that
//! name: `codegraph_store::index_with` is a path into the crate whose manifest says
//! `name = "codegraph-store"`. The manifest becomes a file node with one module node,
//! the crate, whose signature is the crate's root file.

use codegraph_core::{Language, Node, NodeId, NodeKind, ParsedFile, Span, Visibility};
use serde::Deserialize;

use crate::extract::count_lines;

/// Whether a path is a manifest this module reads.
pub fn is_manifest(path: &str) -> bool {
    path.rsplit('/').next() == Some("Cargo.toml")
}

#[derive(Deserialize)]
struct Cargo {
    package: Option<Package>,
    lib: Option<Lib>,
}

#[derive(Deserialize)]
struct Package {
    name: Option<toml::Spanned<String>>,
}

#[derive(Deserialize)]
struct Lib {
    name: Option<toml::Spanned<String>>,
    path: Option<String>,
}

/// A `Cargo.toml`'s file node and, for a package (not a bare `[workspace]`), its
/// library crate: named as Rust code names it (`-` read as `_`), rooted at `[lib]
/// path` or `src/lib.rs`. A manifest that does not parse keeps its file node and is
/// marked as having errors.
pub fn cargo(path: &str, source: &[u8]) -> ParsedFile {
    let file_id = NodeId::for_file(path);
    let text = String::from_utf8_lossy(source);
    let whole = span_of(source, 0, source.len());
    let mut nodes = vec![Node {
        id: file_id,
        kind: NodeKind::File,
        language: Language::Rust,
        name: path.rsplit('/').next().unwrap_or(path).to_string(),
        qualified_name: path.to_string(),
        path: path.to_string(),
        span: whole,
        name_span: span_of(source, 0, 0),
        signature: None,
        doc: None,
        visibility: Visibility::Public,
        parent: None,
    }];
    let parsed: Option<Cargo> = toml::from_str(&text).ok();
    let has_errors = parsed.is_none();
    if let Some(manifest) = parsed {
        let lib_name = manifest.lib.as_ref().and_then(|l| l.name.clone());
        let name = lib_name.or_else(|| manifest.package.and_then(|p| p.name));
        if let Some(name) = name {
            let crate_name = name.get_ref().replace('-', "_");
            let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
            let relative = manifest
                .lib
                .and_then(|l| l.path)
                .unwrap_or_else(|| "src/lib.rs".to_string());
            let relative = relative.trim_start_matches("./");
            let root = match dir {
                "" => relative.to_string(),
                d => format!("{d}/{relative}"),
            };
            let range = name.span();
            let at = span_of(source, range.start, range.end);
            let valid = !crate_name.is_empty()
                && crate_name.chars().all(|c| c.is_alphanumeric() || c == '_');
            if valid {
                nodes.push(Node {
                    id: NodeId::new(path, &crate_name, NodeKind::Module, ""),
                    kind: NodeKind::Module,
                    language: Language::Rust,
                    name: crate_name.clone(),
                    qualified_name: crate_name,
                    path: path.to_string(),
                    span: whole,
                    name_span: at,
                    signature: Some(root),
                    doc: None,
                    visibility: Visibility::Public,
                    parent: Some(file_id),
                });
            }
        }
    }
    ParsedFile {
        path: path.to_string(),
        language: Language::Rust,
        content_hash: xxhash_rust::xxh3::xxh3_64(source),
        size: source.len() as u64,
        stamp: None,
        lines: count_lines(source),
        has_errors,
        nodes,
        references: Vec::new(),
    }
}

/// The span of bytes `start..end`, with 1-based lines and columns.
fn span_of(source: &[u8], start: usize, end: usize) -> Span {
    let position = |at: usize| {
        let at = at.min(source.len());
        let before = &source[..at];
        let line = memchr::memchr_iter(b'\n', before).count() as u32 + 1;
        let column = match memchr::memrchr(b'\n', before) {
            Some(nl) => at - nl,
            None => at + 1,
        } as u32;
        (line, column)
    };
    let (start_line, start_column) = position(start);
    let (end_line, end_column) = position(end);
    Span {
        start_byte: start.min(source.len()) as u32,
        end_byte: end.min(source.len()) as u32,
        start_line,
        start_column,
        end_line,
        end_column,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crate_of(path: &str, toml: &str) -> Option<(String, String, u32)> {
        let parsed = cargo(path, toml.as_bytes());
        parsed
            .nodes
            .iter()
            .find(|n| n.kind == NodeKind::Module)
            .map(|n| {
                (
                    n.name.clone(),
                    n.signature.clone().unwrap_or_default(),
                    n.name_span.start_line,
                )
            })
    }

    #[test]
    fn a_package_names_its_library_crate() {
        assert_eq!(
            crate_of(
                "codegraph-store/Cargo.toml",
                "[package]\nname = \"codegraph-store\"\nversion = \"0.1.0\"\n"
            ),
            Some((
                "codegraph_store".to_string(),
                "codegraph-store/src/lib.rs".to_string(),
                2
            ))
        );
        assert_eq!(
            crate_of(
                "Cargo.toml",
                "[package]\nname = \"tool\"\n\n[lib]\nname = \"tool_core\"\npath = \"./lib/core.rs\"\n"
            ),
            Some(("tool_core".to_string(), "lib/core.rs".to_string(), 5))
        );
        // A workspace without a package, and a broken manifest, name no crate.
        assert_eq!(
            crate_of("Cargo.toml", "[workspace]\nmembers = [\"a\"]\n"),
            None
        );
        let broken = cargo("a/Cargo.toml", b"[package\nname = ");
        assert!(broken.has_errors);
        assert_eq!(broken.nodes.len(), 1);
    }

    proptest::proptest! {
        /// Manifests come from the files being indexed: any bytes give a file node
        /// and no panic.
        #[test]
        fn any_manifest_is_read(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let parsed = cargo("x/Cargo.toml", &bytes);
            proptest::prop_assert_eq!(parsed.nodes[0].kind, NodeKind::File);
        }
    }
}
