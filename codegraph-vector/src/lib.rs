//! CodeGraph search: the text that makes definitions findable, BM25 full text over it,
//! and (as they land) embeddings, vector indexes and hybrid ranking.
//!
//! - [`tokenize`]: the code-aware tokenizer (identifiers split at case, `_` and digit
//!   boundaries, the whole identifier kept too);
//! - [`documents`]: one searchable document per definition, cut from a parsed file;
//! - [`text`] (feature `tantivy`, on by default): [`TantivyText`], a per-project BM25
//!   index implementing [`codegraph_core::TextIndex`];
//! - [`flat`]: [`FlatIndex`], exact inner-product search, the reference for recall;
//! - [`hnsw`]: [`HnswIndex`], approximate search on a navigable small-world graph;
//! - [`fusion`]: reciprocal rank fusion of ranked lists, for hybrid search.

pub mod documents;
pub mod flat;
pub mod fusion;
pub mod hnsw;
#[cfg(feature = "tantivy")]
pub mod text;
pub mod tokenize;

pub use documents::{DocumentOptions, text_documents};
pub use flat::FlatIndex;
pub use hnsw::{HnswIndex, HnswParams};
#[cfg(feature = "tantivy")]
pub use text::TantivyText;
