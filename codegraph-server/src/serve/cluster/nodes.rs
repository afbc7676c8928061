//! The node registry: each node puts its record in the `cg_nodes` bucket every
//! quarter of `--node-ttl`; the bucket keeps an entry for `--node-ttl`, so a node
//! that stops beating (killed, cut off, stopped) drops out on its own, and no node
//! has to declare another dead.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, kv};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use super::{Cluster, ClusterError};

const BUCKET: &str = "cg_nodes";

/// At most this many nodes are read from the registry: a bound on the work of one
/// listing, far above any deployment this is made for.
const MAX_NODES: usize = 1024;

/// A node as it registers itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// Random at each start: a restarted node is a new node.
    pub id: String,
    /// Where it is reached (`--advertise`).
    pub address: String,
    pub started_ms: u64,
    pub version: String,
}

impl NodeInfo {
    pub fn new(address: &str) -> NodeInfo {
        NodeInfo {
            id: uuid::Uuid::new_v4().simple().to_string(),
            address: address.to_string(),
            started_ms: now_ms(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

/// A node heard from within the TTL.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LiveNode {
    #[serde(flatten)]
    pub node: NodeInfo,
    /// When it last beat, by its own clock.
    pub seen_ms: u64,
    /// The generation of each project it serves, by manifest key.
    #[serde(default)]
    pub serving: BTreeMap<String, u64>,
}

/// The registry as this node last heard it: each node's latest beat and when it
/// arrived (by this node's clock, so that clocks need not agree).
#[derive(Default)]
pub struct Peers {
    beats: HashMap<String, (LiveNode, Instant)>,
}

/// The registry bucket, made (or its TTL brought to `ttl`) if needed.
pub(super) async fn bucket(
    js: &jetstream::Context,
    ttl: Duration,
    replicas: usize,
) -> Result<kv::Store, ClusterError> {
    js.create_or_update_key_value(kv::Config {
        bucket: BUCKET.to_string(),
        description: "codegraph serve: live nodes (entries expire when a node stops beating)"
            .to_string(),
        history: 1,
        max_age: ttl,
        // Heartbeats need no disk: after a NATS restart, nodes beat again within
        // a quarter of the TTL. Copied like everything else, so that losing one
        // NATS server of a cluster does not lose the registry.
        storage: jetstream::stream::StorageType::Memory,
        num_replicas: replicas,
        ..Default::default()
    })
    .await
    .map_err(|e| ClusterError::js("cannot open the node registry", e))
}

impl Cluster {
    /// Puts this node's record in the registry.
    pub async fn beat(&self) -> Result<(), ClusterError> {
        let beat = LiveNode {
            node: self.me.clone(),
            seen_ms: now_ms(),
            serving: self.replicas.serving(),
        };
        let bytes = serde_json::to_vec(&beat).expect("node records serialise");
        self.nodes
            .put(&self.me.id, bytes.into())
            .await
            .map_err(|e| ClusterError::js("cannot register this node", e))?;
        Ok(())
    }

    /// Beats until the process ends; a failed beat is logged and tried again at the
    /// next tick (NATS may be restarting). The registry lives in memory, so a NATS
    /// server that restarted has lost it: a failed beat makes it again.
    pub fn spawn_heartbeat(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let cluster = Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(cluster.settings.node_ttl / 4);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = cluster.beat().await {
                    tracing::warn!(error = %e, "heartbeat failed");
                    if bucket(
                        &cluster.js,
                        cluster.settings.node_ttl,
                        cluster.settings.replicas,
                    )
                    .await
                    .is_ok()
                        && cluster.beat().await.is_ok()
                    {
                        tracing::info!("the node registry was made again");
                    }
                }
            }
        })
    }

    /// Takes this node out of the registry at once (a clean shutdown), instead of
    /// after the TTL.
    pub async fn leave(&self) {
        if let Err(e) = self.nodes.purge(&self.me.id).await {
            tracing::warn!(error = %e, "cannot leave the node registry");
        }
    }

    /// The live nodes as the registry's watch last told this node, this node
    /// included, by id: what routing reads, without a round trip. A node that died
    /// drops out a TTL after its last beat; one that left cleanly, at once.
    pub fn peers(&self) -> Vec<LiveNode> {
        let ttl = self.settings.node_ttl;
        let mut out: Vec<LiveNode> = {
            let peers = self.peers.read().unwrap_or_else(|e| e.into_inner());
            peers
                .beats
                .values()
                .filter(|(n, at)| at.elapsed() < ttl && n.node.id != self.me.id)
                .map(|(n, _)| n.clone())
                .collect()
        };
        out.push(LiveNode {
            node: self.me.clone(),
            seen_ms: now_ms(),
            serving: self.replicas.serving(),
        });
        out.sort_by(|a, b| a.node.id.cmp(&b.node.id));
        out
    }

    /// Returns once node `id` is no longer live (its beats stopped for a TTL): what
    /// a wait for its answer races against, since a node killed mid-request may
    /// still hold its subscription for a while, and never answer.
    pub async fn gone(&self, id: &str) {
        loop {
            tokio::time::sleep(Duration::from_millis(250)).await;
            if !self.peers().iter().any(|n| n.node.id == id) {
                return;
            }
        }
    }

    /// Follows the registry into [`Cluster::peers`]; again after NATS restarts.
    pub fn spawn_peers_watch(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let cluster = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                match cluster.nodes.watch_with_history(">").await {
                    Ok(mut watch) => {
                        // Every node beats four times a TTL, this one included: a
                        // watch silent for a TTL has stalled, and is replaced.
                        let ttl = cluster.settings.node_ttl;
                        while let Ok(Some(entry)) = tokio::time::timeout(ttl, watch.next()).await {
                            let Ok(entry) = entry else { break };
                            let mut peers =
                                cluster.peers.write().unwrap_or_else(|e| e.into_inner());
                            let beat = (entry.operation == kv::Operation::Put)
                                .then(|| serde_json::from_slice::<LiveNode>(&entry.value).ok())
                                .flatten();
                            match beat {
                                Some(node) => {
                                    peers.beats.insert(entry.key, (node, Instant::now()));
                                }
                                None => {
                                    peers.beats.remove(&entry.key);
                                }
                            }
                            if peers.beats.len() > MAX_NODES {
                                let ttl = cluster.settings.node_ttl;
                                peers.beats.retain(|_, (_, at)| at.elapsed() < ttl);
                            }
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot watch the node registry"),
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
    }

    /// The nodes heard from within the TTL, by id.
    pub async fn live_nodes(&self) -> Result<Vec<LiveNode>, ClusterError> {
        let mut keys = self
            .nodes
            .keys()
            .await
            .map_err(|e| ClusterError::js("cannot list nodes", e))?;
        let mut out = Vec::new();
        while let Some(key) = keys.next().await {
            let key = key.map_err(|e| ClusterError::js("cannot list nodes", e))?;
            // Purged or expired between the listing and the read: gone.
            let Some(bytes) = self
                .nodes
                .get(&key)
                .await
                .map_err(|e| ClusterError::js("cannot read a node", e))?
            else {
                continue;
            };
            let node: LiveNode =
                serde_json::from_slice(&bytes).map_err(|e| ClusterError::Record(e.to_string()))?;
            out.push(node);
            if out.len() >= MAX_NODES {
                break;
            }
        }
        out.sort_by(|a, b| a.node.id.cmp(&b.node.id));
        Ok(out)
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
