//! Graph queries over a [`GraphStore`]: the library side of `codegraph query`.
//!
//! Every query answers in a fixed order (by path, then line, then id) so that the same
//! graph always gives the same output.
//!
//! Every query takes a [`Budget`]: it spends one visit per name scanned, node read or
//! edge followed, and stops with what it found when the budget runs out (the caller
//! reads [`Budget::truncated`]) or with [`Error::Stopped`] when its stop flag is set.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::io::Write;

use codegraph_core::{
    Budget, Direction, Edge, EdgeKind, Error, GraphStore, Language, Node, NodeId, NodeKind,
    Resolution, Result,
};
use serde::Serialize;

/// How `find` matches names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Match {
    /// The simple name or the qualified name equals the pattern.
    Exact,
    /// The simple name starts with the pattern.
    Prefix,
    /// The pattern's characters appear in order in the name, case-insensitively;
    /// closer and earlier matches rank first.
    Fuzzy,
}

/// Filters shared by the queries that list nodes.
#[derive(Clone, Debug, Default)]
pub struct Filters {
    /// Only these kinds (empty: any).
    pub kinds: Vec<NodeKind>,
    /// Only these languages (empty: any; a language matches its family, so `typescript`
    /// takes `tsx` too).
    pub languages: Vec<Language>,
    /// A glob over repository-relative paths (`src/**/*.rs`).
    pub path: Option<globset::GlobMatcher>,
}

impl Filters {
    /// Compiles a glob over repository-relative paths.
    ///
    /// Text that is not a valid glob (an unclosed `[` or `{`) matches itself
    /// literally: a path may hold such characters, and a filter that cannot be read
    /// as a pattern is still a question with an answer.
    pub fn path_glob(glob: &str) -> Result<globset::GlobMatcher> {
        globset::Glob::new(glob)
            .or_else(|_| globset::Glob::new(&globset::escape(glob)))
            .map(|g| g.compile_matcher())
            .map_err(|e| Error::InvalidInput(format!("path glob {glob:?}: {e}")))
    }

    /// Whether `node` passes every filter.
    pub fn accepts(&self, node: &Node) -> bool {
        (self.kinds.is_empty() || self.kinds.contains(&node.kind))
            && (self.languages.is_empty()
                || self
                    .languages
                    .iter()
                    .any(|l| l.family() == node.language.family()))
            && self.path.as_ref().is_none_or(|g| g.is_match(&node.path))
    }
}

/// A node found by a query, with its score (higher is better) for ranked matches.
#[derive(Clone, Debug, Serialize)]
pub struct Hit {
    #[serde(flatten)]
    /// The definition.
    pub node: NodeSummary,
    /// How well it matched: 1 for an exact match, less for prefix and fuzzy ones.
    pub score: f64,
}

/// The fields of a node that query output shows.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct NodeSummary {
    /// The file, repository-relative.
    pub path: String,
    /// First line (1-based).
    pub line: u32,
    /// Last line (1-based).
    pub end_line: u32,
    /// The node's stable id.
    pub id: NodeId,
    /// What it is.
    pub kind: NodeKind,
    /// Its simple name.
    pub name: String,
    /// Its qualified name (`pkg.mod.Class.method`, `crate::a::f`).
    pub qualified_name: String,
    /// Its language.
    pub language: Language,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// The declaration's signature, when it has one.
    pub signature: Option<String>,
}

impl NodeSummary {
    /// The summary of `node`.
    pub fn of(node: &Node) -> NodeSummary {
        NodeSummary {
            path: node.path.clone(),
            line: node.span.start_line,
            end_line: node.span.end_line,
            id: node.id,
            kind: node.kind,
            name: node.name.clone(),
            qualified_name: node.qualified_name.clone(),
            language: node.language,
            signature: node.signature.clone(),
        }
    }
}

