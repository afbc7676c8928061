//! `codegraph search`, and the full-text index and embeddings kept in step with the
//! graph by `codegraph index`.
//!
//! The text index lives in `<db>/text/` and the embeddings in `<db>/vectors/`, beside
//! the RocksDB files of the graph (RocksDB ignores names it does not own).

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use codegraph_core::{
    Direction, EdgeKind, Embedder, GraphStore, Language, Node, NodeKind, ParsedFile, Result,
    ScoredNode, TextIndex, TextQuery,
};
use codegraph_store::{Companion, RocksStore};
use codegraph_vector::{
    BertEmbedder, DocumentOptions, EmbedReport, EmbedderOptions, EmbeddingInputs, Precision,
    SearchStrategy, SemanticIndex, SemanticStore, TantivyText, text_documents,
};
use serde::Serialize;

use crate::graph::DbArgs;

/// Where a store's full-text index lives.
pub fn text_dir(db: &Path) -> PathBuf {
    db.join("text")
}

/// Keeps the full-text index in step with the graph during `codegraph index`.
pub struct TextCompanion<'a> {
    pub text: &'a TantivyText,
    pub options: DocumentOptions,
}

impl Companion for TextCompanion<'_> {
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

/// Where a store's embeddings live.
pub fn vectors_dir(db: &Path) -> PathBuf {
    db.join("vectors")
}

/// The embedding model, from the command line or the environment: a local directory,
/// or an OpenAI-compatible HTTP API.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// A sentence-transformer directory in Hugging Face layout (config.json,
    /// tokenizer.json, model.safetensors), such as all-MiniLM-L6-v2.
    #[arg(long, env = "CODEGRAPH_MODEL_DIR", value_name = "DIR")]
    pub model_dir: Option<PathBuf>,

    /// Longest input in tokens: definitions are cut there. Time grows with the
    /// length; 128 retrieved better than the model's own 256 in our evaluation
    /// (docs/PERFORMANCE.md) at half the cost. `0` takes the model's limit.
    #[arg(
        long,
        env = "CODEGRAPH_MAX_TOKENS",
        value_name = "N",
        default_value_t = 128
    )]
    pub max_tokens: usize,

    /// How a local model's linear layers compute: `int8` (8-bit weights and
    /// activations; about 2.7 times as fast where the CPU has AVX-512 VNNI, vectors
    /// within a cosine of 0.99 of f32), `f32`, or `auto`: int8 where the CPU has
    /// VNNI, f32 elsewhere. Vectors of different precisions are never mixed: the
    /// precision is part of the model's id, and a change re-embeds.
    #[arg(
        long,
        env = "CODEGRAPH_EMBED_PRECISION",
        value_name = "P",
        default_value = "auto",
        value_parser = ["auto", "f32", "int8"]
    )]
    pub precision: String,

    /// An OpenAI-compatible embeddings API instead of a local model, such as
    /// `https://api.openai.com/v1` or Ollama's `http://localhost:11434/v1`. The key,
    /// if the API needs one, is read from CODEGRAPH_EMBED_API_KEY.
    #[arg(
        long,
        env = "CODEGRAPH_EMBED_URL",
        value_name = "URL",
        conflicts_with = "model_dir"
    )]
    pub embed_url: Option<String>,

    /// The model the API should use, such as `text-embedding-3-small` or
    /// `nomic-embed-text`.
    #[arg(long, env = "CODEGRAPH_EMBED_MODEL", value_name = "NAME")]
    pub embed_model: Option<String>,
}

impl ModelArgs {
    /// The configured embedder, or `None` when no model is configured. A local model's
    /// weights are read on first use (a re-index with nothing to embed never needs
    /// them); [`ModelArgs::load_now`] reads them at once.
    pub fn load(&self) -> anyhow::Result<Option<Box<dyn Embedder>>> {
        self.open(false)
    }

    /// [`ModelArgs::load`], with a local model's weights read now, so a broken model
    /// fails here (a server checks at start what every request would need).
    pub fn load_now(&self) -> anyhow::Result<Option<Box<dyn Embedder>>> {
        self.open(true)
    }

