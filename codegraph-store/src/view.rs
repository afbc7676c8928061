//! What resolution may read of a project: the seam that makes incremental re-resolution
//! equal a clean rebuild.
//!
//! A resolver reads a project only through [`View`]: nodes by simple name, one file's
//! nodes and references, and the set of file paths. [`Recorder`] notes the key of every
//! read (a name, `path:<file>`, or `dir:<directory>`); those keys become the file's
//! [`FileResolution::dependencies`](codegraph_core::FileResolution). When files change,
//! the indexer computes the keys whose answers changed and re-resolves exactly the files
//! that read one of them. Everything else would resolve to the same edges, because it
//! read nothing that changed.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use foldhash::{HashMap, HashSet, HashSetExt};
use std::sync::Arc;

use codegraph_core::{Language, Node, NodeId, NodeKind, Reference, Result};

/// The part of a node resolution may look at through a name lookup. Spans, docs and
/// signatures are left out on purpose: a change to them alone never changes an edge, so
/// it never forces other files to be resolved again. (Of a Java, C++ or Go callable's
/// signature, only the number of parameters it takes is kept, and of a Go one the
/// number of results: overloads are told apart by the first, and Go's implementations
/// of an interface's method by both; a manifest's node keeps its whole signature, the
/// path it stands for.)
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Def {
    pub id: NodeId,
    pub kind: NodeKind,
    pub language: Language,
    pub name: String,
    pub qualified_name: String,
    pub path: String,
    pub parent: Option<NodeId>,
    /// For a callable, the fewest and most arguments its signature accepts.
    pub arity: Option<(u16, u16)>,
    /// For a Go callable, how many results its signature returns (with its parameters,
    /// what decides whether a method implements an interface's).
    pub results: Option<u16>,
    /// For a manifest's node, the path it stands for, which its signature holds: a
    /// crate's root file, the files a TypeScript path alias maps to
    /// (`codegraph_parse::manifest`).
    pub stands_for: Option<String>,
}

impl Def {
    pub fn of(node: &Node) -> Def {
        // Only where calls choose overloads by it (Java, C++) or a method's parameters
        // decide whether its type implements an interface (Go): elsewhere a parameter
        // edit would change the definition for nothing.
        let counted = matches!(node.language, Language::Java | Language::Cpp | Language::Go);
        let arity = match (&node.signature, node.kind.is_callable() && counted) {
            (Some(sig), true) => crate::resolve::arity::parameter_range(sig, &node.name),
            _ => None,
        };
        let results = match &node.signature {
            Some(sig) if node.language == Language::Go && node.kind.is_callable() => {
                crate::resolve::arity::result_count(sig, &node.name)
            }
            _ => None,
        };
        Def {
            id: node.id,
            kind: node.kind,
            language: node.language,
            name: node.name.clone(),
            qualified_name: node.qualified_name.clone(),
            path: node.path.clone(),
            parent: node.parent,
            arity,
            results,
            stands_for: match node.kind {
                NodeKind::Module | NodeKind::Import
                    if codegraph_parse::manifest::is_manifest(&node.path) =>
                {
                    node.signature.clone()
                }
                _ => None,
            },
        }
    }

    /// Whether a call passing `n` arguments fits this definition (anything does when
    /// its parameters are unknown).
    pub fn accepts(&self, n: u16) -> bool {
        self.arity
            .is_none_or(|(fewest, most)| fewest <= n && n <= most)
    }
}

/// One file as resolution sees it.
#[derive(Clone, Debug, Default)]
pub struct FileData {
    pub path: String,
    pub nodes: Vec<Def>,
    pub references: Vec<Reference>,
}

/// Read access to one project for resolution.
pub trait View {
    /// Every node with this simple name, sorted by id.
    fn named(&self, name: &str) -> Result<Arc<[Def]>>;
    /// One file's nodes and references.
    fn file(&self, path: &str) -> Result<Option<Arc<FileData>>>;
    /// A file's own node (its first): what module lookups need, without the rest of
    /// the file. A store answers it with one read.
    fn file_node(&self, path: &str) -> Result<Option<Def>> {
        Ok(self.file(path)?.and_then(|d| d.nodes.first().cloned()))
    }
    /// Every file path in the project.
    fn paths(&self) -> &PathSet;
}

/// The project's file paths, indexed by directory.
#[derive(Clone, Debug, Default)]
pub struct PathSet {
    by_dir: BTreeMap<String, BTreeSet<String>>,
}

