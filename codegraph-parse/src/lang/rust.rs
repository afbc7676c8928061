//! Rust: modules from paths under `src/`, `pub` visibility, `///` docs, `use` trees.

use codegraph_core::{NodeKind, Visibility};

use super::{CommentSpan, CommentStyle, Rules, VisibilityInput, clean_comment, node_text};
use super::{Expansion, ImportBinding};
use crate::text::{collapse_whitespace, split_top_level};

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
    fn see_through(&self, written: &str) -> (Option<String>, Option<String>) {
        see_through(written)
    }

    fn tuple_position(&self, node: tree_sitter::Node<'_>) -> Option<usize> {
        let (child, parent) = pattern_parent(node)?;
        let mut cursor = parent.walk();
        match parent.kind() {
            "ordered_field_declaration_list" => parent
                .children_by_field_name("type", &mut cursor)
                .position(|t| t.id() == child.id()),
            "tuple_struct_pattern" => {
                let ty = parent.child_by_field_name("type")?;
                let mut k = 0;
                // `_` is an anonymous token, and a position all the same.
                for c in parent.children(&mut cursor) {
                    if c.id() == ty.id()
                        || matches!(c.kind(), "(" | ")" | ",")
                        || c.kind().ends_with("comment")
                    {
                        continue;
                    }
                    if c.id() == child.id() {
                        return Some(k);
                    }
                    // After `..` positions count from the end.
                    if c.kind() == "remaining_field_pattern" {
                        return None;
                    }
                    k += 1;
                }
                None
            }
            _ => None,
        }
    }

    fn closure_position(&self, node: tree_sitter::Node<'_>, src: &[u8]) -> Option<(usize, usize)> {
        match node.parent()?.kind() {
            "parameters" => closure_slot(node, src),
            _ => closure_argument(node),
        }
    }

    /// In a tuple pattern (`for (k, v) in &map`), only the second of a pair is bound.
    fn binds_in_pattern(&self, name: tree_sitter::Node<'_>) -> bool {
        match pattern_parent(name) {
            Some((child, parent)) if parent.kind() == "tuple_pattern" => {
                is_second_of_pair(child, parent)
            }
            _ => true,
        }
    }

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
                    // A glob compiled only into tests (`#[cfg(all(test, loom))] use
                    // self::mocked::*;` beside `use self::std::*;` in tokio) would make
                    // a test double's every name a candidate for all code.
                    if argument.kind() == "use_wildcard" && test_only(node, src) {
                        return;
                    }
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

    /// Macro arguments are expressions far more often than not (`assert!(f(x))`,
    /// `format!("{}", y.g())`, `tri!(h())`), and item macros often just wrap items
    /// (`cfg_rt! { pub fn spawn() {} }`); tree-sitter keeps both as opaque token trees,
    /// hiding their calls and definitions. Reading `m!(..)` as the call `m (..)` keeps
    /// the macro's own reference and exposes its arguments; an item macro's braces are
    /// moved aside so its items stand in the module. Macros whose input is a language
    /// of its own fail to parse and are left alone by the engine.
    fn expansions(&self, root: tree_sitter::Node<'_>, src: &[u8]) -> Vec<Expansion> {
        let mut out = Vec::new();
        let mut stack = vec![root];
        while let Some(node) = stack.pop() {
            match node.kind() {
                // Metavariables (`$x`) are not code until the macro is used.
                "macro_definition" => continue,
                "macro_invocation" => {
                    out.extend(macro_expansion(node, src));
                    continue;
                }
                _ => {}
            }
            let mut cursor = node.walk();
            stack.extend(node.children(&mut cursor));
        }
        out
    }
}

/// Whether an item's attributes compile it only into tests: `#[cfg(test)]`,
/// `#[cfg(all(test, ..))]`.
fn test_only(item: tree_sitter::Node<'_>, src: &[u8]) -> bool {
    let mut prev = item.prev_named_sibling();
    while let Some(p) = prev {
        match p.kind() {
            "attribute_item" => {
                let text: String = node_text(p, src).split_whitespace().collect();
                if ["#[cfg(test)]", "#[cfg(all(test,", "#[cfg(all(test)"]
                    .iter()
                    .any(|p| text.starts_with(p))
                {
                    return true;
                }
            }
            "line_comment" | "block_comment" => {}
            _ => return false,
        }
        prev = p.prev_named_sibling();
    }
    false
}

