//! Graph benchmarks: full indexing throughput, one-file incremental updates, query
//! latency percentiles and disk use, printed as one JSON line each.
//!
//!     CODEGRAPH_BENCH_REPO=~/.cache/codegraph/corpus/rust/tokio-1.54.1 \
//!         cargo bench --bench graph
//!
//! Without `CODEGRAPH_BENCH_REPO` it runs on the hand-written parse fixtures, which
//! only checks that it works. Unless `cargo bench` starts it, or with `--test` (as
//! `cargo bench -- --test` passes), it runs once on the fixtures with few samples. The repository is copied to a temporary directory
//! first, since the incremental step edits a file. Whole-process timings of the
//! `codegraph` binary are taken by `scripts/bench-graph.sh`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use codegraph::core::{Budget, Direction, GraphStore, NodeKind};
use codegraph::parse::filter::{Filter, FilterConfig};
use codegraph::parse::source::DirectorySource;
use codegraph::parse::{ExtractOptions, Pipeline};
use codegraph::store::{IndexOptions, IndexProgress, IndexReport, RocksStore, index, query};

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let ty = entry.file_type()?;
        let dst = to.join(entry.file_name());
        if ty.is_dir() {
            copy_tree(&entry.path(), &dst)?;
        } else if ty.is_file() {
            std::fs::copy(entry.path(), &dst)?;
        }
    }
    Ok(())
}

fn run_index(store: &RocksStore, dir: &Path) -> IndexReport {
    let mut source = DirectorySource::new(dir).expect("readable directory");
    let pipeline = Pipeline::new(
        Filter::new(FilterConfig::default()).unwrap(),
        ExtractOptions::default(),
    );
    index(
        store,
        "bench",
        &mut source,
        pipeline,
        &IndexOptions::default(),
        &IndexProgress::default(),
    )
    .expect("indexing succeeds")
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i].as_secs_f64() * 1e6
}

fn main() {
    // One quick pass unless `cargo bench` started it (it passes `--bench`), as criterion
    // decides: `cargo bench -- --test` and `cargo test --benches` (CI) only check it works.
    let args: Vec<String> = std::env::args().collect();
    let test_mode = args.iter().any(|a| a == "--test") || !args.iter().any(|a| a == "--bench");
    let repo: PathBuf = match std::env::var_os("CODEGRAPH_BENCH_REPO") {
        Some(p) if !test_mode => p.into(),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("codegraph-parse/tests/fixtures"),
    };
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("repo");
    copy_tree(&repo, &work).expect("copy the repository");
    let db_dir = tmp.path().join("db");
    let store = RocksStore::open(&db_dir).unwrap();

    // Full index.
    let started = Instant::now();
    let report = run_index(&store, &work);
    let full = started.elapsed().as_secs_f64();
    store.flush().unwrap();
    let disk = dir_size(&db_dir);
    println!(
        "{}",
        serde_json::json!({
            "bench": "full_index",
            "repo": repo.display().to_string(),
            "files": report.parsed,
            "lines": report.lines,
            "edges": report.edges_written,
            "seconds": full,
            "parse_seconds": report.parse_time.as_secs_f64(),
            "loc_per_second": report.lines as f64 / full,
            "disk_bytes": disk,
            "disk_bytes_per_kloc": disk as f64 / (report.lines as f64 / 1000.0),
        })
    );

    // Query latency over every callable definition (up to a sample).
    let mut callables = Vec::new();
    for record in store.files("bench").unwrap() {
        for id in &record.node_ids {
            if let Some(node) = store.node("bench", *id).unwrap()
                && matches!(node.kind, NodeKind::Function | NodeKind::Method)
            {
                callables.push(node.id);
            }
        }
    }
    // A fixed stride keeps the sample spread over the repository and repeatable.
    let sample = if test_mode { 50 } else { 5000 };
    let stride = (callables.len() / sample).max(1);
    let chosen: Vec<_> = callables
        .iter()
        .step_by(stride)
        .take(sample)
        .copied()
        .collect();
    let mut callers_t = Vec::with_capacity(chosen.len());
    let mut impact_t = Vec::with_capacity(chosen.len());
    let mut found = 0usize;
    let all = Budget::unlimited();
    for round in 0..2 {
        for id in &chosen {
            let t = Instant::now();
            let callers = query::calls(&store, "bench", *id, Direction::Incoming, &all).unwrap();
            let c = t.elapsed();
            let t = Instant::now();
            let reached = query::impact(&store, "bench", *id, 2, false, &all).unwrap();
            let i = t.elapsed();
            // The first round warms the block cache; the second is measured.
            if round == 1 {
                found += callers.len() + reached.len();
                callers_t.push(c);
                impact_t.push(i);
            }
        }
    }
    callers_t.sort();
    impact_t.sort();
    println!(
        "{}",
        serde_json::json!({
            "bench": "queries",
            "symbols": chosen.len(),
            "results": found,
            "callers_p50_us": percentile(&callers_t, 0.5),
            "callers_p99_us": percentile(&callers_t, 0.99),
            "impact2_p50_us": percentile(&impact_t, 0.5),
            "impact2_p99_us": percentile(&impact_t, 0.99),
        })
    );

    // One-file incremental update, in process: append a function to a file in the
    // middle of the repository, index, and take it out again.
    let files = store.files("bench").unwrap();
    if let Some(record) = files.get(files.len() / 2) {
        let path = work.join(&record.path);
        let original = std::fs::read(&path).unwrap();
        let mut times = Vec::new();
        let rounds = if test_mode { 2 } else { 10 };
        let mut resolved = 0;
        for i in 0..rounds {
            let mut edited = original.clone();
            let comment = if record.path.ends_with(".py") {
                "#"
            } else {
                "//"
            };
            edited.extend_from_slice(format!("\n{comment} edit {i}\n").as_bytes());
            std::fs::write(&path, &edited).unwrap();
            let t = Instant::now();
            let r = run_index(&store, &work);
            times.push(t.elapsed());
            resolved = r.resolved;
            assert_eq!(r.parsed, 1, "one file changed");
        }
        std::fs::write(&path, &original).unwrap();
        times.sort();
        println!(
            "{}",
            serde_json::json!({
                "bench": "incremental_one_file",
                "file": record.path,
                "files_resolved": resolved,
                "p50_ms": percentile(&times, 0.5) / 1000.0,
                "max_ms": times.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
            })
        );
    }
}
