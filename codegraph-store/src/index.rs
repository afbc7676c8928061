//! Indexing: parse a source into a store, and keep it up to date incrementally.
//!
//! A run goes in three phases, ordered so that the store never holds an edge to a node
//! that does not exist, whenever the process dies:
//!
//! 1. clear the resolved edges of every *affected* file that is not itself rewritten;
//! 2. remove vanished files and write changed ones (one atomic batch per file; writing
//!    a file drops its own resolved edges first);
//! 3. resolve the affected files against the new state and write their edges.
//!
//! Edges only leave a file in phase 3, towards nodes written in phase 2. An edge into a
//! node removed in phase 2 can only come from a file that depended on that node's name,
//! which is affected and was cleared in phase 1. The project is marked dirty before
//! phase 1 and clean after phase 3; a run that finds it dirty resolves every file.
//!
//! *Affected* means: changed, added, or holding a resolution that read something that
//! changed (see the `view` module). The result equals a clean rebuild; the
//! `incremental_equals_rebuild` property test checks it over random edit sequences.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use codegraph_core::{
    Cancel, Error, FileRecord, FileResolution, FileStamp, FileUpdate, GraphStore, Language, NodeId,
    ParsedFile, ProjectMeta, Reference, ReferenceKind, Result, SkippedFile,
};
use codegraph_parse::source::Source;
use codegraph_parse::{FileOutcome, KnownFile, Pipeline, PipelineStats};
use rayon::prelude::*;

use crate::precise::{Precise, PreciseFile};
use crate::resolve::Resolver;
use crate::view::{Def, FileData, MemoryView, PathSet, View, path_key, path_presence_keys};

/// Counters a caller can watch while a run goes (for a progress bar).
#[derive(Debug, Default)]
pub struct IndexProgress {
    /// Parsing, as the pipeline reports it.
    pub parse: PipelineStats,
    /// Files whose references are to be resolved, once known.
    pub to_resolve: AtomicU64,
    /// Files resolved so far.
    pub resolved: AtomicU64,
}

/// What a run did.
#[derive(Debug, Default, Clone)]
pub struct IndexReport {
    /// Files parsed because they were new or changed.
    pub parsed: usize,
    /// Files whose content matched the store.
    pub unchanged: usize,
    /// Files gone from the source, removed from the project.
    pub removed: usize,
    /// Files whose references were resolved (changed ones and those they affect).
    pub resolved: usize,
    /// Whether every file was resolved (first run, or after an interrupted one).
    pub full: bool,
    /// Files not parsed, with the reason (too large, binary, generated, unsafe path, ...).
    pub skipped: Vec<SkippedFile>,
    /// Lines in the parsed files.
    pub lines: u64,
    /// Nodes written (definitions of the parsed files).
    pub nodes_written: u64,
    /// Edges written by resolution.
    pub edges_written: u64,
    /// The source stopped with this error part-way; what it delivered was indexed and
    /// nothing was removed.
    pub source_error: Option<String>,
    /// Walking, reading and parsing.
    pub parse_time: Duration,
    /// The part of `parse_time` the source took to deliver its files (the directory
    /// walk, with a walk cache mostly `stat`s).
    pub walk_time: Duration,
    /// Writing the changed files' nodes and references.
    pub write_time: Duration,
    /// Resolving references and writing the edges.
    pub resolve_time: Duration,
    /// Flushing the store and committing the companions (full text, embeddings).
    pub commit_time: Duration,
    /// The whole run.
    pub total_time: Duration,
}

/// Options of an indexing run.
pub struct IndexOptions {
    /// Parse every file even when its content hash matches the store.
    pub force: bool,
    /// Threads for resolution (parsing uses the pipeline's own).
    pub threads: usize,
    /// Where the project came from, recorded in its metadata.
    pub source_label: Option<String>,
    /// End the run with [`GraphStore::sync`] instead of [`GraphStore::flush`]: as
    /// durable, but the next process to open the store replays the log. For a
    /// long-lived process that flushes when idle (`codegraph index --watch`).
    pub defer_flush: bool,
    /// Keep what resolution reads from the store for the next run (a long-lived
    /// process that indexes the same store and project again and again).
    pub resolve_cache: Option<Arc<ResolveCache>>,
    /// Stops the run when set: it returns [`Error::Stopped`] before writing anything
    /// if parsing is still going, else at the next file it resolves. A run stopped
    /// while resolving leaves the project dirty, so the next one resolves every file
    /// (the same as after a crash).
    pub cancel: Cancel,
    /// Resolutions imported from a compiler-grade index; each file's apply while its
    /// content is the one they were read from.
    pub precise: Option<Arc<Precise>>,
    /// Files to resolve again even if nothing they depend on changed (the files a new
    /// import covers).
    pub resolve_also: Vec<String>,
}

impl Default for IndexOptions {
    fn default() -> Self {
        IndexOptions {
            force: false,
            threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            source_label: None,
            defer_flush: false,
            resolve_cache: None,
            cancel: Cancel::default(),
            precise: None,
            resolve_also: Vec::new(),
        }
    }
}

