//! JavaScript and TypeScript: exports, class member modifiers, JSDoc, ES imports,
//! re-exports and CommonJS `require`.

use codegraph_core::{NodeKind, Visibility};

use super::ImportBinding;
use super::{CommentStyle, Rules, VisibilityInput, node_text};

pub struct JavaScriptRules {
    /// Read types from JSDoc: in JavaScript they are the only ones written; in
    /// TypeScript the annotations are, and the checker ignores JSDoc types.
    pub jsdoc: bool,
}

const COMMENTS: CommentStyle = CommentStyle {
    attribute_marker: Some(b'@'),
    wrapper_kinds: &[
        "export_statement",
        "lexical_declaration",
        "variable_declaration",
        "expression_statement",
        "ambient_declaration",
    ],
    is_doc: |_| true,
};

impl Rules for JavaScriptRules {
    /// Type-parameter modifiers newer than the grammar (`<in out A>` from TypeScript
    /// 4.7, `<const T>` from 5.0) turn a whole file into one syntax error; blanked
    /// where a parse failed, they cost only the modifier.
    fn repair(&self, src: &[u8], error_rows: &[usize]) -> Vec<std::ops::Range<usize>> {
        let mut out = type_parameter_modifiers(src, error_rows);
        out.extend(template_escapes(src, error_rows));
        out.sort_unstable_by_key(|r| r.start);
        out
    }

    /// `f(): A<T>` then `<U>(x: U): B` on the next line: a newline ends a type
    /// member, but the grammar reads the `<` on as a comparison and loses the rest of
    /// the type (and often of the file). A `;` in the indentation ends the member.
    fn separators(&self, src: &[u8], error_rows: &[usize]) -> Vec<usize> {
        generic_members_on_new_lines(src, error_rows)
    }

    fn normalize_receiver(&self, receiver: String) -> Option<String> {
        match receiver.as_str() {
            "exports" | "module.exports" | "module" | "this" | "window" | "globalThis" | "self" => {
                None
            }
            _ => Some(receiver),
        }
    }

    fn is_constructor(&self, name: &str, owner: Option<&str>) -> bool {
        owner.is_some() && name == "constructor"
    }

    fn visibility(&self, input: &VisibilityInput<'_, '_>) -> Visibility {
        let node = input.node;
        if input.name.starts_with('#') {
            return Visibility::Private;
        }
        let mut cursor = node.walk();
        if let Some(modifier) = node
            .children(&mut cursor)
            .find(|c| c.kind() == "accessibility_modifier")
        {
            return match node_text(modifier, input.src).trim() {
                "private" => Visibility::Private,
                "protected" => Visibility::Protected,
                _ => Visibility::Public,
            };
        }
        if input
            .parent_kind
            .is_some_and(|k| k.is_type() || k == NodeKind::Namespace)
            && !matches!(input.parent_kind, Some(NodeKind::Namespace))
        {
            return Visibility::Public;
        }
        if node.kind() == "assignment_expression" {
            let left = node
                .child_by_field_name("left")
                .map(|l| node_text(l, input.src))
                .unwrap_or_default();
            if left.starts_with("exports.") || left.starts_with("module.exports") {
                return Visibility::Public;
            }
        }
        // Exported, possibly through `export const`, `export default`, or
        // `export declare`.
        let mut ancestor = node.parent();
        while let Some(a) = ancestor {
            match a.kind() {
                "export_statement" => return Visibility::Public,
                "lexical_declaration" | "variable_declaration" | "ambient_declaration" => {
                    ancestor = a.parent()
                }
                _ => break,
            }
        }
        if input.parent_kind.is_some() && input.parent_kind != Some(NodeKind::Namespace) {
            // Object-literal members and the like follow their container.
            Visibility::Public
        } else {
            Visibility::Private
        }
    }

