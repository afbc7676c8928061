//! The graph-store seam: where nodes and edges live between runs.

use serde::{Deserialize, Serialize};

use crate::Result;
use crate::id::NodeId;
use crate::model::{Edge, EdgeKind, FileStamp, Language, Node, Reference};

/// What a store remembers about one file, so re-indexing can skip it when unchanged.
#[derive(
    Clone,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
)]
pub struct FileRecord {
    /// Repository-relative, `/`-separated; the record's key within its project.
    pub path: String,
    /// The language the file was parsed as.
    pub language: Language,
    /// xxh3-64 of the file's bytes.
    pub content_hash: u64,
    /// The file's stamp when those bytes were read, if it can be trusted.
    pub stamp: Option<FileStamp>,
    /// Lines in the file, as counted by [`ParsedFile::lines`](crate::ParsedFile::lines).
    pub lines: u32,
    /// Whether tree-sitter had to recover from syntax errors.
    pub has_errors: bool,
    /// The file's nodes, file node first, in source order.
    pub node_ids: Vec<NodeId>,
}

/// Everything parsing says about one file: its record, its nodes and its references.
/// Writing it replaces the file's previous nodes and references and the `contains`
/// edges implied by node parents; resolved edges are written separately
/// ([`GraphStore::write_resolution`]) because they change when *other* files change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileUpdate {
    /// The file's new record; its `node_ids` are the ids of `nodes`, in order.
    pub file: FileRecord,
    /// Every node of the file, file node first, replacing the ones stored before.
    pub nodes: Vec<Node>,
    /// The file's unresolved references, in source order. [`FileResolution::unresolved`]
    /// indexes into this list.
    pub references: Vec<Reference>,
}

/// The result of resolving one file's references against the rest of its project.
#[derive(
    Clone,
    Debug,
    Default,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
)]
pub struct FileResolution {
    /// Edges out of the file's nodes, one or more per resolved reference, sorted.
    pub edges: Vec<Edge>,
    /// Indexes into the file's references of those that resolved to nothing. They are
    /// kept so that exports and later re-resolution see them; no edge is invented.
    pub unresolved: Vec<u32>,
    /// Every name the resolution looked up outside the file, sorted and deduplicated.
    /// When a definition with one of these names changes elsewhere, this file must be
    /// resolved again (see [`GraphStore::dependents`]).
    pub dependencies: Vec<String>,
}

/// What a store keeps about a project as a whole.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectMeta {
    /// The project's name, the key every other [`GraphStore`] call takes as `project`.
    pub name: String,
    /// The directory, repository or archive it was last indexed from, for display.
    pub source: Option<String>,
    /// Set while an indexing run is writing; a run that finds it set knows the previous
    /// one was interrupted and resolves every file again.
    pub dirty: bool,
    /// The language most of the project's files were in after the last run. The next
    /// run compiles its query as soon as it reads this, before it reads the file
    /// records: compiling is the largest single cost of a one-file update in a new
    /// process. Absent in stores written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub main_language: Option<Language>,
    /// When a run last changed the index (milliseconds since the Unix epoch), for a
    /// reader to judge how fresh it is. A run that finds nothing changed leaves it.
    /// Absent in stores written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub indexed_ms: Option<u64>,
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
/// - one call writes one file atomically: after a crash a reader sees the file's old
///   state or its new one, never half of each;
/// - every edge is reachable from both ends ([`Direction::Outgoing`] from `src`,
///   [`Direction::Incoming`] from `dst`), and replacing or removing a file's edges
///   removes them from both indexes;
/// - nothing written to one project is visible from another.
///
/// The store does not check that edge destinations exist: the indexer orders its
/// writes so that they always do (see `codegraph-store`'s ARCHITECTURE section).
pub trait GraphStore: Send + Sync {
    /// Creates or updates a project's metadata.
    fn set_project(&self, meta: &ProjectMeta) -> Result<()>;

    /// A project's metadata, if the store has the project.
    fn project(&self, project: &str) -> Result<Option<ProjectMeta>>;

    /// The projects in the store, sorted by name.
    fn projects(&self) -> Result<Vec<String>>;

    /// Removes a project and everything in it.
    fn remove_project(&self, project: &str) -> Result<()>;

    /// Replaces one file's record, nodes, references and `contains` edges. The file's
    /// resolved edges are removed too: nodes they started from may be gone.
    fn write_file(&self, project: &str, update: &FileUpdate) -> Result<()>;

    /// Replaces one file's resolved edges, unresolved references and dependencies.
    fn write_resolution(
        &self,
        project: &str,
        path: &str,
        resolution: &FileResolution,
    ) -> Result<()>;

