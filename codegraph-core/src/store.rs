//! The graph-store seam: where nodes and edges live between runs.

use serde::{Deserialize, Serialize};

use crate::Result;
use crate::id::NodeId;
use crate::model::{Edge, EdgeKind, Language, Node, Reference};

/// What a store remembers about one file, so re-indexing can skip it when unchanged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    pub path: String,
    pub language: Language,
    pub content_hash: u64,
    pub lines: u32,
    pub node_ids: Vec<NodeId>,
}

/// Everything a store needs to replace one file: its record, its nodes, the edges whose
/// source is one of its nodes, and its unresolved references (kept so that a change in
/// another file can re-resolve them without re-parsing this one).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileUpdate {
    pub file: FileRecord,
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    pub references: Vec<Reference>,
}

/// Which way to follow edges from a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Edges whose source is the node (what it calls, contains, inherits).
    Outgoing,
    /// Edges whose destination is the node (who calls, contains, inherits it).
    Incoming,
}

/// A persistent code graph holding several projects, each isolated from the others.
///
/// Invariants every implementation keeps:
/// - a file is replaced atomically: after a crash a reader sees the old file or the new
///   one, never half of each;
/// - every edge is reachable from both ends ([`Direction::Outgoing`] from `src`,
///   [`Direction::Incoming`] from `dst`), and removing a file removes the edges out of
///   its nodes from both indexes;
/// - nothing written to one project is visible from another.
pub trait GraphStore: Send + Sync {
    /// Replaces one file's record, nodes, outgoing edges and references.
    fn write_file(&self, project: &str, update: &FileUpdate) -> Result<()>;

    /// Removes one file and everything it owns. Removing an absent file is not an error.
    fn remove_file(&self, project: &str, path: &str) -> Result<()>;

    /// The record of one file, if the project has it.
    fn file(&self, project: &str, path: &str) -> Result<Option<FileRecord>>;

    /// Every file record of a project, sorted by path.
    fn files(&self, project: &str) -> Result<Vec<FileRecord>>;

    /// One node.
    fn node(&self, project: &str, id: NodeId) -> Result<Option<Node>>;

    /// The edges at a node, optionally of one kind only.
    fn edges(
        &self,
        project: &str,
        id: NodeId,
        direction: Direction,
        kind: Option<EdgeKind>,
    ) -> Result<Vec<Edge>>;

    /// The unresolved references recorded for one file.
    fn references(&self, project: &str, path: &str) -> Result<Vec<Reference>>;

    /// Nodes whose simple name starts with `prefix` (exact match when `exact`), at most
    /// `limit` of them, in name order.
    fn find_by_name(
        &self,
        project: &str,
        prefix: &str,
        exact: bool,
        limit: usize,
    ) -> Result<Vec<NodeId>>;

    /// The projects in the store, sorted.
    fn projects(&self) -> Result<Vec<String>>;

    /// Removes a project and everything in it.
    fn remove_project(&self, project: &str) -> Result<()>;

    /// Makes everything written so far durable.
    fn flush(&self) -> Result<()>;
}
