//! C++: out-of-line `A::f` names, access specifiers, includes and using-declarations.

use codegraph_core::{NodeKind, Visibility};

use super::ImportBinding;
use super::{CommentStyle, Expansion, Rules, VisibilityInput, node_text};
use crate::text::{collapse_whitespace, split_top_level};

pub struct CppRules;

const COMMENTS: CommentStyle = CommentStyle {
    attribute_marker: None,
    wrapper_kinds: &["template_declaration"],
    is_doc: |_| true,
};

impl Rules for CppRules {
    fn before_parse(&self, src: &[u8]) -> Vec<std::ops::Range<usize>> {
        macros::always(src)
    }

    fn repair(&self, src: &[u8], error_rows: &[usize]) -> Vec<std::ops::Range<usize>> {
        macros::near_errors(src, error_rows)
    }

    /// `operator Matcher<R(T)>() const` is named `operator Matcher<R(T)>`: cut at the
    /// parameter list, the first `(` outside template arguments after the type.
    fn clean_name(&self, name: String) -> String {
        let Some(start) = name.find("operator") else {
            return name;
        };
        let after = &name[start + "operator".len()..];
        if !after.starts_with(char::is_whitespace) {
            return name;
        }
        let mut depth = 0i32;
        for (i, c) in after.char_indices() {
            match c {
                '<' => depth += 1,
                '>' => depth -= 1,
                '(' if depth == 0 => {
                    return name[..start + "operator".len() + i].trim_end().to_string();
                }
                _ => {}
            }
        }
        name
    }

    fn specialised_type_name(&self, name: &str) -> Option<String> {
        if !name.ends_with('>') || name.contains("operator") {
            return None;
        }
        let open = name.find('<')?;
        // The arguments run to the end: `A<T>::B<U>` names a member, not a type.
        let mut depth = 0usize;
        for (i, c) in name.char_indices().skip_while(|&(i, _)| i < open) {
            match c {
                '<' => depth += 1,
                '>' => depth = depth.saturating_sub(1),
                _ => {}
            }
            if depth == 0 && i + 1 < name.len() {
                return None;
            }
        }
        let template = name[..open].trim();
        let valid =
            !template.is_empty() && template.chars().all(|c| c.is_alphanumeric() || c == '_');
        valid.then(|| template.to_string())
    }

