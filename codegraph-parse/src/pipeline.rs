//! The parallel pipeline: a source feeds a bounded queue, rayon workers parse.
//!
//! One producer thread runs the [`Source`] (walking, decompressing, reading objects)
//! and pushes items into a bounded channel; rayon workers take them, read content when
//! the item is a path, apply the content filters, extract, and hand the result to the
//! caller's callback. The channel bound and the per-file size limit cap how many bytes
//! are in memory at once, and each syntax tree is dropped as soon as its file is
//! extracted, so memory stays flat however large the input is.

use std::collections::HashSet;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use codegraph_core::{FileStamp, Language, ParsedFile, SkipReason, SkippedFile};
use rayon::prelude::*;

use crate::extract::{self, ExtractOptions};
use crate::filter::Filter;
use crate::source::{
    Content, DiskRead, RACY_WINDOW, Sink, Source, SourceError, SourceFile, SourceItem,
    read_beneath, stamp_of, trusted_stamp,
};

/// The result for one file.
#[derive(Debug)]
pub enum FileOutcome {
    /// The extraction and the bytes it came from, for consumers that need bodies or
    /// line text (full-text indexing, etags). Dropping them is free.
    Parsed(ParsedFile, Vec<u8>),
    /// The file was refused by a filter, could not be read, or failed to parse; the
    /// reason says which. The run goes on.
    Skipped(SkippedFile),
    /// The caller already has this content (see [`Pipeline::known_files`]): either the
    /// file's stamp matched the known one, so it was not even read, or its bytes hashed
    /// to the known hash. `stamp` is the file's trusted stamp now, which differs from
    /// the known one after a `touch`.
    Unchanged {
        /// Repository-relative, `/`-separated.
        path: String,
        /// The hash of the content the caller holds, which the file still has.
        content_hash: u64,
        /// The file's stamp now, if it can be trusted; `None` when the file was
        /// changed too recently for its times to be relied on, or does not come from
        /// disk.
        stamp: Option<FileStamp>,
    },
}

/// What a caller already holds for one path: the hash of the content it indexed, and
/// the file's stamp when that content was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KnownFile {
    /// xxh3-64 of the bytes the caller indexed, compared with a fresh hash when the
    /// file has to be read.
    pub content_hash: u64,
    /// The stamp recorded when those bytes were read; `None` means the file is always
    /// read and hashed.
    pub stamp: Option<FileStamp>,
}

/// Looks up what the caller holds for a path.
pub type KnownFiles = dyn Fn(&str) -> Option<KnownFile> + Send + Sync;

/// Totals of a run, readable while it goes (for progress) and after.
#[derive(Debug, Default)]
pub struct PipelineStats {
    /// Items the source announced, when it knew in advance (0 otherwise).
    pub expected: AtomicU64,
    /// Files parsed or skipped so far.
    pub processed: AtomicU64,
    /// Files parsed so far (not counting unchanged ones).
    pub parsed: AtomicU64,
    /// Files skipped so far, for any [`SkipReason`].
    pub skipped: AtomicU64,
    /// Bytes of the files parsed so far.
    pub bytes: AtomicU64,
    /// Lines of the files parsed so far.
    pub lines: AtomicU64,
    /// Definitions extracted so far (file nodes and import bindings excluded).
    pub definitions: AtomicU64,
    /// Unresolved references extracted so far.
    pub references: AtomicU64,
    /// Files parsed with syntax errors (tree-sitter recovered what it could).
    pub with_errors: AtomicU64,
    /// Nanoseconds the source took to deliver its items (the directory walk, reading
    /// an archive), once it has finished.
    pub source_nanos: AtomicU64,
}

