//! `codegraph index`, `codegraph query ...`, `codegraph export`, `codegraph projects`.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use codegraph_core::{Direction, GraphStore, Language, Node, NodeKind};
use codegraph_parse::source::{DirectorySource, InputSpec, WalkKind};
use codegraph_parse::{ExtractOptions, Pipeline, PipelineStats};
use codegraph_store::query::{self, Filters, Match, NodeSummary};
use codegraph_store::{IndexOptions, IndexProgress, IndexReport, RocksStore};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::input::InputArgs;
use crate::symbols::write_skipped;

/// Where the graph lives.
#[derive(Debug, Args)]
pub struct DbArgs {
    /// The store directory (created when absent).
    #[arg(long, env = "CODEGRAPH_DB", default_value = ".codegraph")]
    pub db: PathBuf,

    /// The project inside the store. `index` defaults to the input directory's name;
    /// the other commands to the store's only project.
    #[arg(long, short = 'p', env = "CODEGRAPH_PROJECT")]
    pub project: Option<String>,
}

impl DbArgs {
    /// Opens an existing store for reading: never creates one, and takes no lock, so
    /// queries run while `codegraph index --watch` holds the store.
    pub fn open_existing(&self) -> anyhow::Result<RocksStore> {
        if !self.db.exists() {
            bail!(
                "no store at {} (run `codegraph index PATH --db {}` first)",
                self.db.display(),
                self.db.display()
            );
        }
        RocksStore::open_read_only(&self.db)
            .with_context(|| format!("cannot open store {}", self.db.display()))
    }

    pub fn project_of(&self, store: &RocksStore) -> anyhow::Result<String> {
        if let Some(p) = &self.project {
            if store.project(p)?.is_none() {
                bail!(
                    "no project {p:?} in {} (projects: {})",
                    self.db.display(),
                    store.projects()?.join(", ")
                );
            }
            return Ok(p.clone());
        }
        let projects = store.projects()?;
        match projects.as_slice() {
            [one] => Ok(one.clone()),
            [] => bail!("the store {} holds no project yet", self.db.display()),
            many => bail!(
                "the store holds several projects; choose one with --project: {}",
                many.join(", ")
            ),
        }
    }
}

#[derive(Debug, Args)]
pub struct IndexArgs {
    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub db: DbArgs,

    /// Parse every file even when its content is unchanged.
    #[arg(long)]
    pub force: bool,

    /// After indexing, keep watching the directory and apply changes as they happen.
    #[arg(long)]
    pub watch: bool,

    /// No progress bar and no summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// Print the run's report as one JSON object on standard output.
    #[arg(long)]
    pub json: bool,

    /// Do not keep a full-text index (`codegraph search`) beside the graph.
    #[arg(long)]
    pub no_text: bool,

    /// Leave doc comments and docstrings out of the full-text index and the
    /// embeddings: for retrieval evaluations that use docstrings as queries.
    #[arg(long, alias = "text-without-docs")]
    pub without_docs: bool,

    #[command(flatten)]
    pub model: crate::search::ModelArgs,

    /// Do not compute embeddings, even with a model configured.
    #[arg(long)]
    pub no_embed: bool,
}

fn default_project(path: &Path) -> String {
    let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    canonical
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "default".to_string())
}

