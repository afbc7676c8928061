//! Embedding throughput of the local model, in definitions per second:
//!
//!     CODEGRAPH_MODEL_DIR=... cargo bench --bench embed_throughput \
//!         [-- DIR] [--max-tokens N] [--precision f32|int8]
//!
//! Embeds one document per definition of the source files under DIR (default: the
//! extraction fixtures), cut as indexing cuts them (`text_documents`: name, signature,
//! doc and body, the body at most 4 KiB; the model truncates to its own limit), on all
//! cores, and prints one JSON line. The model is loaded (and quantised) before the
//! clock starts; its load time is reported apart. Without a model it says so and does
//! nothing.

use std::time::Instant;

// The allocator the `codegraph` binary uses (with glibc's, the encoder's large
// per-input buffers are mmap-ed and unmapped each time).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use codegraph::core::Embedder;
use codegraph::parse::source::DirectorySource;
use codegraph::parse::{ExtractOptions, FileOutcome, Pipeline, PipelineStats};
use codegraph::vector::{
    BertEmbedder, DocumentOptions, EmbedderOptions, Precision, embedding_text, text_documents,
};

fn main() {
    let Some(model_dir) = std::env::var_os("CODEGRAPH_MODEL_DIR") else {
        eprintln!("embed_throughput: set CODEGRAPH_MODEL_DIR to a sentence-transformer directory");
        return;
    };
    let dir = std::env::args()
        .skip(1)
        .find(|a| {
            !a.starts_with("--") && a.parse::<usize>().is_err() && Precision::parse(a).is_none()
        })
        .unwrap_or_else(|| {
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/codegraph-parse/tests/fixtures"
            )
            .to_string()
        });
    let filter = codegraph::parse::filter::Filter::new(Default::default()).unwrap();
    let pipeline = Pipeline::new(filter, ExtractOptions::default());
    let docs = std::sync::Mutex::new(Vec::new());
    let mut source = DirectorySource::new(std::path::Path::new(&dir)).unwrap();
    pipeline
        .run(&mut source, &PipelineStats::default(), &|outcome| {
            if let FileOutcome::Parsed(file, bytes) = outcome {
                let d = text_documents(&file, &bytes, &DocumentOptions::default());
                docs.lock().unwrap().extend(d);
            }
        })
        .unwrap();
    let docs = docs.into_inner().unwrap();
    let texts: Vec<String> = docs.iter().map(embedding_text).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let args: Vec<String> = std::env::args().collect();
    let max_tokens = args
        .iter()
        .position(|a| a == "--max-tokens")
        .and_then(|i| args.get(i + 1)?.parse().ok());
    let precision = args.iter().position(|a| a == "--precision").map(|i| {
        args.get(i + 1)
            .and_then(|p| Precision::parse(p))
            .expect("--precision f32|int8")
    });
    let options = EmbedderOptions {
        max_tokens,
        precision,
    };
    let loading = Instant::now();
    let model = BertEmbedder::load(std::path::Path::new(&model_dir), &options).unwrap();
    model.prepare().unwrap();
    let load_seconds = loading.elapsed().as_secs_f64();
    let started = Instant::now();
    let vectors = model.embed_documents(&refs).unwrap();
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(vectors.len(), refs.len());
    println!(
        "{}",
        serde_json::json!({
            "bench": "embed_throughput", "model": model.model_id(), "max_tokens": max_tokens,
            "precision": model.precision().name(),
            "load_seconds": (load_seconds * 1000.0).round() / 1000.0,
            "definitions": refs.len(), "seconds": (seconds * 1000.0).round() / 1000.0,
            "definitions_per_second": (refs.len() as f64 / seconds).round(),
        })
    );
}
