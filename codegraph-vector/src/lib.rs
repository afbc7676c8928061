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
//! - [`fusion`]: reciprocal rank fusion of ranked lists, for hybrid search;
//! - [`embed`] (feature `candle`, on by default): [`BertEmbedder`], a local
//!   sentence-transformer (all-MiniLM-L6-v2 and kin) run in-process.

pub mod documents;
#[cfg(feature = "candle")]
pub mod embed;
pub mod flat;
pub mod fusion;
pub mod hnsw;
#[cfg(feature = "tantivy")]
pub mod text;
pub mod tokenize;

pub use documents::{DocumentOptions, embedding_text, text_documents};
#[cfg(feature = "candle")]
pub use embed::{BertEmbedder, EmbedderOptions, Pooling};
pub use flat::FlatIndex;
pub use hnsw::{HnswIndex, HnswParams};
#[cfg(feature = "tantivy")]
pub use text::TantivyText;
