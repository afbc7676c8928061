//! What the server keeps open: one store per tenant, the caches, the embedder, the
//! job queue.
//!
//! Data layout under `--data-dir`:
//!
//! ```text
//! tenants/<tenant>/        a CodeGraph store, as `codegraph index --db` makes it
//!                          (RocksDB files, text/, vectors/); the CLI can query it.
//!                          An upper-case letter X is written `^x`, so that `Acme`
//!                          and `acme` never share a directory on a file system
//!                          that ignores case
//! jobs/<id>.json           one file per job, rewritten atomically at each change
//! uploads/<id>.archive     uploaded archives until their job finishes
//! ```
//!
//! Tenants are isolated by construction: a request's tenant selects the directory, so
//! no query can reach another tenant's projects.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use codegraph::core::Embedder;
use codegraph::{Db, DbOptions, Vectors};

use super::cache::{CacheTier, MokaTier};
use super::config::Settings;
use super::jobs::Jobs;
use super::metrics::Metrics;
pub use super::store::TenantStore;

/// Opens tenants' stores on first use and keeps them open.
pub struct Tenants {
    base: PathBuf,
    embedder: Option<Arc<CachedEmbedder>>,
    open: Mutex<HashMap<String, Arc<TenantStore>>>,
    /// `codegraph ui`: the one tenant, whose store is this existing directory, opened
    /// for reading.
    local: Option<(String, PathBuf)>,
}

/// The directory name of a tenant: its name with each upper-case letter `X` written
/// `^x` (`^` is never part of a name), distinct from every other tenant's even where
/// the file system ignores case.
pub fn tenant_dir(tenant: &str) -> String {
    let mut out = String::with_capacity(tenant.len());
    for c in tenant.chars() {
        if c.is_ascii_uppercase() {
            out.push('^');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The tenant a directory name stands for ([`tenant_dir`] undone).
fn tenant_of_dir(dir: &str) -> String {
    let mut out = String::with_capacity(dir.len());
    let mut chars = dir.chars();
    while let Some(c) = chars.next() {
        match c {
            '^' => out.extend(chars.next().map(|c| c.to_ascii_uppercase())),
            c => out.push(c),
        }
    }
    out
}

impl Tenants {
    /// Tenants' stores under `base`, each with `embedder` (shared, its query cache
    /// keyed by tenant) as its model.
    pub fn new(base: PathBuf, embedder: Option<Arc<CachedEmbedder>>) -> Tenants {
        Tenants {
            base,
            embedder,
            open: Mutex::new(HashMap::new()),
            local: None,
        }
    }

    /// Only `tenant`, whose store is the existing store at `db`, read-only (so that a
    /// `codegraph index --watch` may keep writing it).
    pub fn local(mut self, tenant: &str, db: PathBuf) -> Tenants {
        self.local = Some((tenant.to_string(), db));
        self
    }

    /// The tenant's store; `None` when it has none and `create` is false (read
    /// requests never create directories).
    pub fn get(
        &self,
        tenant: &str,
        create: bool,
    ) -> codegraph_core::Result<Option<Arc<TenantStore>>> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = open.get(tenant) {
            return Ok(Some(Arc::clone(t)));
        }
        if let Some((only, db)) = &self.local {
            if only != tenant {
                return Ok(None);
            }
            let t = Arc::new(TenantStore {
                name: tenant.to_string(),
                db: Db::open_read_only(db, self.options(tenant))?,
                _remove_on_drop: None,
            });
            open.insert(tenant.to_string(), Arc::clone(&t));
            return Ok(Some(t));
        }
        let root = self.base.join(tenant_dir(tenant));
        self.move_legacy_dir(tenant, &root);
        if !create && !root.join("CURRENT").is_file() {
            return Ok(None);
        }
        let t = Arc::new(TenantStore {
            name: tenant.to_string(),
            db: Db::open(&root, self.options(tenant))?,
            _remove_on_drop: None,
        });
        open.insert(tenant.to_string(), Arc::clone(&t));
        Ok(Some(t))
    }

    /// How a store of `tenant` is opened: with the shared embedder, its query cache
    /// keyed by the tenant.
    pub fn options(&self, tenant: &str) -> DbOptions {
        let embedder = self.embedder.as_ref().map(|cached| {
            Arc::new(TenantEmbedder {
                tenant: tenant.to_string(),
                cached: Arc::clone(cached),
            }) as Arc<dyn Embedder>
        });
        DbOptions {
            embedder,
            ..DbOptions::default()
        }
    }

    /// A store written before upper-case letters were escaped sits under the tenant's
    /// exact name: moved to its escaped name, once. The listing compares names
    /// exactly, so on a file system that ignores case `acme`'s directory is never
    /// taken for `Acme`'s.
    fn move_legacy_dir(&self, tenant: &str, root: &std::path::Path) {
        if !tenant.bytes().any(|b| b.is_ascii_uppercase()) || root.exists() {
            return;
        }
        let legacy = std::fs::read_dir(&self.base)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| e.file_name().to_str() == Some(tenant));
        if legacy && let Err(e) = std::fs::rename(self.base.join(tenant), root) {
            tracing::warn!(%tenant, error = %e, "cannot move the tenant's store to its escaped name");
        }
    }

    /// Every tenant with a store on disk (for metrics at start).
    pub fn on_disk(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.base) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .flatten()
            .filter(|e| e.path().join("CURRENT").is_file())
            .filter_map(|e| e.file_name().to_str().map(tenant_of_dir))
            .filter(|n| super::auth::valid_name(n))
            .collect();
        names.sort();
        names
    }

    /// The stores opened so far.
    pub fn opened(&self) -> Vec<Arc<TenantStore>> {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.values().cloned().collect()
    }
}

