//! Java: modifiers, Javadoc, `import` and `import static`.

use codegraph_core::{NodeKind, Visibility};

use super::ImportBinding;
use super::{CommentStyle, Rules, VisibilityInput, node_text};
use crate::text::collapse_whitespace;

pub struct JavaRules;

const COMMENTS: CommentStyle = CommentStyle {
    attribute_marker: None,
    wrapper_kinds: &[],
    is_doc: |text| text.starts_with("/**"),
};

impl Rules for JavaRules {
    fn visibility(&self, input: &VisibilityInput<'_, '_>) -> Visibility {
        let mut cursor = input.node.walk();
        let modifiers = input
            .node
            .children(&mut cursor)
            .find(|c| c.kind() == "modifiers")
            .map(|m| node_text(m, input.src))
            .unwrap_or_default();
        let has = |word: &str| modifiers.split_whitespace().any(|w| w == word);
        if has("public") {
            Visibility::Public
        } else if has("protected") {
            Visibility::Protected
        } else if has("private") {
            Visibility::Private
        } else if input.kind == NodeKind::EnumMember
            || matches!(input.parent_kind, Some(NodeKind::Interface))
        {
            // Interface members and enum constants are implicitly public.
            Visibility::Public
        } else {
            Visibility::Internal
        }
    }

    fn comment_style(&self) -> Option<&'static CommentStyle> {
        Some(&COMMENTS)
    }

    fn expand_import(&self, node: tree_sitter::Node<'_>, src: &[u8], out: &mut Vec<ImportBinding>) {
        let mut cursor = node.walk();
        let mut path = None;
        let mut wildcard = false;
        for child in node.children(&mut cursor) {
            match child.kind() {
                "scoped_identifier" | "identifier" => {
                    path = Some(collapse_whitespace(&node_text(child, src)).replace(' ', ""))
                }
                "asterisk" => wildcard = true,
                _ => {}
            }
        }
        let Some(path) = path else { return };
        if wildcard {
            out.push(ImportBinding {
                qualifier: Some(path),
                name: "*".to_string(),
                alias: None,
            });
        } else {
            let (qualifier, name) = match path.rsplit_once('.') {
                Some((q, n)) => (Some(q.to_string()), n.to_string()),
                None => (None, path),
            };
            out.push(ImportBinding {
                qualifier,
                name,
                alias: None,
            });
        }
    }
}
