//! What each language needs beyond its query files: how paths become module names,
//! who can see a definition, where doc comments live, and how import statements
//! unfold into bindings.

use codegraph_core::{Language, NodeKind, Visibility};

use crate::extract::ImportBinding;
use crate::text::collapse_whitespace;

mod cpp;
mod go;
mod java;
mod javascript;
mod python;
mod rust;

/// The facts a visibility rule may look at.
pub struct VisibilityInput<'a, 't> {
    pub node: tree_sitter::Node<'t>,
    pub src: &'a [u8],
    pub kind: NodeKind,
    pub name: &'a str,
    /// The kind of the definition this one belongs to, if any.
    pub parent_kind: Option<NodeKind>,
}

/// Language-specific decisions the query files cannot express.
pub trait Rules: Sync {
    /// The module path a file's location implies (Rust, Python), used to prefix
    /// qualified names. Languages that declare a package in the file, or have no
    /// modules, return `None`.
    fn path_module(&self, _path: &str) -> Option<String> {
        None
    }

    /// Splits a name written with its scope (C++ `ns::A::f`) into scope and name.
    fn split_qualified_name(&self, _name: &str) -> Option<(String, String)> {
        None
    }

    /// Rewrites a captured `@receiver` (already stripped of generics and pointers);
    /// `None` drops it, for receivers that name no type (JS `exports`, `this`).
    fn normalize_receiver(&self, receiver: String) -> Option<String> {
        Some(receiver)
    }

    /// Whether a function named `name` inside a type named `owner` is a constructor.
    fn is_constructor(&self, _name: &str, _owner: Option<&str>) -> bool {
        false
    }

    fn visibility(&self, input: &VisibilityInput<'_, '_>) -> Visibility;

    /// The doc comment of a definition.
    fn doc(&self, node: tree_sitter::Node<'_>, src: &[u8]) -> Option<String>;

    /// Cleans a node captured as `@doc` (a docstring).
    fn clean_docstring(&self, text: &str) -> Option<String> {
        clean_comment(text)
    }

    /// The doc of a whole file (a module docstring or `//!` comments).
    fn file_doc(&self, _root: tree_sitter::Node<'_>, _src: &[u8]) -> Option<String> {
        None
    }

    /// Unfolds an import statement captured without `@name` into bindings.
    fn expand_import(
        &self,
        _node: tree_sitter::Node<'_>,
        _src: &[u8],
        _out: &mut Vec<ImportBinding>,
    ) {
    }

    /// An import path or name as written, without quotes.
    fn clean_import_path(&self, text: &str) -> String {
        text.trim()
            .trim_matches(|c| c == '"' || c == '\'' || c == '`')
            .to_string()
    }

    /// Separators between a qualifier and a name in base-type references.
    fn reference_separators(&self) -> &'static [&'static str] {
        &["."]
    }
}

/// The rules for a language.
pub fn rules(language: Language) -> &'static dyn Rules {
    match language {
        Language::Rust => &rust::RustRules,
        Language::Python => &python::PythonRules,
        Language::JavaScript => &javascript::JavaScriptRules { typescript: false },
        Language::TypeScript | Language::Tsx => &javascript::JavaScriptRules { typescript: true },
        Language::Go => &go::GoRules,
        Language::Java => &java::JavaRules,
        Language::Cpp => &cpp::CppRules,
    }
}

/// How a language writes doc comments before a definition.
pub struct CommentStyle {
    /// Node kinds that are comments.
    pub comment_kinds: &'static [&'static str],
    /// Node kinds that may sit between the comment and the definition (attributes).
    pub skip_kinds: &'static [&'static str],
    /// Node kinds wrapping a definition, to step out of before looking for comments
    /// (`export_statement`, `template_declaration`, ...).
    pub wrapper_kinds: &'static [&'static str],
    /// Whether a comment's text counts as documentation.
    pub is_doc: fn(&str) -> bool,
}

/// Collects the comments directly above a definition: contiguous (no blank line
/// between them and the definition), stepping over attributes and out of wrappers.
pub fn preceding_comments(
    node: tree_sitter::Node<'_>,
    src: &[u8],
    style: &CommentStyle,
) -> Option<String> {
    let mut anchor = node;
    while let Some(parent) = anchor.parent() {
        if style.wrapper_kinds.contains(&parent.kind()) {
            anchor = parent;
        } else {
            break;
        }
    }
    let mut next_line = anchor.start_position().row;
    let mut sibling = anchor.prev_sibling();
    let mut parts: Vec<String> = Vec::new();
    while let Some(s) = sibling {
        let kind = s.kind();
        if style.skip_kinds.contains(&kind) {
            next_line = s.start_position().row;
            sibling = s.prev_sibling();
            continue;
        }
        if !style.comment_kinds.contains(&kind) {
            break;
        }
        // Allow the comment to end on the line before, or on the same line for a
        // trailing block comment on the previous declaration's line being excluded.
        if s.end_position().row + 1 < next_line {
            break;
        }
        let text = String::from_utf8_lossy(&src[s.byte_range()]);
        if !(style.is_doc)(&text) {
            break;
        }
        parts.push(text.into_owned());
        next_line = s.start_position().row;
        sibling = s.prev_sibling();
    }
    if parts.is_empty() {
        return None;
    }
    parts.reverse();
    clean_comment(&parts.join("\n"))
}

/// Strips comment markers (`///`, `//!`, `//`, `/** */`, `/* */`, `#`, leading `*`)
/// and surrounding blank lines. `None` when nothing is left.
pub fn clean_comment(text: &str) -> Option<String> {
    let mut lines: Vec<String> = Vec::new();
    for raw in text.lines() {
        let mut line = raw.trim();
        for prefix in ["///", "//!", "//", "/**", "/*!", "/*", "#"] {
            if let Some(rest) = line.strip_prefix(prefix) {
                line = rest;
                break;
            }
        }
        if let Some(rest) = line.strip_suffix("*/") {
            line = rest;
        }
        let line = line.trim();
        let line = line
            .strip_prefix("* ")
            .or_else(|| if line == "*" { Some("") } else { None })
            .unwrap_or(line);
        lines.push(line.trim_end().to_string());
    }
    while lines.first().is_some_and(|l| l.is_empty()) {
        lines.remove(0);
    }
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    if lines.is_empty() {
        None
    } else {
        Some(lines.join("\n"))
    }
}

/// The text of a node, lossily.
pub fn node_text(node: tree_sitter::Node<'_>, src: &[u8]) -> String {
    String::from_utf8_lossy(&src[node.byte_range()]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comment_markers() {
        assert_eq!(
            clean_comment("/**\n * Adds.\n *\n * @param a x\n */").as_deref(),
            Some("Adds.\n\n@param a x")
        );
        assert_eq!(
            clean_comment("/// One.\n/// Two.").as_deref(),
            Some("One.\nTwo.")
        );
        assert_eq!(clean_comment("//").as_deref(), None);
    }
}
