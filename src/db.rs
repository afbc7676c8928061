//! [`Db`]: one store directory and everything in it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use codegraph_core::{Embedder, Error, FileRecord, GraphStore, ProjectMeta, Result, TextIndex};
#[cfg(feature = "rocksdb")]
use codegraph_store::RocksStore;
use codegraph_store::{MemoryStore, ResolveCache};

use crate::layout;

/// Where a [`Db`] keeps its graph.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Backend {
    /// RocksDB files in the store directory (feature `rocksdb`): survives the process,
    /// one writer at a time, readers alongside.
    #[cfg_attr(feature = "rocksdb", default)]
    RocksDb,
    /// In this process's memory: gone when the `Db` is dropped. The full-text index
    /// and the embeddings still go to the directory.
    #[cfg_attr(not(feature = "rocksdb"), default)]
    Memory,
}

/// How a [`Db`] is opened.
#[derive(Clone, Default)]
pub struct DbOptions {
    /// Where the graph lives.
    pub backend: Backend,
    /// The embedding model: definitions are embedded when indexing and queries when
    /// searching. `None`: no embeddings, and semantic search is refused.
    pub embedder: Option<Arc<dyn Embedder>>,
    /// This `Db` indexes the same projects again and again (a watcher, an editor's
    /// daemon): it keeps what each run read (the walk, resolution's reads, the
    /// full-text writer) for the next one, and ends a run with a log sync instead of a
    /// flush; call [`Db::flush`] when idle.
    pub long_lived: bool,
}

impl std::fmt::Debug for DbOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbOptions")
            .field("backend", &self.backend)
            .field("embedder", &self.embedder.as_ref().map(|e| e.model_id()))
            .field("long_lived", &self.long_lived)
            .finish()
    }
}

/// The graph store behind a [`Db`]: a closed set, so every call is monomorphised.
pub(crate) enum Graph {
    #[cfg(feature = "rocksdb")]
    Rocks(RocksStore),
    Memory(MemoryStore),
}

/// Runs `$body` with `$s` bound to the concrete store.
macro_rules! with_graph {
    ($graph:expr, $s:ident => $body:expr) => {
        match $graph {
            #[cfg(feature = "rocksdb")]
            $crate::db::Graph::Rocks($s) => $body,
            $crate::db::Graph::Memory($s) => $body,
        }
    };
}
pub(crate) use with_graph;

/// What a long-lived `Db` keeps of a project between runs.
#[derive(Default)]
pub(crate) struct Warm {
    /// The directory walk and the directory it walks.
    pub walker: Option<(PathBuf, codegraph_parse::source::DirectorySource)>,
    pub resolve_cache: Option<Arc<ResolveCache>>,
    /// The project's imported resolutions and the modification time of their file:
    /// read again only when an import rewrote it.
    #[cfg(feature = "scip")]
    pub precise: Option<(
        std::time::SystemTime,
        Arc<codegraph_store::precise::Precise>,
    )>,
}

/// The ranking graphs kept for [`Db::repo_map`], the most recently used
/// [`RankCache::MAX_GRAPHS`] of them, and per project a count of the runs that
/// changed it: a graph read while a run wrote its project is not kept.
#[derive(Default)]
pub(crate) struct RankCache {
    graphs: HashMap<String, (Arc<codegraph_store::rank::RankGraph>, u64)>,
    generations: HashMap<String, u64>,
    clock: u64,
}

impl RankCache {
    /// A store can hold many projects (the server opens one per tenant); a graph costs
    /// about as much memory as its project's node and edge ids, so only a few are kept.
    pub(crate) const MAX_GRAPHS: usize = 8;

    /// Forgets `project`'s graph: a run changed it.
    pub(crate) fn invalidate(&mut self, project: &str) {
        self.graphs.remove(project);
        *self.generations.entry(project.to_string()).or_default() += 1;
    }

    /// The project's graph if kept, marked as just used.
    pub(crate) fn get(&mut self, project: &str) -> Option<Arc<codegraph_store::rank::RankGraph>> {
        self.clock += 1;
        let clock = self.clock;
        self.graphs.get_mut(project).map(|(g, used)| {
            *used = clock;
            Arc::clone(g)
        })
    }

    /// How many runs changed `project` so far.
    pub(crate) fn generation(&self, project: &str) -> u64 {
        self.generations.get(project).copied().unwrap_or(0)
    }

