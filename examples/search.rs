//! Index a directory (graph, full text, embeddings) and search it, hybrid.
//!
//!     CODEGRAPH_MODEL_DIR=path/to/all-MiniLM-L6-v2 cargo run --example search -- DIR "query"
//!
//! Without a model the search is BM25 alone, and the answer says so.
use codegraph::{Cancel, Db, DbOptions, EmbedderConfig, IndexConfig, Input, Progress};
use codegraph::{SearchRequest, SearchResults};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (dir, query) = (
        args.first().map_or(".", |s| s),
        args.get(1).map_or("parse a file", |s| s),
    );
    let embedder = match std::env::var_os("CODEGRAPH_MODEL_DIR") {
        Some(model) => Some(EmbedderConfig::local(model).load(false)?),
        None => None,
    };
    let store = tempfile::tempdir()?;
    let db = Db::open(
        store.path(),
        DbOptions {
            embedder,
            ..DbOptions::default()
        },
    )?;
    let (config, progress) = (IndexConfig::default(), Progress::default());
    let report = db.index(
        "demo",
        Input::directory(dir),
        &config,
        &progress,
        &Cancel::new(),
    )?;
    println!(
        "{} files, {} lines indexed in {:.2} s",
        report.parsed, report.lines, report.seconds
    );
    let found: SearchResults = db.search("demo", &SearchRequest::new(query))?;
    println!(
        "{} search {query:?}: {}",
        found.mode,
        found.notes.join("; ")
    );
    for hit in &found.results {
        println!(
            "{:>7.3}  {}:{}  {} {}",
            hit.score, hit.path, hit.line, hit.kind, hit.qualified_name
        );
    }
    Ok(())
}