/// Finds definitions by name.
pub fn find<S: GraphStore + ?Sized>(
    store: &S,
    project: &str,
    pattern: &str,
    how: Match,
    filters: &Filters,
    limit: usize,
    budget: &Budget,
) -> Result<Vec<Hit>> {
    let mut hits: Vec<Hit> = Vec::new();
    let accept = |node: Node, score: f64| {
        (node.kind.is_definition() && filters.accepts(&node)).then(|| Hit {
            node: NodeSummary::of(&node),
            score,
        })
    };
    match how {
        Match::Exact => {
            // `a.b.C` or `a::b::C`: look up the last segment, compare the whole.
            let last = pattern
                .rsplit(['.', ':', '/'])
                .find(|s| !s.is_empty())
                .unwrap_or(pattern);
            for (_, id) in names(store, project, last, true, budget)? {
                if !budget.spend(1)? {
                    break;
                }
                if let Some(node) = store.node(project, id)?
                    && (node.name == pattern
                        || node.qualified_name == pattern
                        || node.qualified_name.ends_with(&format!(".{pattern}"))
                        || node.qualified_name.ends_with(&format!("::{pattern}")))
                {
                    hits.extend(accept(node, 1.0));
                }
            }
        }
        Match::Prefix => {
            for (_, id) in names(store, project, pattern, false, budget)? {
                if !budget.spend(1)? {
                    break;
                }
                if let Some(node) = store.node(project, id)? {
                    let score = pattern.len() as f64 / node.name.len().max(1) as f64;
                    hits.extend(accept(node, score));
                }
            }
        }
        Match::Fuzzy => {
            let needle: Vec<char> = pattern.to_lowercase().chars().collect();
            let mut scored: Vec<(f64, NodeId)> = Vec::new();
            for (i, (name, id)) in names(store, project, "", false, budget)?
                .into_iter()
                .enumerate()
            {
                if i % 4096 == 0 {
                    budget.cancel().check()?;
                }
                if let Some(score) = fuzzy_score(&needle, &name) {
                    scored.push((score, id));
                }
            }
            scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            for (score, id) in scored {
                if hits.len() >= limit || !budget.spend(1)? {
                    break;
                }
                if let Some(node) = store.node(project, id)? {
                    hits.extend(accept(node, score));
                }
            }
        }
    }
    hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.node.cmp(&b.node)));
    hits.truncate(limit);
    Ok(hits)
}

/// The `(name, id)` pairs [`GraphStore::find_by_name`] gives, as many as the budget
/// has visits left (each is one visit); one more is asked for, to tell a budget that
/// ran out from a list that ended.
fn names<S: GraphStore + ?Sized>(
    store: &S,
    project: &str,
    prefix: &str,
    exact: bool,
    budget: &Budget,
) -> Result<Vec<(String, NodeId)>> {
    let cap = usize::try_from(budget.left()).unwrap_or(usize::MAX);
    let mut names = store.find_by_name(project, prefix, exact, cap.saturating_add(1))?;
    if names.len() > cap {
        names.truncate(cap);
        budget.spend(u64::MAX)?;
    } else {
        budget.spend(names.len() as u64)?;
    }
    Ok(names)
}

/// A subsequence match score in (0, 1]: 1 for an exact (case-insensitive) match, less
/// for gaps and late starts. `None` when the needle is not a subsequence.
pub fn fuzzy_score(needle: &[char], name: &str) -> Option<f64> {
    if needle.is_empty() {
        return Some(0.0);
    }
    let hay: Vec<char> = name.to_lowercase().chars().collect();
    let mut pos = 0;
    let mut first = None;
    let mut gaps = 0usize;
    let mut last = None;
    for &c in needle {
        let found = hay[pos..].iter().position(|&h| h == c)? + pos;
        if let Some(l) = last
            && found != l + 1
        {
            gaps += 1;
        }
        first.get_or_insert(found);
        last = Some(found);
        pos = found + 1;
    }
    let span = last? + 1 - first?;
    let density = needle.len() as f64 / span as f64;
    let coverage = needle.len() as f64 / hay.len() as f64;
    let start_penalty = 1.0 / (1.0 + first? as f64 * 0.1);
    Some(((density * 0.5 + coverage * 0.5) * start_penalty / (1.0 + gaps as f64 * 0.1)).min(1.0))
}