    fn split_qualified_name(&self, name: &str) -> Option<(String, String)> {
        // The last `::` outside template arguments, so `A<B::C>::f` splits at the end.
        let bytes = name.as_bytes();
        let mut depth = 0i32;
        let mut split = None;
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'<' => depth += 1,
                b'>' => depth -= 1,
                b'(' if depth == 0 && !name[..i].ends_with("operator") => break,
                b':' if depth == 0 && bytes.get(i + 1) == Some(&b':') => {
                    split = Some(i);
                    i += 1;
                }
                _ => {}
            }
            i += 1;
        }
        let at = split?;
        let (scope, rest) = (&name[..at], &name[at + 2..]);
        if rest.is_empty() {
            return None;
        }
        Some((scope.trim().to_string(), rest.trim().to_string()))
    }

    fn is_constructor(&self, name: &str, owner: Option<&str>) -> bool {
        owner.is_some_and(|owner| {
            let owner = owner.split('<').next().unwrap_or(owner);
            name == owner
        })
    }

    fn visibility(&self, input: &VisibilityInput<'_, '_>) -> Visibility {
        if input.in_private_scope {
            return Visibility::Private;
        }
        if input.parent_kind.is_some_and(|k| k.is_type()) {
            // The nearest access label above, or the class key's default.
            return match input.access.map(|a| a.trim_end_matches(':').trim()) {
                Some("private") => Visibility::Private,
                Some("protected") => Visibility::Protected,
                Some(_) => Visibility::Public,
                None if input.parent_kind == Some(NodeKind::Class) => Visibility::Private,
                None => Visibility::Public,
            };
        }
        // Internal linkage: `static` free functions and variables.
        let mut cursor = input.node.walk();
        let is_static = input.node.children(&mut cursor).any(|c| {
            c.kind() == "storage_class_specifier" && node_text(c, input.src).trim() == "static"
        });
        if is_static {
            Visibility::Private
        } else {
            Visibility::Public
        }
    }

    fn comment_style(&self) -> Option<&'static CommentStyle> {
        Some(&COMMENTS)
    }

    fn expand_import(&self, node: tree_sitter::Node<'_>, src: &[u8], out: &mut Vec<ImportBinding>) {
        match node.kind() {
            "preproc_include" => {
                if let Some(path) = node.child_by_field_name("path") {
                    let text = node_text(path, src);
                    let text = text.trim();
                    let name = if text.starts_with('<') {
                        text.to_string()
                    } else {
                        text.trim_matches('"').to_string()
                    };
                    out.push(ImportBinding {
                        qualifier: None,
                        name,
                        alias: None,
                    });
                }
            }
            "using_declaration" => {
                let text = collapse_whitespace(&node_text(node, src));
                let body = text
                    .trim_start_matches("using")
                    .trim()
                    .trim_end_matches(';')
                    .trim();
                if let Some(namespace) = body.strip_prefix("namespace ") {
                    out.push(ImportBinding {
                        qualifier: Some(namespace.trim().to_string()),
                        name: "*".to_string(),
                        alias: None,
                    });
                } else if let Some((scope, name)) = self.split_qualified_name(body) {
                    out.push(ImportBinding {
                        qualifier: Some(scope).filter(|s| !s.is_empty()),
                        name,
                        alias: None,
                    });
                }
            }
            "namespace_alias_definition" => {
                let alias = node.child_by_field_name("name").map(|n| node_text(n, src));
                let mut cursor = node.walk();
                let target = node
                    .named_children(&mut cursor)
                    .filter(|c| {
                        matches!(
                            c.kind(),
                            "nested_namespace_specifier" | "namespace_identifier"
                        )
                    })
                    .last()
                    .map(|t| collapse_whitespace(&node_text(t, src)));
                if let Some(target) = target {
                    let (qualifier, name) = match self.split_qualified_name(&target) {
                        Some((q, n)) => (Some(q), n),
                        None => (None, target),
                    };
                    out.push(ImportBinding {
                        qualifier,
                        name,
                        alias,
                    });
                }
            }
            _ => {}
        }
    }

    fn reference_separators(&self) -> &'static [&'static str] {
        &["::"]
    }

    fn see_through(&self, written: &str) -> (Option<String>, Option<String>) {
        see_through(written, 0)
    }

    /// gmock's `MOCK_METHOD` family declares the method a mock's callers call: read as
    /// the declaration it stands for, so that `mock.Bar(1)` finds `Bar`.
    fn expansions(&self, root: tree_sitter::Node<'_>, src: &[u8]) -> Vec<Expansion> {
        // Only files that use the family are walked (gmock's own headers say `GMOCK_`
        // everywhere and define none).
        let uses = |word: &[u8]| {
            memchr::memmem::find_iter(src, word)
                .any(|at| at == 0 || !(src[at - 1].is_ascii_alphanumeric() || src[at - 1] == b'_'))
        };
        if !uses(b"MOCK_METHOD") && !uses(b"MOCK_CONST_METHOD") {
            return Vec::new();
        }
        let mut out = Vec::new();
        let mut stack = vec![root];
        while let Some(node) = stack.pop() {
            let mut cursor = node.walk();
            if node.kind() == "field_declaration_list" {
                out.extend(
                    node.named_children(&mut cursor)
                        .filter_map(|member| mock_method(member, src)),
                );
                continue;
            }
            stack.extend(node.named_children(&mut cursor));
        }
        out
    }
}

