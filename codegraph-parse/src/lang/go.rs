//! Go: exported names by case, `//` doc comments directly above.

use codegraph_core::Visibility;

use super::{CommentSpan, CommentStyle, Rules, VisibilityInput, preceding_comments};

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
    fn visibility(&self, input: &VisibilityInput<'_, '_>) -> Visibility {
        if input.name.chars().next().is_some_and(char::is_uppercase) {
            Visibility::Public
        } else {
            Visibility::Internal
        }
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
