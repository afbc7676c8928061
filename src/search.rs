//! Search: full text (BM25), meaning (embeddings) or both fused, re-ranked with graph
//! context.

use std::collections::HashSet;

use codegraph_core::{
    Budget, Direction, EdgeKind, Error, GraphStore, Language, Node, NodeId, NodeKind, Result,
    ScoredNode, TextQuery,
};
use codegraph_store::query::{Filters, Match};
use codegraph_vector::SearchStrategy;
use serde::{Deserialize, Serialize};

use crate::db::{Db, Vectors, lock, with_graph};

/// What a search retrieves with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// BM25 over names, qualified names, signatures, docs and bodies.
    Text,
    /// Nearest neighbours of the query's embedding.
    Semantic,
    /// Text and semantic results fused, re-ranked with graph context; text alone when
    /// the project has no vectors or the `Db` no model.
    #[default]
    Hybrid,
}

/// Which vector index answers semantic queries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Score every vector.
    Exact,
    /// HNSW with a wide beam where the project is large enough to keep one.
    #[default]
    Balanced,
    /// HNSW with a narrow beam.
    Fast,
    /// 8-bit codes in memory, re-ranked from the full vectors on disk.
    Compact,
}

/// How hybrid search combines its two lists ([`codegraph_vector::fusion`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fusion {
    /// A weighted sum of scores: BM25 divided by the query's best, cosine as is.
    #[default]
    Scores,
    /// Reciprocal rank fusion: ranks only.
    Rrf,
    /// A weighted sum of scores, each list mapped to [0, 1] between its lowest and its
    /// best; for a model tuned for code (scripts/finetune-embedder.py), whose cosines
    /// are worth more than BM25's.
    MinMax,
}

macro_rules! string_enum {
    ($t:ty, $what:literal, $($name:literal => $v:expr),+) => {
        impl std::str::FromStr for $t {
            type Err = Error;
            fn from_str(s: &str) -> Result<$t> {
                match s {
                    $($name => Ok($v),)+
                    other => Err(Error::InvalidInput(format!(
                        concat!($what, " must be one of {}, not {:?}"),
                        [$($name),+].join(", "),
                        other
                    ))),
                }
            }
        }
        impl $t {
            /// The name used on command lines and in JSON.
            pub fn as_str(self) -> &'static str {
                $(if self == $v { return $name; })+
                unreachable!()
            }
            /// Every name, in order.
            pub const NAMES: &'static [&'static str] = &[$($name),+];
        }
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(Mode, "mode", "text" => Mode::Text, "semantic" => Mode::Semantic, "hybrid" => Mode::Hybrid);
string_enum!(Strategy, "strategy", "exact" => Strategy::Exact, "balanced" => Strategy::Balanced,
    "fast" => Strategy::Fast, "compact" => Strategy::Compact);
string_enum!(Fusion, "fusion", "scores" => Fusion::Scores, "rrf" => Fusion::Rrf, "min-max" => Fusion::MinMax);

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

