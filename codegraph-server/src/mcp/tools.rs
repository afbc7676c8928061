//! The MCP tools: typed engine answers rendered as compact text within a token budget,
//! each ending with how fresh the index is.
//!
//! The descriptions are short on purpose: every conversation pays for them
//! (docs/PERFORMANCE.md measures them).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use codegraph::store::query::{Filters, Match};
use codegraph::{Budget, Cancel, Db, Language, Mode, NodeKind, RepoMapRequest, SearchRequest};
use codegraph_core::{Node, Resolution};
use rmcp::handler::server::{router::tool::ToolRouter, wrapper::Parameters};
use rmcp::model::{Implementation, ServerCapabilities, ServerConfig};
use rmcp::schemars::{self, JsonSchema};
use rmcp::{ErrorData, ServerHandler, tool, tool_handler, tool_router};
use serde::Deserialize;

use super::page::{self, Page};

/// Work one tool call's queries may do, in visits (as the HTTP API's query budget).
const VISITS: u64 = 5_000_000;
/// Results a search ranks, over all its pages.
const SEARCH_DEPTH: usize = 200;
/// The longest source line shown whole; longer ones (minified code) are cut.
const MAX_LINE_BYTES: usize = 1000;

/// A store a call reads, held for the length of the call.
pub trait Store: Send + Sync {
    fn db(&self) -> &Db;
}

impl Store for Db {
    fn db(&self) -> &Db {
        self
    }
}

/// What the tools need from the face that serves them: which store and project a call
/// may read, where its files are, and how fresh its index is. Called on a blocking
/// thread.
pub trait Scope: Send + Sync + 'static {
    /// The store and project a call reads: the project it names (if this caller may
    /// read it) or the default one. `request` holds what the transport knows of the
    /// caller (over HTTP, the request and its authenticated identity).
    fn open(
        &self,
        request: &rmcp::model::Extensions,
        named: Option<&str>,
    ) -> Result<(Arc<dyn Store>, String), ErrorData>;
    /// The directory the project's files are read from, for source text.
    fn root(&self, store: &dyn Store, project: &str) -> Option<PathBuf>;
    /// Waits (bounded) until files saved before now are indexed, then says how fresh
    /// the index is, in one line.
    fn freshen(&self, store: &dyn Store, project: &str) -> String;
    /// Lines about what is indexed and what is under way.
    fn status(&self, store: &dyn Store, project: &str) -> Vec<String>;
    /// The work a call may do: by default its own budget, stopped when the client
    /// cancels the call; a server gives the request's, which also stops when the
    /// request times out or its connection goes.
    fn budget(&self, _request: &rmcp::model::Extensions) -> Arc<Budget> {
        Arc::new(Budget::new(VISITS, Cancel::new()))
    }
}

#[derive(Clone)]
pub struct Tools {
    scope: Arc<dyn Scope>,
    tool_router: ToolRouter<Tools>,
}

fn bad(msg: impl Into<String>) -> ErrorData {
    ErrorData::invalid_params(msg.into(), None)
}

fn engine(e: codegraph::Error) -> ErrorData {
    match e {
        codegraph::Error::NotFound(m) | codegraph::Error::InvalidInput(m) => bad(m),
        codegraph::Error::Stopped => ErrorData::internal_error("the request was cancelled", None),
        other => ErrorData::internal_error(other.to_string(), None),
    }
}

// Which edges an answer keeps: every edge (guesses by name labelled `guess:*`), or
// only those resolved through scope, imports, types or a SCIP index. No doc comments:
// schemars would put them in every tool definition that takes one.
#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema, PartialEq)]
#[serde(rename_all = "snake_case")]
#[schemars(description = "")]
pub enum Confidence {
    #[default]
    Any,
    Certain,
}

