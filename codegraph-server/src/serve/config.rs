//! `codegraph serve` settings: command-line flags, environment variables and an
//! optional TOML file, in that order of precedence.
//!
//! Nothing secret has a default: the JWT key comes from `CODEGRAPH_JWT_SECRET` (never
//! a flag: command lines are visible to every user of the machine), a secret file, or
//! public key files, and with none of them the server refuses to start.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use serde::Deserialize;

use codegraph::Fusion;
use codegraph::parse::source::GitLimits;

use super::share::Priority;
use crate::options::ModelArgs;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line (for log collectors).
    Json,
    /// Human-readable lines.
    Text,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free one (the chosen address is printed).
    #[arg(long, env = "CODEGRAPH_ADDR", value_name = "HOST:PORT")]
    pub addr: Option<SocketAddr>,

    /// Where tenants' stores, the job queue and uploads live.
    #[arg(long, env = "CODEGRAPH_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// A directory a tenant may ask to analyse (repeatable): `TENANT=DIR` for one
    /// tenant, `*=DIR` for every tenant. A bare `DIR` is shared by every tenant too
    /// (with a warning at start). Paths outside the tenant's roots are refused, after
    /// resolving `..` and symbolic links, before anything reads them.
    #[arg(
        long = "allow-root",
        env = "CODEGRAPH_ALLOW_ROOTS",
        value_name = "[TENANT=]DIR",
        value_delimiter = ':'
    )]
    pub allow_roots: Vec<String>,

    /// A TOML file with any of these settings (flags and environment win).
    #[arg(long, env = "CODEGRAPH_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// A file holding the HS256 shared secret (instead of CODEGRAPH_JWT_SECRET).
    #[arg(long, env = "CODEGRAPH_JWT_SECRET_FILE", value_name = "FILE")]
    pub jwt_secret_file: Option<PathBuf>,

    /// A PEM public key accepted for RS256 (RSA) or ES256 (P-256) tokens (repeatable).
    #[arg(
        long = "jwt-public-key",
        env = "CODEGRAPH_JWT_PUBLIC_KEYS",
        value_name = "FILE",
        value_delimiter = ':'
    )]
    pub jwt_public_keys: Vec<PathBuf>,

    /// Required `iss` claim.
    #[arg(long, env = "CODEGRAPH_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,

    /// Required `aud` claim.
    #[arg(long, env = "CODEGRAPH_JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,

    /// The longest lifetime, in seconds from `iat` to `exp`, a token may have; tokens
    /// must then carry `iat`. Unset: any lifetime.
    #[arg(long, env = "CODEGRAPH_JWT_MAX_AGE", value_name = "SECONDS")]
    pub jwt_max_age: Option<u64>,

    /// Threads running analysis jobs. `0` only queues them (another server on the same
    /// data directory, or a restart with workers, runs them).
    #[arg(long, env = "CODEGRAPH_WORKERS")]
    pub workers: Option<usize>,

    /// Jobs waiting beyond the running ones; more are answered 429.
    #[arg(long, env = "CODEGRAPH_QUEUE_CAPACITY")]
    pub queue_capacity: Option<usize>,

    /// Jobs one tenant may have waiting (default: half of --queue-capacity), so that
    /// one tenant cannot fill the queue.
    #[arg(long, env = "CODEGRAPH_QUEUE_CAPACITY_PER_TENANT")]
    pub queue_capacity_per_tenant: Option<usize>,

    /// Requests per second each token may make (sustained).
    #[arg(long, env = "CODEGRAPH_RATE_LIMIT")]
    pub rate_limit: Option<u32>,

    /// Requests each token may make in a burst.
    #[arg(long, env = "CODEGRAPH_RATE_BURST")]
    pub rate_burst: Option<u32>,

    /// Requests handled at once; more are answered 429 at once, so memory stays bounded.
    #[arg(long, env = "CODEGRAPH_MAX_IN_FLIGHT")]
    pub max_in_flight: Option<usize>,

    /// Requests one tenant may have in flight at once (default: half of
    /// --max-in-flight), so that one tenant cannot take every slot.
    #[arg(long, env = "CODEGRAPH_MAX_IN_FLIGHT_PER_TENANT")]
    pub max_in_flight_per_tenant: Option<usize>,

    /// Seconds a request may take before it is answered 503. Its work stops then too.
    #[arg(long, env = "CODEGRAPH_REQUEST_TIMEOUT")]
    pub request_timeout: Option<u64>,

    /// Work one request's queries may do, in visits (a name scanned, a node read, an
    /// edge followed); an answer that ran out says `"truncated": true`.
    #[arg(long, env = "CODEGRAPH_QUERY_BUDGET")]
    pub query_budget: Option<u64>,

    /// OS priority of the blocking work of a tenant that used more than twice the CPU
    /// another active tenant used (over the last seconds), so that the lighter tenant
    /// is served first: `idle` (Linux's SCHED_IDLE: it runs only on cores nothing
    /// else wants) or a nice value, 1-19. `0`: every tenant's work runs at the
    /// server's priority. [default: idle]
    #[arg(long, env = "CODEGRAPH_FAIR_SHARE_PRIORITY", value_name = "idle|NICE")]
    pub fair_share_priority: Option<Priority>,

    /// OS priority of analysis jobs, so that indexing yields the CPU to requests:
    /// `idle` or a nice value, 1-19; `0`: the server's priority. [default: 10]
    #[arg(long, env = "CODEGRAPH_JOB_PRIORITY", value_name = "idle|NICE")]
    pub job_priority: Option<Priority>,

    /// Projects one tenant may have; analysing a new one beyond it is refused (403
    /// `project_limit`) until one is removed. [default: 1000]
    #[arg(long, env = "CODEGRAPH_MAX_PROJECTS_PER_TENANT")]
    pub max_projects_per_tenant: Option<usize>,

    /// Threads each analysis job parses and resolves with. [default: one per core]
    #[arg(long, env = "CODEGRAPH_JOB_THREADS")]
    pub job_threads: Option<usize>,

    /// Largest request body (archive uploads) in bytes.
    #[arg(long, env = "CODEGRAPH_MAX_BODY")]
    pub max_body_bytes: Option<usize>,

    /// Largest total size an uploaded archive may unpack to, in bytes; every byte
    /// inflated counts, whether its entry proves readable, too large or corrupt.
    /// [default: 1073741824]
    #[arg(long, env = "CODEGRAPH_MAX_UNPACKED")]
    pub max_unpacked_bytes: Option<u64>,

    /// Join a cluster: NATS servers with JetStream (comma-separated
    /// `nats://HOST:PORT`), shared by every node of the deployment. Without it the
    /// server is one process with its own queue and needs no other service.
    #[arg(long, env = "CODEGRAPH_CLUSTER", value_name = "URL")]
    pub cluster: Option<String>,

    /// The address other nodes and clients reach this node at (`--cluster`).
    /// [default: the listening address]
    #[arg(long, env = "CODEGRAPH_ADVERTISE", value_name = "HOST:PORT")]
    pub advertise: Option<String>,

    /// A cluster node not heard from for this many seconds is gone; nodes beat four
    /// times as often. The same on every node. [default: 10]
    #[arg(long, env = "CODEGRAPH_NODE_TTL", value_name = "SECS")]
    pub node_ttl: Option<u64>,

    /// A cluster job whose worker goes silent (killed, cut off) this many seconds is
    /// given to another; a running job says it is alive three times as often.
    /// [default: 30]
    #[arg(long, env = "CODEGRAPH_JOB_ACK_WAIT", value_name = "SECS")]
    pub job_ack_wait: Option<u64>,

    /// Times a cluster job is handed out before it is failed (`worker_lost`); each
    /// waits twice as long as the last. [default: 3]
    #[arg(long, env = "CODEGRAPH_JOB_MAX_DELIVER")]
    pub job_max_deliver: Option<u32>,

    /// Copies JetStream keeps of the queue and the records (1, or 3 on a cluster of
    /// three NATS servers or more). [default: 1]
    #[arg(long, env = "CODEGRAPH_CLUSTER_REPLICAS")]
    pub cluster_replicas: Option<usize>,

    /// A Redis server (`redis://HOST:PORT[/DB]`) as a cache of query answers shared
    /// by the cluster's nodes, under each node's own (`--cluster` only). It holds
    /// nothing that cannot be recomputed: with Redis away, answers stay the same.
    #[arg(long, env = "CODEGRAPH_REDIS", value_name = "URL")]
    pub redis: Option<String>,

    /// Label per-tenant gauges of `/metrics` with tenant names (otherwise they are
    /// summed under `tenant="all"`: `/metrics` needs no token).
    #[arg(long, env = "CODEGRAPH_METRICS_TENANTS")]
    pub metrics_tenants: bool,

    /// Longest entry name in an uploaded archive, in bytes; a longer one (a tar's long
    /// name or PAX path, a zip name) fails the job before the name is read.
    /// [default: 4096]
    #[arg(long, env = "CODEGRAPH_MAX_ENTRY_NAME", value_name = "BYTES")]
    pub max_entry_name_bytes: Option<u64>,

    /// Skipped files listed in a finished job's record, whose total is always given;
    /// the list is also cut at 32 KiB, so that a record stays under 64 KiB.
    /// [default: 100]
    #[arg(long, env = "CODEGRAPH_JOB_SKIPPED_FILES", value_name = "N")]
    pub job_skipped_files: Option<usize>,

    /// Tree entries a git revision may list, summed over every tree it reaches (a tree
    /// listed N times counts N times); a revision listing more fails its job, as a git
    /// bomb does. [default: 1000000]
    #[arg(long, env = "CODEGRAPH_MAX_TREE_ENTRIES")]
    pub max_tree_entries: Option<u64>,

    /// Largest total size of the files read from one git revision, in bytes.
    /// [default: 4294967296]
    #[arg(long, env = "CODEGRAPH_MAX_REVISION_BYTES")]
    pub max_revision_bytes: Option<u64>,

    /// Seconds cached entries live.
    #[arg(long, env = "CODEGRAPH_CACHE_TTL")]
    pub cache_ttl: Option<u64>,

    /// Memory for the query-result and embedding caches, in MiB (split between them).
    #[arg(long, env = "CODEGRAPH_CACHE_MB")]
    pub cache_mb: Option<u64>,

    /// Seconds a shutdown waits for running jobs before stopping and re-queueing them.
    #[arg(long, env = "CODEGRAPH_SHUTDOWN_GRACE")]
    pub shutdown_grace: Option<u64>,

    #[arg(long, value_enum, env = "CODEGRAPH_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,

    /// How hybrid search fuses text and semantic results when a request does not say
    /// (`fusion=`): `min-max` suits a model tuned for code (docs/PERFORMANCE.md).
    /// [default: scores]
    #[arg(long, value_parser = crate::options::fusion(), env = "CODEGRAPH_FUSION")]
    pub fusion: Option<Fusion>,

    #[command(flatten)]
    pub model: ModelArgs,
}