impl PipelineStats {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Reads one of the counters, as in `PipelineStats::get(&stats.parsed)`. Each
    /// counter is read on its own: during a run, two of them may disagree by the files
    /// in flight.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// Parses everything a [`Source`] yields.
pub struct Pipeline {
    filter: Filter,
    options: ExtractOptions,
    threads: usize,
    queue: usize,
    known: Option<Box<KnownFiles>>,
    racy_window: Duration,
    warm: Vec<Language>,
}

/// Starts compiling the queries that extraction with `options` uses for `languages`,
/// on a thread of its own, and returns at once. Compiling a language's query takes
/// tens of milliseconds (tree-sitter analyses every pattern against the grammar's parse
/// table), which a process that will parse one changed file can spend while it opens
/// its store instead of after its walk. Compiled queries are process-wide: a run that
/// needs one still being compiled waits for it, and one that needs none does not.
pub fn warm_up(languages: &[Language], options: &ExtractOptions) {
    if languages.is_empty() {
        return;
    }
    let (languages, references, docs) = (languages.to_vec(), options.references, options.docs);
    // Detached: a run that finds nothing to parse must not wait for the compile.
    let _ = std::thread::Builder::new()
        .name("codegraph-warm".into())
        .spawn(move || {
            for language in languages {
                crate::queries::query(language, references, docs);
            }
        });
}

impl Pipeline {
    /// A pipeline with the given filter, on all available cores.
    pub fn new(filter: Filter, options: ExtractOptions) -> Pipeline {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        Pipeline {
            filter,
            options,
            threads,
            queue: 64,
            known: None,
            racy_window: RACY_WINDOW,
            warm: Vec::new(),
        }
    }

    /// Skips files the caller already holds: incremental indexing passes what its
    /// store has. A file on disk whose stamp equals the known one is not read; any
    /// other file is read and hashed, and not parsed when the hash is the known one.
    /// Such files arrive as [`FileOutcome::Unchanged`].
    pub fn known_files(mut self, lookup: Box<KnownFiles>) -> Pipeline {
        self.known = Some(lookup);
        self
    }

    /// How old a file's times must be before its stamp is trusted ([`RACY_WINDOW`]
    /// unless changed; tests that edit files within it shorten it).
    pub fn racy_window(mut self, window: Duration) -> Pipeline {
        self.racy_window = window;
        self
    }

    /// Languages whose queries to compile while the source is walked, most likely
    /// first. Compiling a language's query takes tens of milliseconds; a re-index that
    /// parses one changed file would otherwise wait for it after the walk.
    pub fn prepare(mut self, languages: Vec<Language>) -> Pipeline {
        self.warm = languages;
        self
    }

    /// [`warm_up`] with this pipeline's extraction options, for a caller that knows
    /// what it will parse before it calls [`Pipeline::run`] and has other work to do
    /// first.
    pub fn warm_up(&self, languages: &[Language]) {
        warm_up(languages, &self.options);
    }

    /// Worker threads to parse with (at least one).
    pub fn threads(mut self, threads: usize) -> Pipeline {
        self.threads = threads.max(1);
        self
    }

    /// The filter the pipeline applies to every path and every file's content.
    pub fn filter(&self) -> &Filter {
        &self.filter
    }

    /// Runs `source` to the end, calling `on_outcome` for every file from worker
    /// threads in completion order. Per-file problems arrive as
    /// [`FileOutcome::Skipped`]; an `Err` means the source itself failed part-way, and
    /// everything delivered before that stands.
    pub fn run(
        &self,
        source: &mut dyn Source,
        stats: &PipelineStats,
        on_outcome: &(dyn Fn(FileOutcome) + Sync),
    ) -> Result<Duration, SourceError> {
        let started = Instant::now();
        self.warm_up(&self.warm);
        let (tx, rx) = crossbeam_channel::bounded::<SourceItem>(self.queue);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.threads)
            .thread_name(|i| format!("codegraph-parse-{i}"))
            .build()
            .map_err(|e| SourceError::Unsupported(format!("cannot start worker threads: {e}")))?;

        std::thread::scope(|scope| {
            let producer = scope.spawn(|| {
                let mut sink = ChannelSink {
                    tx,
                    stats,
                    delivered: HashSet::new(),
                    pipeline: self,
                    on_outcome,
                };
                let walking = Instant::now();
                let result = source.run(&self.filter, &mut sink);
                stats.source_nanos.store(
                    u64::try_from(walking.elapsed().as_nanos()).unwrap_or(u64::MAX),
                    Ordering::Relaxed,
                );
                result
                // Dropping the sink closes the channel and lets the workers finish.
            });
            pool.install(|| {
                rx.into_iter().par_bridge().for_each(|item| {
                    let outcome = match item {
                        SourceItem::Skipped(skipped) => FileOutcome::Skipped(skipped),
                        SourceItem::File(file) => self.process(file),
                    };
                    PipelineStats::add(&stats.processed, 1);
                    match &outcome {
                        FileOutcome::Parsed(parsed, _) => {
                            PipelineStats::add(&stats.parsed, 1);
                            PipelineStats::add(&stats.bytes, parsed.size);
                            PipelineStats::add(&stats.lines, u64::from(parsed.lines));
                            PipelineStats::add(
                                &stats.definitions,
                                parsed.definitions().count() as u64,
                            );
                            PipelineStats::add(&stats.references, parsed.references.len() as u64);
                            if parsed.has_errors {
                                PipelineStats::add(&stats.with_errors, 1);
                            }
                        }
                        FileOutcome::Skipped(_) => PipelineStats::add(&stats.skipped, 1),
                        FileOutcome::Unchanged { .. } => {}
                    }
                    on_outcome(outcome);
                });
            });
            match producer.join() {
                Ok(result) => result,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })?;
        Ok(started.elapsed())
    }

