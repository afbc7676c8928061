//! The shared job queue: every node accepts analyses and every node's workers take
//! them, and a job outlives the node that ran it.
//!
//! - Stream `CG_JOBS`, work-queue retention, on disk: one message per accepted run,
//!   its subject `cg.jobs.<tenant as hex>` so that the stream bounds each tenant's
//!   share (`max_messages_per_subject`, new ones refused) as well as the whole
//!   (`max_messages`). One durable pull consumer, `workers`, shared by every node:
//!   explicit acks, `ack_wait` kept open by progress acks while a job runs, and
//!   `max_deliver` with a growing backoff, after which an advisory ends the job as
//!   failed (`worker_lost`).
//! - Bucket `cg_jobs`: the job records, readable from any node. Every change is a
//!   compare-and-set on the revision its writer read, so a worker that comes back
//!   after its job was given to another (stopped, cut off) cannot overwrite what the
//!   other wrote.
//! - Object store `cg_uploads`: uploaded archives, by job id, until their job ends.
//! - Bucket `cg_manifest`: per project, its generation (bumped by every run that
//!   changed it), its index object, and the job running on it now. A job takes the
//!   project before it runs (one run of a project at a time, cluster-wide, as in
//!   the single process), and gives it back with its outcome: a success names its
//!   upload as the next generation, with compare-and-set on the revision read when
//!   the job took the project, so a stale worker cannot move it.
//! - Object store `cg_indexes`: each project's current index, packed
//!   (`artifact.rs`); owners restore it (`replicas.rs`).
//!
//! A job's id is a hash of its tenant, project and content, so the same request sent
//! to two nodes is one job: the record is created once (`create` fails for the
//! second), and the message carries the record's revision as its de-duplication id.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::{self, AckKind, consumer, kv, object_store, stream};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use super::{ClusterError, patiently};
use crate::serve::jobs::{
    Job, JobError, JobSource, Live, STOP_CANCEL, STOP_NONE, STOP_SHUTDOWN, Status, SubmitError,
    Submitted, now_ms,
};

const STREAM: &str = "CG_JOBS";
const CONSUMER: &str = "workers";
const RECORDS: &str = "cg_jobs";
const UPLOADS: &str = "cg_uploads";
const MANIFEST: &str = "cg_manifest";
const INDEXES: &str = "cg_indexes";
const LOST: &str = "CG_LOST";
const REAPER: &str = "reaper";
/// Finished records are kept this long (the single process keeps the last 1,000).
const RECORD_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

/// How the queue is shaped; the same on every node.
#[derive(Clone, Debug)]
pub struct QueueSettings {
    pub capacity: usize,
    pub tenant_share: usize,
    pub ack_wait: Duration,
    pub max_deliver: u32,
    pub replicas: usize,
}

/// A job as the cluster keeps it: the single process's record, with the node that
/// runs or ran it and a stop asked for by a client.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Record {
    #[serde(flatten)]
    pub job: Job,
    /// The advertised address of the node running it (or that ran it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// A client asked it to stop (`DELETE /jobs/{id}`); its worker stops at the
    /// next file.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cancel: bool,
}

pub struct Queue {
    settings: QueueSettings,
    js: jetstream::Context,
    records: kv::Store,
    manifest: kv::Store,
    uploads: object_store::ObjectStore,
    /// Projects' built indexes, by [`IndexObject::name`].
    pub(super) indexes: object_store::ObjectStore,
    /// The manifest as this node last saw it (a watch keeps it current), by key,
    /// with each entry's revision: routing reads it instead of NATS.
    view: std::sync::RwLock<View>,
    /// The jobs this node's workers run now, for their live progress and stops.
    running: Mutex<HashMap<String, Arc<Live>>>,
    /// Messages of jobs whose project another run holds, with when each was last
    /// looked at: their leases kept by `keep_parked`, taken again by `take`.
    parked: Mutex<std::collections::VecDeque<(Arc<jetstream::Message>, std::time::Instant)>>,
}

/// A project as the cluster knows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Bumped by every run that changed the project: cached answers carry it.
    pub generation: u64,
    /// The current index, an immutable object in `cg_indexes`; `None` until a run
    /// succeeded.
    #[serde(default)]
    pub object: Option<IndexObject>,
    /// The last job that changed it.
    pub job: Option<String>,
    /// The job running on it now, if any, and the node that took it for that job.
    pub running: Option<String>,
    #[serde(default)]
    pub running_on: Option<String>,
}

/// A project's built index as the manifest names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexObject {
    /// Its name in the object store: unique to the run that made it.
    pub name: String,
    /// SHA-256 of its bytes, checked before an owner unpacks it.
    pub checksum: String,
    pub bytes: u64,
    /// The store format it holds ([`INDEX_SCHEMA`] of the node that built it).
    pub schema: u32,
    /// The address of the node that built it.
    pub built_on: String,
    /// What the project's listing shows without opening the index.
    #[serde(default)]
    pub files: usize,
    #[serde(default)]
    pub source: Option<String>,
}

/// The on-disk format of a project's store as this build writes it: raised when a
/// change to the store's format makes older objects unreadable, so that a node
/// never opens an index it cannot read (the project is analysed again instead).
pub const INDEX_SCHEMA: u32 = 1;

/// Names as subject tokens and key parts: tenant and project names may hold `.`, a
/// subject separator.
fn hex(name: &str) -> String {
    name.bytes().map(|b| format!("{b:02x}")).collect()
}

/// The subject of a tenant's jobs.
fn subject(tenant: &str) -> String {
    format!("cg.jobs.{}", hex(tenant))
}

/// A JSON value of a bucket and its revision; `None` when absent, deleted or purged.
async fn read<T: serde::de::DeserializeOwned>(
    store: &kv::Store,
    key: &str,
    what: &'static str,
) -> Result<Option<(T, u64)>, ClusterError> {
    let Some(entry) = store
        .entry(key)
        .await
        .map_err(|e| ClusterError::js(what, e))?
    else {
        return Ok(None);
    };
    if entry.operation != kv::Operation::Put {
        return Ok(None);
    }
    let value =
        serde_json::from_slice(&entry.value).map_err(|e| ClusterError::Record(e.to_string()))?;
    Ok(Some((value, entry.revision)))
}

