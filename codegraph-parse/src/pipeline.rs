//! The parallel pipeline: a source feeds a bounded queue, rayon workers parse.
//!
//! One producer thread runs the [`Source`] (walking, decompressing, reading objects)
//! and pushes items into a bounded channel; rayon workers take them, read content when
//! the item is a path, apply the content filters, extract, and hand the result to the
//! caller's callback. The channel bound and the per-file size limit cap how many bytes
//! are in memory at once, and each syntax tree is dropped as soon as its file is
//! extracted, so memory stays flat however large the input is.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use codegraph_core::{ParsedFile, SkipReason, SkippedFile};
use rayon::prelude::*;

use crate::extract::{self, ExtractOptions};
use crate::filter::Filter;
use crate::source::{Content, Sink, Source, SourceError, SourceFile, SourceItem};

/// The result for one file.
#[derive(Debug)]
pub enum FileOutcome {
    /// The extraction and the bytes it came from, for consumers that need bodies or
    /// line text (full-text indexing, etags). Dropping them is free.
    Parsed(ParsedFile, Vec<u8>),
    Skipped(SkippedFile),
    /// The caller's [`Pipeline::unchanged_if`] said it already has this content; it was
    /// read and hashed but not parsed.
    Unchanged {
        path: String,
        content_hash: u64,
    },
}

/// Decides from a path and its content hash that a file need not be parsed again.
pub type UnchangedCheck = dyn Fn(&str, u64) -> bool + Send + Sync;

/// Totals of a run, readable while it goes (for progress) and after.
#[derive(Debug, Default)]
pub struct PipelineStats {
    /// Items the source announced, when it knew in advance (0 otherwise).
    pub expected: AtomicU64,
    /// Files parsed or skipped so far.
    pub processed: AtomicU64,
    pub parsed: AtomicU64,
    pub skipped: AtomicU64,
    pub bytes: AtomicU64,
    pub lines: AtomicU64,
    pub definitions: AtomicU64,
    pub references: AtomicU64,
    /// Files parsed with syntax errors (tree-sitter recovered what it could).
    pub with_errors: AtomicU64,
}

impl PipelineStats {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

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
    unchanged: Option<Box<UnchangedCheck>>,
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
            unchanged: None,
        }
    }

    /// Skips parsing files for which `check(path, content_hash)` is true: incremental
    /// indexing passes what its store already holds. Such files arrive as
    /// [`FileOutcome::Unchanged`].
    pub fn unchanged_if(mut self, check: Box<UnchangedCheck>) -> Pipeline {
        self.unchanged = Some(check);
        self
    }

    /// Worker threads to parse with (at least one).
    pub fn threads(mut self, threads: usize) -> Pipeline {
        self.threads = threads.max(1);
        self
    }

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
        let (tx, rx) = crossbeam_channel::bounded::<SourceItem>(self.queue);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.threads)
            .thread_name(|i| format!("codegraph-parse-{i}"))
            .build()
            .map_err(|e| SourceError::Unsupported(format!("cannot start worker threads: {e}")))?;

        std::thread::scope(|scope| {
            let producer = scope.spawn(|| {
                let mut sink = ChannelSink { tx, stats };
                source.run(&self.filter, &mut sink)
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
        let bytes = match content {
            Content::Bytes(bytes) => bytes,
            Content::Disk(disk_path) => {
                match read_limited(&disk_path, self.filter.config().max_file_size) {
                    Ok(Some(bytes)) => bytes,
                    Ok(None) => {
                        return skipped(SkipReason::TooLarge {
                            size: std::fs::metadata(&disk_path).map(|m| m.len()).unwrap_or(0),
                            limit: self.filter.config().max_file_size,
                        });
                    }
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
        if let Some(check) = &self.unchanged {
            let content_hash = xxhash_rust::xxh3::xxh3_64(&bytes);
            if check(&path, content_hash) {
                return FileOutcome::Unchanged { path, content_hash };
            }
        }
        match extract::extract(language, &path, &bytes, &self.options) {
            Ok(parsed) => FileOutcome::Parsed(parsed, bytes),
            Err(e) => skipped(SkipReason::ParseFailed {
                error: e.to_string(),
            }),
        }
    }
}

/// Reads a file unless it is larger than `limit` (checked while reading, since files
/// can grow after the walk saw them).
fn read_limited(path: &std::path::Path, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let hint = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut bytes = Vec::with_capacity(hint.min(limit) as usize + 1);
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        Ok(None)
    } else {
        Ok(Some(bytes))
    }
}

struct ChannelSink<'a> {
    tx: crossbeam_channel::Sender<SourceItem>,
    stats: &'a PipelineStats,
}

impl Sink for ChannelSink<'_> {
    fn expect(&mut self, files: u64) {
        self.stats.expected.store(files, Ordering::Relaxed);
    }

    fn item(&mut self, item: SourceItem) -> ControlFlow<()> {
        if self.tx.send(item).is_err() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
}