/// Resolves what a user typed to nodes: a 16-digit id, `path:line`, a qualified name,
/// or a simple name.
pub fn lookup<S: GraphStore + ?Sized>(
    store: &S,
    project: &str,
    spec: &str,
    budget: &Budget,
) -> Result<Vec<Node>> {
    if spec.len() == 16
        && let Ok(id) = spec.parse::<NodeId>()
        && let Some(node) = store.node(project, id)?
    {
        return Ok(vec![node]);
    }
    if let Some((path, line)) = spec.rsplit_once(':')
        && let Ok(line) = line.parse::<u32>()
        && let Some(record) = store.file(project, path)?
    {
        // The innermost definition spanning the line.
        let mut best: Option<Node> = None;
        for id in &record.node_ids {
            if !budget.spend(1)? {
                break;
            }
            if let Some(node) = store.node(project, *id)?
                && node.kind.is_definition()
                && node.span.start_line <= line
                && line <= node.span.end_line
                && best.as_ref().is_none_or(|b| {
                    node.span.end_byte - node.span.start_byte < b.span.end_byte - b.span.start_byte
                })
            {
                best = Some(node);
            }
        }
        return Ok(best.into_iter().collect());
    }
    let hits = find(
        store,
        project,
        spec,
        Match::Exact,
        &Filters::default(),
        usize::MAX,
        budget,
    )?;
    let mut out = Vec::new();
    // Prefer exact qualified-name matches over simple-name ones.
    let exact_q: Vec<&Hit> = hits
        .iter()
        .filter(|h| h.node.qualified_name == spec)
        .collect();
    let chosen: Vec<&Hit> = if exact_q.is_empty() {
        hits.iter().collect()
    } else {
        exact_q
    };
    for h in chosen {
        if let Some(node) = store.node(project, h.node.id)? {
            out.push(node);
        }
    }
    Ok(out)
}

/// One edge of a query answer with both ends summarised.
#[derive(Clone, Debug, Serialize)]
pub struct Related {
    /// The node at the other end.
    #[serde(flatten)]
    pub node: NodeSummary,
    /// The edge's kind (`calls` here).
    pub edge: EdgeKind,
    /// How the edge was found (scope, import, inferred, ...).
    pub resolution: Resolution,
    /// The line of the call site or reference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site_line: Option<u32>,
    /// Path of the call site (the caller's file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site_path: Option<String>,
}

/// Callers (`Incoming`) or callees (`Outgoing`) of a node, one entry per call site.
pub fn calls<S: GraphStore + ?Sized>(
    store: &S,
    project: &str,
    id: NodeId,
    direction: Direction,
    budget: &Budget,
) -> Result<Vec<Related>> {
    let mut out = Vec::new();
    let mut cache: HashMap<NodeId, Option<Node>> = HashMap::new();
    for edge in store.edges(project, id, direction, Some(EdgeKind::Calls))? {
        if !budget.spend(1)? {
            break;
        }
        let other = match direction {
            Direction::Outgoing => edge.dst,
            Direction::Incoming => edge.src,
        };
        let node = match cache.get(&other) {
            Some(n) => n.clone(),
            None => {
                let n = store.node(project, other)?;
                cache.insert(other, n.clone());
                n
            }
        };
        let Some(node) = node else { continue };
        let site_path = match direction {
            Direction::Incoming => node.path.clone(),
            Direction::Outgoing => store
                .node(project, edge.src)?
                .map(|n| n.path)
                .unwrap_or_default(),
        };
        out.push(Related {
            node: NodeSummary::of(&node),
            edge: edge.kind,
            resolution: edge.resolution,
            site_line: edge.span.map(|s| s.start_line),
            site_path: Some(site_path),
        });
    }
    out.sort_by(|a, b| {
        (&a.site_path, a.site_line, &a.node).cmp(&(&b.site_path, b.site_line, &b.node))
    });
    Ok(out)
}

/// Edge kinds that mean "depends on": what impact and paths follow.
pub const DEPENDENCY_EDGES: [EdgeKind; 5] = [
    EdgeKind::Calls,
    EdgeKind::Inherits,
    EdgeKind::Implements,
    EdgeKind::References,
    EdgeKind::Imports,
];

/// A node reached by a walk, and how far away it is.
#[derive(Clone, Debug, Serialize)]
pub struct Reached {
    #[serde(flatten)]
    /// The node reached.
    pub node: NodeSummary,
    /// Edges from the starting node (1: direct).
    pub depth: u32,
}

/// A definition that depends on the start of an impact walk.
#[derive(Clone, Debug, Serialize)]
pub struct Impacted {
    #[serde(flatten)]
    /// The dependent definition.
    pub node: NodeSummary,
    /// Edges from the starting node (1: direct).
    pub depth: u32,
    /// Whether a path of edges all resolved by more than a name (not `unique_name` or
    /// `ambiguous`) reaches it within the depth; otherwise only guesses lead to it and
    /// it is a candidate.
    pub certain: bool,
}

