//! Recall and speed of the vector indexes, one JSON line per configuration:
//!
//!     cargo bench --bench vector_recall -- --n 100000 --dim 384 [--k 10] [--queries 1000]
//!
//! Data: `--clusters` (default 100) centres drawn uniformly from [-0.5, 0.5)^dim with
//! splitmix64 (seed 42), each vector a centre plus uniform noise of width 0.6 in
//! every coordinate, L2-normalised; queries are drawn the same way with seed 43.
//! Ground truth is exact inner-product search ([`FlatIndex`]); recall@k is the share
//! of the true top k found. Queries run one at a time on one thread, so QPS is
//! single-query latency inverted. `bytes_per_vector` is what the index holds in
//! memory divided by n.
//!
//! `sq8:rerankR` is [`Sq8Index`]: 8-bit codes in memory, the best `k * R` by code
//! re-ranked with full vectors read from the saved flat file (the page cache holds
//! that file here, so QPS is the in-memory case).
//!
//! `--backends faiss,sq8,hnsw` runs only those families (exact search always runs: it is
//! the ground truth).
//!
//! With `--features faiss` it adds FAISS rows (index factory strings, inner product):
//! Flat, HNSW32, IVF (nlist = 4 sqrt(n)) with Flat and PQ48 codes, each at several
//! search-time settings; their `bytes_per_vector` is FAISS's serialised size over n.

use std::time::Instant;

use codegraph::core::{NodeId, VectorIndex};
use codegraph::vector::{FlatIndex, HnswIndex, HnswParams, Sq8Index};

/// Runs every query through a search and returns (recall@k, queries per second).
type RecallOf<'a> = dyn Fn(&dyn Fn(&[f32]) -> Vec<NodeId>) -> (f64, f64) + 'a;

struct Args {
    n: usize,
    dim: usize,
    k: usize,
    queries: usize,
    clusters: usize,
    /// Which families to run besides the exact reference (`--backends faiss,sq8,hnsw`).
    backends: Vec<String>,
}

impl Args {
    fn runs(&self, family: &str) -> bool {
        self.backends.is_empty() || self.backends.iter().any(|b| b == family)
    }
}

fn args() -> Args {
    let mut a = Args {
        n: 100_000,
        dim: 384,
        k: 10,
        queries: 1000,
        clusters: 100,
        backends: Vec::new(),
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    // A quick pass unless `cargo bench` started it (it passes `--bench`), as criterion
    // decides: `cargo bench -- --test` and `cargo test --benches` (CI) only check it works.
    if argv.iter().any(|s| s == "--test") || !argv.iter().any(|s| s == "--bench") {
        a.n = 2000;
        a.dim = 32;
        a.queries = 50;
    }
    let mut it = argv.iter();
    while let Some(flag) = it.next() {
        let mut value = |name: &str| -> usize {
            it.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name} needs a number"))
        };
        match flag.as_str() {
            "--n" => a.n = value("--n"),
            "--dim" => a.dim = value("--dim"),
            "--k" => a.k = value("--k"),
            "--queries" => a.queries = value("--queries"),
            "--clusters" => a.clusters = value("--clusters"),
            "--backends" => {
                a.backends = it
                    .next()
                    .map(|v| v.split(',').map(str::to_string).collect())
                    .unwrap_or_default()
            }
            _ => {}
        }
    }
    a
}

struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    }
}

fn clustered(n: usize, dim: usize, clusters: usize, seed: u64) -> Vec<f32> {
    let mut centres_rng = SplitMix(42);
    let centres: Vec<f32> = (0..clusters * dim).map(|_| centres_rng.next()).collect();
    let mut rng = SplitMix(seed);
    let mut out = Vec::with_capacity(n * dim);
    for _ in 0..n {
        let c = (rng.next() + 0.5) * clusters as f32;
        let c = (c as usize).min(clusters - 1);
        let centre = &centres[c * dim..(c + 1) * dim];
        let v: Vec<f32> = centre.iter().map(|x| x + 1.2 * rng.next()).collect();
        let norm = v
            .iter()
            .map(|x| x * x)
            .sum::<f32>()
            .sqrt()
            .max(f32::MIN_POSITIVE);
        out.extend(v.iter().map(|x| x / norm));
    }
    out
}

fn report(a: &Args, backend: &str, recall: f64, qps: f64, bytes: usize, build: f64) {
    println!(
        "{}",
        serde_json::json!({
            "backend": backend, "n": a.n, "dim": a.dim, "k": a.k,
            "recall": (recall * 10000.0).round() / 10000.0,
            "qps": qps.round(),
            "bytes_per_vector": (bytes as f64 / a.n as f64).round(),
            "build_seconds": (build * 1000.0).round() / 1000.0,
        })
    );
}

