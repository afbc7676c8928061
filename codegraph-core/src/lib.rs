//! The language-agnostic core of CodeGraph.
//!
//! This crate holds the model every other crate speaks — [nodes](Node), [edges](Edge),
//! [spans](Span), [stable ids](NodeId), unresolved [references](Reference) — and the
//! traits at every seam between them:
//!
//! | seam            | trait                | implemented in      |
//! |-----------------|----------------------|---------------------|
//! | parsing         | [`ParserRegistry`]   | `codegraph-parse`   |
//! | graph storage   | [`GraphStore`]       | `codegraph-store`   |
//! | full text       | [`TextIndex`]        | `codegraph-vector`  |
//! | embeddings      | [`Embedder`]         | `codegraph-vector`  |
//! | vector search   | [`VectorIndex`]      | `codegraph-vector`  |
//!
//! It has no I/O and few dependencies, so anything can depend on it. Every model type
//! derives serde (for JSON at the edges) and rkyv (for zero-copy reads in stores).
//!
//! ```
//! use codegraph_core::{NodeId, NodeKind};
//!
//! // Ids depend only on where and what a definition is, so they survive edits to its
//! // body and to other files, and print as 16 hex digits.
//! let id = NodeId::new("src/lib.rs", "shapes::Circle::area", NodeKind::Method, "");
//! assert_eq!(id, NodeId::new("src/lib.rs", "shapes::Circle::area", NodeKind::Method, ""));
//! assert_eq!(id.to_string().parse::<NodeId>().unwrap(), id);
//! assert_eq!("method".parse::<NodeKind>().unwrap(), NodeKind::Method);
//! ```

#![warn(missing_docs)]

mod cancel;
mod embed;
mod error;
mod id;
mod model;
mod parser;
mod store;
mod text;
mod vector;

pub use cancel::{Budget, Cancel};
pub use embed::Embedder;
pub use error::{Error, Result};
pub use id::{ArchivedNodeId, NodeId};
pub use model::{
    ArchivedEdge, ArchivedNode, ArchivedParsedFile, ArchivedReference, ArchivedSpan, Edge,
    EdgeKind, FileStamp, Language, Node, NodeKind, ParsedFile, Reference, ReferenceKind,
    Resolution, SkipReason, SkippedFile, Span, Visibility,
};
pub use parser::ParserRegistry;
pub use store::{
    ArchivedFileRecord, ArchivedFileResolution, Direction, FileRecord, FileResolution, FileUpdate,
    GraphStore, ProjectMeta, load_by_writes,
};
pub use text::{ScoredNode, TextDocument, TextIndex, TextQuery};
pub use vector::VectorIndex;