/// Something kept in step with the graph by the same indexing runs: the full-text
/// index, embeddings. It is shown every file parsed, with its bytes, and every file
/// that vanished, and commits once the graph's writes are all in its log.
///
/// A companion that missed runs (a crash before its commit, or
/// one added to an existing store) catches up: a file whose hash in [`Companion::held`]
/// differs from the graph's is parsed again even though it did not change.
pub trait Companion: Sync {
    /// The content hash of every file the companion holds, as of its last commit.
    fn held(&self, project: &str) -> Result<HashMap<String, u64>>;
    /// A file parsed in this run. Called from worker threads, in any order.
    fn parsed(&self, project: &str, file: &ParsedFile, bytes: &[u8]) -> Result<()>;
    /// A file that is gone from the project.
    fn removed(&self, project: &str, path: &str) -> Result<()>;
    /// Makes this run's changes durable; called once the graph is written.
    fn commit(&self, project: &str) -> Result<()>;
}

/// Indexes `source` into `project`: a first run builds the graph, later runs update it.
pub fn index<S: GraphStore + ?Sized>(
    store: &S,
    project: &str,
    source: &mut dyn Source,
    pipeline: Pipeline,
    options: &IndexOptions,
    progress: &IndexProgress,
) -> Result<IndexReport> {
    index_with(store, &[], project, source, pipeline, options, progress)
}

/// [`index`], keeping `companions` (the full-text index, the embeddings) in step with
/// the graph. A file is skipped as unchanged only when every companion holds it at the
/// graph's hash; otherwise it is parsed and shown to all of them. Each companion is
/// told of the files it holds that the project no longer has.
pub fn index_with<S: GraphStore + ?Sized>(
    store: &S,
    companions: &[&dyn Companion],
    project: &str,
    source: &mut dyn Source,
    pipeline: Pipeline,
    options: &IndexOptions,
    progress: &IndexProgress,
) -> Result<IndexReport> {
    if project.is_empty() {
        return Err(Error::InvalidInput("project name is empty".into()));
    }
    let mut run = Run {
        store,
        companions,
        project,
        options,
        progress,
        started: Instant::now(),
        report: IndexReport::default(),
        precise: None,
    };
    let meta = store.project(project)?;
    let was_dirty = meta.as_ref().is_some_and(|m| m.dirty);
    // The query of the language the last run found most is compiled while the file
    // records are read (10-17 ms for Django), not only once the walk starts.
    let warmed = meta.as_ref().and_then(|m| m.main_language);
    pipeline.warm_up(warmed.as_slice());
    let old = run.old_records()?;

    // Parse what changed, with the query of the project's main language compiled
    // while the source is walked. Only that one: compiling costs 2 to 100 ms of CPU
    // per language, taken from the walk, and most runs parse nothing.
    let main_language = main_language_before(&old);
    let pipeline = pipeline.prepare(
        main_language
            .filter(|l| Some(*l) != warmed)
            .into_iter()
            .collect(),
    );
    let mut walked = run.parse(source, pipeline, &old)?;
    let present = walked.present();
    let removed = run.vanished(&old, &walked, &present)?;

    if walked.parsed.is_empty()
        && removed.is_empty()
        && !was_dirty
        && options.resolve_also.is_empty()
    {
        return run.nothing_changed(meta, main_language, old, &walked.rewritten_records);
    }

    // Which dependency keys changed: only an update needs them, to find the files to
    // resolve again; a full run resolves every file anyway.
    let full = old.is_empty() || was_dirty;
    let changed_keys = if full {
        BTreeSet::new()
    } else {
        run.changed_keys(&old, &walked.parsed, &removed)?
    };
    run.report.full = full;
    let removed_set: BTreeSet<&str> = removed.iter().map(|s| s.as_str()).collect();
    let mut affected = run.affected(full, &walked.parsed, &present, &removed_set, &changed_keys)?;
    affected.extend(
        options
            .resolve_also
            .iter()
            .filter(|p| present.contains(p.as_str()))
            .cloned(),
    );
    // The imported resolutions of the files whose content is still theirs.
    let precise = options.precise.as_ref().map(|precise| {
        let parsed: HashMap<&str, u64> = walked
            .parsed
            .iter()
            .map(|p| (p.path.as_str(), p.content_hash))
            .collect();
        Arc::new(precise.applicable(|path| {
            parsed
                .get(path)
                .copied()
                .or_else(|| old.get(path).map(|r| r.content_hash))
        }))
    });
    run.precise = precise;

    let view_maps = match &options.resolve_cache {
        Some(cache) => cache.for_run(
            project,
            full,
            changed_keys
                .iter()
                .map(|k| k.as_str())
                .chain(walked.parsed.iter().map(|p| p.path.as_str()))
                .chain(removed.iter().map(|p| p.as_str())),
        ),
        None => Arc::default(),
    };

    let mut meta = meta.unwrap_or_else(|| project_meta(project, options, true));
    meta.dirty = true;
    if options.source_label.is_some() {
        meta.source = options.source_label.clone();
    }
    store.set_project(&meta)?;

    let added: Vec<String> = walked
        .parsed
        .iter()
        .filter(|p| !old.contains_key(&p.path))
        .map(|p| p.path.clone())
        .collect();
    let main_language = main_language_after(&old, &walked.parsed, &removed_set);

    run.clear_edges(&old, &walked.parsed, &affected)?;
    progress
        .to_resolve
        .store(affected.len() as u64, Ordering::Relaxed);
    let affected: Vec<String> = affected.into_iter().collect();
    let parsed = std::mem::take(&mut walked.parsed);
    if old.is_empty() {
        run.build_in_memory(parsed, &affected)?;
    } else {
        run.write_files(parsed, &removed)?;
        // The files the store holds now: those it held, less those removed, plus
        // those added (read from what is known instead of from the store again).
        let mut paths = PathSet::default();
        for path in old.keys().chain(&added) {
            if !removed_set.contains(path.as_str()) {
                paths.insert(path);
            }
        }
        run.resolve_in_store(paths, view_maps, &affected)?;
    }
    run.report.resolved = affected.len();
    run.commit(
        meta,
        main_language,
        old,
        &walked.rewritten_records,
        &removed,
    )
}