    fn comment_style(&self) -> Option<&'static CommentStyle> {
        Some(&COMMENTS)
    }

    fn doc_types(&self, doc: &str) -> Vec<(Option<String>, String)> {
        if !self.jsdoc || !doc.contains('@') {
            return Vec::new();
        }
        let mut out = Vec::new();
        for line in doc.lines() {
            let line = line.trim();
            let (tag, rest) = match line.split_once(char::is_whitespace) {
                Some((tag, rest)) => (tag, rest.trim_start()),
                None => continue,
            };
            let subject_wanted = match tag {
                "@param" | "@arg" | "@argument" => true,
                "@returns" | "@return" => false,
                _ => continue,
            };
            let Some((written, after)) = jsdoc_type(rest) else {
                continue;
            };
            let Some(ty) = one_named_type(written) else {
                continue;
            };
            if subject_wanted {
                // `name`, `[name]`, `[name=default]`; a dotted `options.x` is a member of
                // an options object, not a parameter.
                let name = after
                    .trim_start()
                    .trim_start_matches('[')
                    .split(|c: char| c == ']' || c == '=' || c.is_whitespace())
                    .next()
                    .unwrap_or("");
                if name.is_empty()
                    || !name
                        .chars()
                        .all(|c| c.is_alphanumeric() || c == '_' || c == '$')
                {
                    continue;
                }
                out.push((Some(name.to_string()), ty));
            } else {
                out.push((None, ty));
            }
        }
        out
    }

    fn receiver_cast(&self, receiver: tree_sitter::Node<'_>, src: &[u8]) -> Option<String> {
        if receiver.kind() != "parenthesized_expression" {
            return None;
        }
        let inner = receiver.named_child(0)?;
        if matches!(inner.kind(), "as_expression" | "satisfies_expression") {
            let last = u32::try_from(inner.named_child_count().checked_sub(1)?).ok()?;
            let ty = inner.named_child(last)?;
            return Some(node_text(ty, src));
        }
        if self.jsdoc {
            // `/** @type {Module} */ (x)`: the comment right before the parentheses
            // (looked for in a bounded window: this runs for every such receiver).
            let start = receiver.start_byte();
            let window = String::from_utf8_lossy(&src[start.saturating_sub(400)..start]);
            let before = window.trim_end();
            if before.ends_with("*/")
                && let Some(open) = before.rfind("/**")
                && !before[open..before.len() - 2].contains("*/")
                && let Some(at) = before[open..].find("@type")
            {
                let rest = before[open + at + "@type".len()..].trim_start();
                if let Some((written, _)) = jsdoc_type(rest) {
                    return one_named_type(written);
                }
            }
        }
        // `(x.y).f()`: the parentheses say nothing.
        matches!(inner.kind(), "identifier" | "member_expression" | "this")
            .then(|| node_text(inner, src))
    }

    fn comment_declared(
        &self,
        comment: &str,
        next: tree_sitter::Node<'_>,
        src: &[u8],
    ) -> Option<(String, String)> {
        if !self.jsdoc {
            return None;
        }
        let at = comment.find("@type")?;
        let rest = comment[at + "@type".len()..].trim_start();
        let (written, _) = jsdoc_type(rest)?;
        let ty = one_named_type(written)?;
        // `this.graph = ...`, `graph = ...`, `const graph = ...`.
        let subject = match next.kind() {
            "expression_statement" => {
                let assignment = next
                    .named_child(0)
                    .filter(|n| n.kind() == "assignment_expression")?;
                let left = assignment.child_by_field_name("left")?;
                match left.kind() {
                    "identifier" => node_text(left, src),
                    "member_expression" => {
                        let object = left.child_by_field_name("object")?;
                        let property = left.child_by_field_name("property")?;
                        if object.kind() != "this" {
                            return None;
                        }
                        format!("this.{}", node_text(property, src))
                    }
                    _ => return None,
                }
            }
            "lexical_declaration" | "variable_declaration" => {
                let declarator = next
                    .named_child(0)
                    .filter(|n| n.kind() == "variable_declarator")?;
                let name = declarator
                    .child_by_field_name("name")
                    .filter(|n| n.kind() == "identifier")?;
                node_text(name, src)
            }
            _ => return None,
        };
        Some((subject, ty))
    }

    fn comment_imports(&self, comment: &str) -> Vec<ImportBinding> {
        let mut out = Vec::new();
        if !self.jsdoc {
            return out;
        }
        for (at, _) in comment.match_indices("@typedef") {
            let rest = comment[at + "@typedef".len()..].trim_start();
            let Some((written, after)) = jsdoc_type(rest) else {
                continue;
            };
            let alias: String = after
                .trim_start()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '$')
                .collect();
            // `import("./Compilation")` is the module's value; `import("./Chunk").ChunkId`
            // a name it exports. Type arguments (`import("x").Map<K>`) are dropped.
            let Some(inner) = written.trim().strip_prefix("import(") else {
                continue;
            };
            let Some((module, member)) = inner.split_once(')') else {
                continue;
            };
            let module = module
                .trim()
                .trim_matches(|c| c == '"' || c == '\'' || c == '`');
            let member = member.split('<').next().unwrap_or("").trim();
            if alias.is_empty() || module.is_empty() {
                continue;
            }
            match member.strip_prefix('.') {
                None if member.is_empty() => out.push(ImportBinding {
                    qualifier: None,
                    name: module.to_string(),
                    alias: Some(alias),
                }),
                Some(name) if !name.is_empty() && !name.contains('.') => out.push(ImportBinding {
                    qualifier: Some(module.to_string()),
                    name: name.to_string(),
                    alias: (name != alias).then_some(alias),
                }),
                _ => {}
            }
        }
        out
    }

    fn expand_import(&self, node: tree_sitter::Node<'_>, src: &[u8], out: &mut Vec<ImportBinding>) {
        if node.kind() == "variable_declarator" {
            destructured_require(node, src, self, out);
            return;
        }
        let source = node
            .child_by_field_name("source")
            .map(|s| self.clean_import_path(&node_text(s, src)));
        let mut cursor = node.walk();
        let children: Vec<_> = node.children(&mut cursor).collect();
        let before = out.len();
        for child in &children {
            match child.kind() {
                "import_clause" => {
                    let Some(source) = &source else { continue };
                    let mut cursor = child.walk();
                    for part in child.named_children(&mut cursor) {
                        match part.kind() {
                            "identifier" => out.push(ImportBinding {
                                qualifier: Some(source.clone()),
                                name: "default".to_string(),
                                alias: Some(node_text(part, src)),
                            }),
                            "namespace_import" => {
                                let mut c = part.walk();
                                let alias = part
                                    .named_children(&mut c)
                                    .find(|n| n.kind() == "identifier")
                                    .map(|n| node_text(n, src));
                                out.push(ImportBinding {
                                    qualifier: Some(source.clone()),
                                    name: "*".to_string(),
                                    alias,
                                });
                            }
                            "named_imports" => {
                                specifiers(part, "import_specifier", source, src, self, out)
                            }
                            _ => {}
                        }
                    }
                }
                "import_require_clause" => {
                    // TypeScript `import x = require("m")`.
                    let mut c = child.walk();
                    let alias = child
                        .named_children(&mut c)
                        .find(|n| n.kind() == "identifier")
                        .map(|n| node_text(n, src));
                    if let Some(module) = child.child_by_field_name("source") {
                        out.push(ImportBinding {
                            qualifier: None,
                            name: self.clean_import_path(&node_text(module, src)),
                            alias,
                        });
                    }
                }
                "export_clause" => match &source {
                    Some(source) => specifiers(*child, "export_specifier", source, src, self, out),
                    None => local_default_export(*child, src, out),
                },
                // `export default named;`, `export default function named() {}`: the
                // file's own definition under the name `default`, as importers ask for
                // it (an anonymous default export is itself a definition so named).
                "default" if source.is_none() => {
                    let exported = node
                        .child_by_field_name("value")
                        .filter(|v| v.kind() == "identifier")
                        .or_else(|| {
                            node.child_by_field_name("declaration")
                                .and_then(|d| d.child_by_field_name("name"))
                        });
                    if let Some(name) = exported {
                        out.push(ImportBinding {
                            qualifier: None,
                            name: node_text(name, src),
                            alias: Some("default".to_string()),
                        });
                    }
                }
                "namespace_export" => {
                    if let Some(source) = &source {
                        let mut c = child.walk();
                        let alias = child
                            .named_children(&mut c)
                            .last()
                            .map(|n| self.clean_import_path(&node_text(n, src)));
                        out.push(ImportBinding {
                            qualifier: Some(source.clone()),
                            name: "*".to_string(),
                            alias,
                        });
                    }
                }
                "*" if node.kind() == "export_statement" => {
                    if let Some(source) = &source {
                        out.push(ImportBinding {
                            qualifier: Some(source.clone()),
                            name: "*".to_string(),
                            alias: None,
                        });
                    }
                }
                _ => {}
            }
        }
        if out.len() == before && node.kind() == "import_statement" {
            // `import "./side-effect"` binds nothing but still depends on the module.
            if let Some(source) = source {
                out.push(ImportBinding {
                    qualifier: None,
                    name: source,
                    alias: None,
                });
            }
        }
    }
}

