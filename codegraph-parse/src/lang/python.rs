//! Python: modules from paths, `_private` names, docstrings, `import`/`from` forms.

use codegraph_core::Visibility;

use super::ImportBinding;
use super::{CommentSpan, Rules, VisibilityInput, node_text};
use crate::text::{collapse_whitespace, split_top_level};

pub struct PythonRules;

impl Rules for PythonRules {
    fn see_through(&self, written: &str) -> (Option<String>, Option<String>) {
        see_through(written, 0)
    }

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

/// Collections whose iteration and indexing give their one type argument
/// (`list[Text]`, `typing.Sequence[Text]`, `Iterator[Text]`). Mappings are not among
/// them: a loop over a `dict[K, V]` gives its keys and an index its values.
const COLLECTIONS: &[&str] = &[
    "list",
    "List",
    "set",
    "Set",
    "frozenset",
    "FrozenSet",
    "AbstractSet",
    "MutableSet",
    "deque",
    "Deque",
    "Sequence",
    "MutableSequence",
    "Collection",
    "Iterable",
    "Iterator",
    "Reversible",
    "Generator",
    "AsyncIterable",
    "AsyncIterator",
    "AsyncGenerator",
];

/// A Python annotation and what it holds: `list[Text]` and its kin hold `Text`, which
/// a `for` loop or an index reaches; `tuple[Text, ...]` too. Anything else holds
/// nothing (`Optional[T]` is read by the declared-type reader).
fn see_through(written: &str, depth: usize) -> (Option<String>, Option<String>) {
    if written.len() > 300 || depth > 4 {
        return (None, None);
    }
    let t = written.trim();
    let t = t.strip_prefix(':').unwrap_or(t).trim();
    let t = t.strip_prefix("->").unwrap_or(t).trim();
    let unquoted = ['"', '\'']
        .iter()
        .find_map(|q| t.strip_prefix(*q).and_then(|x| x.strip_suffix(*q)));
    if let Some(inner) = unquoted {
        return see_through(inner, depth + 1);
    }
    // `list[Text] | None`
    let parts: Vec<&str> = split_top_level(t, '|')
        .into_iter()
        .map(str::trim)
        .filter(|p| *p != "None")
        .collect();
    if let [one] = parts.as_slice()
        && *one != t
    {
        return see_through(one, depth + 1);
    }
    let Some(open) = t.find('[') else {
        return (Some(t.to_string()), None);
    };
    let Some(args) = t[open + 1..].strip_suffix(']') else {
        return (Some(t.to_string()), None);
    };
    let head = t[..open].trim();
    let last = head.rsplit('.').next().unwrap_or(head);
    let args: Vec<&str> = split_top_level(args, ',')
        .into_iter()
        .map(str::trim)
        .collect();
    let held = match (last, args.as_slice()) {
        ("Optional", [inner]) => return see_through(inner, depth + 1),
        ("tuple" | "Tuple", [element, "..."]) => Some(*element),
        (_, [element, ..]) if COLLECTIONS.contains(&last) => Some(*element),
        _ => None,
    };
    // The collection itself stays the declared type, so that the name is bound.
    (
        Some(t.to_string()),
        held.and_then(|element| see_through(element, depth + 1).0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collections_hold_their_element() {
        let held = |t: &str| see_through(t, 0);
        let holds = |t: &str, h: &str| (Some(t.to_string()), Some(h.to_string()));
        assert_eq!(held("list[Text]"), holds("list[Text]", "Text"));
        assert_eq!(held("t.List['Text']"), holds("t.List['Text']", "Text"));
        assert_eq!(held("list[Text] | None"), holds("list[Text]", "Text"));
        assert_eq!(
            held("Optional[Sequence[rich.Text]]"),
            holds("Sequence[rich.Text]", "rich.Text")
        );
        assert_eq!(held("Iterator[Text]"), holds("Iterator[Text]", "Text"));
        assert_eq!(held("tuple[Text, ...]"), holds("tuple[Text, ...]", "Text"));
        assert_eq!(
            held("tuple[Text, int]"),
            (Some("tuple[Text, int]".to_string()), None)
        );
        assert_eq!(
            held("dict[str, Text]"),
            (Some("dict[str, Text]".to_string()), None)
        );
        assert_eq!(held("Text"), (Some("Text".to_string()), None));
    }

    proptest::proptest! {
        /// Annotations come from the files being indexed: any text is seen through
        /// without a panic.
        #[test]
        fn any_annotation_is_seen_through(t in r"[A-Za-z\[\]'., |]{0,40}") {
            let _ = see_through(&t, 0);
        }
    }

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
