//! Go: exported names by case, `//` doc comments directly above.

use codegraph_core::Visibility;

use super::{
    CommentSpan, CommentStyle, ImportBinding, Rules, VisibilityInput, node_text, preceding_comments,
};

pub struct GoRules;

const COMMENTS: CommentStyle = CommentStyle {
    attribute_marker: None,
    wrapper_kinds: &[
        "type_spec",
        "type_alias",
        "type_declaration",
        "const_spec",
        "const_declaration",
        "var_spec",
        "var_declaration",
    ],
    is_doc: |_| true,
};

impl Rules for GoRules {
    /// The package name an import path binds, by the conventions that decide it almost
    /// always: the last element, skipping a major-version element (`.../v10`), without a
    /// `.vN` suffix (`gopkg.in/yaml.v3`) or a `go-` prefix (`go-isatty`).
    fn bound_name(&self, binding: &ImportBinding) -> Option<String> {
        package_name(&binding.name)
    }

    fn visibility(&self, input: &VisibilityInput<'_, '_>) -> Visibility {
        if input.name.chars().next().is_some_and(char::is_uppercase) {
            Visibility::Public
        } else {
            Visibility::Internal
        }
    }

    /// A slice's, array's, map's or channel's element is what it holds (`[]*T`, `[4]T`,
    /// `map[K]T`, `chan T`): a `range` loop's value and an index reach it.
    fn see_through(&self, written: &str) -> (Option<String>, Option<String>) {
        let t = written.trim();
        match element_type(t) {
            Some(element) => (None, Some(element.to_string())),
            None => (Some(t.to_string()), None),
        }
    }

    /// `v.(*T).f()`: the asserted type is the receiver's.
    fn receiver_cast(&self, receiver: tree_sitter::Node<'_>, src: &[u8]) -> Option<String> {
        if receiver.kind() != "type_assertion_expression" {
            return None;
        }
        let ty = receiver.child_by_field_name("type")?;
        Some(node_text(ty, src))
    }

    fn comment_style(&self) -> Option<&'static CommentStyle> {
        Some(&COMMENTS)
    }

    fn file_doc(
        &self,
        root: tree_sitter::Node<'_>,
        src: &[u8],
        comments: &[CommentSpan],
    ) -> Option<String> {
        let mut cursor = root.walk();
        let package = root
            .children(&mut cursor)
            .find(|c| c.kind() == "package_clause")?;
        preceding_comments(package, src, comments, &COMMENTS)
    }
}

/// The element type of a slice, array, map (its values) or channel type as written.
fn element_type(t: &str) -> Option<&str> {
    if let Some(rest) = t.strip_prefix("map[") {
        let mut depth = 1;
        for (i, c) in rest.char_indices() {
            match c {
                '[' => depth += 1,
                ']' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(rest[i + 1..].trim());
                    }
                }
                _ => {}
            }
        }
        return None;
    }
    if t.starts_with('[') {
        // `[]T`, `[N]T`, `[...]T`
        let close = t.find(']')?;
        return Some(t[close + 1..].trim());
    }
    ["chan<-", "<-chan", "chan"]
        .iter()
        .find_map(|k| t.strip_prefix(k))
        .filter(|rest| rest.starts_with(char::is_whitespace))
        .map(str::trim)
}

fn package_name(path: &str) -> Option<String> {
    let mut segs = path.rsplit('/');
    let mut last = segs.next()?;
    let is_major_version =
        |s: &str| s.len() > 1 && s.starts_with('v') && s[1..].bytes().all(|b| b.is_ascii_digit());
    if is_major_version(last)
        && let Some(prev) = segs.next()
    {
        last = prev;
    }
    if let Some((base, version)) = last.rsplit_once('.')
        && is_major_version(version)
    {
        last = base;
    }
    // `go-isatty`, `sentry-go`, `go.uuid`: the conventional `go` marker is no part of
    // the package name.
    let last = last
        .strip_prefix("go-")
        .or_else(|| last.strip_prefix("go."))
        .or_else(|| last.strip_suffix("-go"))
        .or_else(|| last.strip_suffix(".go"))
        .unwrap_or(last);
    let is_identifier = !last.is_empty()
        && !last.starts_with(|c: char| c.is_ascii_digit())
        && last.chars().all(|c| c.is_alphanumeric() || c == '_');
    (is_identifier && last != path).then(|| last.to_string())
}

#[cfg(test)]
mod tests {
    use super::{element_type, package_name};

    #[test]
    fn element_types() {
        assert_eq!(element_type("[]*Route"), Some("*Route"));
        assert_eq!(element_type("[4]T"), Some("T"));
        assert_eq!(element_type("map[string][]T"), Some("[]T"));
        assert_eq!(element_type("map[K]V"), Some("V"));
        assert_eq!(element_type("chan T"), Some("T"));
        assert_eq!(element_type("<-chan *T"), Some("*T"));
        assert_eq!(element_type("chanT"), None);
        assert_eq!(element_type("*T"), None);
        assert_eq!(element_type("map[K"), None);
    }

    #[test]
    fn package_names_of_import_paths() {
        let p = |s: &str| package_name(s);
        assert_eq!(p("regexp/syntax").as_deref(), Some("syntax"));
        assert_eq!(p("fmt"), None);
        assert_eq!(p("gopkg.in/yaml.v3").as_deref(), Some("yaml"));
        assert_eq!(
            p("github.com/go-playground/validator/v10").as_deref(),
            Some("validator")
        );
        assert_eq!(p("github.com/mattn/go-isatty").as_deref(), Some("isatty"));
        assert_eq!(p("github.com/google/go-cmp/cmp").as_deref(), Some("cmp"));
        assert_eq!(
            p("github.com/getsentry/sentry-go").as_deref(),
            Some("sentry")
        );
        assert_eq!(p("github.com/minio/minio-go/v7").as_deref(), Some("minio"));
        assert_eq!(p("github.com/satori/go.uuid").as_deref(), Some("uuid"));
        // Not an identifier: no guess; the path stays the name.
        assert_eq!(p("example.com/my-lib"), None);
    }
}
