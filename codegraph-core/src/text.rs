//! The full-text seam: keyword search over definitions.

use serde::{Deserialize, Serialize};

use crate::Result;
use crate::id::NodeId;
use crate::model::{Language, NodeKind};

/// The searchable text of one definition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextDocument {
    pub id: NodeId,
    pub path: String,
    pub language: Language,
    pub kind: NodeKind,
    pub name: String,
    pub qualified_name: String,
    pub signature: Option<String>,
    pub doc: Option<String>,
    pub body: Option<String>,
}

/// A keyword query with optional filters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextQuery {
    pub text: String,
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
    pub id: NodeId,
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
}