/// The file form of [`ServeArgs`]; every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    addr: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    allow_roots: Option<Vec<String>>,
    jwt_secret_file: Option<PathBuf>,
    jwt_public_keys: Option<Vec<PathBuf>>,
    jwt_issuer: Option<String>,
    jwt_audience: Option<String>,
    jwt_max_age: Option<u64>,
    workers: Option<usize>,
    queue_capacity: Option<usize>,
    queue_capacity_per_tenant: Option<usize>,
    rate_limit: Option<u32>,
    rate_burst: Option<u32>,
    max_in_flight: Option<usize>,
    max_in_flight_per_tenant: Option<usize>,
    request_timeout: Option<u64>,
    query_budget: Option<u64>,
    fair_share_priority: Option<PriorityValue>,
    job_priority: Option<PriorityValue>,
    job_threads: Option<usize>,
    max_projects_per_tenant: Option<usize>,
    max_body_bytes: Option<usize>,
    max_unpacked_bytes: Option<u64>,
    max_entry_name_bytes: Option<u64>,
    job_skipped_files: Option<usize>,
    max_tree_entries: Option<u64>,
    max_revision_bytes: Option<u64>,
    cache_ttl: Option<u64>,
    metrics_tenants: Option<bool>,
    cluster: Option<String>,
    advertise: Option<String>,
    node_ttl: Option<u64>,
    job_ack_wait: Option<u64>,
    job_max_deliver: Option<u32>,
    cluster_replicas: Option<usize>,
    redis: Option<String>,
    cache_mb: Option<u64>,
    shutdown_grace: Option<u64>,
    log_format: Option<LogFormat>,
    fusion: Option<Fusion>,
    model_dir: Option<PathBuf>,
}

