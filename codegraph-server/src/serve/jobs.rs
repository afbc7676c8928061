//! The analysis job queue: bounded, persisted, run by worker threads.
//!
//! Every change of a job's state is written to `jobs/<id>.json` (a temporary file
//! renamed over the old one) before it is acted on, so a restart finds each job where
//! it was: queued and running jobs are queued again (indexing is idempotent: a re-run
//! finishes what an interrupted one started), finished ones keep their results.
//!
//! The queue never grows without bound: `submit` refuses a job when `capacity` jobs are
//! already waiting, the history of finished jobs is trimmed to `HISTORY`, and no job's
//! record reaches `MAX_RECORD_BYTES`, whatever its input made it report.
//!
//! Tenants share it fairly: each may have at most its share of the queue waiting
//! (`tenant_share`), keeps at most `HISTORY_PER_TENANT` finished jobs (so that one
//! tenant's jobs never push another's out of the history), and a free worker takes the
//! oldest job of the tenant with the fewest jobs running.
//! Workers are OS threads, so parsing and embedding never block the async runtime.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use codegraph::parse::source::shorten;
use codegraph::{Cancel, IndexReport, Progress};
use serde::{Deserialize, Serialize};

/// Finished jobs remembered (on disk and in memory); the oldest go first.
const HISTORY: usize = 1000;

/// Finished jobs remembered per tenant, within [`HISTORY`]: a tenant's own oldest go
/// first.
const HISTORY_PER_TENANT: usize = 100;

/// No job's record, on disk or as `GET /api/v1/jobs/{id}` answers it, reaches this
/// many bytes: records are kept and copied by the thousand, and written under the
/// queue's lock.
pub const MAX_RECORD_BYTES: usize = 64 * 1024;

/// The JSON a result's list of skipped files may take; the rest of a record (the
/// report's counts and timings, the source, an error) stays well within the other half.
const SKIPPED_LIST_BYTES: usize = 32 * 1024;

/// The longest path or reason text of a skipped file kept in a record.
const SKIPPED_TEXT_BYTES: usize = 256;

/// The longest error message kept in a record.
pub const MAX_MESSAGE_BYTES: usize = 2048;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Queued,
    Running,
    Succeeded,
    Failed,
}

impl Status {
    pub fn is_finished(self) -> bool {
        matches!(self, Status::Succeeded | Status::Failed)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Running => "running",
            Status::Succeeded => "succeeded",
            Status::Failed => "failed",
        }
    }
}

