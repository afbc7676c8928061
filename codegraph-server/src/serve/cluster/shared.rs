//! The cluster's shared cache tier (`--redis`): query answers in Redis, under each
//! node's own cache, so that an answer one node computed is a hit on every other.
//!
//! - Keys carry the tenant, the project and the project's generation, then the
//!   request as the results tier keys it: a new generation makes the old answers
//!   unreachable without any message to anyone, and they age out by their TTL.
//! - Redis holds nothing that cannot be recomputed. Every call is bounded
//!   ([`OP_TIMEOUT`]); a failure opens a breaker for [`BREAK`], during which the
//!   tier is skipped, so a Redis that is down or slow costs a request nothing more
//!   than a miss. The connection manager reconnects by itself.
//! - Writes are not awaited by the request that computed the answer.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use prometheus::IntCounter;
use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// The longest a request waits for Redis.
const OP_TIMEOUT: Duration = Duration::from_millis(100);
/// How long the tier is skipped after a failure.
const BREAK: Duration = Duration::from_secs(5);
/// Answers larger than this are not shared (the local tier still keeps them).
const MAX_VALUE: usize = 4 << 20;

/// Counters of the shared tier, for `/metrics`.
pub struct SharedCounters {
    pub hits: IntCounter,
    pub misses: IntCounter,
    pub errors: IntCounter,
}

pub struct SharedCache {
    conn: ConnectionManager,
    ttl: Duration,
    /// Set after a failure: skipped until then.
    broken_until: Mutex<Option<Instant>>,
    counters: SharedCounters,
}

impl SharedCache {
    /// A tier on the Redis at `url`, connected on first use; its entries live `ttl`.
    /// Fails only for a URL that is not one.
    pub fn new(
        url: &str,
        ttl: Duration,
        counters: SharedCounters,
    ) -> Result<SharedCache, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(OP_TIMEOUT * 5))
            .set_response_timeout(Some(OP_TIMEOUT))
            // The breaker, not the manager, decides when to try again.
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(1));
        let conn = client.get_connection_manager_lazy(config)?;
        Ok(SharedCache {
            conn,
            ttl,
            broken_until: Mutex::new(None),
            counters,
        })
    }

    /// The key of an answer: tenant and project as hex (no `:` can pass for a
    /// separator), the generation, then the request.
    pub fn key(tenant: &str, project: &str, generation: u64, request: &str) -> String {
        let hex = |s: &str| s.bytes().map(|b| format!("{b:02x}")).collect::<String>();
        format!(
            "cg:r:{}:{}:{generation}:{request}",
            hex(tenant),
            hex(project)
        )
    }

    fn usable(&self) -> bool {
        let mut until = self.broken_until.lock().unwrap_or_else(|e| e.into_inner());
        match *until {
            Some(t) if Instant::now() < t => false,
            Some(_) => {
                *until = None;
                true
            }
            None => true,
        }
    }

    fn broke(&self, what: &str, e: &dyn std::fmt::Display) {
        self.counters.errors.inc();
        let mut until = self.broken_until.lock().unwrap_or_else(|e| e.into_inner());
        if until.is_none() {
            tracing::warn!(error = %e, "the shared cache failed to {what}; skipped for {BREAK:?}");
        }
        *until = Some(Instant::now() + BREAK);
    }

    /// The answer stored under `key`, if Redis has it and answers in time.
    pub async fn get(&self, key: &str) -> Option<bytes::Bytes> {
        if !self.usable() {
            return None;
        }
        let mut conn = self.conn.clone();
        let got: Result<Result<Option<Vec<u8>>, _>, _> =
            tokio::time::timeout(OP_TIMEOUT, conn.get(key)).await;
        match got {
            Ok(Ok(Some(v))) => {
                self.counters.hits.inc();
                Some(v.into())
            }
            Ok(Ok(None)) => {
                self.counters.misses.inc();
                None
            }
            Ok(Err(e)) => {
                self.broke("read", &e);
                None
            }
            Err(e) => {
                self.broke("read", &e);
                None
            }
        }
    }

    /// Stores an answer, in the background.
    pub fn put(self: &std::sync::Arc<Self>, key: String, value: bytes::Bytes) {
        if value.len() > MAX_VALUE || !self.usable() {
            return;
        }
        let me = std::sync::Arc::clone(self);
        tokio::spawn(async move {
            let mut conn = me.conn.clone();
            let ttl = me.ttl.as_secs().max(1);
            let set: Result<Result<(), _>, _> =
                tokio::time::timeout(OP_TIMEOUT, conn.set_ex(&key, value.as_ref(), ttl)).await;
            match set {
                Ok(Ok(())) => {}
                Ok(Err(e)) => me.broke("write", &e),
                Err(e) => me.broke("write", &e),
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_carry_tenant_project_and_generation_and_cannot_run_together() {
        let a = SharedCache::key("acme", "flask", 3, "search?q=x");
        assert_eq!(a, SharedCache::key("acme", "flask", 3, "search?q=x"));
        assert_ne!(a, SharedCache::key("acme", "flask", 4, "search?q=x"));
        assert_ne!(a, SharedCache::key("acm", "eflask", 3, "search?q=x"));
        assert_ne!(
            SharedCache::key("a:b", "c", 1, "r"),
            SharedCache::key("a", "b:c", 1, "r")
        );
    }
}
