//! Package manifests read into the graph. A Rust `Cargo.toml` names its library crate,
//! which the other crates of a workspace (and the package's own tests) reach by that
//! name: `codegraph_store::index_with` is a path into the crate whose manifest says
//! `name = "codegraph-store"`. The manifest becomes a file node with one module node,
//! the crate, whose signature is the crate's root file. A `tsconfig.json` (or
//! `jsconfig.json`, or a `tsconfig.base.json` that others extend) names its path
//! aliases the same way: one module node per `compilerOptions.paths` pattern (`@/*`),
//! and one named [`BASE_URL`] for `baseUrl`, each standing for the path its first
//! target names (`src/*`). A `package.json` names its package, which the other
//! packages of a monorepo import by that name: one module node named by its `name`
//! (`@acme/ui`) standing for the entry its `exports` (or `source`, `module`, `main`, `types`)
//! gives for `.`, one per subpath export (`@acme/ui/button`, `@acme/ui/*`), and, when
//! `exports` lists no subpaths, `@acme/ui/*` standing for the package's directory.

use codegraph_core::{Language, Node, NodeId, NodeKind, ParsedFile, Span, Visibility};
use serde::Deserialize;

use crate::text::count_lines;

/// The name of a `tsconfig.json`'s `baseUrl` node, which stands for `<baseUrl>/*`
/// (named apart from the pattern `*`, a name wildcard imports have too).
pub const BASE_URL: &str = "baseUrl";

/// The name of a `tsconfig.json`'s node for `extends`, which stands for the
/// configuration it extends (whose aliases then hold for this one's files too).
pub const EXTENDS: &str = "extends";

/// Whether a path is a manifest this module reads.
pub fn is_manifest(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name == "Cargo.toml" || name == PACKAGE_JSON || is_ts_config(name)
}

/// An npm package's manifest.
pub const PACKAGE_JSON: &str = "package.json";

/// `tsconfig.json`, `tsconfig.base.json`, `jsconfig.json`: a TypeScript or JavaScript
/// project's configuration.
pub fn is_ts_config(file_name: &str) -> bool {
    (file_name.starts_with("tsconfig") || file_name.starts_with("jsconfig"))
        && file_name.ends_with(".json")
}

/// A manifest's file node and its nodes; `None` for a path that is no manifest of
/// `language`.
pub fn read(language: Language, path: &str, source: &[u8]) -> Option<ParsedFile> {
    let name = path.rsplit('/').next().unwrap_or(path);
    match language {
        Language::Rust if name == "Cargo.toml" => Some(cargo(path, source)),
        Language::TypeScript | Language::JavaScript if is_ts_config(name) => {
            Some(ts_config(language, path, source))
        }
        Language::TypeScript | Language::JavaScript if name == PACKAGE_JSON => {
            Some(package_json(language, path, source))
        }
        _ => None,
    }
}

fn file_node(language: Language, path: &str, source: &[u8]) -> Node {
    Node {
        id: NodeId::for_file(path),
        kind: NodeKind::File,
        language,
        name: path.rsplit('/').next().unwrap_or(path).to_string(),
        qualified_name: path.to_string(),
        path: path.to_string(),
        span: span_of(source, 0, source.len()),
        name_span: span_of(source, 0, 0),
        signature: None,
        doc: None,
        visibility: Visibility::Public,
        parent: None,
    }
}

fn parsed(
    language: Language,
    path: &str,
    source: &[u8],
    nodes: Vec<Node>,
    has_errors: bool,
) -> ParsedFile {
    ParsedFile {
        path: path.to_string(),
        language,
        content_hash: xxhash_rust::xxh3::xxh3_64(source),
        size: source.len() as u64,
        stamp: None,
        lines: count_lines(source),
        has_errors,
        nodes,
        references: Vec::new(),
    }
}