/// One indexing run: what it works on and the report it fills in, phase by phase. The
/// phases are its methods, called in order by [`index_with`].
struct Run<'a, S: GraphStore + ?Sized> {
    store: &'a S,
    companions: &'a [&'a dyn Companion],
    project: &'a str,
    options: &'a IndexOptions,
    progress: &'a IndexProgress,
    started: Instant,
    report: IndexReport,
    /// The imported resolutions that apply this run, by path.
    precise: Option<Arc<HashMap<String, Arc<PreciseFile>>>>,
}

/// What the walk of the source found.
struct Walked {
    /// Files parsed (new, changed, or missing from a companion), sorted by path.
    parsed: Vec<ParsedFile>,
    /// Files whose content matched the store.
    unchanged: BTreeSet<String>,
    /// Whether the source ran to the end; only then is a missing file removed.
    complete: bool,
    /// What each companion held before the run.
    held: Vec<HashMap<String, u64>>,
    /// Every path whose record this run rewrites (the kept records are refreshed from
    /// these at the end).
    rewritten_records: Vec<String>,
}

impl Walked {
    /// Every path the source delivered.
    fn present(&self) -> BTreeSet<&str> {
        self.parsed
            .iter()
            .map(|p| p.path.as_str())
            .chain(self.unchanged.iter().map(|s| s.as_str()))
            .collect()
    }
}

