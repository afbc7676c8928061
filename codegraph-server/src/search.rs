//! `codegraph search`, and the full-text index kept in step with the graph by
//! `codegraph index`.
//!
//! The text index lives in `<db>/text/`, beside the RocksDB files of the graph (RocksDB
//! ignores names it does not own).

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use codegraph_core::{
    GraphStore, Language, NodeKind, ParsedFile, Result, ScoredNode, TextIndex, TextQuery,
};
use codegraph_store::{Companion, RocksStore};
use codegraph_vector::{DocumentOptions, TantivyText, text_documents};
use serde::Serialize;

use crate::graph::DbArgs;

/// Where a store's full-text index lives.
pub fn text_dir(db: &Path) -> PathBuf {
    db.join("text")
}

/// Keeps the full-text index in step with the graph during `codegraph index`.
pub struct TextCompanion {
    pub text: TantivyText,
    pub options: DocumentOptions,
}

impl Companion for TextCompanion {
    fn held(&self, project: &str) -> Result<HashMap<String, u64>> {
        self.text.file_hashes(project)
    }

    fn parsed(&self, project: &str, file: &ParsedFile, bytes: &[u8]) -> Result<()> {
        let docs = text_documents(file, bytes, &self.options);
        self.text
            .replace_file(project, &file.path, file.content_hash, &docs)
    }

    fn removed(&self, project: &str, path: &str) -> Result<()> {
        self.text.remove_file(project, path)
    }

    fn commit(&self, project: &str) -> Result<()> {
        self.text.commit(project)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// BM25 over names, qualified names, signatures, docs and bodies.
    Text,
    /// Nearest neighbours of the query's embedding.
    Semantic,
    /// Text and semantic results fused, re-ranked with graph context.
    Hybrid,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SearchFormat {
    Text,
    Jsonl,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    #[command(flatten)]
    pub db: DbArgs,

    /// What to search with.
    #[arg(long, value_enum, default_value_t = Mode::Hybrid)]
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

    /// The query.
    #[arg(required_unless_present = "queries_file")]
    pub query: Option<String>,
}

#[derive(Serialize)]
struct Hit {
    path: String,
    line: u32,
    name: String,
    qualified_name: String,
    kind: &'static str,
    score: f32,
}

pub fn search(args: SearchArgs) -> anyhow::Result<ExitCode> {
    let store = args.db.open_existing()?;
    let project = args.db.project_of(&store)?;
    let dir = text_dir(&args.db.db);
    if !dir.exists() {
        bail!(
            "{} has no full-text index; run `codegraph index` again to build it",
            args.db.db.display()
        );
    }
    let text = TantivyText::open(&dir)
        .with_context(|| format!("cannot open the full-text index in {}", dir.display()))?;
    match args.mode {
        Mode::Text => {}
        Mode::Semantic => bail!(
            "semantic search needs an embedding model, and none is configured: the local \
             embedder exists but is not yet wired into `codegraph index`; use --mode text"
        ),
        Mode::Hybrid => eprintln!(
            "codegraph: no embedding model configured; hybrid search falls back to BM25 text search"
        ),
    }
    let queries: Vec<String> = match (&args.query, &args.queries_file) {
        (Some(q), _) => vec![q.clone()],
        (None, Some(path)) => read_queries(path)?,
        (None, None) => unreachable!("clap requires one of them"),
    };
    let mut out = std::io::stdout().lock();
    for q in &queries {
        let query = TextQuery {
            text: q.clone(),
            limit: args.limit,
            languages: args.languages.clone(),
            kinds: args.kinds.clone(),
            path_glob: args.path_glob.clone(),
        };
        let scored = text
            .search(&project, &query)
            .with_context(|| format!("searching for {q:?}"))?;
        let hits = describe(&store, &project, &scored)?;
        match args.format {
            SearchFormat::Jsonl => {
                serde_json::to_writer(
                    &mut out,
                    &serde_json::json!({ "query": q, "results": hits }),
                )?;
                out.write_all(b"\n")?;
            }
            SearchFormat::Text => {
                if queries.len() > 1 {
                    writeln!(out, "# {q}")?;
                }
                for h in &hits {
                    writeln!(
                        out,
                        "{:>8.3}  {}:{}  {} {}",
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

/// Node details for hits; hits whose node is gone (an index older than the graph) are
/// dropped rather than shown wrong.
fn describe(store: &RocksStore, project: &str, scored: &[ScoredNode]) -> anyhow::Result<Vec<Hit>> {
    let ids: Vec<_> = scored.iter().map(|s| s.id).collect();
    let nodes = store.nodes(project, &ids)?;
    Ok(scored
        .iter()
        .zip(nodes)
        .filter_map(|(s, node)| {
            let node = node?;
            Some(Hit {
                path: node.path,
                line: node.span.start_line,
                name: node.name,
                qualified_name: node.qualified_name,
                kind: node.kind.as_str(),
                score: s.score,
            })
        })
        .collect())
}
