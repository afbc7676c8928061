//! The parsing seam: turning bytes into a [`ParsedFile`].

use crate::Result;
use crate::model::{Language, ParsedFile};

/// A set of languages and the means to extract definitions and references from them.
///
/// `codegraph-parse` implements this with tree-sitter. Implementations must be
/// shareable across threads: the pipeline calls [`ParserRegistry::parse`] from many
/// workers at once, and an implementation keeps whatever per-thread state it needs
/// (tree-sitter parsers are not `Sync`) internally.
///
/// Invariants every implementation keeps:
/// - `parse` never panics, whatever the bytes: broken code yields whatever could be
///   recovered, invalid UTF-8 included;
/// - the same bytes at the same path give the same [`ParsedFile`], ids included;
/// - `nodes[0]` is the file node and every other node's parent precedes it.
pub trait ParserRegistry: Send + Sync {
    /// The languages this registry can parse.
    fn languages(&self) -> &[Language];

    /// The language of a file, from its path (extension) and, failing that, its first
    /// line (shebang). `None` means "not source code this registry handles".
    fn detect(&self, path: &str, first_line: &[u8]) -> Option<Language>;

    /// Extracts nodes and references from one file. `path` is repository-relative and
    /// `/`-separated; it feeds the ids, so it must be the same on every run.
    fn parse(&self, language: Language, path: &str, source: &[u8]) -> Result<ParsedFile>;
}
