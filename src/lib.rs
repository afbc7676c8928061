//! CodeGraph: code intelligence for real codebases, as a library.
//!
//! [`Db`] is the engine. It owns one store directory, indexes projects into it (a
//! graph of definitions and references, a full-text index and embeddings, kept in
//! step and updated incrementally) and answers search and graph queries. The
//! `codegraph` command line and server are thin faces over it.
//!
//! ```
//! # fn main() -> codegraph::Result<()> {
//! use codegraph::{Budget, Cancel, Db, DbOptions, IndexConfig, Input, Mode, Progress, SearchRequest};
//!
//! # let tmp = tempfile::tempdir().unwrap();
//! # let repo = tmp.path().join("repo");
//! # std::fs::create_dir(&repo).unwrap();
//! # std::fs::write(repo.join("app.py"), "def load_config(path):\n    \"\"\"Read the settings file.\"\"\"\n    return open(path).read()\n\ndef main():\n    load_config('a.toml')\n").unwrap();
//! # let store = tmp.path().join("store");
//! # let options = DbOptions { backend: codegraph::Backend::Memory, ..DbOptions::default() };
//! // let options = DbOptions::default(); // RocksDB; add `embedder` for semantic search
//! let db = Db::open(&store, options)?;
//! let report = db.index("repo", Input::directory(&repo), &IndexConfig::default(),
//!                       &Progress::default(), &Cancel::new())?;
//! println!("{}", serde_json::to_string(&report).unwrap());
//!
//! let found = db.search("repo", &SearchRequest::new("read settings").mode(Mode::Text))?;
//! assert_eq!(found.results[0].name, "load_config");
//! // Graph answers take a budget of work; a server gives each request a bounded one.
//! let callers = db.callers("repo", found.results[0].id, &Budget::unlimited())?;
//! assert_eq!(callers[0].node.name, "main");
//! # Ok(()) }
//! ```
//!
//! The crates underneath are re-exported for lower-level work:
//!
//! - [`core`]: the language-agnostic model (nodes, edges, spans, stable ids) and the
//!   traits at every seam;
//! - [`parse`]: tree-sitter extraction for Rust, Python, JavaScript, TypeScript, Go,
//!   Java and C++, from directories, git revisions, archives and streams;
//! - [`store`]: the graph store (RocksDB or memory), cross-file resolution, incremental
//!   indexing and graph queries;
//! - [`vector`]: full text, embedders, vector indexes and fusion.
//!
//! # Features
//!
//! Every backend is a feature, all on by default: `rocksdb` (the persistent graph;
//! without it a `Db` keeps its graph in memory), `tantivy` (full-text search),
//! `embed-local` (a local BERT-family model), `embed-http` (an OpenAI-compatible
//! embeddings API), `git`, `archive`; and `faiss`, off by default. With
//! `default-features = false` nothing but Rust is compiled.

#![warn(missing_docs)]

mod db;
mod embedder;
mod index;
pub mod layout;
mod queries;
mod repomap;
#[cfg(feature = "scip")]
mod scip;
mod search;

pub use codegraph_core as core;
pub use codegraph_parse as parse;
pub use codegraph_store as store;
pub use codegraph_vector as vector;

pub use codegraph_core::{Budget, Cancel, Error, Language, Node, NodeId, NodeKind, Result};
pub use codegraph_parse::filter::FilterConfig;
pub use codegraph_store::query::{
    Filters, Impacted, Match, NodeSummary, Reached, Related, Subgraph,
};
pub use db::{Backend, Db, DbOptions, Vectors};
pub use embedder::{EmbedderConfig, Precision};
pub use index::{
    EmbedProgress, EmbedSummary, IndexConfig, IndexReport, Input, Progress, ScipImport, WalkReport,
};
pub use queries::SymbolHit;
pub use repomap::{Ranked, RepoMapRequest};
#[cfg(feature = "scip")]
pub use scip::{ScipExportCounts, ScipExportOptions, name_offset, read_documents};
pub use search::{Fusion, Hit, HybridWeights, Mode, SearchRequest, SearchResults, Strategy};
