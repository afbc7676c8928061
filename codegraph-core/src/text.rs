//! The full-text seam: keyword search over definitions.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::Result;
use crate::id::NodeId;
use crate::model::{Language, NodeKind};

/// The searchable text of one definition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextDocument {
    /// The definition's node; documents are added, replaced and removed by it, and a
    /// hit returns it.
    pub id: NodeId,
    /// The file the definition is in, repository-relative; what
    /// [`TextQuery::path_glob`] matches.
    pub path: String,
    /// The definition's language, for [`TextQuery::languages`].
    pub language: Language,
    /// The definition's kind, for [`TextQuery::kinds`].
    pub kind: NodeKind,
    /// The simple name as written; a match here says most about a definition, so
    /// indexes usually weigh it highest.
    pub name: String,
    /// The name with its enclosing module, namespace or types.
    pub qualified_name: String,
    /// The declaration up to its body, if the parser extracted one.
    pub signature: Option<String>,
    /// The doc comment or docstring; `None` when there is none or docs are left out.
    pub doc: Option<String>,
    /// The definition's source text, possibly truncated to keep documents small;
    /// `None` when there is none.
    pub body: Option<String>,
}

/// A keyword query with optional filters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextQuery {
    /// Words to look for, as a user typed them: a bag of words, not a query language,
    /// so any string is a valid query.
    pub text: String,
    /// The most hits to return; 0 returns none.
    pub limit: usize,
    /// Empty means any language.
    pub languages: Vec<Language>,
    /// Empty means any kind.
    pub kinds: Vec<NodeKind>,
    /// A glob over repository-relative paths, such as `src/**/*.rs`.
    pub path_glob: Option<String>,
}

/// A search hit: a node and its score (higher is better; comparable only within one
/// result list).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScoredNode {
    /// The node that matched.
    pub id: NodeId,
    /// How well it matched; its scale depends on the index (BM25, inner product, fused
    /// rank), so only compare scores from the same list.
    pub score: f32,
}

/// A per-project full-text index over definitions.
///
/// Updates become visible to [`TextIndex::search`] after [`TextIndex::commit`].
pub trait TextIndex: Send + Sync {
    /// Adds or replaces documents by id.
    fn upsert(&self, project: &str, documents: &[TextDocument]) -> Result<()>;

    /// Removes documents by id; absent ids are ignored.
    fn remove(&self, project: &str, ids: &[NodeId]) -> Result<()>;

    /// Makes pending changes searchable and durable.
    fn commit(&self, project: &str) -> Result<()>;

    /// The best `query.limit` matches, best first.
    fn search(&self, project: &str, query: &TextQuery) -> Result<Vec<ScoredNode>>;

    /// Replaces everything indexed for one file with `documents`, recording the
    /// content hash they were built from. This is how an indexer keeps the index in
    /// step with the graph, a file at a time. Visible after [`TextIndex::commit`].
    fn replace_file(
        &self,
        project: &str,
        path: &str,
        content_hash: u64,
        documents: &[TextDocument],
    ) -> Result<()>;

    /// Removes everything indexed for one file. Visible after [`TextIndex::commit`].
    fn remove_file(&self, project: &str, path: &str) -> Result<()>;

    /// The content hash each indexed file's documents were built from, as of the last
    /// commit: a file whose hash differs from the graph's is indexed again.
    fn file_hashes(&self, project: &str) -> Result<HashMap<String, u64>>;
}