    /// Keeps `graph`, read at `generation`, unless a run changed the project since;
    /// the least recently used graph makes room.
    pub(crate) fn keep(
        &mut self,
        project: &str,
        generation: u64,
        graph: Arc<codegraph_store::rank::RankGraph>,
    ) {
        if self.generation(project) != generation {
            return;
        }
        if !self.graphs.contains_key(project)
            && self.graphs.len() >= Self::MAX_GRAPHS
            && let Some(oldest) = self
                .graphs
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(p, _)| p.clone())
        {
            self.graphs.remove(&oldest);
        }
        self.clock += 1;
        self.graphs.insert(project.to_string(), (graph, self.clock));
    }

    #[cfg(test)]
    pub(crate) fn kept(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self.graphs.keys().map(String::as_str).collect();
        out.sort_unstable();
        out
    }
}

/// A CodeGraph store: one directory holding the graph, the full-text index, the
/// embeddings and the walk caches of any number of projects.
///
/// One `Db` per directory and process; share it behind an `Arc` (every method takes
/// `&self`). A directory is open for writing by one process at a time: a second
/// [`Db::open`] gets [`Error::Busy`] naming the holder, while
/// [`Db::open_read_only`] works alongside it and sees the store as of its open.
///
/// ```
/// # fn main() -> codegraph::Result<()> {
/// use codegraph::{Backend, Budget, Cancel, Db, DbOptions, IndexConfig, Input, Progress};
///
/// let dir = tempfile::tempdir().unwrap();
/// let src = dir.path().join("src");
/// std::fs::create_dir(&src).unwrap();
/// std::fs::write(src.join("lib.rs"), "pub fn parse() {}\npub fn run() { parse() }\n").unwrap();
///
/// let options = DbOptions { backend: Backend::Memory, ..DbOptions::default() };
/// let db = Db::open(dir.path().join("store"), options)?;
/// let report = db.index("demo", Input::directory(&src), &IndexConfig::default(),
///                       &Progress::default(), &Cancel::new())?;
/// assert_eq!(report.parsed, 1);
/// let parse = db.symbol("demo", "parse", &Budget::unlimited())?;
/// let callers = db.callers("demo", parse.id, &Budget::unlimited())?;
/// assert_eq!(callers[0].node.name, "run");
/// # Ok(()) }
/// ```
pub struct Db {
    dir: PathBuf,
    pub(crate) graph: Graph,
    read_only: bool,
    pub(crate) options: DbOptions,
    /// The full-text index, opened on first use.
    text: Mutex<Option<Arc<dyn TextIndex>>>,
    /// Opened vector indexes, by project; dropped when this `Db` re-indexes one.
    pub(crate) vectors: Mutex<HashMap<String, Arc<Vectors>>>,
    pub(crate) warm: Mutex<HashMap<String, Warm>>,
    /// One indexing run (or removal) at a time per project; runs of different
    /// projects go side by side, as the server's workers run them.
    run_locks: Mutex<HashMap<String, Arc<Mutex<()>>>>,
    /// The repo map's graphs, by project; forgotten when a run changes one.
    pub(crate) ranks: Mutex<RankCache>,
}

impl Db {
    /// Opens the store in `dir` for reading and writing, creating it when absent.
    ///
    /// Fails with [`Error::Busy`] while another process (or another `Db` in this one)
    /// holds it for writing, and with [`Error::InvalidInput`] for a directory that holds
    /// something other than a CodeGraph store.
    pub fn open(dir: impl AsRef<Path>, options: DbOptions) -> Result<Db> {
        Db::open_with(dir.as_ref(), options, false)
    }

    /// Opens an existing store for queries and search only: takes no lock, so it runs
    /// while another process indexes; sees the store as of this call.
    pub fn open_read_only(dir: impl AsRef<Path>, options: DbOptions) -> Result<Db> {
        let dir = dir.as_ref();
        if !dir.is_dir() {
            return Err(Error::NotFound(format!(
                "no store at {} (index something into it first)",
                dir.display()
            )));
        }
        Db::open_with(dir, options, true)
    }