/// How hybrid search weighs its evidence (docs/PERFORMANCE.md has the measurements
/// behind the defaults).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HybridWeights {
    /// How the lists are combined.
    pub fusion: Fusion,
    /// Weight of the BM25 list.
    pub text: f32,
    /// Weight of the vector list.
    pub semantic: f32,
    /// Boost per e-fold of incoming call edges, in boost units (see [`Self::unit`]).
    pub graph: f32,
    /// Boost, in units, for a result in the file, directory or graph neighbourhood
    /// that [`SearchRequest::near`] names.
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
        let (text, semantic) = match fusion {
            Fusion::MinMax => (0.1, 0.9),
            Fusion::Scores => (0.2, 0.8),
            Fusion::Rrf => (1.0, 1.5),
        };
        HybridWeights {
            fusion,
            text,
            semantic,
            graph: 0.0,
            near: 1.0,
            rrf_k: 20.0,
        }
    }

    /// Parses `TEXT,SEMANTIC,GRAPH[,K]` (K: rank fusion only) over `fusion`'s defaults.
    pub fn parse(fusion: Fusion, s: &str) -> Result<HybridWeights> {
        let parts: Vec<f32> = s
            .split(',')
            .map(|p| {
                p.trim()
                    .parse::<f32>()
                    .map_err(|e| Error::InvalidInput(format!("weights {s:?}: {p:?}: {e}")))
            })
            .collect::<Result<_>>()?;
        // Weights are relative, so nothing needs more than a few digits; the cap keeps
        // products of weights and scores finite.
        const MAX: f32 = 1e6;
        if !(3..=4).contains(&parts.len())
            || parts.iter().any(|w| !w.is_finite() || *w < 0.0 || *w > MAX)
            || parts.get(3).is_some_and(|k| *k < 1.0)
        {
            return Err(Error::InvalidInput(format!(
                "weights {s:?}: expected three numbers TEXT,SEMANTIC,GRAPH between 0 and \
                 1000000 and optionally the rank-fusion constant K (1 to 1000000)"
            )));
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

    /// What one unit of the graph and `near` boosts adds to a fused score: for the
    /// score fusions a fifth of the largest possible one (at the default `scores`
    /// weights, what a first place in the text list adds; twice that under `min-max`),
    /// for ranks a first place at weight 1, `1 / (K + 1)`.
    /// Both scale with the weights, so a boost keeps its meaning when they change.
    pub fn unit(&self) -> f32 {
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

/// One search.
#[derive(Clone, Debug)]
pub struct SearchRequest {
    /// The query, in words or code.
    pub query: String,
    /// What to retrieve with.
    pub mode: Mode,
    /// Results wanted.
    pub limit: usize,
    /// Only definitions in these languages (empty: any).
    pub languages: Vec<Language>,
    /// Only definitions of these kinds (empty: any).
    pub kinds: Vec<NodeKind>,
    /// Only definitions in files matching this glob, such as `src/**/*.rs`.
    pub path_glob: Option<String>,
    /// Which vector index answers.
    pub strategy: Strategy,
    /// How hybrid search combines its lists, and with what weights.
    pub weights: HybridWeights,
    /// Boost results in this file or directory, or near this symbol in the graph (a
    /// name or qualified name): what a caller already looks at.
    pub near: Option<String>,
}

impl SearchRequest {
    /// A hybrid search for `query` with the defaults: 10 results, no filters.
    pub fn new(query: impl Into<String>) -> SearchRequest {
        SearchRequest {
            query: query.into(),
            mode: Mode::Hybrid,
            limit: 10,
            languages: Vec::new(),
            kinds: Vec::new(),
            path_glob: None,
            strategy: Strategy::Balanced,
            weights: HybridWeights::default(),
            near: None,
        }
    }

    /// The same request in another mode.
    pub fn mode(mut self, mode: Mode) -> SearchRequest {
        self.mode = mode;
        self
    }

    /// The same request with another limit.
    pub fn limit(mut self, limit: usize) -> SearchRequest {
        self.limit = limit;
        self
    }
}

/// One search result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    /// The definition's node.
    pub id: NodeId,
    /// Its file, repository-relative.
    pub path: String,
    /// Its first line (1-based).
    pub line: u32,
    /// Its last line.
    #[serde(default)]
    pub end_line: u32,
    /// Its signature as written, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// Its simple name.
    pub name: String,
    /// Its qualified name.
    pub qualified_name: String,
    /// What it is.
    pub kind: NodeKind,
    /// Its language.
    pub language: Language,
    /// Higher is better; comparable only within one answer.
    pub score: f32,
}

impl Hit {
    fn new(node: Node, score: f32) -> Hit {
        Hit {
            id: node.id,
            path: node.path,
            line: node.span.start_line,
            end_line: node.span.end_line,
            signature: node.signature,
            name: node.name,
            qualified_name: node.qualified_name,
            kind: node.kind,
            language: node.language,
            score,
        }
    }
}

/// A search's answer.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SearchResults {
    /// What answered: `hybrid` falls back to `text` when the project has no vectors
    /// (or vectors of another model) or the `Db` no model.
    pub mode: Mode,
    /// Best first.
    pub results: Vec<Hit>,
    /// Why the answer is not what was asked for (a fallback), for people.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The request's budget ran out while `near` walked the graph: the boost covers
    /// only the part of the neighbourhood it reached.
    #[serde(default)]
    pub truncated: bool,
}

/// The longest `near` accepted, in characters: a path or a symbol name, never a
/// document.
pub const MAX_NEAR_CHARS: usize = 1024;

/// What `near` resolved to.
enum Near {
    Path(String),
    Nodes(HashSet<NodeId>),
}

impl Db {
    /// Searches a project's definitions. Semantic search needs the `Db`'s model and
    /// the project's vectors, made by the same model: without them a `semantic`
    /// request fails with [`Error::Unsupported`] and a `hybrid` one answers from text
    /// alone (the answer's `mode` and `notes` say so).
    pub fn search(&self, project: &str, request: &SearchRequest) -> Result<SearchResults> {
        let vectors = match request.mode {
            Mode::Text => None,
            Mode::Semantic | Mode::Hybrid => self.vectors(project)?,
        };
        self.search_with(project, request, vectors.as_deref(), &Budget::unlimited())
    }

    /// [`Db::search`] with vectors the caller keeps open itself ([`Db::open_vectors`]),
    /// and a budget for the graph walk of `near` (the text and vector searches are
    /// bounded by `limit` already).
    pub fn search_with(
        &self,
        project: &str,
        request: &SearchRequest,
        vectors: Option<&Vectors>,
        budget: &Budget,
    ) -> Result<SearchResults> {
        if request.query.trim().is_empty() {
            return Err(Error::InvalidInput("the query is empty".into()));
        }
        if request
            .near
            .as_ref()
            .is_some_and(|n| n.chars().count() > MAX_NEAR_CHARS)
        {
            return Err(Error::InvalidInput(format!(
                "`near` is longer than {MAX_NEAR_CHARS} characters"
            )));
        }
        if self.project(project)?.is_none() {
            return Err(Error::NotFound(format!("no project {project:?}")));
        }
        let filters = Filters {
            languages: request.languages.clone(),
            kinds: request.kinds.clone(),
            path: request
                .path_glob
                .as_deref()
                .map(Filters::path_glob)
                .transpose()?,
        };
        let mut notes_before = Vec::new();
        let near = match &request.near {
            Some(n) => match self.resolve_near(project, n, budget)? {
                Some(near) => Some(near),
                // A boost towards what is not there boosts nothing; the answer says so
                // rather than failing a search that can still answer.
                None => {
                    notes_before.push(format!(
                        "near {n:?} is neither a path in {project} nor a symbol in it; no boost"
                    ));
                    None
                }
            },
            None => None,
        };
        let mut notes = notes_before;
        let semantic = match request.mode {
            Mode::Text => None,
            Mode::Semantic | Mode::Hybrid => match self.semantic_source(project, vectors) {
                Ok(s) => Some(s),
                Err(why) if request.mode == Mode::Semantic => return Err(Error::Unsupported(why)),
                Err(why) => {
                    notes.push(format!(
                        "{why}; hybrid search falls back to BM25 text search"
                    ));
                    None
                }
            },
        };
        let mode = match (request.mode, &semantic) {
            (Mode::Hybrid, None) => Mode::Text,
            (m, _) => m,
        };
        let results = with_graph!(&self.graph, s => {
            let run = Run { db: self, store: s, project, near: near.as_ref(), request, filters: &filters };
            run.search(mode, semantic)
        })?;
        Ok(SearchResults {
            mode,
            results,
            notes,
            truncated: budget.truncated(),
        })
    }

    /// The model and the vectors semantic search needs, or why they are not there.
    fn semantic_source<'v>(
        &self,
        project: &str,
        vectors: Option<&'v Vectors>,
    ) -> std::result::Result<(&dyn codegraph_core::Embedder, &'v Vectors), String> {
        let Some(embedder) = self.embedder() else {
            return Err("semantic search needs an embedding model, and none is configured".into());
        };
        let Some(vectors) = vectors else {
            return Err(format!(
                "project {project:?} has no embeddings (index it with a model configured)"
            ));
        };
        let made_by = vectors.model_id();
        if made_by != embedder.model_id() {
            return Err(format!(
                "the project's vectors were made by {made_by}, and the configured model is {}; \
                 index again with this model",
                embedder.model_id()
            ));
        }
        Ok((embedder.as_ref(), vectors))
    }

    /// `near`: a path prefix when some file of the project lies under it, otherwise a
    /// symbol whose graph neighbourhood (two steps along any edge) is boosted.
    fn resolve_near(&self, project: &str, near: &str, budget: &Budget) -> Result<Option<Near>> {
        with_graph!(&self.graph, s => resolve_near(s, project, near, budget))
    }
}