impl<S: GraphStore + ?Sized> Run<'_, S> {
    /// The project's file records as the last run left them.
    fn old_records(&self) -> Result<HashMap<String, FileRecord>> {
        // A watcher has the records as its last run left them (reading them back costs
        // a one-file update of Django 10-17 ms); taken, so a run that fails leaves
        // none.
        let kept = self
            .options
            .resolve_cache
            .as_ref()
            .and_then(|c| c.take_files(self.project));
        Ok(match kept {
            Some(files) => files,
            None => self
                .store
                .files(self.project)?
                .into_iter()
                .map(|f| (f.path.clone(), f))
                .collect(),
        })
    }

    /// Walks the source and parses what changed, showing each parsed file to the
    /// companions; records new stamps of unchanged files.
    fn parse(
        &mut self,
        source: &mut dyn Source,
        pipeline: Pipeline,
        old: &HashMap<String, FileRecord>,
    ) -> Result<Walked> {
        let (store, project, companions) = (self.store, self.project, self.companions);
        let held: Vec<HashMap<String, u64>> = companions
            .iter()
            .map(|c| c.held(project))
            .collect::<Result<_>>()?;
        let pipeline = if self.options.force {
            pipeline
        } else {
            let known: HashMap<String, KnownFile> = old
                .values()
                .filter(|f| held.iter().all(|h| h.get(&f.path) == Some(&f.content_hash)))
                .map(|f| {
                    let known = KnownFile {
                        content_hash: f.content_hash,
                        stamp: f.stamp,
                    };
                    (f.path.clone(), known)
                })
                .collect();
            pipeline.known_files(Box::new(move |path| known.get(path).copied()))
        };
        let parsed: Mutex<Vec<ParsedFile>> = Mutex::new(Vec::new());
        let unchanged: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
        // Unchanged files whose stamp moved (a `touch`, a checkout): recorded so the
        // next run need not read them.
        let restamped: Mutex<Vec<(String, Option<FileStamp>)>> = Mutex::new(Vec::new());
        let skipped: Mutex<Vec<SkippedFile>> = Mutex::new(Vec::new());
        let companion_error: Mutex<Option<Error>> = Mutex::new(None);
        let parse_result = pipeline.run(source, &self.progress.parse, &|outcome| match outcome {
            FileOutcome::Parsed(file, bytes) => {
                if let Err(e) = companions
                    .iter()
                    .try_for_each(|c| c.parsed(project, &file, &bytes))
                {
                    lock(&companion_error).get_or_insert(e);
                }
                lock(&parsed).push(file)
            }
            FileOutcome::Skipped(s) => lock(&skipped).push(s),
            FileOutcome::Unchanged { path, stamp, .. } => {
                if old.get(&path).is_some_and(|f| f.stamp != stamp) {
                    lock(&restamped).push((path.clone(), stamp));
                }
                lock(&unchanged).insert(path);
            }
        });
        let report = &mut self.report;
        report.parse_time = self.started.elapsed();
        report.walk_time =
            Duration::from_nanos(self.progress.parse.source_nanos.load(Ordering::Relaxed));
        self.options.cancel.check()?;
        if let Some(e) = into_inner(companion_error) {
            return Err(e);
        }
        let mut parsed = into_inner(parsed);
        parsed.sort_by(|a, b| a.path.cmp(&b.path));
        let unchanged = into_inner(unchanged);
        report.skipped = into_inner(skipped);
        report.skipped.sort_by(|a, b| a.path.cmp(&b.path));
        let complete = match parse_result {
            Ok(_) => true,
            Err(e) => {
                report.source_error = Some(e.to_string());
                false
            }
        };
        report.parsed = parsed.len();
        report.unchanged = unchanged.len();
        let mut rewritten_records: Vec<String> = parsed.iter().map(|p| p.path.clone()).collect();
        for (path, stamp) in into_inner(restamped) {
            store.restamp_file(project, &path, stamp)?;
            rewritten_records.push(path);
        }
        report.lines = parsed.iter().map(|p| u64::from(p.lines)).sum();
        Ok(Walked {
            parsed,
            unchanged,
            complete,
            held,
            rewritten_records,
        })
    }

    /// The files the project had and the source no longer delivered, sorted; tells
    /// each companion of every file it holds that is not present. Nothing is removed
    /// when the source stopped part-way.
    fn vanished(
        &mut self,
        old: &HashMap<String, FileRecord>,
        walked: &Walked,
        present: &BTreeSet<&str>,
    ) -> Result<Vec<String>> {
        if !walked.complete {
            return Ok(Vec::new());
        }
        let mut removed: Vec<String> = old
            .keys()
            .filter(|p| !present.contains(p.as_str()))
            .cloned()
            .collect();
        removed.sort();
        self.report.removed = removed.len();
        // What each companion holds and the project no longer has: removed files, and
        // any it kept from a run whose graph never committed.
        for (c, held) in self.companions.iter().zip(&walked.held) {
            for path in held.keys() {
                if !present.contains(path.as_str()) {
                    c.removed(self.project, path)?;
                }
            }
        }
        Ok(removed)
    }

    /// Ends a run that found nothing to write: records the main language of a new
    /// project (or of a store written before the field existed) and commits the
    /// companions.
    fn nothing_changed(
        mut self,
        meta: Option<ProjectMeta>,
        main_language: Option<Language>,
        old: HashMap<String, FileRecord>,
        rewritten_records: &[String],
    ) -> Result<IndexReport> {
        let (store, project) = (self.store, self.project);
        let committing = Instant::now();
        match meta {
            None => store.set_project(&ProjectMeta {
                main_language,
                indexed_ms: Some(now_ms()),
                ..project_meta(project, self.options, false)
            })?,
            // A store written before the field existed gets it on its first run.
            Some(mut meta) if meta.main_language != main_language => {
                meta.main_language = main_language;
                store.set_project(&meta)?;
            }
            Some(_) => {}
        }
        for c in self.companions {
            c.commit(project)?;
        }
        keep_files(store, project, self.options, old, rewritten_records, &[])?;
        self.report.commit_time = committing.elapsed();
        self.report.total_time = self.started.elapsed();
        Ok(self.report)
    }

    /// The dependency keys an update changed: the names of definitions added, removed
    /// or altered, and the path keys of files whose outside view changed, appeared or
    /// vanished.
    fn changed_keys(
        &self,
        old: &HashMap<String, FileRecord>,
        parsed: &[ParsedFile],
        removed: &[String],
    ) -> Result<BTreeSet<String>> {
        let (store, project) = (self.store, self.project);
        let mut changed_keys: BTreeSet<String> = BTreeSet::new();
        for file in parsed {
            let new_defs: BTreeSet<Def> = file.nodes.iter().map(Def::of).collect();
            match old.get(&file.path) {
                Some(record) => {
                    let old_defs: BTreeSet<Def> = stored_defs(store, project, record)?;
                    for d in old_defs.symmetric_difference(&new_defs) {
                        changed_keys.insert(d.name.clone());
                    }
                    // Files that read this one see its definitions and its non-call
                    // references; an edit that moved code or changed only calls leaves
                    // them nothing to re-resolve.
                    // The old references are read only when the definitions agree.
                    if old_defs != new_defs
                        || !same_outside_view(
                            &store.references(project, &file.path)?,
                            &file.references,
                        )
                    {
                        changed_keys.insert(path_key(&file.path));
                    }
                }
                None => {
                    changed_keys.extend(new_defs.iter().map(|d| d.name.clone()));
                    changed_keys.extend(path_presence_keys(&file.path));
                }
            }
        }
        for path in removed {
            let record = &old[path];
            changed_keys.extend(
                stored_defs(store, project, record)?
                    .into_iter()
                    .map(|d| d.name),
            );
            changed_keys.extend(path_presence_keys(path));
        }
        Ok(changed_keys)
    }

    /// The files to resolve: every present one in a full run; otherwise the parsed
    /// ones and the present dependents of a changed key.
    fn affected(
        &self,
        full: bool,
        parsed: &[ParsedFile],
        present: &BTreeSet<&str>,
        removed: &BTreeSet<&str>,
        changed_keys: &BTreeSet<String>,
    ) -> Result<BTreeSet<String>> {
        let mut affected: BTreeSet<String> = BTreeSet::new();
        if full {
            affected.extend(present.iter().map(|s| s.to_string()));
        } else {
            affected.extend(parsed.iter().map(|p| p.path.clone()));
            for key in changed_keys {
                for path in self.store.dependents(self.project, key)? {
                    if !removed.contains(path.as_str()) && present.contains(path.as_str()) {
                        affected.insert(path);
                    }
                }
            }
        }
        Ok(affected)
    }

    /// Phase 1: clears the edges of affected files that are not rewritten.
    fn clear_edges(
        &self,
        old: &HashMap<String, FileRecord>,
        parsed: &[ParsedFile],
        affected: &BTreeSet<String>,
    ) -> Result<()> {
        let rewritten: BTreeSet<&str> = parsed.iter().map(|p| p.path.as_str()).collect();
        for path in affected {
            if !rewritten.contains(path.as_str()) && old.contains_key(path) {
                self.store
                    .write_resolution(self.project, path, &FileResolution::default())?;
            }
        }
        Ok(())
    }

    /// A first build: resolves against the parse results in memory, then hands the
    /// store the whole graph at once (RocksDB writes its table files directly instead
    /// of taking 600,000 small writes through its memtables).
    fn build_in_memory(&mut self, parsed: Vec<ParsedFile>, affected: &[String]) -> Result<()> {
        let (store, project, options) = (self.store, self.project, self.options);
        let resolving = Instant::now();
        let data: Vec<FileData> = with_pool(options.threads, "codegraph-resolve", || {
            Ok(parsed.par_iter().map(file_data).collect())
        })?;
        let mut view = MemoryView::new();
        for file in data {
            view.add(file);
        }
        view.finish();
        let resolutions: Vec<(String, FileResolution)> = resolve_each(
            &view,
            affected,
            options,
            self.precise.as_ref(),
            self.progress,
            |path, resolution| Ok((path.to_string(), resolution)),
        )?;
        self.report.resolve_time = resolving.elapsed();
        let writing = Instant::now();
        let updates = with_pool(options.threads, "codegraph-write", || {
            let updates: Vec<FileUpdate> = parsed.into_par_iter().map(into_update).collect();
            store.load(project, &updates, &resolutions)?;
            Ok(updates)
        })?;
        self.report.nodes_written = updates.iter().map(|u| u.nodes.len() as u64).sum();
        self.report.edges_written = resolutions.iter().map(|(_, r)| r.edges.len() as u64).sum();
        self.report.write_time = writing.elapsed();
        drop_in_background((view, updates, resolutions));
        Ok(())
    }

    /// Phase 2: removes the vanished files and writes the parsed ones. Files are
    /// independent batches, so they are written in parallel.
    fn write_files(&mut self, parsed: Vec<ParsedFile>, removed: &[String]) -> Result<()> {
        let (store, project) = (self.store, self.project);
        let writing = Instant::now();
        for path in removed {
            store.remove_file(project, path)?;
        }
        self.report.nodes_written = parsed.iter().map(|f| f.nodes.len() as u64).sum();
        with_pool(self.options.threads, "codegraph-write", || {
            parsed
                .into_par_iter()
                .try_for_each(|file| store.write_file(project, &into_update(file)))
        })?;
        self.report.write_time = writing.elapsed();
        Ok(())
    }

    /// Phase 3: resolves the affected files against the store, which now holds the
    /// new state, and writes their edges.
    fn resolve_in_store(
        &mut self,
        paths: PathSet,
        view_maps: Arc<ViewMaps>,
        affected: &[String],
    ) -> Result<()> {
        let (store, project) = (self.store, self.project);
        let resolving = Instant::now();
        let edges_written = AtomicU64::new(0);
        let view = StoreView::with_maps(store, project, paths, view_maps);
        resolve_each(
            &view,
            affected,
            self.options,
            self.precise.as_ref(),
            self.progress,
            |path, resolution| {
                edges_written.fetch_add(resolution.edges.len() as u64, Ordering::Relaxed);
                store.write_resolution(project, path, &resolution)
            },
        )?;
        self.report.edges_written = edges_written.into_inner();
        self.report.resolve_time = resolving.elapsed();
        Ok(())
    }

    /// Marks the project clean, flushes the graph, commits the companions and hands a
    /// watcher's cache the records as the run leaves them.
    fn commit(
        mut self,
        mut meta: ProjectMeta,
        main_language: Option<Language>,
        old: HashMap<String, FileRecord>,
        rewritten_records: &[String],
        removed: &[String],
    ) -> Result<IndexReport> {
        let (store, project, options) = (self.store, self.project, self.options);
        let committing = Instant::now();
        meta.dirty = false;
        meta.main_language = main_language;
        meta.indexed_ms = Some(now_ms());
        store.set_project(&meta)?;
        // The graph's writes are in its log already, so the flush (memtables to table
        // files, only so that the next process replays no log) and the companions'
        // commits are independent: a kill during either leaves the graph whole and a
        // companion that missed the run, which the next run finds by its file hashes.
        // Side by side they take the longer of the two instead of the sum (10-15 ms and
        // about 8 ms for a one-file update of Django).
        let (flushed, committed) = std::thread::scope(|scope| {
            let flush = scope.spawn(|| {
                if options.defer_flush {
                    store.sync()
                } else {
                    store.flush()
                }
            });
            let committed = self.companions.iter().try_for_each(|c| c.commit(project));
            let flushed = flush
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (flushed, committed)
        });
        flushed?;
        committed?;
        // Not after a first build: the next run reads them once.
        if !old.is_empty() {
            keep_files(store, project, options, old, rewritten_records, removed)?;
        }
        self.report.commit_time = committing.elapsed();
        self.report.total_time = self.started.elapsed();
        Ok(self.report)
    }
}

