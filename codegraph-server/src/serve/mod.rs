//! `codegraph serve`: the reference server. It composes the libraries and adds only
//! what serving needs: authentication, tenants, a job queue, caches, metrics.
//!
//! A request passes, in order: the unread-body check (`unread.rs`), request id and
//! tracing span, metrics, the in-flight limit (429 when full), the timeout, the
//! query-size check, then for `/api/v1` the JWT check, the per-token rate limit and the
//! tenant's share of the in-flight limit, and finally its handler. Its blocking work holds its slots until it really ends
//! and stops when the request does (`work.rs`). See ARCHITECTURE.md for the map.

mod api;
mod auth;
mod browse;
mod cache;
#[cfg(feature = "cluster")]
mod cluster;
pub mod config;
mod error;
mod fanout;
mod graphql;
mod jobs;
#[cfg(feature = "mcp")]
mod mcp;
mod metrics;
mod openapi;
mod paths;
mod share;
mod state;
mod store;
mod ui;
mod unread;
mod work;
mod worker;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use cache::CacheTier;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::sync::Semaphore;
use tracing::Instrument;

use self::cache::MokaTier;
use self::config::{LogFormat, ServeArgs, Settings};
use self::error::ApiError;
use self::share::CpuShare;
use self::state::{App, CachedEmbedder};
use self::work::{Cpu, StopOnDrop, Work};

/// Longest query string accepted, in bytes.
const MAX_QUERY_STRING: usize = 8 * 1024;

/// The routes [`router`] serves; the OpenAPI test checks the document against them.
#[cfg(test)]
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/health"),
    ("GET", "/ready"),
    ("GET", "/metrics"),
    ("POST", "/api/v1/analyze"),
    ("GET", "/api/v1/jobs/{id}"),
    ("DELETE", "/api/v1/jobs/{id}"),
    ("GET", "/api/v1/projects"),
    ("GET", "/api/v1/projects/{project}"),
    ("DELETE", "/api/v1/projects/{project}"),
    ("GET", "/api/v1/projects/{project}/search"),
    ("GET", "/api/v1/search"),
    ("GET", "/api/v1/projects/{project}/symbols"),
    ("GET", "/api/v1/projects/{project}/callers"),
    ("GET", "/api/v1/projects/{project}/callees"),
    ("GET", "/api/v1/projects/{project}/impact"),
    ("GET", "/api/v1/projects/{project}/path"),
    ("GET", "/api/v1/projects/{project}/outline"),
    ("GET", "/api/v1/projects/{project}/neighbours"),
    ("GET", "/api/v1/projects/{project}/repo_map"),
    ("GET", "/api/v1/projects/{project}/source"),
    ("GET", "/api/v1/jobs"),
    ("GET", "/"),
    ("GET", "/ui/{file}"),
    ("POST", "/api/v1/graphql"),
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/api/v1/cluster"),
];

struct Gate {
    app: Arc<App>,
    in_flight: Arc<Semaphore>,
    /// Requests' blocking work, and the tenants' CPU shares it is charged to.
    cpu: Arc<Cpu>,
    /// Each tenant's share of the in-flight limit, made on its first request.
    tenant_slots: Mutex<HashMap<String, Arc<Semaphore>>>,
    limiter: DefaultKeyedRateLimiter<u64>,
    ready: AtomicBool,
}

impl Gate {
    /// A slot of `tenant`'s share, or `None` when the tenant has all its share in
    /// flight.
    fn tenant_slot(&self, tenant: &str) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let semaphore = {
            let mut slots = self.tenant_slots.lock().unwrap_or_else(|e| e.into_inner());
            let per_tenant = self.app.settings.max_in_flight_per_tenant;
            Arc::clone(
                slots
                    .entry(tenant.to_string())
                    .or_insert_with(|| Arc::new(Semaphore::new(per_tenant))),
            )
        };
        semaphore.try_acquire_owned().ok()
    }

    /// Forgets the shares of tenants with nothing in flight (a permit holds its
    /// semaphore, so only the map holds an idle one).
    fn forget_idle_tenants(&self) {
        self.tenant_slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, s| Arc::strong_count(s) > 1);
    }
}

