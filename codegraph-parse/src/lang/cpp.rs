//! C++: out-of-line `A::f` names, access specifiers, includes and using-declarations.

use codegraph_core::{NodeKind, Visibility};

use super::{CommentStyle, Rules, VisibilityInput, node_text, preceding_comments};
use crate::extract::ImportBinding;
use crate::text::collapse_whitespace;

pub struct CppRules;

const COMMENTS: CommentStyle = CommentStyle {
    comment_kinds: &["comment"],
    skip_kinds: &[],
    wrapper_kinds: &["template_declaration"],
    is_doc: |_| true,
};

impl Rules for CppRules {
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
        let node = input.node;
        let in_class = node
            .parent()
            .is_some_and(|p| p.kind() == "field_declaration_list");
        if in_class {
            // The nearest access specifier above, or the class key's default.
            let mut sibling = node.prev_sibling();
            while let Some(s) = sibling {
                if s.kind() == "access_specifier" {
                    return match node_text(s, input.src).trim() {
                        "private" => Visibility::Private,
                        "protected" => Visibility::Protected,
                        _ => Visibility::Public,
                    };
                }
                sibling = s.prev_sibling();
            }
            return match input.parent_kind {
                Some(NodeKind::Class) => Visibility::Private,
                _ => Visibility::Public,
            };
        }
        // Internal linkage: `static` free functions and anonymous namespaces.
        let mut cursor = node.walk();
        let is_static = node.children(&mut cursor).any(|c| {
            c.kind() == "storage_class_specifier" && node_text(c, input.src).trim() == "static"
        });
        let mut ancestor = node.parent();
        while let Some(a) = ancestor {
            if a.kind() == "namespace_definition" && a.child_by_field_name("name").is_none() {
                return Visibility::Private;
            }
            ancestor = a.parent();
        }
        if is_static && input.parent_kind.is_none_or(|k| !k.is_type()) {
            Visibility::Private
        } else {
            Visibility::Public
        }
    }

    fn doc(&self, node: tree_sitter::Node<'_>, src: &[u8]) -> Option<String> {
        preceding_comments(node, src, &COMMENTS)
    }

    fn expand_import(
        &self,
        node: tree_sitter::Node<'_>,
        src: &[u8],
        out: &mut Vec<ImportBinding>,
    ) {
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
                        matches!(c.kind(), "nested_namespace_specifier" | "namespace_identifier")
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(r.split_qualified_name("::f"), Some(("".into(), "f".into())));
    }
}