/// The rewrite of one gmock method declaration into the declaration it stands for,
/// keeping every offset: `MOCK_METHOD(int, Bar, (int x), (override));` reads as `int Bar
/// (int x);`, and the older `MOCK_METHOD1(Bar, int(int x));` as `Bar (int x);` (a
/// declaration without a return type, still a method named `Bar`).
fn mock_method(member: tree_sitter::Node<'_>, src: &[u8]) -> Option<Expansion> {
    if !matches!(member.kind(), "declaration" | "field_declaration") {
        return None;
    }
    let call = member.child_by_field_name("declarator")?;
    if call.kind() != "function_declarator" {
        return None;
    }
    let macro_name = call.child_by_field_name("declarator")?;
    let open = call.child_by_field_name("parameters")?.start_byte();
    if src.get(open) != Some(&b'(') {
        return None;
    }
    // The grammar's recovery may end the parameter list early (`(const, override)`):
    // the macro's own closing parenthesis is the one that matches.
    let mut depth = 0usize;
    let close = open
        + src.get(open..member.end_byte())?.iter().position(|&c| {
            match c {
                b'(' => depth += 1,
                b')' => depth = depth.saturating_sub(1),
                _ => {}
            }
            depth == 0
        })?;
    let name = std::str::from_utf8(src.get(macro_name.byte_range())?).ok()?;
    let new_style = name == "MOCK_METHOD";
    let old_style = name
        .strip_prefix("MOCK_")
        .map(|r| r.strip_prefix("CONST_").unwrap_or(r))
        .and_then(|r| r.strip_prefix("METHOD"))
        .is_some_and(|n| {
            let n = n.strip_suffix("_T").unwrap_or(n);
            !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
        });
    if !new_style && !old_style {
        return None;
    }
    let commas = top_level_commas(src, open + 1, close);
    let piece = |i: usize| -> (usize, usize) {
        let start = if i == 0 { open + 1 } else { commas[i - 1] + 1 };
        let end = commas.get(i).copied().unwrap_or(close);
        (start, end)
    };
    let is_name = |(a, b): (usize, usize)| {
        let t = src[a..b].trim_ascii();
        !t.is_empty()
            && !t[0].is_ascii_digit()
            && t.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
    };
    let mut blank: Vec<usize> = (macro_name.start_byte()..=open).collect();
    if new_style {
        // (return type, name, (parameters)[, (qualifiers)])
        if !matches!(commas.len(), 2 | 3) || !is_name(piece(1)) {
            return None;
        }
        let (a, b) = piece(2);
        let params = src[a..b].trim_ascii();
        if !(params.starts_with(b"(") && params.ends_with(b")")) {
            return None;
        }
        let params_end = a + src[a..b].iter().rposition(|&c| c == b')')?;
        blank.extend([commas[0], commas[1]]);
        blank.extend(params_end + 1..=close);
    } else {
        // (name, return type(parameters))
        if commas.len() != 1 || !is_name(piece(0)) {
            return None;
        }
        let (a, b) = piece(1);
        let params_start = a + src[a..b].iter().position(|&c| c == b'(')?;
        if src[a..b].trim_ascii_end().last() != Some(&b')') {
            return None;
        }
        blank.extend(commas[0]..params_start);
        blank.push(close);
    }
    Some(Expansion {
        edits: blank.into_iter().map(|at| (at, b' ')).collect(),
        check: member.start_byte()..member.end_byte(),
    })
}

/// Offsets of the commas in `src[from..to]` outside brackets.
fn top_level_commas(src: &[u8], from: usize, to: usize) -> Vec<usize> {
    let mut depth = 0i32;
    let mut out = Vec::new();
    for (i, &c) in src[from..to].iter().enumerate() {
        match c {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            b',' if depth == 0 => out.push(from + i),
            _ => {}
        }
    }
    out
}