/// `codegraph ui`: the server's routes and web view over one existing store, on
/// loopback, for one reader and with no token. Jobs go to a scratch directory removed
/// at exit; the store is opened read-only.
pub fn ui(args: config::UiArgs) -> anyhow::Result<std::process::ExitCode> {
    if !args.addr.ip().is_loopback() {
        anyhow::bail!(
            "--addr {}: `codegraph ui` asks for no token, so it listens on loopback only \
             (serve others with `codegraph serve`)",
            args.addr
        );
    }
    if !args.db.join("CURRENT").is_file() {
        anyhow::bail!(
            "no store at {} (run `codegraph index PATH --db {}` first)",
            args.db.display(),
            args.db.display()
        );
    }
    // `create_dir`, not `create_dir_all`: a directory (or link) someone made there
    // first is refused, not used.
    let scratch = std::env::temp_dir().join(format!(
        "codegraph-ui-{}-{:x}",
        std::process::id(),
        std::hash::BuildHasher::hash_one(&std::collections::hash_map::RandomState::new(), 0u8)
    ));
    std::fs::create_dir(&scratch)
        .with_context(|| format!("cannot create {}", scratch.display()))?;
    struct Scratch(std::path::PathBuf);
    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let _scratch = Scratch(scratch.clone());
    let addr = args.addr.to_string();
    let scratch_arg = scratch.display().to_string();
    #[derive(clap::Parser)]
    struct Serve {
        #[command(flatten)]
        args: ServeArgs,
    }
    let mut serve_args = <Serve as clap::Parser>::try_parse_from([
        "serve",
        "--addr",
        addr.as_str(),
        "--data-dir",
        scratch_arg.as_str(),
    ])?
    .args;
    serve_args.model = args.model;
    // clap read `codegraph serve`'s CODEGRAPH_* variables too: none of the server's
    // deployment settings applies to one reader's loopback view.
    serve_args.allow_roots.clear();
    serve_args.config = None;
    serve_args.jwt_secret_file = None;
    serve_args.jwt_public_keys.clear();
    serve_args.jwt_issuer = None;
    serve_args.jwt_audience = None;
    serve_args.jwt_max_age = None;
    serve_args.cluster = None;
    serve_args.redis = None;
    // Never checked (no token is asked), but the settings want a key.
    let unused_key = format!(
        "{:064x}",
        std::hash::BuildHasher::hash_one(
            &std::collections::hash_map::RandomState::new(),
            std::process::id(),
        )
    );
    let mut settings = Settings::load(&mut serve_args, Some(unused_key))?;
    settings.local = Some(config::LocalStore {
        tenant: "local".to_string(),
        db: args.db.canonicalize()?,
        open: args.open,
    });
    start(settings, &serve_args.model)
}

/// Whether a request's `Host` (and `Origin`, when sent) name this machine's loopback:
/// `127.0.0.1`, `localhost` or `[::1]`, any port.
fn loopback_request(headers: &axum::http::HeaderMap) -> bool {
    fn loopback_host(authority: &str) -> bool {
        let host = match authority.strip_prefix('[') {
            Some(rest) => rest.split(']').next().unwrap_or(""),
            None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
        };
        matches!(host, "127.0.0.1" | "localhost" | "::1")
    }
    let host_ok = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .is_some_and(loopback_host);
    let origin_ok = match headers.get(header::ORIGIN).and_then(|h| h.to_str().ok()) {
        None => true,
        Some(origin) => origin.split_once("://").is_some_and(|(scheme, rest)| {
            matches!(scheme, "http" | "https") && loopback_host(rest)
        }),
    };
    host_ok && origin_ok
}

/// Asks the desktop to open `url` in its browser; says so when it cannot.
fn open_in_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    if let Err(e) = std::process::Command::new(opener)
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        eprintln!("codegraph: cannot start {opener} ({e}); open {url} yourself");
    }
}

pub fn serve(mut args: ServeArgs) -> anyhow::Result<std::process::ExitCode> {
    let settings = Settings::load(&mut args, std::env::var("CODEGRAPH_JWT_SECRET").ok())?;
    start(settings, &args.model)
}