fn resolve_near<S: GraphStore>(
    store: &S,
    project: &str,
    near: &str,
    budget: &Budget,
) -> Result<Option<Near>> {
    let prefix = near.trim_start_matches("./").trim_end_matches('/');
    let under = format!("{prefix}/");
    let files = store.files(project)?;
    // Reading the file records is bounded by the project, not by the request; it
    // counts against the budget all the same.
    budget.spend(files.len() as u64)?;
    if files
        .iter()
        .any(|f| f.path == prefix || f.path.starts_with(&under))
    {
        return Ok(Some(Near::Path(prefix.to_string())));
    }
    let found = codegraph_store::query::find(
        store,
        project,
        near,
        Match::Exact,
        &Filters::default(),
        usize::MAX,
        budget,
    )?;
    if found.is_empty() {
        return Ok(None);
    }
    // Every definition of that name: an overloaded or re-declared symbol counts whole.
    let mut seen = HashSet::new();
    let mut frontier = Vec::new();
    for hit in &found {
        let id = hit.node.id;
        if seen.insert(id) {
            frontier.push(id);
        }
    }
    'walk: for _ in 0..2 {
        let mut next = Vec::new();
        for id in frontier {
            for dir in [Direction::Incoming, Direction::Outgoing] {
                let found = store.neighbours(project, id, dir, None)?;
                if !budget.spend(1 + found.len() as u64)? {
                    break 'walk;
                }
                for n in found {
                    if seen.insert(n) {
                        next.push(n);
                    }
                }
            }
        }
        frontier = next;
    }
    Ok(Some(Near::Nodes(seen)))
}