/// A module node of a manifest: a crate or a path alias, standing for `target`.
fn module_node(
    language: Language,
    path: &str,
    name: &str,
    target: String,
    whole: Span,
    at: Span,
) -> Node {
    Node {
        id: NodeId::new(path, name, NodeKind::Module, ""),
        kind: NodeKind::Module,
        language,
        name: name.to_string(),
        qualified_name: name.to_string(),
        path: path.to_string(),
        span: whole,
        name_span: at,
        signature: Some(target),
        doc: None,
        visibility: Visibility::Public,
        parent: Some(NodeId::for_file(path)),
    }
}

/// `a/b` joined with `./c/../d`: `a/b/d`; `None` when it climbs out of the project.
/// The paths a manifest names are joined this way, and so are the resolver's relative
/// module specifiers.
pub fn join_path(dir: &str, relative: &str) -> Option<String> {
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for part in relative.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// A `tsconfig.json`'s path aliases: `compilerOptions.paths` patterns, each standing
/// for its first target (relative to `baseUrl`, else to the file's directory), and
/// `*` for `baseUrl` itself. The file may have comments and trailing commas, as
/// TypeScript allows.
fn ts_config(language: Language, path: &str, source: &[u8]) -> ParsedFile {
    let mut nodes = vec![file_node(language, path, source)];
    let text = String::from_utf8_lossy(source);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let Ok(config) = serde_json::from_str::<serde_json::Value>(&strip_jsonc(text)) else {
        return parsed(language, path, source, nodes, true);
    };
    let whole = span_of(source, 0, source.len());
    let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
    let options = &config["compilerOptions"];
    let base_url = options["baseUrl"].as_str();
    let Some(base) = join_path(dir, base_url.unwrap_or(".")) else {
        return parsed(language, path, source, nodes, false);
    };
    let at = |needle: &str| written_at(source, needle);
    let mut names = std::collections::HashSet::new();
    if let Some(paths) = options["paths"].as_object() {
        for (pattern, targets) in paths.iter().take(256) {
            let target = targets
                .as_array()
                .and_then(|t| t.first())
                .and_then(|t| t.as_str());
            let Some(target) = target.and_then(|t| join_path(&base, t)) else {
                continue;
            };
            if pattern.len() > 200
                || pattern.matches('*').count() > 1
                || !names.insert(pattern.as_str())
            {
                continue;
            }
            nodes.push(module_node(
                language,
                path,
                pattern,
                target,
                whole,
                at(pattern),
            ));
        }
    }
    // `"extends": "./tsconfig.base.json"` (or a list of them, TypeScript 5): the
    // project's own configurations only; a package's (`@tsconfig/node20`) is outside it.
    let extends: Vec<&str> = match &config["extends"] {
        serde_json::Value::String(s) => vec![s.as_str()],
        serde_json::Value::Array(items) => items.iter().filter_map(|v| v.as_str()).collect(),
        _ => Vec::new(),
    };
    let mut extended = std::collections::HashSet::new();
    for base_config in extends.into_iter().take(16) {
        if !(base_config.starts_with("./") || base_config.starts_with("../")) {
            continue;
        }
        let Some(mut target) = join_path(dir, base_config) else {
            continue;
        };
        if !target.ends_with(".json") {
            target.push_str(".json");
        }
        if !extended.insert(target.clone()) {
            continue;
        }
        // One node per configuration extended, each with its own id.
        let node = module_node(language, path, EXTENDS, target.clone(), whole, at(EXTENDS));
        nodes.push(Node {
            id: NodeId::new(path, EXTENDS, NodeKind::Module, &target),
            ..node
        });
    }
    if base_url.is_some() {
        let target = if base.is_empty() {
            "*".to_string()
        } else {
            format!("{base}/*")
        };
        nodes.push(module_node(
            language,
            path,
            BASE_URL,
            target,
            whole,
            at("baseUrl"),
        ));
    }
    parsed(language, path, source, nodes, false)
}

/// Where a JSON manifest writes `needle` as a string, looked up in its first 64 KiB (a
/// manifest is small; a huge one is not searched once per name); the file's start when
/// it does not.
fn written_at(source: &[u8], needle: &str) -> Span {
    let head = &source[..source.len().min(64 * 1024)];
    let quoted = format!("\"{needle}\"");
    match memchr::memmem::find(head, quoted.as_bytes()) {
        Some(i) => span_of(source, i + 1, i + 1 + needle.len()),
        None => span_of(source, 0, 0),
    }
}

/// The conditions of a conditional export, in the order they are taken: the source
/// first where a package names it, then what TypeScript and bundlers read.
const CONDITIONS: &[&str] = &[
    "source", "types", "typings", "import", "module", "default", "require", "node", "browser",
];

/// What an `exports` value gives: a path, the first of an array's, or a conditional
/// object's by [`CONDITIONS`] (nested ones included).
fn export_target(value: &serde_json::Value, depth: usize) -> Option<&str> {
    if depth > 8 {
        return None;
    }
    match value {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Array(items) => items.iter().find_map(|v| export_target(v, depth + 1)),
        serde_json::Value::Object(map) => CONDITIONS
            .iter()
            .filter_map(|c| map.get(*c))
            .chain(map.values())
            .find_map(|v| export_target(v, depth + 1)),
        _ => None,
    }
}

/// Whether `name` can be an npm package's name: `pkg` or `@scope/pkg`, of URL-safe
/// characters, at most 214 bytes as npm requires.
fn is_package_name(name: &str) -> bool {
    let plain = |s: &str| {
        !s.is_empty()
            && !s.starts_with('.')
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~'))
    };
    name.len() <= 214
        && match name.strip_prefix('@') {
            Some(scoped) => scoped
                .split_once('/')
                .is_some_and(|(scope, pkg)| plain(scope) && plain(pkg)),
            None => plain(name),
        }
}

/// A `package.json`'s package (see the module's doc). A manifest without a usable name
/// keeps its file node alone; one that does not parse is marked as having errors.
fn package_json(language: Language, path: &str, source: &[u8]) -> ParsedFile {
    let mut nodes = vec![file_node(language, path, source)];
    let text = String::from_utf8_lossy(source);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let Ok(manifest) = serde_json::from_str::<serde_json::Value>(text) else {
        return parsed(language, path, source, nodes, true);
    };
    let Some(name) = manifest["name"].as_str().filter(|n| is_package_name(n)) else {
        return parsed(language, path, source, nodes, false);
    };
    let whole = span_of(source, 0, source.len());
    let at = |needle: &str| written_at(source, needle);
    let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
    let mut entries: Vec<(String, String)> = Vec::new();
    let exports = &manifest["exports"];
    let subpaths = exports
        .as_object()
        .filter(|m| m.keys().any(|k| k.starts_with('.')));
    match subpaths {
        Some(map) => {
            for (key, value) in map.iter().take(256) {
                let Some(target) = export_target(value, 0) else {
                    continue;
                };
                let sub = key.trim_start_matches('.');
                if key.len() > 200
                    || sub.matches('*').count() > 1
                    || !(sub.is_empty() || sub.starts_with('/'))
                {
                    continue;
                }
                entries.push((format!("{name}{sub}"), target.to_string()));
            }
        }
        None => {
            let main = export_target(exports, 0)
                .or_else(|| {
                    ["source", "module", "main", "types", "typings"]
                        .iter()
                        .find_map(|f| manifest[*f].as_str())
                })
                .unwrap_or("index.js");
            entries.push((name.to_string(), main.to_string()));
            // Without `exports`, any file of the package is reachable by its path.
            if exports.is_null() {
                entries.push((format!("{name}/*"), "./*".to_string()));
            }
        }
    }
    let mut names = std::collections::HashSet::new();
    for (alias, target) in entries {
        let Some(target) = join_path(dir, &target) else {
            continue;
        };
        if !names.insert(alias.clone()) {
            continue;
        }
        nodes.push(module_node(language, path, &alias, target, whole, at(name)));
    }
    parsed(language, path, source, nodes, false)
}

/// JSON with comments and trailing commas (`tsconfig.json`), made plain JSON: comments
/// blanked, a comma before a closing bracket dropped. Strings are kept as written.
fn strip_jsonc(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut pending_comma: Option<usize> = None;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'"' => {
                if let Some(at) = pending_comma.take() {
                    out.insert(at, ',');
                }
                let start = i;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i = (i + 1).min(bytes.len());
                out.push_str(&text[start..i]);
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < bytes.len() && !(bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i = (i + 2).min(bytes.len());
                continue;
            }
            // A comma is written only once something other than a closing bracket
            // follows it.
            b',' => {
                if let Some(at) = pending_comma.take() {
                    out.insert(at, ',');
                }
                pending_comma = Some(out.len());
            }
            b'}' | b']' => {
                pending_comma = None;
                out.push(b as char);
            }
            b if b.is_ascii_whitespace() => out.push(b as char),
            _ => {
                if let Some(at) = pending_comma.take() {
                    out.insert(at, ',');
                }
                let ch = text[i..].chars().next().unwrap_or(' ');
                out.push(ch);
                i += ch.len_utf8();
                continue;
            }
        }
        i += 1;
    }
    if let Some(at) = pending_comma {
        out.insert(at, ',');
    }
    out
}

