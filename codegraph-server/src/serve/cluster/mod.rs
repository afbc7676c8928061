//! Cluster mode (`codegraph serve --cluster nats://HOST:PORT`): several identical
//! nodes serve one deployment through NATS JetStream. Every node accepts API calls,
//! runs job workers and serves queries; what they share lives in JetStream, never in
//! one node's memory:
//! - `nodes.rs`: the node registry, a key-value bucket of heartbeats whose entries
//!   expire when a node stops beating (`GET /api/v1/cluster`);
//! - `placement.rs`: which live nodes own a project (rendezvous hashing);
//! - `forward.rs`: a query for a project another node holds, answered by that node;
//! - `queue.rs`: the shared job queue, job records, uploads and the project
//!   manifest (`worker.rs` has the worker threads' loop over it);
//! - `artifact.rs`, `replicas.rs`: a project's built index as an immutable object,
//!   and the copies of it that its owners restore and serve;
//! - `shared.rs`: answers cached in Redis for every node (`--redis`).
//!
//! Without `--cluster` none of this runs, and the server needs no external service.

pub mod artifact;
mod forward;
mod nodes;
pub mod placement;
pub mod queue;
pub mod replicas;
#[cfg(feature = "redis")]
pub mod shared;

use std::time::Duration;

use async_nats::jetstream;

use queue::{Queue, QueueSettings};

pub use forward::{Forwarded, unavailable};
pub use nodes::NodeInfo;

/// Why a cluster operation failed. Callers answer 503: the deployment's shared state
/// is out of reach, which a retry on another node, or later, may not be.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("cannot reach NATS at {url}: {message}")]
    Connect { url: String, message: String },
    #[error("JetStream {what}: {message}")]
    JetStream { what: &'static str, message: String },
    #[error("a node record is not valid JSON: {0}")]
    Record(String),
    #[error("{what}: {message}")]
    Local { what: &'static str, message: String },
}

impl ClusterError {
    fn js(what: &'static str, e: impl std::fmt::Display) -> ClusterError {
        ClusterError::JetStream {
            what,
            message: e.to_string(),
        }
    }
}

/// Runs a JetStream call again while it fails for a reason a retry may cure: when
/// a NATS server of a cluster dies, the streams it led elect new leaders, which
/// takes JetStream's election timeout (4 to 9 s). Tries for about 16 s, waiting a
/// quarter of a second, then twice as long each time up to 2 s. Each call must be
/// safe to repeat.
pub(crate) async fn patiently<T, F, Fut>(mut call: F) -> Result<T, ClusterError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ClusterError>>,
{
    let mut wait = Duration::from_millis(250);
    let mut waited = Duration::ZERO;
    loop {
        match call().await {
            Err(e @ ClusterError::JetStream { .. }) if waited < Duration::from_secs(16) => {
                tracing::debug!(error = %e, ?waited, "a JetStream call failed; trying again");
                tokio::time::sleep(wait).await;
                waited += wait;
                wait = (wait * 2).min(Duration::from_secs(2));
            }
            done => return done,
        }
    }
}

/// This node's connection to the cluster.
pub struct Cluster {
    pub me: NodeInfo,
    settings: ClusterSettings,
    client: async_nats::Client,
    js: jetstream::Context,
    nodes: jetstream::kv::Store,
    pub(super) queue: Queue,
    /// The projects this node serves.
    pub replicas: replicas::Replicas,
    /// The registry as its watch last told this node.
    peers: std::sync::RwLock<nodes::Peers>,
    /// Set at shutdown: no new job starts here.
    stopping: std::sync::atomic::AtomicBool,
}

pub use super::config::ClusterSettings;

impl Cluster {
    /// Connects to NATS, makes the shared buckets if they are missing (every node
    /// makes them the same way, so the first to start wins and the others find
    /// them), and registers this node, reached at `address`.
    pub async fn join(
        settings: ClusterSettings,
        address: &str,
        capacity: usize,
        tenant_share: usize,
        replicas: replicas::Replicas,
    ) -> Result<Cluster, ClusterError> {
        let client = async_nats::ConnectOptions::new()
            .name("codegraph-serve")
            .connection_timeout(Duration::from_secs(5))
            // A node keeps trying to get back to the servers after a loss; requests
            // meanwhile answer 503.
            .max_reconnects(None)
            .connect(settings.url.split(',').map(str::trim).collect::<Vec<_>>())
            .await
            .map_err(|e| ClusterError::Connect {
                url: settings.url.clone(),
                message: e.to_string(),
            })?;
        let js = jetstream::new(client.clone());
        // A NATS cluster started at the same time may still be electing its
        // JetStream leader: its requests time out for a few seconds. Each step makes
        // or updates what exists, so it is safe to repeat.
        let nodes = patiently(|| nodes::bucket(&js, settings.node_ttl, settings.replicas)).await?;
        let queue = patiently(|| {
            Queue::open(
                &js,
                QueueSettings {
                    capacity,
                    tenant_share,
                    ack_wait: settings.ack_wait,
                    max_deliver: settings.max_deliver,
                    replicas: settings.replicas,
                },
            )
        })
        .await?;
        let me = NodeInfo::new(address);
        let cluster = Cluster {
            me,
            settings,
            client,
            js,
            nodes,
            queue,
            replicas,
            peers: Default::default(),
            stopping: std::sync::atomic::AtomicBool::new(false),
        };
        patiently(|| cluster.beat()).await?;
        Ok(cluster)
    }
}

impl Cluster {
    /// Jobs this node's workers run now.
    pub fn running_here(&self) -> usize {
        self.queue.running_here()
    }

    /// Asks the jobs this node runs to stop at their next file; they are given back
    /// to the queue, for another node.
    pub fn stop_running(&self) {
        self.queue.stop_running();
    }

    /// No job starts here from now on: one waiting for its project is given back.
    pub fn shut_down(&self) {
        self.stopping
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether `shut_down` was called.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(std::sync::atomic::Ordering::Relaxed)
    }
}
