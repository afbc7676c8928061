//! Prometheus metrics, served at `/metrics` in the text exposition format.
//!
//! Names follow Prometheus conventions (`_total` counters, `_seconds` histograms): the
//! server's own carry the prefix `codegraph_`, the process collector's are the standard
//! unprefixed `process_*`. The alert rules and dashboard in `deploy/` are written
//! against them.

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

use super::cache::TierCounters;

pub struct Metrics {
    pub registry: Registry,
    /// The process collector, unprefixed (`process_resident_memory_bytes`), as every
    /// Prometheus client exports it.
    process: Registry,
    pub requests: IntCounterVec,
    pub request_seconds: HistogramVec,
    pub in_flight: IntGauge,
    /// Requests' blocking work running now: it outlives a request that timed out
    /// until it reaches its next stop check.
    pub blocking: IntGauge,
    /// Of which on low-priority threads, for tenants over their CPU share.
    pub blocking_low: IntGauge,
    pub rejected: IntCounterVec,
    pub queue_depth: IntGauge,
    pub jobs_running: IntGauge,
    pub jobs: IntCounterVec,
    pub job_seconds: Histogram,
    pub parse_seconds: Histogram,
    pub files_parsed: IntCounter,
    pub cache_hits: IntCounterVec,
    pub cache_misses: IntCounterVec,
    pub cache_evictions: IntCounterVec,
    pub cache_entries: IntGaugeVec,
    pub cache_bytes: IntGaugeVec,
    pub index_bytes: IntGaugeVec,
    pub rocksdb: IntGaugeVec,
    /// The queue's capacity, which alert rules divide by (as they do by
    /// `codegraph_memory_limit_bytes` and `codegraph_cpu_cores`, set once here).
    pub queue_capacity: IntGauge,
    /// Calls to the cluster's shared cache tier (Redis) that failed or timed out
    /// (registered in every build, so that dashboards need no feature check).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub shared_cache_errors: prometheus::IntCounter,
}

fn register<T: prometheus::core::Collector + Clone + 'static>(r: &Registry, c: T) -> T {
    r.register(Box::new(c.clone()))
        .expect("metric names are unique");
    c
}

/// Request latencies from 100 µs (cached answers) to 10 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// Every `reason` of `http_rejected_total`.
pub const REJECT_REASONS: [&str; 9] = [
    "queue_full",
    "tenant_queue_full",
    "uri_too_long",
    "payload_too_large",
    "overloaded",
    "tenant_overloaded",
    "timeout",
    "unauthorized",
    "rate_limited",
];

/// Job and parse durations, 10 ms to an hour.
const JOB_BUCKETS: &[f64] = &[
    0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0,
];