/// The language most of the project's files were in before this run (ties go to the
/// greater [`Language`]).
fn main_language_before(old: &HashMap<String, FileRecord>) -> Option<Language> {
    let mut by_language: HashMap<Language, usize> = HashMap::new();
    for f in old.values() {
        *by_language.entry(f.language).or_default() += 1;
    }
    by_language
        .into_iter()
        .max_by_key(|(l, n)| (*n, *l))
        .map(|(l, _)| l)
}

fn into_inner<T>(m: Mutex<T>) -> T {
    m.into_inner().unwrap_or_else(|e| e.into_inner())
}

/// Hands a watcher's cache the project's file records as the run leaves them: `old`
/// with the records of `rewritten` read back and `removed` dropped.
fn keep_files<S: GraphStore + ?Sized>(
    store: &S,
    project: &str,
    options: &IndexOptions,
    mut old: HashMap<String, FileRecord>,
    rewritten: &[String],
    removed: &[String],
) -> Result<()> {
    let Some(cache) = &options.resolve_cache else {
        return Ok(());
    };
    for path in removed {
        old.remove(path);
    }
    for path in rewritten {
        match store.file(project, path)? {
            Some(record) => old.insert(path.clone(), record),
            None => old.remove(path),
        };
    }
    cache.keep_files(project, old);
    Ok(())
}

