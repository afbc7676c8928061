//! Indexing: the one code path by which the CLI, its watcher, a handed-over run and the
//! server's workers bring a project up to date (graph, full text, embeddings).

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use codegraph_core::{Cancel, Embedder, Error, ParsedFile, Result, SkippedFile, TextIndex};
use codegraph_parse::filter::{Filter, FilterConfig};
use codegraph_parse::source::{
    DirectorySource, InputSpec, Sink, Source, SourceError, SourceItem, WalkKind,
};
use codegraph_parse::{ExtractOptions, Pipeline};
use codegraph_store::{Companion, IndexOptions, IndexProgress};
use codegraph_vector::{DocumentOptions, EmbedReport, EmbeddingInputs, SemanticStore};
use serde::{Deserialize, Serialize};

use crate::db::{Db, Warm, lock, with_graph};
use crate::layout;

/// What to index.
pub enum Input<'a> {
    /// A directory, walked from its walk cache in the store (only directories whose
    /// stamps moved are listed again).
    Directory {
        /// The directory.
        path: PathBuf,
        /// The paths changed since this `Db`'s last run of the project, as a file
        /// watcher saw them; `None` when not known. Only a long-lived `Db` uses it.
        changed: Option<Vec<PathBuf>>,
    },
    /// Any other source: a git revision, an archive, a stream, your own [`Source`].
    Source(Box<dyn Source + 'a>),
}

impl<'a> Input<'a> {
    /// A directory.
    pub fn directory(path: impl Into<PathBuf>) -> Input<'a> {
        Input::Directory {
            path: path.into(),
            changed: None,
        }
    }

    /// Any [`Source`].
    pub fn source(source: impl Source + 'a) -> Input<'a> {
        Input::Source(Box::new(source))
    }

    /// What a command line names ([`InputSpec::from_arg`]): a directory, a git
    /// revision, an archive, or a tar stream on standard input.
    pub fn spec(spec: &InputSpec) -> Result<Input<'static>> {
        match spec {
            InputSpec::Path(path) => Ok(Input::directory(path)),
            other => other
                .open()
                .map(Input::Source)
                .map_err(|e| Error::InvalidInput(e.to_string())),
        }
    }
}

/// How a run indexes. The defaults are `codegraph index`'s.
#[derive(Clone, Debug)]
pub struct IndexConfig {
    /// Which files to parse.
    pub filter: FilterConfig,
    /// Worker threads for parsing and resolution; `None`: one per core.
    pub threads: Option<usize>,
    /// Parse every file even when its content is unchanged (and forget the walk cache).
    pub force: bool,
    /// Keep the full-text index in step (feature `tantivy`; ignored without it).
    pub text: bool,
    /// Embed definitions when the `Db` has a model.
    pub embed: bool,
    /// Put doc comments and docstrings into the text index and the embeddings (off
    /// for retrieval evaluations that use docstrings as queries).
    pub include_docs: bool,
    /// A SCIP index of the directory being indexed, made by a compiler-grade indexer:
    /// its resolutions replace the heuristics for the sites it covers (feature `scip`;
    /// a directory input only, whose files' text places the sites).
    pub scip: Option<PathBuf>,
}

impl Default for IndexConfig {
    fn default() -> Self {
        IndexConfig {
            filter: FilterConfig::default(),
            threads: None,
            force: false,
            text: true,
            embed: true,
            include_docs: true,
            scip: None,
        }
    }
}

/// What an import found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScipImport {
    /// Documents in the index.
    pub documents: usize,
    /// Documents that are files of the project whose text on disk is the one the graph
    /// indexed: those whose sites are taken.
    pub covered_files: usize,
    /// Documents naming a file the project does not have.
    pub unknown_files: usize,
    /// Documents whose file on disk is not the one the graph indexed (edited since
    /// the run).
    pub stale_files: usize,
    /// Definitions of the index placed on a definition of the graph.
    pub definitions_matched: usize,
    /// Definitions of the index with no definition of the graph at their name.
    pub definitions_unmatched: usize,
    /// Reference sites of the graph the index resolves: an occurrence covering exactly
    /// the site's name, naming no local. A symbol the index defines but no graph
    /// definition matched leaves its sites to the heuristics.
    pub sites: usize,
    /// Of those, sites naming something outside the project (no edge).
    pub external_sites: usize,
}

/// Counters a caller can watch while a run goes (from another thread: a progress bar,
/// a job's status).
#[derive(Debug, Default)]
pub struct Progress {
    /// Parsing and resolution.
    pub graph: IndexProgress,
    /// Embedding, once the graph is written.
    pub embedding: EmbedProgress,
}