/// Logging, the runtime and the model, then the server until it is stopped.
fn start(
    settings: Settings,
    model: &crate::options::ModelArgs,
) -> anyhow::Result<std::process::ExitCode> {
    let telemetry = init_tracing(settings.log_format);
    for root in settings.allow_roots.iter().filter(|r| r.bare) {
        tracing::warn!(
            root = %root.path.display(),
            "--allow-root {} is shared by every tenant: write TENANT={0} to fence it to \
             one tenant, or *={0} to share it on purpose",
            root.path.display()
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("codegraph-http")
        .build()
        .context("cannot start the async runtime")?;
    let embedder = model.load(true)?;
    let result = runtime.block_on(run(settings, embedder));
    #[cfg(feature = "otlp")]
    if let Some(provider) = telemetry
        && let Err(e) = provider.shutdown()
    {
        eprintln!("codegraph: flushing OTLP spans failed: {e}");
    }
    #[cfg(not(feature = "otlp"))]
    let _ = telemetry;
    result?;
    Ok(std::process::ExitCode::SUCCESS)
}

/// Logs to standard error (JSON or text), and with the `otlp` feature and
/// `OTEL_EXPORTER_OTLP_ENDPOINT` set, spans to an OpenTelemetry collector too. The
/// returned guard flushes the exporter when dropped.
fn init_tracing(format: LogFormat) -> Option<Telemetry> {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let fmt = match format {
        LogFormat::Json => fmt.json().flatten_event(true).boxed(),
        LogFormat::Text => fmt.boxed(),
    };
    let (otel, telemetry) = otlp_layer();
    let _ = tracing_subscriber::registry()
        .with(fmt.with_filter(filter))
        .with(otel)
        .try_init();
    telemetry
}

#[cfg(feature = "otlp")]
type Telemetry = opentelemetry_sdk::trace::SdkTracerProvider;
#[cfg(not(feature = "otlp"))]
type Telemetry = ();

#[cfg(feature = "otlp")]
fn otlp_layer<S>() -> (
    Option<Box<dyn tracing_subscriber::Layer<S> + Send + Sync>>,
    Option<Telemetry>,
)
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a> + Send + Sync,
{
    use opentelemetry::trace::TracerProvider;
    use opentelemetry_otlp::WithExportConfig;
    use tracing_subscriber::Layer;
    let Ok(endpoint) = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT") else {
        return (None, None);
    };
    let exporter = match opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
        .build()
    {
        Ok(e) => e,
        Err(e) => {
            eprintln!("codegraph: OTLP export disabled: {e}");
            return (None, None);
        }
    };
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name("codegraph")
                .build(),
        )
        .build();
    let layer = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("codegraph"))
        .with_filter(tracing_subscriber::filter::LevelFilter::INFO);
    (Some(layer.boxed()), Some(provider))
}

#[cfg(not(feature = "otlp"))]
fn otlp_layer<S>() -> (
    Option<Box<dyn tracing_subscriber::Layer<S> + Send + Sync>>,
    Option<Telemetry>,
)
where
    S: tracing::Subscriber + Send + Sync,
{
    (None, None)
}

