//! What each language needs beyond its query files: how paths become module names,
//! who can see a definition, where doc comments live, and how import statements
//! unfold into bindings.

use codegraph_core::{Language, NodeKind, Visibility};

mod cpp;
mod go;
mod java;
mod javascript;
mod python;
mod rust;

/// One import binding as a language's rules expand it from an import statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportBinding {
    pub qualifier: Option<String>,
    pub name: String,
    pub alias: Option<String>,
}

/// One rewrite asked for by [`Rules::expansions`]: bytes to replace, each by one byte,
/// and the byte range that must parse cleanly afterwards for the rewrite to stand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expansion {
    pub edits: Vec<(usize, u8)>,
    pub check: std::ops::Range<usize>,
}

/// The facts a visibility rule may look at.
pub struct VisibilityInput<'a, 't> {
    pub node: tree_sitter::Node<'t>,
    pub src: &'a [u8],
    pub kind: NodeKind,
    pub name: &'a str,
    /// The kind of the definition this one belongs to, if any.
    pub parent_kind: Option<NodeKind>,
    /// The scope node (a Rust `impl` block) the definition sits in directly, if any.
    pub scope: Option<tree_sitter::Node<'t>>,
    /// The text of the last `@access` label before the definition inside its
    /// enclosing type (C++ `private:`).
    pub access: Option<&'a str>,
    /// Whether the definition lies in a `@scope.private` range (C++ anonymous
    /// namespace).
    pub in_private_scope: bool,
}

/// Language-specific decisions the query files cannot express.
pub trait Rules: Sync {
    /// The module path a file's location implies (Rust, Python), used to prefix
    /// qualified names. Languages that declare a package in the file, or have no
    /// modules, return `None`.
    fn path_module(&self, _path: &str) -> Option<String> {
        None
    }

    /// Trims a captured definition name to the name proper (C++ conversion operators
    /// capture their parameter list too).
    fn clean_name(&self, name: String) -> String {
        name
    }

    /// Splits a name written with its scope (C++ `ns::A::f`) into scope and name.
    /// A type definition's name when it specialises a template (C++ `class
    /// Action<R(Args...)>`): the template's own name, under which values of the type
    /// look it up. Its qualified name keeps the arguments, which tell it from the
    /// primary template. `None` when the name is no specialisation.
    fn specialised_type_name(&self, _name: &str) -> Option<String> {
        None
    }

    fn split_qualified_name(&self, _name: &str) -> Option<(String, String)> {
        None
    }

    /// Rewrites a captured `@receiver` (already stripped of generics and pointers);
    /// `None` drops it, for receivers that name no type (JS `exports`, `this`).
    fn normalize_receiver(&self, receiver: String) -> Option<String> {
        Some(receiver)
    }

    /// Byte ranges to blank out before the first parse (C++ macro markers that are
    /// never valid where they stand). Blanking keeps every byte offset.
    fn before_parse(&self, _src: &[u8]) -> Vec<std::ops::Range<usize>> {
        Vec::new()
    }

    /// Byte ranges to blank out after a parse with errors, given the sorted 0-based
    /// rows of its ERROR and MISSING nodes; the engine reparses and keeps whichever
    /// parse has fewer errors.
    fn repair(&self, _src: &[u8], _error_rows: &[usize]) -> Vec<std::ops::Range<usize>> {
        Vec::new()
    }

    /// Types a definition's doc comment declares, as `(subject, type)`: a parameter's
    /// (`@param {Compilation} compilation`), or with no subject the return type
    /// (`@returns {Chunk}`). JavaScript reads JSDoc, as the TypeScript checker does.
    fn doc_types(&self, _doc: &str) -> Vec<(Option<String>, String)> {
        Vec::new()
    }

    /// A written type seen through what the language looks through: the type whose
    /// members a value of it has, and the type it holds, if it is a wrapper or a
    /// collection whose content a pattern, a loop or an unwrapping reaches. Rust:
    /// `Arc<Mutex<T>>` has `Mutex`'s methods (auto-deref); `Option<T>`, `Result<T, E>`
    /// and `Vec<T>` hold a `T`. By default a type is itself and holds nothing.
    fn see_through(&self, written: &str) -> (Option<String>, Option<String>) {
        (Some(written.to_string()), None)
    }

    /// The type a parenthesised receiver is cast to, or the expression it wraps:
    /// `/** @type {Module} */ (x).f()` in JavaScript, `(x as Module).f()` in
    /// TypeScript, `(x.y).f()`. `None` leaves the receiver as written.
    fn receiver_cast(&self, _receiver: tree_sitter::Node<'_>, _src: &[u8]) -> Option<String> {
        None
    }

