//! Worker threads: take a job, index its source into the tenant's store (graph, text,
//! embeddings), record the outcome, drop the project's cached answers.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Instant;

use codegraph_parse::filter::{Filter, FilterConfig};
use codegraph_parse::source::{
    ArchiveLimits, ArchiveSource, DirectorySource, GitSource, Sink, Source, SourceError, SourceItem,
};
use codegraph_parse::{ExtractOptions, Pipeline};
use codegraph_store::{Companion, IndexOptions};
use codegraph_vector::DocumentOptions;

use super::jobs::{Job, JobError, JobSource, Live, STOP_NONE, STOP_SHUTDOWN};
use super::state::App;

/// Runs jobs until the queue shuts down.
pub fn work(app: Arc<App>, index: usize) {
    while let Some((job, live)) = app.jobs.next() {
        let span = tracing::info_span!("job", id = %job.id, tenant = %job.tenant, project = %job.project, worker = index);
        let _enter = span.enter();
        app.metrics.queue_depth.set(app.jobs.depth() as i64);
        app.metrics.jobs_running.inc();
        tracing::info!(attempt = job.attempts, "job started");
        let started = Instant::now();
        let outcome =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&app, &job, &live)))
                .unwrap_or_else(|_| {
                    Err(JobError {
                        code: "internal".into(),
                        message: "the analysis panicked (see the server log)".into(),
                    })
                });
        let requeue = live.stop.load(Ordering::Relaxed) == STOP_SHUTDOWN && outcome.is_err();
        app.metrics.jobs_running.dec();
        let seconds = started.elapsed().as_secs_f64();
        match &outcome {
            _ if requeue => tracing::info!(seconds, "job stopped by shutdown; queued again"),
            Ok(_) => tracing::info!(seconds, "job succeeded"),
            Err(e) => tracing::warn!(seconds, code = %e.code, error = %e.message, "job failed"),
        }
        if !requeue {
            app.metrics.job_seconds.observe(seconds);
            let status = if outcome.is_ok() {
                "succeeded"
            } else {
                "failed"
            };
            app.metrics.jobs.with_label_values(&[status]).inc();
        }
        // Even a failed run may have indexed part of the source.
        app.invalidate(&job.tenant, &job.project);
        app.jobs.finish(&job.id, outcome, requeue);
    }
}

/// The error of a run stopped on request, by why it was asked to stop.
fn stopped(live: &Live) -> JobError {
    match live.stop.load(Ordering::Relaxed) {
        STOP_SHUTDOWN => fail("shutdown", "stopped by a server shutdown"),
        _ => fail(
            "cancelled",
            "cancelled while running; what it finished stands (consistent), and the \
             next analysis of the project completes the rest",
        ),
    }
}

fn fail(code: &str, message: impl Into<String>) -> JobError {
    JobError {
        code: code.into(),
        message: message.into(),
    }
}

fn run(app: &App, job: &Job, live: &Live) -> Result<serde_json::Value, JobError> {
    let tenant = app
        .tenants
        .get(&job.tenant, true)
        .map_err(|e| fail("store", format!("cannot open the tenant's store: {e}")))?
        .expect("created on demand");
    // The path was checked when the job was submitted; it is checked again because a
    // directory on the way may have been replaced by a symbolic link since.
    let confined = |path: &std::path::Path| {
        let p = path.to_string_lossy();
        super::api::allowed_path(&app.settings.allow_roots, &p)
            .map_err(|e| fail("path_not_allowed", e.message))
    };
    let inner: Box<dyn Source> = match &job.source {
        JobSource::Directory { path } => Box::new(
            DirectorySource::new(&confined(path)?)
                .map_err(|e| fail("source", e.to_string()))?
                .with_walk_cache(crate::graph::walk_cache_file(&tenant.root, &job.project)),
        ),
        JobSource::Git { path, commit, .. } => Box::new(
            GitSource::open_confined(&confined(path)?, commit, &app.settings.allow_roots)
                .map_err(|e| fail("source", e.to_string()))?,
        ),
        JobSource::Archive { file, .. } => Box::new(
            ArchiveSource::open(
                file,
                ArchiveLimits {
                    max_total_bytes: app.settings.max_unpacked_bytes,
                    ..ArchiveLimits::default()
                },
            )
            .map_err(|e| fail("bad_archive", e.to_string()))?,
        ),
    };
    let mut source = Stoppable {
        inner,
        stop: &live.stop,
    };
    let filter =
        Filter::new(FilterConfig::default()).map_err(|e| fail("internal", e.to_string()))?;
    let pipeline = Pipeline::new(filter, ExtractOptions::default());
    let options = IndexOptions {
        source_label: Some(source.describe()),
        ..IndexOptions::default()
    };
    let documents = DocumentOptions::default();
    let text = crate::search::TextCompanion {
        text: &tenant.text,
        options: documents.clone(),
    };
    let embeddings = app.embedder.as_ref().map(|e| {
        crate::search::EmbeddingCompanion::new(
            tenant.vectors_dir(),
            e.inner.as_ref(),
            documents.clone(),
            &live.embedding,
        )
    });
    let mut members: Vec<&dyn Companion> = vec![&text];
    if let Some(e) = &embeddings {
        members.push(e);
    }
    let report = codegraph_store::index_with(
        &tenant.store,
        &members,
        &job.project,
        &mut source,
        pipeline,
        &options,
        &live.progress,
    )
    .map_err(|e| match e {
        codegraph_core::Error::Stopped => stopped(live),
        e => fail("index", e.to_string()),
    })?;
    app.metrics
        .parse_seconds
        .observe(report.parse_time.as_secs_f64());
    app.metrics.files_parsed.inc_by(report.parsed as u64);
    app.record_sizes(&tenant);
    if let Some(err) = &report.source_error {
        return Err(fail(
            "source",
            format!("{err} (what was read before is indexed; nothing was removed)"),
        ));
    }
    let mut result = crate::graph::report_json(&job.project, &report, &tenant.store);
    result["skipped_files"] =
        serde_json::to_value(report.skipped.iter().take(100).collect::<Vec<_>>())
            .expect("skipped files serialise");
    if let Some(e) = embeddings.as_ref().and_then(|e| e.report()) {
        result["embeddings"] = serde_json::json!({
            "vectors": e.vectors,
            "embedded": e.embedded,
            "cached": e.cached,
            "seconds": e.embed_time.as_secs_f64(),
        });
    }
    Ok(result)
}

/// A source that stops at the next file once asked to, and then fails, so the indexer
/// treats the run as cut short: it keeps what was read and removes nothing.
struct Stoppable<'a> {
    inner: Box<dyn Source>,
    stop: &'a AtomicU8,
}

struct StoppableSink<'a, 'b> {
    inner: &'a mut dyn Sink,
    stop: &'b AtomicU8,
}

impl Sink for StoppableSink<'_, '_> {
    fn expect(&mut self, files: u64) {
        self.inner.expect(files);
    }

    fn item(&mut self, item: SourceItem) -> ControlFlow<()> {
        if self.stop.load(Ordering::Relaxed) != STOP_NONE {
            return ControlFlow::Break(());
        }
        self.inner.item(item)
    }
}

impl Source for Stoppable<'_> {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn run(&mut self, filter: &Filter, sink: &mut dyn Sink) -> Result<(), SourceError> {
        let result = self.inner.run(
            filter,
            &mut StoppableSink {
                inner: sink,
                stop: self.stop,
            },
        );
        if self.stop.load(Ordering::Relaxed) != STOP_NONE {
            return Err(SourceError::Unsupported("stopped on request".into()));
        }
        result
    }
}