/// A project's vector index, opened once and kept in the objects tier until the
/// project is re-indexed.
pub struct ProjectHandles {
    pub semantic: Option<Vectors>,
}

/// The key of the objects and results tiers: entries of one project are dropped
/// together when it is re-indexed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ProjectKey {
    pub tenant: String,
    pub project: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ResultKey {
    pub project: ProjectKey,
    /// The route and its canonical query string.
    pub request: String,
}

/// The query-embedding tier in front of the configured embedder.
pub struct CachedEmbedder {
    pub inner: Arc<dyn Embedder>,
    /// Keyed by tenant and query: a tenant's hits must not tell it what another
    /// tenant asked (a hit is faster than a miss).
    pub cache: MokaTier<(String, String), Arc<Vec<f32>>>,
}

/// One tenant's view of the shared embedder.
struct TenantEmbedder {
    tenant: String,
    cached: Arc<CachedEmbedder>,
}

impl Embedder for TenantEmbedder {
    fn model_id(&self) -> &str {
        self.cached.inner.model_id()
    }

    fn dimension(&self) -> usize {
        self.cached.inner.dimension()
    }

    fn embed_documents(&self, texts: &[&str]) -> codegraph_core::Result<Vec<Vec<f32>>> {
        self.cached.inner.embed_documents(texts)
    }

    fn embed_query(&self, text: &str) -> codegraph_core::Result<Vec<f32>> {
        let key = (self.tenant.clone(), text.to_string());
        if let Some(v) = self.cached.cache.get(&key) {
            return Ok(v.as_ref().clone());
        }
        let v = self.cached.inner.embed_query(text)?;
        self.cached.cache.insert(key, Arc::new(v.clone()));
        Ok(v)
    }
}