/// Standard smart pointers and `optional`: `p->f()` calls the pointee's `f`.
const POINTERS: &[&str] = &["unique_ptr", "shared_ptr", "optional", "auto_ptr"];
/// Standard containers whose elements a range-for or an index reaches.
const HOLDERS: &[&str] = &[
    "vector",
    "deque",
    "list",
    "forward_list",
    "set",
    "multiset",
    "unordered_set",
    "unordered_multiset",
    "array",
    "span",
    "initializer_list",
    "valarray",
];
/// Standard maps, whose index reaches the mapped type.
const MAPS: &[&str] = &["map", "multimap", "unordered_map", "unordered_multimap"];

/// A written C++ type seen through the standard library's smart pointers (to their
/// pointee) and containers (holding their element): `std::unique_ptr<Option>` has
/// `Option`'s members, `const std::vector<Shape*>&` holds `Shape`. Only `std::` names
/// or unqualified ones (after `using std::vector;`): a project's own `Vector<T>` is
/// its own type. Bounded in length and depth, as the text comes from indexed files.
fn see_through(written: &str, depth: usize) -> (Option<String>, Option<String>) {
    if written.len() > 300 || depth > 4 {
        return (None, None);
    }
    let mut t = bare(written);
    for _ in 0..6 {
        let Some(open) = t.find('<') else {
            return (Some(t.to_string()), None);
        };
        let Some(args) = t[open + 1..].strip_suffix('>') else {
            return (Some(t.to_string()), None);
        };
        let head = t[..open].trim().trim_start_matches("::");
        let (scope, last) = match head.rsplit_once("::") {
            Some((scope, last)) => (scope, last),
            None => ("", head),
        };
        if !matches!(scope, "" | "std") {
            return (Some(t.to_string()), None);
        }
        let args: Vec<&str> = split_top_level(args, ',')
            .into_iter()
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .collect();
        if POINTERS.contains(&last) {
            let Some(inner) = args.first() else {
                return (None, None);
            };
            t = bare(inner);
            continue;
        }
        let Some(held) = super::held_argument(last, &args, HOLDERS, MAPS) else {
            return (Some(t.to_string()), None);
        };
        let held = held.and_then(|h| see_through(h, depth + 1).0);
        return (Some(t.to_string()), held);
    }
    (None, None)
}