#[derive(Deserialize)]
struct Cargo {
    package: Option<Package>,
    lib: Option<Lib>,
    dependencies: DependencyTable,
    #[serde(rename = "dev-dependencies")]
    dev_dependencies: DependencyTable,
    #[serde(rename = "build-dependencies")]
    build_dependencies: DependencyTable,
    /// `[target.'cfg(unix)'.dependencies]` and the like.
    target: Option<std::collections::BTreeMap<String, Dependencies>>,
    workspace: Option<Workspace>,
}

type DependencyTable = Option<std::collections::BTreeMap<String, toml::Value>>;

#[derive(Deserialize)]
struct Dependencies {
    dependencies: DependencyTable,
    #[serde(rename = "dev-dependencies")]
    dev_dependencies: DependencyTable,
    #[serde(rename = "build-dependencies")]
    build_dependencies: DependencyTable,
}

impl Dependencies {
    fn tables(&self) -> impl Iterator<Item = &std::collections::BTreeMap<String, toml::Value>> {
        [
            self.dependencies.as_ref(),
            self.dev_dependencies.as_ref(),
            self.build_dependencies.as_ref(),
        ]
        .into_iter()
        .flatten()
    }
}

#[derive(Deserialize)]
struct Workspace {
    dependencies: DependencyTable,
}

