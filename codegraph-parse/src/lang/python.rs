//! Python: modules from paths, `_private` names, docstrings, `import`/`from` forms.

use codegraph_core::Visibility;

use super::ImportBinding;
use super::{CommentSpan, Rules, VisibilityInput, node_text};
use crate::text::collapse_whitespace;

pub struct PythonRules;

impl Rules for PythonRules {
    /// `pkg/mod.py` is `pkg.mod`, `pkg/__init__.py` is `pkg`. A leading `src/` (the
    /// common "src layout") and anything up to `site-packages/` are not part of the
    /// import path.
    fn path_module(&self, path: &str) -> Option<String> {
        let path = match path.rfind("site-packages/") {
            Some(i) => &path[i + "site-packages/".len()..],
            None => path,
        };
        let path = path.strip_prefix("src/").unwrap_or(path);
        let stem = path
            .strip_suffix(".py")
            .or_else(|| path.strip_suffix(".pyi"))
            .unwrap_or(path);
        let mut segments: Vec<&str> = stem.split('/').filter(|s| !s.is_empty()).collect();
        if segments.last() == Some(&"__init__") {
            segments.pop();
        }
        if segments.is_empty() {
            None
        } else {
            Some(segments.join("."))
        }
    }

    fn is_constructor(&self, name: &str, owner: Option<&str>) -> bool {
        owner.is_some() && name == "__init__"
    }

    fn visibility(&self, input: &VisibilityInput<'_, '_>) -> Visibility {
        let name = input.name;
        if name.starts_with("__") && name.ends_with("__") {
            Visibility::Public
        } else if name.starts_with('_') {
            Visibility::Private
        } else {
            Visibility::Public
        }
    }

    fn doc(
        &self,
        node: tree_sitter::Node<'_>,
        src: &[u8],
        _comments: &[CommentSpan],
    ) -> Option<String> {
        let body = node.child_by_field_name("body")?;
        docstring_of_block(body, src)
    }

    fn clean_docstring(&self, text: &str) -> Option<String> {
        clean_docstring(text)
    }

    fn file_doc(
        &self,
        root: tree_sitter::Node<'_>,
        src: &[u8],
        _comments: &[CommentSpan],
    ) -> Option<String> {
        docstring_of_block(root, src)
    }

    fn expand_import(&self, node: tree_sitter::Node<'_>, src: &[u8], out: &mut Vec<ImportBinding>) {
        let module = node
            .child_by_field_name("module_name")
            .map(|m| collapse_whitespace(&node_text(m, src)).replace(' ', ""));
        let mut cursor = node.walk();
        for child in node.children_by_field_name("name", &mut cursor) {
            let (name, alias) = match child.kind() {
                "aliased_import" => (
                    child.child_by_field_name("name").map(|n| node_text(n, src)),
                    child
                        .child_by_field_name("alias")
                        .map(|a| node_text(a, src)),
                ),
                _ => (Some(node_text(child, src)), None),
            };
            if let Some(name) = name {
                out.push(ImportBinding {
                    qualifier: module.clone(),
                    name: collapse_whitespace(&name).replace(' ', ""),
                    alias,
                });
            }
        }
        let mut cursor = node.walk();
        if node
            .children(&mut cursor)
            .any(|c| c.kind() == "wildcard_import")
        {
            out.push(ImportBinding {
                qualifier: module,
                name: "*".to_string(),
                alias: None,
            });
        }
    }
}

/// The docstring of a block: its first statement, when that is a string.
fn docstring_of_block(block: tree_sitter::Node<'_>, src: &[u8]) -> Option<String> {
    let mut cursor = block.walk();
    let first = block
        .named_children(&mut cursor)
        .find(|c| c.kind() != "comment")?;
    if first.kind() != "expression_statement" {
        return None;
    }
    let string = first.named_child(0)?;
    if string.kind() != "string" {
        return None;
    }
    clean_docstring(&node_text(string, src))
}

/// Strips string prefixes and quotes, then dedents like `inspect.cleandoc`.
fn clean_docstring(text: &str) -> Option<String> {
    let text = text.trim_start_matches(['r', 'R', 'u', 'U', 'b', 'B', 'f', 'F']);
    let inner = ["\"\"\"", "'''", "\"", "'"]
        .iter()
        .find_map(|q| text.strip_prefix(q).and_then(|t| t.strip_suffix(q)))
        .unwrap_or(text);
    let lines: Vec<&str> = inner.lines().collect();
    let indent = lines
        .iter()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        if i == 0 {
            out.push(line.trim().to_string());
        } else {
            out.push(line.get(indent..).unwrap_or("").trim_end().to_string());
        }
    }
    while out.first().is_some_and(|l| l.is_empty()) {
        out.remove(0);
    }
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    if out.is_empty() {
        None
    } else {
        Some(out.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_paths() {
        let r = PythonRules;
        assert_eq!(r.path_module("pkg/mod.py").as_deref(), Some("pkg.mod"));
        assert_eq!(r.path_module("pkg/__init__.py").as_deref(), Some("pkg"));
        assert_eq!(r.path_module("src/pkg/a.py").as_deref(), Some("pkg.a"));
        assert_eq!(
            r.path_module("venv/lib/site-packages/req/api.py")
                .as_deref(),
            Some("req.api")
        );
        assert_eq!(r.path_module("__init__.py"), None);
    }

    #[test]
    fn docstrings() {
        assert_eq!(
            clean_docstring("\"\"\"Summary.\n\n    Details\n      more.\n    \"\"\"").as_deref(),
            Some("Summary.\n\nDetails\n  more.")
        );
        assert_eq!(clean_docstring("r'raw'").as_deref(), Some("raw"));
        assert_eq!(clean_docstring("\"\"\"\"\"\""), None);
    }
}
