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
use super::state::{App, TenantStore};

/// Runs jobs until the queue shuts down.
pub fn work(app: Arc<App>, index: usize) {
    // Indexing is background work: requests come first. The threads a job starts
    // inherit this.
    super::share::lower_priority(app.settings.job_priority);
    while let Some((job, live)) = app.jobs.next() {
        app.metrics.queue_depth.set(app.jobs.depth() as i64);
        let store = app
            .tenants
            .get(&job.tenant, true)
            .map_err(|e| fail("store", format!("cannot open the tenant's store: {e}")))
            .map(|t| t.expect("created on demand"));
        let (outcome, requeue) = execute(&app, &job, &live, index, &store);
        if let Ok(store) = &store {
            app.record_sizes(store);
        }
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
            rt.block_on(cluster.finish(taken, stopped, true, None));
            continue;
        }
        let keep_alive = {
            let _rt = rt.enter();
            cluster.keep_alive(&taken)
        };
        let built = build(&app, &cluster, &rt, &taken, index);
        keep_alive.abort();
        let (tenant, project) = (
            taken.record.job.tenant.clone(),
            taken.record.job.project.clone(),
        );
        let generation = taken.base.generation + 1;
        let object = built.index.as_ref().map(|(_, o)| o.clone());
        let recorded = rt.block_on(cluster.finish(taken, built.outcome, built.requeue, object));
        if let Some((dir, _)) = built.index {
            // The node that built a generation serves it at once.
            let served = recorded
                && cluster
                    .replicas
                    .install(&tenant, &project, generation, &dir)
                    .inspect_err(
                        |e| tracing::warn!(error = %e, "cannot serve the index just built"),
                    )
                    .is_ok();
            if served {
                let _ = rt.block_on(cluster.beat());
            } else {
                let _ = std::fs::remove_dir_all(&dir);
            }
        }
    }
}

/// A cluster run's outcome, and the index it built and uploaded.
#[cfg(feature = "cluster")]
struct Built {
    outcome: Result<serde_json::Value, JobError>,
    requeue: bool,
    index: Option<(std::path::PathBuf, super::cluster::queue::IndexObject)>,
}

/// Runs a job taken from the cluster's queue in a directory of its own, starting
/// from the project's current index, then packs and uploads what it built. A run
/// that fails leaves nothing behind: the project stays as the manifest says.
#[cfg(feature = "cluster")]
fn build(
    app: &App,
    cluster: &super::cluster::Cluster,
    rt: &tokio::runtime::Handle,
    taken: &super::cluster::queue::Taken,
    index: usize,
) -> Built {
    use super::cluster::artifact;
    let job = &taken.record.job;
    let dir = cluster.replicas.scratch("build");
    let failed = |outcome: JobError, requeue: bool| Built {
        outcome: Err(outcome),
        requeue,
        index: None,
    };
    // The current generation, restored here if this node does not serve it yet.
    let base = &taken.base;
    let start = match base.object {
        Some(_) => rt
            .block_on(super::cluster::patiently(|| {
                cluster.restore(&job.tenant, &job.project, base)
            }))
            .map_err(|e| e.to_string())
            .and_then(|()| {
                let replica = cluster
                    .replicas
                    .get(&job.tenant, &job.project)
                    .ok_or("the project's index went away")?;
                artifact::copy_dir(replica.store.db.dir(), &dir).map_err(|e| e.to_string())
            }),
        None => std::fs::create_dir_all(&dir).map_err(|e| e.to_string()),
    };
    if let Err(e) = start {
        let _ = std::fs::remove_dir_all(&dir);
        // NATS or the disk: tried again, on this node or another.
        tracing::warn!(job = %job.id, error = %e, "cannot start from the project's index");
        return failed(fail("store", e), true);
    }
    let store = codegraph::Db::open(&dir, app.tenants.options(&job.tenant))
        .map(|db| {
            std::sync::Arc::new(super::state::TenantStore {
                name: job.tenant.clone(),
                db,
                _remove_on_drop: None,
            })
        })
        .map_err(|e| fail("store", format!("cannot open the project's store: {e}")));
    let (outcome, requeue) = execute(app, job, &taken.live, index, &store);
    let listed = store.as_ref().ok().and_then(|s| {
        let meta = s.db.project(&job.project).ok()??;
        Some((s.db.files(&job.project).ok()?.len(), meta.source))
    });
    // Closed before it is packed.
    drop(store);
    if outcome.is_err() || requeue {
        let _ = std::fs::remove_dir_all(&dir);
        return Built {
            outcome,
            requeue,
            index: None,
        };
    }
    let generation = base.generation + 1;
    let name = format!(
        "{}.{generation}.{}.{}",
        super::cluster::queue::manifest_key(&job.tenant, &job.project),
        job.id,
        job.attempts
    );
    let tar = dir.with_extension("tar");
    let uploaded = artifact::pack(&dir, &tar)
        .map_err(|e| e.to_string())
        .and_then(|packed| {
            rt.block_on(super::cluster::patiently(|| cluster.upload(&name, &packed)))
                .map_err(|e| e.to_string())
        });
    let _ = std::fs::remove_file(&tar);
    match uploaded {
        Ok(mut object) => {
            (object.files, object.source) = listed.unwrap_or_default();
            Built {
                outcome,
                requeue: false,
                index: Some((dir, object)),
            }
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&dir);
            tracing::warn!(job = %job.id, error = %e, "cannot publish the index; the job runs again");
            failed(fail("publish", e), true)
        }
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
    store: &Result<std::sync::Arc<TenantStore>, JobError>,
) -> (Result<serde_json::Value, JobError>, bool) {
    let span = tracing::info_span!("job", id = %job.id, tenant = %job.tenant, project = %job.project, worker = index);
    let _enter = span.enter();
    app.metrics.jobs_running.inc();
    tracing::info!(attempt = job.attempts, "job started");
    let started = Instant::now();
    test_pause();
    let ran = || run(app, job, live, store.as_ref().map_err(Clone::clone)?);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(ran))
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

fn run(
    app: &App,
    job: &Job,
    live: &Live,
    tenant: &TenantStore,
) -> Result<codegraph::IndexReport, JobError> {
    // The path was checked when the job was submitted; it is checked again because a
    // directory on the way may have been replaced by a symbolic link since.
    let roots = app.settings.roots_of(&job.tenant);
    let confined = |path: &std::path::Path| {
        let p = path.to_string_lossy();
        super::paths::allowed_path(&roots, &p).map_err(|e| fail("path_not_allowed", e.message))
    };
    let scip = match &job.source {
        JobSource::Directory {
            scip: Some(scip), ..
        } => Some(confined(scip)?),
        _ => None,
    };
    let input = match &job.source {
        JobSource::Directory { path, .. } => Input::directory(confined(path)?),
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
                scip,
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
