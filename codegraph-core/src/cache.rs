//! The cache-tier seam: bounded, expiring, observable caches.

use serde::{Deserialize, Serialize};

/// Counters a cache tier exposes for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub evictions: u64,
    pub entries: u64,
    /// The bounded quantity: bytes for weighted tiers, entries otherwise.
    pub weighted_size: u64,
}

/// One tier of cache (parsed objects, embeddings, query results).
///
/// Every tier is bounded in size and entries expire after a time-to-live; a tier never
/// grows without bound whatever its callers do.
pub trait CacheTier<K, V>: Send + Sync {
    /// The tier's name in metrics, such as `query_results`.
    fn name(&self) -> &str;

    fn get(&self, key: &K) -> Option<V>;

    fn insert(&self, key: K, value: V);

    fn invalidate(&self, key: &K);

    /// Drops every entry whose key matches; used when a project is re-indexed.
    fn invalidate_where(&self, predicate: &(dyn Fn(&K) -> bool + Send + Sync));

    fn stats(&self) -> CacheStats;
}
