//! The server's cache tiers on moka: each bounded (by bytes or entries), each entry
//! living at most the configured time, with hit, miss and eviction counters.
//!
//! The tiers are those the design draws: hot objects (a project's opened vector
//! index), embeddings of query texts, and query results (answers as serialised JSON,
//! so a hit costs one lookup and a copy).

use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use moka::notification::RemovalCause;
use prometheus::IntCounter;

/// Counters a tier reports to; registered under the tier's name by the metrics.
#[derive(Clone)]
pub struct TierCounters {
    pub hits: IntCounter,
    pub misses: IntCounter,
    pub evictions: IntCounter,
}

/// Counters a cache tier exposes for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
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

/// One moka cache implementing [`CacheTier`].
pub struct MokaTier<K, V> {
    name: &'static str,
    cache: moka::sync::Cache<K, V>,
    counters: TierCounters,
}

impl<K, V> MokaTier<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// A tier holding at most `capacity` units as measured by `weigher` (bytes, or 1
    /// per entry), each for at most `ttl`.
    pub fn new(
        name: &'static str,
        capacity: u64,
        ttl: Duration,
        weigher: impl Fn(&K, &V) -> u32 + Send + Sync + 'static,
        counters: TierCounters,
    ) -> MokaTier<K, V> {
        let evictions = counters.evictions.clone();
        let cache = moka::sync::Cache::builder()
            .max_capacity(capacity)
            .weigher(weigher)
            .time_to_live(ttl)
            .support_invalidation_closures()
            .eviction_listener(move |_k, _v, cause| {
                // Explicit invalidations and replacements are not evictions.
                if matches!(cause, RemovalCause::Size | RemovalCause::Expired) {
                    evictions.inc();
                }
            })
            .build();
        MokaTier {
            name,
            cache,
            counters,
        }
    }

    /// Runs pending maintenance (evictions are otherwise applied lazily), so counters
    /// and sizes are current; for metrics scrapes and tests.
    pub fn sync(&self) {
        self.cache.run_pending_tasks();
    }
}

impl<K, V> CacheTier<K, V> for MokaTier<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn name(&self) -> &str {
        self.name
    }

    fn get(&self, key: &K) -> Option<V> {
        let v = self.cache.get(key);
        if v.is_some() {
            self.counters.hits.inc();
        } else {
            self.counters.misses.inc();
        }
        v
    }

    fn insert(&self, key: K, value: V) {
        self.cache.insert(key, value);
    }

    fn invalidate(&self, key: &K) {
        self.cache.invalidate(key);
    }

    fn invalidate_where(&self, predicate: &(dyn Fn(&K) -> bool + Send + Sync)) {
        // moka wants an owned 'static closure; the predicate is evaluated now, so
        // collect the matching keys first.
        let keys: Vec<Arc<K>> = self
            .cache
            .iter()
            .filter(|(k, _)| predicate(k))
            .map(|(k, _)| k)
            .collect();
        for k in keys {
            self.cache.invalidate(k.as_ref());
        }
    }

    fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.counters.hits.get(),
            misses: self.counters.misses.get(),
            evictions: self.counters.evictions.get(),
            entries: self.cache.entry_count(),
            weighted_size: self.cache.weighted_size(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counters() -> TierCounters {
        TierCounters {
            hits: IntCounter::new("h", "h").unwrap(),
            misses: IntCounter::new("m", "m").unwrap(),
            evictions: IntCounter::new("e", "e").unwrap(),
        }
    }

    #[test]
    fn counts_hits_misses_and_size_evictions() {
        let tier: MokaTier<u32, Arc<Vec<u8>>> = MokaTier::new(
            "t",
            1000,
            Duration::from_secs(60),
            |_, v: &Arc<Vec<u8>>| v.len() as u32,
            counters(),
        );
        tier.insert(1, Arc::new(vec![0; 400]));
        assert!(tier.get(&1).is_some());
        assert!(tier.get(&2).is_none());
        for i in 10..20 {
            tier.insert(i, Arc::new(vec![0; 400]));
        }
        tier.sync();
        let s = tier.stats();
        assert_eq!((s.hits, s.misses), (1, 1));
        assert!(s.weighted_size <= 1000, "{s:?}");
        assert!(s.evictions >= 8, "{s:?}");
    }

    #[test]
    fn entries_expire_and_invalidate_by_predicate() {
        let tier: MokaTier<(String, u32), u32> =
            MokaTier::new("t", 100, Duration::from_millis(50), |_, _| 1, counters());
        tier.insert(("a".into(), 1), 1);
        tier.insert(("b".into(), 1), 2);
        tier.invalidate_where(&|k| k.0 == "a");
        assert!(tier.get(&("a".into(), 1)).is_none());
        assert_eq!(tier.get(&("b".into(), 1)), Some(2));
        std::thread::sleep(Duration::from_millis(120));
        assert!(tier.get(&("b".into(), 1)).is_none());
    }
}
