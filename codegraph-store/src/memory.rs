//! The in-memory graph store: for tests, for small embedded uses, and as the reference
//! the RocksDB store is tested against.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::RwLock;

use codegraph_core::{
    Direction, Edge, EdgeKind, FileRecord, FileResolution, FileStamp, FileUpdate, GraphStore, Node,
    NodeId, ProjectMeta, Reference, Result,
};

use crate::codec::{edge_kind_code, site};

/// `(a, kind code, b, site)`: `a` is the source in the outgoing map, the destination in
/// the incoming one; the same order as the RocksDB keys.
type EdgeKey = (NodeId, u8, NodeId, u32);

#[derive(Default)]
struct Project {
    meta: ProjectMeta,
    files: BTreeMap<String, FileRecord>,
    nodes: HashMap<NodeId, Node>,
    references: HashMap<String, Vec<Reference>>,
    resolutions: HashMap<String, FileResolution>,
    out: BTreeMap<EdgeKey, Edge>,
    inc: BTreeMap<EdgeKey, Edge>,
    names: BTreeSet<(String, NodeId)>,
    deps: BTreeSet<(String, String)>,
}

impl Project {
    fn insert_edge(&mut self, edge: &Edge) {
        let code = edge_kind_code(edge.kind);
        let s = site(edge.span.as_ref());
        self.out.insert((edge.src, code, edge.dst, s), edge.clone());
        self.inc.insert((edge.dst, code, edge.src, s), edge.clone());
    }

    fn remove_edge(&mut self, edge: &Edge) {
        let code = edge_kind_code(edge.kind);
        let s = site(edge.span.as_ref());
        self.out.remove(&(edge.src, code, edge.dst, s));
        self.inc.remove(&(edge.dst, code, edge.src, s));
    }

    fn clear_resolution(&mut self, path: &str) {
        if let Some(old) = self.resolutions.remove(path) {
            for edge in &old.edges {
                self.remove_edge(edge);
            }
            for name in &old.dependencies {
                self.deps.remove(&(name.clone(), path.to_string()));
            }
        }
    }

    fn clear_file(&mut self, path: &str) {
        self.clear_resolution(path);
        self.references.remove(path);
        if let Some(old) = self.files.remove(path) {
            for id in &old.node_ids {
                if let Some(node) = self.nodes.remove(id) {
                    self.names.remove(&(node.name.clone(), node.id));
                    if let Some(parent) = node.parent {
                        self.remove_edge(&crate::contains_edge(parent, node.id));
                    }
                }
            }
        }
    }
}

/// A [`GraphStore`] in memory, behind one lock.
#[derive(Default)]
pub struct MemoryStore {
    projects: RwLock<BTreeMap<String, Project>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn read<T>(&self, project: &str, f: impl FnOnce(&Project) -> T) -> Option<T> {
        let guard = self.projects.read().unwrap_or_else(|e| e.into_inner());
        guard.get(project).map(f)
    }

    fn write<T>(&self, project: &str, f: impl FnOnce(&mut Project) -> T) -> T {
        let mut guard = self.projects.write().unwrap_or_else(|e| e.into_inner());
        let entry = guard.entry(project.to_string()).or_insert_with(|| Project {
            meta: ProjectMeta {
                name: project.to_string(),
                ..ProjectMeta::default()
            },
            ..Project::default()
        });
        f(entry)
    }
}

impl GraphStore for MemoryStore {
    fn set_project(&self, meta: &ProjectMeta) -> Result<()> {
        self.write(&meta.name, |p| p.meta = meta.clone());
        Ok(())
    }

    fn project(&self, project: &str) -> Result<Option<ProjectMeta>> {
        Ok(self.read(project, |p| p.meta.clone()))
    }

    fn projects(&self) -> Result<Vec<String>> {
        let guard = self.projects.read().unwrap_or_else(|e| e.into_inner());
        Ok(guard.keys().cloned().collect())
    }

    fn remove_project(&self, project: &str) -> Result<()> {
        let mut guard = self.projects.write().unwrap_or_else(|e| e.into_inner());
        guard.remove(project);
        Ok(())
    }