/// How far embedding has got.
#[derive(Debug, Default)]
pub struct EmbedProgress {
    /// Definitions to embed in this run, once known.
    pub total: AtomicU64,
    /// Definitions embedded so far.
    pub done: AtomicU64,
}

/// How the directory walk found the files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum WalkReport {
    /// Every directory was listed.
    Full,
    /// The walk cache held; only directories whose stamps moved were listed.
    Cached {
        /// Directories listed again.
        relisted: usize,
    },
    /// Only the paths a watcher named were looked at.
    Changed {
        /// Paths looked at.
        examined: usize,
    },
}

/// What embedding did in a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EmbedSummary {
    /// Definitions with a vector after the run.
    pub vectors: usize,
    /// Texts sent to the model.
    pub embedded: usize,
    /// Definitions whose vector came from the cache.
    pub cached: usize,
    /// Time spent embedding.
    pub seconds: f64,
    /// Whether an HNSW index is kept.
    pub hnsw: bool,
}

/// What a run did. Serialised, it is `codegraph index --json`'s output and the result
/// of a server job.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IndexReport {
    /// The project.
    pub project: String,
    /// What was read, in words (`directory ./repo`, `git ./repo at v1.2 (3f2a…)`).
    pub source: String,
    /// Files parsed because they were new or changed.
    pub parsed: usize,
    /// Files whose content matched the store.
    pub unchanged: usize,
    /// Files gone from the input, removed from the project.
    pub removed: usize,
    /// Files whose references were resolved (changed ones and those they affect).
    pub resolved: usize,
    /// Whether every file was resolved (first run, or after an interrupted one).
    pub full: bool,
    /// Files not parsed (too large, binary, generated, ...).
    pub skipped: usize,
    /// The skipped files with their reasons (at most the first 100 when serialised).
    #[serde(serialize_with = "first_hundred")]
    pub skipped_files: Vec<SkippedFile>,
    /// Lines in the parsed files.
    pub lines: u64,
    /// Nodes written.
    pub nodes_written: u64,
    /// Edges written.
    pub edges_written: u64,
    /// Walking, reading and parsing.
    pub parse_seconds: f64,
    /// The part of `parse_seconds` the source took to deliver its files.
    pub walk_seconds: f64,
    /// Writing the changed files' nodes and references.
    pub write_seconds: f64,
    /// Resolving references and writing edges.
    pub resolve_seconds: f64,
    /// Flushing the graph and committing the full text and embeddings.
    pub commit_seconds: f64,
    /// The whole run.
    pub seconds: f64,
    /// Bytes the graph takes on disk after the run.
    pub disk_bytes: u64,
    /// The source stopped with this error part-way; what it delivered was indexed and
    /// nothing was removed.
    pub source_error: Option<String>,
    /// How a directory walk went.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub walk: Option<WalkReport>,
    /// What embedding did, when a model is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embeddings: Option<EmbedSummary>,
    /// What a SCIP import (`IndexConfig::scip`) took.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scip: Option<ScipImport>,
}

fn first_hundred<S: serde::Serializer>(
    files: &[SkippedFile],
    serializer: S,
) -> std::result::Result<S::Ok, S::Error> {
    serializer.collect_seq(files.iter().take(100))
}

impl Db {
    /// Brings `project` up to date with `input`: the graph, and beside it the full-text
    /// index and the embeddings as `config` and the `Db`'s model say. The first run
    /// builds everything; later runs parse only what changed and resolve only what it
    /// affects, and give the same store as a clean rebuild.
    ///
    /// Stops at the next file (or embedding batch) once `cancel` is set, with
    /// [`Error::Stopped`]; what was done before stands and is consistent, and the next
    /// run completes the rest. A source that fails part-way is not an error: the
    /// report's `source_error` says so, what it delivered is indexed and nothing is
    /// removed.
    pub fn index(
        &self,
        project: &str,
        input: Input<'_>,
        config: &IndexConfig,
        progress: &Progress,
        cancel: &Cancel,
    ) -> Result<IndexReport> {
        self.check_writable()?;
        // A SCIP import needs the directory's files to place its sites: refused
        // before anything is indexed.
        let scip_root = match (&config.scip, &input) {
            (None, _) => None,
            (Some(_), Input::Directory { path, .. }) if cfg!(feature = "scip") => {
                Some(path.clone())
            }
            (Some(scip), Input::Directory { .. }) => {
                return Err(Error::Unsupported(format!(
                    "{}: this build has no SCIP support (feature `scip`)",
                    scip.display()
                )));
            }
            (Some(_), Input::Source(_)) => {
                return Err(Error::InvalidInput(
                    "a SCIP index is taken only with a directory input, whose files place its sites"
                        .into(),
                ));
            }
        };
        let run = self.run_lock(project);
        let _run = lock(&run);
        // Whatever a search kept open of the project is stale once it changes.
        lock(&self.vectors).remove(project);
        let mut warm = if self.options.long_lived {
            lock(&self.warm).remove(project).unwrap_or_default()
        } else {
            Warm::default()
        };
        let mut result = self.index_run(project, input, config, progress, cancel, &mut warm, None);
        if let (Ok(report), Some(scip), Some(root)) = (&mut result, &config.scip, scip_root)
            && let Err(e) = self.with_scip(
                project, root, scip, config, progress, cancel, &mut warm, report,
            )
        {
            result = Err(e);
        }
        // Even a failed run may have written part of its work.
        lock(&self.ranks).invalidate(project);
        // A failed run's caches may be half updated: start the next one afresh.
        if self.options.long_lived && result.is_ok() {
            lock(&self.warm).insert(project.to_string(), warm);
        }
        result
    }