/// Smart pointers whose methods calls reach through `Deref`: a value of one has its
/// content's methods.
const DEREF_WRAPPERS: &[&str] = &["Box", "Arc", "Rc", "Pin", "ManuallyDrop", "Cow"];

/// Types that hold values a pattern (`Some(x)`, `Ok(x)`), a `?`, an `.unwrap()` or a
/// `for` loop reaches: the first type argument, or the last of maps.
const HOLDERS: &[&str] = &[
    "Option",
    "Result",
    "Vec",
    "VecDeque",
    "LinkedList",
    "BinaryHeap",
    "HashSet",
    "BTreeSet",
    "IndexSet",
    "SmallVec",
];
const MAPS: &[&str] = &["HashMap", "BTreeMap", "IndexMap"];

/// Iterator traits, whose `Item` a loop or an adaptor's closure reaches: `fn args(&self)
/// -> impl Iterator<Item = &Arg>`.
const ITERATORS: &[&str] = &[
    "Iterator",
    "DoubleEndedIterator",
    "ExactSizeIterator",
    "FusedIterator",
    "IntoIterator",
];

/// [`Rules::see_through`] for Rust: references, smart pointers and type arguments
/// of the holders above. `&'a [T]`, `[T; N]` and `Box<[T]>` hold a `T`.
fn see_through(written: &str) -> (Option<String>, Option<String>) {
    see_through_at(written, 0)
}

/// [`see_through`] at a nesting depth: written types come from the files being
/// indexed, and one nested thousands deep must cost neither the stack nor time.
fn see_through_at(written: &str, depth: usize) -> (Option<String>, Option<String>) {
    if written.len() > 300 || depth > 4 {
        return (None, None);
    }
    let mut t = written.trim();
    for _ in 0..6 {
        t = t.trim_start_matches(':').trim();
        t = t.strip_prefix("->").unwrap_or(t).trim();
        // `&'a mut T`, `&T`, `*const T`
        loop {
            let before = t.len();
            t = t.trim_start_matches('&').trim_start();
            if t.starts_with('\'') {
                t = t.split_once(' ').map_or("", |(_, rest)| rest).trim_start();
            }
            for prefix in ["mut ", "dyn ", "impl ", "*const ", "*mut "] {
                t = t.strip_prefix(prefix).unwrap_or(t).trim_start();
            }
            if t.len() == before {
                break;
            }
        }
        if let Some(inner) = t.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
            let element = inner.split(';').next().unwrap_or(inner).trim();
            return (
                None,
                Some(see_through_at(element, depth + 1).0.unwrap_or_default()),
            );
        }
        // `impl Iterator<Item = T> + Send + '_`: the bounds after the first say nothing
        // of its members.
        t = split_top_level(t, '+').first().map_or(t, |b| b.trim());
        let Some(open) = t.find('<') else {
            return (Some(t.to_string()), None);
        };
        let Some(args) = t[open + 1..].strip_suffix('>') else {
            return (Some(t.to_string()), None);
        };
        let head = t[..open].trim().trim_end_matches("::");
        let last = head.rsplit("::").next().unwrap_or(head);
        let args: Vec<&str> = split_top_level(args, ',')
            .into_iter()
            .map(str::trim)
            .filter(|a| !a.starts_with('\'') && !a.is_empty())
            .collect();
        if DEREF_WRAPPERS.contains(&last) {
            // The pointee is the first type argument (`Box<T, A>` has an allocator
            // after it); lifetimes are already out (`Cow<'a, B>`).
            let Some(inner) = args.first() else {
                return (None, None);
            };
            t = inner;
            continue;
        }
        if ITERATORS.contains(&last) {
            let item = args.iter().find_map(|a| {
                let (key, value) = a.split_once('=')?;
                (key.trim() == "Item").then_some(value.trim())
            });
            let held = item.map(|h| {
                see_through_at(h, depth + 1)
                    .0
                    .unwrap_or_else(|| h.to_string())
            });
            return (Some(t.to_string()), held);
        }
        let Some(held) = super::held_argument(last, &args, HOLDERS, MAPS) else {
            return (Some(t.to_string()), None);
        };
        // What is held is seen through smart pointers too (`Option<Box<Node>>`). The
        // holder itself stays: a project may define its own (hashbrown's `HashMap`).
        let held = held.map(|h| {
            see_through_at(h, depth + 1)
                .0
                .unwrap_or_else(|| h.to_string())
        });
        return (Some(t.to_string()), held);
    }
    (None, None)
}