    /// The outcome of a file whose stamp `seen` is the known one: it is not read.
    fn unchanged(
        &self,
        path: &str,
        known: Option<KnownFile>,
        seen: Option<FileStamp>,
    ) -> Option<FileOutcome> {
        match known {
            Some(KnownFile {
                content_hash,
                stamp: Some(stamp),
            }) if stamp.size <= self.filter.config().max_file_size && seen == Some(stamp) => {
                Some(FileOutcome::Unchanged {
                    path: path.to_string(),
                    content_hash,
                    stamp: Some(stamp),
                })
            }
            _ => None,
        }
    }

    /// Reads (if needed), filters and extracts one file.
    fn process(&self, file: SourceFile) -> FileOutcome {
        let SourceFile {
            path,
            language,
            content,
        } = file;
        let skipped = |reason| {
            FileOutcome::Skipped(SkippedFile {
                path: path.clone(),
                reason,
            })
        };
        let known = self.known.as_ref().and_then(|lookup| lookup(&path));
        let limit = self.filter.config().max_file_size;
        let (bytes, stamp) = match content {
            Content::Bytes(bytes) => (bytes, None),
            Content::Disk {
                path: disk_path,
                stamp: seen,
                beneath,
            } => {
                let seen = match (seen, known) {
                    // Not through a link: a link's own stamp never matches a file's.
                    (None, Some(KnownFile { stamp: Some(_), .. })) => {
                        std::fs::symlink_metadata(&disk_path)
                            .ok()
                            .map(|m| stamp_of(&m))
                    }
                    (seen, _) => seen,
                };
                if let Some(unchanged) = self.unchanged(&path, known, seen) {
                    return unchanged;
                }
                match read_beneath(beneath.as_deref(), &disk_path, limit) {
                    Ok(DiskRead::Read { bytes, meta }) => {
                        (bytes, trusted_stamp(&meta, self.racy_window))
                    }
                    Ok(DiskRead::TooLarge { size }) => {
                        return skipped(SkipReason::TooLarge { size, limit });
                    }
                    // Replaced since the walk saw it (by a link, a FIFO, ...).
                    Ok(DiskRead::NotRegular(_)) => return skipped(SkipReason::NotRegular),
                    Err(e) => {
                        return skipped(SkipReason::Unreadable {
                            error: e.to_string(),
                        });
                    }
                }
            }
        };
        if let Some(reason) = self.filter.check_content(language, &bytes) {
            return skipped(reason);
        }
        if let Some(known) = known {
            let content_hash = xxhash_rust::xxh3::xxh3_64(&bytes);
            if known.content_hash == content_hash {
                return FileOutcome::Unchanged {
                    path,
                    content_hash,
                    stamp,
                };
            }
        }
        match extract::extract(language, &path, &bytes, &self.options) {
            Ok(mut parsed) => {
                parsed.stamp = stamp;
                FileOutcome::Parsed(parsed, bytes)
            }
            Err(e) => skipped(SkipReason::ParseFailed {
                error: e.to_string(),
            }),
        }
    }
}

struct ChannelSink<'a> {
    tx: crossbeam_channel::Sender<SourceItem>,
    stats: &'a PipelineStats,
    /// Paths already sent. A path must reach the store and its companions once: two
    /// versions parsed in parallel would leave them holding different ones.
    delivered: HashSet<String>,
    pipeline: &'a Pipeline,
    on_outcome: &'a (dyn Fn(FileOutcome) + Sync),
}