pub fn index(args: IndexArgs) -> anyhow::Result<ExitCode> {
    let project = args
        .db
        .project
        .clone()
        .unwrap_or_else(|| default_project(&args.input.path));
    let mut waited = false;
    let store = loop {
        // A watcher holding the store does the run itself, with everything already open.
        if let Some(done) = crate::handoff::try_hand_off(&args, &project) {
            return done;
        }
        match RocksStore::open(&args.db.db) {
            // Another writer: wait for it as cargo waits for its build directory, and
            // ask again for a watcher (one may be starting, its socket not yet there).
            Err(codegraph_core::Error::Busy(who)) => {
                if !waited {
                    eprintln!("codegraph: waiting: {who}");
                    waited = true;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            opened => {
                break opened
                    .with_context(|| format!("cannot open store {}", args.db.db.display()))?;
            }
        }
    };
    // The query of the project's main language compiles while the full-text index
    // opens and the file records are read: for a one-file update it is the largest
    // single cost of the process (see docs/PERFORMANCE.md).
    if let Ok(Some(meta)) = store.project(&project) {
        codegraph_parse::warm_up(meta.main_language.as_slice(), &extract_options());
    }
    let embedder = if args.no_embed {
        None
    } else {
        args.model.load()?
    };
    let mut indexer = Indexer {
        store: &store,
        project: &project,
        args: &args,
        embedder: embedder.as_deref(),
        text: None,
        defer_flush: args.watch,
        resolve_cache: args.watch.then(Default::default),
        walker: None,
        changed: None,
    };
    if !args.watch {
        let ran = indexer.run(args.force, !args.quiet)?;
        return Ok(ran.print(args.json, args.quiet));
    }
    watch(&mut indexer)
}

/// How `index` extracts: the same for the run and for compiling its query early.
fn extract_options() -> ExtractOptions {
    ExtractOptions::default()
}

/// Where `index` keeps a project's walk cache: beside the store, one file per project.
pub fn walk_cache_file(db: &Path, project: &str) -> PathBuf {
    db.join("walk").join(format!(
        "{:016x}.bin",
        xxhash_rust::xxh3::xxh3_64(project.as_bytes())
    ))
}

/// What stays open between the runs of one `codegraph index` process: with `--watch`,
/// the store, the full-text index (and its writer) and the compiled queries serve every
/// run after the first.
pub(crate) struct Indexer<'a> {
    pub store: &'a RocksStore,
    pub project: &'a str,
    pub args: &'a IndexArgs,
    pub embedder: Option<&'a dyn codegraph_core::Embedder>,
    text: Option<codegraph_vector::TantivyText>,
    /// Sync the store's log at the end of a run and leave the memtable flush to
    /// [`Indexer::flush`], called when idle.
    defer_flush: bool,
    /// What resolution read, kept for the next run (only a watcher has one).
    resolve_cache: Option<std::sync::Arc<codegraph_store::ResolveCache>>,
    /// A directory input's walk, kept between runs (it remembers what it found).
    walker: Option<DirectorySource>,
    /// What a watcher saw change since the last run, for the next one.
    changed: Option<Vec<PathBuf>>,
}

/// One run's outcome: printed by the process that ran it, or sent to the
/// `codegraph index` that handed its run to a watcher.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct Ran {
    pub report: serde_json::Value,
    /// The summary and the skipped files (not shown with `--quiet`).
    pub summary: String,
    /// What is shown even with `--quiet`.
    pub errors: String,
    pub exit: u8,
}

impl Ran {
    pub fn print(&self, json: bool, quiet: bool) -> ExitCode {
        if json {
            let mut out = std::io::stdout().lock();
            let _ = serde_json::to_writer(&mut out, &self.report);
            let _ = out.write_all(b"\n");
            let _ = out.flush();
        }
        if !quiet {
            eprint!("{}", self.summary);
        }
        eprint!("{}", self.errors);
        ExitCode::from(self.exit)
    }
}