/// Everything that depends on `id`, directly or through up to `depth` edges: who calls
/// it, inherits from it, imports it, and who depends on those. With `certain_only`,
/// edges resolved by name alone are not followed; otherwise everything is reported at
/// the depth of its shortest path, with `certain` saying whether certain edges alone
/// also reach it (exactly what `certain_only` would return).
pub fn impact<S: GraphStore + ?Sized>(
    store: &S,
    project: &str,
    id: NodeId,
    depth: u32,
    certain_only: bool,
    budget: &Budget,
) -> Result<Vec<Impacted>> {
    let certain: HashMap<NodeId, u32> = walk_dependents(store, project, id, depth, true, budget)?;
    let reached = if certain_only {
        certain.clone()
    } else {
        walk_dependents(store, project, id, depth, false, budget)?
    };
    let mut ids: Vec<(u32, NodeId)> = reached.into_iter().map(|(n, d)| (d, n)).collect();
    ids.sort_unstable();
    let mut out = Vec::new();
    for (d, n) in ids {
        if !budget.spend(1)? {
            break;
        }
        if let Some(node) = store.node(project, n)? {
            if node.kind == NodeKind::Import {
                // Report the file that imports, not the binding.
                continue;
            }
            out.push(Impacted {
                node: NodeSummary::of(&node),
                depth: d,
                certain: certain.contains_key(&n),
            });
        }
    }
    out.sort_by(|a, b| (a.depth, &a.node).cmp(&(b.depth, &b.node)));
    Ok(out)
}

/// Breadth-first over incoming dependency edges: each node reached and its distance.
/// `certain_only` follows no edge resolved by name alone (which needs the edges'
/// values; otherwise keys suffice). Stops quietly when the budget runs out.
fn walk_dependents<S: GraphStore + ?Sized>(
    store: &S,
    project: &str,
    id: NodeId,
    depth: u32,
    certain_only: bool,
    budget: &Budget,
) -> Result<HashMap<NodeId, u32>> {
    let mut seen: HashMap<NodeId, u32> = HashMap::new();
    let mut frontier = vec![id];
    'walk: for d in 1..=depth {
        let mut next = Vec::new();
        for &n in &frontier {
            for kind in DEPENDENCY_EDGES {
                // Imports are bindings; what depends on the import node depends on us.
                let sources: Vec<NodeId> = if certain_only {
                    store
                        .edges(project, n, Direction::Incoming, Some(kind))?
                        .into_iter()
                        .filter(|e| !e.resolution.is_guess())
                        .map(|e| e.src)
                        .collect()
                } else {
                    store.neighbours(project, n, Direction::Incoming, Some(kind))?
                };
                if !budget.spend(1 + sources.len() as u64)? {
                    break 'walk;
                }
                for src in sources {
                    if src != id && !seen.contains_key(&src) {
                        seen.insert(src, d);
                        next.push(src);
                    }
                }
            }
        }
        if next.is_empty() {
            break;
        }
        next.sort_unstable();
        frontier = next;
    }
    Ok(seen)
}

/// The shortest chain of dependency edges from `from` to `to` (calls, inheritance,
/// imports), as nodes from `from` to `to`; empty when there is none within `max_depth`.
pub fn shortest_path<S: GraphStore + ?Sized>(
    store: &S,
    project: &str,
    from: NodeId,
    to: NodeId,
    max_depth: u32,
    budget: &Budget,
) -> Result<Vec<NodeSummary>> {
    let mut prev: HashMap<NodeId, NodeId> = HashMap::new();
    let mut queue = VecDeque::from([(from, 0u32)]);
    let mut seen = HashSet::from([from]);
    let mut found = from == to;
    while let Some((n, d)) = queue.pop_front() {
        if found || d >= max_depth {
            break;
        }
        let mut next = Vec::new();
        for kind in DEPENDENCY_EDGES {
            next.extend(store.neighbours(project, n, Direction::Outgoing, Some(kind))?);
        }
        // Members count as part of their type: a path may go from a class to its methods.
        next.extend(store.neighbours(project, n, Direction::Outgoing, Some(EdgeKind::Contains))?);
        if !budget.spend(1 + next.len() as u64)? {
            break;
        }
        next.sort_unstable();
        next.dedup();
        for m in next {
            if seen.insert(m) {
                prev.insert(m, n);
                if m == to {
                    found = true;
                    break;
                }
                queue.push_back((m, d + 1));
            }
        }
    }
    if !found {
        return Ok(Vec::new());
    }
    let mut chain = vec![to];
    let mut cur = to;
    while cur != from {
        cur = prev[&cur];
        chain.push(cur);
    }
    chain.reverse();
    let mut out = Vec::new();
    for id in chain {
        if let Some(node) = store.node(project, id)? {
            out.push(NodeSummary::of(&node));
        }
    }
    Ok(out)
}