/// Resolves every file of `paths` against `view` in parallel, handing each resolution
/// to `sink` (on the worker that made it) and collecting what `sink` returns. Checks
/// the stop flag before each file and counts resolved files for the progress bar.
fn resolve_each<V: View + Sync, T: Send>(
    view: &V,
    paths: &[String],
    options: &IndexOptions,
    precise: Option<&Arc<HashMap<String, Arc<PreciseFile>>>>,
    progress: &IndexProgress,
    sink: impl Fn(&str, FileResolution) -> Result<T> + Sync,
) -> Result<Vec<T>> {
    with_pool(options.threads, "codegraph-resolve", || {
        paths
            .par_iter()
            .map_init(
                || Resolver::new(view),
                |resolver, path| {
                    options.cancel.check()?;
                    let sites = precise.and_then(|p| p.get(path.as_str()));
                    let made = sink(path, resolver.resolve_file(path, sites)?)?;
                    progress.resolved.fetch_add(1, Ordering::Relaxed);
                    Ok(made)
                },
            )
            .collect()
    })
}

/// Frees `value` on a thread of its own. A first build ends holding gigabytes in
/// millions of small allocations; freeing them took 0.2 s of a 11 s run on the
/// thread everything else waits for.
fn drop_in_background<T: Send + 'static>(value: T) {
    let spawned = std::thread::Builder::new()
        .name("codegraph-drop".into())
        .spawn(move || drop(value));
    // Without a thread to spare, the value was dropped by the failed spawn.
    drop(spawned);
}