/// The directory part of a `/`-separated path (`""` at the root).
pub fn dir_of(path: &str) -> &str {
    path.rfind('/').map_or("", |i| &path[..i])
}

impl PathSet {
    pub fn insert(&mut self, path: &str) {
        self.by_dir
            .entry(dir_of(path).to_string())
            .or_default()
            .insert(path.to_string());
    }

    pub fn contains(&self, path: &str) -> bool {
        self.by_dir
            .get(dir_of(path))
            .is_some_and(|s| s.contains(path))
    }

    /// Files directly in `dir`.
    pub fn in_dir(&self, dir: &str) -> impl Iterator<Item = &str> {
        self.by_dir
            .get(dir)
            .into_iter()
            .flatten()
            .map(|s| s.as_str())
    }

    /// Directories whose path is `suffix` or ends with `/suffix`.
    pub fn dirs_ending_with<'a>(&'a self, suffix: &'a str) -> impl Iterator<Item = &'a str> {
        self.by_dir.keys().map(|s| s.as_str()).filter(move |d| {
            *d == suffix
                || (d.len() > suffix.len()
                    && d.ends_with(suffix)
                    && d.as_bytes()[d.len() - suffix.len() - 1] == b'/')
        })
    }
}

/// A [`View`] over files held in memory: what a clean build resolves against, and the
/// overlay of changed files during an incremental update.
#[derive(Default)]
pub struct MemoryView {
    files: HashMap<String, Arc<FileData>>,
    /// Definitions by name while files are added.
    building: HashMap<String, Vec<Def>>,
    /// The same, sorted and frozen by `finish`, so a lookup is an `Arc` clone: resolution
    /// asks for common names (`__init__`, `get`) hundreds of thousands of times.
    names: HashMap<String, Arc<[Def]>>,
    paths: PathSet,
    sorted: bool,
}

impl MemoryView {
    pub fn new() -> MemoryView {
        MemoryView::default()
    }

    pub fn add(&mut self, file: FileData) {
        for def in &file.nodes {
            self.building
                .entry(def.name.clone())
                .or_default()
                .push(def.clone());
        }
        self.paths.insert(&file.path);
        self.files.insert(file.path.clone(), Arc::new(file));
        self.sorted = false;
    }

    /// Sorts name lists so lookups answer in a fixed order. Call after the last `add`.
    pub fn finish(&mut self) {
        for (name, mut defs) in self.building.drain() {
            // Names added after an earlier `finish` join the frozen list.
            if let Some(old) = self.names.get(&name) {
                defs.extend(old.iter().cloned());
            }
            defs.sort_by_key(|d| d.id);
            self.names.insert(name, Arc::from(defs));
        }
        self.sorted = true;
    }
}

impl View for MemoryView {
    fn named(&self, name: &str) -> Result<Arc<[Def]>> {
        debug_assert!(self.sorted, "MemoryView::finish not called");
        Ok(self
            .names
            .get(name)
            .cloned()
            .unwrap_or_else(|| Arc::from(Vec::new())))
    }

    fn file(&self, path: &str) -> Result<Option<Arc<FileData>>> {
        Ok(self.files.get(path).cloned())
    }

    fn paths(&self) -> &PathSet {
        &self.paths
    }
}

/// Wraps a [`View`] and notes the key of every read.
pub struct Recorder<'v, V: View + ?Sized> {
    view: &'v V,
    /// One frame per computation in progress; reads go to the innermost.
    stack: RefCell<Vec<Frame>>,
}

/// The reads of one finished computation: keys it noted itself, and the reads of the
/// finished (memoised) computations it used, shared rather than copied. A memoised
/// answer can be used thousands of times (every file importing a barrel module walks
/// it), and re-export chains nest them deeply; copying keys into each enclosing
/// computation was quadratic in the depth. Flattened once, per file, by
/// [`Recorder::take`].
#[derive(Debug, Default)]
pub struct Reads {
    keys: BTreeSet<String>,
    included: Vec<Arc<Reads>>,
}

impl Reads {
    /// Adds every key reachable from `self` to `out`, visiting each shared part once.
    fn flatten_into(&self, out: &mut BTreeSet<String>, seen: &mut HashSet<usize>) {
        out.extend(self.keys.iter().cloned());
        for part in &self.included {
            if seen.insert(Arc::as_ptr(part) as usize) {
                part.flatten_into(out, seen);
            }
        }
    }
}

