//! Parse-and-extract throughput per language, in bytes per second.
//!
//! By default it measures the hand-written fixtures in `codegraph-parse/tests/fixtures`
//! (small, always present). Point `CODEGRAPH_BENCH_CORPUS` at the corpus fetched by
//! `scripts/fetch-corpus.sh` to measure real code: each language then uses up to 2 MB
//! of its files.
//!
//!     cargo bench --bench parse_throughput
//!     CODEGRAPH_BENCH_CORPUS=~/.cache/codegraph/corpus cargo bench --bench parse_throughput

use std::path::{Path, PathBuf};
use std::time::Duration;

use codegraph::core::Language;
use codegraph::parse::extract::{extract, parse_tree};
use codegraph::parse::{ExtractOptions, language};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const CORPUS_BYTES_PER_LANGUAGE: usize = 2 << 20;

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// `(path, bytes)` of the inputs for one language.
fn inputs(language: Language) -> Vec<(String, Vec<u8>)> {
    let (root, budget) = match std::env::var_os("CODEGRAPH_BENCH_CORPUS") {
        Some(dir) => {
            let dir = PathBuf::from(dir).join(match language.family() {
                Language::TypeScript => "typescript",
                other => other.as_str(),
            });
            (dir, CORPUS_BYTES_PER_LANGUAGE)
        }
        None => (
            Path::new(env!("CARGO_MANIFEST_DIR")).join("codegraph-parse/tests/fixtures"),
            usize::MAX,
        ),
    };
    let mut paths = Vec::new();
    files_under(&root, &mut paths);
    let mut total = 0;
    let mut out = Vec::new();
    for path in paths {
        let rel = path
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if language::detect(&rel, b"") != Some(language) {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        // Keep the measurement about ordinary code: skip huge generated files.
        if bytes.len() > 512 * 1024 {
            continue;
        }
        total += bytes.len();
        out.push((rel, bytes));
        if total >= budget {
            break;
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse_extract");
    for &language in Language::ALL {
        let files = inputs(language);
        if files.is_empty() {
            continue;
        }
        let bytes: usize = files.iter().map(|(_, b)| b.len()).sum();
        group.throughput(Throughput::Bytes(bytes as u64));
        // The grammar alone, without queries or extraction: what tree-sitter's parser
        // costs of the rest.
        group.bench_function(format!("{}/parse", language.as_str()), |b| {
            b.iter(|| {
                let mut nodes = 0;
                for (_, source) in &files {
                    let tree = parse_tree(language, source, Duration::from_secs(10)).unwrap();
                    nodes += tree.root_node().descendant_count();
                }
                nodes
            })
        });
        // "definitions" is what `codegraph symbols` does by default; "full" what
        // indexing needs.
        for (name, references) in [("definitions", false), ("full", true)] {
            let options = ExtractOptions {
                references,
                docs: references,
                ..ExtractOptions::default()
            };
            group.bench_function(format!("{}/{name}", language.as_str()), |b| {
                b.iter(|| {
                    let mut definitions = 0;
                    for (path, source) in &files {
                        let parsed = extract(language, path, source, &options).unwrap();
                        definitions += parsed.nodes.len();
                    }
                    definitions
                })
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