    fn open(&self, now: bool) -> anyhow::Result<Option<Box<dyn Embedder>>> {
        if self.embed_url.is_none() && self.embed_model.is_some() {
            bail!(
                "--embed-model (or CODEGRAPH_EMBED_MODEL) needs --embed-url (or CODEGRAPH_EMBED_URL)"
            );
        }
        if let Some(url) = &self.embed_url {
            let Some(model) = &self.embed_model else {
                bail!("--embed-url needs --embed-model (or CODEGRAPH_EMBED_MODEL)");
            };
            return http_embedder(url, model);
        }
        let Some(dir) = &self.model_dir else {
            return Ok(None);
        };
        let options = EmbedderOptions {
            max_tokens: (self.max_tokens > 0).then_some(self.max_tokens),
            precision: Precision::parse(&self.precision),
        };
        let model = BertEmbedder::load(dir, &options)
            .with_context(|| format!("cannot load the embedding model in {}", dir.display()))?;
        if now {
            model.prepare()?;
        }
        Ok(Some(Box::new(model)))
    }
}

#[cfg(feature = "http-embedder")]
fn http_embedder(url: &str, model: &str) -> anyhow::Result<Option<Box<dyn Embedder>>> {
    let mut config = codegraph_vector::HttpEmbedderConfig::new(url, model);
    config.api_key = std::env::var("CODEGRAPH_EMBED_API_KEY")
        .ok()
        .filter(|k| !k.is_empty());
    Ok(Some(Box::new(codegraph_vector::HttpEmbedder::new(config)?)))
}

#[cfg(not(feature = "http-embedder"))]
fn http_embedder(url: &str, _model: &str) -> anyhow::Result<Option<Box<dyn Embedder>>> {
    bail!("--embed-url {url}: this codegraph was built without the http-embedder feature")
}

/// How far embedding has got, for the progress bar.
#[derive(Default)]
pub struct EmbedProgress {
    pub total: AtomicU64,
    pub done: AtomicU64,
    /// Set to stop embedding after the batch in hand (the vectors so far are kept in
    /// the cache; the commit fails with `Error::Stopped`).
    pub stop: AtomicBool,
}

/// Keeps a project's embeddings in step with the graph during `codegraph index`: the
/// definitions of each parsed file are staged as it is parsed, and embedded (only
/// those whose text the cache lacks) once the graph is written.
pub struct EmbeddingCompanion<'a> {
    pub root: PathBuf,
    pub embedder: &'a dyn Embedder,
    pub options: DocumentOptions,
    pub progress: &'a EmbedProgress,
    store: Mutex<Option<SemanticStore>>,
    report: Mutex<Option<EmbedReport>>,
}

impl<'a> EmbeddingCompanion<'a> {
    pub fn new(
        root: PathBuf,
        embedder: &'a dyn Embedder,
        options: DocumentOptions,
        progress: &'a EmbedProgress,
    ) -> Self {
        EmbeddingCompanion {
            root,
            embedder,
            options,
            progress,
            store: Mutex::new(None),
            report: Mutex::new(None),
        }
    }

    /// What the last commit did.
    pub fn report(&self) -> Option<EmbedReport> {
        lock(&self.report).clone()
    }