/// `export { named as default }` with no source: the one local export clause importers
/// cannot find by name, since they ask for `default`.
fn local_default_export(clause: tree_sitter::Node<'_>, src: &[u8], out: &mut Vec<ImportBinding>) {
    let mut cursor = clause.walk();
    for spec in clause.named_children(&mut cursor) {
        let name = spec.child_by_field_name("name").map(|n| node_text(n, src));
        let alias = spec.child_by_field_name("alias").map(|n| node_text(n, src));
        if let (Some(name), Some("default")) = (name, alias.as_deref()) {
            out.push(ImportBinding {
                qualifier: None,
                name,
                alias,
            });
        }
    }
}

/// `const { a, b: c } = require("m")`.
fn destructured_require(
    node: tree_sitter::Node<'_>,
    src: &[u8],
    rules: &JavaScriptRules,
    out: &mut Vec<ImportBinding>,
) {
    let Some(pattern) = node.child_by_field_name("name") else {
        return;
    };
    let module = node
        .child_by_field_name("value")
        .and_then(|call| call.child_by_field_name("arguments"))
        .and_then(|args| args.named_child(0))
        .map(|s| rules.clean_import_path(&node_text(s, src)));
    let Some(module) = module else { return };
    let mut cursor = pattern.walk();
    for part in pattern.named_children(&mut cursor) {
        let (name, alias) = match part.kind() {
            "shorthand_property_identifier_pattern" => (node_text(part, src), None),
            "pair_pattern" => (
                part.child_by_field_name("key")
                    .map(|k| rules.clean_import_path(&node_text(k, src)))
                    .unwrap_or_default(),
                part.child_by_field_name("value")
                    .filter(|v| v.kind() == "identifier")
                    .map(|v| node_text(v, src)),
            ),
            _ => continue,
        };
        out.push(ImportBinding {
            qualifier: Some(module.clone()),
            name,
            alias,
        });
    }
}