/// A priority in the config file: `"idle"` or a nice value, as a string or a number.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum PriorityValue {
    Nice(i64),
    Text(String),
}

impl PriorityValue {
    fn parse(&self, key: &str) -> anyhow::Result<Priority> {
        let text = match self {
            PriorityValue::Nice(n) => n.to_string(),
            PriorityValue::Text(t) => t.clone(),
        };
        text.parse()
            .map_err(|e: String| anyhow::anyhow!("{key} in the config file: {e}"))
    }
}

/// Where the JWT verification keys come from.
#[derive(Debug, Clone)]
pub struct JwtSettings {
    pub secret: Option<Vec<u8>>,
    pub public_keys: Vec<PathBuf>,
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub max_age: Option<u64>,
}

/// Settings after merging, with defaults applied and checked.
#[derive(Debug, Clone)]
pub struct Settings {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    /// The directories tenants may analyse, canonical.
    pub allow_roots: Vec<AllowedRoot>,
    pub jwt: JwtSettings,
    pub workers: usize,
    pub queue_capacity: usize,
    pub queue_capacity_per_tenant: usize,
    pub rate_limit: u32,
    pub rate_burst: u32,
    pub max_in_flight: usize,
    pub max_in_flight_per_tenant: usize,
    pub request_timeout: Duration,
    pub query_budget: u64,
    /// Priority of the blocking work of a tenant using far more CPU than another.
    pub fair_share_priority: Priority,
    /// Priority of job workers.
    pub job_priority: Priority,
    /// Threads per job; `None`: one per core.
    pub job_threads: Option<usize>,
    /// Projects one tenant may have.
    pub max_projects_per_tenant: usize,
    pub max_body_bytes: usize,
    pub max_unpacked_bytes: u64,
    /// Longest entry name in an uploaded archive.
    pub max_entry_name_bytes: u64,
    /// Skipped files listed in a job's record.
    pub job_skipped_files: usize,