    fn open_with(dir: &Path, options: DbOptions, read_only: bool) -> Result<Db> {
        let graph = match options.backend {
            #[cfg(feature = "rocksdb")]
            Backend::RocksDb if read_only => Graph::Rocks(RocksStore::open_read_only(dir)?),
            #[cfg(feature = "rocksdb")]
            Backend::RocksDb => Graph::Rocks(RocksStore::open(dir)?),
            #[cfg(not(feature = "rocksdb"))]
            Backend::RocksDb => {
                return Err(Error::Unsupported(
                    "this build has no persistent graph store (feature `rocksdb`); use \
                     Backend::Memory"
                        .into(),
                ));
            }
            Backend::Memory => {
                if !read_only {
                    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
                }
                Graph::Memory(MemoryStore::new())
            }
        };
        Ok(Db {
            dir: dir.to_path_buf(),
            graph,
            read_only,
            options,
            text: Mutex::new(None),
            vectors: Mutex::new(HashMap::new()),
            warm: Mutex::new(HashMap::new()),
            run_locks: Mutex::new(HashMap::new()),
            ranks: Mutex::default(),
        })
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether this `Db` was opened with [`Db::open_read_only`].
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// This `Db` with `model` as its embedding model (for a model loaded after the
    /// store was opened: a store held by another process is waited for first).
    pub fn with_embedder(mut self, model: Arc<dyn Embedder>) -> Db {
        self.options.embedder = Some(model);
        self
    }

    /// The embedding model, if one is configured.
    pub fn embedder(&self) -> Option<&Arc<dyn Embedder>> {
        self.options.embedder.as_ref()
    }

    /// The graph store, for the lower-level functions of [`codegraph_store`]
    /// (`query::*`, `verify`, `index_with`).
    pub fn graph(&self) -> &dyn GraphStore {
        with_graph!(&self.graph, s => s)
    }

    /// The projects in the store, by name.
    pub fn projects(&self) -> Result<Vec<String>> {
        with_graph!(&self.graph, s => s.projects())
    }

    /// A project's metadata; `None` when the store has no such project.
    pub fn project(&self, project: &str) -> Result<Option<ProjectMeta>> {
        with_graph!(&self.graph, s => s.project(project))
    }

    /// The directory the project was last indexed from, when that input was a
    /// directory (not a git revision, an archive or a stream): where its source text
    /// is. It may have changed since; compare a file's hash before trusting offsets.
    pub fn source_dir(&self, project: &str) -> Result<Option<PathBuf>> {
        Ok(self
            .project(project)?
            .and_then(|m| m.source)
            .and_then(|s| s.strip_prefix("directory ").map(PathBuf::from)))
    }

    /// The project to use when a caller named none: `name` when given and present,
    /// else the store's only project.
    pub fn resolve_project(&self, name: Option<&str>) -> Result<String> {
        if let Some(p) = name {
            if self.project(p)?.is_none() {
                return Err(Error::NotFound(format!(
                    "no project {p:?} in {} (projects: {})",
                    self.dir.display(),
                    self.projects()?.join(", ")
                )));
            }
            return Ok(p.to_string());
        }
        let projects = self.projects()?;
        match projects.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(Error::NotFound(format!(
                "the store {} holds no project yet",
                self.dir.display()
            ))),
            many => Err(Error::InvalidInput(format!(
                "the store holds several projects; choose one: {}",
                many.join(", ")
            ))),
        }
    }

    /// Every file record of a project.
    pub fn files(&self, project: &str) -> Result<Vec<FileRecord>> {
        with_graph!(&self.graph, s => s.files(project))
    }

    /// Removes a project and everything kept for it: graph, full-text index,
    /// embeddings and walk cache.
    pub fn remove_project(&self, project: &str) -> Result<()> {
        self.check_writable()?;
        let run = self.run_lock(project);
        let _run = lock(&run);
        with_graph!(&self.graph, s => s.remove_project(project))?;
        if let Some(text) = self.text_if_present()? {
            for (path, _) in text.file_hashes(project)? {
                text.remove_file(project, &path)?;
            }
            text.commit(project)?;
        }
        let vectors = layout::vectors_dir(&self.dir);
        codegraph_vector::semantic::remove_project(&vectors, project)?;
        self.forget(project);
        let _ = std::fs::remove_file(layout::walk_cache_file(&self.dir, project));
        let _ = std::fs::remove_file(layout::precise_file(&self.dir, project));
        with_graph!(&self.graph, s => s.flush())
    }

    /// Checks a project's graph: every listed node exists, every edge joins existing
    /// nodes and is indexed from both ends. Empty when sound.
    pub fn verify(&self, project: &str) -> Result<Vec<String>> {
        with_graph!(&self.graph, s => codegraph_store::verify(s, project))
    }

    /// Writes a project's whole graph as JSON lines, in a fixed order (the same graph
    /// always gives the same bytes). Returns what was written.
    pub fn export_jsonl(
        &self,
        project: &str,
        out: &mut dyn std::io::Write,
    ) -> Result<codegraph_store::query::ExportCounts> {
        with_graph!(&self.graph, s => codegraph_store::query::export_jsonl(s, project, out))
    }

    /// Writes what is in memory to disk (memtables to table files), so the next
    /// process to open the store has no log to replay. A long-lived `Db` calls this
    /// when idle; others flush at the end of every run.
    pub fn flush(&self) -> Result<()> {
        if self.read_only {
            return Ok(());
        }
        with_graph!(&self.graph, s => s.flush())
    }