/// `{ a, b as c }` in an import or re-export.
fn specifiers(
    list: tree_sitter::Node<'_>,
    kind: &str,
    source: &str,
    src: &[u8],
    rules: &JavaScriptRules,
    out: &mut Vec<ImportBinding>,
) {
    let mut cursor = list.walk();
    for spec in list.named_children(&mut cursor) {
        if spec.kind() != kind {
            continue;
        }
        let Some(name) = spec.child_by_field_name("name") else {
            continue;
        };
        out.push(ImportBinding {
            qualifier: Some(source.to_string()),
            name: rules.clean_import_path(&node_text(name, src)),
            alias: spec
                .child_by_field_name("alias")
                .map(|a| rules.clean_import_path(&node_text(a, src))),
        });
    }
}

/// The `in`, `out` and `const` modifiers of type parameters on or just below the rows
/// where parsing failed.
fn type_parameter_modifiers(src: &[u8], error_rows: &[usize]) -> Vec<std::ops::Range<usize>> {
    use std::sync::OnceLock;

    use regex::bytes::Regex;

    if error_rows.is_empty() {
        return Vec::new();
    }
    static MODIFIERS: OnceLock<Regex> = OnceLock::new();
    let re = MODIFIERS.get_or_init(|| {
        Regex::new(r"[<,]\s*(?P<m>(?:(?:in|out|const)[ \t]+)+)[A-Za-z_$][\w$]*")
            .expect("valid regex")
    });
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(memchr::memchr_iter(b'\n', src).map(|i| i + 1))
        .collect();
    // A list split over lines fails where it opens: up to two rows above.
    let near_error = |offset: usize| {
        let row = line_starts.partition_point(|&s| s <= offset) - 1;
        let from = error_rows.partition_point(|&r| r + 2 < row);
        error_rows.get(from).is_some_and(|&r| r <= row)
    };
    // What follows the parameter's name: the list goes on or ends, or a bound or
    // default follows (not consumed by the regex, so `, out R` after `in out A,`
    // still matches).
    let parameter_ends = |at: usize| {
        let rest = src[at..].trim_ascii_start();
        matches!(rest.first(), Some(b',' | b'>' | b'='))
            || rest.strip_prefix(b"extends").is_some_and(|r| {
                r.first()
                    .is_none_or(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'_' | b'$')))
            })
    };
    re.captures_iter(src)
        .filter(|caps| parameter_ends(caps.get(0).expect("whole match").end()))
        .filter_map(|caps| caps.name("m"))
        .filter(|m| near_error(m.start()))
        .map(|m| m.range())
        .collect()
}

