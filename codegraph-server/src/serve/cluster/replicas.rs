//! The projects this node serves: each an unpacked copy of a project's index
//! object, opened read-only, at one generation.
//!
//! - The owners of a project (the top two live nodes of its rendezvous hash) restore
//!   its current object as soon as the manifest names it: fetched, its SHA-256
//!   checked, unpacked into a fresh directory, opened, then swapped in under one
//!   lock. Requests that began on the copy before go on reading it; its directory
//!   goes when the last of them ends (`RemoveOnDrop`).
//! - The node that built a generation serves it at once from its build directory,
//!   and so does a node asked for a project no ready node serves (it restores on
//!   demand).
//! - A node keeps a copy it no longer owns until an owner serves the current
//!   generation: an old owner serves until the new one is ready.
//! - Each node's heartbeat lists what it serves, so routing needs no other lookup.
//!
//! A node's copies are a cache of the object store: they are dropped at start.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;

use super::artifact;
use super::placement;
use super::queue::{INDEX_SCHEMA, IndexObject, Manifest, manifest_key, names_of_key};
use super::{Cluster, ClusterError};
use crate::serve::store::{RemoveOnDrop, TenantStore};

/// How long a copy this node does not own is kept at least.
const KEEP_UNOWNED: Duration = Duration::from_secs(30);

/// One project's index as this node serves it.
pub struct Replica {
    pub generation: u64,
    pub store: Arc<TenantStore>,
    /// When it was swapped in: a copy this node does not own is kept a while, for
    /// the request that made it to be answered from it.
    installed: std::time::Instant,
}

pub type OptionsHook = Box<dyn Fn(&str) -> codegraph::DbOptions + Send + Sync>;
pub type SwappedHook = Box<dyn Fn(&str, &str) + Send + Sync>;

/// How a node opens the stores it serves, and what it does after a swap; given by
/// the server, which owns the caches and the embedder.
pub struct Hooks {
    pub options: OptionsHook,
    /// Called after a project's copy changed: its cached answers go.
    pub swapped: SwappedHook,
}

pub struct Replicas {
    /// `<data>/cluster`: `replicas/` holds the copies, `build/` the runs, `fetch/`
    /// objects being downloaded.
    dir: PathBuf,
    hooks: Hooks,
    held: Mutex<HashMap<String, Arc<Replica>>>,
    /// One restore of a project at a time on this node.
    restoring: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Replicas {
    /// The copies under `dir`, which is emptied first: what a node held before it
    /// restarted may be stale or half-written, and the object store has it all.
    pub fn new(dir: PathBuf, hooks: Hooks) -> std::io::Result<Replicas> {
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        for sub in ["replicas", "build", "fetch"] {
            std::fs::create_dir_all(dir.join(sub))?;
        }
        Ok(Replicas {
            dir,
            hooks,
            held: Mutex::new(HashMap::new()),
            restoring: Mutex::new(HashMap::new()),
        })
    }

    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Replica>>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The copy of a project this node serves, if any.
    pub fn get(&self, tenant: &str, project: &str) -> Option<Arc<Replica>> {
        self.held().get(&manifest_key(tenant, project)).cloned()
    }

    /// The generation of each project served here, by manifest key.
    pub fn serving(&self) -> BTreeMap<String, u64> {
        self.held()
            .iter()
            .map(|(k, r)| (k.clone(), r.generation))
            .collect()
    }

    /// A fresh directory for a run or a download.
    pub fn scratch(&self, kind: &str) -> PathBuf {
        self.dir
            .join(kind)
            .join(uuid::Uuid::new_v4().simple().to_string())
    }

    /// Serves the store built or unpacked in `dir` as the project's `generation`,
    /// unless a later one is served already. `dir` is moved under `replicas/`.
    pub fn install(
        &self,
        tenant: &str,
        project: &str,
        generation: u64,
        dir: &Path,
    ) -> Result<(), ClusterError> {
        let key = manifest_key(tenant, project);
        let target = self.dir.join("replicas").join(format!(
            "{key}.{generation}.{}",
            uuid::Uuid::new_v4().simple()
        ));
        let local = |what: &'static str, e: &dyn std::fmt::Display| ClusterError::Local {
            what,
            message: e.to_string(),
        };
        std::fs::rename(dir, &target).map_err(|e| local("cannot keep a project's index", &e))?;
        let guard = RemoveOnDrop(target.clone());
        let db = codegraph::Db::open_read_only(&target, (self.hooks.options)(tenant))
            .map_err(|e| local("cannot open a project's index", &e))?;
        let replica = Arc::new(Replica {
            generation,
            installed: std::time::Instant::now(),
            store: Arc::new(TenantStore {
                name: tenant.to_string(),
                db,
                _remove_on_drop: Some(guard),
            }),
        });
        {
            let mut held = self.held();
            if held.get(&key).is_some_and(|r| r.generation >= generation) {
                return Ok(());
            }
            held.insert(key, replica);
        }
        (self.hooks.swapped)(tenant, project);
        Ok(())
    }