impl Indexer<'_> {
    /// The paths changed since the last run, as the watcher saw them (`None`: not
    /// known); see [`DirectorySource::set_changed`].
    pub fn set_changed(&mut self, changed: Option<Vec<PathBuf>>) {
        self.changed = changed;
    }

    pub fn flush(&self) -> anyhow::Result<()> {
        self.store.flush().context("cannot flush the store")
    }

    /// Brings the project up to date with its directory (or other input).
    pub fn run(&mut self, force: bool, progress_bar: bool) -> anyhow::Result<Ran> {
        let args = self.args;
        let project = self.project;
        let store = self.store;
        let embedder = self.embedder;
        let documents = codegraph_vector::DocumentOptions {
            include_docs: !args.without_docs,
            ..Default::default()
        };
        let filter = args.input.filter()?;
        let spec = args.input.spec();
        let changed = self.changed.take();
        let mut opened;
        let source: &mut dyn codegraph_parse::source::Source = match &spec {
            // A directory is walked from what the last run found, listing only the
            // directories that changed since (`--force` starts over); a watcher's
            // walk, kept between runs, looks at just the files it saw change.
            InputSpec::Path(dir) => {
                let cache = walk_cache_file(&args.db.db, project);
                if force {
                    let _ = std::fs::remove_file(&cache);
                    self.walker = None;
                }
                let walker = match self.walker.take() {
                    Some(walker) => walker,
                    None => {
                        let walker = DirectorySource::new(dir)
                            .with_context(|| format!("cannot read {}", dir.display()))?
                            .with_walk_cache(cache);
                        if self.defer_flush {
                            walker.remember()
                        } else {
                            walker
                        }
                    }
                };
                let walker = self.walker.insert(walker);
                if let Some(changed) = changed {
                    walker.set_changed(changed);
                }
                walker
            }
            _ => {
                opened = spec
                    .open()
                    .with_context(|| format!("cannot read {}", args.input.path.display()))?;
                opened.as_mut()
            }
        };
        let described = source.describe();
        let mut pipeline = Pipeline::new(filter, extract_options());
        if let Some(threads) = args.input.threads {
            pipeline = pipeline.threads(threads);
        }
        let options = IndexOptions {
            force,
            threads: args
                .input
                .threads
                .unwrap_or(IndexOptions::default().threads),
            source_label: Some(described.clone()),
            defer_flush: self.defer_flush,
            resolve_cache: self.resolve_cache.clone(),
        };
        if self.text.is_none() && !args.no_text {
            let dir = crate::search::text_dir(&args.db.db);
            let text = codegraph_vector::TantivyText::open(&dir)
                .with_context(|| format!("cannot open the full-text index in {}", dir.display()))?;
            // A watcher (the only one that defers its flushes) commits again and again.
            self.text = Some(if self.defer_flush {
                text.long_lived()
            } else {
                text
            });
        }
        let text = self.text.as_ref().map(|text| crate::search::TextCompanion {
            text,
            options: documents.clone(),
        });
        let embed_progress = crate::search::EmbedProgress::default();
        let embeddings = match embedder {
            Some(model) if !args.no_embed => Some(crate::search::EmbeddingCompanion::new(
                crate::search::vectors_dir(&args.db.db),
                model,
                documents.clone(),
                &embed_progress,
            )),
            _ => None,
        };
        let mut members: Vec<&dyn codegraph_store::Companion> = Vec::new();
        if let Some(t) = &text {
            members.push(t);
        }
        if let Some(e) = &embeddings {
            members.push(e);
        }
        let progress = IndexProgress::default();
        let report = with_index_progress(&progress, &embed_progress, !progress_bar, || {
            codegraph_store::index_with(
                store, &members, project, source, pipeline, &options, &progress,
            )
        })
        .with_context(|| format!("indexing {described} failed"))?;
        let embedded = embeddings.as_ref().and_then(|e| e.report());
        let mut json = report_json(project, &report, store);
        if let Some(kind) = self.walker.as_ref().and_then(|w| w.last_walk()) {
            json["walk"] = match kind {
                WalkKind::Full => serde_json::json!({"kind": "full"}),
                WalkKind::Cached { relisted } => {
                    serde_json::json!({"kind": "cached", "relisted": relisted})
                }
                WalkKind::Changed { examined } => {
                    serde_json::json!({"kind": "changed", "examined": examined})
                }
            };
        }
        if let Some(e) = &embedded {
            json["embeddings"] = serde_json::json!({
                "vectors": e.vectors,
                "embedded": e.embedded,
                "cached": e.cached,
                "seconds": e.embed_time.as_secs_f64(),
                "hnsw": e.hnsw,
            });
        }
        let mut summary = String::new();
        write_report(&mut summary, project, &report, &described);
        if let Some(e) = &embedded
            && e.embedded > 0
        {
            let secs = e.embed_time.as_secs_f64();
            let _ = writeln!(
                summary,
                "codegraph: {project}: embedded {} definitions in {secs:.1} s ({:.0}/s); {} vectors held",
                e.embedded,
                e.embedded as f64 / secs.max(1e-9),
                e.vectors
            );
        }
        let mut errors = String::new();
        let exit = match &report.source_error {
            Some(e) => {
                let _ = writeln!(
                    errors,
                    "codegraph: error: {} stopped early: {e} (what was read is indexed; nothing was removed)",
                    described
                );
                1
            }
            None => 0,
        };
        Ok(Ran {
            report: json,
            summary,
            errors,
            exit,
        })
    }
}

pub(crate) fn report_json(project: &str, r: &IndexReport, store: &RocksStore) -> serde_json::Value {
    serde_json::json!({
        "project": project,
        "parsed": r.parsed,
        "unchanged": r.unchanged,
        "removed": r.removed,
        "resolved": r.resolved,
        "full": r.full,
        "skipped": r.skipped.len(),
        "lines": r.lines,
        "nodes_written": r.nodes_written,
        "edges_written": r.edges_written,
        "parse_seconds": r.parse_time.as_secs_f64(),
        "walk_seconds": r.walk_time.as_secs_f64(),
        "write_seconds": r.write_time.as_secs_f64(),
        "resolve_seconds": r.resolve_time.as_secs_f64(),
        "commit_seconds": r.commit_time.as_secs_f64(),
        "seconds": r.total_time.as_secs_f64(),
        "disk_bytes": store.disk_size(),
        "source_error": r.source_error,
    })
}