    /// The project's imported resolutions, if it has any.
    fn precise(
        &self,
        project: &str,
        warm: &mut Warm,
    ) -> Result<Option<std::sync::Arc<codegraph_store::precise::Precise>>> {
        #[cfg(feature = "scip")]
        {
            // A watcher's runs reuse what they read (hundreds of KB of JSON) until
            // an import rewrites the file.
            let file = crate::layout::precise_file(self.dir(), project);
            let Ok(modified) = std::fs::metadata(&file).and_then(|m| m.modified()) else {
                warm.precise = None;
                return Ok(None);
            };
            if let Some((at, precise)) = &warm.precise
                && *at == modified
            {
                return Ok(Some(std::sync::Arc::clone(precise)));
            }
            let precise = crate::scip::load_precise(self.dir(), project)?;
            warm.precise = precise.clone().map(|p| (modified, p));
            Ok(precise)
        }
        #[cfg(not(feature = "scip"))]
        {
            let _ = (project, warm);
            Ok(None)
        }
    }

    /// Compiles the parser query of the project's main language on a background
    /// thread, so that a run started soon after does not wait for it: in a new
    /// process it is the largest single cost of a one-file update.
    pub fn prepare(&self, project: &str) {
        if let Ok(Some(meta)) = self.project(project) {
            codegraph_parse::warm_up(meta.main_language.as_slice(), &ExtractOptions::default());
        }
    }