/// The last indentation byte of lines that start with `<` (a generic call or construct
/// signature) a few rows below where parsing failed, when the code line before ends a
/// member (`>`, `)`, a name), not an expression that goes on (`=`, `=>`, `(`, `,`).
fn generic_members_on_new_lines(src: &[u8], error_rows: &[usize]) -> Vec<usize> {
    // Doc comments may stand between the member the error starts at and this one.
    const WINDOW: usize = 16;
    if error_rows.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut last_code_end: Option<u8> = None;
    let mut in_comment = false;
    for (row, line) in src.split(|&b| b == b'\n').enumerate() {
        let start = line.as_ptr() as usize - src.as_ptr() as usize;
        let indent = line
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t'))
            .count();
        let from = error_rows.partition_point(|&r| r + WINDOW < row);
        let text = line.trim_ascii();
        if indent > 0
            && line.get(indent) == Some(&b'<')
            && line
                .get(indent + 1)
                .is_some_and(|b| b.is_ascii_alphabetic() || matches!(b, b'_' | b'$'))
            && error_rows.get(from).is_some_and(|&r| r < row)
            && last_code_end.is_some_and(|b| b == b'>' || b == b')' || b.is_ascii_alphanumeric())
        {
            out.push(start + indent - 1);
        }
        // Comments (line and block) are skipped when looking back for the code line.
        if in_comment || text.starts_with(b"/*") {
            in_comment = !text.ends_with(b"*/");
        } else if !text.is_empty() && !text.starts_with(b"//") {
            last_code_end = text.last().copied();
        }
    }
    out
}

/// Escapes (`\\``, `\\$`) on rows that failed and hold a backtick: the grammar reads
/// them in template literals but not in template literal *types* (`type M =
/// \`no \\`Self\\` here\``), where one turns the rest of the file into errors. Only the
/// literal's text changes.
fn template_escapes(src: &[u8], error_rows: &[usize]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    if error_rows.is_empty() {
        return out;
    }
    for (row, line) in src.split(|&b| b == b'\n').enumerate() {
        if error_rows.binary_search(&row).is_err() || !line.contains(&b'`') {
            continue;
        }
        let start = line.as_ptr() as usize - src.as_ptr() as usize;
        let mut i = 0;
        while i + 1 < line.len() {
            if line[i] == b'\\' {
                out.push(start + i..start + i + 2);
                i += 2;
            } else {
                i += 1;
            }
        }
    }
    out
}

/// The braced type at the start of a JSDoc tag's text (`{Map<string, Chunk>} rest`),
/// braces balanced, and what follows it.
fn jsdoc_type(text: &str) -> Option<(&str, &str)> {
    let body = text.strip_prefix('{')?;
    let mut depth = 1usize;
    for (i, c) in body.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some((&body[..i], &body[i + 1..]));
                }
            }
            _ => {}
        }
    }
    None
}