pub fn manifest_key(tenant: &str, project: &str) -> String {
    format!("{}.{}", hex(tenant), hex(project))
}

/// The tenant and project of a manifest key ([`manifest_key`] undone).
pub fn names_of_key(key: &str) -> Option<(String, String)> {
    let unhex = |h: &str| -> Option<String> {
        let bytes = (0..h.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(h.get(i..i + 2)?, 16).ok())
            .collect::<Option<Vec<u8>>>()?;
        String::from_utf8(bytes).ok()
    };
    let (t, p) = key.split_once('.')?;
    Some((unhex(t)?, unhex(p)?))
}

/// The manifest as one node sees it: each project's entry and its revision.
#[derive(Default)]
pub struct View {
    pub projects: HashMap<String, (Manifest, u64)>,
}

/// A job's id: the same tenant, project and content make the same id on every node.
pub fn job_id(tenant: &str, project: &str, fingerprint: &str) -> String {
    let mut bytes = Vec::new();
    for part in [tenant, project, fingerprint] {
        bytes.extend_from_slice(&(part.len() as u64).to_le_bytes());
        bytes.extend_from_slice(part.as_bytes());
    }
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(&bytes))
}

impl Queue {
    pub(super) async fn open(
        js: &jetstream::Context,
        settings: QueueSettings,
    ) -> Result<Queue, ClusterError> {
        js.create_or_update_stream(stream::Config {
            name: STREAM.to_string(),
            description: Some("codegraph serve: analysis jobs waiting or running".into()),
            subjects: vec!["cg.jobs.*".to_string()],
            retention: stream::RetentionPolicy::WorkQueue,
            storage: stream::StorageType::File,
            max_messages: settings.capacity as i64,
            max_messages_per_subject: settings.tenant_share as i64,
            discard: stream::DiscardPolicy::New,
            discard_new_per_subject: true,
            duplicate_window: Duration::from_secs(120),
            // A message nobody could end (its advisory lost) frees its place at last.
            max_age: RECORD_AGE,
            num_replicas: settings.replicas,
            ..Default::default()
        })
        .await
        .map_err(|e| ClusterError::js("cannot open the job queue", e))?;
        let stream = js
            .get_stream(STREAM)
            .await
            .map_err(|e| ClusterError::js("cannot open the job queue", e))?;
        // Each delivery waits longer than the last before the next: a job that
        // kills its worker does not take every node down in quick turns.
        let backoff = (0..settings.max_deliver)
            .map(|i| settings.ack_wait * 2u32.pow(i.min(10)))
            .collect();
        stream
            .get_or_create_consumer(
                CONSUMER,
                consumer::pull::Config {
                    durable_name: Some(CONSUMER.to_string()),
                    ack_policy: consumer::AckPolicy::Explicit,
                    ack_wait: settings.ack_wait,
                    max_deliver: settings.max_deliver as i64,
                    backoff,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| ClusterError::js("cannot open the workers' consumer", e))?;
        js.create_or_update_stream(stream::Config {
            name: LOST.to_string(),
            description: Some("codegraph serve: jobs whose workers kept dying".into()),
            subjects: vec![format!(
                "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{STREAM}.{CONSUMER}"
            )],
            retention: stream::RetentionPolicy::WorkQueue,
            storage: stream::StorageType::File,
            max_age: RECORD_AGE,
            num_replicas: settings.replicas,
            ..Default::default()
        })
        .await
        .map_err(|e| ClusterError::js("cannot open the lost-job advisories", e))?;
        js.get_stream(LOST)
            .await
            .map_err(|e| ClusterError::js("cannot open the lost-job advisories", e))?
            .get_or_create_consumer(
                REAPER,
                consumer::pull::Config {
                    durable_name: Some(REAPER.to_string()),
                    ack_policy: consumer::AckPolicy::Explicit,
                    ack_wait: Duration::from_secs(60),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| ClusterError::js("cannot open the lost-job advisories", e))?;
        let records = js
            .create_or_update_key_value(kv::Config {
                bucket: RECORDS.to_string(),
                description: "codegraph serve: job records".to_string(),
                history: 1,
                max_age: RECORD_AGE,
                storage: stream::StorageType::File,
                num_replicas: settings.replicas,
                ..Default::default()
            })
            .await
            .map_err(|e| ClusterError::js("cannot open the job records", e))?;
        let manifest = js
            .create_or_update_key_value(kv::Config {
                bucket: MANIFEST.to_string(),
                description: "codegraph serve: projects (generation, index object, running job)"
                    .to_string(),
                history: 1,
                storage: stream::StorageType::File,
                num_replicas: settings.replicas,
                ..Default::default()
            })
            .await
            .map_err(|e| ClusterError::js("cannot open the project manifest", e))?;
        let uploads = match js.get_object_store(UPLOADS).await {
            Ok(store) => store,
            Err(_) => js
                .create_object_store(object_store::Config {
                    bucket: UPLOADS.to_string(),
                    description: Some("codegraph serve: uploads waiting for their job".into()),
                    max_age: RECORD_AGE,
                    storage: stream::StorageType::File,
                    num_replicas: settings.replicas,
                    ..Default::default()
                })
                .await
                .map_err(|e| ClusterError::js("cannot open the upload store", e))?,
        };
        let indexes = match js.get_object_store(INDEXES).await {
            Ok(store) => store,
            Err(_) => js
                .create_object_store(object_store::Config {
                    bucket: INDEXES.to_string(),
                    description: Some("codegraph serve: projects' built indexes".into()),
                    storage: stream::StorageType::File,
                    num_replicas: settings.replicas,
                    ..Default::default()
                })
                .await
                .map_err(|e| ClusterError::js("cannot open the index store", e))?,
        };
        Ok(Queue {
            settings,
            js: js.clone(),
            records,
            manifest,
            uploads,
            indexes,
            view: std::sync::RwLock::new(View::default()),
            running: Mutex::new(HashMap::new()),
            parked: Mutex::new(std::collections::VecDeque::new()),
        })
    }

    /// A record and its revision.
    pub async fn entry(&self, id: &str) -> Result<Option<(Record, u64)>, ClusterError> {
        read(&self.records, id, "cannot read a job").await
    }

    /// A project's manifest and its revision (`None`: never analysed).
    pub async fn manifest(
        &self,
        tenant: &str,
        project: &str,
    ) -> Result<Option<(Manifest, u64)>, ClusterError> {
        let key = manifest_key(tenant, project);
        read(&self.manifest, &key, "cannot read a project's manifest").await
    }

    /// A project's manifest as this node knows it: from the view the watch keeps,
    /// or, for a project the view lacks, read from NATS (and kept).
    pub async fn known(
        &self,
        tenant: &str,
        project: &str,
    ) -> Result<Option<Manifest>, ClusterError> {
        let key = manifest_key(tenant, project);
        if let Some((m, _)) = self.view_lock().projects.get(&key) {
            return Ok(Some(m.clone()));
        }
        self.refresh(tenant, project).await
    }

    /// Reads a project's manifest from NATS into the view. A node that told a client
    /// a job finished has called this first, so it never answers that client from
    /// an older generation than the job made.
    pub async fn refresh(
        &self,
        tenant: &str,
        project: &str,
    ) -> Result<Option<Manifest>, ClusterError> {
        let got = self.manifest(tenant, project).await?;
        if let Some((m, rev)) = &got {
            self.observe(&manifest_key(tenant, project), Some(m.clone()), *rev);
        }
        Ok(got.map(|(m, _)| m))
    }

    /// Takes a manifest entry into the view, unless the view has a later one.
    pub(super) fn observe(&self, key: &str, m: Option<Manifest>, revision: u64) {
        let mut view = self.view.write().unwrap_or_else(|e| e.into_inner());
        if view
            .projects
            .get(key)
            .is_some_and(|(_, seen)| *seen >= revision)
        {
            return;
        }
        match m {
            Some(m) => {
                view.projects.insert(key.to_string(), (m, revision));
            }
            None => {
                view.projects.remove(key);
            }
        }
    }

    /// Removes a project from the cluster: its manifest (by compare-and-set, so not
    /// while a job holds it), then its index object. `Ok(None)`: no such project;
    /// `Ok(Some(false))`: a job is analysing it.
    pub async fn remove_project(
        &self,
        tenant: &str,
        project: &str,
    ) -> Result<Option<bool>, ClusterError> {
        let key = manifest_key(tenant, project);
        for _ in 0..8 {
            let Some((m, rev)) = self.manifest(tenant, project).await? else {
                return Ok(None);
            };
            if m.object.is_none() && m.running.is_none() {
                return Ok(None);
            }
            if m.running.is_some() {
                return Ok(Some(false));
            }
            match self.manifest.delete_expect_revision(&key, Some(rev)).await {
                Ok(()) => {
                    self.observe(&key, None, rev + 1);
                    if let Some(o) = &m.object
                        && let Err(e) = self.indexes.delete(&o.name).await
                    {
                        tracing::warn!(object = %o.name, error = %e, "cannot remove an index object");
                    }
                    return Ok(Some(true));
                }
                Err(e) if e.kind() == kv::DeleteErrorKind::WrongLastRevision => continue,
                Err(e) => return Err(ClusterError::js("cannot remove a project", e)),
            }
        }
        Ok(Some(false))
    }

    /// Every manifest entry, the latest of each first, then each change.
    pub(super) async fn watch_manifest(&self) -> Result<kv::Watch, ClusterError> {
        self.manifest
            .watch_with_history(">")
            .await
            .map_err(|e| ClusterError::js("cannot watch the manifest", e))
    }

    fn view_lock(&self) -> std::sync::RwLockReadGuard<'_, View> {
        self.view.read().unwrap_or_else(|e| e.into_inner())
    }

    /// A tenant's projects that have an index, as the view knows them, by name.
    pub fn tenant_projects(&self, tenant: &str) -> Vec<(String, Manifest)> {
        let prefix = format!("{}.", hex(tenant));
        let mut out: Vec<(String, Manifest)> = self
            .view_lock()
            .projects
            .iter()
            .filter(|(k, (m, _))| k.starts_with(&prefix) && m.object.is_some())
            .filter_map(|(k, (m, _))| Some((names_of_key(k)?.1, m.clone())))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Every project in the view with its manifest.
    pub fn known_projects(&self) -> Vec<(String, Manifest)> {
        self.view_lock()
            .projects
            .iter()
            .map(|(k, (m, _))| (k.clone(), m.clone()))
            .collect()
    }

    /// Writes a manifest if the stored one is still at `revision` (`None`: absent).
    async fn swap_manifest(
        &self,
        tenant: &str,
        project: &str,
        m: &Manifest,
        revision: Option<u64>,
    ) -> Result<bool, ClusterError> {
        let key = manifest_key(tenant, project);
        let bytes: bytes::Bytes = serde_json::to_vec(m).expect("manifests serialise").into();
        let written = match revision {
            Some(rev) => match self.manifest.update(&key, bytes, rev).await {
                Ok(_) => true,
                Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => false,
                Err(e) => return Err(ClusterError::js("cannot write a project's manifest", e)),
            },
            None => match self.manifest.create(&key, bytes).await {
                Ok(_) => true,
                Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => false,
                Err(e) => return Err(ClusterError::js("cannot write a project's manifest", e)),
            },
        };
        Ok(written)
    }

    /// Changes a project's manifest with `change` (which returns false to leave it
    /// as it is), retrying when another writer comes first.
    async fn update_manifest(
        &self,
        tenant: &str,
        project: &str,
        change: impl Fn(&mut Manifest) -> bool,
    ) -> Result<bool, ClusterError> {
        for _ in 0..16 {
            let (mut m, rev) = match self.manifest(tenant, project).await? {
                Some((m, rev)) => (m, Some(rev)),
                None => (Manifest::default(), None),
            };
            if !change(&mut m) {
                return Ok(false);
            }
            if self.swap_manifest(tenant, project, &m, rev).await? {
                return Ok(true);
            }
        }
        Err(ClusterError::JetStream {
            what: "cannot write a project's manifest",
            message: "it kept changing".into(),
        })
    }

    /// Writes `record` if the stored one is still at `revision`; `Ok(None)` when
    /// another writer came first.
    async fn swap(&self, record: &Record, revision: u64) -> Result<Option<u64>, ClusterError> {
        let bytes = serde_json::to_vec(record).expect("records serialise");
        match self
            .records
            .update(&record.job.id, bytes.into(), revision)
            .await
        {
            Ok(rev) => Ok(Some(rev)),
            Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => Ok(None),
            Err(e) => Err(ClusterError::js("cannot write a job", e)),
        }
    }

    /// Whether a submission would surely be refused: the whole queue is full. (A
    /// tenant's share is known only when its message is refused.)
    pub async fn refusal(&self) -> Option<SubmitError> {
        let mut stream = self.js.get_stream(STREAM).await.ok()?;
        let info = stream.info().await.ok()?;
        (info.state.messages >= self.settings.capacity as u64).then_some(SubmitError::Full)
    }

    /// Accepts `job` (with its uploaded archive), unless the same job is pending.
    pub async fn submit(
        &self,
        job: Job,
        upload: Option<bytes::Bytes>,
    ) -> Result<Submitted, SubmitError> {
        let io = |e: ClusterError| SubmitError::Io(e.to_string());
        let record = Record {
            job: job.clone(),
            node: None,
            cancel: false,
        };
        let bytes: bytes::Bytes = serde_json::to_vec(&record)
            .expect("records serialise")
            .into();
        // Created once: a second node submitting the same job finds it.
        let (revision, before) = match self.records.create(&job.id, bytes.clone()).await {
            Ok(rev) => (rev, None),
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => {
                let Some((old, rev)) = self.entry(&job.id).await.map_err(io)? else {
                    return Err(SubmitError::Io("a job record vanished".into()));
                };
                if old.job.tenant != job.tenant {
                    // Ids hash tenant, project and content; a collision is refused.
                    return Err(SubmitError::Io("a job id collision; try again".into()));
                }
                if old.job.status == Status::Queued {
                    // Its message may have been lost with a node that died between
                    // the record and the publish: published again under the same
                    // de-duplication id, so that a message still waiting is not
                    // doubled (a late double finds the job done, and is dropped).
                    let publish = jetstream::message::PublishMessage::build()
                        .payload(job.id.clone().into())
                        .message_id(format!("{}.{rev}", job.id));
                    if let Ok(ack) = self.js.send_publish(subject(&job.tenant), publish).await {
                        let _ = ack.await;
                    }
                }
                if !old.job.status.is_finished() {
                    return Ok(Submitted::Existing(old.job));
                }
                // Run again (it failed, or its project was removed since).
                match self.swap(&record, rev).await.map_err(io)? {
                    Some(new_rev) => (new_rev, Some(old)),
                    None => {
                        let current = self.entry(&job.id).await.map_err(io)?;
                        return match current {
                            Some((r, _)) => Ok(Submitted::Existing(r.job)),
                            None => Err(SubmitError::Io("a job record vanished".into())),
                        };
                    }
                }
            }
            Err(e) => return Err(io(ClusterError::js("cannot write a job", e))),
        };
        let undo = async |why: SubmitError| {
            let _ = self.uploads.delete(&job.id).await;
            match &before {
                Some(old) => {
                    let _ = self.swap(old, revision).await;
                }
                None => {
                    let _ = self.records.purge(&job.id).await;
                }
            }
            Err(why)
        };
        if let Some(body) = upload
            && let Err(e) = self.uploads.put(job.id.as_str(), &mut body.as_ref()).await
        {
            return undo(SubmitError::Io(format!("cannot store the upload: {e}"))).await;
        }
        let publish = jetstream::message::PublishMessage::build()
            .payload(job.id.clone().into())
            .message_id(format!("{}.{revision}", job.id));
        let acked = match self.js.send_publish(subject(&job.tenant), publish).await {
            Ok(ack) => ack.await.map(|_| ()),
            Err(e) => Err(e),
        };
        match acked {
            Ok(()) => Ok(Submitted::New(job)),
            Err(e) => {
                let text = e.to_string();
                // The stream's limits, as the server words them.
                let why = if text.contains("per subject") {
                    SubmitError::TenantFull
                } else if text.contains("maximum messages") {
                    SubmitError::Full
                } else {
                    SubmitError::Io(format!("cannot queue the job: {text}"))
                };
                undo(why).await
            }
        }
    }

    /// A job, with its live progress when this node runs it.
    pub async fn get(&self, id: &str) -> Result<Option<(Record, Option<Arc<Live>>)>, ClusterError> {
        let Some((record, _)) = self.entry(id).await? else {
            return Ok(None);
        };
        let live = self.running().get(id).cloned();
        Ok(Some((record, live)))
    }

    /// Fails a waiting job at once, or asks the node running it to stop it.
    pub async fn cancel(&self, id: &str) -> Result<Option<Record>, ClusterError> {
        // A few turns: a worker may take the job between the read and the write.
        for _ in 0..8 {
            let Some((mut record, rev)) = self.entry(id).await? else {
                return Ok(None);
            };
            match record.job.status {
                Status::Succeeded | Status::Failed => return Ok(Some(record)),
                Status::Queued => {
                    record.job.status = Status::Failed;
                    record.job.finished_ms = Some(now_ms());
                    record.job.error = Some(JobError {
                        code: "cancelled".into(),
                        message: "cancelled before it ran".into(),
                    });
                }
                Status::Running => record.cancel = true,
            }
            if self.swap(&record, rev).await?.is_some() {
                if record.job.status == Status::Failed {
                    let _ = self.uploads.delete(id).await;
                }
                if record.job.status == Status::Running
                    && let Some(live) = self.running().get(id)
                {
                    live.request_stop(STOP_CANCEL);
                }
                return Ok(Some(record));
            }
        }
        Err(ClusterError::JetStream {
            what: "cannot cancel a job",
            message: "its record kept changing".into(),
        })
    }

    fn parked(
        &self,
    ) -> std::sync::MutexGuard<
        '_,
        std::collections::VecDeque<(Arc<jetstream::Message>, std::time::Instant)>,
    > {
        self.parked.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn park(&self, message: Arc<jetstream::Message>) {
        self.parked()
            .push_back((message, std::time::Instant::now()));
    }

    /// The parked message looked at longest ago, if a quarter of a second ago or more.
    fn next_parked(&self) -> Option<Arc<jetstream::Message>> {
        let mut parked = self.parked();
        let due = parked
            .front()
            .is_some_and(|(_, at)| at.elapsed() >= Duration::from_millis(250));
        if due {
            parked.pop_front().map(|(m, _)| m)
        } else {
            None
        }
    }

    /// Parked messages now, their leases to extend or give back.
    pub(super) fn parked_messages(&self) -> Vec<Arc<jetstream::Message>> {
        self.parked().iter().map(|(m, _)| Arc::clone(m)).collect()
    }

    /// Gives every parked message back to the queue (a shutdown).
    pub(super) fn unpark_all(&self) -> Vec<Arc<jetstream::Message>> {
        self.parked().drain(..).map(|(m, _)| m).collect()
    }

    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Live>>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Jobs this node runs now.
    pub(super) fn running_here(&self) -> usize {
        self.running().len()
    }

    /// Asks this node's running jobs to stop, to be run again elsewhere.
    pub(super) fn stop_running(&self) {
        for live in self.running().values() {
            live.request_stop(STOP_SHUTDOWN);
        }
    }
}

/// What a worker does with a job it took.
pub struct Taken {
    pub message: Arc<jetstream::Message>,
    pub record: Record,
    pub revision: u64,
    pub live: Arc<Live>,
    /// The project's manifest when the job took it: the run builds on its index.
    pub base: Manifest,
}

impl super::Cluster {
    /// Waits up to `wait` for a job and takes it: marked running on this node (the
    /// record's compare-and-set decides between two takers), its upload fetched to
    /// `uploads`. A job parked earlier, whose project may be free now, comes first.
    /// `Ok(None)`: nothing to run now.
    pub async fn take(
        &self,
        wait: Duration,
        uploads: &std::path::Path,
    ) -> Result<Option<Taken>, ClusterError> {
        if let Some(parked) = self.queue.next_parked() {
            match self.try_take(Arc::clone(&parked), uploads).await {
                Ok(Some(taken)) => return Ok(Some(taken)),
                Ok(None) => {}
                Err(e) => {
                    // Kept for the next look, its lease still extended.
                    self.queue.park(parked);
                    return Err(e);
                }
            }
        }
        let mut batch = self
            .fetch(STREAM, CONSUMER, 1, wait, "cannot fetch a job")
            .await?;
        let Some(message) = batch.next().await else {
            return Ok(None);
        };
        let message = Arc::new(message.map_err(|e| ClusterError::js("cannot fetch a job", e))?);
        match self.try_take(Arc::clone(&message), uploads).await {
            // Kept here and tried again, its lease extended: let go, it could be
            // delivered to another node while this one still holds its project, and
            // that node would park it behind a hold nobody uses (a job `running` for
            // good once a NATS server died mid-take).
            Err(e) => {
                self.queue.park(message);
                Err(e)
            }
            taken => taken,
        }
    }

    /// Takes the job of `message` if its project is free; parks it (and returns
    /// `Ok(None)`) while another run holds the project, so that a worker never
    /// waits on one busy project while other jobs wait for a worker.
    async fn try_take(
        &self,
        message: Arc<jetstream::Message>,
        uploads: &std::path::Path,
    ) -> Result<Option<Taken>, ClusterError> {
        let q = &self.queue;
        let delivered = message.info().map(|i| i.delivered).unwrap_or(1);
        let id = String::from_utf8_lossy(&message.payload).to_string();
        let Some((record, _)) = patiently(|| q.entry(&id)).await? else {
            // Its record expired or was removed: nothing to run.
            let _ = message.ack().await;
            return Ok(None);
        };
        if record.job.status.is_finished() {
            // Cancelled while waiting, or finished by another delivery.
            let _ = q.uploads.delete(&id).await;
            let _ = message.ack().await;
            return Ok(None);
        }
        // One run of a project at a time, and so of a job: parked while another run
        // holds the project (an earlier delivery of this same job included, while its
        // node lives), keeping this message's lease. A hold whose job has finished,
        // or whose node is gone, is taken over.
        let (tenant, project) = (record.job.tenant.clone(), record.job.project.clone());
        let base = loop {
            if self.stopping.load(Ordering::Relaxed) {
                // Given back at once, for another node.
                let _ = message.ack_with(AckKind::Nak(None)).await;
                return Ok(None);
            }
            let (mut m, mrev) = match patiently(|| q.manifest(&tenant, &project)).await? {
                Some((m, rev)) => (m, Some(rev)),
                None => (Manifest::default(), None),
            };
            if let Some(other) = m.running.as_deref()
                && !self.stale(other, m.running_on.as_deref()).await?
            {
                // Kept, its lease extended, and looked at again later.
                let _ = message.ack_with(AckKind::Progress).await;
                q.park(message);
                return Ok(None);
            }
            m.running = Some(id.clone());
            m.running_on = Some(self.me.id.clone());
            // Counted as running here before the hold is visible, so that this
            // node's other workers never judge it stale.
            let live = Arc::new(Live::new());
            q.running().insert(id.clone(), Arc::clone(&live));
            // On the revision just judged: a run that took it meanwhile wins.
            match patiently(|| q.swap_manifest(&tenant, &project, &m, mrev)).await {
                Ok(true) => break m,
                Ok(false) => {}
                Err(e) => {
                    q.running().remove(&id);
                    return Err(e);
                }
            }
            q.running().remove(&id);
        };
        match self.start(&message, &id, delivered, uploads, base).await {
            Ok(Some(taken)) => Ok(Some(taken)),
            Ok(None) => {
                q.running().remove(&id);
                self.release(&tenant, &project, &id).await?;
                let _ = q.uploads.delete(&id).await;
                let _ = message.ack().await;
                Ok(None)
            }
            Err(e) => {
                // Its hold goes stale with it: `take` parks the message, and this
                // node's next look takes the project over.
                q.running().remove(&id);
                Err(e)
            }
        }
    }

    /// Marks a job whose project this node holds as running here, and fetches its
    /// upload. `Ok(None)`: it finished meanwhile (a cancel), nothing to run.
    async fn start(
        &self,
        message: &Arc<jetstream::Message>,
        id: &str,
        delivered: i64,
        uploads: &std::path::Path,
        base: Manifest,
    ) -> Result<Option<Taken>, ClusterError> {
        let q = &self.queue;
        // Only a client's cancel or a resubmission changes the record meanwhile.
        let (mut record, revision) = loop {
            let Some((mut record, rev)) = patiently(|| q.entry(id)).await? else {
                return Ok(None);
            };
            if record.job.status.is_finished() {
                return Ok(None);
            }
            record.job.status = Status::Running;
            record.job.started_ms = Some(now_ms());
            record.job.attempts = delivered.max(1) as u32;
            record.node = Some(self.me.address.clone());
            // A write that landed although its answer was lost fails the retry's
            // compare-and-set, and the next turn reads it back.
            if let Some(revision) = patiently(|| q.swap(&record, rev)).await? {
                break (record, revision);
            }
        };
        if let JobSource::Archive { file, .. } = &mut record.job.source {
            // One file per delivery: two deliveries of a job never share one.
            let local = uploads.join(format!("{id}.{}.archive", uuid::Uuid::new_v4().simple()));
            read_object(&q.uploads, id, &local, "cannot fetch an upload").await?;
            *file = local;
        }
        let live = q
            .running()
            .get(id)
            .cloned()
            .unwrap_or_else(|| Arc::new(Live::new()));
        if record.cancel {
            live.request_stop(STOP_CANCEL);
        }
        Ok(Some(Taken {
            message: Arc::clone(message),
            record,
            revision,
            live,
            base,
        }))
    }

    /// Gives a project back, if this node holds it for `job`.
    async fn release(&self, tenant: &str, project: &str, job: &str) -> Result<(), ClusterError> {
        let me = self.me.id.clone();
        self.queue
            .update_manifest(tenant, project, |m| {
                let ours = m.running.as_deref() == Some(job)
                    && m.running_on.as_deref() == Some(me.as_str());
                if ours {
                    m.running = None;
                    m.running_on = None;
                }
                ours
            })
            .await?;
        Ok(())
    }

    /// Whether a project taken by `job` on node `on` may be taken over: the job has
    /// finished (without giving the project back), or the node is gone, or it is
    /// this node and the job does not run here (its take failed part-way).
    async fn stale(&self, job: &str, on: Option<&str>) -> Result<bool, ClusterError> {
        if on == Some(self.me.id.as_str()) {
            return Ok(!self.queue.running().contains_key(job));
        }
        let finished = match self.queue.entry(job).await? {
            Some((record, _)) => record.job.status.is_finished(),
            None => true,
        };
        if finished {
            return Ok(true);
        }
        let live = self.live_nodes().await?;
        Ok(!live.iter().any(|n| Some(n.node.id.as_str()) == on))
    }

    /// Keeps the leases of parked jobs (every third of `ack_wait`); at shutdown, gives
    /// them back to the queue at once.
    pub fn spawn_parked_keeper(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let cluster = Arc::clone(self);
        let every = (self.queue.settings.ack_wait / 3).max(Duration::from_millis(100));
        tokio::spawn(async move {
            let mut last = tokio::time::Instant::now();
            loop {
                // Looks often for a shutdown, which gives them back at once.
                tokio::time::sleep(Duration::from_millis(100)).await;
                if cluster.is_stopping() {
                    for m in cluster.queue.unpark_all() {
                        let _ = m.ack_with(AckKind::Nak(None)).await;
                    }
                    continue;
                }
                if last.elapsed() < every {
                    continue;
                }
                last = tokio::time::Instant::now();
                for m in cluster.queue.parked_messages() {
                    let _ = m.ack_with(AckKind::Progress).await;
                }
            }
        })
    }

    /// Keeps a taken job's message from being redelivered while it runs, and passes
    /// a client's stop on: every third of `ack_wait`, a progress ack and a look at
    /// the record.
    pub fn keep_alive(self: &Arc<Self>, taken: &Taken) -> tokio::task::JoinHandle<()> {
        let (cluster, message, live) = (
            Arc::clone(self),
            Arc::clone(&taken.message),
            Arc::clone(&taken.live),
        );
        let id = taken.record.job.id.clone();
        let every = (self.queue.settings.ack_wait / 3).max(Duration::from_millis(100));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                if let Err(e) = message.ack_with(AckKind::Progress).await {
                    tracing::warn!(job = %id, error = %e, "cannot extend a job's lease");
                }
                if let Ok(Some((record, _))) = cluster.queue.entry(&id).await
                    && record.cancel
                    && live.stop.load(Ordering::Relaxed) == STOP_NONE
                {
                    live.request_stop(STOP_CANCEL);
                }
            }
        })
    }

