//! `codegraph search`: the engine's search, printed.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use codegraph::{Fusion, HybridWeights, Language, Mode, NodeKind, SearchRequest, Strategy};

use super::graph::DbArgs;
use crate::options::ModelArgs;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SearchFormat {
    Text,
    Jsonl,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    #[command(flatten)]
    pub db: DbArgs,

    /// What to search with: `text` (BM25 over names, qualified names, signatures, docs
    /// and bodies), `semantic` (nearest neighbours of the query's embedding) or
    /// `hybrid` (both fused, re-ranked with graph context).
    #[arg(long, value_parser = crate::options::mode(), default_value = "hybrid")]
    pub mode: Mode,

    /// Results per query.
    #[arg(long, short = 'k', default_value_t = 10)]
    pub limit: usize,

    #[arg(long, value_enum, default_value_t = SearchFormat::Text)]
    pub format: SearchFormat,

    /// Only definitions in these languages (repeatable).
    #[arg(long = "lang")]
    pub languages: Vec<Language>,

    /// Only definitions of these kinds (repeatable): function, method, class, ...
    #[arg(long = "kind")]
    pub kinds: Vec<NodeKind>,

    /// Only definitions in files matching this glob, such as `src/**/*.rs`.
    #[arg(long = "path")]
    pub path_glob: Option<String>,

    /// Read one query per line from this file (`-` for standard input); with
    /// `--format jsonl` each prints one line, in order.
    #[arg(long, conflicts_with = "query")]
    pub queries_file: Option<PathBuf>,

    #[command(flatten)]
    pub model: ModelArgs,

    /// Which vector index answers semantic queries: `exact` (every vector),
    /// `balanced` (HNSW with a wide beam where the project keeps one), `fast` (a narrow
    /// beam) or `compact` (8-bit codes in memory, re-ranked from the vectors on disk).
    #[arg(long, value_parser = crate::options::strategy(), default_value = "balanced")]
    pub strategy: Strategy,

    /// Hybrid: boost results in this file or directory, or near this symbol in the
    /// graph (a qualified name): what a caller already looks at.
    #[arg(long, value_name = "PATH|SYMBOL")]
    pub near: Option<String>,

    /// Hybrid: how the text and vector lists are combined: `scores` (a weighted sum,
    /// BM25 divided by its best), `rrf` (ranks only) or `min-max` (each list scaled
    /// to [0, 1]; for a model tuned for code).
    #[arg(long, value_parser = crate::options::fusion(), default_value = "scores")]
    pub fusion: Fusion,

    /// Hybrid fusion weights TEXT,SEMANTIC,GRAPH[,K] (K: rank fusion only), for
    /// evaluations; the defaults (0.2,0.8,0 for scores; 0.1,0.9,0 for min-max;
    /// 1,1.5,0,20 for rrf) are the measured best (docs/PERFORMANCE.md).
    #[arg(long, value_name = "T,S,G[,K]")]
    pub weights: Option<String>,

    /// The query.
    #[arg(required_unless_present = "queries_file")]
    pub query: Option<String>,
}

pub fn search(args: SearchArgs) -> anyhow::Result<ExitCode> {
    let embedder = match args.mode {
        Mode::Text => None,
        Mode::Semantic | Mode::Hybrid => args.model.load(false)?,
    };
    let db = args.db.open_existing(embedder)?;
    let project = args.db.project_of(&db)?;
    let weights = match &args.weights {
        Some(w) => HybridWeights::parse(args.fusion, w).context("--weights")?,
        None => HybridWeights::defaults(args.fusion),
    };
    let request = |query: &str| SearchRequest {
        query: query.to_string(),
        mode: args.mode,
        limit: args.limit,
        languages: args.languages.clone(),
        kinds: args.kinds.clone(),
        path_glob: args.path_glob.clone(),
        strategy: args.strategy,
        weights,
        near: args.near.clone(),
    };
    let queries: Vec<String> = match (&args.query, &args.queries_file) {
        (Some(q), _) => vec![q.clone()],
        (None, Some(path)) => read_queries(path)?,
        (None, None) => unreachable!("clap requires one of them"),
    };
    let mut out = std::io::stdout().lock();
    let mut noted = false;
    for q in &queries {
        let found = db
            .search(&project, &request(q))
            .with_context(|| format!("searching for {q:?}"))?;
        if !noted {
            for note in &found.notes {
                eprintln!("codegraph: {note}");
            }
            noted = true;
        }
        match args.format {
            SearchFormat::Jsonl => {
                serde_json::to_writer(
                    &mut out,
                    &serde_json::json!({ "query": q, "results": found.results }),
                )?;
                out.write_all(b"\n")?;
            }
            SearchFormat::Text => {
                if queries.len() > 1 {
                    writeln!(out, "# {q}")?;
                }
                for h in &found.results {
                    writeln!(
                        out,
                        "{:>8.4}  {}:{}  {} {}",
                        h.score, h.path, h.line, h.kind, h.qualified_name
                    )?;
                }
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn read_queries(path: &Path) -> anyhow::Result<Vec<String>> {
    let reader: Box<dyn BufRead> = if path == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::io::BufReader::new(
            std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?,
        ))
    };
    let mut out = Vec::new();
    for line in reader.lines() {
        let line = line.with_context(|| format!("reading {}", path.display()))?;
        out.push(line.trim_end_matches('\r').to_string());
    }
    Ok(out)
}