fn main() {
    let a = args();
    let data = clustered(a.n, a.dim, a.clusters, 7);
    let queries = clustered(a.queries, a.dim, a.clusters, 43);
    let ids: Vec<NodeId> = (0..a.n as u64).map(NodeId).collect();

    let started = Instant::now();
    let mut flat = FlatIndex::new(a.dim).unwrap();
    flat.upsert(&ids, &data).unwrap();
    let build = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let truth: Vec<Vec<NodeId>> = queries
        .chunks_exact(a.dim)
        .map(|q| flat.search(q, a.k).unwrap().iter().map(|h| h.id).collect())
        .collect();
    let qps = a.queries as f64 / started.elapsed().as_secs_f64();
    report(&a, "flat", 1.0, qps, a.n * (a.dim * 4 + 8), build);

    let recall_of = |search: &dyn Fn(&[f32]) -> Vec<NodeId>| -> (f64, f64) {
        let started = Instant::now();
        let mut found = 0;
        for (q, want) in queries.chunks_exact(a.dim).zip(&truth) {
            found += search(q).iter().filter(|id| want.contains(id)).count();
        }
        let qps = a.queries as f64 / started.elapsed().as_secs_f64();
        (found as f64 / (a.queries * a.k) as f64, qps)
    };
    #[cfg(feature = "faiss")]
    if a.runs("faiss") {
        faiss_rows(&a, &ids, &data, &recall_of);
    }

    if a.runs("sq8") {
        sq8_rows(&a, &flat, &recall_of);
    }
    if !a.runs("hnsw") {
        return;
    }

    for (m, ef_construction) in [(16, 200)] {
        let params = HnswParams {
            m,
            ef_construction,
            ..HnswParams::default()
        };
        let started = Instant::now();
        let mut hnsw = HnswIndex::new(a.dim, params).unwrap();
        hnsw.upsert(&ids, &data).unwrap();
        let build = started.elapsed().as_secs_f64();
        for ef in [16, 32, 64, 128, 256] {
            hnsw.set_ef_search(ef);
            let started = Instant::now();
            let mut found = 0;
            for (q, want) in queries.chunks_exact(a.dim).zip(&truth) {
                let got = hnsw.search(q, a.k).unwrap();
                found += got.iter().filter(|h| want.contains(&h.id)).count();
            }
            let qps = a.queries as f64 / started.elapsed().as_secs_f64();
            let recall = found as f64 / (a.queries * a.k) as f64;
            report(
                &a,
                &format!("hnsw:M{m},efC{ef_construction},ef{ef}"),
                recall,
                qps,
                hnsw.memory_bytes(),
                build,
            );
        }
    }
}

#[cfg(feature = "faiss")]
fn faiss_rows(a: &Args, ids: &[NodeId], data: &[f32], recall_of: &RecallOf) {
    use codegraph::vector::FaissIndex;
    let nlist = ((a.n as f64).sqrt() * 4.0) as usize;
    let configs: Vec<(String, &str, Vec<f64>)> = vec![
        ("Flat".into(), "", vec![0.0]),
        (
            "HNSW32".into(),
            "efSearch",
            vec![16.0, 32.0, 64.0, 128.0, 256.0],
        ),
        (
            format!("IVF{nlist},Flat"),
            "nprobe",
            vec![4.0, 8.0, 16.0, 32.0, 64.0],
        ),
        // Eight dimensions per sub-quantizer: PQ48 at 384.
        (
            format!("IVF{nlist},PQ{}", (a.dim / 8).max(1)),
            "nprobe",
            vec![8.0, 32.0, 128.0],
        ),
    ];
    for (description, param, values) in configs {
        let started = Instant::now();
        let mut index = FaissIndex::new(a.dim, &description).unwrap();
        index.upsert(ids, data).unwrap();
        let build = started.elapsed().as_secs_f64();
        let bytes = index.serialized_bytes().unwrap() as usize;
        for value in values {
            let mut name = format!("faiss:{description}");
            if !param.is_empty() {
                index.set_parameter(param, value).unwrap();
                name.push_str(&format!(",{param}{value}"));
            }
            let (recall, qps) =
                recall_of(&|q| index.search(q, a.k).unwrap().iter().map(|h| h.id).collect());
            report(a, &name, recall, qps, bytes, build);
        }
    }
}

/// 8-bit codes in memory, the full vectors read back from the saved flat file.
fn sq8_rows(a: &Args, flat: &FlatIndex, recall_of: &RecallOf) {
    let dir = tempfile::tempdir().unwrap();
    flat.save(dir.path()).unwrap();
    let started = Instant::now();
    let mut sq8 = Sq8Index::build(dir.path()).unwrap();
    let build = started.elapsed().as_secs_f64();
    for rerank in [1, 4, 10] {
        sq8.set_rerank(rerank);
        let (recall, qps) =
            recall_of(&|q| sq8.search(q, a.k).unwrap().iter().map(|h| h.id).collect());
        report(
            a,
            &format!("sq8:rerank{rerank}"),
            recall,
            qps,
            sq8.memory_bytes(),
            build,
        );
    }
}