/// Builds the shared state: stores, caches, the job queue.
fn build_app(
    settings: Settings,
    embedder: Option<Arc<dyn codegraph_core::Embedder>>,
    #[cfg(feature = "cluster")] cluster: Option<Arc<cluster::Cluster>>,
) -> anyhow::Result<Arc<App>> {
    let data = &settings.data_dir;
    for sub in ["tenants", "jobs", "uploads"] {
        std::fs::create_dir_all(data.join(sub))
            .with_context(|| format!("cannot create {}", data.join(sub).display()))?;
    }
    let metrics = Arc::new(metrics::Metrics::new());
    let ttl = settings.cache_ttl;
    // Two thirds of the memory budget for answers, one third for query embeddings.
    let results_bytes = settings.cache_bytes / 3 * 2;
    let embed_bytes = settings.cache_bytes / 3;
    let embedder = embedder.map(|e| {
        Arc::new(CachedEmbedder {
            inner: e,
            cache: MokaTier::new(
                "embeddings",
                embed_bytes,
                ttl,
                |k: &(String, String), v: &Arc<Vec<f32>>| {
                    (k.0.len() + k.1.len() + v.len() * 4 + 64) as u32
                },
                metrics.tier("embeddings"),
            ),
        })
    });
    let verifier = auth::Verifier::new(&settings.jwt)?;
    let jobs = jobs::Jobs::open(&data.join("jobs"), settings.queue_capacity)
        .context("cannot open the job queue")?
        .with_tenant_share(settings.queue_capacity_per_tenant);
    // Uploads no pending job needs: left by a process that died between storing an
    // upload and queueing its job.
    let needed = jobs.pending_uploads();
    if let Ok(dir) = std::fs::read_dir(data.join("uploads")) {
        for e in dir.flatten() {
            if !needed.contains(&e.path()) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    #[cfg(feature = "redis")]
    let shared = match settings.cluster.as_ref().and_then(|c| c.redis.as_deref()) {
        None => None,
        Some(url) => {
            let tier = metrics.tier("results_shared");
            let counters = cluster::shared::SharedCounters {
                hits: tier.hits,
                misses: tier.misses,
                errors: metrics.shared_cache_errors.clone(),
            };
            let cache = cluster::shared::SharedCache::new(url, ttl, counters)
                .with_context(|| format!("--redis {url:?}"))?;
            Some(Arc::new(cache))
        }
    };
    let app = Arc::new(App {
        tenants: match &settings.local {
            Some(local) => state::Tenants::new(data.join("tenants"), embedder.clone())
                .local(&local.tenant, local.db.clone()),
            None => state::Tenants::new(data.join("tenants"), embedder.clone()),
        },
        jobs,
        objects: MokaTier::new("objects", 256, ttl, |_, _| 1, metrics.tier("objects")),
        results: MokaTier::new(
            "results",
            results_bytes,
            ttl,
            |k: &state::ResultKey, v: &axum::body::Bytes| {
                (k.request.len() + v.len() + 128).min(u32::MAX as usize) as u32
            },
            metrics.tier("results"),
        ),
        embedder,
        metrics,
        verifier,
        settings,
        epoch: std::sync::RwLock::new(0),
        sizes: Mutex::new(HashMap::new()),
        #[cfg(feature = "cluster")]
        cluster,
        #[cfg(feature = "redis")]
        shared,
    });
    app.metrics.queue_depth.set(app.jobs.depth() as i64);
    app.metrics
        .queue_capacity
        .set(app.settings.queue_capacity as i64);
    for tenant in app.tenants.on_disk() {
        if let Ok(Some(t)) = app.tenants.get(&tenant, false) {
            app.record_sizes(&t);
        }
    }
    Ok(app)
}

async fn run(
    settings: Settings,
    embedder: Option<Arc<dyn codegraph_core::Embedder>>,
) -> anyhow::Result<()> {
    let addr = settings.addr;
    let grace = settings.shutdown_grace;
    // Bound first: a cluster node advertises the address it really listens on.
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local: SocketAddr = listener.local_addr()?;
    #[cfg(not(feature = "cluster"))]
    if settings.cluster.is_some() {
        anyhow::bail!("--cluster: this binary was built without the `cluster` feature");
    }
    #[cfg(not(feature = "redis"))]
    if settings.cluster.as_ref().is_some_and(|c| c.redis.is_some()) {
        anyhow::bail!("--redis: this binary was built without the `redis` feature");
    }
    // The cluster's copies of projects open their stores as the app's tenants do,
    // and drop the app's cached answers when they change; the app is made after the
    // node joins, so the hooks find it here.
    #[cfg(feature = "cluster")]
    let app_cell: Arc<std::sync::OnceLock<std::sync::Weak<App>>> = Arc::default();
    #[cfg(feature = "cluster")]
    let cluster = match &settings.cluster {
        None => None,
        Some(c) => {
            let address = c.advertise.clone().unwrap_or_else(|| local.to_string());
            let (for_options, for_swaps) = (Arc::clone(&app_cell), Arc::clone(&app_cell));
            let hooks = cluster::replicas::Hooks {
                options: Box::new(move |tenant| {
                    match for_options.get().and_then(std::sync::Weak::upgrade) {
                        Some(app) => app.tenants.options(tenant),
                        None => codegraph::DbOptions::default(),
                    }
                }),
                swapped: Box::new(move |tenant, project| {
                    if let Some(app) = for_swaps.get().and_then(std::sync::Weak::upgrade) {
                        app.invalidate(tenant, project);
                    }
                }),
            };
            let replicas =
                cluster::replicas::Replicas::new(settings.data_dir.join("cluster"), hooks)
                    .context("cannot prepare the cluster's directory")?;
            let joined = cluster::Cluster::join(
                c.clone(),
                &address,
                settings.queue_capacity,
                settings.queue_capacity_per_tenant,
                replicas,
            )
            .await
            .context("cannot join the cluster")?;
            tracing::info!(node = %joined.me.id, %address, "joined the cluster");
            Some(Arc::new(joined))
        }
    };
    #[cfg(feature = "cluster")]
    let changed = Arc::new(tokio::sync::Notify::new());
    #[cfg(feature = "cluster")]
    let beats = cluster.as_ref().map(|c| {
        [
            c.spawn_heartbeat(),
            c.spawn_reaper(),
            c.spawn_parked_keeper(),
            c.spawn_peers_watch(),
            c.spawn_manifest_watch(Arc::clone(&changed)),
        ]
    });
    let app = tokio::task::spawn_blocking(move || {
        build_app(
            settings,
            embedder,
            #[cfg(feature = "cluster")]
            cluster,
        )
    })
    .await??;
    #[cfg(feature = "cluster")]
    let _ = app_cell.set(Arc::downgrade(&app));
    #[cfg(feature = "cluster")]
    let owning = app.cluster.as_ref().map(|c| c.spawn_owner_loop(changed));
    #[cfg(feature = "cluster")]
    let rt = tokio::runtime::Handle::current();
    let workers: Vec<_> = (0..app.settings.workers)
        .map(|i| {
            let app = Arc::clone(&app);
            #[cfg(feature = "cluster")]
            let rt = rt.clone();
            std::thread::Builder::new()
                .name(format!("codegraph-job-{i}"))
                .spawn(move || {
                    #[cfg(feature = "cluster")]
                    if let Some(c) = app.cluster.clone() {
                        return worker::work_in_cluster(app, c, rt, i);
                    }
                    worker::work(app, i)
                })
                .expect("threads start")
        })
        .collect();
    let s = &app.settings;
    let quota = Quota::per_second(NonZeroU32::new(s.rate_limit).expect("checked at load"))
        .allow_burst(NonZeroU32::new(s.rate_burst).expect("checked at load"));
    let gate = Arc::new(Gate {
        app: Arc::clone(&app),
        in_flight: Arc::new(Semaphore::new(s.max_in_flight)),
        cpu: Arc::new(Cpu {
            share: CpuShare::new(s.fair_share_priority),
            running: app.metrics.blocking.clone(),
            low: app.metrics.blocking_low.clone(),
        }),
        tenant_slots: Mutex::new(HashMap::new()),
        limiter: RateLimiter::keyed(quota),
        ready: AtomicBool::new(true),
    });
    let router = router(Arc::clone(&gate));
    #[cfg(feature = "cluster")]
    let forwarded = app
        .cluster
        .as_ref()
        .map(|c| c.spawn_forwarded(router.clone()));
    // Tests and scripts read this line to find an ephemeral port.
    println!("codegraph: listening on http://{local}");
    if app.settings.local.as_ref().is_some_and(|l| l.open) {
        open_in_browser(&format!("http://{local}/"));
    }
    tracing::info!(%local, workers = workers.len(), "listening");
    // Per-token limiter state grows with distinct tokens; forget idle ones.
    let housekeeping = {
        let gate = Arc::clone(&gate);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                gate.limiter.retain_recent();
                gate.limiter.shrink_to_fit();
                gate.forget_idle_tenants();
            }
        })
    };
    let shutdown_gate = Arc::clone(&gate);
    // As a make-service, the router's routes are made once; served as it is, axum
    // clones and re-states every route for each new connection, which made
    // connection setup the accept thread's main cost under a flood of short
    // connections.
    axum::serve(listener, router.into_make_service())
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            shutdown_gate.ready.store(false, Ordering::Relaxed);
            tracing::info!("shutting down: no new connections; finishing requests");
        })
        .await
        .context("the server failed")?;
    housekeeping.abort();
    // Running jobs get the grace period to finish, then stop at their next file and
    // are queued again for the next start.
    let app2 = Arc::clone(&app);
    tokio::task::spawn_blocking(move || {
        app2.jobs.shut_down();
        #[cfg(feature = "cluster")]
        if let Some(c) = &app2.cluster {
            c.shut_down();
            let deadline = Instant::now() + grace;
            while c.running_here() > 0 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if c.running_here() > 0 {
                tracing::info!("stopping running jobs; they go back to the queue");
                c.stop_running();
            }
        }
        if !app2.jobs.wait_idle(grace) {
            tracing::info!("stopping running jobs; they are queued again");
            app2.jobs.stop_running();
        }
        for w in workers {
            let _ = w.join();
        }
        for t in app2.tenants.opened() {
            if let Err(e) = t.db.flush() {
                tracing::error!(tenant = %t.name, error = %e, "cannot flush a store");
            }
        }
    })
    .await?;
    #[cfg(feature = "cluster")]
    if let Some(c) = &app.cluster {
        for task in beats.into_iter().flatten().chain(forwarded).chain(owning) {
            task.abort();
        }
        c.leave().await;
    }
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

