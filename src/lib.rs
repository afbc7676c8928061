//! CodeGraph: code intelligence for real codebases.
//!
//! This crate gathers the CodeGraph libraries behind one dependency:
//!
//! - [`core`]: the language-agnostic model (nodes, edges, spans, stable ids) and the
//!   traits at every seam;
//! - [`parse`]: tree-sitter extraction for Rust, Python, JavaScript, TypeScript, Go,
//!   Java and C++, from directories, git revisions, archives and streams;
//! - [`store`]: the graph store (RocksDB or memory), cross-file resolution, incremental
//!   indexing and graph queries;
//! - [`vector`]: search (growing in later releases).
//!
//! ```no_run
//! use codegraph::core::ParserRegistry;
//! use codegraph::parse::Extractor;
//!
//! let extractor = Extractor::default();
//! let source = b"fn greet() {}";
//! let parsed = extractor.parse(codegraph::core::Language::Rust, "src/lib.rs", source)?;
//! for definition in parsed.definitions() {
//!     println!("{} {}", definition.kind, definition.qualified_name);
//! }
//! # Ok::<(), codegraph::core::Error>(())
//! ```

pub use codegraph_core as core;
pub use codegraph_parse as parse;
pub use codegraph_store as store;
pub use codegraph_vector as vector;