    /// What one git revision may cost to read.
    pub git_limits: GitLimits,
    pub cache_ttl: Duration,
    pub metrics_tenants: bool,
    /// `Some` in cluster mode (`--cluster`).
    pub cluster: Option<ClusterSettings>,
    pub cache_bytes: u64,
    pub shutdown_grace: Duration,
    pub log_format: LogFormat,
    /// Hybrid search's fusion when a request names none.
    pub fusion: Fusion,
    /// `codegraph ui`: one reader on loopback, no token, one store.
    pub local: Option<LocalStore>,
}

/// The single store `codegraph ui` serves: every request is the one tenant's, with no
/// token asked, and its store is an existing `codegraph index` store opened for reading.
#[derive(Clone, Debug)]
pub struct LocalStore {
    pub tenant: String,
    pub db: PathBuf,
    /// Open the page in the desktop's browser once listening.
    pub open: bool,
}

/// `codegraph ui`: the web view of a local store, for one reader.
#[derive(Debug, clap::Args)]
pub struct UiArgs {
    /// The store `codegraph index` wrote (read, never written).
    #[arg(long, env = "CODEGRAPH_DB", default_value = ".codegraph")]
    pub db: PathBuf,

    /// Address to listen on: loopback only, since no token is asked. Port 0 picks a
    /// free one.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:7879")]
    pub addr: SocketAddr,

    /// Open the page in the desktop's browser.
    #[arg(long)]
    pub open: bool,

    #[command(flatten)]
    pub model: crate::options::ModelArgs,
}

/// How a node takes part in a cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterSettings {
    /// NATS servers, comma-separated.
    pub url: String,
    /// Where other nodes and clients reach this node; `None`: the listening address.
    pub advertise: Option<String>,
    /// A node not heard from for this long is gone; it beats four times as often.
    pub node_ttl: Duration,
    /// A job's worker silent this long loses it to another.
    pub ack_wait: Duration,
    /// Deliveries of a job before it fails.
    pub max_deliver: u32,
    /// JetStream replicas of the queue and records.
    pub replicas: usize,
    /// A Redis URL: the shared cache tier.
    pub redis: Option<String>,
}

/// A directory some tenants may analyse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedRoot {
    /// The one tenant it is for; `None`: every tenant.
    pub tenant: Option<String>,
    /// Canonical.
    pub path: PathBuf,
    /// Given as a bare `DIR` (shared without saying so), which start-up warns about.
    pub bare: bool,
}

impl Settings {
    /// The roots `tenant` may analyse under.
    pub fn roots_of(&self, tenant: &str) -> Vec<PathBuf> {
        self.allow_roots
            .iter()
            .filter(|r| r.tenant.as_deref().is_none_or(|t| t == tenant))
            .map(|r| r.path.clone())
            .collect()
    }
}

/// The tenant part of `TENANT=DIR` (`*` for every tenant), if `spec` has one: a
/// directory may contain `=` itself, so the part before it must look like a tenant.
fn tenant_of(spec: &str) -> Option<&str> {
    let (tenant, _) = spec.split_once('=')?;
    let name_like = !tenant.is_empty()
        && tenant
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    (tenant == "*" || name_like).then_some(tenant)
}

/// `TENANT=DIR` into the tenant (`None` for `*` and for a bare `DIR`) and the directory.
fn split_root(spec: &str) -> (Option<String>, &str) {
    match tenant_of(spec) {
        Some("*") => (None, &spec[2..]),
        Some(tenant) => (Some(tenant.to_string()), &spec[tenant.len() + 1..]),
        None => (None, spec),
    }
}