fn router(gate: Arc<Gate>) -> Router {
    let app = Arc::clone(&gate.app);
    // A search over several projects sends one request per project through this
    // same router; it finds the router here once it is built.
    let inner: fanout::Inner = Arc::default();
    let api = Router::new()
        .route("/analyze", post(api::analyze))
        .route(
            "/search",
            get(fanout::search).layer(axum::Extension(Arc::clone(&inner))),
        )
        .route("/jobs/{id}", get(api::get_job).delete(api::cancel_job))
        .route("/projects", get(api::projects))
        .route(
            "/projects/{project}",
            get(api::project).delete(api::delete_project),
        )
        .route("/projects/{project}/search", get(api::search))
        .route("/projects/{project}/symbols", get(api::symbols))
        .route("/projects/{project}/callers", get(api::callers))
        .route("/projects/{project}/callees", get(api::callees))
        .route("/projects/{project}/impact", get(api::impact))
        .route("/projects/{project}/path", get(api::path))
        .route("/projects/{project}/outline", get(api::outline))
        .route("/projects/{project}/neighbours", get(api::neighbours))
        .route("/projects/{project}/repo_map", get(api::repo_map))
        .route("/projects/{project}/source", get(browse::source))
        .route("/jobs", get(browse::jobs))
        .route(
            "/graphql",
            post(graphql::handler).layer(axum::Extension(graphql::schema(Arc::clone(&app)))),
        )
        .route("/openapi.json", get(openapi::handler))
        .route("/cluster", get(api::cluster));
    // Inside the token check: a forward knows the tenant, and carries the token on.
    #[cfg(feature = "cluster")]
    let api = api.layer(middleware::from_fn_with_state(
        Arc::clone(&gate),
        route_to_server,
    ));
    let api = api.layer(middleware::from_fn_with_state(
        Arc::clone(&gate),
        authenticate,
    ));
    let router = Router::new();
    // The MCP tools, behind the same token check (and so the same tenants).
    #[cfg(feature = "mcp")]
    let router = router.nest_service(
        "/mcp",
        Router::new()
            .fallback_service(mcp::service(Arc::clone(&app)))
            .layer(middleware::from_fn_with_state(
                Arc::clone(&gate),
                authenticate,
            )),
    );
    let router = router
        .route("/health", get(health))
        .route(
            "/ready",
            get({
                let gate = Arc::clone(&gate);
                move || ready(gate)
            }),
        )
        .route("/metrics", get(metrics_handler))
        .route("/", get(ui::index))
        .route("/ui/{file}", get(ui::asset))
        .nest("/api/v1", api)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(app)
        // Bodies are small JSON everywhere but in archive uploads, which `analyze`
        // reads itself under the archive limit.
        .layer(DefaultBodyLimit::max(api::MAX_JSON_BODY))
        .layer(middleware::from_fn_with_state(Arc::clone(&gate), admit))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panicked))
        .layer(middleware::from_fn_with_state(gate, observe))
        .layer(middleware::from_fn(unread::close_if_unread));
    let _ = inner.set(router.clone());
    router
}