/// A written type without its qualifiers, elaborations and declarator marks:
/// `const struct Foo *const &` is `Foo`.
fn bare(written: &str) -> &str {
    let mut t = written.trim();
    loop {
        let before = t.len();
        for prefix in [
            "const ",
            "volatile ",
            "typename ",
            "struct ",
            "class ",
            "enum ",
        ] {
            t = t.strip_prefix(prefix).unwrap_or(t).trim_start();
        }
        t = t.trim_end_matches(['*', '&', ' ']);
        for suffix in ["const", "volatile"] {
            if let Some(rest) = t.strip_suffix(suffix)
                && rest.ends_with([' ', '*', '&'])
            {
                t = rest.trim_end();
            }
        }
        if t.len() == before {
            return t;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mock_rewrite(member: &str) -> Option<String> {
        let src = format!("class M {{\n{member}\n}};\n");
        let mut parser = tree_sitter::Parser::new();
        parser
            .set_language(&tree_sitter_cpp::LANGUAGE.into())
            .unwrap();
        let tree = parser.parse(&src, None).unwrap();
        let mut bytes = src.into_bytes();
        let expansions = CppRules.expansions(tree.root_node(), &bytes);
        let e = expansions.first()?;
        for &(at, b) in &e.edits {
            if bytes[at] != b'\n' {
                bytes[at] = b;
            }
        }
        let text = String::from_utf8(bytes).unwrap();
        Some(
            text.lines()
                .nth(1)
                .unwrap()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        )
    }

    #[test]
    fn gmock_methods_read_as_the_declarations_they_stand_for() {
        assert_eq!(
            mock_rewrite("MOCK_METHOD(int, Bar, (int x, int y), (const, override));").as_deref(),
            Some("int Bar (int x, int y) ;")
        );
        assert_eq!(
            mock_rewrite("MOCK_METHOD(void, Baz, ());").as_deref(),
            Some("void Baz () ;")
        );
        assert_eq!(
            mock_rewrite("MOCK_CONST_METHOD2_T(Old, bool(int a, T b));").as_deref(),
            Some("Old (int a, T b) ;")
        );
        // Not gmock's, or not its shape: left alone.
        assert_eq!(mock_rewrite("MOCK_THING(int, Bar, (int));"), None);
        assert_eq!(mock_rewrite("MOCK_METHOD(int, 3, (int));"), None);
        assert_eq!(mock_rewrite("MOCK_METHOD1(Bar);"), None);
    }

    proptest::proptest! {
        /// Members and written types come from the files being indexed: any text is
        /// read without a panic.
        #[test]
        fn any_mock_member_or_written_type_is_read(
            member in r"MOCK_(CONST_)?METHOD[0-9]?\([A-Za-z(), <>:\n]{0,40}\)?;?",
            written in r"[A-Za-z&*<>:, ]{0,40}",
        ) {
            let _ = mock_rewrite(&member);
            let _ = see_through(&written, 0);
        }
    }

    #[test]
    fn standard_pointers_and_containers_are_seen_through() {
        let s = |t: &str| see_through(t, 0);
        let some = |t: &str| Some(t.to_string());
        assert_eq!(s("std::unique_ptr<Option>"), (some("Option"), None));
        assert_eq!(
            s("const std::shared_ptr<ns::Node<int>>&"),
            (some("ns::Node<int>"), None)
        );
        assert_eq!(
            s("std::vector<std::unique_ptr<Shape>>"),
            (some("std::vector<std::unique_ptr<Shape>>"), some("Shape"))
        );
        assert_eq!(
            s("std::map<std::string, const Rule*>"),
            (some("std::map<std::string, const Rule*>"), some("Rule"))
        );
        assert_eq!(s("const struct Foo *const"), (some("Foo"), None));
        // A project's own template is its own type.
        assert_eq!(s("my::vector<Foo>"), (some("my::vector<Foo>"), None));
        assert_eq!(s("std::unique_ptr<>"), (None, None));
        let deep = format!("{}T{}", "std::unique_ptr<".repeat(50), ">".repeat(50));
        assert_eq!(s(&deep), (None, None));
    }

    #[test]
    fn a_specialisation_is_named_as_its_template() {
        let r = CppRules;
        let n = |t: &str| r.specialised_type_name(t);
        assert_eq!(n("Action<R(Args...)>").as_deref(), Some("Action"));
        assert_eq!(
            n("formatter<std::string_view, Char>").as_deref(),
            Some("formatter")
        );
        assert_eq!(n("Action"), None);
        assert_eq!(n("A<T>::B<U>"), None);
        assert_eq!(n("operator<"), None);
    }

    #[test]
    fn qualified_names() {
        let r = CppRules;
        assert_eq!(
            r.split_qualified_name("ns::A::f"),
            Some(("ns::A".into(), "f".into()))
        );
        assert_eq!(
            r.split_qualified_name("A<B::C>::operator=="),
            Some(("A<B::C>".into(), "operator==".into()))
        );
        assert_eq!(r.split_qualified_name("f"), None);
        assert_eq!(
            r.split_qualified_name("X::operator Matcher<R(T)>"),
            Some(("X".into(), "operator Matcher<R(T)>".into()))
        );
        assert_eq!(
            r.clean_name("X::operator Matcher<R(T)>() const".into()),
            "X::operator Matcher<R(T)>"
        );
        assert_eq!(r.clean_name("operator()".into()), "operator()");
        assert_eq!(
            r.clean_name("operator bool() const".into()),
            "operator bool"
        );
        assert_eq!(r.split_qualified_name("::f"), Some(("".into(), "f".into())));
    }
}

/// Macro uses that a C++ parser without a preprocessor cannot read.
///
/// Real C++ is full of macros that expand to attributes, export markers or namespace
/// braces (`class GTEST_API_ Foo`, `SPDLOG_INLINE void f() SPDLOG_NOEXCEPT`,
/// `ABSL_NAMESPACE_BEGIN`). Without expansion they turn whole declarations into
/// parse errors. These patterns find such uses; the engine replaces them with spaces
/// (keeping every byte offset and line) before parsing again.
pub mod macros {
    use std::sync::OnceLock;

    use regex::bytes::Regex;

    /// One or more ALL_CAPS words, each optionally with an argument list, then space.
    const CAPS_RUN: &str = r"(?:[A-Z][A-Z0-9_]{2,}(?:[ \t]*\((?:[^()\n]|\([^()\n]*\))*\))?[ \t]+)+";

    struct Patterns {
        /// `class|struct|union CAPS Name`: never valid without expansion.
        after_class_key: Regex,
        /// A line holding only a macro use (`ABSL_NAMESPACE_BEGIN`, `Q_OBJECT`).
        standalone: Regex,
        /// CAPS words opening a declaration: `GTEST_API_ bool f();`.
        leading: Regex,
        /// CAPS words after a parameter list, on its line or the next ones:
        /// `f() SPDLOG_NOEXCEPT {`, `void f() const\n    ABSL_LOCKS_EXCLUDED(mu_);`.
        trailing: Regex,
    }

    fn patterns() -> &'static Patterns {
        static PATTERNS: OnceLock<Patterns> = OnceLock::new();
        PATTERNS.get_or_init(|| Patterns {
            after_class_key: Regex::new(&format!(
                r"\b(?:class|struct|union)[ \t]+(?P<m>{CAPS_RUN})(?P<next>[A-Za-z_][A-Za-z0-9_]*)"
            ))
            .expect("valid regex"),
            standalone: Regex::new(
                r"(?m)^[ \t]*(?P<m>[A-Z][A-Z0-9_]{2,}(?:[ \t]*\((?:[^()\n]|\([^()\n]*\))*\))?)[ \t]*(?://[^\n]*)?\r?$",
            )
            .expect("valid regex"),
            leading: Regex::new(&format!(
                r"(?m)^[ \t]*(?:(?:explicit|inline|static|constexpr|virtual|friend|extern)[ \t]+)*(?P<m>{CAPS_RUN})[A-Za-z_~]"
            ))
            .expect("valid regex"),
            trailing: Regex::new(
                r"\)\s*(?:const\s+)?(?P<m>(?:[A-Z][A-Z0-9_]{2,}(?:\((?:[^()\n]|\([^()\n]*\))*\))?[ \t]*)+)(?:[{;:=]|->|override\b|final\b|noexcept\b|\r?\n)",
            )
            .expect("valid regex"),
        })
    }

    type Ranges = Vec<std::ops::Range<usize>>;

    /// Macro markers that are never valid C++ where they stand, whatever the parse:
    /// `class EXPORT Name`.
    pub fn always(src: &[u8]) -> Ranges {
        let p = patterns();
        let mut out = Vec::new();
        for caps in p.after_class_key.captures_iter(src) {
            if &caps["next"] == b"final" {
                continue;
            }
            out.push(caps.name("m").expect("group m").range());
        }
        out
    }

    /// Macro uses on or just before the lines where parsing failed. `error_rows`
    /// holds the sorted 0-based rows of ERROR and MISSING nodes.
    pub fn near_errors(src: &[u8], error_rows: &[usize]) -> Ranges {
        if error_rows.is_empty() {
            return Vec::new();
        }
        let p = patterns();
        let line_starts: Vec<usize> = std::iter::once(0)
            .chain(memchr::memchr_iter(b'\n', src).map(|i| i + 1))
            .collect();
        let row_of = |offset: usize| line_starts.partition_point(|&s| s <= offset) - 1;
        let has_error = |row: usize| error_rows.binary_search(&row).is_ok();
        // The first row after `row` that holds code, where a standalone macro's
        // damage shows: `ABSL_NAMESPACE_BEGIN`, then a comment block, then the class
        // whose parse it broke.
        let next_content_row = |row: usize| {
            let mut in_block = false;
            (row + 1..line_starts.len()).find(|&r| {
                let start = line_starts[r];
                let end = line_starts.get(r + 1).copied().unwrap_or(src.len());
                let line = src[start..end].trim_ascii();
                if in_block {
                    in_block = !line.windows(2).any(|w| w == b"*/");
                    return false;
                }
                if line.starts_with(b"/*") {
                    in_block = !line[2..].windows(2).any(|w| w == b"*/");
                    return false;
                }
                !line.is_empty() && !line.starts_with(b"//")
            })
        };
        let mut out = Vec::new();
        for caps in p.standalone.captures_iter(src) {
            let m = caps.name("m").expect("group m");
            let row = row_of(m.start());
            if has_error(row) || next_content_row(row).is_some_and(has_error) {
                out.push(m.range());
            }
        }
        for regex in [&p.leading, &p.trailing] {
            for caps in regex.captures_iter(src) {
                let m = caps.name("m").expect("group m");
                // A trailing macro on the line after the signature shows as an error
                // (a missing `;`) on the signature's line.
                let whole = caps.get(0).expect("whole match");
                if has_error(row_of(m.start())) || has_error(row_of(whole.start())) {
                    out.push(m.range());
                }
            }
        }
        out.sort_unstable_by_key(|r| r.start);
        out
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn text(src: &[u8], ranges: Ranges) -> String {
            assert!(!ranges.is_empty(), "expected changes");
            let mut out = src.to_vec();
            for r in ranges {
                for b in &mut out[r] {
                    if *b != b'\n' {
                        *b = b' ';
                    }
                }
            }
            String::from_utf8(out).unwrap()
        }

        #[test]
        fn export_markers_after_class_keys() {
            let src = b"class GTEST_API_ Foo : Base {};";
            assert_eq!(text(src, always(src)), "class            Foo : Base {};");
            let src = b"struct ALIGN(8) EXPORT Bar {};";
            assert_eq!(text(src, always(src)), "struct                 Bar {};");
            assert!(always(b"class FOO final {};").is_empty());
            assert!(always(b"class Foo {};").is_empty());
        }

        #[test]
        fn only_near_errors() {
            let src = b"enum E {\n  RED,\n  GREEN\n};\nABSL_NAMESPACE_BEGIN\n\nclass A {};\n";
            // No errors: nothing changes, so enumerators on their own line survive.
            assert!(near_errors(src, &[]).is_empty());
            assert!(near_errors(src, &[1]).is_empty());
            let fixed = text(src, near_errors(src, &[6]));
            assert!(fixed.contains("  GREEN\n"));
            assert!(!fixed.contains("ABSL_NAMESPACE_BEGIN"));
            assert_eq!(fixed.len(), src.len());

            // The damage shows below a comment block.
            let src =
                b"namespace a {\nNS_BEGIN\n\n// A class.\n/* More\n   words. */\nclass B {};\n";
            let fixed = text(src, near_errors(src, &[6]));
            assert!(!fixed.contains("NS_BEGIN"));
            assert!(near_errors(src, &[4]).is_empty());

            // A trailing annotation on the line after the signature.
            let src = b"bool A::f() const\n    LOCK_REQUIRED(mu) {\n}\n";
            assert_eq!(
                text(src, near_errors(src, &[1])),
                "bool A::f() const\n                      {\n}\n"
            );

            let src = b"SPDLOG_INLINE std::tm gmtime() SPDLOG_NOEXCEPT\n{\n}\n";
            assert_eq!(
                text(src, near_errors(src, &[0])),
                "              std::tm gmtime()                \n{\n}\n"
            );
        }
    }
}