    fn with_store<T>(&self, project: &str, f: impl FnOnce(&mut SemanticStore) -> T) -> Result<T> {
        let mut guard = lock(&self.store);
        if guard.is_none() {
            *guard = Some(SemanticStore::open(&self.root, project, self.embedder)?);
        }
        Ok(f(guard.as_mut().expect("opened above")))
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Companion for EmbeddingCompanion<'_> {
    fn held(&self, project: &str) -> Result<HashMap<String, u64>> {
        self.with_store(project, |s| s.held())
    }

    fn parsed(&self, project: &str, file: &ParsedFile, bytes: &[u8]) -> Result<()> {
        let docs = text_documents(file, bytes, &self.options);
        let inputs = EmbeddingInputs::of(&docs);
        self.with_store(project, |s| {
            s.stage_file(&file.path, file.content_hash, inputs)
        })
    }

    fn removed(&self, project: &str, path: &str) -> Result<()> {
        self.with_store(project, |s| s.remove_file(path))
    }

    fn commit(&self, project: &str) -> Result<()> {
        let report = self.with_store(project, |s| {
            s.commit(self.embedder, &mut |done, total| {
                self.progress.total.store(total as u64, Ordering::Relaxed);
                self.progress.done.store(done as u64, Ordering::Relaxed);
                if self.progress.stop.load(Ordering::Relaxed) {
                    std::ops::ControlFlow::Break(())
                } else {
                    std::ops::ControlFlow::Continue(())
                }
            })
        })??;
        *lock(&self.report) = Some(report);
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Score every vector.
    Exact,
    /// HNSW with a wide beam where the project is large enough to keep one.
    Balanced,
    /// HNSW with a narrow beam.
    Fast,
    /// 8-bit codes in memory, re-ranked from the full vectors on disk.
    Compact,
}

impl From<Strategy> for SearchStrategy {
    fn from(s: Strategy) -> Self {
        match s {
            Strategy::Exact => SearchStrategy::Exact,
            Strategy::Balanced => SearchStrategy::Balanced,
            Strategy::Fast => SearchStrategy::Fast,
            Strategy::Compact => SearchStrategy::Compact,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
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

    #[command(flatten)]
    pub model: ModelArgs,

    /// Which vector index answers semantic queries.
    #[arg(long, value_enum, default_value_t = Strategy::Balanced)]
    pub strategy: Strategy,

    /// Hybrid: boost results in this file or directory, or near this symbol in the
    /// graph (a qualified name): what a caller already looks at.
    #[arg(long, value_name = "PATH|SYMBOL")]
    pub near: Option<String>,

    /// Hybrid: how the text and vector lists are combined.
    #[arg(long, value_enum, default_value_t = Fusion::Scores)]
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

/// One search result, as `--format jsonl` and the server print it.
#[derive(Clone, Debug, Serialize)]
pub struct Hit {
    pub path: String,
    pub line: u32,
    pub name: String,
    pub qualified_name: String,
    pub kind: &'static str,
    pub score: f32,
}

impl Hit {
    fn new(node: Node, score: f32) -> Hit {
        Hit {
            path: node.path,
            line: node.span.start_line,
            name: node.name,
            qualified_name: node.qualified_name,
            kind: node.kind.as_str(),
            score,
        }
    }
}

/// How hybrid search combines its two lists (codegraph_vector::fusion).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fusion {
    /// A weighted sum of scores: BM25 divided by the query's best, cosine as is.
    Scores,
    /// Reciprocal rank fusion: ranks only.
    Rrf,
    /// A weighted sum of scores, each list mapped to [0, 1] between its lowest and its
    /// best; for a model tuned for code (scripts/finetune-embedder.py), whose cosines
    /// are worth more than BM25's.
    MinMax,
}

/// How hybrid search weighs its evidence (docs/PERFORMANCE.md has the measurements
/// behind the defaults).
#[derive(Clone, Copy, Debug)]
pub struct HybridWeights {
    pub fusion: Fusion,
    /// Weight of the BM25 list.
    pub text: f32,
    /// Weight of the vector list.
    pub semantic: f32,
    /// Boost per e-fold of incoming call edges, in boost units (see [`Self::unit`]).
    pub graph: f32,
    /// Boost, in units, for a result in the file, directory or graph neighbourhood
    /// `--near` names.
    pub near: f32,
    /// Reciprocal rank fusion's damping constant: lower favours each list's head.
    pub rrf_k: f32,
}

impl HybridWeights {
    /// The defaults for one fusion. Measured on four Python packages
    /// (docs/PERFORMANCE.md): score fusion at text 0.2, semantic 0.8 is the best of
    /// all tried; for rank fusion, semantic 1.5 and K = 20 beat 1/1/60 on each of them.
    /// Min-max fusion at text 0.1, semantic 0.9 was the best tried with a model tuned
    /// by scripts/finetune-embedder.py, and the only setting that beat the tuned
    /// vectors alone on all five packages. Every graph-centrality boost tried hurt.
    pub fn defaults(fusion: Fusion) -> HybridWeights {
        match fusion {
            Fusion::MinMax => HybridWeights {
                fusion,
                text: 0.1,
                semantic: 0.9,
                graph: 0.0,
                near: 1.0,
                rrf_k: 20.0,
            },
            Fusion::Scores => HybridWeights {
                fusion,
                text: 0.2,
                semantic: 0.8,
                graph: 0.0,
                near: 1.0,
                rrf_k: 20.0,
            },
            Fusion::Rrf => HybridWeights {
                fusion,
                text: 1.0,
                semantic: 1.5,
                graph: 0.0,
                near: 1.0,
                rrf_k: 20.0,
            },
        }
    }

    /// Parses `TEXT,SEMANTIC,GRAPH[,K]` (K: rank fusion only) over `fusion`'s defaults.
    pub fn parse(fusion: Fusion, s: &str) -> std::result::Result<HybridWeights, String> {
        let parts: Vec<f32> = s
            .split(',')
            .map(|p| p.trim().parse::<f32>().map_err(|e| format!("{p:?}: {e}")))
            .collect::<std::result::Result<_, _>>()?;
        // Weights are relative, so nothing needs more than a few digits; the cap keeps
        // products of weights and scores finite.
        const MAX: f32 = 1e6;
        if !(3..=4).contains(&parts.len())
            || parts.iter().any(|w| !w.is_finite() || *w < 0.0 || *w > MAX)
            || parts.get(3).is_some_and(|k| *k < 1.0)
        {
            return Err(
                "expected three numbers TEXT,SEMANTIC,GRAPH between 0 and 1000000 and \
                 optionally the rank-fusion constant K (1 to 1000000)"
                    .into(),
            );
        }
        let defaults = HybridWeights::defaults(fusion);
        Ok(HybridWeights {
            text: parts[0],
            semantic: parts[1],
            graph: parts[2],
            rrf_k: parts.get(3).copied().unwrap_or(defaults.rrf_k),
            ..defaults
        })
    }

    /// What one unit of the graph and `--near` boosts adds to a fused score: for the
    /// score fusions a fifth of the largest possible one (at the default `scores`
    /// weights, what a first place in the text list adds; twice that under `min-max`),
    /// for ranks a first place at weight 1, `1 / (K + 1)`.
    /// Both scale with the weights, so a boost keeps its meaning when they change.
    fn unit(&self) -> f32 {
        match self.fusion {
            Fusion::Scores | Fusion::MinMax => 0.2 * (self.text + self.semantic),
            Fusion::Rrf => 1.0 / (self.rrf_k + 1.0),
        }
    }
}

impl Default for HybridWeights {
    fn default() -> Self {
        HybridWeights::defaults(Fusion::Scores)
    }
}

/// Candidates each retriever contributes to fusion.
const FUSION_DEPTH: usize = 50;

/// What one search asks for.
#[derive(Clone, Debug)]
pub struct SearchParams {
    pub mode: Mode,
    pub limit: usize,
    pub languages: Vec<Language>,
    pub kinds: Vec<NodeKind>,
    pub path_glob: Option<String>,
}

/// Everything a search needs, opened once for all its queries (by `codegraph search`)
/// or per request from what the server keeps open.
pub struct Searcher<'a> {
    pub store: &'a RocksStore,
    pub project: &'a str,
    pub text: Option<&'a TantivyText>,
    pub semantic: Option<(&'a dyn Embedder, &'a mut SemanticIndex)>,
    pub strategy: SearchStrategy,
    pub weights: HybridWeights,
    /// Node ids near the `--near` symbol, or the path prefix it names.
    pub near: Option<Near>,
}

pub enum Near {
    Path(String),
    Nodes(std::collections::HashSet<codegraph_core::NodeId>),
}

pub fn search(args: SearchArgs) -> anyhow::Result<ExitCode> {
    let store = args.db.open_existing()?;
    let project = args.db.project_of(&store)?;
    let text = match args.mode {
        Mode::Semantic => None,
        Mode::Text | Mode::Hybrid => Some(open_text(&args.db.db)?),
    };
    let mut semantic = match args.mode {
        Mode::Text => None,
        Mode::Semantic => Some(open_semantic(&args.db.db, &project, &args.model)?),
        Mode::Hybrid => match open_semantic(&args.db.db, &project, &args.model) {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("codegraph: {e:#}; hybrid search falls back to BM25 text search");
                None
            }
        },
    };
    let params = SearchParams {
        mode: args.mode,
        limit: args.limit,
        languages: args.languages.clone(),
        kinds: args.kinds.clone(),
        path_glob: args.path_glob.clone(),
    };
    // Fail on a bad glob before the first query.
    if let Some(g) = &params.path_glob {
        codegraph_store::query::Filters::path_glob(g)?;
    }
    let weights = match &args.weights {
        Some(w) => HybridWeights::parse(args.fusion, w)
            .map_err(|e| anyhow::anyhow!("--weights {w:?}: {e}"))?,
        None => HybridWeights::defaults(args.fusion),
    };
    let near = match &args.near {
        Some(n) => Some(resolve_near(&store, &project, n)?),
        None => None,
    };
    let mut searcher = Searcher {
        store: &store,
        project: &project,
        text: text.as_ref(),
        semantic: semantic.as_mut().map(|(e, i)| (&**e as &dyn Embedder, i)),
        strategy: args.strategy.into(),
        weights,
        near,
    };
    let queries: Vec<String> = match (&args.query, &args.queries_file) {
        (Some(q), _) => vec![q.clone()],
        (None, Some(path)) => read_queries(path)?,
        (None, None) => unreachable!("clap requires one of them"),
    };
    let mut out = std::io::stdout().lock();
    for q in &queries {
        let hits = searcher
            .search(q, &params)
            .with_context(|| format!("searching for {q:?}"))?;
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

fn open_text(db: &Path) -> anyhow::Result<TantivyText> {
    let dir = text_dir(db);
    if !dir.exists() {
        bail!(
            "{} has no full-text index; run `codegraph index` again to build it",
            db.display()
        );
    }
    TantivyText::open(&dir)
        .with_context(|| format!("cannot open the full-text index in {}", dir.display()))
}

fn open_semantic(
    db: &Path,
    project: &str,
    model: &ModelArgs,
) -> anyhow::Result<(Box<dyn Embedder>, SemanticIndex)> {
    let Some(embedder) = model.load()? else {
        bail!(
            "semantic search needs an embedding model, and none is configured: pass \
             --model-dir DIR or set CODEGRAPH_MODEL_DIR, or --embed-url and --embed-model \
             (and index with it)"
        );
    };
    let dir = vectors_dir(db);
    let index = SemanticIndex::open(&dir, project)
        .with_context(|| format!("cannot open the embeddings in {}", dir.display()))?;
    let Some(index) = index else {
        bail!(
            "{} holds no embeddings for {project}: run `codegraph index` with --model-dir \
             (or CODEGRAPH_MODEL_DIR) to compute them",
            db.display()
        );
    };
    if index.model_id() != embedder.model_id() {
        bail!(
            "the embeddings were made by {} and the configured model is {}: index again \
             with this model (or pass the same --model-dir and --max-tokens)",
            index.model_id(),
            embedder.model_id()
        );
    }
    Ok((embedder, index))
}

/// `--near`: a path prefix when some file of the project lies under it, otherwise a
/// symbol whose graph neighbourhood (two steps along any edge) is boosted.
pub fn resolve_near(store: &RocksStore, project: &str, near: &str) -> anyhow::Result<Near> {
    let prefix = near.trim_start_matches("./").trim_end_matches('/');
    let files = store.files(project)?;
    if files
        .iter()
        .any(|f| f.path == prefix || f.path.starts_with(&format!("{prefix}/")))
    {
        return Ok(Near::Path(prefix.to_string()));
    }
    let found = codegraph_store::query::find(
        store,
        project,
        near,
        codegraph_store::query::Match::Exact,
        &codegraph_store::query::Filters::default(),
        usize::MAX,
    )?;
    if found.is_empty() {
        bail!("--near {near:?} is neither a path in {project} nor a symbol in it");
    }
    // Every definition of that name: an overloaded or re-declared symbol counts whole.
    let mut seen = std::collections::HashSet::new();
    let mut frontier = Vec::new();
    for hit in &found {
        let id: codegraph_core::NodeId = hit.node.id.parse()?;
        if seen.insert(id) {
            frontier.push(id);
        }
    }
    for _ in 0..2 {
        let mut next = Vec::new();
        for id in frontier {
            for dir in [Direction::Incoming, Direction::Outgoing] {
                for n in store.neighbours(project, id, dir, None)? {
                    if seen.insert(n) {
                        next.push(n);
                    }
                }
            }
        }
        frontier = next;
    }
    Ok(Near::Nodes(seen))
}

impl Searcher<'_> {
    pub fn search(&mut self, q: &str, args: &SearchParams) -> anyhow::Result<Vec<Hit>> {
        let filters = codegraph_store::query::Filters {
            languages: args.languages.clone(),
            kinds: args.kinds.clone(),
            path: args
                .path_glob
                .as_deref()
                .map(codegraph_store::query::Filters::path_glob)
                .transpose()?,
        };
        let hybrid = args.mode == Mode::Hybrid && self.semantic.is_some();
        let depth = if hybrid || self.near.is_some() {
            FUSION_DEPTH.max(args.limit)
        } else {
            args.limit
        };
        let text = match (&self.text, args.mode) {
            (Some(t), Mode::Text | Mode::Hybrid) => {
                let query = TextQuery {
                    text: q.to_string(),
                    limit: depth,
                    languages: args.languages.clone(),
                    kinds: args.kinds.clone(),
                    path_glob: args.path_glob.clone(),
                };
                Some(t.search(self.project, &query)?)
            }
            _ => None,
        };
        let semantic = match &mut self.semantic {
            Some((embedder, index)) => {
                // Filters apply after the vector search; fetch more so enough survive.
                let filtered = !filters.kinds.is_empty()
                    || !filters.languages.is_empty()
                    || filters.path.is_some();
                let fetch = if filtered { depth * 10 } else { depth };
                let hits = index.search_text(*embedder, q, fetch, self.strategy)?;
                Some(hits)
            }
            None => None,
        };
        let (semantic, semantic_nodes) = match semantic {
            Some(hits) => {
                let (hits, nodes) = self.with_nodes(&hits)?;
                let keep: Vec<usize> = (0..hits.len())
                    .filter(|&i| filters.accepts(&nodes[i]))
                    .take(depth)
                    .collect();
                (
                    Some(keep.iter().map(|&i| hits[i]).collect::<Vec<_>>()),
                    keep.into_iter()
                        .map(|i| nodes[i].clone())
                        .collect::<Vec<_>>(),
                )
            }
            None => (None, Vec::new()),
        };
        let ranked: Vec<ScoredNode> = match (text, semantic) {
            (Some(t), Some(s)) => {
                use codegraph_vector::fusion::{Scale, reciprocal_rank_fusion, score_fusion};
                let w = self.weights;
                match w.fusion {
                    Fusion::Scores => score_fusion(
                        &[(&t, w.text, Scale::ByBest), (&s, w.semantic, Scale::AsIs)],
                        depth,
                        depth,
                    ),
                    Fusion::MinMax => score_fusion(
                        &[(&t, w.text, Scale::MinMax), (&s, w.semantic, Scale::MinMax)],
                        depth,
                        depth,
                    ),
                    Fusion::Rrf => {
                        reciprocal_rank_fusion(&[(&t, w.text), (&s, w.semantic)], w.rrf_k, depth)
                    }
                }
            }
            (Some(t), None) => t,
            (None, Some(s)) => {
                if self.near.is_none() {
                    let hits = s.into_iter().take(args.limit);
                    return Ok(hits
                        .zip(semantic_nodes)
                        .map(|(h, n)| Hit::new(n, h.score))
                        .collect());
                }
                s
            }
            (None, None) => Vec::new(),
        };
        let (ranked, nodes) = self.with_nodes(&ranked)?;
        let rescored = if hybrid || self.near.is_some() {
            self.rerank(&ranked, &nodes)?
        } else {
            ranked.iter().map(|h| h.score).collect()
        };
        let mut order: Vec<usize> = (0..ranked.len()).collect();
        order.sort_by(|&a, &b| {
            rescored[b]
                .total_cmp(&rescored[a])
                .then(ranked[a].id.cmp(&ranked[b].id))
        });
        Ok(order
            .into_iter()
            .take(args.limit)
            .map(|i| Hit::new(nodes[i].clone(), rescored[i]))
            .collect())
    }

    /// Adds graph context to fused scores: a boost growing with the log of a
    /// definition's callers, and one for results near what `--near` names.
    fn rerank(&self, ranked: &[ScoredNode], nodes: &[Node]) -> anyhow::Result<Vec<f32>> {
        let unit = self.weights.unit();
        let mut out = Vec::with_capacity(ranked.len());
        for (hit, node) in ranked.iter().zip(nodes) {
            let mut score = hit.score;
            if self.weights.graph > 0.0 {
                let callers = self.store.neighbours(
                    self.project,
                    hit.id,
                    Direction::Incoming,
                    Some(EdgeKind::Calls),
                )?;
                score += self.weights.graph * unit * (callers.len() as f32).ln_1p();
            }
            let near = match &self.near {
                Some(Near::Path(p)) => node.path == *p || node.path.starts_with(&format!("{p}/")),
                Some(Near::Nodes(ids)) => ids.contains(&hit.id),
                None => false,
            };
            if near {
                score += self.weights.near * unit;
            }
            out.push(score);
        }
        Ok(out)
    }

    /// The hits whose nodes still exist, with their nodes; hits from an index older
    /// than the graph are dropped rather than shown wrong.
    fn with_nodes(&self, hits: &[ScoredNode]) -> Result<(Vec<ScoredNode>, Vec<Node>)> {
        let ids: Vec<_> = hits.iter().map(|s| s.id).collect();
        let nodes = self.store.nodes(self.project, &ids)?;
        Ok(hits
            .iter()
            .zip(nodes)
            .filter_map(|(h, n)| Some((*h, n?)))
            .unzip())
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_parse_over_each_fusions_defaults() {
        let w = HybridWeights::parse(Fusion::Scores, "0.3,0.7,0").unwrap();
        assert_eq!(
            (w.fusion, w.text, w.semantic, w.graph),
            (Fusion::Scores, 0.3, 0.7, 0.0)
        );
        let w = HybridWeights::parse(Fusion::Rrf, "1,2,0.5").unwrap();
        assert_eq!((w.fusion, w.rrf_k), (Fusion::Rrf, 20.0));
        let w = HybridWeights::defaults(Fusion::MinMax);
        assert_eq!((w.fusion, w.text, w.semantic), (Fusion::MinMax, 0.1, 0.9));
        assert_eq!(
            HybridWeights::parse(Fusion::Rrf, "1,2,0,60").unwrap().rrf_k,
            60.0
        );
        for bad in [
            "",
            "1,2",
            "1,2,3,4,5",
            "1,-2,0",
            "1,2,0,0.5",
            "a,b,c",
            "1,inf,0",
        ] {
            assert!(
                HybridWeights::parse(Fusion::Scores, bad).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_boost_unit_is_a_text_first_place_at_the_defaults() {
        let rrf = HybridWeights::defaults(Fusion::Rrf);
        assert_eq!(rrf.unit(), 1.0 / 21.0);
        let scores = HybridWeights::default();
        assert_eq!(scores.fusion, Fusion::Scores);
        // A first place in the text list adds text * 1 (BM25 divided by its best).
        assert!((scores.unit() - scores.text).abs() < 1e-6);
    }
}