fn panicked(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a handler panicked");
    ApiError::internal("internal error (see the server log)").into_response()
}

async fn not_found() -> ApiError {
    ApiError::not_found(
        "route_not_found",
        "no such route (see /api/v1/openapi.json)",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method",
    )
}

async fn health() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"status":"ok"}"#,
    )
        .into_response()
}

async fn ready(gate: Arc<Gate>) -> Response {
    if !gate.ready.load(Ordering::Relaxed) {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "the server is shutting down",
        )
        .into_response();
    }
    let body = serde_json::json!({
        "status": "ready",
        "queue_depth": gate.app.jobs.depth(),
        "workers": gate.app.settings.workers,
    });
    (StatusCode::OK, axum::Json(body)).into_response()
}

async fn metrics_handler(State(app): State<Arc<App>>) -> Response {
    let app2 = Arc::clone(&app);
    let text = tokio::task::spawn_blocking(move || {
        app2.objects.sync();
        app2.results.sync();
        let tiers = [
            (app2.objects.name(), app2.objects.stats()),
            (app2.results.name(), app2.results.stats()),
        ];
        for (name, s) in tiers.into_iter().chain(app2.embedder.as_ref().map(|e| {
            e.cache.sync();
            (e.cache.name(), e.cache.stats())
        })) {
            app2.metrics
                .cache_entries
                .with_label_values(&[name])
                .set(s.entries as i64);
            app2.metrics
                .cache_bytes
                .with_label_values(&[name])
                .set(s.weighted_size as i64);
        }
        app2.record_statistics();
        app2.metrics.queue_depth.set(app2.jobs.depth() as i64);
        app2.metrics.render()
    })
    .await
    .unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

/// One request in the in-flight gauge, for as long as this lives.
struct InFlight<'a>(&'a prometheus::IntGauge);