    /// Writes a project's first build in one go: the same graph as [`write_file`] for
    /// each update and then [`write_resolution`] for each `(path, resolution)`, in
    /// order. Each path appears at most once in `files` and once in `resolutions`;
    /// stores may refuse other input. Meant for a project that holds no file yet;
    /// stores that can build their own files directly override it (RocksDB writes
    /// sorted table files instead of going through its memtables and log).
    ///
    /// Into a project without files, a crash during a load leaves no edge without its
    /// nodes; the caller marks the project dirty before and clean after, so the next
    /// run redoes what is missing. A store may clear keys of such a project that no
    /// file record refers to (what a killed load left). Into a project that has files,
    /// a load is a sequence of the writes above, with their guarantees.
    ///
    /// [`write_file`]: GraphStore::write_file
    /// [`write_resolution`]: GraphStore::write_resolution
    fn load(
        &self,
        project: &str,
        files: &[FileUpdate],
        resolutions: &[(String, FileResolution)],
    ) -> Result<()> {
        load_by_writes(self, project, files, resolutions)
    }

    /// Records a new stamp for a file whose content was found unchanged (after a
    /// `touch` or a checkout), so the next run can skip it without reading it. Does
    /// nothing when the project has no such file.
    fn restamp_file(&self, project: &str, path: &str, stamp: Option<FileStamp>) -> Result<()>;

    /// Removes one file and everything it owns. Removing an absent file is not an error.
    fn remove_file(&self, project: &str, path: &str) -> Result<()>;

    /// The record of one file, if the project has it.
    fn file(&self, project: &str, path: &str) -> Result<Option<FileRecord>>;

    /// Every file record of a project, sorted by path.
    fn files(&self, project: &str) -> Result<Vec<FileRecord>>;

    /// One node.
    fn node(&self, project: &str, id: NodeId) -> Result<Option<Node>>;

    /// Several nodes, in the order of `ids`, `None` where absent. Stores can fetch
    /// them in one batch; resolution reads hundreds per name lookup.
    fn nodes(&self, project: &str, ids: &[NodeId]) -> Result<Vec<Option<Node>>> {
        ids.iter().map(|id| self.node(project, *id)).collect()
    }

    /// The edges at a node, optionally of one kind only, sorted by the far end.
    fn edges(
        &self,
        project: &str,
        id: NodeId,
        direction: Direction,
        kind: Option<EdgeKind>,
    ) -> Result<Vec<Edge>>;

    /// The far ends of the edges at a node, sorted and deduplicated. Stores can answer
    /// this from their indexes alone, without decoding edge values; graph walks use it.
    fn neighbours(
        &self,
        project: &str,
        id: NodeId,
        direction: Direction,
        kind: Option<EdgeKind>,
    ) -> Result<Vec<NodeId>> {
        let mut out: Vec<NodeId> = self
            .edges(project, id, direction, kind)?
            .into_iter()
            .map(|e| match direction {
                Direction::Outgoing => e.dst,
                Direction::Incoming => e.src,
            })
            .collect();
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// The references recorded for one file, in source order.
    fn references(&self, project: &str, path: &str) -> Result<Vec<Reference>>;

    /// The last resolution written for one file.
    fn resolution(&self, project: &str, path: &str) -> Result<Option<FileResolution>>;

    /// Paths of the files whose resolution depended on `name`, sorted.
    fn dependents(&self, project: &str, name: &str) -> Result<Vec<String>>;

    /// `(name, id)` of the nodes whose simple name starts with `prefix` (equals it when
    /// `exact`), at most `limit`, in name order. Names are compared byte-wise.
    fn find_by_name(
        &self,
        project: &str,
        prefix: &str,
        exact: bool,
        limit: usize,
    ) -> Result<Vec<(String, NodeId)>>;

    /// Makes everything written so far durable, in the layout the next process to
    /// open the store reads fastest.
    fn flush(&self) -> Result<()>;

    /// Makes everything written so far durable, as cheaply as the store can (RocksDB:
    /// syncs its log and leaves the memtables in memory). For a long-lived process that
    /// calls [`GraphStore::flush`] later, when idle.
    fn sync(&self) -> Result<()> {
        self.flush()
    }
}

/// [`GraphStore::load`] as a sequence of [`GraphStore::write_file`] and
/// [`GraphStore::write_resolution`] calls: the default, and what a store falls back to
/// when its faster path does not apply.
pub fn load_by_writes<S: GraphStore + ?Sized>(
    store: &S,
    project: &str,
    files: &[FileUpdate],
    resolutions: &[(String, FileResolution)],
) -> Result<()> {
    for update in files {
        store.write_file(project, update)?;
    }
    for (path, resolution) in resolutions {
        store.write_resolution(project, path, resolution)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stores keep project metadata as JSON: one written before `main_language` existed
    /// still reads, and the field is left out when there is none to say.
    #[test]
    fn project_metadata_reads_across_versions() {
        let old: ProjectMeta =
            serde_json::from_str(r#"{"name":"p","source":null,"dirty":false}"#).unwrap();
        assert_eq!(old.main_language, None);
        assert!(
            !serde_json::to_string(&old)
                .unwrap()
                .contains("main_language")
        );
        let new = ProjectMeta {
            main_language: Some(Language::Python),
            ..old
        };
        let json = serde_json::to_string(&new).unwrap();
        assert!(json.contains(r#""main_language":"python""#), "{json}");
        assert_eq!(serde_json::from_str::<ProjectMeta>(&json).unwrap(), new);
    }
}