fn label(r: Resolution) -> String {
    if r.is_guess() {
        format!("guess:{r}")
    } else {
        r.to_string()
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SearchArgs {
    /// Words or code.
    pub query: String,
    /// hybrid (default), text or semantic.
    pub mode: Option<String>,
    /// Only this language (rust, python, typescript, ...).
    pub language: Option<String>,
    /// Only this kind (function, method, class, struct, ...).
    pub kind: Option<String>,
    /// Only paths matching this glob, e.g. src/**/*.rs.
    pub path: Option<String>,
    #[serde(default, deserialize_with = "lenient::number")]
    pub max_tokens: Option<u32>,
    pub cursor: Option<String>,
    pub project: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SymbolArgs {
    /// Name, qualified name, id or path:line.
    pub name: String,
    /// Include the source of the definition.
    #[serde(default, deserialize_with = "lenient::flag")]
    pub body: Option<bool>,
    #[serde(default, deserialize_with = "lenient::number")]
    pub max_tokens: Option<u32>,
    pub project: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CallsArgs {
    /// Name, qualified name, id or path:line.
    pub name: String,
    /// any (default; guesses labelled) or certain.
    pub min_confidence: Option<Confidence>,
    #[serde(default, deserialize_with = "lenient::number")]
    pub max_tokens: Option<u32>,
    pub cursor: Option<String>,
    pub project: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ImpactArgs {
    /// Name, qualified name, id or path:line.
    pub name: String,
    /// Edges to follow, 1-5 (default 2).
    #[serde(default, deserialize_with = "lenient::number")]
    pub depth: Option<u32>,
    /// any (default; reached through a guess is labelled) or certain.
    pub min_confidence: Option<Confidence>,
    #[serde(default, deserialize_with = "lenient::number")]
    pub max_tokens: Option<u32>,
    pub cursor: Option<String>,
    pub project: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct OutlineArgs {
    /// A file, or a directory ("" for the whole project).
    pub path: String,
    #[serde(default, deserialize_with = "lenient::number")]
    pub max_tokens: Option<u32>,
    pub cursor: Option<String>,
    pub project: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SnippetArgs {
    /// A symbol (name, qualified name, id or path:line); or give path and lines.
    pub name: Option<String>,
    pub path: Option<String>,
    #[serde(default, deserialize_with = "lenient::number")]
    pub start_line: Option<u32>,
    #[serde(default, deserialize_with = "lenient::number")]
    pub end_line: Option<u32>,
    #[serde(default, deserialize_with = "lenient::number")]
    pub max_tokens: Option<u32>,
    pub project: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct RepoMapArgs {
    /// Files to centre the map on.
    pub paths: Option<Vec<String>>,
    /// Symbols to centre the map on.
    pub names: Option<Vec<String>>,
    #[serde(default, deserialize_with = "lenient::number")]
    pub max_tokens: Option<u32>,
    pub project: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct StatusArgs {
    pub project: Option<String>,
}

/// Numbers and flags as JSON has them, or as strings: some clients (the MCP Inspector's
/// command line) and some models send `"400"` for 400.
mod lenient {
    use serde::{Deserialize, Deserializer, de::Error};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either<T> {
        Value(T),
        Text(String),
    }

    pub fn number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
        match Option::<Either<u32>>::deserialize(d)? {
            None => Ok(None),
            Some(Either::Value(n)) => Ok(Some(n)),
            Some(Either::Text(t)) => t
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| D::Error::custom(format!("{t:?} is not a whole number"))),
        }
    }

    pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        match Option::<Either<bool>>::deserialize(d)? {
            None => Ok(None),
            Some(Either::Value(b)) => Ok(Some(b)),
            Some(Either::Text(t)) => match t.trim() {
                "true" => Ok(Some(true)),
                "false" => Ok(Some(false)),
                _ => Err(D::Error::custom(format!("{t:?} is not true or false"))),
            },
        }
    }
}

/// A call's store, project, budget and freshness, worked out before its query runs.
struct Call {
    scope: Arc<dyn Scope>,
    store: Arc<dyn Store>,
    project: String,
    fresh: String,
    budget: Arc<Budget>,
}

impl Tools {
    pub fn new(scope: Arc<dyn Scope>) -> Tools {
        Tools {
            scope,
            tool_router: Self::tool_router(),
        }
    }

    /// Runs `work` on a blocking thread after bringing the project up to date, and
    /// stops its queries when the client cancels the request.
    async fn run<F>(
        &self,
        project: Option<&str>,
        cancel: rmcp::service::RequestContext<rmcp::RoleServer>,
        work: F,
    ) -> Result<String, ErrorData>
    where
        F: FnOnce(&Call) -> Result<String, ErrorData> + Send + 'static,
    {
        let project = project.map(str::to_string);
        let scope = Arc::clone(&self.scope);
        let budget = scope.budget(&cancel.extensions);
        let watch = {
            let stop = budget.cancel().clone();
            let ct = cancel.ct.clone();
            tokio::spawn(async move {
                ct.cancelled().await;
                stop.cancel();
            })
        };
        let request = cancel.extensions.clone();
        let task = tokio::task::spawn_blocking(move || {
            let (store, project) = scope.open(&request, project.as_deref())?;
            let fresh = scope.freshen(store.as_ref(), &project);
            let call = Call {
                scope,
                store,
                project,
                fresh,
                budget,
            };
            work(&call)
        });
        let out = task.await;
        watch.abort();
        out.map_err(|e| ErrorData::internal_error(format!("the tool failed: {e}"), None))?
    }
}

impl Call {
    fn db(&self) -> &Db {
        self.store.db()
    }

    /// The one definition `spec` names; unknown names get the nearest ones.
    fn symbol(&self, spec: &str) -> Result<Node, ErrorData> {
        let spec = spec.trim();
        if spec.is_empty() || spec.len() > 1024 {
            return Err(bad("name must be 1 to 1024 characters"));
        }
        let nodes = self
            .db()
            .lookup(&self.project, spec, &self.budget)
            .map_err(engine)?;
        match nodes.len() {
            1 => Ok(nodes.into_iter().next().expect("one node")),
            0 => {
                let near = self
                    .db()
                    .find(
                        &self.project,
                        spec.rsplit(['.', ':', '/']).next().unwrap_or(spec),
                        Match::Fuzzy,
                        &Filters::default(),
                        5,
                        &self.budget,
                    )
                    .map_err(engine)?;
                let mut msg = format!("no symbol {spec:?} in project {}", self.project);
                if !near.is_empty() {
                    msg += "; nearest: ";
                    let names: Vec<String> = near
                        .iter()
                        .map(|h| {
                            format!(
                                "{} ({}:{})",
                                h.node.qualified_name, h.node.path, h.node.line
                            )
                        })
                        .collect();
                    msg += &names.join(", ");
                }
                Err(bad(msg))
            }
            n => {
                let mut msg = format!(
                    "{spec:?} names {n} symbols; pass a qualified name, an id or path:line:"
                );
                for node in nodes.iter().take(10) {
                    let _ = write!(
                        msg,
                        "\n  {} {} {}:{} id={}",
                        node.kind, node.qualified_name, node.path, node.span.start_line, node.id
                    );
                }
                Err(bad(msg))
            }
        }
    }

    /// Lines `from..=to` of a project file, numbered, within `page`; the first line
    /// that did not fit, if any.
    fn source(
        &self,
        path: &str,
        from: u32,
        to: u32,
        page: &mut Page,
    ) -> Result<Option<u32>, ErrorData> {
        let Some(root) = self.scope.root(self.store.as_ref(), &self.project) else {
            return Err(bad(format!(
                "project {} was not indexed from a directory: its source is not at hand",
                self.project
            )));
        };
        let bytes = crate::project_file::read(self.db(), &self.project, &root, path).map_err(
            |e| match e {
                crate::project_file::FileError::Store(e) => engine(e),
                other => bad(other.to_string()),
            },
        )?;
        let text = String::from_utf8_lossy(&bytes);
        for (n, line) in text.lines().enumerate() {
            let n = n as u32 + 1;
            if n < from {
                continue;
            }
            if n > to {
                break;
            }
            let shown = if line.len() > MAX_LINE_BYTES {
                format!(
                    "{n:>5} {} [line cut at {MAX_LINE_BYTES} bytes]",
                    one_line(line, MAX_LINE_BYTES)
                )
            } else {
                format!("{n:>5} {line}")
            };
            if !page.push(&shown) {
                return Ok(Some(n));
            }
        }
        Ok(None)
    }

    fn finish(&self, page: Page, more: Option<String>) -> String {
        let mut footer = self.fresh.clone();
        if self.budget.truncated() {
            footer.insert_str(
                0,
                "note: the query's work limit was reached; the list may be incomplete\n",
            );
        }
        page.finish(more, &footer)
    }
}

fn parse_language(s: &str) -> Result<Language, ErrorData> {
    s.parse()
        .map_err(|_| bad(format!("unknown language {s:?}")))
}

fn parse_kind(s: &str) -> Result<NodeKind, ErrorData> {
    s.parse().map_err(|_| bad(format!("unknown kind {s:?}")))
}

fn one_line(s: &str, max: usize) -> String {
    let line = s.lines().next().unwrap_or("").trim();
    if line.len() <= max {
        return line.to_string();
    }
    let mut end = max;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &line[..end])
}

#[tool_router]
impl Tools {
    #[tool(
        description = "Search definitions by words or code (hybrid text+semantic by default). Returns ranked path:line, kind, name, signature."
    )]
    async fn search(
        &self,
        Parameters(a): Parameters<SearchArgs>,
        ctx: rmcp::service::RequestContext<rmcp::RoleServer>,
    ) -> Result<String, ErrorData> {
        let max = page::budget(a.max_tokens);
        let start = page::offset(a.cursor.as_deref()).map_err(bad)?;
        if a.query.trim().is_empty() || a.query.len() > 4096 {
            return Err(bad("query must be 1 to 4096 characters"));
        }
        // One depth for every page, so that the pages cut one ranking: a limit that grew
        // with the cursor would rank each page over other candidates.
        let mut request = SearchRequest::new(a.query.clone()).limit(SEARCH_DEPTH);
        if let Some(m) = &a.mode {
            request.mode = m
                .parse::<Mode>()
                .map_err(|_| bad(format!("mode {m:?}: hybrid, text or semantic")))?;
        }
        if let Some(l) = &a.language {
            request.languages = vec![parse_language(l)?];
        }
        if let Some(k) = &a.kind {
            request.kinds = vec![parse_kind(k)?];
        }
        request.path_glob = a.path.clone();
        self.run(a.project.as_deref(), ctx, move |c| {
            let found = c.db().search(&c.project, &request).map_err(engine)?;
            let mut header = format!(
                "search {:?} ({}):",
                one_line(&a.query, 120),
                found.mode.as_str()
            );
            for note in &found.notes {
                let _ = write!(header, "\nnote: {}", one_line(note, 200));
            }
            let mut page = Page::new(&header, max);
            let mut next = None;
            for (i, hit) in found.results.iter().enumerate().skip(start) {
                let node = c.db().node(&c.project, hit.id).map_err(engine)?;
                let mut block = format!(
                    "{}:{} {} {}",
                    hit.path, hit.line, hit.kind, hit.qualified_name
                );
                if let Some(sig) = node
                    .as_ref()
                    .and_then(|n| n.signature.as_deref())
                    .filter(|s| *s != hit.name)
                {
                    let _ = write!(block, "\n    {}", one_line(sig, 200));
                }
                if let Some(doc) = node.as_ref().and_then(|n| n.doc.as_deref()) {
                    let _ = write!(block, "\n    // {}", one_line(doc, 160));
                }
                if !page.push(&block) {
                    next = Some(i);
                    break;
                }
            }
            if found.results.len() <= start {
                page.push("no results");
            }
            let more = next.map(|i| format!("pass cursor=\"{i}\" for more"));
            Ok(c.finish(page, more))
        })
        .await
    }

    #[tool(
        description = "A definition: kind, location, signature, doc, and with body=true its source."
    )]
    async fn symbol(
        &self,
        Parameters(a): Parameters<SymbolArgs>,
        ctx: rmcp::service::RequestContext<rmcp::RoleServer>,
    ) -> Result<String, ErrorData> {
        let max = page::budget(a.max_tokens);
        self.run(a.project.as_deref(), ctx, move |c| {
            let node = c.symbol(&a.name)?;
            let mut page = Page::new(
                &format!(
                    "{} {}\n{}:{}-{} ({}, id={})",
                    node.kind,
                    node.qualified_name,
                    node.path,
                    node.span.start_line,
                    node.span.end_line,
                    node.language,
                    node.id
                ),
                max,
            );
            if let Some(sig) = &node.signature {
                page.push(&format!("signature: {sig}"));
            }
            if let Some(doc) = &node.doc {
                let doc: String = doc.lines().take(20).collect::<Vec<_>>().join("\n");
                page.push(&format!("doc: {doc}"));
            }
            let mut more = None;
            if a.body.unwrap_or(false) {
                let end = node.span.end_line.max(node.span.start_line);
                if let Some(line) = c.source(&node.path, node.span.start_line, end, &mut page)? {
                    more = Some(format!(
                        "call snippet with path=\"{}\", start_line={line}, end_line={end} for the rest",
                        node.path
                    ));
                }
            }
            Ok(c.finish(page, more))
        })
        .await
    }

    #[tool(
        description = "Who calls a symbol, grouped by file; each edge says how it was resolved (guess:* = by name only)."
    )]
    async fn callers(
        &self,
        Parameters(a): Parameters<CallsArgs>,
        ctx: rmcp::service::RequestContext<rmcp::RoleServer>,
    ) -> Result<String, ErrorData> {
        self.calls(a, ctx, true).await
    }

    #[tool(
        description = "What a symbol calls, grouped by file; each edge says how it was resolved (guess:* = by name only)."
    )]
    async fn callees(
        &self,
        Parameters(a): Parameters<CallsArgs>,
        ctx: rmcp::service::RequestContext<rmcp::RoleServer>,
    ) -> Result<String, ErrorData> {
        self.calls(a, ctx, false).await
    }

    #[tool(
        description = "What depends on a symbol (callers, subclasses, importers, and theirs), by distance."
    )]
    async fn impact(
        &self,
        Parameters(a): Parameters<ImpactArgs>,
        ctx: rmcp::service::RequestContext<rmcp::RoleServer>,
    ) -> Result<String, ErrorData> {
        let max = page::budget(a.max_tokens);
        let start = page::offset(a.cursor.as_deref()).map_err(bad)?;
        let depth = a.depth.unwrap_or(2);
        if !(1..=5).contains(&depth) {
            return Err(bad("depth must be 1 to 5"));
        }
        let certain_only = a.min_confidence.unwrap_or_default() == Confidence::Certain;
        self.run(a.project.as_deref(), ctx, move |c| {
            let node = c.symbol(&a.name)?;
            let reached = c
                .db()
                .impact(&c.project, node.id, depth, certain_only, &c.budget)
                .map_err(engine)?;
            let guessed = reached.iter().filter(|r| !r.certain).count();
            let files: std::collections::BTreeSet<&str> =
                reached.iter().map(|r| r.node.path.as_str()).collect();
            let mut page = Page::new(
                &format!(
                    "impact of {} {} within {depth}: {} definitions in {} files{}",
                    node.kind,
                    node.qualified_name,
                    reached.len(),
                    files.len(),
                    if certain_only {
                        " (certain edges only)".to_string()
                    } else if guessed > 0 {
                        format!(
                            "; {guessed} reached through a name-only guess, marked (guess); \
                             min_confidence=\"certain\" drops them"
                        )
                    } else {
                        String::new()
                    }
                ),
                max,
            );
            let mut next = None;
            for (i, r) in reached.iter().enumerate().skip(start) {
                let block = format!(
                    "{}{} {} {}:{}{}",
                    "  ".repeat(r.depth as usize),
                    r.node.kind,
                    r.node.qualified_name,
                    r.node.path,
                    r.node.line,
                    if r.certain { "" } else { " (guess)" }
                );
                if !page.push(&block) {
                    next = Some(i);
                    break;
                }
            }
            let more = next.map(|i| format!("pass cursor=\"{i}\" for more"));
            Ok(c.finish(page, more))
        })
        .await
    }

    #[tool(
        description = "Definitions in a file (nested), or the files of a directory with their top-level definitions."
    )]
    async fn outline(
        &self,
        Parameters(a): Parameters<OutlineArgs>,
        ctx: rmcp::service::RequestContext<rmcp::RoleServer>,
    ) -> Result<String, ErrorData> {
        let max = page::budget(a.max_tokens);
        let start = page::offset(a.cursor.as_deref()).map_err(bad)?;
        self.run(a.project.as_deref(), ctx, move |c| {
            let path = a
                .path
                .trim()
                .trim_start_matches("./")
                .trim_end_matches('/')
                .to_string();
            if c.db()
                .graph()
                .file(&c.project, &path)
                .map_err(engine)?
                .is_some()
            {
                let items = c
                    .db()
                    .outline(&c.project, &path, &c.budget)
                    .map_err(engine)?;
                let mut page = Page::new(&format!("{path}: {} definitions", items.len()), max);
                let mut next = None;
                for (i, r) in items.iter().enumerate().skip(start) {
                    let what = r
                        .node
                        .signature
                        .as_deref()
                        .map(|s| one_line(s, 160))
                        .unwrap_or_else(|| format!("{} {}", r.node.kind, r.node.name));
                    let block = format!(
                        "{:>5} {}{}",
                        r.node.line,
                        "  ".repeat(r.depth.saturating_sub(1) as usize),
                        what
                    );
                    if !page.push(&block) {
                        next = Some(i);
                        break;
                    }
                }
                let more = next.map(|i| format!("pass cursor=\"{i}\" for more"));
                return Ok(c.finish(page, more));
            }
            let prefix = if path.is_empty() {
                String::new()
            } else {
                format!("{path}/")
            };
            let files: Vec<_> = c
                .db()
                .files(&c.project)
                .map_err(engine)?
                .into_iter()
                .filter(|f| f.path.starts_with(&prefix))
                .collect();
            if files.is_empty() {
                return Err(bad(format!(
                    "no file or directory {:?} in project {}",
                    a.path, c.project
                )));
            }
            let mut page = Page::new(
                &format!(
                    "{}: {} files",
                    if path.is_empty() { "." } else { &path },
                    files.len()
                ),
                max,
            );
            let mut next = None;
            for (i, f) in files.iter().enumerate().skip(start) {
                let items = c
                    .db()
                    .outline(&c.project, &f.path, &c.budget)
                    .map_err(engine)?;
                let mut block = format!("{} ({}, {} lines)", f.path, f.language, f.lines);
                for r in items.iter().filter(|r| r.depth == 1).take(30) {
                    let _ = write!(
                        block,
                        "\n  {:>5} {} {}",
                        r.node.line, r.node.kind, r.node.name
                    );
                }
                // A first block larger than the page goes in cut (`Page::push`).
                if !page.push(&block) {
                    next = Some(i);
                    break;
                }
            }
            let more = next.map(|i| format!("pass cursor=\"{i}\" for more"));
            Ok(c.finish(page, more))
        })
        .await
    }

    #[tool(
        description = "Source lines, numbered: of a symbol (name) or of path from start_line to end_line."
    )]
    async fn snippet(
        &self,
        Parameters(a): Parameters<SnippetArgs>,
        ctx: rmcp::service::RequestContext<rmcp::RoleServer>,
    ) -> Result<String, ErrorData> {
        let max = page::budget(a.max_tokens);
        self.run(a.project.as_deref(), ctx, move |c| {
            let (path, from, to) = match (&a.name, &a.path) {
                (Some(name), _) => {
                    let node = c.symbol(name)?;
                    (node.path.clone(), node.span.start_line, node.span.end_line)
                }
                (None, Some(path)) => {
                    let from = a.start_line.unwrap_or(1).max(1);
                    let to = a.end_line.unwrap_or(from.saturating_add(99));
                    if to < from {
                        return Err(bad("end_line is before start_line"));
                    }
                    (path.trim_start_matches("./").to_string(), from, to)
                }
                (None, None) => {
                    return Err(bad("give a name, or a path (with start_line and end_line)"));
                }
            };
            let mut page = Page::new(&format!("{path}:{from}-{to}"), max);
            let more = c.source(&path, from, to, &mut page)?.map(|line| {
                format!("call again with path=\"{path}\", start_line={line}, end_line={to}")
            });
            Ok(c.finish(page, more))
        })
        .await
    }

    #[tool(
        description = "The project's most central definitions (PageRank over the call graph), optionally around given files or symbols, grouped by file."
    )]
    async fn repo_map(
        &self,
        Parameters(a): Parameters<RepoMapArgs>,
        ctx: rmcp::service::RequestContext<rmcp::RoleServer>,
    ) -> Result<String, ErrorData> {
        let max = page::budget(a.max_tokens);
        self.run(a.project.as_deref(), ctx, move |c| {
            let mut request = RepoMapRequest {
                focus_paths: a
                    .paths
                    .clone()
                    .unwrap_or_default()
                    .into_iter()
                    .take(100)
                    .collect(),
                focus_symbols: Vec::new(),
                limit: 2000,
            };
            for name in a.names.iter().flatten().take(100) {
                request.focus_symbols.push(c.symbol(name)?.id);
            }
            let ranked = c
                .db()
                .repo_map(&c.project, &request, &c.budget)
                .map_err(engine)?;
            // Definitions best first, each charged to the page as it will be shown;
            // a file's header is charged with its first definition.
            let mut left = max.saturating_sub(200);
            let mut shown: Vec<&codegraph::Ranked> = Vec::new();
            let mut files: std::collections::HashSet<&str> = Default::default();
            for r in &ranked {
                let line = map_line(r);
                let mut cost = page::tokens(&line) + 1;
                if !files.contains(r.node.path.as_str()) {
                    cost += page::tokens(&r.node.path) + 2;
                }
                if cost > left {
                    break;
                }
                left -= cost;
                files.insert(r.node.path.as_str());
                shown.push(r);
            }
            // Files in order of their best definition, definitions in source order.
            let mut order: Vec<&str> = Vec::new();
            for r in &shown {
                if !order.contains(&r.node.path.as_str()) {
                    order.push(r.node.path.as_str());
                }
            }
            let focus = if request.focus_paths.is_empty() && request.focus_symbols.is_empty() {
                ""
            } else {
                " around the focus"
            };
            let mut page = Page::new(
                &format!(
                    "repo map{focus}: {} of {} ranked definitions",
                    shown.len(),
                    ranked.len()
                ),
                max,
            );
            for path in order {
                let mut defs: Vec<&&codegraph::Ranked> =
                    shown.iter().filter(|r| r.node.path == path).collect();
                defs.sort_by_key(|r| r.node.line);
                let mut block = format!("{path}:");
                for r in defs {
                    block.push('\n');
                    block.push_str(&map_line(r));
                }
                page.push(&block);
            }
            let more = (shown.len() < ranked.len())
                .then(|| "raise max_tokens for more of the map".to_string());
            Ok(c.finish(page, more))
        })
        .await
    }

    #[tool(
        description = "What is indexed (files, languages), when it was updated, what changed since, whether an update runs."
    )]
    async fn status(
        &self,
        Parameters(a): Parameters<StatusArgs>,
        ctx: rmcp::service::RequestContext<rmcp::RoleServer>,
    ) -> Result<String, ErrorData> {
        self.run(a.project.as_deref(), ctx, move |c| {
            let files = c.db().files(&c.project).map_err(engine)?;
            let mut by_language: std::collections::BTreeMap<String, (usize, u64)> =
                Default::default();
            for f in &files {
                let e = by_language.entry(f.language.to_string()).or_default();
                e.0 += 1;
                e.1 += u64::from(f.lines);
            }
            let mut page = Page::new(
                &format!("project {}: {} files", c.project, files.len()),
                page::MAX_TOKENS,
            );
            for (lang, (n, lines)) in by_language {
                page.push(&format!("  {lang}: {n} files, {lines} lines"));
            }
            for line in c.scope.status(c.store.as_ref(), &c.project) {
                page.push(&line);
            }
            Ok(c.finish(page, None))
        })
        .await
    }
}