impl<'a> InFlight<'a> {
    fn enter(gauge: &'a prometheus::IntGauge) -> InFlight<'a> {
        gauge.inc();
        InFlight(gauge)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Request id, tracing span, latency and status metrics.
async fn observe(State(gate): State<Arc<Gate>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let method = req.method().clone();
    let span = tracing::info_span!("request", id = %id, method = %method, route = %route);
    let metrics = &gate.app.metrics;
    // Counted down however the request ends: a client that disconnects drops this
    // future before it returns.
    let in_flight = InFlight::enter(&metrics.in_flight);
    let mut response = next.run(req).instrument(span.clone()).await;
    drop(in_flight);
    let elapsed = started.elapsed();
    let status = response.status();
    metrics
        .requests
        .with_label_values(&[method.as_str(), &route, status.as_str()])
        .inc();
    metrics
        .request_seconds
        .with_label_values(&[method.as_str(), &route])
        .observe(elapsed.as_secs_f64());
    span.in_scope(|| {
        if status.is_server_error() {
            tracing::error!(
                status = status.as_u16(),
                micros = elapsed.as_micros() as u64,
                "answered"
            );
        } else {
            tracing::debug!(
                status = status.as_u16(),
                micros = elapsed.as_micros() as u64,
                "answered"
            );
        }
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", v);
    }
    response
}

/// The in-flight limit, the timeout and the query-size limit.
async fn admit(State(gate): State<Arc<Gate>>, mut req: Request, next: Next) -> Response {
    if req
        .uri()
        .query()
        .is_some_and(|q| q.len() > MAX_QUERY_STRING)
    {
        gate.app
            .metrics
            .rejected
            .with_label_values(&["uri_too_long"])
            .inc();
        return ApiError::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            format!("the query string is longer than {MAX_QUERY_STRING} bytes"),
        )
        .into_response();
    }
    // A body announced as too large is refused before any of it is read; only an
    // archive uploaded to `analyze` may be larger than a JSON body.
    let archive = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(api::is_archive_type);
    let max_body = if req.uri().path() == "/api/v1/analyze" && archive {
        gate.app.settings.max_body_bytes
    } else {
        api::MAX_JSON_BODY
    };
    if req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > max_body as u64)
    {
        gate.app
            .metrics
            .rejected
            .with_label_values(&["payload_too_large"])
            .inc();
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body is larger than {max_body} bytes"),
        )
        .into_response();
    }
    // Probes and scrapes are cheap and must answer under load: a liveness probe that
    // gets 429 would have the server restarted for being busy.
    let probe = matches!(req.uri().path(), "/health" | "/ready" | "/metrics");
    let permit = Arc::clone(&gate.in_flight).try_acquire_owned();
    if permit.is_err() && !probe {
        gate.app
            .metrics
            .rejected
            .with_label_values(&["overloaded"])
            .inc();
        return ApiError::too_many(
            "overloaded",
            "the server is handling as many requests as it may; try again shortly",
            1,
        )
        .into_response();
    }
    let cancel = codegraph_core::Cancel::new();
    let work = Work::new(
        permit.ok(),
        gate.app.settings.query_budget,
        cancel.clone(),
        Arc::clone(&gate.cpu),
    );
    req.extensions_mut().insert(work);
    // Answered, timed out or abandoned: the request's work stops at its next check.
    let _stop = StopOnDrop(cancel);
    let timeout = gate.app.settings.request_timeout;
    match tokio::time::timeout(timeout, next.run(req)).await {
        Ok(r) => r,
        Err(_) => {
            gate.app
                .metrics
                .rejected
                .with_label_values(&["timeout"])
                .inc();
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                format!("the request took longer than {} s", timeout.as_secs()),
            )
            .into_response()
        }
    }
}