impl Metrics {
    pub fn new() -> Metrics {
        let r = Registry::new_custom(Some("codegraph".into()), None).expect("valid prefix");
        let process = Registry::new();
        #[cfg(target_os = "linux")]
        process
            .register(Box::new(
                prometheus::process_collector::ProcessCollector::for_self(),
            ))
            .expect("registered once");
        let gauge =
            |name: &str, help: &str| register(&r, IntGauge::new(name, help).expect("valid metric"));
        let counter_vec = |name: &str, help: &str, labels: &[&str]| {
            register(
                &r,
                IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric"),
            )
        };
        let gauge_vec = |name: &str, help: &str, labels: &[&str]| {
            register(
                &r,
                IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric"),
            )
        };
        // Constants alert rules divide by: the memory the process may use (its
        // cgroup's limit, else the machine's) and the cores it may run on.
        gauge(
            "memory_limit_bytes",
            "Memory the process may use: its cgroup's limit, else the machine's.",
        )
        .set(memory_limit().min(i64::MAX as u64) as i64);
        gauge("cpu_cores", "Cores the process may run on.")
            .set(std::thread::available_parallelism().map_or(1, |n| n.get()) as i64);
        Metrics {
            requests: counter_vec(
                "http_requests_total",
                "HTTP requests answered, by route and status.",
                &["method", "route", "status"],
            ),
            request_seconds: register(
                &r,
                HistogramVec::new(
                    HistogramOpts::new("http_request_duration_seconds", "Time to answer.")
                        .buckets(LATENCY_BUCKETS.to_vec()),
                    &["method", "route"],
                )
                .expect("valid metric"),
            ),
            in_flight: register(
                &r,
                IntGauge::new("http_requests_in_flight", "Requests being handled.")
                    .expect("valid metric"),
            ),
            blocking: gauge(
                "blocking_work_running",
                "Requests' blocking work (queries, walks) running now, including work of \
                 requests that already timed out and has yet to reach a stop check.",
            ),
            blocking_low: gauge(
                "blocking_work_low_priority",
                "Of the blocking work running, how much runs at lower OS priority because \
                 its tenant used more than its share of the CPU.",
            ),
            rejected: {
                let c = counter_vec(
                    "http_rejected_total",
                    "Requests refused before reaching a handler, by reason.",
                    &["reason"],
                );
                // Present at zero from the start, so rates and alerts see a series.
                for reason in REJECT_REASONS {
                    c.with_label_values(&[reason]);
                }
                c
            },
            queue_depth: register(
                &r,
                IntGauge::new("jobs_queue_depth", "Analysis jobs waiting.").expect("valid"),
            ),
            jobs_running: register(
                &r,
                IntGauge::new("jobs_running", "Analysis jobs running.").expect("valid"),
            ),
            jobs: {
                let c = counter_vec(
                    "jobs_total",
                    "Analysis jobs finished, by outcome.",
                    &["status"],
                );
                for status in ["succeeded", "failed"] {
                    c.with_label_values(&[status]);
                }
                c
            },
            job_seconds: register(
                &r,
                Histogram::with_opts(
                    HistogramOpts::new("job_duration_seconds", "Analysis job run time.")
                        .buckets(JOB_BUCKETS.to_vec()),
                )
                .expect("valid metric"),
            ),
            parse_seconds: register(
                &r,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "parse_duration_seconds",
                        "Walking, reading and parsing time per analysis job.",
                    )
                    .buckets(JOB_BUCKETS.to_vec()),
                )
                .expect("valid metric"),
            ),
            files_parsed: register(
                &r,
                IntCounter::new("files_parsed_total", "Files parsed by analysis jobs.")
                    .expect("valid"),
            ),
            cache_hits: counter_vec("cache_hits_total", "Cache hits, by tier.", &["tier"]),
            cache_misses: counter_vec("cache_misses_total", "Cache misses, by tier.", &["tier"]),
            cache_evictions: counter_vec(
                "cache_evictions_total",
                "Entries evicted for size or age, by tier.",
                &["tier"],
            ),
            cache_entries: gauge_vec("cache_entries", "Entries held, by tier.", &["tier"]),
            cache_bytes: gauge_vec(
                "cache_weighted_size",
                "Size held, by tier (bytes, or entries for the objects tier).",
                &["tier"],
            ),
            index_bytes: gauge_vec(
                "index_size_bytes",
                "Bytes on disk per tenant and part (graph, text, vectors).",
                &["tenant", "part"],
            ),
            rocksdb: gauge_vec(
                "rocksdb_property",
                "RocksDB properties per tenant and column family.",
                &["tenant", "cf", "property"],
            ),
            queue_capacity: gauge("jobs_queue_capacity", "Analysis jobs the queue holds."),
            shared_cache_errors: register(
                &r,
                prometheus::IntCounter::new(
                    "cache_shared_errors_total",
                    "Calls to the shared cache tier (Redis) that failed or timed out.",
                )
                .expect("valid metric"),
            ),
            registry: r,
            process,
        }
    }

    pub fn tier(&self, name: &str) -> TierCounters {
        TierCounters {
            hits: self.cache_hits.with_label_values(&[name]),
            misses: self.cache_misses.with_label_values(&[name]),
            evictions: self.cache_evictions.with_label_values(&[name]),
        }
    }

    pub fn render(&self) -> String {
        let mut out = Vec::new();
        let mut families = self.registry.gather();
        families.extend(self.process.gather());
        TextEncoder::new()
            .encode(&families, &mut out)
            .expect("text encoding does not fail");
        String::from_utf8(out).expect("the text format is UTF-8")
    }
}

/// The cgroup v2 memory limit, else v1's, else the machine's memory; 0 if none is known.
fn memory_limit() -> u64 {
    let read = |p: &str| std::fs::read_to_string(p).ok();
    let cgroup = read("/sys/fs/cgroup/memory.max")
        .or_else(|| read("/sys/fs/cgroup/memory/memory.limit_in_bytes"))
        .and_then(|s| s.trim().parse::<u64>().ok());
    let machine = read("/proc/meminfo").and_then(|m| {
        m.lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
    });
    match (cgroup, machine) {
        // v1 reports "no limit" as a huge number.
        (Some(c), Some(m)) => c.min(m),
        (Some(c), None) => c,
        (None, Some(m)) => m,
        (None, None) => 0,
    }
}