/// What a job reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum JobSource {
    Directory {
        path: PathBuf,
        /// A SCIP index of the directory whose resolutions the run takes
        /// (`codegraph index --scip`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scip: Option<PathBuf>,
    },
    Git {
        path: PathBuf,
        rev: String,
        /// The commit `rev` named when the job was submitted.
        commit: String,
    },
    Archive {
        /// The upload, under the data directory, until the job finishes.
        file: PathBuf,
        bytes: u64,
    },
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JobError {
    pub code: String,
    pub message: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Job {
    pub id: String,
    pub tenant: String,
    pub project: String,
    pub source: JobSource,
    /// Identifies the content: equal fingerprints mean an equal analysis.
    pub fingerprint: String,
    pub status: Status,
    pub created_ms: u64,
    pub started_ms: Option<u64>,
    pub finished_ms: Option<u64>,
    /// Runs started (a restart during a run starts another).
    pub attempts: u32,
    pub result: Option<serde_json::Value>,
    pub error: Option<JobError>,
}

impl Job {
    /// A new job, waiting.
    pub fn queued(
        id: String,
        tenant: &str,
        project: String,
        source: JobSource,
        fingerprint: String,
    ) -> Job {
        Job {
            id,
            tenant: tenant.to_string(),
            project,
            source,
            fingerprint,
            status: Status::Queued,
            created_ms: now_ms(),
            started_ms: None,
            finished_ms: None,
            attempts: 0,
            result: None,
            error: None,
        }
    }

    /// Records how a run ended: its outcome, or, stopped by a shutdown, waiting
    /// again.
    pub fn end(&mut self, outcome: Result<serde_json::Value, JobError>, requeue: bool) {
        if requeue {
            self.status = Status::Queued;
            self.started_ms = None;
            return;
        }
        self.finished_ms = Some(now_ms());
        match outcome {
            Ok(result) => {
                self.status = Status::Succeeded;
                self.result = Some(result);
                self.error = None;
            }
            Err(e) => {
                self.status = Status::Failed;
                self.error = Some(e);
            }
        }
        fit(self);
    }
}

/// A run's report as its job's result: every count, with the total of skipped files
/// (`skipped`), but only the first `listed` skipped files, within
/// `SKIPPED_LIST_BYTES`, each path and reason cut to `SKIPPED_TEXT_BYTES`;
/// `skipped_files_omitted` says how many are not listed.
pub fn job_result(mut report: IndexReport, listed: usize) -> serde_json::Value {
    let skipped = std::mem::take(&mut report.skipped_files);
    if let Some(error) = &mut report.source_error {
        *error = shorten(error, MAX_MESSAGE_BYTES);
    }
    let mut value = serde_json::to_value(&report).expect("reports serialise");
    let mut list = Vec::new();
    let mut bytes = 0;
    for file in skipped.iter().take(listed) {
        let mut item = serde_json::to_value(file).expect("skipped files serialise");
        if let serde_json::Value::Object(fields) = &mut item {
            for field in fields.values_mut() {
                if let serde_json::Value::String(text) = field
                    && text.len() > SKIPPED_TEXT_BYTES
                {
                    *text = shorten(text, SKIPPED_TEXT_BYTES);
                }
            }
        }
        // The comma or bracket that separates it counts too.
        let size = serde_json::to_vec(&item).map_or(usize::MAX, |b| b.len()) + 1;
        if bytes + size > SKIPPED_LIST_BYTES {
            break;
        }
        bytes += size;
        list.push(item);
    }
    let total = report.skipped.max(skipped.len());
    value["skipped_files_omitted"] = (total - list.len()).into();
    value["skipped_files"] = serde_json::Value::Array(list);
    value
}

/// A job's record as it is written and answered.
fn record_bytes(job: &Job) -> Vec<u8> {
    serde_json::to_vec(job).expect("jobs serialise")
}

/// Shrinks a finished job's record below `MAX_RECORD_BYTES` if it is not already:
/// results from `job_result` and messages from the workers are bounded, so this only
/// guards against a result or an error that came another way.
fn fit(job: &mut Job) {
    if record_bytes(job).len() < MAX_RECORD_BYTES {
        return;
    }
    if let Some(error) = &mut job.error {
        error.message = shorten(&error.message, MAX_MESSAGE_BYTES);
    }
    if let Some(serde_json::Value::Object(result)) = &mut job.result
        && let Some(list) = result.get_mut("skipped_files")
    {
        *list = serde_json::Value::Array(Vec::new());
    }
    if record_bytes(job).len() >= MAX_RECORD_BYTES {
        job.result = Some(serde_json::json!({
            "omitted": "the result was too large to keep"
        }));
    }
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Why a running job is asked to stop.
pub const STOP_NONE: u8 = 0;
pub const STOP_CANCEL: u8 = 1;
pub const STOP_SHUTDOWN: u8 = 2;

/// A running job's live state, shared with the worker.
pub struct Live {
    /// Why the job was asked to stop (`STOP_*`).
    pub stop: AtomicU8,
    /// The engine's flag: the source stops at its next file, resolution at its next
    /// file, embedding after the batch in hand.
    pub cancel: Cancel,
    pub progress: Progress,
}

impl Default for Live {
    fn default() -> Live {
        Live::new()
    }
}

impl Live {
    pub fn new() -> Live {
        Live {
            stop: AtomicU8::new(STOP_NONE),
            cancel: Cancel::new(),
            progress: Progress::default(),
        }
    }

    /// Asks every stage of the run to stop.
    pub fn request_stop(&self, why: u8) {
        self.stop.store(why, Ordering::Relaxed);
        self.cancel.cancel();
    }
}

struct Entry {
    job: Job,
    live: Option<Arc<Live>>,
    /// Its record is on disk. A job is accepted, and may run, only once it is.
    durable: bool,
}

struct Inner {
    entries: HashMap<String, Entry>,
    queue: VecDeque<String>,
    shutting_down: bool,
}

/// The answer to a submission.
pub enum Submitted {
    /// Queued as a new job.
    New(Job),
    /// The same content for the same project is already queued or running.
    Existing(Job),
}

#[derive(Debug)]
pub enum SubmitError {
    Full,
    /// The tenant has its whole share of the queue waiting.
    TenantFull,
    ShuttingDown,
    Io(String),
}

pub struct Jobs {
    dir: PathBuf,
    capacity: usize,
    tenant_share: usize,
    /// Held only for memory: HTTP handlers read it on the async threads, so no file is
    /// written, synced or removed under it.
    inner: Mutex<Inner>,
    /// Serialises the writes and removals of job records (see `save`).
    disk: Mutex<()>,
    wake: Condvar,
}

impl Jobs {
    /// Loads the jobs persisted in `dir`; those that were queued or running are queued
    /// again, oldest first. Unreadable job files are reported and left in place.
    pub fn open(dir: &Path, capacity: usize) -> anyhow::Result<Jobs> {
        std::fs::create_dir_all(dir)?;
        let mut entries = HashMap::new();
        let mut pending = Vec::new();
        for e in std::fs::read_dir(dir)?.flatten() {
            let path = e.path();
            if path.extension().and_then(|x| x.to_str()) != Some("json") {
                continue;
            }
            let job: Job = match std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
            {
                Ok(j) => j,
                Err(err) => {
                    tracing::warn!(path = %path.display(), %err, "skipping an unreadable job file");
                    continue;
                }
            };
            let mut job = job;
            if !job.status.is_finished() {
                job.status = Status::Queued;
                pending.push((job.created_ms, job.id.clone()));
            }
            entries.insert(
                job.id.clone(),
                Entry {
                    job,
                    live: None,
                    durable: true,
                },
            );
        }
        pending.sort();
        let jobs = Jobs {
            dir: dir.to_path_buf(),
            capacity,
            tenant_share: capacity,
            inner: Mutex::new(Inner {
                entries,
                // Jobs from before the restart are kept even beyond the capacity:
                // they were accepted.
                queue: pending.into_iter().map(|(_, id)| id).collect(),
                shutting_down: false,
            }),
            disk: Mutex::new(()),
            wake: Condvar::new(),
        };
        {
            let inner = jobs.lock();
            for id in &inner.queue {
                write_record(&jobs.dir, &inner.entries[id].job)?;
            }
        }
        Ok(jobs)
    }

    /// At most `share` queued jobs per tenant (by default the whole capacity).
    pub fn with_tenant_share(mut self, share: usize) -> Jobs {
        self.tenant_share = share.clamp(1, self.capacity);
        self
    }

    fn queued_of(inner: &Inner, tenant: &str) -> usize {
        inner
            .queue
            .iter()
            .filter(|id| inner.entries[*id].job.tenant == tenant)
            .count()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes the record of job `id` as it is when the write's turn comes. Writes take
    /// turns, so the last record written for a job holds its latest state; the
    /// queue's lock is held only to copy the job, never across a sync, which under a
    /// busy disk takes tens of milliseconds.
    fn save(&self, id: &str) -> std::io::Result<()> {
        let _disk = self.disk.lock().unwrap_or_else(|e| e.into_inner());
        // Forgotten meanwhile: `forget` removes its file after this write, or it is
        // not written.
        let Some(job) = self.lock().entries.get(id).map(|e| e.job.clone()) else {
            return Ok(());
        };
        write_record(&self.dir, &job)
    }

    /// Removes the records of forgotten jobs, and the uploads finished jobs no longer
    /// need, outside the queue's lock.
    fn forget(&self, forgotten: Vec<String>, upload: Option<&Job>) {
        if let Some(job) = upload {
            remove_upload(job);
        }
        if forgotten.is_empty() {
            return;
        }
        let _disk = self.disk.lock().unwrap_or_else(|e| e.into_inner());
        for id in forgotten {
            let _ = std::fs::remove_file(self.dir.join(format!("{id}.json")));
        }
    }

    /// Whether a job of the project is waiting or running.
    pub fn pending_for(&self, tenant: &str, project: &str) -> bool {
        self.lock().entries.values().any(|e| {
            !e.job.status.is_finished() && e.job.tenant == tenant && e.job.project == project
        })
    }

    pub fn depth(&self) -> usize {
        self.lock().queue.len()
    }

    /// Why a submission for this project would surely be refused, if it would: the
    /// queue (or the tenant's share of it) is full and holds nothing of the project's
    /// (which the submission could join).
    pub fn refusal(&self, tenant: &str, project: &str) -> Option<SubmitError> {
        let inner = self.lock();
        let pending = inner.entries.values().any(|e| {
            !e.job.status.is_finished() && e.job.tenant == tenant && e.job.project == project
        });
        if pending {
            None
        } else if inner.queue.len() >= self.capacity {
            Some(SubmitError::Full)
        } else if Jobs::queued_of(&inner, tenant) >= self.tenant_share {
            Some(SubmitError::TenantFull)
        } else {
            None
        }
    }

    pub fn running(&self) -> usize {
        self.lock()
            .entries
            .values()
            .filter(|e| e.job.status == Status::Running)
            .count()
    }

    /// Queues `job` unless the queue is full or the same work is already pending.
    pub fn submit(&self, job: Job) -> Result<Submitted, SubmitError> {
        let mut inner = self.lock();
        if inner.shutting_down {
            return Err(SubmitError::ShuttingDown);
        }
        // Only a durable job is joined: one still being written may yet fail.
        if let Some(e) = inner.entries.values().find(|e| {
            e.durable
                && !e.job.status.is_finished()
                && e.job.tenant == job.tenant
                && e.job.project == job.project
                && e.job.fingerprint == job.fingerprint
        }) {
            return Ok(Submitted::Existing(e.job.clone()));
        }
        if inner.queue.len() >= self.capacity {
            return Err(SubmitError::Full);
        }
        if Jobs::queued_of(&inner, &job.tenant) >= self.tenant_share {
            return Err(SubmitError::TenantFull);
        }
        // Its place is taken now, so that the limits count it, and it is accepted once
        // its record is on disk.
        inner.queue.push_back(job.id.clone());
        inner.entries.insert(
            job.id.clone(),
            Entry {
                job: job.clone(),
                live: None,
                durable: false,
            },
        );
        drop(inner);
        if let Err(e) = self.save(&job.id) {
            {
                let mut inner = self.lock();
                inner.queue.retain(|q| *q != job.id);
                inner.entries.remove(&job.id);
            }
            // Renamed before a failed directory sync, it would come back at restart.
            self.forget(vec![job.id.clone()], None);
            return Err(SubmitError::Io(e.to_string()));
        }
        if let Some(e) = self.lock().entries.get_mut(&job.id) {
            e.durable = true;
        }
        self.wake.notify_all();
        Ok(Submitted::New(job))
    }

    /// A job and, while it runs, its live progress.
    pub fn get(&self, id: &str) -> Option<(Job, Option<Arc<Live>>)> {
        let inner = self.lock();
        inner
            .entries
            .get(id)
            .map(|e| (e.job.clone(), e.live.clone()))
    }

    /// The tenant's jobs (of one project, if named), newest first, at most `limit`,
    /// each with its live progress while it runs.
    pub fn recent(
        &self,
        tenant: &str,
        project: Option<&str>,
        limit: usize,
    ) -> Vec<(Job, Option<Arc<Live>>)> {
        let inner = self.lock();
        let mut jobs: Vec<(Job, Option<Arc<Live>>)> = inner
            .entries
            .values()
            .filter(|e| e.job.tenant == tenant && project.is_none_or(|p| e.job.project == p))
            .map(|e| (e.job.clone(), e.live.clone()))
            .collect();
        jobs.sort_by(|a, b| (b.0.created_ms, &b.0.id).cmp(&(a.0.created_ms, &a.0.id)));
        jobs.truncate(limit);
        jobs
    }

    /// The job whose analysis the project holds now: the last one that ran, if it
    /// succeeded and nothing else for the project is queued or running. A failed or
    /// stopped run after a success may have re-indexed part of the project, so the
    /// success no longer describes it.
    pub fn current(&self, tenant: &str, project: &str) -> Option<Job> {
        let inner = self.lock();
        let mut last: Option<&Job> = None;
        for e in inner.entries.values() {
            let job = &e.job;
            if job.tenant != tenant || job.project != project {
                continue;
            }
            if !job.status.is_finished() {
                return None;
            }
            // Cancelled while queued: it never touched the project.
            if job.started_ms.is_none() {
                continue;
            }
            if last
                .is_none_or(|l| (job.finished_ms, job.created_ms) > (l.finished_ms, l.created_ms))
            {
                last = Some(job);
            }
        }
        last.filter(|j| j.status == Status::Succeeded).cloned()
    }

    /// Cancels a queued job at once, or asks a running one to stop at its next file.
    /// Finished jobs are returned unchanged.
    pub fn cancel(&self, id: &str) -> Option<Job> {
        let mut inner = self.lock();
        let entry = inner.entries.get_mut(id)?;
        match entry.job.status {
            Status::Queued => {
                entry.job.status = Status::Failed;
                entry.job.finished_ms = Some(now_ms());
                entry.job.error = Some(JobError {
                    code: "cancelled".into(),
                    message: "cancelled before it ran".into(),
                });
                let job = entry.job.clone();
                inner.queue.retain(|q| q != id);
                let forgotten = Jobs::trim(&mut inner);
                drop(inner);
                if let Err(e) = self.save(id) {
                    tracing::error!(job = id, error = %e, "cannot persist a cancelled job");
                }
                self.forget(forgotten, Some(&job));
                Some(job)
            }
            Status::Running => {
                if let Some(live) = &entry.live {
                    live.request_stop(STOP_CANCEL);
                }
                Some(entry.job.clone())
            }
            Status::Succeeded | Status::Failed => Some(entry.job.clone()),
        }
    }

    /// Blocks until a job is queued (and marks it running), or returns `None` once the
    /// queue shuts down. A job waits while another of the same project runs: two
    /// indexing runs of one project must never interleave.
    pub fn next(&self) -> Option<(Job, Arc<Live>)> {
        let mut inner = self.lock();
        loop {
            if inner.shutting_down {
                return None;
            }
            let busy = |inner: &Inner, id: &String| {
                let job = &inner.entries[id].job;
                !inner.entries[id].durable
                    || inner.entries.values().any(|e| {
                        e.job.status == Status::Running
                            && e.job.tenant == job.tenant
                            && e.job.project == job.project
                    })
            };
            // The oldest runnable job of the tenant with the fewest jobs running: a
            // tenant with many queued jobs takes its turn, not every worker.
            let running_of = |tenant: &str| {
                inner
                    .entries
                    .values()
                    .filter(|e| e.job.status == Status::Running && e.job.tenant == tenant)
                    .count()
            };
            let runnable = (0..inner.queue.len())
                .filter(|&i| !busy(&inner, &inner.queue[i]))
                .min_by_key(|&i| (running_of(&inner.entries[&inner.queue[i]].job.tenant), i));
            if let Some(id) = runnable.and_then(|i| inner.queue.remove(i)) {
                let live = Arc::new(Live::new());
                let entry = inner
                    .entries
                    .get_mut(&id)
                    .expect("queued jobs have entries");
                entry.job.status = Status::Running;
                entry.job.started_ms = Some(now_ms());
                entry.job.attempts += 1;
                entry.live = Some(Arc::clone(&live));
                let job = entry.job.clone();
                drop(inner);
                if let Err(e) = self.save(&id) {
                    tracing::error!(job = %id, error = %e, "cannot persist a started job");
                }
                return Some((job, live));
            }
            inner = self.wake.wait(inner).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Records how a run ended. A run stopped by a shutdown is queued again, in front.
    pub fn finish(&self, id: &str, outcome: Result<serde_json::Value, JobError>, requeue: bool) {
        let mut inner = self.lock();
        let Some(entry) = inner.entries.get_mut(id) else {
            return;
        };
        entry.live = None;
        entry.job.end(outcome, requeue);
        let job = entry.job.clone();
        let forgotten = if requeue {
            inner.queue.push_front(job.id.clone());
            Vec::new()
        } else {
            Jobs::trim(&mut inner)
        };
        drop(inner);
        if let Err(e) = self.save(id) {
            tracing::error!(job = id, error = %e, "cannot persist a finished job");
        }
        self.forget(forgotten, (!requeue).then_some(&job));
        // A job of the same project may have been waiting for this one.
        self.wake.notify_all();
    }

    /// The uploads queued or running jobs still need.
    pub fn pending_uploads(&self) -> Vec<PathBuf> {
        self.lock()
            .entries
            .values()
            .filter(|e| !e.job.status.is_finished())
            .filter_map(|e| match &e.job.source {
                JobSource::Archive { file, .. } => Some(file.clone()),
                _ => None,
            })
            .collect()
    }

    /// Forgets the oldest finished jobs beyond the history limits: first each
    /// tenant's beyond its own, then the oldest of all beyond the total. Returns
    /// their ids, for `forget` to remove their records.
    fn trim(inner: &mut Inner) -> Vec<String> {
        let mut finished: Vec<(u64, String, String)> = inner
            .entries
            .values()
            .filter(|e| e.job.status.is_finished())
            .map(|e| {
                let job = &e.job;
                (
                    job.finished_ms.unwrap_or(0),
                    job.id.clone(),
                    job.tenant.clone(),
                )
            })
            .collect();
        // Newest first: a tenant's first HISTORY_PER_TENANT are kept.
        finished.sort_by(|a, b| b.cmp(a));
        let mut per_tenant: HashMap<&str, usize> = HashMap::new();
        let mut kept = 0;
        let mut forget = Vec::new();
        for (_, id, tenant) in &finished {
            let seen = per_tenant.entry(tenant.as_str()).or_default();
            *seen += 1;
            if *seen > HISTORY_PER_TENANT || kept >= HISTORY {
                forget.push(id.clone());
            } else {
                kept += 1;
            }
        }
        for id in &forget {
            inner.entries.remove(id);
        }
        forget
    }

    /// Stops handing out jobs; running ones continue until their workers return.
    pub fn shut_down(&self) {
        self.lock().shutting_down = true;
        self.wake.notify_all();
    }

    /// Whether `shut_down` was called (cluster workers, which do not wait on this
    /// queue, ask).
    #[cfg(feature = "cluster")]
    pub fn is_shutting_down(&self) -> bool {
        self.lock().shutting_down
    }

    /// Asks every running job to stop at its next file, to be queued again.
    pub fn stop_running(&self) {
        let inner = self.lock();
        for e in inner.entries.values() {
            if let Some(live) = &e.live {
                live.request_stop(STOP_SHUTDOWN);
            }
        }
    }

    /// Waits up to `limit` for running jobs to finish; true when none is left.
    pub fn wait_idle(&self, limit: Duration) -> bool {
        let deadline = std::time::Instant::now() + limit;
        loop {
            if self.running() == 0 {
                return true;
            }
            if std::time::Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Writes a job's record: synced before the rename, so a power cut leaves the old
/// state or the new one, never an empty file; the directory is synced so the rename
/// lasts.
fn write_record(dir: &Path, job: &Job) -> std::io::Result<()> {
    let tmp = dir.join(format!("{}.json.tmp", job.id));
    // Compact: read by programs.
    let bytes = record_bytes(job);
    let mut file = std::fs::File::create(&tmp)?;
    std::io::Write::write_all(&mut file, &bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, dir.join(format!("{}.json", job.id)))?;
    std::fs::File::open(dir)?.sync_all()
}

fn remove_upload(job: &Job) {
    if let JobSource::Archive { file, .. } = &job.source {
        let _ = std::fs::remove_file(file);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: &str, project: &str, fingerprint: &str) -> Job {
        let source = JobSource::Directory {
            path: "/x".into(),
            scip: None,
        };
        Job::queued(id.into(), "t", project.into(), source, fingerprint.into())
    }

    fn job_of(tenant: &str, id: &str, project: &str) -> Job {
        Job {
            tenant: tenant.into(),
            ..job(id, project, "1")
        }
    }

    #[test]
    fn tenants_share_the_queue_the_workers_and_the_history() {
        let dir = tempfile::tempdir().unwrap();
        let jobs = Jobs::open(dir.path(), 8).unwrap().with_tenant_share(3);
        // The flooding tenant gets its share, and no more; the other still gets in.
        for i in 0..3 {
            let j = job_of("flood", &format!("f{i}"), &format!("p{i}"));
            assert!(matches!(jobs.submit(j), Ok(Submitted::New(_))));
        }
        assert!(matches!(
            jobs.submit(job_of("flood", "f3", "p3")),
            Err(SubmitError::TenantFull)
        ));
        assert!(matches!(
            jobs.refusal("flood", "p3"),
            Some(SubmitError::TenantFull)
        ));
        assert!(jobs.refusal("quiet", "q").is_none());
        assert!(matches!(
            jobs.submit(job_of("quiet", "q0", "q")),
            Ok(Submitted::New(_))
        ));
        // One flood job runs; the next worker serves the tenant running none.
        let (first, _) = jobs.next().unwrap();
        assert_eq!(first.tenant, "flood");
        let (second, _) = jobs.next().unwrap();
        assert_eq!(second.id, "q0");
        jobs.finish(&first.id, Ok(serde_json::json!({})), false);
        jobs.finish(&second.id, Ok(serde_json::json!({})), false);
        // The flood's finished jobs beyond its own history go, the other's stay.
        for i in 0..HISTORY_PER_TENANT + 20 {
            let id = format!("h{i}");
            jobs.submit(job_of("flood", &id, &format!("h{i}")))
                .ok()
                .unwrap();
            let (j, _) = jobs.next().unwrap();
            jobs.finish(&j.id, Ok(serde_json::json!({})), false);
        }
        assert!(
            jobs.get("q0").is_some(),
            "the quiet tenant's job was pushed out"
        );
        let flood_finished = jobs
            .lock()
            .entries
            .values()
            .filter(|e| e.job.tenant == "flood" && e.job.status.is_finished())
            .count();
        assert_eq!(flood_finished, HISTORY_PER_TENANT);
    }

    #[test]
    fn a_slow_disk_never_holds_the_queue_lock() {
        let dir = tempfile::tempdir().unwrap();
        let jobs = Arc::new(Jobs::open(dir.path(), 8).unwrap());
        // A sync that takes its time: the record writes wait for this lock.
        let disk = jobs.disk.lock().unwrap();
        let submitter = {
            let jobs = Arc::clone(&jobs);
            std::thread::spawn(move || jobs.submit(job("a", "p", "1")))
        };
        let worker = {
            let jobs = Arc::clone(&jobs);
            std::thread::spawn(move || jobs.next().map(|(j, _)| j.id))
        };
        // What HTTP handlers ask on the async threads answers while the record is
        // being written; each of these takes the queue's lock.
        while jobs.depth() == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(jobs.refusal("t", "q").is_none());
        assert_eq!(jobs.get("a").unwrap().0.status, Status::Queued);
        assert!(jobs.current("t", "p").is_none());
        // Not accepted, so not run, before its record is on disk.
        std::thread::sleep(Duration::from_millis(50));
        assert!(!worker.is_finished());
        assert!(!submitter.is_finished());
        drop(disk);
        assert!(matches!(submitter.join().unwrap(), Ok(Submitted::New(_))));
        assert_eq!(worker.join().unwrap().as_deref(), Some("a"));
        let record: Job =
            serde_json::from_slice(&std::fs::read(dir.path().join("a.json")).unwrap()).unwrap();
        assert_eq!(record.status, Status::Running);
    }

    #[test]
    fn bounded_deduplicated_and_persisted_across_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let jobs = Jobs::open(dir.path(), 2).unwrap();
        assert!(matches!(
            jobs.submit(job("a", "p", "1")),
            Ok(Submitted::New(_))
        ));
        assert!(matches!(
            jobs.submit(job("b", "p", "1")),
            Ok(Submitted::Existing(j)) if j.id == "a"
        ));
        assert!(matches!(
            jobs.submit(job("c", "q", "1")),
            Ok(Submitted::New(_))
        ));
        assert!(matches!(
            jobs.submit(job("d", "r", "1")),
            Err(SubmitError::Full)
        ));
        // "a" starts, then the process dies; "c" never started.
        let (started, _live) = jobs.next().unwrap();
        assert_eq!(started.id, "a");
        drop(jobs);
        let jobs = Jobs::open(dir.path(), 2).unwrap();
        assert_eq!(jobs.depth(), 2);
        let (first, _) = jobs.next().unwrap();
        assert_eq!((first.id.as_str(), first.attempts), ("a", 2));
        jobs.finish("a", Ok(serde_json::json!({"parsed": 1})), false);
        assert_eq!(jobs.get("a").unwrap().0.status, Status::Succeeded);
        assert_eq!(jobs.current("t", "p").unwrap().id, "a");
        // Cancelling a queued job fails it at once.
        let c = jobs.cancel("c").unwrap();
        assert_eq!(c.status, Status::Failed);
        assert_eq!(c.error.unwrap().code, "cancelled");
        assert_eq!(jobs.depth(), 0);
    }

    #[test]
    fn a_run_stopped_by_shutdown_is_queued_again_in_front() {
        let dir = tempfile::tempdir().unwrap();
        let jobs = Jobs::open(dir.path(), 4).unwrap();
        jobs.submit(job("a", "p", "1")).ok().unwrap();
        jobs.submit(job("b", "q", "1")).ok().unwrap();
        let (a, live) = jobs.next().unwrap();
        jobs.stop_running();
        assert_eq!(live.stop.load(Ordering::Relaxed), STOP_SHUTDOWN);
        jobs.finish(
            &a.id,
            Err(JobError {
                code: "x".into(),
                message: "y".into(),
            }),
            true,
        );
        let reopened = Jobs::open(dir.path(), 4).unwrap();
        let (again, _) = reopened.next().unwrap();
        assert_eq!(again.id, "a");
        assert_eq!(again.status, Status::Running);
    }

    #[test]
    fn only_a_success_that_is_the_last_run_describes_the_project() {
        let dir = tempfile::tempdir().unwrap();
        let jobs = Jobs::open(dir.path(), 4).unwrap();
        let fail = || {
            Err(JobError {
                code: "x".into(),
                message: "y".into(),
            })
        };
        jobs.submit(job("a", "p", "1")).ok().unwrap();
        let (a, _) = jobs.next().unwrap();
        jobs.finish(&a.id, Ok(serde_json::json!({})), false);
        assert_eq!(jobs.current("t", "p").unwrap().id, "a");
        // Queued, then cancelled before it ran: the project is still a's.
        jobs.submit(job("b", "p", "2")).ok().unwrap();
        assert!(jobs.current("t", "p").is_none(), "b is queued");
        jobs.cancel("b");
        assert_eq!(jobs.current("t", "p").unwrap().id, "a");
        // A run that failed part-way: a no longer describes the project.
        std::thread::sleep(Duration::from_millis(2));
        jobs.submit(job("c", "p", "2")).ok().unwrap();
        let (c, _) = jobs.next().unwrap();
        jobs.finish(&c.id, fail(), false);
        assert!(jobs.current("t", "p").is_none());
        assert!(jobs.current("t", "q").is_none());
    }

    #[test]
    fn job_records_stay_small_whatever_the_report() {
        use codegraph_core::{SkipReason, SkippedFile};
        let skipped: Vec<SkippedFile> = (0..10_000)
            .map(|i| SkippedFile {
                path: format!("{i}/{}", "../".repeat(1400)),
                reason: SkipReason::Unsafe {
                    detail: "\u{1}".repeat(4000),
                },
            })
            .collect();
        let report: IndexReport = serde_json::from_value(serde_json::json!({
            "project": "p", "source": "archive x", "parsed": 0, "unchanged": 0,
            "removed": 0, "resolved": 0, "full": true, "skipped": skipped.len(),
            "skipped_files": skipped, "lines": 0, "nodes_written": 0, "edges_written": 0,
            "parse_seconds": 0.0, "walk_seconds": 0.0, "write_seconds": 0.0,
            "resolve_seconds": 0.0, "commit_seconds": 0.0, "seconds": 0.0,
            "disk_bytes": 0, "source_error": "e".repeat(1 << 20),
        }))
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let jobs = Jobs::open(dir.path(), 8).unwrap();
        let on_disk = |id: &str| {
            let bytes = std::fs::read(dir.path().join(format!("{id}.json"))).unwrap();
            assert_eq!(bytes, record_bytes(&jobs.get(id).unwrap().0), "{id}");
            bytes.len()
        };
        let run = |id: &str, outcome: Result<serde_json::Value, JobError>| {
            jobs.submit(job(id, id, "1")).ok().unwrap();
            let (started, _) = jobs.next().unwrap();
            assert_eq!(started.id, id);
            jobs.finish(id, outcome, false);
        };
        for listed in [0, 100, usize::MAX] {
            let id = format!("listed-{listed}");
            let result = job_result(report.clone(), listed);
            let shown = result["skipped_files"].as_array().unwrap().len();
            assert!(shown <= listed.min(100), "{listed}: {shown}");
            assert_eq!(result["skipped"], 10_000);
            assert_eq!(result["skipped_files_omitted"], 10_000 - shown);
            if listed > 0 {
                let first = &result["skipped_files"][0];
                assert!(first["path"].as_str().unwrap().len() < 300, "{first}");
                assert!(first["detail"].as_str().unwrap().len() < 300, "{first}");
            }
            run(&id, Ok(result));
            assert!(on_disk(&id) < MAX_RECORD_BYTES, "{listed}");
        }
        // A message that came another way, and a result that did.
        run(
            "message",
            Err(JobError {
                code: "x".into(),
                message: "m".repeat(1 << 20),
            }),
        );
        assert!(on_disk("message") < MAX_RECORD_BYTES);
        run(
            "result",
            Ok(serde_json::json!({
                "skipped_files": vec!["x".repeat(1000); 1000],
                "other": "y".repeat(100_000),
            })),
        );
        assert!(on_disk("result") < MAX_RECORD_BYTES);
        let kept = jobs.get("result").unwrap().0.result.unwrap();
        assert!(kept["omitted"].is_string(), "{kept}");
    }

    #[test]
    fn two_jobs_of_one_project_never_run_together() {
        let dir = tempfile::tempdir().unwrap();
        let jobs = Jobs::open(dir.path(), 4).unwrap();
        jobs.submit(job("a", "p", "1")).ok().unwrap();
        jobs.submit(job("b", "p", "2")).ok().unwrap();
        jobs.submit(job("c", "q", "1")).ok().unwrap();
        let (a, _) = jobs.next().unwrap();
        assert_eq!(a.id, "a");
        // b waits for a; c, of another project, goes first.
        let (c, _) = jobs.next().unwrap();
        assert_eq!(c.id, "c");
        let waiter = std::thread::scope(|s| {
            let w = s.spawn(|| jobs.next().unwrap().0.id);
            std::thread::sleep(Duration::from_millis(50));
            assert_eq!(jobs.depth(), 1, "b must still be waiting");
            jobs.finish("a", Ok(serde_json::json!({})), false);
            w.join().unwrap()
        });
        assert_eq!(waiter, "b");
    }
}