/// The reads of a computation in progress.
#[derive(Default)]
struct Frame {
    keys: BTreeSet<String>,
    included: Vec<Arc<Reads>>,
    included_ptrs: HashSet<usize>,
}

impl Frame {
    fn include(&mut self, reads: &Arc<Reads>) {
        if self.included_ptrs.insert(Arc::as_ptr(reads) as usize) {
            self.included.push(Arc::clone(reads));
        }
    }

    fn finish(self) -> Reads {
        Reads {
            keys: self.keys,
            included: self.included,
        }
    }
}

impl<'v, V: View + ?Sized> Recorder<'v, V> {
    pub fn new(view: &'v V) -> Self {
        Recorder {
            view,
            stack: RefCell::new(vec![Frame::default()]),
        }
    }

    pub fn note(&self, key: String) {
        if let Some(top) = self.stack.borrow_mut().last_mut() {
            top.keys.insert(key);
        }
    }

    /// Notes every read of a finished computation.
    pub fn note_all(&self, reads: &Arc<Reads>) {
        if let Some(top) = self.stack.borrow_mut().last_mut() {
            top.include(reads);
        }
    }

    /// Starts a nested computation whose reads are also collected on their own.
    pub fn push(&self) {
        self.stack.borrow_mut().push(Frame::default());
    }

    /// Ends a nested computation: its reads are returned and become part of the
    /// enclosing one.
    pub fn pop(&self) -> Arc<Reads> {
        let mut stack = self.stack.borrow_mut();
        let reads = Arc::new(stack.pop().unwrap_or_default().finish());
        if let Some(parent) = stack.last_mut() {
            parent.include(&reads);
        }
        reads
    }

    /// Every key read since the recorder was made (or last taken).
    pub fn take(&self) -> BTreeSet<String> {
        let mut stack = self.stack.borrow_mut();
        let mut all = BTreeSet::new();
        let mut seen = HashSet::new();
        for frame in stack.iter_mut() {
            std::mem::take(frame)
                .finish()
                .flatten_into(&mut all, &mut seen);
        }
        all
    }

    pub fn named(&self, name: &str) -> Result<Arc<[Def]>> {
        self.note(name.to_string());
        self.view.named(name)
    }

    pub fn file(&self, path: &str) -> Result<Option<Arc<FileData>>> {
        self.note(path_key(path));
        self.view.file(path)
    }

    /// Noted under the same key as [`Recorder::file`]: a file's node changes only when
    /// the file does.
    pub fn file_node(&self, path: &str) -> Result<Option<Def>> {
        self.note(path_key(path));
        self.view.file_node(path)
    }

    pub fn has_file(&self, path: &str) -> bool {
        self.note(dir_key(dir_of(path)));
        self.view.paths().contains(path)
    }

    pub fn files_in_dir(&self, dir: &str) -> Vec<String> {
        self.note(dir_key(dir));
        self.view.paths().in_dir(dir).map(str::to_string).collect()
    }

    /// Directories ending with `suffix`. The answer can change when any directory
    /// appears or vanishes, so it is keyed on the suffix's last component.
    pub fn dirs_ending_with(&self, suffix: &str) -> Vec<String> {
        let last = suffix.rsplit('/').next().unwrap_or(suffix);
        self.note(dir_name_key(last));
        self.view
            .paths()
            .dirs_ending_with(suffix)
            .map(str::to_string)
            .collect()
    }
}

/// The dependency key of reading a file's contents.
pub fn path_key(path: &str) -> String {
    format!("path:{path}")
}

/// The dependency key of listing a directory.
pub fn dir_key(dir: &str) -> String {
    format!("dir:{dir}")
}

/// The dependency key of looking for directories by their last component.
pub fn dir_name_key(name: &str) -> String {
    format!("dirname:{name}")
}

/// The keys whose answers change when `path` appears or disappears.
pub fn path_presence_keys(path: &str) -> Vec<String> {
    let dir = dir_of(path);
    let mut keys = vec![path_key(path), dir_key(dir)];
    // Every ancestor directory may appear or vanish with it.
    let mut d = dir;
    loop {
        let last = d.rsplit('/').next().unwrap_or(d);
        keys.push(dir_name_key(last));
        match d.rfind('/') {
            Some(i) => d = &d[..i],
            None => break,
        }
    }
    keys
}