    fn write_file(&self, project: &str, update: &FileUpdate) -> Result<()> {
        crate::check_update(update)?;
        self.write(project, |p| {
            let path = update.file.path.clone();
            p.clear_file(&path);
            for node in &update.nodes {
                p.names.insert((node.name.clone(), node.id));
                if let Some(parent) = node.parent {
                    p.insert_edge(&crate::contains_edge(parent, node.id));
                }
                p.nodes.insert(node.id, node.clone());
            }
            p.references.insert(path.clone(), update.references.clone());
            p.files.insert(path, update.file.clone());
        });
        Ok(())
    }

    fn write_resolution(
        &self,
        project: &str,
        path: &str,
        resolution: &FileResolution,
    ) -> Result<()> {
        self.write(project, |p| {
            p.clear_resolution(path);
            for edge in &resolution.edges {
                p.insert_edge(edge);
            }
            for name in &resolution.dependencies {
                p.deps.insert((name.clone(), path.to_string()));
            }
            p.resolutions.insert(path.to_string(), resolution.clone());
        });
        Ok(())
    }

    fn restamp_file(&self, project: &str, path: &str, stamp: Option<FileStamp>) -> Result<()> {
        let mut guard = self.projects.write().unwrap_or_else(|e| e.into_inner());
        if let Some(record) = guard.get_mut(project).and_then(|p| p.files.get_mut(path)) {
            record.stamp = stamp;
        }
        Ok(())
    }

    fn remove_file(&self, project: &str, path: &str) -> Result<()> {
        let mut guard = self.projects.write().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = guard.get_mut(project) {
            p.clear_file(path);
        }
        Ok(())
    }

    fn file(&self, project: &str, path: &str) -> Result<Option<FileRecord>> {
        Ok(self.read(project, |p| p.files.get(path).cloned()).flatten())
    }

    fn files(&self, project: &str) -> Result<Vec<FileRecord>> {
        Ok(self
            .read(project, |p| p.files.values().cloned().collect())
            .unwrap_or_default())
    }

    fn node(&self, project: &str, id: NodeId) -> Result<Option<Node>> {
        Ok(self.read(project, |p| p.nodes.get(&id).cloned()).flatten())
    }

    fn edges(
        &self,
        project: &str,
        id: NodeId,
        direction: Direction,
        kind: Option<EdgeKind>,
    ) -> Result<Vec<Edge>> {
        Ok(self
            .read(project, |p| {
                let map = match direction {
                    Direction::Outgoing => &p.out,
                    Direction::Incoming => &p.inc,
                };
                let (lo, hi) = match kind {
                    Some(k) => {
                        let c = edge_kind_code(k);
                        ((id, c, NodeId(0), 0), (id, c, NodeId(u64::MAX), u32::MAX))
                    }
                    None => (
                        (id, 0, NodeId(0), 0),
                        (id, u8::MAX, NodeId(u64::MAX), u32::MAX),
                    ),
                };
                map.range(lo..=hi).map(|(_, e)| e.clone()).collect()
            })
            .unwrap_or_default())
    }

    fn references(&self, project: &str, path: &str) -> Result<Vec<Reference>> {
        Ok(self
            .read(project, |p| p.references.get(path).cloned())
            .flatten()
            .unwrap_or_default())
    }

    fn resolution(&self, project: &str, path: &str) -> Result<Option<FileResolution>> {
        Ok(self
            .read(project, |p| p.resolutions.get(path).cloned())
            .flatten())
    }

    fn dependents(&self, project: &str, name: &str) -> Result<Vec<String>> {
        Ok(self
            .read(project, |p| {
                p.deps
                    .range((name.to_string(), String::new())..)
                    .take_while(|(n, _)| n == name)
                    .map(|(_, path)| path.clone())
                    .collect()
            })
            .unwrap_or_default())
    }

    fn find_by_name(
        &self,
        project: &str,
        prefix: &str,
        exact: bool,
        limit: usize,
    ) -> Result<Vec<(String, NodeId)>> {
        Ok(self
            .read(project, |p| {
                p.names
                    .range((prefix.to_string(), NodeId(0))..)
                    .take_while(|(n, _)| {
                        if exact {
                            n == prefix
                        } else {
                            n.starts_with(prefix)
                        }
                    })
                    .take(limit)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default())
    }

    fn flush(&self) -> Result<()> {
        Ok(())
    }
}
