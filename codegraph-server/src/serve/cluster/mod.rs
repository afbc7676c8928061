//! Cluster mode (`codegraph serve --cluster nats://HOST:PORT`): several identical
//! nodes serve one deployment through NATS JetStream. Every node accepts API calls,
//! runs job workers and serves queries; what they share lives in JetStream, never in
//! one node's memory:
//! - `nodes.rs`: the node registry, a key-value bucket of heartbeats whose entries
//!   expire when a node stops beating (`GET /api/v1/cluster`);
//! - `placement.rs`: which live nodes own a project (rendezvous hashing).
//!
//! Without `--cluster` none of this runs, and the server needs no external service.

mod nodes;
pub mod placement;

use std::time::Duration;

use async_nats::jetstream;

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
}

impl ClusterError {
    fn js(what: &'static str, e: impl std::fmt::Display) -> ClusterError {
        ClusterError::JetStream {
            what,
            message: e.to_string(),
        }
    }
}

/// This node's connection to the cluster.
pub struct Cluster {
    pub me: NodeInfo,
    settings: ClusterSettings,
    nodes: jetstream::kv::Store,
}

pub use super::config::ClusterSettings;

impl Cluster {
    /// Connects to NATS, makes the shared buckets if they are missing (every node
    /// makes them the same way, so the first to start wins and the others find
    /// them), and registers this node, reached at `address`.
    pub async fn join(settings: ClusterSettings, address: &str) -> Result<Cluster, ClusterError> {
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
        let js = jetstream::new(client);
        let nodes = nodes::bucket(&js, settings.node_ttl).await?;
        let me = NodeInfo::new(address);
        let cluster = Cluster {
            me,
            settings,
            nodes,
        };
        cluster.beat().await?;
        Ok(cluster)
    }
}