    /// Stops serving a project here.
    pub fn remove(&self, tenant: &str, project: &str) {
        if self.held().remove(&manifest_key(tenant, project)).is_some() {
            (self.hooks.swapped)(tenant, project);
        }
    }

    fn restore_lock(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.restoring.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(map.entry(key.to_string()).or_default())
    }
}

/// Whether this build can open an object: one written in another store format is
/// never opened (the project is analysed again instead).
pub fn readable(object: &IndexObject) -> bool {
    object.schema == INDEX_SCHEMA
}

impl Cluster {
    /// Makes this node serve the project's generation named by `m`, fetching its
    /// object unless it is served here already. Concurrent calls for one project
    /// restore it once.
    pub async fn restore(
        &self,
        tenant: &str,
        project: &str,
        m: &Manifest,
    ) -> Result<(), ClusterError> {
        let Some(object) = &m.object else {
            return Ok(());
        };
        let key = manifest_key(tenant, project);
        let lock = self.replicas.restore_lock(&key);
        let _one = lock.lock().await;
        if self
            .replicas
            .get(tenant, project)
            .is_some_and(|r| r.generation >= m.generation)
        {
            return Ok(());
        }
        if !readable(object) {
            return Err(ClusterError::Local {
                what: "cannot open a project's index",
                message: format!(
                    "it was written in store format {}, this node reads {INDEX_SCHEMA}; \
                     analyse the project again",
                    object.schema
                ),
            });
        }
        let started = std::time::Instant::now();
        let dir = self.replicas.scratch("fetch");
        let file = dir.with_extension("tar");
        if let Err(e) = super::queue::read_object(
            &self.queue.indexes,
            &object.name,
            &file,
            "cannot fetch a project's index",
        )
        .await
        {
            let _ = std::fs::remove_file(&file);
            return Err(e);
        }
        let (f, d, checksum) = (file.clone(), dir.clone(), object.checksum.clone());
        let unpacked =
            tokio::task::spawn_blocking(move || artifact::unpack(&f, &checksum, &d)).await;
        let _ = std::fs::remove_file(&file);
        match unpacked {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                return Err(ClusterError::Local {
                    what: "cannot restore a project's index",
                    message: e.to_string(),
                });
            }
            Err(e) => {
                return Err(ClusterError::Local {
                    what: "cannot restore a project's index",
                    message: e.to_string(),
                });
            }
        }
        let installed = self.replicas.install(tenant, project, m.generation, &dir);
        if installed.is_err() {
            let _ = std::fs::remove_dir_all(&dir);
        }
        installed?;
        tracing::info!(
            %tenant, %project, generation = m.generation, bytes = object.bytes,
            seconds = started.elapsed().as_secs_f64(), "restored a project's index"
        );
        // Other nodes route to it from the next beat on: beat now.
        let _ = self.beat().await;
        Ok(())
    }

    /// Where a request for a project goes: `None` to answer here (this node serves
    /// its current generation, or it has none: a project never built is not
    /// found anywhere); otherwise the other live nodes serving the current
    /// generation, best placed first (an empty list: nobody does yet).
    pub async fn route(
        &self,
        tenant: &str,
        project: &str,
    ) -> Result<Option<Vec<String>>, ClusterError> {
        let Some(mut m) = self.queue.known(tenant, project).await? else {
            return Ok(None);
        };
        if m.object.is_none() {
            // Before answering "not found" from the view, which may lag (a
            // first run's hold seen, not its end): the manifest itself.
            match self.queue.refresh(tenant, project).await? {
                Some(fresh) => m = fresh,
                None => return Ok(None),
            }
        }
        // A copy newer than the view (which may lag) is served too.
        if m.object.is_none()
            || self
                .replicas
                .get(tenant, project)
                .is_some_and(|r| r.generation >= m.generation)
        {
            return Ok(None);
        }
        let key = manifest_key(tenant, project);
        let peers = self.peers();
        let ids: Vec<String> = peers
            .iter()
            .filter(|n| n.node.id != self.me.id && n.serving.get(&key) == Some(&m.generation))
            .map(|n| n.node.id.clone())
            .collect();
        let ready = placement::owners(&placement::project_key(tenant, project), &ids, ids.len())
            .into_iter()
            .map(String::from)
            .collect();
        Ok(Some(ready))
    }

    /// [`Cluster::restore`] of the project's current manifest (read again at each
    /// try), in a task of its own: a caller that stops waiting (its request timed
    /// out) leaves the restore to finish and be served, never half done on disk.
    pub async fn restore_within(
        self: &Arc<Self>,
        tenant: &str,
        project: &str,
        timeout: Duration,
    ) -> Result<(), ClusterError> {
        let (cluster, t, p) = (Arc::clone(self), tenant.to_string(), project.to_string());
        let task = tokio::spawn(async move {
            super::patiently(|| async {
                match cluster.queue.refresh(&t, &p).await? {
                    Some(m) => cluster.restore(&t, &p, &m).await,
                    None => Ok(()),
                }
            })
            .await
        });
        match tokio::time::timeout(timeout, task).await {
            Ok(Ok(restored)) => restored,
            Ok(Err(e)) => Err(ClusterError::Local {
                what: "cannot restore a project's index",
                message: e.to_string(),
            }),
            Err(_) => Err(ClusterError::Local {
                what: "cannot restore a project's index",
                message: format!("not restored within {timeout:?}; it goes on"),
            }),
        }
    }

    /// Uploads a packed index as `name`.
    pub async fn upload(
        &self,
        name: &str,
        packed: &artifact::Packed,
    ) -> Result<IndexObject, ClusterError> {
        let mut file =
            tokio::fs::File::open(&packed.file)
                .await
                .map_err(|e| ClusterError::Local {
                    what: "cannot read a packed index",
                    message: e.to_string(),
                })?;
        self.queue
            .indexes
            .put(name, &mut file)
            .await
            .map_err(|e| ClusterError::js("cannot upload a project's index", e))?;
        Ok(IndexObject {
            name: name.to_string(),
            checksum: packed.checksum.clone(),
            bytes: packed.bytes,
            schema: INDEX_SCHEMA,
            built_on: self.me.address.clone(),
            files: 0,
            source: None,
        })
    }

    /// Keeps the view of the manifest current, and wakes the owner loop at each
    /// change; follows the bucket again after NATS restarts.
    pub fn spawn_manifest_watch(
        self: &Arc<Self>,
        changed: Arc<tokio::sync::Notify>,
    ) -> tokio::task::JoinHandle<()> {
        let cluster = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                match cluster.queue.watch_manifest().await {
                    Ok(mut watch) => {
                        // Followed afresh every minute: a watch that stalled
                        // through a NATS server's death is replaced, and the
                        // replay of every project's latest entry heals the view.
                        let until = tokio::time::Instant::now() + Duration::from_secs(60);
                        while let Ok(Some(entry)) =
                            tokio::time::timeout_at(until, watch.next()).await
                        {
                            let Ok(entry) = entry else { break };
                            let m = (entry.operation == async_nats::jetstream::kv::Operation::Put)
                                .then(|| serde_json::from_slice::<Manifest>(&entry.value).ok())
                                .flatten();
                            cluster.queue.observe(&entry.key, m, entry.revision);
                            changed.notify_one();
                        }
                        continue;
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot watch the manifest"),
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
    }

    /// Restores what this node owns and drops what it no longer needs: at each
    /// change of the manifest, and every second for changes of membership.
    pub fn spawn_owner_loop(
        self: &Arc<Self>,
        changed: Arc<tokio::sync::Notify>,
    ) -> tokio::task::JoinHandle<()> {
        let cluster = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                let _ = tokio::time::timeout(Duration::from_secs(1), changed.notified()).await;
                if cluster.is_stopping() {
                    return;
                }
                cluster.own().await;
            }
        })
    }

    async fn own(&self) {
        let peers = self.peers();
        let ids: Vec<String> = peers.iter().map(|n| n.node.id.clone()).collect();
        let known = self.queue.known_projects();
        // Copies of projects that were removed (checked against the manifest
        // itself: the view may not have caught up with a build just installed).
        for key in self.replicas.serving().into_keys() {
            if known.iter().any(|(k, _)| *k == key) {
                continue;
            }
            let Some((tenant, project)) = names_of_key(&key) else {
                continue;
            };
            if let Ok(None) = self.queue.refresh(&tenant, &project).await {
                self.replicas.remove(&tenant, &project);
                let _ = self.beat().await;
            }
        }
        for (key, m) in known {
            let Some((tenant, project)) = names_of_key(&key) else {
                continue;
            };
            if m.object.is_none() {
                continue;
            }
            let owners = placement::owners(
                &placement::project_key(&tenant, &project),
                &ids,
                placement::OWNERS,
            );
            let have = self.replicas.get(&tenant, &project).map(|r| r.generation);
            if owners.contains(&self.me.id.as_str()) {
                if have.is_none_or(|g| g < m.generation)
                    && let Err(e) = self.restore(&tenant, &project, &m).await
                {
                    tracing::warn!(%tenant, %project, error = %e, "cannot restore a project this node owns");
                }
            } else if self
                .replicas
                .get(&tenant, &project)
                .is_some_and(|r| r.installed.elapsed() > KEEP_UNOWNED)
            {
                // Kept until an owner serves the current generation.
                let covered = peers.iter().any(|n| {
                    owners.contains(&n.node.id.as_str())
                        && n.serving.get(&key) == Some(&m.generation)
                });
                if covered {
                    self.replicas.remove(&tenant, &project);
                    let _ = self.beat().await;
                }
            }
        }
    }
}