/// One definition's line in the repo map: its signature, or its kind and name.
fn map_line(r: &codegraph::Ranked) -> String {
    match &r.node.signature {
        Some(sig) => format!("│ {:>5} {}", r.node.line, one_line(sig, 160)),
        None => format!("│ {:>5} {} {}", r.node.line, r.node.kind, r.node.name),
    }
}

impl Tools {
    async fn calls(
        &self,
        a: CallsArgs,
        ctx: rmcp::service::RequestContext<rmcp::RoleServer>,
        callers: bool,
    ) -> Result<String, ErrorData> {
        let max = page::budget(a.max_tokens);
        let start = page::offset(a.cursor.as_deref()).map_err(bad)?;
        let certain_only = a.min_confidence.unwrap_or_default() == Confidence::Certain;
        self.run(a.project.as_deref(), ctx, move |c| {
            let node = c.symbol(&a.name)?;
            let mut found = if callers {
                c.db().callers(&c.project, node.id, &c.budget)
            } else {
                c.db().callees(&c.project, node.id, &c.budget)
            }
            .map_err(engine)?;
            let all = found.len();
            let guesses = found.iter().filter(|r| r.resolution.is_guess()).count();
            if certain_only {
                found.retain(|r| !r.resolution.is_guess());
            }
            // Certain edges first, then grouped by the file of the site (callers) or
            // of the callee (callees).
            let file = |r: &codegraph::Related| -> String {
                if callers {
                    r.site_path.clone().unwrap_or_else(|| r.node.path.clone())
                } else {
                    r.node.path.clone()
                }
            };
            found.sort_by(|x, y| {
                (x.resolution.is_guess(), file(x), x.site_line).cmp(&(
                    y.resolution.is_guess(),
                    file(y),
                    y.site_line,
                ))
            });
            let what = if callers { "callers of" } else { "callees of" };
            let mut page = Page::new(
                &format!(
                    "{what} {} {} ({}:{}): {all} sites, {guesses} guessed by name{}",
                    node.kind,
                    node.qualified_name,
                    node.path,
                    node.span.start_line,
                    if certain_only {
                        ", guesses left out"
                    } else {
                        ""
                    }
                ),
                max,
            );
            let mut next = None;
            let mut i = start;
            while i < found.len() {
                let f = file(&found[i]);
                let guess = found[i].resolution.is_guess();
                let mut block = format!("{f}{}:", if guess { " (guesses)" } else { "" });
                let mut j = i;
                while j < found.len()
                    && file(&found[j]) == f
                    && found[j].resolution.is_guess() == guess
                {
                    let r = &found[j];
                    let at = r.site_line.map(|l| format!("L{l} ")).unwrap_or_default();
                    let whose = if callers {
                        format!("{} {}", r.node.kind, r.node.qualified_name)
                    } else {
                        format!(
                            "{} {} ({}:{})",
                            r.node.kind, r.node.qualified_name, r.node.path, r.node.line
                        )
                    };
                    let line = format!("\n  {at}{whose} [{}]", label(r.resolution));
                    // A group larger than a page is cut inside.
                    if page::tokens(&block) + page::tokens(&line) + 1 > page.left() && j > i {
                        break;
                    }
                    block.push_str(&line);
                    j += 1;
                }
                if !page.push(&block) {
                    next = Some(i);
                    break;
                }
                i = j;
            }
            if found.is_empty() {
                page.push("none");
            }
            if next.is_none() && i < found.len() {
                next = Some(i);
            }
            let more = next.map(|i| format!("pass cursor=\"{i}\" for more"));
            Ok(c.finish(page, more))
        })
        .await
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Tools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("codegraph", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "CodeGraph: the code graph of this project. A symbol may be named by its simple \
                 or qualified name, path:line or id. Every answer fits max_tokens (default \
                 3000) and ends with the index's freshness; a cut list ends with \
                 `truncated:` and the cursor or arguments for the rest. Edges labelled \
                 guess:* were resolved by name only. `project` is needed only where the \
                 server holds several.",
            )
    }
}
