//! Worker threads: take a job, index its source into the tenant's store (graph, text,
//! embeddings), record the outcome, drop the project's cached answers.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use codegraph::parse::filter::Filter;
use codegraph::parse::source::{
    ArchiveLimits, ArchiveSource, GitSource, Sink, Source, SourceError, shorten,
};
use codegraph::{IndexConfig, Input};

use super::jobs::{Job, JobError, JobSource, Live, MAX_MESSAGE_BYTES, STOP_SHUTDOWN, job_result};
use super::state::App;

/// Runs jobs until the queue shuts down.
pub fn work(app: Arc<App>, index: usize) {
    // Indexing is background work: requests come first. The threads a job starts
    // inherit this.
    super::share::lower_priority(app.settings.job_priority);
    while let Some((job, live)) = app.jobs.next() {
        app.metrics.queue_depth.set(app.jobs.depth() as i64);
        let (outcome, requeue) = execute(&app, &job, &live, index);
        app.jobs.finish(&job.id, outcome, requeue);
    }
}

/// A worker thread's loop in cluster mode: take a job from the shared queue, run it
/// as the single process would, record how it ended; until the server shuts down.
#[cfg(feature = "cluster")]
pub fn work_in_cluster(
    app: Arc<App>,
    cluster: Arc<super::cluster::Cluster>,
    rt: tokio::runtime::Handle,
    index: usize,
) {
    // Indexing is background work: requests come first.
    super::share::lower_priority(app.settings.job_priority);
    let uploads = app.settings.data_dir.join("uploads");
    while !app.jobs.is_shutting_down() && !cluster.is_stopping() {
        let taken = match rt.block_on(cluster.take(std::time::Duration::from_secs(1), &uploads)) {
            Ok(Some(taken)) => taken,
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "cannot take a job; trying again");
                std::thread::sleep(std::time::Duration::from_secs(1));
                continue;
            }
        };
        if cluster.is_stopping() {
            // Taken as the shutdown began: given back unrun.
            let stopped = Err(JobError {
                code: "shutdown".into(),
                message: "stopped by a server shutdown".into(),
            });
            rt.block_on(cluster.finish(taken, stopped, true));
            continue;
        }
        let keep_alive = {
            let _rt = rt.enter();
            cluster.keep_alive(&taken)
        };
        let (outcome, requeue) = execute(&app, &taken.record.job, &taken.live, index);
        keep_alive.abort();
        rt.block_on(cluster.finish(taken, outcome, requeue));
    }
}

/// Runs one job, whichever queue it came from: its outcome as its record keeps it,
/// and whether a shutdown stopped it (then it runs again later). The project's
/// cached answers are dropped, and the metrics and the log say how it went.
pub fn execute(
    app: &App,
    job: &Job,
    live: &Live,
    index: usize,
) -> (Result<serde_json::Value, JobError>, bool) {
    let span = tracing::info_span!("job", id = %job.id, tenant = %job.tenant, project = %job.project, worker = index);
    let _enter = span.enter();
    app.metrics.jobs_running.inc();
    tracing::info!(attempt = job.attempts, "job started");
    let started = Instant::now();
    test_pause();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(app, job, live)))
        .map(|ran| ran.map(|report| job_result(report, app.settings.job_skipped_files)))
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
    (outcome, requeue)
}

/// A test hook: `CODEGRAPH_TEST_JOB_PAUSE_MS` holds every job this long before it
/// runs, so that fault tests can kill or stop its worker mid-job. Read once.
fn test_pause() {
    static PAUSE: std::sync::OnceLock<Option<std::time::Duration>> = std::sync::OnceLock::new();
    let pause = PAUSE.get_or_init(|| {
        std::env::var("CODEGRAPH_TEST_JOB_PAUSE_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map(std::time::Duration::from_millis)
    });
    if let Some(p) = pause {
        std::thread::sleep(*p);
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

/// A job's error; the message is cut to `MAX_MESSAGE_BYTES`, since it may quote what
/// a stranger's input said.
fn fail(code: &str, message: impl Into<String>) -> JobError {
    JobError {
        code: code.into(),
        message: shorten(&message.into(), MAX_MESSAGE_BYTES),
    }
}

fn run(app: &App, job: &Job, live: &Live) -> Result<codegraph::IndexReport, JobError> {
    let tenant = app
        .tenants
        .get(&job.tenant, true)
        .map_err(|e| fail("store", format!("cannot open the tenant's store: {e}")))?
        .expect("created on demand");
    // The path was checked when the job was submitted; it is checked again because a
    // directory on the way may have been replaced by a symbolic link since.
    let roots = app.settings.roots_of(&job.tenant);
    let confined = |path: &std::path::Path| {
        let p = path.to_string_lossy();
        super::paths::allowed_path(&roots, &p).map_err(|e| fail("path_not_allowed", e.message))
    };
    let input = match &job.source {
        JobSource::Directory { path } => Input::directory(confined(path)?),
        JobSource::Git { path, commit, .. } => Input::source(
            GitSource::open_confined(&confined(path)?, commit, &roots)
                .map_err(|e| fail("source", e.to_string()))?
                .with_limits(app.settings.git_limits),
        ),
        JobSource::Archive { file, bytes } => Input::source(Upload {
            inner: ArchiveSource::open(
                file,
                ArchiveLimits {
                    max_total_bytes: app.settings.max_unpacked_bytes,
                    max_name_bytes: app.settings.max_entry_name_bytes,
                    ..ArchiveLimits::default()
                },
            )
            .map_err(|e| fail("bad_archive", e.to_string()))?,
            bytes: *bytes,
        }),
    };
    let report = tenant
        .db
        .index(
            &job.project,
            input,
            &IndexConfig {
                threads: app.settings.job_threads,
                ..IndexConfig::default()
            },
            &live.progress,
            &live.cancel,
        )
        .map_err(|e| match e {
            codegraph::Error::Stopped => stopped(live),
            codegraph::Error::InvalidInput(m) => fail("source", m),
            e => fail("index", e.to_string()),
        })?;
    app.metrics.parse_seconds.observe(report.parse_seconds);
    app.metrics.files_parsed.inc_by(report.parsed as u64);
    app.record_sizes(&tenant);
    if let Some(err) = &report.source_error {
        return Err(fail(
            "source",
            format!("{err} (what was read before is indexed; nothing was removed)"),
        ));
    }
    Ok(report)
}

/// An uploaded archive, described without the server's path to it: the description
/// becomes the project's source and the job's report, which the tenant reads.
struct Upload {
    inner: ArchiveSource,
    bytes: u64,
}

impl Source for Upload {
    fn describe(&self) -> String {
        format!("uploaded archive ({} bytes)", self.bytes)
    }

    fn run(&mut self, filter: &Filter, sink: &mut dyn Sink) -> Result<(), SourceError> {
        self.inner.run(filter, sink)
    }
}