fn write_report(out: &mut String, project: &str, r: &IndexReport, what: &str) {
    let secs = r.total_time.as_secs_f64();
    if r.parsed == 0 && r.removed == 0 && r.resolved == 0 {
        let _ = writeln!(
            out,
            "codegraph: {project}: up to date ({} files unchanged, {:.3} s)",
            r.unchanged, secs
        );
    } else {
        let _ = writeln!(
            out,
            "codegraph: {project} from {what}: {} files parsed ({} lines), {} unchanged, {} removed; {} files resolved{}, {} edges; {:.2} s ({:.0} lines/s)",
            r.parsed,
            r.lines,
            r.unchanged,
            r.removed,
            r.resolved,
            if r.full { " (all)" } else { "" },
            r.edges_written,
            secs,
            if secs > 0.0 {
                r.lines as f64 / secs
            } else {
                0.0
            },
        );
    }
    write_skipped(out, &r.skipped);
}

/// Draws parsing progress, then resolution progress, while `work` runs.
fn with_index_progress<T>(
    progress: &IndexProgress,
    embedding: &crate::search::EmbedProgress,
    quiet: bool,
    work: impl FnOnce() -> T,
) -> T {
    if quiet || !std::io::stderr().is_terminal() {
        return work();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(10));
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let style = |t: &str| ProgressStyle::with_template(t).expect("valid template");
            while !done.load(Ordering::Relaxed) {
                let to_resolve = progress.to_resolve.load(Ordering::Relaxed);
                let to_embed = embedding.total.load(Ordering::Relaxed);
                if to_embed > 0 {
                    bar.set_style(style(
                        "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} definitions embedded ({per_sec}, {eta} left)",
                    ));
                    bar.set_length(to_embed);
                    bar.set_position(embedding.done.load(Ordering::Relaxed));
                } else if to_resolve > 0 {
                    bar.set_style(style(
                        "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} files resolved",
                    ));
                    bar.set_length(to_resolve);
                    bar.set_position(progress.resolved.load(Ordering::Relaxed));
                } else {
                    let expected = PipelineStats::get(&progress.parse.expected);
                    if expected > 0 {
                        bar.set_style(style(
                            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} files read {msg}",
                        ));
                        bar.set_length(expected);
                    } else {
                        bar.set_style(style(
                            "{spinner} [{elapsed_precise}] {pos} files read {msg}",
                        ));
                    }
                    bar.set_position(PipelineStats::get(&progress.parse.processed));
                    bar.set_message(format!(
                        "({} parsed)",
                        PipelineStats::get(&progress.parse.parsed)
                    ));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            bar.finish_and_clear();
        });
        let result = work();
        done.store(true, Ordering::Relaxed);
        result
    })
}