    /// Bytes on disk of each part: `graph`, `text`, `vectors`.
    pub fn disk_sizes(&self) -> [(&'static str, u64); 3] {
        [
            ("graph", self.graph_disk_size()),
            ("text", layout::dir_size(&layout::text_dir(&self.dir))),
            ("vectors", layout::dir_size(&layout::vectors_dir(&self.dir))),
        ]
    }

    pub(crate) fn graph_disk_size(&self) -> u64 {
        match &self.graph {
            #[cfg(feature = "rocksdb")]
            Graph::Rocks(s) => s.disk_size(),
            Graph::Memory(_) => 0,
        }
    }

    /// The graph store's own counters, `(column family, property, value)`; empty for
    /// the memory backend.
    pub fn statistics(&self) -> Vec<(&'static str, &'static str, u64)> {
        match &self.graph {
            #[cfg(feature = "rocksdb")]
            Graph::Rocks(s) => s.statistics(),
            Graph::Memory(_) => Vec::new(),
        }
    }

    /// Drops what this `Db` keeps open or cached for a project (its vector index, a
    /// long-lived run's state). Indexing does it itself; call it when another process
    /// may have changed the project.
    pub fn forget(&self, project: &str) {
        lock(&self.vectors).remove(project);
        lock(&self.warm).remove(project);
        lock(&self.ranks).invalidate(project);
    }

    /// The lock that keeps a project's runs apart.
    pub(crate) fn run_lock(&self, project: &str) -> Arc<Mutex<()>> {
        Arc::clone(
            lock(&self.run_locks)
                .entry(project.to_string())
                .or_default(),
        )
    }

    pub(crate) fn check_writable(&self) -> Result<()> {
        if self.read_only {
            return Err(Error::Unsupported(format!(
                "{} was opened read-only",
                self.dir.display()
            )));
        }
        Ok(())
    }

    /// The full-text index, opened (and created) on first use; `None` in a build
    /// without one (feature `tantivy`).
    pub(crate) fn text(&self) -> Result<Option<Arc<dyn TextIndex>>> {
        let mut guard = lock(&self.text);
        if let Some(t) = &*guard {
            return Ok(Some(Arc::clone(t)));
        }
        let Some(text) = self.open_text()? else {
            return Ok(None);
        };
        *guard = Some(Arc::clone(&text));
        Ok(Some(text))
    }

    #[cfg(feature = "tantivy")]
    fn open_text(&self) -> Result<Option<Arc<dyn TextIndex>>> {
        let text = codegraph_vector::TantivyText::open(layout::text_dir(&self.dir))?;
        Ok(Some(Arc::new(if self.options.long_lived {
            text.long_lived()
        } else {
            text
        })))
    }

    #[cfg(not(feature = "tantivy"))]
    fn open_text(&self) -> Result<Option<Arc<dyn TextIndex>>> {
        Ok(None)
    }

    /// The full-text index if the store has one (never creates it).
    pub(crate) fn text_if_present(&self) -> Result<Option<Arc<dyn TextIndex>>> {
        if lock(&self.text).is_none() && !layout::text_dir(&self.dir).is_dir() {
            return Ok(None);
        }
        self.text()
    }

    /// A project's vector index, opened once and kept until this `Db` re-indexes the
    /// project; `None` when the project has no embeddings.
    pub fn vectors(&self, project: &str) -> Result<Option<Arc<Vectors>>> {
        if let Some(v) = lock(&self.vectors).get(project) {
            return Ok(Some(Arc::clone(v)));
        }
        let Some(v) = self.open_vectors(project)? else {
            return Ok(None);
        };
        let v = Arc::new(v);
        lock(&self.vectors).insert(project.to_string(), Arc::clone(&v));
        Ok(Some(v))
    }

    /// A project's vector index, opened anew (not kept by this `Db`): for a caller
    /// that caches it itself.
    pub fn open_vectors(&self, project: &str) -> Result<Option<Vectors>> {
        let dir = layout::vectors_dir(&self.dir);
        Ok(codegraph_vector::SemanticIndex::open(&dir, project)?
            .map(|index| Vectors(Mutex::new(index))))
    }
}

/// A project's vector index, opened once for many searches. Searching an HNSW graph
/// adjusts its beam, hence the lock.
pub struct Vectors(pub(crate) Mutex<codegraph_vector::SemanticIndex>);

impl Vectors {
    /// The model that made the vectors.
    pub fn model_id(&self) -> String {
        lock(&self.0).model_id().to_string()
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