/// The rewrite that reads one macro invocation as code, if its shape allows one.
fn macro_expansion(node: tree_sitter::Node<'_>, src: &[u8]) -> Option<Expansion> {
    let path = node.child_by_field_name("macro")?;
    let mut cursor = node.walk();
    let children: Vec<_> = node.children(&mut cursor).collect();
    let bang = children.iter().find(|c| c.kind() == "!")?;
    let tree = children.iter().rev().find(|c| c.kind() == "token_tree")?;
    let (open, close) = (tree.start_byte(), tree.end_byte().checked_sub(1)?);
    if src.get(open..=close).is_none() || path.end_byte() > bang.start_byte() {
        return None;
    }
    let at_item_level = {
        let mut parent = node.parent();
        if parent.is_some_and(|p| p.kind() == "expression_statement") {
            parent = parent.and_then(|p| p.parent());
        }
        parent.is_some_and(|p| matches!(p.kind(), "source_file" | "declaration_list"))
    };
    let mut edits = Vec::new();
    match src[open] {
        // An item macro with arguments in parentheses is most often a generator with
        // its own little language (`impl_op!(Add, add)`), and a call is not an item.
        b'(' | b'[' if at_item_level => return None,
        b'(' => edits.push((bang.start_byte(), b' ')),
        b'[' => edits.extend([(bang.start_byte(), b' '), (open, b'('), (close, b')')]),
        b'{' if at_item_level => {
            // `m! {` becomes `m!{}` followed by the items, when there is a blank to
            // borrow; otherwise the invocation gives way to its items entirely.
            let gap = bang.end_byte()..open;
            if !gap.is_empty() && src[gap.clone()].iter().all(|b| matches!(b, b' ' | b'\t')) {
                edits.extend([(gap.start, b'{'), (open, b'}')]);
            } else {
                edits.extend((node.start_byte()..=open).map(|at| (at, b' ')));
            }
            edits.push((close, b' '));
            // A bare `#name` between items is the macro's own marker (syn's
            // `ast_struct! { pub struct ItemConst #full { .. } }`), not Rust: blanked,
            // so the item around it parses. `#[attr]` stays.
            let mut cursor = tree.walk();
            let tokens: Vec<_> = tree.children(&mut cursor).collect();
            for pair in tokens.windows(2) {
                if pair[0].kind() == "#" && pair[1].kind() == "identifier" {
                    edits.extend((pair[0].start_byte()..pair[1].end_byte()).map(|at| (at, b' ')));
                }
            }
        }
        _ => return None,
    }
    nested_macro_calls(*tree, src, &mut edits);
    Some(Expansion {
        edits,
        check: node.start_byte()..node.end_byte(),
    })
}

/// Token trees nested deeper than this are left as they are: the walk below recurses
/// once per level, and a crafted file nesting thousands deep must not exhaust the
/// stack (tree-sitter itself parses such nesting without recursion).
const MAX_TOKEN_TREE_DEPTH: usize = 64;

/// Macro invocations inside a token tree are plain tokens (`name`, `!`, a group):
/// rewrites each one with parentheses or brackets as a call, as [`macro_expansion`]
/// does, so that one reparse exposes nested arguments too.
fn nested_macro_calls(tree: tree_sitter::Node<'_>, src: &[u8], edits: &mut Vec<(usize, u8)>) {
    nested_macro_calls_within(tree, src, edits, 0);
}