/// Runs `f` on a pool of `threads` named threads.
fn with_pool<T: Send>(
    threads: usize,
    name: &str,
    f: impl FnOnce() -> Result<T> + Send,
) -> Result<T> {
    let name = name.to_string();
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .thread_name(move |i| format!("{name}-{i}"))
        .build()
        .map_err(|e| Error::InvalidInput(format!("cannot start threads: {e}")))?
        .install(f)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn project_meta(project: &str, options: &IndexOptions, dirty: bool) -> ProjectMeta {
    ProjectMeta {
        name: project.to_string(),
        source: options.source_label.clone(),
        dirty,
        main_language: None,
        indexed_ms: None,
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The language most of the project's files are in once this run's changes count (ties
/// go to the greater [`Language`]): every file parsed, with the language it has now
/// (detection may read a file's first line), and the files held before that were
/// neither parsed again nor removed.
fn main_language_after(
    old: &HashMap<String, FileRecord>,
    parsed: &[ParsedFile],
    removed: &BTreeSet<&str>,
) -> Option<Language> {
    let reparsed: BTreeSet<&str> = parsed.iter().map(|p| p.path.as_str()).collect();
    let mut counts: HashMap<Language, usize> = HashMap::new();
    for f in old.values() {
        if !removed.contains(f.path.as_str()) && !reparsed.contains(f.path.as_str()) {
            *counts.entry(f.language).or_default() += 1;
        }
    }
    for p in parsed {
        *counts.entry(p.language).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by_key(|(l, n)| (*n, *l))
        .map(|(l, _)| l)
}

/// What a store is given for a parsed file, which it consumes: the nodes and
/// references move (a first build holds every file's at once).
fn into_update(file: ParsedFile) -> FileUpdate {
    FileUpdate {
        file: FileRecord {
            node_ids: file.nodes.iter().map(|n| n.id).collect(),
            path: file.path,
            language: file.language,
            content_hash: file.content_hash,
            stamp: file.stamp,
            lines: file.lines,
            has_errors: file.has_errors,
        },
        nodes: file.nodes,
        references: file.references,
    }
}

fn file_data(file: &ParsedFile) -> FileData {
    FileData {
        path: file.path.clone(),
        nodes: file.nodes.iter().map(Def::of).collect(),
        references: file.references.clone(),
    }
}

/// Whether two versions of a file's references look the same to *other* files'
/// resolutions: those read a file's imports, bases and bindings (type, assign and value
/// references) through [`View::file`], never its calls (resolved only for the file they
/// occur in), and positions only as far as which narrowing block (a binding `x!` over
/// a block: Python's `isinstance` and loop bodies, a Rust closure) a binding is inside
/// (an edge's call site comes from the file being resolved). Order counts: the first
/// binding of a name can win.
fn same_outside_view(old: &[Reference], new: &[Reference]) -> bool {
    type Seen<'a> = (
        ReferenceKind,
        NodeId,
        Option<&'a str>,
        Option<&'a str>,
        &'a str,
        Option<&'a str>,
        Option<usize>,
    );
    fn seen(refs: &[Reference]) -> Vec<Seen<'_>> {
        let refs: Vec<&Reference> = refs
            .iter()
            .filter(|r| r.kind != ReferenceKind::Call)
            .collect();
        let narrowing = |r: &Reference| r.subject.as_deref().is_some_and(|s| s.ends_with('!'));
        // Blocks nest: swept by start (a block before what starts where it starts),
        // the innermost block around a reference is the top of the blocks still open.
        let mut order: Vec<usize> = (0..refs.len()).collect();
        order.sort_by_key(|&i| {
            let r = refs[i];
            (
                r.span.start_byte,
                !narrowing(r),
                std::cmp::Reverse(r.span.end_byte),
            )
        });
        let mut inside = vec![None; refs.len()];
        let mut open: Vec<(u32, usize)> = Vec::new();
        for i in order {
            let r = refs[i];
            while open
                .last()
                .is_some_and(|&(end, _)| end <= r.span.start_byte)
            {
                open.pop();
            }
            inside[i] = open.last().map(|&(_, block)| block);
            if narrowing(r) {
                open.push((r.span.end_byte, i));
            }
        }
        refs.iter()
            .zip(inside)
            .map(|(r, inside)| {
                (
                    r.kind,
                    r.source,
                    r.subject.as_deref(),
                    r.qualifier.as_deref(),
                    r.name.as_str(),
                    r.alias.as_deref(),
                    inside,
                )
            })
            .collect()
    }
    seen(old) == seen(new)
}

fn stored_defs<S: GraphStore + ?Sized>(
    store: &S,
    project: &str,
    record: &FileRecord,
) -> Result<BTreeSet<Def>> {
    Ok(store
        .nodes(project, &record.node_ids)?
        .iter()
        .flatten()
        .map(Def::of)
        .collect())
}

/// The resolver's view of a project (the internal `View`) answering from a store, with the answers cached for the run (or, with
/// a [`ResolveCache`], for as long as they hold).
pub struct StoreView<'s, S: GraphStore + ?Sized> {
    store: &'s S,
    project: String,
    paths: PathSet,
    maps: Arc<ViewMaps>,
}

/// A [`StoreView`]'s answers.
#[derive(Default)]
struct ViewMaps {
    names: RwLock<HashMap<String, Arc<[Def]>>>,
    files: RwLock<HashMap<String, Option<Arc<FileData>>>>,
}

impl<'s, S: GraphStore + ?Sized> StoreView<'s, S> {
    /// A view of `project` in `store`: reads the set of paths once; nodes, references
    /// and file records are read on demand.
    pub fn new(store: &'s S, project: &str) -> Result<Self> {
        let mut paths = PathSet::default();
        for f in store.files(project)? {
            paths.insert(&f.path);
        }
        Ok(Self::with_maps(store, project, paths, Arc::default()))
    }

    fn with_maps(store: &'s S, project: &str, paths: PathSet, maps: Arc<ViewMaps>) -> Self {
        StoreView {
            store,
            project: project.to_string(),
            paths,
            maps,
        }
    }
}

/// What resolution read from the store (its definitions by name and its files),
/// kept from one run to the next by a long-lived process that indexes one project of
/// one store again and again (`codegraph index --watch`), so that a one-file update
/// does not read and decode every definition of `get` or `__init__` again.
///
/// Each run first drops what its own changes make stale, using the keys it computes
/// anyway to find the files to resolve again: the names whose definitions were added,
/// removed or changed (as resolution sees them: moving code changes none) and every file parsed or
/// removed. A run that resolves everything, or another project, starts empty. This
/// holds only while nothing else writes the project (the watcher holds the store's
/// lock); a run that fails part-way leaves the project marked dirty, so the next run
/// resolves everything and starts empty too. `incremental_equals_rebuild` runs its
/// edit sequences with a cache as well as without.
///
/// It also keeps the project's file records as the last run left them (the records of
/// the files it parsed, restamped or removed read back from the store at its end);
/// each run takes them out first, so one that fails part-way reads them from the store
/// again next time.
#[derive(Default)]
pub struct ResolveCache {
    state: Mutex<Option<(String, Arc<ViewMaps>)>>,
    files: Mutex<Option<(String, HashMap<String, FileRecord>)>>,
}

impl ResolveCache {
    fn take_files(&self, project: &str) -> Option<HashMap<String, FileRecord>> {
        match lock(&self.files).take() {
            Some((p, files)) if p == project => Some(files),
            _ => None,
        }
    }

    fn keep_files(&self, project: &str, files: HashMap<String, FileRecord>) {
        *lock(&self.files) = Some((project.to_string(), files));
    }

    fn for_run<'k>(
        &self,
        project: &str,
        full: bool,
        stale: impl Iterator<Item = &'k str>,
    ) -> Arc<ViewMaps> {
        let mut state = lock(&self.state);
        match &*state {
            Some((p, maps)) if p == project && !full => {
                let mut names = maps.names.write().unwrap_or_else(|e| e.into_inner());
                let mut files = maps.files.write().unwrap_or_else(|e| e.into_inner());
                for key in stale {
                    names.remove(key);
                    files.remove(key);
                }
                drop((names, files));
                Arc::clone(maps)
            }
            _ => {
                let maps = Arc::new(ViewMaps::default());
                *state = Some((project.to_string(), Arc::clone(&maps)));
                maps
            }
        }
    }
}

impl<S: GraphStore + ?Sized> View for StoreView<'_, S> {
    fn named(&self, name: &str) -> Result<Arc<[Def]>> {
        if let Some(hit) = self
            .maps
            .names
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
        {
            return Ok(Arc::clone(hit));
        }
        let ids: Vec<NodeId> = self
            .store
            .find_by_name(&self.project, name, true, usize::MAX)?
            .into_iter()
            .map(|(_, id)| id)
            .collect();
        let mut defs: Vec<Def> = self
            .store
            .nodes(&self.project, &ids)?
            .iter()
            .flatten()
            .map(Def::of)
            .collect();
        defs.sort_by_key(|d| d.id);
        let defs: Arc<[Def]> = Arc::from(defs);
        self.maps
            .names
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), Arc::clone(&defs));
        Ok(defs)
    }

    fn file(&self, path: &str) -> Result<Option<Arc<FileData>>> {
        if let Some(hit) = self
            .maps
            .files
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(path)
        {
            return Ok(hit.clone());
        }
        let data = match self.store.file(&self.project, path)? {
            Some(record) => {
                let nodes = self
                    .store
                    .nodes(&self.project, &record.node_ids)?
                    .iter()
                    .flatten()
                    .map(Def::of)
                    .collect();
                Some(Arc::new(FileData {
                    path: path.to_string(),
                    nodes,
                    references: self.store.references(&self.project, path)?,
                }))
            }
            None => None,
        };
        self.maps
            .files
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(path.to_string(), data.clone());
        Ok(data)
    }

    fn file_node(&self, path: &str) -> Result<Option<Def>> {
        // A file already read whole answers from memory; otherwise its record names its
        // node, and only that one is read.
        if let Some(hit) = self
            .maps
            .files
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(path)
        {
            return Ok(hit.as_ref().and_then(|d| d.nodes.first().cloned()));
        }
        let Some(record) = self.store.file(&self.project, path)? else {
            return Ok(None);
        };
        let Some(&id) = record.node_ids.first() else {
            return Ok(None);
        };
        Ok(self.store.node(&self.project, id)?.as_ref().map(Def::of))
    }

    fn paths(&self) -> &PathSet {
        &self.paths
    }
}

