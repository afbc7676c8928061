//! Embeddings from an HTTP API (OpenAI, Ollama, TEI: anything with OpenAI's
//! `POST /embeddings`), then a semantic search.
//!
//!     ollama pull nomic-embed-text
//!     cargo run --example http_embedder -- http://localhost:11434/v1 nomic-embed-text DIR "query"
//!
//! The key, if the API needs one, comes from CODEGRAPH_EMBED_API_KEY. Vectors are
//! cached by text in the store, so a second run sends only what changed.

use codegraph::SearchRequest;
use codegraph::{Cancel, Db, DbOptions, EmbedderConfig, IndexConfig, Input, Mode, Progress};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, model, dir, query] = args.as_slice() else {
        eprintln!("usage: http_embedder URL MODEL DIR QUERY (see the comment at the top)");
        return Ok(());
    };
    let embedder = EmbedderConfig::Http {
        url: url.clone(),
        model: model.clone(),
        api_key: std::env::var("CODEGRAPH_EMBED_API_KEY").ok(),
    }
    .load(false)?;
    let store = std::env::temp_dir().join("codegraph-http-embedder-example");
    let options = DbOptions {
        embedder: Some(embedder),
        ..DbOptions::default()
    };
    let db = Db::open(&store, options)?;
    let report = db.index(
        "example",
        Input::directory(dir),
        &IndexConfig::default(),
        &Progress::default(),
        &Cancel::new(),
    )?;
    if let Some(e) = &report.embeddings {
        println!(
            "{} vectors ({} embedded now, {} from the cache)",
            e.vectors, e.embedded, e.cached
        );
    }
    let found = db.search("example", &SearchRequest::new(query).mode(Mode::Semantic))?;
    for hit in &found.results {
        println!(
            "{:>6.3}  {}:{}  {}",
            hit.score, hit.path, hit.line, hit.qualified_name
        );
    }
    Ok(())
}