/// A file's definitions in source order, each with its nesting depth.
pub fn outline<S: GraphStore + ?Sized>(
    store: &S,
    project: &str,
    path: &str,
    budget: &Budget,
) -> Result<Vec<Reached>> {
    let Some(record) = store.file(project, path)? else {
        return Err(Error::NotFound(format!(
            "{path} is not indexed in project {project}"
        )));
    };
    let mut depth: HashMap<NodeId, u32> = HashMap::new();
    let mut out = Vec::new();
    for id in &record.node_ids {
        if !budget.spend(1)? {
            break;
        }
        let Some(node) = store.node(project, *id)? else {
            continue;
        };
        let d = node
            .parent
            .and_then(|p| depth.get(&p).copied())
            .map_or(0, |d| d + 1);
        depth.insert(node.id, d);
        if node.kind.is_definition() {
            out.push(Reached {
                node: NodeSummary::of(&node),
                depth: d.saturating_sub(1),
            });
        }
    }
    Ok(out)
}

/// A subgraph: nodes and the edges among them.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Subgraph {
    /// The nodes, in a fixed order.
    pub nodes: Vec<NodeSummary>,
    /// The edges among them, sorted.
    pub edges: Vec<EdgeSummary>,
}

/// An edge in query output.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct EdgeSummary {
    /// Where the edge starts.
    pub src: NodeId,
    /// Where it points.
    pub dst: NodeId,
    /// What kind of edge it is.
    pub kind: EdgeKind,
    /// How it was found.
    pub resolution: Resolution,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// The line of the reference that made it (a call site), if any.
    pub line: Option<u32>,
}

impl EdgeSummary {
    /// The summary of `edge`.
    pub fn of(edge: &Edge) -> EdgeSummary {
        EdgeSummary {
            src: edge.src,
            dst: edge.dst,
            kind: edge.kind,
            resolution: edge.resolution,
            line: edge.span.map(|s| s.start_line),
        }
    }
}

/// Nodes within `radius` edges of `id` in either direction (containment excluded, so
/// that a file does not pull in all its definitions), with the edges among them.
pub fn neighbourhood<S: GraphStore + ?Sized>(
    store: &S,
    project: &str,
    id: NodeId,
    radius: u32,
    max_nodes: usize,
    budget: &Budget,
) -> Result<Subgraph> {
    let mut seen: BTreeSet<NodeId> = BTreeSet::from([id]);
    let mut frontier = vec![id];
    'walk: for _ in 0..radius {
        let mut next = Vec::new();
        for &n in &frontier {
            for dir in [Direction::Outgoing, Direction::Incoming] {
                for kind in DEPENDENCY_EDGES {
                    let found = store.neighbours(project, n, dir, Some(kind))?;
                    if !budget.spend(1 + found.len() as u64)? {
                        break 'walk;
                    }
                    for m in found {
                        if seen.len() < max_nodes && seen.insert(m) {
                            next.push(m);
                        }
                    }
                }
            }
        }
        if next.is_empty() {
            break;
        }
        frontier = next;
    }
    let mut graph = Subgraph::default();
    let mut edges = BTreeSet::new();
    for &n in &seen {
        // The nodes found are all summarised, budget or not: they are at most
        // `max_nodes`, and a graph with nodes missing would mislead.
        budget.cancel().check()?;
        if let Some(node) = store.node(project, n)? {
            graph.nodes.push(NodeSummary::of(&node));
        }
        for e in store.edges(project, n, Direction::Outgoing, None)? {
            if e.kind != EdgeKind::Contains && seen.contains(&e.dst) {
                edges.insert(EdgeSummary::of(&e));
            }
        }
    }
    graph.nodes.sort();
    graph.edges = edges.into_iter().collect();
    Ok(graph)
}

/// Writes a subgraph in Graphviz DOT.
pub fn write_dot(out: &mut dyn Write, graph: &Subgraph) -> std::io::Result<()> {
    writeln!(out, "digraph codegraph {{")?;
    writeln!(out, "  rankdir=LR;")?;
    writeln!(out, "  node [shape=box, fontname=\"monospace\"];")?;
    for n in &graph.nodes {
        writeln!(
            out,
            "  \"{}\" [label=\"{}\\n{} {}:{}\"];",
            n.id,
            dot_escape(&n.qualified_name),
            n.kind,
            dot_escape(&n.path),
            n.line
        )?;
    }
    for e in &graph.edges {
        let style = match e.resolution {
            Resolution::Ambiguous | Resolution::UniqueName => ", style=dashed",
            Resolution::Dispatch => ", style=dotted",
            _ => "",
        };
        writeln!(
            out,
            "  \"{}\" -> \"{}\" [label=\"{}\"{style}];",
            e.src, e.dst, e.kind
        )?;
    }
    writeln!(out, "}}")
}

fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Writes a project as JSON lines: per file in path order, its nodes in source order,
/// then the `contains` edges, the resolved edges and the unresolved references. The same
/// graph always gives the same bytes.
pub fn export_jsonl<S: GraphStore + ?Sized>(
    store: &S,
    project: &str,
    out: &mut dyn Write,
) -> Result<ExportCounts> {
    let io = |e: std::io::Error| Error::io("<export>", e);
    let mut counts = ExportCounts::default();
    let files: BTreeMap<String, _> = store
        .files(project)?
        .into_iter()
        .map(|f| (f.path.clone(), f))
        .collect();
    for (path, record) in &files {
        let mut lines_of: HashMap<NodeId, u32> = HashMap::new();
        let mut nodes = Vec::with_capacity(record.node_ids.len());
        for id in &record.node_ids {
            let Some(node) = store.node(project, *id)? else {
                return Err(Error::Corrupt(format!(
                    "{path}: node {id} listed by the file is missing"
                )));
            };
            lines_of.insert(node.id, node.span.start_line);
            let line = ExportNode {
                r#type: "node",
                id: node.id.to_string(),
                kind: node.kind,
                name: &node.name,
                qualified_name: &node.qualified_name,
                language: node.language,
                path: &node.path,
                line: node.span.start_line,
                end_line: node.span.end_line,
                column: node.span.start_column,
                name_line: node.name_span.start_line,
                visibility: node.visibility,
                parent: node.parent.map(|p| p.to_string()),
                signature: node.signature.as_deref(),
            };
            serde_json::to_writer(&mut *out, &line).map_err(|e| Error::io("<export>", e.into()))?;
            out.write_all(b"\n").map_err(io)?;
            counts.nodes += 1;
            nodes.push(node);
        }
        for node in &nodes {
            if let Some(parent) = node.parent {
                write_edge(
                    out,
                    &ExportEdge {
                        r#type: "edge",
                        kind: EdgeKind::Contains,
                        src: parent.to_string(),
                        dst: Some(node.id.to_string()),
                        resolution: Resolution::Syntax,
                        line: None,
                        column: None,
                        name: None,
                    },
                )?;
                counts.edges += 1;
            }
        }
        let resolution = store.resolution(project, path)?.unwrap_or_default();
        let refs = store.references(project, path)?;
        let sep = nodes.first().map_or(".", |n| n.language.path_separator());
        let written = |r: &codegraph_core::Reference| match &r.qualifier {
            Some(q) if q.ends_with('.') || q.ends_with('/') => format!("{q}{}", r.name),
            Some(q) => format!("{q}{sep}{}", r.name),
            None => r.name.clone(),
        };
        let sites = Sites::new(&refs);
        for edge in &resolution.edges {
            let name = sites.of(edge, None).map(written);
            write_edge(
                out,
                &ExportEdge {
                    r#type: "edge",
                    kind: edge.kind,
                    src: edge.src.to_string(),
                    dst: Some(edge.dst.to_string()),
                    resolution: edge.resolution,
                    line: edge.span.map(|s| s.start_line),
                    column: edge.span.map(|s| s.start_column),
                    name,
                },
            )?;
            counts.edges += 1;
        }
        if !resolution.unresolved.is_empty() {
            for &i in &resolution.unresolved {
                let Some(r) = refs.get(i as usize) else {
                    continue;
                };
                let name = written(r);
                write_edge(
                    out,
                    &ExportEdge {
                        r#type: "edge",
                        kind: r.kind.edge_kind(),
                        src: r.source.to_string(),
                        dst: None,
                        resolution: Resolution::Unresolved,
                        line: Some(r.span.start_line),
                        column: Some(r.span.start_column),
                        name: Some(name),
                    },
                )?;
                counts.unresolved += 1;
            }
        }
    }
    Ok(counts)
}

/// One file's references by site, to find the reference an edge came from.
pub struct Sites<'a> {
    by_site: HashMap<(EdgeKind, u32, u32), Vec<&'a codegraph_core::Reference>>,
}