/// Checks a project's integrity: every node a file lists exists, every resolved edge
/// joins two existing nodes and is indexed from both ends. Returns the problems found,
/// empty when the graph is sound. Used after crashes and in tests.
pub fn verify<S: GraphStore + ?Sized>(store: &S, project: &str) -> Result<Vec<String>> {
    use codegraph_core::Direction;
    let mut problems = Vec::new();
    for record in store.files(project)? {
        for id in &record.node_ids {
            if store.node(project, *id)?.is_none() {
                problems.push(format!("{}: node {id} is missing", record.path));
            }
        }
        let Some(resolution) = store.resolution(project, &record.path)? else {
            continue;
        };
        for edge in &resolution.edges {
            for (end, what) in [(edge.src, "source"), (edge.dst, "destination")] {
                if store.node(project, end)?.is_none() {
                    problems.push(format!(
                        "{}: {} edge {} -> {} has no {what} node",
                        record.path, edge.kind, edge.src, edge.dst
                    ));
                }
            }
            let out = store.edges(project, edge.src, Direction::Outgoing, Some(edge.kind))?;
            let inc = store.edges(project, edge.dst, Direction::Incoming, Some(edge.kind))?;
            if !out.contains(edge) || !inc.contains(edge) {
                problems.push(format!(
                    "{}: {} edge {} -> {} is not indexed from both ends",
                    record.path, edge.kind, edge.src, edge.dst
                ));
            }
        }
    }
    Ok(problems)
}
