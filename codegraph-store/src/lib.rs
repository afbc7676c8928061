//! The CodeGraph graph store.
//!
//! This crate will hold the [`codegraph_core::GraphStore`] implementations (RocksDB and
//! in-memory), cross-file resolution and graph queries. It is empty until that work
//! lands (issue 3); it exists now so the workspace has its final shape.