/// HMAC keys shorter than the hash are guessable; RFC 7518 asks for at least 256 bits.
const MIN_SECRET_BYTES: usize = 32;

/// The largest `--max-entry-name-bytes` accepted.
const MAX_ENTRY_NAME_BYTES: u64 = 1 << 20;

impl Settings {
    /// Merges flags, environment and the config file; `env_secret` is
    /// `CODEGRAPH_JWT_SECRET`, passed in so tests need not touch the environment.
    pub fn load(args: &mut ServeArgs, env_secret: Option<String>) -> anyhow::Result<Settings> {
        let file = match &args.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the config file {}", path.display()))?;
                toml::from_str::<FileConfig>(&text)
                    .with_context(|| format!("bad config file {}", path.display()))?
            }
            None => FileConfig::default(),
        };
        if args.model.model_dir.is_none() && args.model.embed_url.is_none() {
            args.model.model_dir = file.model_dir.clone();
        }
        let data_dir = args.data_dir.clone().or(file.data_dir).context(
            "no data directory: pass --data-dir DIR, set CODEGRAPH_DATA_DIR or `data_dir` in the config file",
        )?;
        let roots = if args.allow_roots.is_empty() {
            file.allow_roots.unwrap_or_default()
        } else {
            args.allow_roots.clone()
        };
        let mut allow_roots = Vec::new();
        for spec in roots {
            let (tenant, dir) = split_root(&spec);
            let c = Path::new(dir)
                .canonicalize()
                .with_context(|| format!("--allow-root {spec}: not a readable directory"))?;
            if !c.is_dir() {
                bail!("--allow-root {spec}: not a directory");
            }
            allow_roots.push(AllowedRoot {
                tenant,
                path: c,
                bare: tenant_of(&spec).is_none(),
            });
        }
        let secret_file = args.jwt_secret_file.clone().or(file.jwt_secret_file);
        let secret = match (env_secret.filter(|s| !s.is_empty()), secret_file) {
            (Some(_), Some(f)) => bail!(
                "both CODEGRAPH_JWT_SECRET and a secret file ({}) are set; keep one",
                f.display()
            ),
            (Some(s), None) => Some(s.into_bytes()),
            (None, Some(f)) => Some(read_secret(&f)?),
            (None, None) => None,
        };
        if let Some(s) = &secret
            && s.len() < MIN_SECRET_BYTES
        {
            bail!(
                "the JWT secret is {} bytes; HS256 needs at least {MIN_SECRET_BYTES}",
                s.len()
            );
        }
        let public_keys = if args.jwt_public_keys.is_empty() {
            file.jwt_public_keys.unwrap_or_default()
        } else {
            args.jwt_public_keys.clone()
        };
        if secret.is_none() && public_keys.is_empty() {
            bail!(
                "no JWT key: set CODEGRAPH_JWT_SECRET (HS256, at least {MIN_SECRET_BYTES} bytes), \
                 --jwt-secret-file FILE, or --jwt-public-key FILE (RS256/ES256); the server \
                 does not start without one"
            );
        }
        let workers = args.workers.or(file.workers).unwrap_or(1);
        let queue_capacity = args.queue_capacity.or(file.queue_capacity).unwrap_or(64);
        if queue_capacity == 0 {
            bail!("--queue-capacity must be at least 1");
        }
        let rate_limit = args.rate_limit.or(file.rate_limit).unwrap_or(1000);
        let rate_burst = args
            .rate_burst
            .or(file.rate_burst)
            .unwrap_or(rate_limit.max(1).saturating_mul(2));
        if rate_limit == 0 || rate_burst == 0 {
            bail!("--rate-limit and --rate-burst must be at least 1");
        }
        let max_in_flight = args.max_in_flight.or(file.max_in_flight).unwrap_or(512);
        if max_in_flight == 0 {
            bail!("--max-in-flight must be at least 1");
        }
        let max_in_flight_per_tenant = args
            .max_in_flight_per_tenant
            .or(file.max_in_flight_per_tenant)
            .unwrap_or((max_in_flight / 2).max(1));
        if max_in_flight_per_tenant == 0 {
            bail!("--max-in-flight-per-tenant must be at least 1");
        }
        let cluster = match args.cluster.clone().or(file.cluster) {
            None => None,
            Some(url) => {
                if !url.split(',').all(|u| u.trim().starts_with("nats://")) {
                    bail!("--cluster {url:?}: NATS servers as nats://HOST:PORT[,nats://...]");
                }
                let ttl = args.node_ttl.or(file.node_ttl).unwrap_or(10);
                if ttl < 1 {
                    bail!("--node-ttl must be at least 1 second");
                }
                let ack_wait = args.job_ack_wait.or(file.job_ack_wait).unwrap_or(30);
                if ack_wait < 1 {
                    bail!("--job-ack-wait must be at least 1 second");
                }
                let max_deliver = args.job_max_deliver.or(file.job_max_deliver).unwrap_or(3);
                if max_deliver < 1 {
                    bail!("--job-max-deliver must be at least 1");
                }
                let replicas = args.cluster_replicas.or(file.cluster_replicas).unwrap_or(1);
                if !(1..=5).contains(&replicas) {
                    bail!("--cluster-replicas must be between 1 and 5 (JetStream's limit)");
                }
                let redis = args.redis.clone().or(file.redis.clone());
                if let Some(r) = &redis
                    && !(r.starts_with("redis://") || r.starts_with("unix://"))
                {
                    bail!("--redis {r:?}: a Redis server as redis://HOST:PORT[/DB]");
                }
                Some(ClusterSettings {
                    url,
                    advertise: args.advertise.clone().or(file.advertise),
                    node_ttl: Duration::from_secs(ttl),
                    ack_wait: Duration::from_secs(ack_wait),
                    max_deliver,
                    replicas,
                    redis,
                })
            }
        };
        if cluster.is_none() && (args.redis.is_some() || file.redis.is_some()) {
            bail!("--redis is the cluster's shared cache: it needs --cluster");
        }
        let request_timeout = args.request_timeout.or(file.request_timeout).unwrap_or(30);
        if request_timeout == 0 {
            bail!("--request-timeout must be at least 1 second");
        }
        let query_budget = args.query_budget.or(file.query_budget).unwrap_or(500_000);
        if query_budget == 0 {
            bail!("--query-budget must be at least 1");
        }
        let fair_share_priority = match (args.fair_share_priority, file.fair_share_priority) {
            (Some(p), _) => p,
            (None, Some(v)) => v.parse("fair_share_priority")?,
            (None, None) => Priority::Idle,
        };
        let job_priority = match (args.job_priority, file.job_priority) {
            (Some(p), _) => p,
            (None, Some(v)) => v.parse("job_priority")?,
            (None, None) => Priority::Nice(10),
        };
        let job_threads = args.job_threads.or(file.job_threads);
        if job_threads == Some(0) {
            bail!("--job-threads must be at least 1");
        }
        let max_projects_per_tenant = args
            .max_projects_per_tenant
            .or(file.max_projects_per_tenant)
            .unwrap_or(1000);
        if max_projects_per_tenant == 0 {
            bail!("--max-projects-per-tenant must be at least 1");
        }
        let max_entry_name_bytes = args
            .max_entry_name_bytes
            .or(file.max_entry_name_bytes)
            .unwrap_or(4096);
        // Names are held in memory while an entry is read; beyond this the limit
        // would no longer protect anything.
        if !(1..=MAX_ENTRY_NAME_BYTES).contains(&max_entry_name_bytes) {
            bail!("--max-entry-name-bytes must be between 1 and {MAX_ENTRY_NAME_BYTES}");
        }
        let git_defaults = GitLimits::default();
        let git_limits = GitLimits {
            max_entries: args
                .max_tree_entries
                .or(file.max_tree_entries)
                .unwrap_or(git_defaults.max_entries),
            max_total_bytes: args
                .max_revision_bytes
                .or(file.max_revision_bytes)
                .unwrap_or(git_defaults.max_total_bytes),
            ..git_defaults
        };
        if git_limits.max_entries == 0 || git_limits.max_total_bytes == 0 {
            bail!("--max-tree-entries and --max-revision-bytes must be at least 1");
        }
        Ok(Settings {
            addr: args
                .addr
                .or(file.addr)
                .unwrap_or_else(|| "127.0.0.1:7878".parse().expect("valid address")),
            data_dir,
            allow_roots,
            jwt: JwtSettings {
                secret,
                public_keys,
                issuer: args.jwt_issuer.clone().or(file.jwt_issuer),
                audience: args.jwt_audience.clone().or(file.jwt_audience),
                max_age: args.jwt_max_age.or(file.jwt_max_age),
            },
            workers,
            queue_capacity,
            queue_capacity_per_tenant: args
                .queue_capacity_per_tenant
                .or(file.queue_capacity_per_tenant)
                .unwrap_or(queue_capacity / 2)
                .clamp(1, queue_capacity),
            rate_limit,
            rate_burst,
            max_in_flight,
            max_in_flight_per_tenant,
            request_timeout: Duration::from_secs(request_timeout),
            query_budget,
            fair_share_priority,
            job_priority,
            job_threads,
            max_projects_per_tenant,
            max_body_bytes: args
                .max_body_bytes
                .or(file.max_body_bytes)
                .unwrap_or(64 << 20),
            max_unpacked_bytes: args
                .max_unpacked_bytes
                .or(file.max_unpacked_bytes)
                .unwrap_or(1 << 30),
            metrics_tenants: args.metrics_tenants || file.metrics_tenants.unwrap_or(false),
            cluster,
            max_entry_name_bytes,
            job_skipped_files: args
                .job_skipped_files
                .or(file.job_skipped_files)
                .unwrap_or(100),
            git_limits,
            cache_ttl: Duration::from_secs(args.cache_ttl.or(file.cache_ttl).unwrap_or(300)),
            cache_bytes: args.cache_mb.or(file.cache_mb).unwrap_or(256) << 20,
            shutdown_grace: Duration::from_secs(
                args.shutdown_grace.or(file.shutdown_grace).unwrap_or(10),
            ),
            log_format: args
                .log_format
                .or(file.log_format)
                .unwrap_or(LogFormat::Text),
            fusion: args.fusion.or(file.fusion).unwrap_or(Fusion::Scores),
            local: None,
        })
    }
}