/// Everything handlers and workers share.
pub struct App {
    pub settings: Settings,
    pub tenants: Tenants,
    pub jobs: Jobs,
    pub metrics: Arc<Metrics>,
    pub embedder: Option<Arc<CachedEmbedder>>,
    pub objects: MokaTier<ProjectKey, Arc<ProjectHandles>>,
    pub results: MokaTier<ResultKey, axum::body::Bytes>,
    pub verifier: super::auth::Verifier,
    /// Bumped by every invalidation. An answer computed while a project was being
    /// re-indexed may describe the old index, so it is cached only if no
    /// invalidation happened since its computation began: the check and the insert
    /// hold the read lock, the bump and the invalidation the write lock.
    pub epoch: RwLock<u64>,
    /// Each tenant's store size on disk as last measured, by part.
    pub sizes: Mutex<HashMap<String, [(&'static str, u64); 3]>>,
    /// This node's part in a cluster (`--cluster`).
    #[cfg(feature = "cluster")]
    pub cluster: Option<Arc<super::cluster::Cluster>>,
    /// The cluster's shared cache tier of answers (`--redis`).
    #[cfg(feature = "redis")]
    pub shared: Option<Arc<super::cluster::shared::SharedCache>>,
}

impl App {
    /// Drops every cached object and answer of a project; called when a job changed it.
    pub fn invalidate(&self, tenant: &str, project: &str) {
        let key = ProjectKey {
            tenant: tenant.to_string(),
            project: project.to_string(),
        };
        let mut epoch = self.epoch.write().unwrap_or_else(|e| e.into_inner());
        *epoch += 1;
        self.objects.invalidate(&key);
        self.results
            .invalidate_where(&|k: &ResultKey| k.project == key);
    }

    /// The epoch to pass to [`App::cache_result`] and friends: read before computing.
    pub fn epoch(&self) -> u64 {
        *self.epoch.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Caches an answer unless an invalidation happened since `seen`.
    pub fn cache_result(&self, seen: u64, key: ResultKey, bytes: axum::body::Bytes) {
        let epoch = self.epoch.read().unwrap_or_else(|e| e.into_inner());
        if *epoch == seen {
            self.results.insert(key, bytes);
        }
    }

    /// Measures `tenant`'s store on disk and refreshes the size gauges. Only that
    /// store is walked; the others' last sizes are kept, since only a job changes a
    /// store and each job measures its own.
    pub fn record_sizes(&self, tenant: &TenantStore) {
        let mut sizes = self.sizes.lock().unwrap_or_else(|e| e.into_inner());
        sizes.insert(tenant.name.clone(), tenant.db.disk_sizes());
        let mut sums: HashMap<(String, &'static str), i64> = HashMap::new();
        for (name, parts) in sizes.iter() {
            for (part, bytes) in parts {
                *sums.entry((self.tenant_label(name), *part)).or_default() += *bytes as i64;
            }
        }
        for ((tenant, part), bytes) in sums {
            self.metrics
                .index_bytes
                .with_label_values(&[&tenant, part])
                .set(bytes);
        }
    }

    /// Refreshes the RocksDB gauges (cheap: counters RocksDB keeps).
    pub fn record_statistics(&self) {
        let mut sums: HashMap<(String, &'static str, &'static str), i64> = HashMap::new();
        for tenant in self.tenants.opened() {
            for (cf, property, value) in tenant.db.statistics() {
                *sums
                    .entry((self.tenant_label(&tenant.name), cf, property))
                    .or_default() += value as i64;
            }
        }
        for ((tenant, cf, property), value) in sums {
            self.metrics
                .rocksdb
                .with_label_values(&[&tenant, cf, property])
                .set(value);
        }
    }

    /// The `tenant` label of per-tenant gauges: the name with `--metrics-tenants`,
    /// else `all` (the sum): `/metrics` is open to anyone who can reach it, and tenant
    /// names and their sizes are the tenants' own business.
    fn tenant_label(&self, tenant: &str) -> String {
        if self.settings.metrics_tenants {
            tenant.to_string()
        } else {
            "all".to_string()
        }
    }

    /// The project's handles, opening them on a miss; cached only if no
    /// invalidation happened since `seen`, read before `tenant` was.
    pub fn handles(
        &self,
        tenant: &TenantStore,
        project: &str,
        seen: u64,
    ) -> codegraph_core::Result<Arc<ProjectHandles>> {
        let key = ProjectKey {
            tenant: tenant.name.clone(),
            project: project.to_string(),
        };
        if let Some(h) = self.objects.get(&key) {
            return Ok(h);
        }
        let semantic = match &self.embedder {
            Some(_) => tenant.db.open_vectors(project)?,
            None => None,
        };
        let h = Arc::new(ProjectHandles { semantic });
        let epoch = self.epoch.read().unwrap_or_else(|e| e.into_inner());
        if *epoch == seen {
            self.objects.insert(key, Arc::clone(&h));
        }
        Ok(h)
    }
}

#[cfg(test)]
mod tenant_dir_tests {
    use super::*;

    #[test]
    fn tenants_differing_in_case_get_different_directories() {
        assert_eq!(tenant_dir("acme"), "acme");
        assert_eq!(tenant_dir("Acme"), "^acme");
        assert_ne!(
            tenant_dir("Acme").to_lowercase(),
            tenant_dir("acme").to_lowercase()
        );
        for name in ["acme", "Acme", "ACME-2.x_Y", "a"] {
            assert_eq!(tenant_of_dir(&tenant_dir(name)), name);
        }
    }
}