    /// The position of `node` among the elements of the tuple it is written in, when
    /// that tuple's elements are known by position: a tuple struct's or tuple
    /// variant's field type (Rust `struct W(A, B)`), or a name a tuple-struct pattern
    /// binds (`Op::Add(lhs, rhs)`). Such a field type is bound under its position, and
    /// such a name to that position of the pattern's type.
    fn tuple_position(&self, _node: tree_sitter::Node<'_>) -> Option<usize> {
        None
    }

    /// Whether a name a loop's pattern binds takes what the loop's item holds: all do,
    /// except in Rust's tuple patterns, where only the second of a pair does (a map's
    /// value, an enumerated item).
    fn binds_in_pattern(&self, _name: tree_sitter::Node<'_>) -> bool {
        true
    }

    /// Where a closure parameter stands, as (argument, parameter): `node` is either a
    /// name a closure's parameter binds, in a closure given to a call (`f(a, |x, y| ..)`:
    /// `y` is (1, 1)), or a type a function passes to a closure it takes (`fn f<F>(a: A,
    /// g: F) where F: Fn(&B, C)`: `C` is (1, 1)). Arguments count without the receiver.
    /// The resolver meets the two halves: the call's callee says what its closure's
    /// parameters receive.
    fn closure_position(
        &self,
        _node: tree_sitter::Node<'_>,
        _src: &[u8],
    ) -> Option<(usize, usize)> {
        None
    }

    /// The name a comment types and the type, for a comment standing before the
    /// statement `next` that binds the name (JSDoc `/** @type {ModuleGraph} */` before
    /// `this.moduleGraph = ...` or `const graph = ...`).
    fn comment_declared(
        &self,
        _comment: &str,
        _next: tree_sitter::Node<'_>,
        _src: &[u8],
    ) -> Option<(String, String)> {
        None
    }

    /// Import bindings a comment makes (JSDoc `@typedef {import("./Module")} Module`).
    fn comment_imports(&self, _comment: &str) -> Vec<ImportBinding> {
        Vec::new()
    }

    /// Same-length rewrites to try once the file has parsed, each standing alone (Rust
    /// macro arguments read as the expressions they nearly always are). A rewrite is
    /// kept only when the text it covers then parses without errors.
    fn expansions(&self, _root: tree_sitter::Node<'_>, _src: &[u8]) -> Vec<Expansion> {
        Vec::new()
    }

    /// Offsets of whitespace bytes to turn into `;` after a parse with errors, where the
    /// grammar wants a separator the language lets the source leave out (TypeScript
    /// call-signature members on their own lines). Same rows and rules as `repair`.
    fn separators(&self, _src: &[u8], _error_rows: &[usize]) -> Vec<usize> {
        Vec::new()
    }

    /// Whether a function named `name` inside a type named `owner` is a constructor.
    fn is_constructor(&self, _name: &str, _owner: Option<&str>) -> bool {
        false
    }

    fn visibility(&self, input: &VisibilityInput<'_, '_>) -> Visibility;

    /// How the language writes doc comments before a definition; `None` when docs live
    /// elsewhere (Python docstrings), in which case [`Rules::doc`] is overridden.
    fn comment_style(&self) -> Option<&'static CommentStyle> {
        None
    }

    /// The doc comment of a definition, given every comment in the file.
    fn doc(
        &self,
        node: tree_sitter::Node<'_>,
        src: &[u8],
        comments: &[CommentSpan],
    ) -> Option<String> {
        preceding_comments(node, src, comments, self.comment_style()?)
    }

    /// Cleans a node captured as `@doc` (a docstring).
    fn clean_docstring(&self, text: &str) -> Option<String> {
        clean_comment(text)
    }

    /// The doc of a whole file (a module docstring or `//!` comments).
    fn file_doc(
        &self,
        _root: tree_sitter::Node<'_>,
        _src: &[u8],
        _comments: &[CommentSpan],
    ) -> Option<String> {
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

    /// The name an import binds when it does not rename, if that is not the imported
    /// name itself: a Go import path binds its package's name (`"regexp/syntax"` binds
    /// `syntax`).
    fn bound_name(&self, _binding: &ImportBinding) -> Option<String> {
        None
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
        Language::JavaScript => &javascript::JavaScriptRules { jsdoc: true },
        Language::TypeScript | Language::Tsx => &javascript::JavaScriptRules { jsdoc: false },
        Language::Go => &go::GoRules,
        Language::Java => &java::JavaRules,
        Language::Cpp => &cpp::CppRules,
    }
}