fn read_secret(path: &Path) -> anyhow::Result<Vec<u8>> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read the JWT secret file {}", path.display()))?;
    // Editors end files with a newline that is not part of the secret.
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    Ok(bytes[..end].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    fn args(argv: &[&str]) -> ServeArgs {
        let mut all = vec!["serve"];
        all.extend_from_slice(argv);
        Cli::try_parse_from(all).unwrap().serve
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef-unit";

    #[test]
    fn roots_are_per_tenant_shared_or_bare() {
        assert_eq!(
            split_root("acme=/srv/acme"),
            (Some("acme".into()), "/srv/acme")
        );
        assert_eq!(split_root("*=/srv/shared"), (None, "/srv/shared"));
        assert_eq!(split_root("/srv/a=b"), (None, "/srv/a=b"));
        assert_eq!(split_root("/srv/plain"), (None, "/srv/plain"));
        assert!(tenant_of("/srv/plain").is_none() && tenant_of("*=/x") == Some("*"));
    }

    #[test]
    fn flags_win_over_the_file_and_the_file_over_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir(&root).unwrap();
        let secret = dir.path().join("secret");
        std::fs::write(&secret, format!("{SECRET}\n")).unwrap();
        let config = dir.path().join("codegraph.toml");
        std::fs::write(
            &config,
            format!(
                "data_dir = {:?}\nallow_roots = [{:?}]\njwt_secret_file = {:?}\n\
                 workers = 3\nqueue_capacity = 7\nrate_limit = 5\nrequest_timeout = 9\n\
                 fusion = \"min-max\"\nmax_entry_name_bytes = 1024\njob_skipped_files = 5\n",
                dir.path().join("data"),
                root,
                secret
            ),
        )
        .unwrap();
        let c = config.to_str().unwrap();
        let s = Settings::load(&mut args(&["--config", c, "--workers", "2"]), None).unwrap();
        assert_eq!(s.workers, 2, "the flag wins");
        assert_eq!(s.queue_capacity, 7, "from the file");
        assert_eq!(
            (s.rate_limit, s.rate_burst),
            (5, 10),
            "burst defaults to twice"
        );
        assert_eq!(s.request_timeout, Duration::from_secs(9));
        assert_eq!(s.max_in_flight, 512, "the default");
        assert_eq!(s.max_entry_name_bytes, 1024, "from the file");
        assert_eq!(s.job_skipped_files, 5, "from the file");
        let flagged = Settings::load(
            &mut args(&["--config", c, "--max-entry-name-bytes", "300"]),
            None,
        )
        .unwrap();
        assert_eq!(flagged.max_entry_name_bytes, 300, "the flag wins");
        assert_eq!(s.git_limits, GitLimits::default(), "the defaults");
        let git = Settings::load(
            &mut args(&["--config", c, "--max-tree-entries", "1000"]),
            None,
        )
        .unwrap();
        assert_eq!(git.git_limits.max_entries, 1000, "the flag");
        assert_eq!(s.fusion, Fusion::MinMax, "from the file");
        let rrf = Settings::load(&mut args(&["--config", c, "--fusion", "rrf"]), None).unwrap();
        assert_eq!(rrf.fusion, Fusion::Rrf, "the flag wins");
        assert_eq!(s.roots_of("any"), vec![root.canonicalize().unwrap()]);
        // The file's trailing newline is not part of the secret.
        assert_eq!(s.jwt.secret.as_deref(), Some(SECRET.as_bytes()));
        // A secret from the environment and a secret file at once: ambiguous.
        let both = Settings::load(&mut args(&["--config", c]), Some(SECRET.into()));
        assert!(both.unwrap_err().to_string().contains("keep one"));
    }

    #[test]
    fn the_shipped_config_file_is_valid() {
        let file: FileConfig = toml::from_str(include_str!("../../../deploy/codegraph.toml"))
            .expect("deploy/codegraph.toml parses");
        assert_eq!(file.log_format, Some(LogFormat::Json));
        // Its commented-out settings are valid too.
        let uncommented =
            include_str!("../../../deploy/codegraph.toml").replace("# fusion", "fusion");
        let file: FileConfig = toml::from_str(&uncommented).expect("with fusion set");
        assert_eq!(file.fusion, Some(Fusion::MinMax));
        let uncommented = include_str!("../../../deploy/codegraph.toml")
            .replace("# cluster =", "cluster =")
            .replace("# advertise", "advertise")
            .replace("# node_ttl", "node_ttl")
            .replace("# job_ack_wait", "job_ack_wait")
            .replace("# job_max_deliver", "job_max_deliver")
            .replace("# cluster_replicas", "cluster_replicas")
            .replace("# redis", "redis");
        let file: FileConfig = toml::from_str(&uncommented).expect("with a cluster");
        assert_eq!(file.node_ttl, Some(10));
        assert_eq!(
            (
                file.job_ack_wait,
                file.job_max_deliver,
                file.cluster_replicas
            ),
            (Some(30), Some(3), Some(1))
        );
        assert!(file.cluster.unwrap().starts_with("nats://"));
        assert!(file.redis.unwrap().starts_with("redis://"));
    }

    #[test]
    fn bad_settings_are_refused_with_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().to_str().unwrap();
        let refuse = |argv: &[&str], secret: Option<&str>, why: &str| {
            let e = Settings::load(&mut args(argv), secret.map(String::from)).unwrap_err();
            assert!(format!("{e:#}").contains(why), "{argv:?}: {e:#}");
        };
        refuse(&["--data-dir", data], None, "no JWT key");
        refuse(&["--data-dir", data], Some("short"), "at least 32");
        refuse(&[], Some(SECRET), "no data directory");
        refuse(
            &["--data-dir", data, "--queue-capacity", "0"],
            Some(SECRET),
            "at least 1",
        );
        refuse(
            &["--data-dir", data, "--request-timeout", "0"],
            Some(SECRET),
            "at least 1",
        );
        refuse(
            &["--data-dir", data, "--cluster", "localhost:4222"],
            Some(SECRET),
            "nats://HOST:PORT",
        );
        refuse(
            &[
                "--data-dir",
                data,
                "--cluster",
                "nats://a:4222",
                "--node-ttl",
                "0",
            ],
            Some(SECRET),
            "--node-ttl",
        );
        refuse(
            &["--data-dir", data, "--redis", "redis://127.0.0.1:6379"],
            Some(SECRET),
            "needs --cluster",
        );
        for (flag, value) in [
            ("--job-ack-wait", "0"),
            ("--job-max-deliver", "0"),
            ("--cluster-replicas", "6"),
            ("--redis", "localhost:6379"),
        ] {
            refuse(
                &[
                    "--data-dir",
                    data,
                    "--cluster",
                    "nats://a:4222",
                    flag,
                    value,
                ],
                Some(SECRET),
                flag,
            );
        }
        refuse(
            &["--data-dir", data, "--max-entry-name-bytes", "0"],
            Some(SECRET),
            "between 1 and",
        );
        refuse(
            &["--data-dir", data, "--max-tree-entries", "0"],
            Some(SECRET),
            "at least 1",
        );
        refuse(
            &["--data-dir", data, "--allow-root", "/no/such/dir"],
            Some(SECRET),
            "not a readable directory",
        );
        let config = dir.path().join("bad.toml");
        std::fs::write(&config, "wokers = 2\n").unwrap();
        refuse(
            &["--data-dir", data, "--config", config.to_str().unwrap()],
            Some(SECRET),
            "unknown field",
        );
        // The largest rate limit does not overflow its default burst.
        let s = Settings::load(
            &mut args(&["--data-dir", data, "--rate-limit", "4294967295"]),
            Some(SECRET.into()),
        )
        .unwrap();
        assert_eq!(s.rate_burst, u32::MAX);
    }
}
