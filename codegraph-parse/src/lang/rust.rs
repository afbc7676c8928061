//! Rust: modules from paths under `src/`, `pub` visibility, `///` docs, `use` trees.

use codegraph_core::{NodeKind, Visibility};

use super::ImportBinding;
use super::{CommentSpan, CommentStyle, Rules, VisibilityInput, clean_comment, node_text};
use crate::text::collapse_whitespace;

pub struct RustRules;

const COMMENTS: CommentStyle = CommentStyle {
    attribute_marker: Some(b'#'),
    wrapper_kinds: &[],
    is_doc: |text| {
        (text.starts_with("///") && !text.starts_with("////"))
            || (text.starts_with("/**") && !text.starts_with("/***"))
    },
};

impl Rules for RustRules {
    /// `src/a/b.rs` and `src/a/b/mod.rs` are module `a::b`; `src/lib.rs`, `src/main.rs`,
    /// `src/bin/*.rs`, and files outside `src/` (tests, examples, build scripts) are
    /// crate roots.
    fn path_module(&self, path: &str) -> Option<String> {
        let parts: Vec<&str> = path.split('/').collect();
        let (file, dirs) = parts.split_last()?;
        let start = dirs.iter().rposition(|c| *c == "src")? + 1;
        let mut segments: Vec<&str> = dirs[start..].to_vec();
        if segments.first() == Some(&"bin") {
            return None;
        }
        let stem = file.strip_suffix(".rs").unwrap_or(file);
        match stem {
            "lib" | "main" if segments.is_empty() => {}
            "mod" => {}
            other => segments.push(other),
        }
        if segments.is_empty() {
            None
        } else {
            Some(segments.join("::"))
        }
    }

    fn visibility(&self, input: &VisibilityInput<'_, '_>) -> Visibility {
        let mut cursor = input.node.walk();
        let modifier = input
            .node
            .children(&mut cursor)
            .find(|c| c.kind() == "visibility_modifier")
            .map(|c| collapse_whitespace(&node_text(c, input.src)).replace(' ', ""));
        match modifier.as_deref() {
            Some("pub") => Visibility::Public,
            Some("pub(self)") => Visibility::Private,
            Some(_) => Visibility::Internal,
            None => {
                // Trait items, enum variants and trait-impl methods have no modifier but
                // are as visible as their trait or enum.
                if matches!(input.kind, NodeKind::EnumMember)
                    || matches!(
                        input.parent_kind,
                        Some(NodeKind::Trait) | Some(NodeKind::EnumMember)
                    )
                    || input
                        .scope
                        .is_some_and(|s| s.child_by_field_name("trait").is_some())
                {
                    Visibility::Public
                } else {
                    Visibility::Private
                }
            }
        }
    }

    fn comment_style(&self) -> Option<&'static CommentStyle> {
        Some(&COMMENTS)
    }

    fn file_doc(
        &self,
        root: tree_sitter::Node<'_>,
        src: &[u8],
        _comments: &[CommentSpan],
    ) -> Option<String> {
        let mut cursor = root.walk();
        let mut parts = Vec::new();
        for child in root.children(&mut cursor) {
            if !matches!(child.kind(), "line_comment" | "block_comment") {
                break;
            }
            let text = node_text(child, src);
            if text.starts_with("//!") || text.starts_with("/*!") {
                parts.push(text);
            }
        }
        clean_comment(&parts.join("\n"))
    }

    fn expand_import(&self, node: tree_sitter::Node<'_>, src: &[u8], out: &mut Vec<ImportBinding>) {
        match node.kind() {
            "use_declaration" => {
                if let Some(argument) = node.child_by_field_name("argument") {
                    expand_use(argument, "", src, out);
                }
            }
            "extern_crate_declaration" => {
                if let Some(name) = node.child_by_field_name("name") {
                    out.push(ImportBinding {
                        qualifier: None,
                        name: node_text(name, src),
                        alias: node.child_by_field_name("alias").map(|a| node_text(a, src)),
                    });
                }
            }
            _ => {}
        }
    }

    fn reference_separators(&self) -> &'static [&'static str] {
        &["::"]
    }
}

fn join_path(prefix: &str, rest: &str) -> String {
    match (prefix.is_empty(), rest.is_empty()) {
        (true, _) => rest.to_string(),
        (_, true) => prefix.to_string(),
        _ => format!("{prefix}::{rest}"),
    }
}

/// Unfolds one use tree under `prefix` into bindings.
fn expand_use(node: tree_sitter::Node<'_>, prefix: &str, src: &[u8], out: &mut Vec<ImportBinding>) {
    match node.kind() {
        "scoped_identifier" => {
            let path = node
                .child_by_field_name("path")
                .map(|p| collapse_whitespace(&node_text(p, src)))
                .unwrap_or_default();
            let name = node
                .child_by_field_name("name")
                .map(|n| node_text(n, src))
                .unwrap_or_default();
            push_binding(join_path(prefix, &path), name, None, out);
        }
        "use_as_clause" => {
            let alias = node.child_by_field_name("alias").map(|a| node_text(a, src));
            if let Some(path) = node.child_by_field_name("path") {
                let before = out.len();
                expand_use(path, prefix, src, out);
                for binding in &mut out[before..] {
                    binding.alias = alias.clone();
                }
            }
        }
        "use_wildcard" => {
            let mut cursor = node.walk();
            let path = node
                .named_children(&mut cursor)
                .next()
                .map(|p| collapse_whitespace(&node_text(p, src)))
                .unwrap_or_default();
            out.push(ImportBinding {
                qualifier: Some(join_path(prefix, &path)).filter(|q| !q.is_empty()),
                name: "*".to_string(),
                alias: None,
            });
        }
        "scoped_use_list" => {
            let path = node
                .child_by_field_name("path")
                .map(|p| collapse_whitespace(&node_text(p, src)))
                .unwrap_or_default();
            let inner = join_path(prefix, &path);
            if let Some(list) = node.child_by_field_name("list") {
                expand_use(list, &inner, src, out);
            }
        }
        "use_list" => {
            let mut cursor = node.walk();
            for child in node.named_children(&mut cursor) {
                expand_use(child, prefix, src, out);
            }
        }
        "identifier" | "crate" | "self" | "super" | "metavariable" => {
            push_binding(prefix.to_string(), node_text(node, src), None, out);
        }
        _ => {}
    }
}

fn push_binding(
    qualifier: String,
    name: String,
    alias: Option<String>,
    out: &mut Vec<ImportBinding>,
) {
    // `use a::b::{self}` binds `b`.
    let (qualifier, name) = if name == "self" {
        match qualifier.rsplit_once("::") {
            Some((q, n)) => (q.to_string(), n.to_string()),
            None => (String::new(), qualifier),
        }
    } else {
        (qualifier, name)
    };
    if name.is_empty() {
        return;
    }
    out.push(ImportBinding {
        qualifier: Some(qualifier).filter(|q| !q.is_empty()),
        name,
        alias,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_paths() {
        let r = RustRules;
        assert_eq!(r.path_module("src/lib.rs"), None);
        assert_eq!(r.path_module("src/main.rs"), None);
        assert_eq!(r.path_module("src/a.rs").as_deref(), Some("a"));
        assert_eq!(r.path_module("src/a/mod.rs").as_deref(), Some("a"));
        assert_eq!(
            r.path_module("crates/x/src/a/b.rs").as_deref(),
            Some("a::b")
        );
        assert_eq!(r.path_module("src/bin/tool.rs"), None);
        assert_eq!(r.path_module("tests/it.rs"), None);
        assert_eq!(r.path_module("build.rs"), None);
    }
}