/// In cluster mode, a request for a project is answered by a node serving the
/// project's current generation: here when this node does, else passed on to one
/// that does (best placed first, the next when one does not answer); when none
/// does, this node restores it from the object store, within the request's time,
/// and answers.
#[cfg(feature = "cluster")]
async fn route_to_server(State(gate): State<Arc<Gate>>, req: Request, next: Next) -> Response {
    let Some(c) = gate.app.cluster.clone() else {
        return next.run(req).await;
    };
    // A removal changes the shared manifest, which any node can do.
    if req.method() == axum::http::Method::DELETE {
        return next.run(req).await;
    }
    let forwarded = req.extensions().get::<cluster::Forwarded>().is_some();
    // Nested under /api/v1, the path is seen without it.
    let path = req.uri().path();
    let project = path
        .strip_prefix("/api/v1")
        .unwrap_or(path)
        .strip_prefix("/projects/")
        .and_then(|rest| rest.split('/').next())
        .filter(|p| auth::valid_name(p))
        .map(String::from);
    let tenant = req
        .extensions()
        .get::<auth::Identity>()
        .map(|i| i.tenant.clone());
    let (Some(project), Some(tenant)) = (project, tenant) else {
        return next.run(req).await;
    };
    let ready = match c.route(&tenant, &project).await {
        Ok(None) => return next.run(req).await,
        Ok(Some(route)) => route,
        Err(e) => return ApiError::cluster_unavailable(e).into_response(),
    };
    let timeout = gate.app.settings.request_timeout;
    let mut req = req;
    // A forwarded request is answered here, never passed on again: restored first
    // if this node's copy went meanwhile.
    if !ready.is_empty() && !forwarded {
        // Sent as the client wrote it, /api/v1 included.
        let here = req.uri().clone();
        if !here.path().starts_with("/api/v1/") {
            let full = format!(
                "/api/v1{}",
                here.path_and_query().map_or("", |p| p.as_str())
            );
            if let Ok(uri) = full.parse() {
                *req.uri_mut() = uri;
            }
        }
        let out = match c.outgoing(req).await {
            Ok(out) => out,
            Err(refused) => return refused,
        };
        for node in &ready {
            tokio::select! {
                sent = c.send(node, &out, timeout) => match sent {
                    Ok(answer) => return answer,
                    Err(e) => {
                        tracing::info!(%node, error = %e, "a node serving the project did not answer");
                    }
                },
                () = c.gone(node) => {
                    tracing::info!(%node, "a node serving the project died before it answered");
                }
            }
        }
        req = out.into_request(here);
    }
    match c.restore_within(&tenant, &project, timeout).await {
        Ok(()) => next.run(req).await,
        Err(e) => {
            tracing::warn!(%tenant, %project, error = %e, "cannot restore a project's index");
            cluster::unavailable()
        }
    }
}

/// JWT check and per-token rate limit for `/api/v1`.
async fn authenticate(State(gate): State<Arc<Gate>>, mut req: Request, next: Next) -> Response {
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let verified = match &gate.app.settings.local {
        // `codegraph ui`: one reader on loopback, who has the store's files anyway. With
        // no token to ask for, the Host and Origin must be loopback too: a page elsewhere
        // whose name was rebound to 127.0.0.1 gets nothing.
        Some(local) if loopback_request(req.headers()) => Ok(auth::Identity {
            tenant: local.tenant.clone(),
            subject: None,
            token_key: 0,
        }),
        Some(_) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "`codegraph ui` answers pages on this machine only (Host and Origin must be loopback)",
        )),
        None => gate.app.verifier.verify_header(header),
    };
    let identity = match verified {
        Ok(id) => id,
        Err(e) => {
            gate.app
                .metrics
                .rejected
                .with_label_values(&["unauthorized"])
                .inc();
            tracing::info!(reason = %e.message, "refused a token");
            return e.into_response();
        }
    };
    // A fan-out's sub-requests were counted once, as the search that made them.
    let sub_request = req.extensions().get::<fanout::SubRequest>().is_some();
    if !sub_request && let Err(not_until) = gate.limiter.check_key(&identity.token_key) {
        gate.app
            .metrics
            .rejected
            .with_label_values(&["rate_limited"])
            .inc();
        let wait = not_until.wait_time_from(governor::clock::Clock::now(
            &governor::clock::DefaultClock::default(),
        ));
        return ApiError::too_many(
            "rate_limited",
            "this token's request rate is over its limit",
            wait.as_secs() + 1,
        )
        .into_response();
    }
    if !gate.ready.load(Ordering::Relaxed) {
        return ApiError {
            retry_after: Some(5),
            ..ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "shutting_down",
                "the server is shutting down",
            )
        }
        .into_response();
    }
    // The tenant's share of the in-flight limit: one tenant's flood leaves the others
    // room. Held by the request's work, like the global slot.
    match (
        gate.tenant_slot(&identity.tenant),
        req.extensions().get::<Work>(),
    ) {
        (Some(slot), Some(work)) => work.hold(&identity.tenant, slot),
        (Some(_), None) => {}
        (None, _) => {
            gate.app
                .metrics
                .rejected
                .with_label_values(&["tenant_overloaded"])
                .inc();
            return ApiError::too_many(
                "tenant_overloaded",
                "this tenant has as many requests in flight as it may; try again shortly",
                1,
            )
            .into_response();
        }
    }
    tracing::debug!(tenant = %identity.tenant, subject = identity.subject.as_deref().unwrap_or(""), "authenticated");
    let cpu = Arc::clone(&gate.cpu);
    let tenant = identity.tenant.clone();
    req.extensions_mut().insert(identity);
    cpu.charged(&tenant, next.run(req)).await
}