impl<'a> Sites<'a> {
    /// The references of one file.
    pub fn new(refs: &'a [codegraph_core::Reference]) -> Sites<'a> {
        let mut by_site: HashMap<_, Vec<_>> = HashMap::new();
        for r in refs {
            by_site
                .entry((r.kind.edge_kind(), r.span.start_byte, r.span.end_byte))
                .or_default()
                .push(r);
        }
        Sites { by_site }
    }

    /// The reference `edge` came from, by kind and whole span (`A(x).b()` and `A(x)`
    /// start at the same byte). Among the names of one statement (`import { a, b }`,
    /// one span) it is the one whose binding is the edge's source, else the one named
    /// `dst_name`, else the last.
    pub fn of(&self, edge: &Edge, dst_name: Option<&str>) -> Option<&'a codegraph_core::Reference> {
        let span = edge.span?;
        let site = self
            .by_site
            .get(&(edge.kind, span.start_byte, span.end_byte))?;
        self.exact(edge, dst_name).or(site.last().copied())
    }

    /// [`Sites::of`] without the guess: `None` when several references share the site
    /// and neither the binding nor the name tells which.
    pub fn exact(
        &self,
        edge: &Edge,
        dst_name: Option<&str>,
    ) -> Option<&'a codegraph_core::Reference> {
        let span = edge.span?;
        let site = self
            .by_site
            .get(&(edge.kind, span.start_byte, span.end_byte))?;
        if let [one] = site.as_slice() {
            return Some(one);
        }
        site.iter()
            .find(|r| edge.kind == EdgeKind::Imports && r.source == edge.src)
            .or_else(|| site.iter().find(|r| Some(r.name.as_str()) == dst_name))
            .copied()
    }
}

fn write_edge(out: &mut dyn Write, edge: &ExportEdge) -> Result<()> {
    serde_json::to_writer(&mut *out, edge).map_err(|e| Error::io("<export>", e.into()))?;
    out.write_all(b"\n").map_err(|e| Error::io("<export>", e))
}

/// How much an export wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExportCounts {
    /// Node records written.
    pub nodes: u64,
    /// Edge records written.
    pub edges: u64,
    /// References written with no target (`"dst": null`).
    pub unresolved: u64,
}

#[derive(Serialize)]
struct ExportNode<'a> {
    r#type: &'static str,
    id: String,
    kind: NodeKind,
    name: &'a str,
    qualified_name: &'a str,
    language: Language,
    path: &'a str,
    line: u32,
    end_line: u32,
    column: u32,
    name_line: u32,
    visibility: codegraph_core::Visibility,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signature: Option<&'a str>,
}

#[derive(Serialize)]
struct ExportEdge {
    r#type: &'static str,
    kind: EdgeKind,
    src: String,
    dst: Option<String>,
    resolution: Resolution,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    column: Option<u32>,
    /// The callee, import, or base as written at the site.
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{IndexOptions, IndexProgress, MemoryStore, index};
    use codegraph_core::Cancel;
    use codegraph_parse::filter::{Filter, FilterConfig};
    use codegraph_parse::source::MemorySource;
    use codegraph_parse::{ExtractOptions, Pipeline};

    /// `hub` called by 50 functions.
    fn store() -> MemoryStore {
        let mut text = String::from("def hub():\n    pass\n");
        for i in 0..50 {
            text += &format!("def f{i}():\n    hub()\n");
        }
        indexed(&[("m.py", &text)])
    }

    /// Project `p` of a store holding `files`.
    fn indexed(files: &[(&str, &str)]) -> MemoryStore {
        let store = MemoryStore::new();
        let mut source = MemorySource::new(
            "t",
            files
                .iter()
                .map(|(p, t)| (p.to_string(), t.as_bytes().to_vec()))
                .collect(),
        );
        let pipeline = Pipeline::new(
            Filter::new(FilterConfig::default()).unwrap(),
            ExtractOptions::default(),
        );
        index(
            &store,
            "p",
            &mut source,
            pipeline,
            &IndexOptions::default(),
            &IndexProgress::default(),
        )
        .unwrap();
        store
    }