fn nested_macro_calls_within(
    tree: tree_sitter::Node<'_>,
    src: &[u8],
    edits: &mut Vec<(usize, u8)>,
    depth: usize,
) {
    if depth >= MAX_TOKEN_TREE_DEPTH {
        return;
    }
    let mut cursor = tree.walk();
    let tokens: Vec<_> = tree.children(&mut cursor).collect();
    for (i, token) in tokens.iter().enumerate() {
        if token.kind() != "token_tree" {
            continue;
        }
        nested_macro_calls_within(*token, src, edits, depth + 1);
        let invoked = i >= 2 && tokens[i - 1].kind() == "!" && tokens[i - 2].kind() == "identifier";
        if !invoked {
            continue;
        }
        let (open, close) = (token.start_byte(), token.end_byte() - 1);
        match src.get(open) {
            Some(b'(') => edits.push((tokens[i - 1].start_byte(), b' ')),
            Some(b'[') => edits.extend([
                (tokens[i - 1].start_byte(), b' '),
                (open, b'('),
                (close, b')'),
            ]),
            _ => {}
        }
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
    expand_use_within(node, prefix, src, out, 0);
}

/// [`expand_use`] at a nesting depth: a crafted `use a::{a::{a::{..}}}` thousands deep
/// stops at [`MAX_TOKEN_TREE_DEPTH`] rather than exhausting the stack.
fn expand_use_within(
    node: tree_sitter::Node<'_>,
    prefix: &str,
    src: &[u8],
    out: &mut Vec<ImportBinding>,
    depth: usize,
) {
    if depth >= MAX_TOKEN_TREE_DEPTH {
        return;
    }
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
                expand_use_within(path, prefix, src, out, depth + 1);
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
                expand_use_within(list, &inner, src, out, depth + 1);
            }
        }
        "use_list" => {
            let mut cursor = node.walk();
            for child in node.named_children(&mut cursor) {
                expand_use_within(child, prefix, src, out, depth + 1);
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

/// The position of `child` among `parent`'s named children, comments and attributes
/// not counted; `None` past the first 64, where a list this long (crafted, or
/// generated) would cost a walk of its siblings per element.
fn named_position(parent: tree_sitter::Node<'_>, child: tree_sitter::Node<'_>) -> Option<usize> {
    if parent.named_child_count() > 64 {
        return None;
    }
    let mut cursor = parent.walk();
    parent
        .named_children(&mut cursor)
        .filter(|c| !c.kind().ends_with("comment") && c.kind() != "attribute_item")
        .position(|c| c.id() == child.id())
}

/// A name a pattern binds, seen through `ref`, `mut` and `&`: the outermost of those
/// around it, and what holds that.
fn pattern_parent(
    node: tree_sitter::Node<'_>,
) -> Option<(tree_sitter::Node<'_>, tree_sitter::Node<'_>)> {
    let mut child = node;
    let mut parent = node.parent()?;
    while matches!(
        parent.kind(),
        "ref_pattern" | "mut_pattern" | "reference_pattern"
    ) {
        child = parent;
        parent = parent.parent()?;
    }
    Some((child, parent))
}

/// Whether `child` is the second element of `tuple`, a pair: `v` in `(k, v)` or `(_,
/// ref v)`, not `k` in `(k, _)` (`_` is no named node, so elements are counted with it).
fn is_second_of_pair(child: tree_sitter::Node<'_>, tuple: tree_sitter::Node<'_>) -> bool {
    let mut cursor = tuple.walk();
    let mut elements = tuple
        .children(&mut cursor)
        .filter(|c| c.is_named() || c.kind() == "_");
    let (Some(_), Some(second), None) = (elements.next(), elements.next(), elements.next()) else {
        return false;
    };
    second.id() == child.id()
}

/// A closure parameter's name (`f(a, |x| ..)`, `|mut x|`, `|&x|`): (the closure's
/// argument position, the parameter's position).
fn closure_argument(node: tree_sitter::Node<'_>) -> Option<(usize, usize)> {
    let (mut child, mut parent) = pattern_parent(node)?;
    // `|(k, v)|`, `|&(_, x)|`: the second of a pair stands where the pair does (it gets
    // what the pair's item holds).
    if parent.kind() == "tuple_pattern" {
        if !is_second_of_pair(child, parent) {
            return None;
        }
        (child, parent) = pattern_parent(parent)?;
    }
    if parent.kind() != "closure_parameters" {
        return None;
    }
    let j = named_position(parent, child)?;
    let closure = parent
        .parent()
        .filter(|c| c.kind() == "closure_expression")?;
    let arguments = closure.parent().filter(|a| a.kind() == "arguments")?;
    arguments
        .parent()
        .filter(|c| c.kind() == "call_expression")?;
    Some((named_position(arguments, closure)?, j))
}

/// A type in a closure type's parameter list (`Fn(&B, C)`), when the closure type is
/// what a function's parameter takes: the parameter's type (`g: impl Fn(C)`, `g: &dyn
/// Fn(C)`, `g: Box<dyn FnMut(C)>`, `g: fn(C)`), or the bound of the type parameter
/// that is the parameter's type (`<F: Fn(C)>`, `where F: Fn(C)`). Closure types
/// elsewhere (fields, return types, an `impl`'s parameters) have no position.
fn closure_slot(node: tree_sitter::Node<'_>, src: &[u8]) -> Option<(usize, usize)> {
    let list = node.parent()?;
    let function_type = list.parent().filter(|f| f.kind() == "function_type")?;
    let j = named_position(list, node)?;
    let mut inner = function_type;
    loop {
        let outer = inner.parent()?;
        match outer.kind() {
            "higher_ranked_trait_bound"
            | "trait_bounds"
            | "abstract_type"
            | "dynamic_type"
            | "reference_type"
            | "bounded_type" => inner = outer,
            // `Box<dyn FnMut(C)>`: the box calls as what it holds.
            "type_arguments" => {
                let generic = outer.parent().filter(|g| g.kind() == "generic_type")?;
                let holder = generic.child_by_field_name("type")?;
                if !matches!(node_text(holder, src).as_ref(), "Box" | "Arc" | "Rc") {
                    return None;
                }
                inner = generic;
            }
            "parameter" => {
                let function = outer.parent()?.parent()?;
                if outer.child_by_field_name("type")?.id() != inner.id() || !is_function(function) {
                    return None;
                }
                return Some((parameter_position(outer)?, j));
            }
            "type_parameter" | "where_predicate" => {
                let named = match outer.kind() {
                    "type_parameter" => outer.child_by_field_name("name")?,
                    _ => outer.child_by_field_name("left")?,
                };
                let function = outer.parent()?.parent()?;
                if !is_function(function) {
                    return None;
                }
                let parameters = function.child_by_field_name("parameters")?;
                let mut cursor = parameters.walk();
                let parameter = parameters
                    .named_children(&mut cursor)
                    .filter(|p| p.kind() == "parameter")
                    .find(|p| {
                        let mut ty = p.child_by_field_name("type");
                        while let Some(t) = ty.filter(|t| t.kind() == "reference_type") {
                            ty = t.child_by_field_name("type");
                        }
                        ty.is_some_and(|t| {
                            t.kind() == "type_identifier"
                                && node_text(t, src) == node_text(named, src)
                        })
                    })?;
                return Some((parameter_position(parameter)?, j));
            }
            _ => return None,
        }
    }
}

fn is_function(node: tree_sitter::Node<'_>) -> bool {
    matches!(node.kind(), "function_item" | "function_signature_item")
}

/// A parameter's position among its function's parameters, `self` not counted.
fn parameter_position(parameter: tree_sitter::Node<'_>) -> Option<usize> {
    let list = parameter.parent()?;
    if list.named_child_count() > 64 {
        return None;
    }
    let mut cursor = list.walk();
    list.named_children(&mut cursor)
        .filter(|p| p.kind() == "parameter")
        .position(|p| p.id() == parameter.id())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `#i.j` slots a file binds and the closure parameters it reads from them,
    /// as (subject, written name).
    fn closure_refs(src: &str) -> Vec<(String, String)> {
        let parsed = crate::extract::extract(
            codegraph_core::Language::Rust,
            "src/lib.rs",
            src.as_bytes(),
            &crate::extract::ExtractOptions::default(),
        )
        .unwrap();
        parsed
            .references
            .into_iter()
            .filter(|r| {
                r.subject.as_deref().is_some_and(|s| s.starts_with('#')) || r.name.contains("(#")
            })
            .map(|r| (r.subject.unwrap_or_default(), r.name))
            .collect()
    }

    #[test]
    fn closure_slots_are_bound_only_for_what_a_function_takes() {
        let slots = closure_refs(
            "fn f<F>(a: u8, g: F, h: &mut dyn FnMut(Out)) where F: Fn(&In, u8) {}\n\
             fn k(b: Box<dyn Fn(Boxed)>, p: fn(Ptr)) {}\n\
             trait T { fn visit<V: for<'a> FnOnce(Visited<'a>)>(&self, v: V); }\n\
             fn ret() -> impl Fn(Returned) { |_| {} }\n\
             struct S { field: Box<dyn Fn(Field)> }\n\
             impl<F: Fn(Imp)> S { fn new(f: F) {} }\n\
             fn opt(o: Option<Box<dyn Fn(Held)>>) {}\n",
        );
        assert_eq!(
            slots,
            [
                ("#2.0".to_string(), "Out".to_string()),
                ("#1.0".to_string(), "In".to_string()),
                ("#1.1".to_string(), "u8".to_string()),
                ("#0.0".to_string(), "Boxed".to_string()),
                ("#1.0".to_string(), "Ptr".to_string()),
                ("#0.0".to_string(), "Visited".to_string()),
            ]
        );
        let params =
            closure_refs("fn g() { x.f(1, |a, mut b, &c| a); h(|(d, e)| d); T::k(|z: Z| z); }\n");
        assert_eq!(
            params,
            [
                ("a!".to_string(), "x.f(#1.0)".to_string()),
                ("b!".to_string(), "x.f(#1.1)".to_string()),
                ("c!".to_string(), "x.f(#1.2)".to_string()),
                // The second of a pair gets what the pair's item holds; the first, and
                // a typed parameter, nothing.
                ("e!".to_string(), "h(#0.0)".to_string()),
            ]
        );
    }

    proptest::proptest! {
        /// Written types come from the files being indexed: any text is seen through
        /// without a panic.
        #[test]
        fn any_written_type_is_seen_through(t in r"[A-Za-z&'<>\[\];:, é]{0,40}") {
            let _ = see_through(&t);
        }
    }

    #[test]
    fn types_seen_through() {
        let s = |t: &str| see_through(t);
        assert_eq!(s("Foo"), (Some("Foo".into()), None));
        assert_eq!(s("&'a mut Foo<T>"), (Some("Foo<T>".into()), None));
        assert_eq!(s("Arc<Mutex<T>>"), (Some("Mutex<T>".into()), None));
        assert_eq!(s("Pin<&mut Sleep>"), (Some("Sleep".into()), None));
        let held = |t: &str, h: &str| (Some(t.to_string()), Some(h.to_string()));
        assert_eq!(s("Option<Box<Node>>"), held("Option<Box<Node>>", "Node"));
        assert_eq!(
            s("io::Result<Vec<u8>>"),
            held("io::Result<Vec<u8>>", "Vec<u8>")
        );
        assert_eq!(
            s("Result<Self, Error>"),
            held("Result<Self, Error>", "Self")
        );
        assert_eq!(s("&[Entry]"), (None, Some("Entry".into())));
        assert_eq!(
            s("impl Iterator<Item = &mut Command> + '_"),
            held("Iterator<Item = &mut Command>", "Command")
        );
        assert_eq!(
            s("Box<dyn DoubleEndedIterator<Item = Arc<Node>>>"),
            held("DoubleEndedIterator<Item = Arc<Node>>", "Node")
        );
        assert_eq!(s("[Slot<T>; 32]"), (None, Some("Slot<T>".into())));
        assert_eq!(s("Box<[Entry]>"), (None, Some("Entry".into())));
        assert_eq!(
            s("HashMap<Id, MatchedArg>"),
            held("HashMap<Id, MatchedArg>", "MatchedArg")
        );
        assert_eq!(s("Cow<'a, Str>"), (Some("Str".into()), None));
        assert_eq!(
            s("Box<dyn Fn(u8) -> u8>"),
            (Some("Fn(u8) -> u8".into()), None)
        );
    }

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