    /// Records how a run ended and lets its message go: acked when the run ended,
    /// given back at once when a shutdown stopped it. A successful run has uploaded
    /// its index as `built`, which the manifest now names. When the record changed
    /// since the job was taken (it was given to another worker meanwhile), nothing
    /// is written, the upload is removed, and the message is left to that worker:
    /// `false`.
    pub async fn finish(
        &self,
        taken: Taken,
        outcome: Result<serde_json::Value, JobError>,
        requeue: bool,
        built: Option<IndexObject>,
    ) -> bool {
        let q = &self.queue;
        let id = taken.record.job.id.clone();
        q.running().remove(&id);
        let mut record = taken.record;
        let succeeded = outcome.is_ok();
        record.job.end(outcome, requeue);
        if requeue {
            record.node = None;
        }
        // The worker's own copy of the upload names a local file; the record keeps
        // the job as it was submitted.
        if let JobSource::Archive { file, .. } = &mut record.job.source {
            let _ = std::fs::remove_file(&*file);
            *file = format!("{id}.archive").into();
        }
        // The project first: given back, and a success makes its upload the
        // project's next generation (a failed run changed nothing: it built in a
        // directory of its own). Only by the worker that holds it: one whose job was
        // taken over meanwhile (stopped, cut off) finds another node named, and
        // writes nothing at all.
        let (me, address) = (self.me.id.clone(), self.me.address.clone());
        let new_object = if succeeded && !requeue { built } else { None };
        let drop_upload = async |object: &Option<IndexObject>| {
            if let Some(o) = object
                && let Err(e) = q.indexes.delete(&o.name).await
            {
                tracing::warn!(object = %o.name, error = %e, "cannot remove an index object");
            }
        };
        let released = patiently(|| {
            q.update_manifest(&record.job.tenant, &record.job.project, |m| {
                if m.running.as_deref() != Some(id.as_str())
                    || m.running_on.as_deref() != Some(me.as_str())
                {
                    return false;
                }
                m.running = None;
                m.running_on = None;
                if let Some(object) = &new_object {
                    m.generation += 1;
                    m.object = Some(object.clone());
                    m.job = Some(id.clone());
                }
                true
            })
        })
        .await;
        // A write that landed but whose answer was lost, tried again, finds the
        // project given back: it is this run's if the manifest names its upload.
        let released = match (released, &new_object) {
            (Ok(false), Some(object)) => {
                match q.manifest(&record.job.tenant, &record.job.project).await {
                    Ok(Some((m, _))) if m.object.as_ref() == Some(object) => Ok(true),
                    Ok(_) => Ok(false),
                    Err(e) => Err(e),
                }
            }
            (other, _) => other,
        };
        match released {
            Ok(true) => {
                // The generation before is no longer anyone's to restore; owners
                // serving it keep their unpacked copy until they have the new one.
                if new_object.is_some()
                    && taken.base.object.as_ref().map(|o| &o.name)
                        != new_object.as_ref().map(|o| &o.name)
                {
                    drop_upload(&taken.base.object).await;
                }
            }
            Ok(false) => {
                tracing::warn!(job = %id, "the job was given to another worker meanwhile; its result is theirs");
                drop_upload(&new_object).await;
                return false;
            }
            Err(e) => {
                // Not acked: after `ack_wait` another worker runs it again.
                // The write may have landed all the same: the upload stays.
                tracing::error!(job = %id, error = %e, "cannot update the project's manifest");
                return false;
            }
        }
        // Then the record: still this run's unless a client asked it to stop since
        // (which changed its revision, and is kept).
        let mut revision = taken.revision;
        let mut written = false;
        // Up to about 16 s of failures: a NATS server's streams elect new leaders.
        for _ in 0..32 {
            match q.swap(&record, revision).await {
                Ok(Some(_)) => {
                    written = true;
                    break;
                }
                Ok(None) => {}
                Err(e) => {
                    // A server of the cluster may be electing leaders: read again
                    // after a while (the write may have landed).
                    tracing::warn!(job = %id, error = %e, "cannot record a finished job yet");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
            match q.entry(&id).await {
                Ok(Some((current, _)))
                    if current.job.status == record.job.status
                        && current.job.finished_ms == record.job.finished_ms =>
                {
                    // Landed: an earlier write's answer was lost.
                    written = true;
                    break;
                }
                Ok(Some((current, rev)))
                    if current.job.status == Status::Running
                        && current.node.as_deref() == Some(address.as_str())
                        && current.job.attempts == record.job.attempts =>
                {
                    record.cancel = current.cancel;
                    revision = rev;
                }
                Ok(_) => break,
                Err(_) => {}
            }
        }
        if !written {
            // Not acked: after `ack_wait` it runs again, and its record ends then.
            tracing::warn!(job = %id, "the job's record could not be written; it runs again");
            return false;
        }
        let acked = if requeue {
            taken.message.ack_with(AckKind::Nak(None)).await
        } else {
            let _ = q.uploads.delete(&id).await;
            taken.message.double_ack().await
        };
        if let Err(e) = acked {
            tracing::warn!(job = %id, error = %e, "cannot acknowledge a job");
        }
        true
    }

    /// Ends, as failed, the jobs whose workers died `max_deliver` times: JetStream
    /// stops delivering them and says so in an advisory. The advisories are kept in
    /// a stream of their own (`CG_LOST`), so that one sent while no node listened
    /// (every node reconnecting after a NATS server died) is still handled; any
    /// node takes each one, and acks it once the job is ended.
    pub fn spawn_reaper(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let cluster = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                if let Err(e) = cluster.reap_some().await {
                    tracing::warn!(error = %e, "cannot watch for lost jobs; trying again");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        })
    }

    /// Up to `max` messages of a durable pull consumer, waiting at most `wait`.
    async fn fetch(
        &self,
        stream: &str,
        consumer: &str,
        max: usize,
        wait: Duration,
        what: &'static str,
    ) -> Result<consumer::pull::Batch, ClusterError> {
        let consumer: consumer::PullConsumer = self
            .js
            .get_stream(stream)
            .await
            .map_err(|e| ClusterError::js(what, e))?
            .get_consumer(consumer)
            .await
            .map_err(|e| ClusterError::js(what, e))?;
        consumer
            .fetch()
            .max_messages(max)
            .expires(wait)
            .messages()
            .await
            .map_err(|e| ClusterError::js(what, e))
    }

    /// Handles the lost-job advisories that arrive within a few seconds.
    async fn reap_some(&self) -> Result<(), ClusterError> {
        let what = "cannot read the lost-job advisories";
        let mut batch = self
            .fetch(LOST, REAPER, 16, Duration::from_secs(5), what)
            .await?;
        while let Some(advisory) = batch.next().await {
            let advisory =
                advisory.map_err(|e| ClusterError::js("cannot read a lost-job advisory", e))?;
            match self.reap(&advisory.payload).await {
                Ok(()) => {
                    let _ = advisory.double_ack().await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot end a lost job yet");
                    let _ = advisory
                        .ack_with(AckKind::Nak(Some(Duration::from_secs(1))))
                        .await;
                }
            }
        }
        Ok(())
    }

    async fn reap(&self, advisory: &[u8]) -> Result<(), ClusterError> {
        #[derive(Deserialize)]
        struct MaxDeliveries {
            stream_seq: u64,
            deliveries: u64,
        }
        let a: MaxDeliveries =
            serde_json::from_slice(advisory).map_err(|e| ClusterError::Record(e.to_string()))?;
        let stream = self
            .js
            .get_stream(STREAM)
            .await
            .map_err(|e| ClusterError::js("cannot open the job queue", e))?;
        let message = match stream.get_raw_message(a.stream_seq).await {
            Ok(m) => m,
            // Removed by an earlier turn whose ack was lost: done.
            Err(e) if e.kind() == stream::RawMessageErrorKind::NoMessageFound => return Ok(()),
            Err(e) => return Err(ClusterError::js("cannot read a lost job", e)),
        };
        let id = String::from_utf8_lossy(&message.payload).to_string();
        for _ in 0..8 {
            let Some((mut record, rev)) = self.queue.entry(&id).await? else {
                break;
            };
            if record.job.status.is_finished() {
                break;
            }
            record.job.status = Status::Failed;
            record.job.finished_ms = Some(now_ms());
            record.job.error = Some(JobError {
                code: "worker_lost".into(),
                message: format!(
                    "its worker stopped {} times before finishing it (killed, or out of \
                     memory); it is not tried again",
                    a.deliveries
                ),
            });
            if self.queue.swap(&record, rev).await?.is_some() {
                tracing::warn!(job = %id, deliveries = a.deliveries, "a job lost its workers; failed");
                // Its project is free for the next job.
                self.queue
                    .update_manifest(&record.job.tenant, &record.job.project, |m| {
                        let held = m.running.as_deref() == Some(id.as_str());
                        if held {
                            m.running = None;
                            m.running_on = None;
                        }
                        held
                    })
                    .await?;
                break;
            }
        }
        let _ = self.queue.uploads.delete(&id).await;
        stream
            .delete_message(a.stream_seq)
            .await
            .map_err(|e| ClusterError::js("cannot remove a lost job", e))?;
        Ok(())
    }
}

/// How long an object's read may go without a byte before it is given up. A read
/// whose NATS server dies mid-object can stall rather than fail, and a job stalled so
/// while taking its upload stayed `running` for good: its hold names a node that
/// lives, so no other node takes it over.
const OBJECT_IDLE: Duration = Duration::from_secs(10);

/// Copies object `name` of `store` into a new file `file`; a JetStream error when the
/// object's chunks stop coming for [`OBJECT_IDLE`] (a restore tries again through
/// [`patiently`]; a job's take fails, and its message comes back after `ack_wait`).
/// A failed copy leaves no file behind.
pub(super) async fn read_object(
    store: &object_store::ObjectStore,
    name: &str,
    file: &std::path::Path,
    what: &'static str,
) -> Result<(), ClusterError> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let stalled = || ClusterError::js(what, format!("no data for {OBJECT_IDLE:?}"));
    let mut reader = tokio::time::timeout(OBJECT_IDLE, store.get(name))
        .await
        .map_err(|_| stalled())?
        .map_err(|e| ClusterError::js(what, e))?;
    let local = |e: std::io::Error| ClusterError::Local {
        what,
        message: e.to_string(),
    };
    let mut out = tokio::fs::File::create(file).await.map_err(local)?;
    let mut buf = vec![0u8; 128 * 1024];
    let copied = async {
        loop {
            let n = tokio::time::timeout(OBJECT_IDLE, reader.read(&mut buf))
                .await
                .map_err(|_| stalled())?
                .map_err(|e| ClusterError::js(what, e))?;
            if n == 0 {
                break;
            }
            out.write_all(&buf[..n]).await.map_err(local)?;
        }
        out.flush().await.map_err(local)
    }
    .await;
    if copied.is_err() {
        let _ = tokio::fs::remove_file(file).await;
    }
    copied
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids_are_the_same_for_the_same_job_and_differ_otherwise() {
        let a = job_id("acme", "flask", "archive:1");
        assert_eq!(a, job_id("acme", "flask", "archive:1"));
        assert_eq!(a.len(), 32);
        assert_ne!(a, job_id("acme", "flask", "archive:2"));
        assert_ne!(a, job_id("acme", "flas", "karchive:1"));
        assert_ne!(a, job_id("acm", "eflask", "archive:1"));
    }

    #[test]
    fn subjects_are_one_token_whatever_the_tenant() {
        assert_eq!(subject("a.b"), "cg.jobs.612e62");
        assert!(
            !subject("x.y-z_1")
                .trim_start_matches("cg.jobs.")
                .contains('.')
        );
    }
}