impl Sink for ChannelSink<'_> {
    fn expect(&mut self, files: u64) {
        self.stats.expected.store(files, Ordering::Relaxed);
    }

    fn item(&mut self, item: SourceItem) -> ControlFlow<()> {
        let path = match &item {
            SourceItem::File(f) => &f.path,
            SourceItem::Skipped(s) => &s.path,
        };
        // Sources deliver in order from one thread, so the first entry wins
        // deterministically.
        let item = if self.delivered.insert(path.clone()) {
            // A file the walk stamped as the caller knows it is answered here: handing
            // it to a worker costs more than the check (most files of an update).
            if let SourceItem::File(SourceFile {
                path,
                content: Content::Disk {
                    stamp: Some(seen), ..
                },
                ..
            }) = &item
                && let Some(lookup) = &self.pipeline.known
                && let Some(outcome) = self.pipeline.unchanged(path, lookup(path), Some(*seen))
            {
                PipelineStats::add(&self.stats.processed, 1);
                (self.on_outcome)(outcome);
                return ControlFlow::Continue(());
            }
            item
        } else {
            SourceItem::Skipped(SkippedFile {
                path: path.clone(),
                reason: SkipReason::Duplicate,
            })
        };
        if self.tx.send(item).is_err() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::FilterConfig;
    use crate::source::DirectorySource;
    use std::sync::Mutex;

    fn run(pipeline: &Pipeline, dir: &std::path::Path) -> Vec<FileOutcome> {
        let out = Mutex::new(Vec::new());
        let mut source = DirectorySource::new(dir).unwrap();
        pipeline
            .run(&mut source, &PipelineStats::default(), &|o| {
                out.lock().unwrap().push(o)
            })
            .unwrap();
        out.into_inner().unwrap()
    }

    fn pipeline() -> Pipeline {
        Pipeline::new(
            Filter::new(FilterConfig::default()).unwrap(),
            ExtractOptions::default(),
        )
        .threads(1)
    }

    #[test]
    fn fresh_files_get_no_stamp_until_their_times_are_old_enough() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.py"), "def f():\n    pass\n").unwrap();
        let outcomes = run(&pipeline(), dir.path());
        let [FileOutcome::Parsed(parsed, _)] = &outcomes[..] else {
            panic!("{outcomes:?}")
        };
        assert_eq!(parsed.stamp, None, "written just now: not to be trusted");

        let outcomes = run(&pipeline().racy_window(Duration::ZERO), dir.path());
        let [FileOutcome::Parsed(parsed, _)] = &outcomes[..] else {
            panic!("{outcomes:?}")
        };
        let meta = std::fs::metadata(dir.path().join("a.py")).unwrap();
        assert_eq!(parsed.stamp, Some(stamp_of(&meta)));
        assert_eq!(parsed.stamp.unwrap().size, 18);
    }

    #[test]
    fn a_matching_stamp_skips_reading_and_a_changed_one_reads_again() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.py");
        std::fs::write(&file, "def f():\n    pass\n").unwrap();
        let stamp = stamp_of(&std::fs::metadata(&file).unwrap());
        // A hash that cannot be the file's: if it comes back, the file was not read.
        let known = KnownFile {
            content_hash: 7,
            stamp: Some(stamp),
        };
        let with_known = |known: KnownFile| {
            pipeline()
                .racy_window(Duration::ZERO)
                .known_files(Box::new(move |path| (path == "a.py").then_some(known)))
        };
        let outcomes = run(&with_known(known), dir.path());
        assert!(
            matches!(&outcomes[..], [FileOutcome::Unchanged { content_hash: 7, stamp: Some(s), .. }] if *s == stamp),
            "{outcomes:?}"
        );

        // Same size, and the modification time put back: the status-change time still
        // gives the edit away.
        let mtime = std::fs::metadata(&file).unwrap().modified().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(&file, "def g():\n    pass\n").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&file)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        let outcomes = run(&with_known(known), dir.path());
        let [FileOutcome::Parsed(parsed, _)] = &outcomes[..] else {
            panic!("{outcomes:?}")
        };
        assert!(parsed.nodes.iter().any(|n| n.name == "g"));

        // A stamp that differs while the content does not: read, hashed, found the same,
        // and reported with the new stamp so the caller can record it.
        let hash = xxhash_rust::xxh3::xxh3_64(&std::fs::read(&file).unwrap());
        let stale = KnownFile {
            content_hash: hash,
            stamp: Some(stamp),
        };
        let outcomes = run(&with_known(stale), dir.path());
        let now = stamp_of(&std::fs::metadata(&file).unwrap());
        assert!(
            matches!(&outcomes[..], [FileOutcome::Unchanged { content_hash, stamp: Some(s), .. }] if *content_hash == hash && *s == now),
            "{outcomes:?}"
        );
    }
}
