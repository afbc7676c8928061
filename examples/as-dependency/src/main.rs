//! Index a directory with the full-text index and embeddings and run a hybrid search,
//! through `codegraph::Db` alone.
//!
//!     CODEGRAPH_MODEL_DIR=path/to/all-MiniLM-L6-v2 cargo run -- DIR QUERY EXPECTED_NAME
//!
//! Exits non-zero unless the search was hybrid and EXPECTED_NAME is among the results.

use std::process::ExitCode;

use codegraph::{Cancel, Db, DbOptions, EmbedderConfig, IndexConfig, Input, Mode, Progress};
use codegraph::SearchRequest;

fn main() -> Result<ExitCode, Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, query, expected] = args.as_slice() else {
        eprintln!("usage: codegraph-as-dependency DIR QUERY EXPECTED_NAME");
        return Ok(ExitCode::from(2));
    };
    let Some(model) = std::env::var_os("CODEGRAPH_MODEL_DIR") else {
        eprintln!("set CODEGRAPH_MODEL_DIR to a sentence-transformer directory");
        return Ok(ExitCode::from(2));
    };
    let store = std::env::temp_dir().join(format!("codegraph-as-dependency-{}", std::process::id()));
    let options = DbOptions {
        embedder: Some(EmbedderConfig::local(model).load(true)?),
        ..DbOptions::default()
    };
    let db = Db::open(&store, options)?;
    let report = db.index("demo", Input::directory(dir), &IndexConfig::default(),
                          &Progress::default(), &Cancel::new())?;
    println!("{}", serde_json::to_string(&report)?);
    let found = db.search("demo", &SearchRequest::new(query.as_str()))?;
    for hit in &found.results {
        println!("{:>7.3}  {}:{}  {} {}", hit.score, hit.path, hit.line, hit.kind, hit.qualified_name);
    }
    drop(db);
    let _ = std::fs::remove_dir_all(&store);
    let embedded = report.embeddings.is_some_and(|e| e.vectors > 0);
    let hybrid = found.mode == Mode::Hybrid;
    let hit = found.results.iter().any(|h| h.name == *expected);
    if embedded && hybrid && hit {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("embedded: {embedded}, hybrid: {hybrid}, {expected} found: {hit}");
        Ok(ExitCode::FAILURE)
    }
}
