//! The CodeGraph graph store: where parsed definitions become a graph people can ask
//! questions of.
//!
//! - [`GraphStore`](codegraph_core::GraphStore) implementations: [`RocksStore`] (feature
//!   `rocksdb`, on by default; layout in ARCHITECTURE.md) and [`MemoryStore`];
//! - resolution (internal): references to edges across files, language by language,
//!   each edge saying how it was found;
//! - [`index()`]: builds a project from a source and keeps it up to date incrementally,
//!   equal to a clean rebuild;
//! - [`query`]: symbol search, callers and callees, impact, paths, outlines,
//!   neighbourhoods, and a deterministic export.
//!
//! ```
//! use codegraph_core::{Budget, Cancel, GraphStore};
//! use codegraph_parse::filter::{Filter, FilterConfig};
//! use codegraph_parse::source::MemorySource;
//! use codegraph_parse::{ExtractOptions, Pipeline};
//! use codegraph_store::{IndexOptions, IndexProgress, MemoryStore, index, query};
//!
//! let store = MemoryStore::new();
//! let files = vec![("lib.rs".to_string(), b"fn a() { b() }\nfn b() {}\n".to_vec())];
//! let mut source = MemorySource::new("example", files);
//! let pipeline = Pipeline::new(Filter::new(FilterConfig::default())?, ExtractOptions::default());
//! let report = index(&store, "demo", &mut source, pipeline, &IndexOptions::default(),
//!                    &IndexProgress::default())?;
//! assert_eq!(report.parsed, 1);
//! let all = Budget::unlimited();
//! let b = &query::lookup(&store, "demo", "b", &all)?[0];
//! let callers = query::calls(&store, "demo", b.id, codegraph_core::Direction::Incoming, &all)?;
//! assert_eq!(callers[0].node.name, "a");
//! # let _ = Cancel::new();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

mod codec;
pub mod index;
mod memory;
pub mod precise;
pub mod query;
pub mod rank;
mod resolve;
#[cfg(feature = "rocksdb")]
mod rocks;
mod view;

use codegraph_core::{Edge, EdgeKind, Error, FileUpdate, NodeId, Resolution, Result};

pub use index::{
    Companion, IndexOptions, IndexProgress, IndexReport, ResolveCache, StoreView, index,
    index_with, verify,
};
pub use memory::MemoryStore;
#[cfg(feature = "rocksdb")]
pub use rocks::RocksStore;

/// The `contains` edge from a node's parent, implied by the syntax tree.
pub(crate) fn contains_edge(parent: NodeId, child: NodeId) -> Edge {
    Edge {
        src: parent,
        dst: child,
        kind: EdgeKind::Contains,
        resolution: Resolution::Syntax,
        span: None,
    }
}

/// Refuses updates whose record and nodes disagree: they would corrupt the indexes.
pub(crate) fn check_update(update: &FileUpdate) -> Result<()> {
    let ids: Vec<NodeId> = update.nodes.iter().map(|n| n.id).collect();
    if ids != update.file.node_ids {
        return Err(Error::InvalidInput(format!(
            "{}: file record lists {} node ids but the update has {} nodes",
            update.file.path,
            update.file.node_ids.len(),
            update.nodes.len()
        )));
    }
    if let Some(n) = update.nodes.iter().find(|n| n.path != update.file.path) {
        return Err(Error::InvalidInput(format!(
            "{}: node {} belongs to {}",
            update.file.path, n.qualified_name, n.path
        )));
    }
    Ok(())
}