/// The one named type a JSDoc type expression stands for: `Compilation`,
/// `?Compilation`, `Compilation=`, `Compilation | undefined`; `None` for unions of
/// several types, arrays, functions, records and inline imports.
fn one_named_type(written: &str) -> Option<String> {
    let mut named = written
        .split('|')
        .map(|part| {
            part.trim()
                .trim_start_matches(['?', '!'])
                .trim_end_matches('=')
        })
        .filter(|part| !matches!(*part, "undefined" | "null" | "void"));
    let ty = named.next()?;
    if named.next().is_some() || ty.ends_with("[]") || ty.contains(['(', '{', ':', '"', '\'']) {
        return None;
    }
    let name = ty.split('<').next().unwrap_or("").trim();
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '$' || c == '.');
    valid.then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn jsdoc_types_and_typedef_imports() {
        let rules = JavaScriptRules { jsdoc: true };
        let doc = "Emits.\n@param {Compilation} compilation the compilation\n@param {?Chunk=} [chunk=null] maybe\n\
                   @param {string | Chunk[]} names no\n@param {Object} options.x a member\n@returns {Promise<Asset>} later";
        assert_eq!(
            rules.doc_types(doc),
            [
                (Some("compilation".to_string()), "Compilation".to_string()),
                (Some("chunk".to_string()), "Chunk".to_string()),
                (None, "Promise".to_string()),
            ]
        );
        assert!(JavaScriptRules { jsdoc: false }.doc_types(doc).is_empty());
        let comment = "/** @typedef {import(\"./Compilation\")} Compilation */\n\
                       /** @typedef {import('../Chunk').ChunkId<T>} Id */\n/** @typedef {Object} Options */";
        assert_eq!(
            rules.comment_imports(comment),
            [
                ImportBinding {
                    qualifier: None,
                    name: "./Compilation".into(),
                    alias: Some("Compilation".into()),
                },
                ImportBinding {
                    qualifier: Some("../Chunk".into()),
                    name: "ChunkId".into(),
                    alias: Some("Id".into()),
                },
            ]
        );
    }

    use super::{
        ImportBinding, JavaScriptRules, Rules, generic_members_on_new_lines, template_escapes,
        type_parameter_modifiers,
    };

    #[test]
    fn escapes_in_template_rows_below_errors() {
        let src = "type M<U> =\n  `Missing \\`Self\\` ${U}`\nconst s = 'a\\n'\n";
        let ranges = template_escapes(src.as_bytes(), &[1, 2]);
        assert_eq!(ranges.len(), 2, "only the row with a backtick");
        assert!(template_escapes(src.as_bytes(), &[0]).is_empty());
    }

    #[test]
    fn separators_before_generic_signatures_below_errors() {
        let src = "type T = {\n  <A>(x: A): S<A>\n  /** doc */\n  <P>(a: P): S\n}\n";
        let at = generic_members_on_new_lines(src.as_bytes(), &[1]);
        assert_eq!(at, vec![src.find("<P>").unwrap() - 1]);
        // Not without an error above, nor on the error's own row.
        assert!(generic_members_on_new_lines(src.as_bytes(), &[]).is_empty());
        assert!(generic_members_on_new_lines(src.as_bytes(), &[3]).is_empty());
        // Not where the line before goes on: a generic arrow function after `=`.
        let src = "const f: F =\n  <A>(a: A) => a\n";
        assert!(generic_members_on_new_lines(src.as_bytes(), &[0]).is_empty());
    }

    fn blank(src: &str, rows: &[usize]) -> String {
        let mut out = src.as_bytes().to_vec();
        for r in type_parameter_modifiers(src.as_bytes(), rows) {
            out[r].fill(b' ');
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn variance_and_const_modifiers_near_errors() {
        let src = "interface S<in out A, out R = never> {}\nfunction f<const P extends X>() {}\n";
        assert_eq!(
            blank(src, &[0, 1]),
            "interface S<       A,     R = never> {}\nfunction f<      P extends X>() {}\n"
        );
        // Only where the parse failed.
        assert_eq!(
            blank(src, &[1]),
            "interface S<in out A, out R = never> {}\nfunction f<      P extends X>() {}\n"
        );
        assert_eq!(blank(src, &[]), src);
        // Not an expression: `a < b`, `for (const x of y)`.
        let src = "if (a <b) {}\nfor (const x of y) {}\nconst out = 1;\n";
        assert_eq!(blank(src, &[0, 1, 2]), src);
    }
}