/// The qualified-name prefix of a rename in `[workspace.dependencies]`, which holds for
/// every crate of the workspace that inherits the dependency (`gs = { workspace = true
/// }`), where a package's own rename holds for that crate alone.
pub const WORKSPACE_RENAME: &str = "workspace::";

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
fn cargo(path: &str, source: &[u8]) -> ParsedFile {
    let text = String::from_utf8_lossy(source);
    let whole = span_of(source, 0, source.len());
    let mut nodes = vec![file_node(Language::Rust, path, source)];
    let manifest: Option<Cargo> = toml::from_str(&text).ok();
    let has_errors = manifest.is_none();
    if let Some(manifest) = manifest {
        // `foo = { package = "bar" }`: this crate calls the crate `bar` `foo`. An import
        // node named `foo` standing for `bar`, which the resolver takes for this
        // manifest's crate alone, or, written in `[workspace.dependencies]`, for the
        // crates below the workspace's manifest.
        let mut own: Vec<&std::collections::BTreeMap<String, toml::Value>> = [
            manifest.dependencies.as_ref(),
            manifest.dev_dependencies.as_ref(),
            manifest.build_dependencies.as_ref(),
        ]
        .into_iter()
        .flatten()
        .collect();
        for platform in manifest.target.iter().flat_map(|t| t.values()).take(64) {
            own.extend(platform.tables());
        }
        let inherited = manifest
            .workspace
            .as_ref()
            .and_then(|w| w.dependencies.as_ref());
        // One node per local name and scope: a rename may be written in several tables.
        let mut locals = std::collections::HashSet::new();
        let entries = own
            .into_iter()
            .map(|t| ("", t))
            .chain(inherited.map(|t| (WORKSPACE_RENAME, t)))
            .flat_map(|(scope, t)| t.iter().take(1024).map(move |e| (scope, e)));
        for (scope, (local, spec)) in entries {
            let Some(package) = spec.get("package").and_then(|p| p.as_str()) else {
                continue;
            };
            let local = local.replace('-', "_");
            let real = package.replace('-', "_");
            let is_name =
                |n: &str| !n.is_empty() && n.chars().all(|c| c.is_alphanumeric() || c == '_');
            let qualified = format!("{scope}{local}");
            if !is_name(&local)
                || !is_name(&real)
                || local == real
                || !locals.insert(qualified.clone())
            {
                continue;
            }
            let at = written_toml_key(source, &local);
            nodes.push(Node {
                id: NodeId::new(path, &qualified, NodeKind::Import, ""),
                kind: NodeKind::Import,
                qualified_name: qualified,
                ..module_node(Language::Rust, path, &local, real, whole, at)
            });
        }
        let lib_name = manifest.lib.as_ref().and_then(|l| l.name.clone());
        let name = lib_name.or_else(|| manifest.package.and_then(|p| p.name));
        if let Some(name) = name {
            let crate_name = name.get_ref().replace('-', "_");
            let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
            let relative = manifest
                .lib
                .and_then(|l| l.path)
                .unwrap_or_else(|| "src/lib.rs".to_string());
            let root = join_path(dir, &relative);
            let range = name.span();
            let at = span_of(source, range.start, range.end);
            let valid = !crate_name.is_empty()
                && crate_name.chars().all(|c| c.is_alphanumeric() || c == '_');
            if valid && let Some(root) = root {
                nodes.push(module_node(
                    Language::Rust,
                    path,
                    &crate_name,
                    root,
                    whole,
                    at,
                ));
            }
        }
    }
    parsed(Language::Rust, path, source, nodes, has_errors)
}