/// Re-indexes whenever files under the input directory change, until interrupted, and
/// runs the `codegraph index` commands of the same project handed to it.
fn watch(indexer: &mut Indexer) -> anyhow::Result<ExitCode> {
    use notify::{RecursiveMode, Watcher};
    use std::sync::mpsc::RecvTimeoutError;
    let args = indexer.args;
    let root = &args.input.path;
    if !root.is_dir() || args.input.rev.is_some() {
        bail!("--watch needs a directory (not an archive, a stream or a git revision)");
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let events = tx.clone();
    let mut watcher = notify::recommended_watcher(move |event| {
        let _ = events.send(Wake::Files(event));
    })
    .context("cannot watch files")?;
    // Events name paths under the watched directory as given: canonical, to compare.
    let watched = root.canonicalize().unwrap_or_else(|_| root.clone());
    watcher
        .watch(&watched, RecursiveMode::Recursive)
        .with_context(|| format!("cannot watch {}", root.display()))?;
    let db = args
        .db
        .db
        .canonicalize()
        .unwrap_or_else(|_| args.db.db.clone());
    // Written by the watcher when a `codegraph index` hands it a run, and watched by the
    // same inotify instance as the tree: once its event arrives, so have those of every
    // edit made before the client connected (one queue per instance, in order). In a
    // directory of its own, so that the store's writes wake nobody.
    let barrier_dir = db.join("watch");
    std::fs::create_dir_all(&barrier_dir)
        .with_context(|| format!("cannot create {}", barrier_dir.display()))?;
    let barrier = barrier_dir.join("barrier");
    let mut changes = Changes {
        watched,
        walked: root.clone(),
        db: db.clone(),
        paths: Vec::new(),
        unknown: false,
    };
    if !db.starts_with(&changes.watched) {
        watcher
            .watch(&barrier_dir, RecursiveMode::NonRecursive)
            .with_context(|| format!("cannot watch {}", barrier_dir.display()))?;
    }
    // Listening before the first run: a `codegraph index` arriving meanwhile waits in
    // the queue for its turn instead of finding the store locked.
    let listening = match crate::handoff::Listener::start(&args.db.db, tx) {
        Ok(l) => Some(l),
        Err(e) => {
            eprintln!(
                "codegraph: note: other `codegraph index` runs cannot hand their work to this one: {e:#}"
            );
            None
        }
    };
    // Armed before the first run, so an edit made while it runs is not missed.
    let first = indexer.run(args.force, !args.quiet)?;
    first.print(args.json, args.quiet);
    eprintln!("codegraph: watching {} (Ctrl-C to stop)", root.display());
    // The memtables are flushed once the store has been left alone this long: until
    // then a reader opening it replays the log (a few ms for a one-file update).
    const IDLE_FLUSH: Duration = Duration::from_millis(500);
    let mut flush_due: Option<Instant> = Some(Instant::now());
    let mut waiting: std::collections::VecDeque<std::os::unix::net::UnixStream> =
        Default::default();
    loop {
        let wake = if let Some(client) = waiting.pop_front() {
            Wake::Client(client)
        } else {
            match flush_due {
                Some(due) => match rx.recv_timeout(due.saturating_duration_since(Instant::now())) {
                    Ok(wake) => wake,
                    Err(RecvTimeoutError::Timeout) => {
                        if let Err(e) = indexer.flush() {
                            eprintln!("codegraph: error: {e:#}");
                        }
                        flush_due = None;
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => break,
                },
                None => match rx.recv() {
                    Ok(wake) => wake,
                    Err(_) => break,
                },
            }
        };
        let client = match wake {
            Wake::Client(client) => Some(client),
            Wake::Files(first) => {
                // Editors write in bursts (temp file, rename, chmod): wait for quiet,
                // unless a `codegraph index` asks for a run, which covers the burst.
                let mut relevant = changes.note(&first);
                let mut client = None;
                let deadline = Instant::now() + Duration::from_millis(200);
                while let Ok(wake) =
                    rx.recv_timeout(deadline.saturating_duration_since(Instant::now()))
                {
                    match wake {
                        Wake::Files(e) => relevant |= changes.note(&e),
                        Wake::Client(c) => {
                            client = Some(c);
                            break;
                        }
                    }
                }
                if !relevant && client.is_none() {
                    continue;
                }
                if client.is_none() {
                    indexer.set_changed(changes.take());
                    match indexer.run(false, false) {
                        Ok(ran) => {
                            ran.print(args.json, args.quiet);
                        }
                        Err(e) => eprintln!("codegraph: error: {e:#}"),
                    }
                    flush_due = Some(Instant::now() + IDLE_FLUSH);
                }
                client
            }
        };
        if let Some(client) = client {
            if !catch_up(&rx, &barrier, &mut changes, &mut waiting) {
                changes.unknown = true;
            }
            indexer.set_changed(changes.take());
            // Logged like the watcher's own runs: one report per run.
            if let Some(ran) = crate::handoff::serve(client, indexer) {
                ran.print(args.json, args.quiet);
            }
            flush_due = Some(Instant::now() + IDLE_FLUSH);
        }
    }
    drop(listening);
    let _ = std::fs::remove_dir_all(&barrier_dir);
    Ok(ExitCode::SUCCESS)
}

/// What a watcher saw change since its last run.
struct Changes {
    /// The input directory as watched (canonical), and as walked (as given).
    watched: PathBuf,
    walked: PathBuf,
    /// The store's directory (canonical): what happens there is the watcher's own doing.
    db: PathBuf,
    paths: Vec<PathBuf>,
    /// Events were lost (the kernel's queue overflowed), could not be read, or named a
    /// path outside the input.
    unknown: bool,
}

impl Changes {
    /// Notes `event`; true when it is one a run should follow.
    fn note(&mut self, event: &notify::Result<notify::Event>) -> bool {
        let relevant = is_relevant(event, &self.db);
        match event {
            Ok(e) if e.need_rescan() => self.unknown = true,
            Ok(e) if relevant => {
                for path in e.paths.iter().filter(|p| !p.starts_with(&self.db)) {
                    match path.strip_prefix(&self.watched) {
                        Ok(rel) => self.paths.push(self.walked.join(rel)),
                        Err(_) => self.unknown = true,
                    }
                }
            }
            Ok(_) => {}
            Err(_) => self.unknown = true,
        }
        relevant
    }

    /// The paths for the next run, `None` when they are not all known; starts over.
    fn take(&mut self) -> Option<Vec<PathBuf>> {
        let mut paths = std::mem::take(&mut self.paths);
        // A save is several events on one path (modified, closed after writing).
        paths.sort_unstable();
        paths.dedup();
        (!std::mem::take(&mut self.unknown)).then_some(paths)
    }
}

/// Makes sure every file event from before now has been noted: writes `barrier` and
/// notes events until its own arrives. Clients arriving meanwhile wait their turn.
/// False when the barrier's event did not come (then what changed is not known).
fn catch_up(
    rx: &std::sync::mpsc::Receiver<Wake>,
    barrier: &Path,
    changes: &mut Changes,
    waiting: &mut std::collections::VecDeque<std::os::unix::net::UnixStream>,
) -> bool {
    if std::fs::write(barrier, b"").is_err() {
        return false;
    }
    let deadline = Instant::now() + Duration::from_millis(500);
    while let Ok(wake) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        match wake {
            Wake::Files(event) => {
                let ours = event
                    .as_ref()
                    .is_ok_and(|e| e.paths.iter().any(|p| p == barrier));
                changes.note(&event);
                if ours {
                    return true;
                }
            }
            Wake::Client(client) => waiting.push_back(client),
        }
    }
    false
}

/// What wakes a watcher: files changing, or a `codegraph index` handing it a run.
pub(crate) enum Wake {
    Files(notify::Result<notify::Event>),
    Client(std::os::unix::net::UnixStream),
}

fn is_relevant(event: &notify::Result<notify::Event>, db: &Path) -> bool {
    use notify::EventKind;
    use notify::event::{AccessKind, AccessMode};
    match event {
        // Reading a file or listing a directory is reported too, and indexing does both:
        // counting those would have every run set off the next, forever.
        Ok(e) if matches!(e.kind, EventKind::Access(kind) if kind != AccessKind::Close(AccessMode::Write)) => {
            false
        }
        Ok(e) => e.paths.iter().any(|p| !p.starts_with(db)),
        Err(_) => true,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
    Jsonl,
    /// Graphviz (for `neighbours`, `path`, `impact`, `callers`, `callees`).
    Dot,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    #[command(flatten)]
    pub db: DbArgs,

    #[arg(long, value_enum, default_value_t = OutputFormat::Text, global = true)]
    pub format: OutputFormat,

    #[command(subcommand)]
    pub query: Query,
}

/// A symbol as given on the command line.
#[derive(Debug, Args)]
pub struct SymbolArg {
    /// A name (`parse`), a qualified name (`pkg.mod.Class.parse`, `crate::a::f`), a
    /// 16-digit node id, or `path:line`.
    pub symbol: String,
}

#[derive(Debug, Subcommand)]
pub enum Query {
    /// Definitions by name: exact (default), prefix or fuzzy.
    Find {
        pattern: String,
        #[arg(long, conflicts_with = "fuzzy")]
        prefix: bool,
        #[arg(long)]
        fuzzy: bool,
        /// Only these kinds (comma-separated).
        #[arg(long = "kind", value_delimiter = ',')]
        kinds: Vec<NodeKind>,
        /// Only these languages (comma-separated).
        #[arg(long = "lang", value_delimiter = ',')]
        languages: Vec<Language>,
        /// Only paths matching this glob.
        #[arg(long)]
        path: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Who calls a symbol, one line per call site.
    Callers(SymbolArg),
    /// What a symbol calls, one line per call site.
    Callees(SymbolArg),
    /// Everything that depends on a symbol, directly or transitively.
    Impact {
        #[command(flatten)]
        symbol: SymbolArg,
        #[arg(long, default_value_t = 2)]
        depth: u32,
    },
    /// The shortest chain of calls, inheritance or imports from one symbol to another.
    Path {
        from: String,
        to: String,
        #[arg(long, default_value_t = 10)]
        max_depth: u32,
    },
    /// A file's definitions, nested.
    Outline { path: String },
    /// The symbols within a few edges of one, and the edges among them.
    Neighbours {
        #[command(flatten)]
        symbol: SymbolArg,
        #[arg(long, default_value_t = 1)]
        radius: u32,
        #[arg(long, default_value_t = 200)]
        max_nodes: usize,
    },
}

pub fn query(args: QueryArgs) -> anyhow::Result<ExitCode> {
    let store = args.db.open_existing()?;
    let project = args.db.project_of(&store)?;
    let stdout = std::io::stdout().lock();
    let mut out = BufWriter::new(stdout);
    let format = args.format;
    let found_any = match &args.query {
        Query::Find {
            pattern,
            prefix,
            fuzzy,
            kinds,
            languages,
            path,
            limit,
        } => {
            let filters = Filters {
                kinds: kinds.clone(),
                languages: languages.clone(),
                path: path.as_deref().map(Filters::path_glob).transpose()?,
            };
            let how = if *fuzzy {
                Match::Fuzzy
            } else if *prefix {
                Match::Prefix
            } else {
                Match::Exact
            };
            let hits = query::find(&store, &project, pattern, how, &filters, *limit)?;
            write_list(&mut out, format, &hits, |h| {
                format!("{}  {:.3}", text_node(&h.node), h.score)
            })?;
            !hits.is_empty()
        }
        Query::Callers(s) | Query::Callees(s) => {
            let direction = if matches!(args.query, Query::Callers(_)) {
                Direction::Incoming
            } else {
                Direction::Outgoing
            };
            let node = one_symbol(&store, &project, &s.symbol)?;
            let related = query::calls(&store, &project, node.id, direction)?;
            if format == OutputFormat::Dot {
                let graph = star(&node, related.iter().map(|r| (&r.node, r)), direction);
                query::write_dot(&mut out, &graph)?;
            } else {
                write_list(&mut out, format, &related, |r| {
                    format!(
                        "{}:{}  {}  [{}]",
                        r.site_path.as_deref().unwrap_or(""),
                        r.site_line.unwrap_or(0),
                        text_node(&r.node),
                        r.resolution
                    )
                })?;
            }
            !related.is_empty()
        }
        Query::Impact { symbol, depth } => {
            let node = one_symbol(&store, &project, &symbol.symbol)?;
            let reached = query::impact(&store, &project, node.id, *depth)?;
            write_list(&mut out, format, &reached, |r| {
                format!(
                    "{}{}",
                    "  ".repeat(r.depth as usize - 1),
                    text_node(&r.node)
                )
            })?;
            !reached.is_empty()
        }
        Query::Path {
            from,
            to,
            max_depth,
        } => {
            let a = one_symbol(&store, &project, from)?;
            let b = one_symbol(&store, &project, to)?;
            let chain = query::shortest_path(&store, &project, a.id, b.id, *max_depth)?;
            write_list(&mut out, format, &chain, text_node)?;
            if chain.is_empty() && format == OutputFormat::Text {
                eprintln!(
                    "codegraph: no path from {} to {} within {max_depth} edges",
                    a.qualified_name, b.qualified_name
                );
            }
            !chain.is_empty()
        }
        Query::Outline { path } => {
            let items = query::outline(&store, &project, path)?;
            write_list(&mut out, format, &items, |r| {
                format!("{}{}", "  ".repeat(r.depth as usize), text_node(&r.node))
            })?;
            !items.is_empty()
        }
        Query::Neighbours {
            symbol,
            radius,
            max_nodes,
        } => {
            let node = one_symbol(&store, &project, &symbol.symbol)?;
            let graph = query::neighbourhood(&store, &project, node.id, *radius, *max_nodes)?;
            match format {
                OutputFormat::Dot => query::write_dot(&mut out, &graph)?,
                OutputFormat::Json => {
                    serde_json::to_writer_pretty(&mut out, &graph)?;
                    out.write_all(b"\n")?;
                }
                OutputFormat::Jsonl => {
                    for n in &graph.nodes {
                        write_jsonl(&mut out, &serde_json::json!({"type": "node", "node": n}))?;
                    }
                    for e in &graph.edges {
                        write_jsonl(&mut out, &serde_json::json!({"type": "edge", "edge": e}))?;
                    }
                }
                OutputFormat::Text => {
                    for n in &graph.nodes {
                        writeln!(out, "{}", text_node(n))?;
                    }
                    for e in &graph.edges {
                        writeln!(out, "{} -{}-> {} [{}]", e.src, e.kind, e.dst, e.resolution)?;
                    }
                }
            }
            !graph.nodes.is_empty()
        }
    };
    out.flush()?;
    Ok(if found_any {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn star<'a>(
    center: &Node,
    others: impl Iterator<Item = (&'a NodeSummary, &'a query::Related)>,
    direction: Direction,
) -> query::Subgraph {
    let mut graph = query::Subgraph::default();
    graph.nodes.push(NodeSummary::of(center));
    for (n, r) in others {
        if !graph.nodes.iter().any(|m| m.id == n.id) {
            graph.nodes.push(n.clone());
        }
        let (src, dst) = match direction {
            Direction::Incoming => (n.id.clone(), center.id.to_string()),
            Direction::Outgoing => (center.id.to_string(), n.id.clone()),
        };
        graph.edges.push(query::EdgeSummary {
            src,
            dst,
            kind: r.edge,
            resolution: r.resolution,
            line: r.site_line,
        });
    }
    graph.edges.sort();
    graph.edges.dedup();
    graph
}

fn one_symbol(store: &RocksStore, project: &str, spec: &str) -> anyhow::Result<Node> {
    let mut nodes = query::lookup(store, project, spec)?;
    match nodes.len() {
        0 => bail!("no symbol {spec:?} in project {project}"),
        1 => Ok(nodes.remove(0)),
        n => {
            let mut msg =
                format!("{spec:?} names {n} symbols; give a qualified name, an id or path:line:");
            for node in nodes.iter().take(20) {
                msg += &format!(
                    "\n  {}  {} {} {}:{}",
                    node.id, node.kind, node.qualified_name, node.path, node.span.start_line
                );
            }
            bail!(msg)
        }
    }
}

fn text_node(n: &NodeSummary) -> String {
    format!("{} {}  {}:{}", n.kind, n.qualified_name, n.path, n.line)
}

fn write_jsonl(out: &mut dyn Write, value: &impl Serialize) -> anyhow::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")?;
    Ok(())
}

fn write_list<T: Serialize>(
    out: &mut dyn Write,
    format: OutputFormat,
    items: &[T],
    text: impl Fn(&T) -> String,
) -> anyhow::Result<()> {
    match format {
        OutputFormat::Text => {
            for i in items {
                writeln!(out, "{}", text(i))?;
            }
        }
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, items)?;
            out.write_all(b"\n")?;
        }
        OutputFormat::Jsonl => {
            for i in items {
                write_jsonl(out, i)?;
            }
        }
        OutputFormat::Dot => bail!("--format dot is for graphs: neighbours, callers, callees"),
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub db: DbArgs,

    /// Only jsonl is written.
    #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
    pub format: ExportFormat,

    /// Write here instead of standard output.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Jsonl,
}

pub fn export(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let store = args.db.open_existing()?;
    let project = args.db.project_of(&store)?;
    let out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = BufWriter::with_capacity(1 << 16, out);
    let ExportFormat::Jsonl = args.format;
    query::export_jsonl(&store, &project, &mut out)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Args)]
pub struct ProjectsArgs {
    #[command(flatten)]
    pub db: DbArgs,

    /// Remove this project and everything in it.
    #[arg(long)]
    pub remove: Option<String>,
}

pub fn projects(args: ProjectsArgs) -> anyhow::Result<ExitCode> {
    let store = args.db.open_existing()?;
    if let Some(p) = &args.remove {
        if store.project(p)?.is_none() {
            bail!("no project {p:?}");
        }
        store.remove_project(p)?;
        store.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = std::io::stdout().lock();
    for p in store.projects()? {
        let meta = store.project(&p)?.unwrap_or_default();
        let files = store.files(&p)?;
        let lines: u64 = files.iter().map(|f| u64::from(f.lines)).sum();
        writeln!(
            out,
            "{p}\t{} files\t{lines} lines\t{}{}",
            files.len(),
            meta.source.unwrap_or_default(),
            if meta.dirty {
                "\t(interrupted; the next index run resolves everything)"
            } else {
                ""
            }
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub db: DbArgs,
}

/// Verifies a project's graph (every listed node exists, every edge joins existing
/// nodes and is indexed from both ends). Exit 0 when sound, 1 with the problems listed.
pub fn check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let store = args.db.open_existing()?;
    let project = args.db.project_of(&store)?;
    let meta = store.project(&project)?.unwrap_or_default();
    let problems = codegraph_store::verify(&store, &project)?;
    for p in &problems {
        println!("{p}");
    }
    let files = store.files(&project)?.len();
    eprintln!(
        "codegraph: {project}: {files} files, {} problems{}",
        problems.len(),
        if meta.dirty {
            "; the last index run was interrupted and the next one resolves every file"
        } else {
            ""
        }
    );
    Ok(if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
