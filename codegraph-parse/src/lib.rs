//! Tree-sitter extraction of definitions and references for CodeGraph.
//!
//! This crate turns source files into [`ParsedFile`]s: the definitions they contain
//! (with kinds, qualified names, spans, signatures, doc comments and visibility) and
//! the references they make (calls, imports, inheritance and implementation), for
//! Rust, Python, JavaScript, TypeScript (and TSX), Go, Java and C++.
//!
//! - [`Extractor`] implements [`codegraph_core::ParserRegistry`] for one file at a time.
//! - [`source`] reads files from a directory, a git revision, an archive or a stream,
//!   all through one [`source::Source`] trait.
//! - [`filter`] decides which files are worth parsing (vendored, generated, minified,
//!   oversized and binary files are skipped and reported).
//! - [`pipeline`] runs the two in parallel with bounded memory.
//!
//! What counts as a definition or a reference is written in tree-sitter query files
//! under `queries/<language>/`; see `queries/README.md` for their conventions.
//!
//! ```
//! use codegraph_core::{Language, NodeKind, ParserRegistry};
//! use codegraph_parse::Extractor;
//!
//! let source = b"class Greeter:\n    def greet(self):\n        print('hi')\n";
//! let parsed = Extractor::default().parse(Language::Python, "app/greeter.py", source)?;
//! let names: Vec<_> = parsed.definitions().map(|n| (n.kind, n.qualified_name.as_str())).collect();
//! assert_eq!(names, [(NodeKind::Class, "app.greeter.Greeter"),
//!                    (NodeKind::Method, "app.greeter.Greeter.greet")]);
//! assert!(parsed.references.iter().any(|r| r.name == "print"));
//! # Ok::<(), codegraph_core::Error>(())
//! ```

#![warn(missing_docs)]

pub mod extract;
pub mod filter;
mod lang;
pub mod language;
pub mod manifest;
pub mod pipeline;
mod queries;
pub mod source;
mod text;

use codegraph_core::{Error, Language, ParsedFile, ParserRegistry, Result};

pub use extract::{ExtractError, ExtractOptions};
pub use pipeline::{FileOutcome, KnownFile, KnownFiles, Pipeline, PipelineStats, warm_up};
pub use source::{RACY_WINDOW, stamp_of, trusted_stamp};

/// The tree-sitter [`ParserRegistry`] for every supported language.
#[derive(Clone, Debug, Default)]
pub struct Extractor {
    options: ExtractOptions,
}

impl Extractor {
    /// An extractor applying `options` (limits, and whether to extract references and
    /// docs) to every file it parses.
    pub fn new(options: ExtractOptions) -> Extractor {
        Extractor { options }
    }

    /// The options every parse uses.
    pub fn options(&self) -> &ExtractOptions {
        &self.options
    }
}

impl ParserRegistry for Extractor {
    fn languages(&self) -> &[Language] {
        Language::ALL
    }

    fn detect(&self, path: &str, first_line: &[u8]) -> Option<Language> {
        language::detect(path, first_line)
    }

    fn parse(&self, language: Language, path: &str, source: &[u8]) -> Result<ParsedFile> {
        extract::extract(language, path, source, &self.options).map_err(|e| Error::Backend {
            backend: "tree-sitter",
            message: format!("{path}: {e}"),
            source: Some(Box::new(e)),
        })
    }
}

/// Prints a file's syntax tree with field names, for writing and debugging queries.
pub fn syntax_tree(language: Language, source: &[u8]) -> std::result::Result<String, ExtractError> {
    let tree = extract::parse_tree(language, source, ExtractOptions::default().parse_timeout)?;
    let mut out = String::new();
    let mut cursor = tree.walk();
    let mut depth = 0usize;
    loop {
        let node = cursor.node();
        if node.is_named() || node.is_missing() {
            let field = cursor
                .field_name()
                .map(|f| format!("{f}: "))
                .unwrap_or_default();
            let pos = node.start_position();
            out.push_str(&format!(
                "{:indent$}{field}{}{} [{}:{}]",
                "",
                if node.is_missing() { "MISSING " } else { "" },
                node.kind(),
                pos.row + 1,
                pos.column + 1,
                indent = depth * 2
            ));
            if node.named_child_count() == 0 {
                let text = String::from_utf8_lossy(&source[node.byte_range()]);
                let text: String = text.chars().take(60).collect();
                out.push_str(&format!(" {text:?}"));
            }
            out.push('\n');
        }
        if cursor.goto_first_child() {
            depth += 1;
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return Ok(out);
            }
            depth -= 1;
        }
    }
}