/// Where a TOML manifest writes `key` at the start of a line (`foo = ...`), in its
/// first 64 KiB; the file's start when it does not.
fn written_toml_key(source: &[u8], key: &str) -> Span {
    let head = &source[..source.len().min(64 * 1024)];
    let found = memchr::memmem::find_iter(head, key.as_bytes()).find(|&i| {
        (i == 0 || head[i - 1] == b'\n')
            && head[i + key.len()..]
                .iter()
                .find(|b| !b.is_ascii_whitespace())
                .is_some_and(|&b| b == b'=')
    });
    match found {
        Some(i) => span_of(source, i, i + key.len()),
        None => span_of(source, 0, 0),
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

    #[test]
    fn a_renamed_dependency_is_an_import_of_its_package() {
        let parsed = cargo(
            "crates/app/Cargo.toml",
            b"[package]\nname = \"app\"\n\n[dependencies]\nstore = { package = \"graph-store\", path = \"../store\" }\nserde = \"1\"\n\n[dev-dependencies]\nsame = { package = \"same\" }\nstore = { package = \"graph-store\" }\n",
        );
        let imports: Vec<(&str, &str, u32)> = parsed
            .nodes
            .iter()
            .filter(|n| n.kind == NodeKind::Import)
            .map(|n| {
                (
                    n.name.as_str(),
                    n.signature.as_deref().unwrap_or_default(),
                    n.name_span.start_line,
                )
            })
            .collect();
        assert_eq!(imports, [("store", "graph_store", 5)]);
        // Renames for one platform, and the workspace's own, which its members inherit.
        let parsed = cargo(
            "Cargo.toml",
            b"[workspace]\nmembers = [\"a\"]\n\n[workspace.dependencies]\nstore = { package = \"graph-store\", path = \"store\" }\n\n[target.'cfg(unix)'.dependencies]\nnix2 = { package = \"nix\" }\n",
        );
        let imports: Vec<(&str, &str, &str)> = parsed
            .nodes
            .iter()
            .filter(|n| n.kind == NodeKind::Import)
            .map(|n| {
                (
                    n.qualified_name.as_str(),
                    n.name.as_str(),
                    n.signature.as_deref().unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(
            imports,
            [
                ("nix2", "nix2", "nix"),
                ("workspace::store", "store", "graph_store")
            ]
        );
    }

    #[test]
    fn a_ts_config_names_its_path_aliases() {
        let config = "{\n  // comments and trailing commas, as TypeScript allows\n  \"compilerOptions\": {\n    \"baseUrl\": \"./src\",\n    /* aliases */\n    \"paths\": {\n      \"@/*\": [\"app/*\", \"shared/*\"],\n      \"@lib\": [\"../lib/index.ts\"],\n      \"escape/*\": [\"../../../out/*\"],\n    },\n  },\n}\n";
        let parsed = ts_config(Language::TypeScript, "web/tsconfig.json", config.as_bytes());
        assert!(!parsed.has_errors);
        let aliases: Vec<(&str, &str, u32)> = parsed.nodes[1..]
            .iter()
            .map(|n| {
                (
                    n.name.as_str(),
                    n.signature.as_deref().unwrap_or_default(),
                    n.name_span.start_line,
                )
            })
            .collect();
        assert_eq!(
            aliases,
            [
                ("@/*", "web/src/app/*", 7),
                ("@lib", "web/lib/index.ts", 8),
                ("baseUrl", "web/src/*", 4),
            ]
        );
        let plain = ts_config(
            Language::TypeScript,
            "tsconfig.json",
            b"{\"compilerOptions\": {\"strict\": true}}",
        );
        assert_eq!(plain.nodes.len(), 1);
        assert!(ts_config(Language::TypeScript, "tsconfig.json", b"{\"a\": ").has_errors);
    }

    fn packages_of(manifest: &str) -> Vec<(String, String)> {
        let parsed = package_json(
            Language::JavaScript,
            "packages/ui/package.json",
            manifest.as_bytes(),
        );
        parsed.nodes[1..]
            .iter()
            .map(|n| (n.name.clone(), n.signature.clone().unwrap_or_default()))
            .collect()
    }

    #[test]
    fn a_package_json_names_its_package_and_its_exports() {
        let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        assert_eq!(
            packages_of(r#"{"name": "@acme/ui", "main": "./dist/index.js"}"#),
            pairs(&[
                ("@acme/ui", "packages/ui/dist/index.js"),
                ("@acme/ui/*", "packages/ui/*"),
            ])
        );
        assert_eq!(
            packages_of(
                r#"{"name": "@acme/ui", "exports": {".": {"types": "./src/index.ts", "import": "./dist/index.mjs"}, "./button": ["./src/button.ts"], "./icons/*": {"default": "./src/icons/*.ts"}, "./package.json": "./package.json"}}"#
            ),
            pairs(&[
                ("@acme/ui", "packages/ui/src/index.ts"),
                ("@acme/ui/button", "packages/ui/src/button.ts"),
                ("@acme/ui/icons/*", "packages/ui/src/icons/*.ts"),
                ("@acme/ui/package.json", "packages/ui/package.json"),
            ])
        );
        // A string or a conditional object alone is the `.` entry, and closes subpaths.
        assert_eq!(
            packages_of(
                r#"{"name": "tool", "exports": {"require": "./lib/x.cjs", "import": "./lib/x.mjs"}}"#
            ),
            pairs(&[("tool", "packages/ui/lib/x.mjs")])
        );
        // No name, a name npm refuses, a path climbing out: nothing.
        assert!(packages_of(r#"{"private": true}"#).is_empty());
        assert!(packages_of(r#"{"name": "../evil"}"#).is_empty());
        assert_eq!(
            packages_of(r#"{"name": "x", "main": "../../../../etc/passwd", "exports": null}"#),
            pairs(&[("x/*", "packages/ui/*")])
        );
        assert!(package_json(Language::JavaScript, "package.json", b"{\"name\": ").has_errors);
    }

    #[test]
    fn a_ts_config_names_what_it_extends() {
        let parsed = ts_config(
            Language::TypeScript,
            "apps/web/tsconfig.json",
            br#"{"extends": ["../../config/tsconfig.base", "@tsconfig/node20/tsconfig.json", "./strict.json", "./strict"]}"#,
        );
        let extended: Vec<&str> = parsed.nodes[1..]
            .iter()
            .filter(|n| n.name == EXTENDS)
            .map(|n| n.signature.as_deref().unwrap_or_default())
            .collect();
        assert_eq!(
            extended,
            ["config/tsconfig.base.json", "apps/web/strict.json"]
        );
        assert_ne!(parsed.nodes[1].id, parsed.nodes[2].id);
    }

    #[test]
    fn jsonc_becomes_json() {
        let plain = strip_jsonc("{\"a\": \"//not a comment\", /* c */ \"b\": [1, 2,], // end\n}");
        let value: serde_json::Value = serde_json::from_str(&plain).unwrap();
        assert_eq!(value["a"], "//not a comment");
        assert_eq!(value["b"], serde_json::json!([1, 2]));
    }

    proptest::proptest! {
        /// Manifests come from the files being indexed: any bytes give a file node
        /// and no panic.
        #[test]
        fn any_manifest_is_read(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let parsed = cargo("x/Cargo.toml", &bytes);
            proptest::prop_assert_eq!(parsed.nodes[0].kind, NodeKind::File);
            let parsed = ts_config(Language::TypeScript, "x/tsconfig.json", &bytes);
            proptest::prop_assert_eq!(parsed.nodes[0].kind, NodeKind::File);
            let parsed = package_json(Language::JavaScript, "x/package.json", &bytes);
            proptest::prop_assert_eq!(parsed.nodes[0].kind, NodeKind::File);
        }

        /// Whatever a manifest names, once or twice, its nodes' ids are distinct.
        #[test]
        fn manifest_ids_are_unique(
            names in proptest::collection::vec("[a-c][-_]?[a-c]?", 0..6),
            targets in proptest::collection::vec("(\\./)?[a-c](\\.json)?", 0..6),
        ) {
            let deps: String = names
                .iter()
                .map(|n| format!("{n} = {{ package = \"p-{n}\" }}\n"))
                .collect();
            let toml = format!("[package]\nname = \"x\"\n[dependencies]\n{deps}[dev-dependencies]\n{deps}");
            let extends: Vec<String> = targets.iter().map(|t| format!("\"./{t}\"")).collect();
            let json = format!("{{\"extends\": [{}]}}", extends.join(","));
            for parsed in [
                cargo("x/Cargo.toml", toml.as_bytes()),
                ts_config(Language::TypeScript, "x/tsconfig.json", json.as_bytes()),
            ] {
                let mut ids: Vec<_> = parsed.nodes.iter().map(|n| n.id).collect();
                let all = ids.len();
                ids.sort_unstable_by_key(|id| format!("{id:?}"));
                ids.dedup();
                proptest::prop_assert_eq!(ids.len(), all);
            }
        }

        /// Any text, comments and strings cut anywhere, is stripped without a panic.
        #[test]
        fn any_jsonc_is_stripped(text in r#"[{}\[\],:"/*\\a-z \n]{0,60}"#) {
            let _ = strip_jsonc(&text);
        }
    }
}