    /// Imports the SCIP index `scip` after a run, then resolves the files it covers
    /// again (a second run, which parses nothing) and adds both to `report`.
    #[allow(clippy::too_many_arguments)]
    fn with_scip(
        &self,
        project: &str,
        root: PathBuf,
        scip: &Path,
        config: &IndexConfig,
        progress: &Progress,
        cancel: &Cancel,
        warm: &mut Warm,
        report: &mut IndexReport,
    ) -> Result<()> {
        #[cfg(feature = "scip")]
        {
            let (precise, paths, imported) = self.import_scip_sites(project, &root, scip)?;
            let precise = std::sync::Arc::new(precise);
            let again = self.index_run(
                project,
                Input::directory(root),
                config,
                progress,
                cancel,
                warm,
                Some((paths, std::sync::Arc::clone(&precise))),
            )?;
            // Kept only once it is applied: an import whose run failed leaves the one
            // before in force, as the graph does.
            crate::scip::save_precise(self.dir(), project, &precise)?;
            // Read again by the next run even if the rewrite kept the file's time.
            warm.precise = None;
            report.resolved += again.resolved;
            report.edges_written += again.edges_written;
            report.resolve_seconds += again.resolve_seconds;
            report.seconds += again.seconds;
            report.scip = Some(imported);
            Ok(())
        }
        #[cfg(not(feature = "scip"))]
        {
            let _ = (project, root, config, progress, cancel, warm, report);
            Err(Error::Unsupported(format!(
                "{}: this build has no SCIP support (feature `scip`)",
                scip.display()
            )))
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn index_run(
        &self,
        project: &str,
        input: Input<'_>,
        config: &IndexConfig,
        progress: &Progress,
        cancel: &Cancel,
        warm: &mut Warm,
        imported: Option<(
            Vec<String>,
            std::sync::Arc<codegraph_store::precise::Precise>,
        )>,
    ) -> Result<IndexReport> {
        let filter = Filter::new(config.filter.clone())
            .map_err(|e| Error::InvalidInput(format!("bad filter: {e}")))?;
        let mut pipeline = Pipeline::new(filter, ExtractOptions::default());
        if let Some(threads) = config.threads {
            pipeline = pipeline.threads(threads);
        }
        let long_lived = self.options.long_lived;
        if long_lived && warm.resolve_cache.is_none() {
            warm.resolve_cache = Some(Default::default());
        }
        let resolve_cache = warm.resolve_cache.clone();
        // A run right after an import resolves the files it touches with it.
        let (resolve_also, precise) = match imported {
            Some((paths, precise)) => (paths, Some(precise)),
            None => (Vec::new(), self.precise(project, warm)?),
        };
        let mut other;
        let (source, directory): (&mut dyn Source, bool) = match input {
            Input::Directory { path, changed } => (
                self.walker(project, &path, changed, config.force, &mut warm.walker)?,
                true,
            ),
            Input::Source(source) => {
                other = source;
                (other.as_mut(), false)
            }
        };
        let described = source.describe();
        let mut source = Stoppable {
            inner: source,
            cancel,
        };
        let options = IndexOptions {
            force: config.force,
            threads: config.threads.unwrap_or(IndexOptions::default().threads),
            source_label: Some(described.clone()),
            defer_flush: long_lived,
            resolve_cache,
            cancel: cancel.clone(),
            precise,
            resolve_also,
        };
        let documents = DocumentOptions {
            include_docs: config.include_docs,
            ..Default::default()
        };
        let text = match config.text {
            true => self.text()?.map(|text| TextCompanion {
                text,
                options: documents.clone(),
            }),
            false => None,
        };
        let embeddings = match (self.embedder(), config.embed) {
            (Some(model), true) => Some(EmbeddingCompanion {
                root: layout::vectors_dir(self.dir()),
                embedder: model.as_ref(),
                options: documents.clone(),
                progress: &progress.embedding,
                cancel,
                store: Mutex::new(None),
                report: Mutex::new(None),
            }),
            _ => None,
        };
        let mut members: Vec<&dyn Companion> = Vec::new();
        if let Some(t) = &text {
            members.push(t);
        }
        if let Some(e) = &embeddings {
            members.push(e);
        }
        let run = with_graph!(&self.graph, s => codegraph_store::index_with(
            s, &members, project, &mut source, pipeline, &options, &progress.graph,
        ))?;
        let walk = match directory {
            true => warm
                .walker
                .as_ref()
                .and_then(|(_, w)| w.last_walk())
                .map(|kind| match kind {
                    WalkKind::Full => WalkReport::Full,
                    WalkKind::Cached { relisted } => WalkReport::Cached { relisted },
                    WalkKind::Changed { examined } => WalkReport::Changed { examined },
                }),
            false => None,
        };
        if !long_lived {
            warm.walker = None;
        }
        let embedded = embeddings.as_ref().and_then(|e| lock(&e.report).clone());
        Ok(IndexReport {
            project: project.to_string(),
            source: described,
            parsed: run.parsed,
            unchanged: run.unchanged,
            removed: run.removed,
            resolved: run.resolved,
            full: run.full,
            skipped: run.skipped.len(),
            skipped_files: run.skipped,
            lines: run.lines,
            nodes_written: run.nodes_written,
            edges_written: run.edges_written,
            parse_seconds: run.parse_time.as_secs_f64(),
            walk_seconds: run.walk_time.as_secs_f64(),
            write_seconds: run.write_time.as_secs_f64(),
            resolve_seconds: run.resolve_time.as_secs_f64(),
            commit_seconds: run.commit_time.as_secs_f64(),
            seconds: run.total_time.as_secs_f64(),
            disk_bytes: self.graph_disk_size(),
            source_error: run.source_error,
            walk,
            embeddings: embedded.map(|e: EmbedReport| EmbedSummary {
                vectors: e.vectors,
                embedded: e.embedded,
                cached: e.cached,
                seconds: e.embed_time.as_secs_f64(),
                hnsw: e.hnsw,
            }),
            scip: None,
        })
    }

    /// The directory walk for this run: the one a long-lived `Db` kept (it remembers
    /// what it found, and looks at just the paths a watcher names), or a new one that
    /// starts from the walk cache in the store.
    fn walker<'w>(
        &self,
        project: &str,
        root: &Path,
        changed: Option<Vec<PathBuf>>,
        force: bool,
        kept: &'w mut Option<(PathBuf, DirectorySource)>,
    ) -> Result<&'w mut DirectorySource> {
        let cache = layout::walk_cache_file(self.dir(), project);
        if force {
            let _ = std::fs::remove_file(&cache);
            *kept = None;
        }
        if kept.as_ref().is_some_and(|(r, _)| r != root) {
            *kept = None;
        }
        if kept.is_none() {
            let walker = DirectorySource::new(root)
                .map_err(|e| Error::InvalidInput(format!("cannot read {}: {e}", root.display())))?
                .with_walk_cache(cache);
            let walker = if self.options.long_lived {
                walker.remember()
            } else {
                walker
            };
            *kept = Some((root.to_path_buf(), walker));
        }
        let (_, walker) = kept.as_mut().expect("set above");
        if let (Some(changed), true) = (changed, self.options.long_lived) {
            walker.set_changed(changed);
        }
        Ok(walker)
    }
}