    #[test]
    fn impact_labels_what_a_guess_reached_and_can_leave_it_out() {
        let files = [
            ("a.py", "def target():\n    pass\n"),
            (
                "b.py",
                "from a import target\n\ndef direct():\n    target()\n",
            ),
            ("c.py", "def guessed():\n    target()\n"),
            (
                "d.py",
                "from c import guessed\n\ndef after_guess():\n    guessed()\n",
            ),
            (
                "e.py",
                "from b import direct\n\ndef after_direct():\n    direct()\n",
            ),
            // A guess reaches it at depth 1, certain edges at depth 2: it is certain.
            (
                "f.py",
                "from b import direct\n\ndef both():\n    target()\n    direct()\n",
            ),
        ];
        let store = indexed(&files);
        let all = Budget::unlimited();
        let target = lookup(&store, "p", "a.target", &all).unwrap()[0].id;
        // Functions reached, sorted: (name, depth, certain).
        let labelled = |certain_only| {
            let mut out: Vec<(String, u32, bool)> =
                impact(&store, "p", target, 2, certain_only, &all)
                    .unwrap()
                    .into_iter()
                    .filter(|r| r.node.kind == NodeKind::Function)
                    .map(|r| (r.node.name, r.depth, r.certain))
                    .collect();
            out.sort();
            out
        };
        let named = |rows: &[(&str, u32, bool)]| -> Vec<(String, u32, bool)> {
            rows.iter()
                .map(|&(n, d, c)| (n.to_string(), d, c))
                .collect()
        };
        assert_eq!(
            labelled(false),
            named(&[
                ("after_direct", 2, true),
                ("after_guess", 2, false),
                ("both", 1, true),
                ("direct", 1, true),
                ("guessed", 1, false),
            ])
        );
        assert_eq!(
            labelled(true),
            named(&[
                ("after_direct", 2, true),
                ("both", 2, true),
                ("direct", 1, true)
            ])
        );
    }

    #[test]
    fn queries_stop_at_their_budget_and_at_a_stop() {
        let store = store();
        let all = Budget::unlimited();
        let hub = lookup(&store, "p", "m.hub", &all).unwrap()[0].id;
        let f0 = lookup(&store, "p", "m.f0", &all).unwrap()[0].id;
        let whole = calls(&store, "p", hub, Direction::Incoming, &all).unwrap();
        assert_eq!(whole.len(), 50);
        assert!(!all.truncated());

        let small = Budget::new(10, Cancel::new());
        let part = calls(&store, "p", hub, Direction::Incoming, &small).unwrap();
        assert!(part.len() <= 10 && small.truncated(), "{}", part.len());
        let small = Budget::new(10, Cancel::new());
        let fuzzy = find(
            &store,
            "p",
            "f",
            Match::Fuzzy,
            &Filters::default(),
            100,
            &small,
        );
        assert!(fuzzy.unwrap().len() <= 10 && small.truncated());
        let small = Budget::new(10, Cancel::new());
        let reached = impact(&store, "p", hub, 3, false, &small).unwrap();
        assert!(reached.len() < 50 && small.truncated());

        let stopped = Budget::new(u64::MAX, Cancel::new());
        stopped.cancel().cancel();
        let is_stop = |r: Result<usize>| matches!(r, Err(Error::Stopped));
        assert!(is_stop(
            find(
                &store,
                "p",
                "f",
                Match::Fuzzy,
                &Filters::default(),
                9,
                &stopped
            )
            .map(|v| v.len())
        ));
        assert!(is_stop(
            lookup(&store, "p", "m.hub", &stopped).map(|v| v.len())
        ));
        assert!(is_stop(
            calls(&store, "p", hub, Direction::Incoming, &stopped).map(|v| v.len())
        ));
        assert!(is_stop(
            impact(&store, "p", hub, 2, false, &stopped).map(|v| v.len())
        ));
        assert!(is_stop(
            shortest_path(&store, "p", f0, hub, 5, &stopped).map(|v| v.len())
        ));
        assert!(is_stop(
            outline(&store, "p", "m.py", &stopped).map(|v| v.len())
        ));
        assert!(is_stop(
            neighbourhood(&store, "p", hub, 1, 10, &stopped).map(|g| g.nodes.len())
        ));
    }

    #[test]
    fn fuzzy_prefers_tight_early_matches() {
        let n: Vec<char> = "gcs".chars().collect();
        let tight = fuzzy_score(&n, "get_callers").unwrap();
        let exact: Vec<char> = "parse".chars().collect();
        assert_eq!(fuzzy_score(&exact, "Parse"), Some(1.0));
        assert!(fuzzy_score(&n, "xyz").is_none());
        let loose = fuzzy_score(&n, "the_great_big_cursor_store").unwrap();
        assert!(tight > loose, "{tight} <= {loose}");
    }
}
