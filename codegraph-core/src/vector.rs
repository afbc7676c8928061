//! The vector-index seam: nearest neighbours by node id.

use std::path::Path;

use crate::Result;
use crate::id::NodeId;
use crate::text::ScoredNode;

/// A nearest-neighbour index over vectors keyed by node id, scored by inner product
/// (cosine similarity for normalised vectors).
///
/// Mutation takes `&mut self`; a server shares an index behind a lock, which keeps
/// each backend free of its own locking scheme.
pub trait VectorIndex: Send + Sync {
    /// A short name for reports, such as `flat` or `faiss:IVF1024,PQ48`.
    fn name(&self) -> String;

    /// The length of every vector in the index.
    fn dimension(&self) -> usize;

    /// The number of vectors held.
    fn len(&self) -> usize;

    /// Whether the index holds no vector.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds vectors, replacing any held under the same ids. `vectors` is row-major,
    /// `ids.len() * dimension()` long.
    fn upsert(&mut self, ids: &[NodeId], vectors: &[f32]) -> Result<()>;

    /// Removes vectors by id and returns how many were held.
    fn remove(&mut self, ids: &[NodeId]) -> Result<usize>;

    /// The `k` nearest vectors to `query`, most similar first.
    fn search(&self, query: &[f32], k: usize) -> Result<Vec<ScoredNode>>;

    /// Persists the index under `dir`, replacing what was there.
    fn save(&self, dir: &Path) -> Result<()>;
}