/// Keeps the full-text index in step with the graph.
struct TextCompanion {
    text: std::sync::Arc<dyn TextIndex>,
    options: DocumentOptions,
}

impl Companion for TextCompanion {
    fn held(&self, project: &str) -> Result<HashMap<String, u64>> {
        self.text.file_hashes(project)
    }

    fn parsed(&self, project: &str, file: &ParsedFile, bytes: &[u8]) -> Result<()> {
        let docs = codegraph_vector::text_documents(file, bytes, &self.options);
        self.text
            .replace_file(project, &file.path, file.content_hash, &docs)
    }

    fn removed(&self, project: &str, path: &str) -> Result<()> {
        self.text.remove_file(project, path)
    }

    fn commit(&self, project: &str) -> Result<()> {
        self.text.commit(project)
    }
}

/// Keeps a project's embeddings in step with the graph: the definitions of each parsed
/// file are staged as it is parsed, and embedded (only those whose text the cache
/// lacks) once the graph is written, so the graph answers queries meanwhile and a run
/// stopped mid-way keeps every vector computed so far.
struct EmbeddingCompanion<'a> {
    root: PathBuf,
    embedder: &'a dyn Embedder,
    options: DocumentOptions,
    progress: &'a EmbedProgress,
    cancel: &'a Cancel,
    store: Mutex<Option<SemanticStore>>,
    report: Mutex<Option<EmbedReport>>,
}

impl EmbeddingCompanion<'_> {
    fn with_store<T>(&self, project: &str, f: impl FnOnce(&mut SemanticStore) -> T) -> Result<T> {
        let mut guard = lock(&self.store);
        if guard.is_none() {
            *guard = Some(SemanticStore::open(&self.root, project, self.embedder)?);
        }
        Ok(f(guard.as_mut().expect("opened above")))
    }
}

impl Companion for EmbeddingCompanion<'_> {
    fn held(&self, project: &str) -> Result<HashMap<String, u64>> {
        self.with_store(project, |s| s.held())
    }

    fn parsed(&self, project: &str, file: &ParsedFile, bytes: &[u8]) -> Result<()> {
        let docs = codegraph_vector::text_documents(file, bytes, &self.options);
        let inputs = EmbeddingInputs::of(&docs);
        self.with_store(project, |s| {
            s.stage_file(&file.path, file.content_hash, inputs)
        })
    }

    fn removed(&self, project: &str, path: &str) -> Result<()> {
        self.with_store(project, |s| s.remove_file(path))
    }

    fn commit(&self, project: &str) -> Result<()> {
        let report = self.with_store(project, |s| {
            s.commit(self.embedder, &mut |done, total| {
                self.progress.total.store(total as u64, Ordering::Relaxed);
                self.progress.done.store(done as u64, Ordering::Relaxed);
                if self.cancel.is_cancelled() {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })
        })??;
        *lock(&self.report) = Some(report);
        Ok(())
    }
}

/// A source that stops at the next file once cancelled, and then fails, so the
/// indexer treats the run as cut short: it keeps what was read and removes nothing.
struct Stoppable<'a, 'c> {
    inner: &'a mut dyn Source,
    cancel: &'c Cancel,
}

struct StoppableSink<'a, 'c> {
    inner: &'a mut dyn Sink,
    cancel: &'c Cancel,
}

impl Sink for StoppableSink<'_, '_> {
    fn expect(&mut self, files: u64) {
        self.inner.expect(files);
    }

    fn item(&mut self, item: SourceItem) -> ControlFlow<()> {
        if self.cancel.is_cancelled() {
            return ControlFlow::Break(());
        }
        self.inner.item(item)
    }
}

impl Source for Stoppable<'_, '_> {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn run(&mut self, filter: &Filter, sink: &mut dyn Sink) -> Result<(), SourceError> {
        let result = self.inner.run(
            filter,
            &mut StoppableSink {
                inner: sink,
                cancel: self.cancel,
            },
        );
        if self.cancel.is_cancelled() {
            return Err(SourceError::Stopped);
        }
        result
    }
}