/// One search over one concrete store.
struct Run<'a, S: GraphStore> {
    db: &'a Db,
    store: &'a S,
    project: &'a str,
    near: Option<&'a Near>,
    request: &'a SearchRequest,
    filters: &'a Filters,
}

impl<S: GraphStore> Run<'_, S> {
    fn search(
        &self,
        mode: Mode,
        semantic: Option<(&dyn codegraph_core::Embedder, &Vectors)>,
    ) -> Result<Vec<Hit>> {
        let req = self.request;
        let hybrid = mode == Mode::Hybrid;
        let depth = if hybrid || self.near.is_some() {
            FUSION_DEPTH.max(req.limit)
        } else {
            req.limit
        };
        let text = match mode {
            Mode::Text | Mode::Hybrid => Some(self.text(depth)?),
            Mode::Semantic => None,
        };
        let semantic = match semantic {
            Some((embedder, vectors)) => {
                // Filters apply after the vector search; fetch more so enough survive.
                let filtered = !self.filters.kinds.is_empty()
                    || !self.filters.languages.is_empty()
                    || self.filters.path.is_some();
                let fetch = if filtered { depth * 10 } else { depth };
                let hits = lock(&vectors.0).search_text(
                    embedder,
                    &req.query,
                    fetch,
                    req.strategy.into(),
                )?;
                let (hits, nodes) = self.with_nodes(&hits)?;
                let keep: Vec<usize> = (0..hits.len())
                    .filter(|&i| self.filters.accepts(&nodes[i]))
                    .take(depth)
                    .collect();
                if text.is_none() && self.near.is_none() {
                    return Ok(keep
                        .into_iter()
                        .take(req.limit)
                        .map(|i| Hit::new(nodes[i].clone(), hits[i].score))
                        .collect());
                }
                Some(keep.iter().map(|&i| hits[i]).collect::<Vec<_>>())
            }
            None => None,
        };
        let ranked: Vec<ScoredNode> = match (text, semantic) {
            (Some(t), Some(s)) => {
                use codegraph_vector::fusion::{Scale, reciprocal_rank_fusion, score_fusion};
                let w = req.weights;
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
            (None, Some(s)) => s,
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
            .take(req.limit)
            .map(|i| Hit::new(nodes[i].clone(), rescored[i]))
            .collect())
    }

    fn text(&self, depth: usize) -> Result<Vec<ScoredNode>> {
        let Some(text) = self.db.text_if_present()? else {
            return Err(if cfg!(feature = "tantivy") {
                Error::NotFound(format!(
                    "{} has no full-text index; index the project again to build it",
                    self.db.dir().display()
                ))
            } else {
                Error::Unsupported("this build has no full-text search (feature `tantivy`)".into())
            });
        };
        let req = self.request;
        let query = TextQuery {
            text: req.query.clone(),
            limit: depth,
            languages: req.languages.clone(),
            kinds: req.kinds.clone(),
            path_glob: req.path_glob.clone(),
        };
        text.search(self.project, &query)
    }

    /// Adds graph context to fused scores: a boost growing with the log of a
    /// definition's callers, and one for results near what `near` names.
    fn rerank(&self, ranked: &[ScoredNode], nodes: &[Node]) -> Result<Vec<f32>> {
        let weights = self.request.weights;
        let unit = weights.unit();
        let mut out = Vec::with_capacity(ranked.len());
        for (hit, node) in ranked.iter().zip(nodes) {
            let mut score = hit.score;
            if weights.graph > 0.0 {
                let callers = self.store.neighbours(
                    self.project,
                    hit.id,
                    Direction::Incoming,
                    Some(EdgeKind::Calls),
                )?;
                score += weights.graph * unit * (callers.len() as f32).ln_1p();
            }
            let near = match self.near {
                Some(Near::Path(p)) => node.path == *p || node.path.starts_with(&format!("{p}/")),
                Some(Near::Nodes(ids)) => ids.contains(&hit.id),
                None => false,
            };
            if near {
                score += weights.near * unit;
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

    #[test]
    fn names_round_trip() {
        for name in Mode::NAMES {
            assert_eq!(name.parse::<Mode>().unwrap().as_str(), *name);
        }
        for name in Fusion::NAMES {
            let f: Fusion = name.parse().unwrap();
            assert_eq!(serde_json::to_value(f).unwrap(), *name);
        }
        for name in Strategy::NAMES {
            assert_eq!(name.parse::<Strategy>().unwrap().to_string(), *name);
        }
        assert!("Hybrid".parse::<Mode>().is_err());
    }
}
