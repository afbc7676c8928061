//! What of a definition is searchable: the text documents and embedding chunks built
//! from a parsed file and its bytes.

use codegraph_core::{Node, ParsedFile, TextDocument};

/// How documents are cut from source.
#[derive(Clone, Debug)]
pub struct DocumentOptions {
    /// Longest body kept, in bytes (cut at a character boundary). Class bodies hold
    /// every method; past a few kilobytes a body adds noise, not recall.
    pub max_body_bytes: usize,
    /// Index doc comments and docstrings. Retrieval evaluations that use docstrings as
    /// queries turn this off, and the docstring is cut out of the body too.
    pub include_docs: bool,
}

impl Default for DocumentOptions {
    fn default() -> Self {
        DocumentOptions {
            max_body_bytes: 4096,
            include_docs: true,
        }
    }
}

/// One document per definition of `file` (the file node and import bindings are not
/// definitions), in source order.
pub fn text_documents(
    file: &ParsedFile,
    bytes: &[u8],
    options: &DocumentOptions,
) -> Vec<TextDocument> {
    file.definitions()
        .map(|node| TextDocument {
            id: node.id,
            path: node.path.clone(),
            language: node.language,
            kind: node.kind,
            name: node.name.clone(),
            qualified_name: node.qualified_name.clone(),
            signature: node.signature.clone(),
            doc: if options.include_docs {
                node.doc.clone()
            } else {
                None
            },
            body: body(node, bytes, options),
        })
        .collect()
}

/// The text a definition is embedded from: its qualified name, signature, doc and
/// body, one per line. The model truncates it to its own token limit, so the name and
/// signature (which say most) always make it in.
pub fn embedding_text(doc: &TextDocument) -> String {
    [
        Some(doc.qualified_name.as_str()),
        doc.signature.as_deref(),
        doc.doc.as_deref(),
        doc.body.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join("\n")
}

fn body(node: &Node, bytes: &[u8], options: &DocumentOptions) -> Option<String> {
    let start = usize::try_from(node.span.start_byte).ok()?;
    let end = usize::try_from(node.span.end_byte).ok()?.min(bytes.len());
    if start >= end {
        return None;
    }
    let text = String::from_utf8_lossy(&bytes[start..end]);
    let mut text = if options.include_docs {
        text.into_owned()
    } else {
        without_docstring(&text)
    };
    if text.len() > options.max_body_bytes {
        let mut cut = options.max_body_bytes;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    Some(text)
}

/// The body with its first string literal in triple quotes removed: a Python
/// docstring. Other languages keep doc comments outside the body's span.
fn without_docstring(body: &str) -> String {
    for quote in ["\"\"\"", "'''"] {
        if let Some(open) = body.find(quote)
            && let Some(len) = body[open + 3..].find(quote)
        {
            let close = open + 3 + len + 3;
            // Only when it opens the body: nothing but the header before it.
            let before = &body[..open];
            if before.lines().count() <= 2 || before.trim_end().ends_with(':') {
                return format!("{}{}", &body[..open], &body[close..]);
            }
        }
    }
    body.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docstrings_leave_the_body_when_docs_are_excluded() {
        let body = "def f(x):\n    \"\"\"Add one.\"\"\"\n    return x + 1\n";
        let cut = without_docstring(body);
        assert!(!cut.contains("Add one"), "{cut}");
        assert!(cut.contains("return x + 1"));
        let no_doc = "def f(x):\n    return \"\"\"x\"\"\"\n";
        assert!(without_docstring(no_doc).contains("return"));
    }
}
