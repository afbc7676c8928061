//! The embedding seam: text to vectors.

use crate::Result;

/// Turns text into fixed-size vectors whose inner products measure similarity.
///
/// Implementations return real model outputs: never random or hash-derived vectors.
/// Vectors are L2-normalised when the model card says so, so callers can use inner
/// product as cosine similarity.
pub trait Embedder: Send + Sync {
    /// Identifies the model and its settings; part of every embedding cache key, so two
    /// models never share cached vectors.
    fn model_id(&self) -> &str;

    /// The length of every vector.
    fn dimension(&self) -> usize;

    /// Embeds passages to be searched, in order, batching internally.
    fn embed_documents(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>>;

    /// Embeds one query. Models that distinguish queries from passages (with an
    /// instruction prefix, say) apply it here.
    fn embed_query(&self, text: &str) -> Result<Vec<f32>>;
}
