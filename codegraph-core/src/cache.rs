//! The cache-tier seam: bounded, expiring, observable caches.

use serde::{Deserialize, Serialize};

/// Counters a cache tier exposes for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheStats {
    /// Lookups that found a live entry, since the tier was created.
    pub hits: u64,
    /// Lookups that found nothing (absent or expired), since the tier was created.
    pub misses: u64,
    /// Entries dropped for size or age. Explicit invalidations and replacements by
    /// [`CacheTier::insert`] are not counted.
    pub evictions: u64,
    /// Entries held now; may lag behind recent writes in tiers that evict lazily.
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

    /// A copy of the live value for `key`, counting a hit or a miss. `None` when the
    /// key was never inserted, has expired or was evicted: callers must always be able
    /// to recompute the value.
    fn get(&self, key: &K) -> Option<V>;

    /// Stores `value` under `key`, replacing any previous value. May evict other
    /// entries to stay within the tier's bound.
    fn insert(&self, key: K, value: V);

    /// Drops the entry for `key`, if any, so the next [`get`](CacheTier::get) misses.
    fn invalidate(&self, key: &K);

    /// Drops every entry whose key matches; used when a project is re-indexed.
    fn invalidate_where(&self, predicate: &(dyn Fn(&K) -> bool + Send + Sync));

    /// A snapshot of the tier's counters and size, for metrics.
    fn stats(&self) -> CacheStats;
}
