//! CodeGraph search: the text that makes definitions findable, BM25 full text over it,
//! and (as they land) embeddings, vector indexes and hybrid ranking.
//!
//! - [`tokenize`]: the code-aware tokenizer (identifiers split at case, `_` and digit
//!   boundaries, the whole identifier kept too);
//! - [`documents`]: one searchable document per definition, cut from a parsed file;
//! - [`text`] (feature `tantivy`, on by default): [`TantivyText`], a per-project BM25
//!   index implementing [`codegraph_core::TextIndex`];
//! - `http` (feature `http`): `HttpEmbedder`, an OpenAI-compatible embedding API
//!   (OpenAI, Ollama, TEI);
//! - [`flat`]: [`FlatIndex`], exact inner-product search, the reference for recall;
//! - `faiss` (feature `faiss`): `FaissIndex`, any FAISS index-factory index;
//! - [`hnsw`]: [`HnswIndex`], approximate search on a navigable small-world graph;
//! - [`sq8`]: [`Sq8Index`], 8-bit codes in memory with exact re-ranking from disk,
//!   for vectors that do not fit in memory;
//! - [`semantic`]: a project's embeddings kept beside the graph ([`SemanticStore`],
//!   with its embedding cache) and searched ([`SemanticIndex`]);
//! - [`fusion`]: score fusion and reciprocal rank fusion of ranked lists, for hybrid search;
//! - [`embed`] (feature `embed-local`, on by default): [`BertEmbedder`], a local
//!   sentence-transformer (all-MiniLM-L6-v2 and kin) run in-process, on our own BERT
//!   forward pass (`bert`) with 8-bit linear layers (`int8`) where the CPU has VNNI.
//!
//! ```
//! use codegraph_core::{NodeId, VectorIndex};
//! use codegraph_vector::FlatIndex;
//! use codegraph_vector::tokenize::code_tokens;
//!
//! // Identifiers are found by their parts as well as whole.
//! let words: Vec<String> = code_tokens("parseHTTPResponse").into_iter().map(|t| t.text).collect();
//! assert!(words.contains(&"parsehttpresponse".into()) && words.contains(&"http".into()));
//!
//! // Exact inner-product search, the reference the approximate indexes are held to.
//! let mut index = FlatIndex::new(2)?;
//! index.upsert(&[NodeId(1), NodeId(2)], &[1.0, 0.0, 0.0, 1.0])?;
//! assert_eq!(index.search(&[0.9, 0.1], 1)?[0].id, NodeId(1));
//! # Ok::<(), codegraph_core::Error>(())
//! ```

#![warn(missing_docs)]

#[cfg(feature = "embed-local")]
mod bert;
#[cfg(feature = "tantivy")]
mod commit_sync;
pub mod documents;
#[cfg(feature = "embed-local")]
pub mod embed;
#[cfg(feature = "faiss")]
pub mod faiss;
pub mod flat;
pub mod fusion;
pub mod hnsw;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "embed-local")]
mod int8;
pub mod semantic;
#[cfg(feature = "embed-local")]
mod simd;
pub mod sq8;
#[cfg(feature = "tantivy")]
pub mod text;
pub mod tokenize;

pub use documents::{DocumentOptions, embedding_text, text_documents};
#[cfg(feature = "embed-local")]
pub use embed::{BertEmbedder, EmbedderOptions, Pooling, Precision};
#[cfg(feature = "faiss")]
pub use faiss::FaissIndex;
pub use flat::{FlatIndex, MappedFlat};
pub use hnsw::{HnswIndex, HnswParams};
#[cfg(feature = "http")]
pub use http::{HttpEmbedder, HttpEmbedderConfig};
pub use semantic::{EmbedReport, EmbeddingInputs, SearchStrategy, SemanticIndex, SemanticStore};
pub use sq8::Sq8Index;
#[cfg(feature = "tantivy")]
pub use text::TantivyText;

/// A project's directory name: its name where that is a safe file name, otherwise a
/// hash of it (the name can be anything a user typed).
pub(crate) fn project_dir(project: &str) -> String {
    let safe = !project.is_empty()
        && project.len() <= 64
        && project
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !project.starts_with('.');
    if safe {
        format!("p-{project}")
    } else {
        format!("h-{:016x}", xxhash_rust::xxh3::xxh3_64(project.as_bytes()))
    }
}