/// A comment's extent, as captured by the `@comment` patterns of a query file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommentSpan {
    pub start: usize,
    pub end: usize,
}

/// How a language writes doc comments before a definition.
pub struct CommentStyle {
    /// The character opening an attribute or decorator that may stand between a doc
    /// comment and its definition (`#` for Rust's `#[derive]`, `@` for decorators).
    pub attribute_marker: Option<u8>,
    /// Node kinds wrapping a definition, to step out of before looking for comments
    /// (`export_statement`, `template_declaration`, ...).
    pub wrapper_kinds: &'static [&'static str],
    /// Whether a comment's text counts as documentation.
    pub is_doc: fn(&str) -> bool,
}

/// Collects the comments directly above a definition: contiguous, with no blank line
/// between them and the definition, stepping over attributes and out of wrappers.
///
/// `comments` is every comment in the file in source order. Looking them up by offset
/// instead of walking to previous siblings keeps this linear: tree-sitter finds a
/// previous sibling by scanning from the first child, which is quadratic over a
/// long class body.
pub fn preceding_comments(
    node: tree_sitter::Node<'_>,
    src: &[u8],
    comments: &[CommentSpan],
    style: &CommentStyle,
) -> Option<String> {
    let mut anchor = node;
    if !style.wrapper_kinds.is_empty() {
        while let Some(parent) = anchor.parent() {
            if style.wrapper_kinds.contains(&parent.kind()) {
                anchor = parent;
            } else {
                break;
            }
        }
    }
    let mut next_start = anchor.start_byte();
    let mut index = comments.partition_point(|c| c.end <= next_start);
    let mut first = true;
    let mut parts: Vec<&[u8]> = Vec::new();
    while index > 0 {
        let comment = comments[index - 1];
        let gap = &src[comment.end..next_start];
        let marker = if first { style.attribute_marker } else { None };
        if !is_adjacent_gap(gap, marker) {
            break;
        }
        let text = &src[comment.start..comment.end];
        if !(style.is_doc)(&String::from_utf8_lossy(text)) {
            break;
        }
        parts.push(text);
        next_start = comment.start;
        index -= 1;
        first = false;
    }
    if parts.is_empty() {
        return None;
    }
    parts.reverse();
    let joined: Vec<String> = parts
        .iter()
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    clean_comment(&joined.join("\n"))
}

/// Whether what lies between a comment and what follows it keeps them together:
/// whitespace without a blank line, and (when `attribute` is set) attributes such as
/// `#[derive(Debug)]` or `@Input()`.
fn is_adjacent_gap(gap: &[u8], attribute: Option<u8>) -> bool {
    let mut newlines = 0;
    let mut i = 0;
    while i < gap.len() {
        let b = gap[i];
        if b == b'\n' {
            newlines += 1;
            if newlines > 1 {
                return false;
            }
            i += 1;
        } else if b.is_ascii_whitespace() {
            i += 1;
        } else if Some(b) == attribute {
            // Skip the attribute: a name, then balanced brackets or parentheses.
            newlines = 0;
            i += 1;
            while i < gap.len()
                && (gap[i].is_ascii_alphanumeric() || matches!(gap[i], b'_' | b'.' | b'!' | b':'))
            {
                i += 1;
            }
            if i < gap.len() && matches!(gap[i], b'[' | b'(') {
                let mut depth = 0i32;
                while i < gap.len() {
                    match gap[i] {
                        b'[' | b'(' => depth += 1,
                        b']' | b')' => {
                            depth -= 1;
                            if depth == 0 {
                                i += 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
            }
        } else {
            return false;
        }
    }
    true
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

/// The type argument a holder holds: a collection's first, a map's second (its
/// value); `None` when `last`, the holder's name, is neither.
pub(super) fn held_argument<'a>(
    last: &str,
    args: &[&'a str],
    holders: &[&str],
    maps: &[&str],
) -> Option<Option<&'a str>> {
    if holders.contains(&last) {
        Some(args.first().copied())
    } else if maps.contains(&last) {
        Some(args.get(1).copied())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adjacency() {
        assert!(is_adjacent_gap(b"\n", None));
        assert!(!is_adjacent_gap(b"\n\n", None));
        assert!(!is_adjacent_gap(b"\n  \n  ", None));
        assert!(is_adjacent_gap(b"\n#[derive(Debug, Clone)]\n", Some(b'#')));
        assert!(is_adjacent_gap(b"\n@Component({ a: [1] })\n  ", Some(b'@')));
        assert!(!is_adjacent_gap(b"\n}\n", Some(b'#')));
        assert!(!is_adjacent_gap(b"\n#[cfg(x)]\n", None));
    }

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
