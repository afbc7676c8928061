//! `codegraph query ...`, `codegraph export`, `codegraph projects`, `codegraph check`:
//! the engine's graph answers, printed.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use codegraph::core::{Direction, Embedder, Node};
use codegraph::store::query;
use codegraph::{Budget, Db, DbOptions, Filters, Language, Match, NodeKind, NodeSummary};
use serde::Serialize;

/// Where the graph lives.
#[derive(Debug, Args)]
pub struct DbArgs {
    /// The store directory (created when absent).
    #[arg(long, env = "CODEGRAPH_DB", default_value = ".codegraph")]
    pub db: PathBuf,

    /// The project inside the store. `index` defaults to the input directory's name;
    /// the other commands to the store's only project.
    #[arg(long, short = 'p', env = "CODEGRAPH_PROJECT")]
    pub project: Option<String>,
}

impl DbArgs {
    /// Opens an existing store for reading: never creates one, and takes no lock, so
    /// queries run while `codegraph index --watch` holds the store.
    pub fn open_existing(&self, embedder: Option<Arc<dyn Embedder>>) -> anyhow::Result<Db> {
        if !self.db.exists() {
            bail!(
                "no store at {} (run `codegraph index PATH --db {}` first)",
                self.db.display(),
                self.db.display()
            );
        }
        let options = DbOptions {
            embedder,
            ..DbOptions::default()
        };
        Db::open_read_only(&self.db, options)
            .with_context(|| format!("cannot open store {}", self.db.display()))
    }

    /// The project these flags name, or the store's only one.
    pub fn project_of(&self, db: &Db) -> anyhow::Result<String> {
        db.resolve_project(self.project.as_deref())
            .map_err(|e| match e {
                codegraph::Error::InvalidInput(m) => anyhow::anyhow!("{m} (with --project)"),
                e => e.into(),
            })
    }
}
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
    Jsonl,
    /// Graphviz (for `neighbours`, `path`, `impact`, `callers`, `callees`).
    Dot,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    #[command(flatten)]
    pub db: DbArgs,

    #[arg(long, value_enum, default_value_t = OutputFormat::Text, global = true)]
    pub format: OutputFormat,

    #[command(subcommand)]
    pub query: Query,
}

/// A symbol as given on the command line.
#[derive(Debug, Args)]
pub struct SymbolArg {
    /// A name (`parse`), a qualified name (`pkg.mod.Class.parse`, `crate::a::f`), a
    /// 16-digit node id, or `path:line`.
    pub symbol: String,
}

#[derive(Debug, Subcommand)]
pub enum Query {
    /// Definitions by name: exact (default), prefix or fuzzy.
    Find {
        pattern: String,
        #[arg(long, conflicts_with = "fuzzy")]
        prefix: bool,
        #[arg(long)]
        fuzzy: bool,
        /// Only these kinds (comma-separated).
        #[arg(long = "kind", value_delimiter = ',')]
        kinds: Vec<NodeKind>,
        /// Only these languages (comma-separated).
        #[arg(long = "lang", value_delimiter = ',')]
        languages: Vec<Language>,
        /// Only paths matching this glob.
        #[arg(long)]
        path: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Who calls a symbol, one line per call site.
    Callers(SymbolArg),
    /// What a symbol calls, one line per call site.
    Callees(SymbolArg),
    /// Everything that depends on a symbol, directly or transitively.
    Impact {
        #[command(flatten)]
        symbol: SymbolArg,
        #[arg(long, default_value_t = 2)]
        depth: u32,
        /// Follow no edge found by name alone (`unique_name`, `ambiguous`); otherwise
        /// what only such an edge reaches is marked `(guess)`.
        #[arg(long)]
        certain: bool,
    },
    /// The shortest chain of calls, inheritance or imports from one symbol to another.
    Path {
        from: String,
        to: String,
        #[arg(long, default_value_t = 10)]
        max_depth: u32,
    },
    /// A file's definitions, nested.
    Outline { path: String },
    /// The symbols within a few edges of one, and the edges among them.
    Neighbours {
        #[command(flatten)]
        symbol: SymbolArg,
        #[arg(long, default_value_t = 1)]
        radius: u32,
        #[arg(long, default_value_t = 200)]
        max_nodes: usize,
    },
}

pub fn query(args: QueryArgs) -> anyhow::Result<ExitCode> {
    let db = args.db.open_existing(None)?;
    let project = args.db.project_of(&db)?;
    // A command line asks for whole answers: Ctrl-C is its stop.
    let all = Budget::unlimited();
    let stdout = std::io::stdout().lock();
    let mut out = BufWriter::new(stdout);
    let format = args.format;
    let found_any = match &args.query {
        Query::Find {
            pattern,
            prefix,
            fuzzy,
            kinds,
            languages,
            path,
            limit,
        } => {
            let filters = Filters {
                kinds: kinds.clone(),
                languages: languages.clone(),
                path: path.as_deref().map(Filters::path_glob).transpose()?,
            };
            let how = if *fuzzy {
                Match::Fuzzy
            } else if *prefix {
                Match::Prefix
            } else {
                Match::Exact
            };
            let hits = db.find(&project, pattern, how, &filters, *limit, &all)?;
            write_list(&mut out, format, &hits, |h| {
                format!("{}  {:.3}", text_node(&h.node), h.score)
            })?;
            !hits.is_empty()
        }
        Query::Callers(s) | Query::Callees(s) => {
            let direction = if matches!(args.query, Query::Callers(_)) {
                Direction::Incoming
            } else {
                Direction::Outgoing
            };
            let node = db.symbol(&project, &s.symbol, &all)?;
            let related = match direction {
                Direction::Incoming => db.callers(&project, node.id, &all)?,
                Direction::Outgoing => db.callees(&project, node.id, &all)?,
            };
            if format == OutputFormat::Dot {
                let graph = star(&node, related.iter().map(|r| (&r.node, r)), direction);
                query::write_dot(&mut out, &graph)?;
            } else {
                write_list(&mut out, format, &related, |r| {
                    format!(
                        "{}:{}  {}  [{}]",
                        r.site_path.as_deref().unwrap_or(""),
                        r.site_line.unwrap_or(0),
                        text_node(&r.node),
                        r.resolution
                    )
                })?;
            }
            !related.is_empty()
        }
        Query::Impact {
            symbol,
            depth,
            certain,
        } => {
            let node = db.symbol(&project, &symbol.symbol, &all)?;
            let reached = db.impact(&project, node.id, *depth, *certain, &all)?;
            write_list(&mut out, format, &reached, |r| {
                format!(
                    "{}{}{}",
                    "  ".repeat(r.depth as usize - 1),
                    text_node(&r.node),
                    if r.certain { "" } else { " (guess)" }
                )
            })?;
            !reached.is_empty()
        }
        Query::Path {
            from,
            to,
            max_depth,
        } => {
            let a = db.symbol(&project, from, &all)?;
            let b = db.symbol(&project, to, &all)?;
            let chain = db.path(&project, a.id, b.id, *max_depth, &all)?;
            write_list(&mut out, format, &chain, text_node)?;
            if chain.is_empty() && format == OutputFormat::Text {
                eprintln!(
                    "codegraph: no path from {} to {} within {max_depth} edges",
                    a.qualified_name, b.qualified_name
                );
            }
            !chain.is_empty()
        }
        Query::Outline { path } => {
            let items = db.outline(&project, path, &all)?;
            write_list(&mut out, format, &items, |r| {
                format!("{}{}", "  ".repeat(r.depth as usize), text_node(&r.node))
            })?;
            !items.is_empty()
        }
        Query::Neighbours {
            symbol,
            radius,
            max_nodes,
        } => {
            let node = db.symbol(&project, &symbol.symbol, &all)?;
            let graph = db.neighbours(&project, node.id, *radius, *max_nodes, &all)?;
            match format {
                OutputFormat::Dot => query::write_dot(&mut out, &graph)?,
                OutputFormat::Json => {
                    serde_json::to_writer_pretty(&mut out, &graph)?;
                    out.write_all(b"\n")?;
                }
                OutputFormat::Jsonl => {
                    for n in &graph.nodes {
                        write_jsonl(&mut out, &serde_json::json!({"type": "node", "node": n}))?;
                    }
                    for e in &graph.edges {
                        write_jsonl(&mut out, &serde_json::json!({"type": "edge", "edge": e}))?;
                    }
                }
                OutputFormat::Text => {
                    for n in &graph.nodes {
                        writeln!(out, "{}", text_node(n))?;
                    }
                    for e in &graph.edges {
                        writeln!(out, "{} -{}-> {} [{}]", e.src, e.kind, e.dst, e.resolution)?;
                    }
                }
            }
            !graph.nodes.is_empty()
        }
    };
    out.flush()?;
    Ok(if found_any {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn star<'a>(
    center: &Node,
    others: impl Iterator<Item = (&'a NodeSummary, &'a query::Related)>,
    direction: Direction,
) -> query::Subgraph {
    let mut graph = query::Subgraph::default();
    graph.nodes.push(NodeSummary::of(center));
    for (n, r) in others {
        if !graph.nodes.iter().any(|m| m.id == n.id) {
            graph.nodes.push(n.clone());
        }
        let (src, dst) = match direction {
            Direction::Incoming => (n.id, center.id),
            Direction::Outgoing => (center.id, n.id),
        };
        graph.edges.push(query::EdgeSummary {
            src,
            dst,
            kind: r.edge,
            resolution: r.resolution,
            line: r.site_line,
        });
    }
    graph.edges.sort();
    graph.edges.dedup();
    graph
}

fn text_node(n: &NodeSummary) -> String {
    format!("{} {}  {}:{}", n.kind, n.qualified_name, n.path, n.line)
}

fn write_jsonl(out: &mut dyn Write, value: &impl Serialize) -> anyhow::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")?;
    Ok(())
}

fn write_list<T: Serialize>(
    out: &mut dyn Write,
    format: OutputFormat,
    items: &[T],
    text: impl Fn(&T) -> String,
) -> anyhow::Result<()> {
    match format {
        OutputFormat::Text => {
            for i in items {
                writeln!(out, "{}", text(i))?;
            }
        }
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, items)?;
            out.write_all(b"\n")?;
        }
        OutputFormat::Jsonl => {
            for i in items {
                write_jsonl(out, i)?;
            }
        }
        OutputFormat::Dot => bail!("--format dot is for graphs: neighbours, callers, callees"),
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub db: DbArgs,

    /// `jsonl`: the whole graph, one JSON object a line. `scip`: definitions and
    /// references as a SCIP index (Sourcegraph's format), with CodeGraph's symbols.
    #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
    pub format: ExportFormat,

    /// Write here instead of standard output.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,

    /// SCIP: the directory the project was indexed from, whose files place each
    /// reference on its name (default: the directory the last run read).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,

    /// SCIP: also write references whose edge is a guess (`unique_name`,
    /// `ambiguous`), which a SCIP consumer cannot tell from facts.
    #[arg(long)]
    pub include_guesses: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Jsonl,
    #[cfg(feature = "scip")]
    Scip,
}

pub fn export(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let db = args.db.open_existing(None)?;
    let project = args.db.project_of(&db)?;
    let out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = BufWriter::with_capacity(1 << 16, out);
    match args.format {
        ExportFormat::Jsonl => {
            db.export_jsonl(&project, &mut out)?;
        }
        #[cfg(feature = "scip")]
        ExportFormat::Scip => {
            let root = match &args.root {
                Some(root) => root.clone(),
                None => db
                    .source_dir(&project)?
                    .context("the project was not indexed from a directory: name it with --root")?,
            };
            let options = codegraph::ScipExportOptions {
                include_guesses: args.include_guesses,
            };
            let counts = db.export_scip(&project, &root, &options, &mut out)?;
            if !counts.stale_files.is_empty() {
                eprintln!(
                    "codegraph: {} files changed since they were indexed: their references are left out (first: {})",
                    counts.stale_files.len(),
                    counts.stale_files[0]
                );
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Args)]
pub struct ProjectsArgs {
    #[command(flatten)]
    pub db: DbArgs,

    /// Remove this project and everything in it.
    #[arg(long)]
    pub remove: Option<String>,
}

pub fn projects(args: ProjectsArgs) -> anyhow::Result<ExitCode> {
    if let Some(p) = &args.remove {
        args.db.open_existing(None)?;
        let db = Db::open(&args.db.db, DbOptions::default())
            .with_context(|| format!("cannot open store {}", args.db.db.display()))?;
        if db.project(p)?.is_none() {
            bail!("no project {p:?}");
        }
        db.remove_project(p)?;
        return Ok(ExitCode::SUCCESS);
    }
    let db = args.db.open_existing(None)?;
    let mut out = std::io::stdout().lock();
    for p in db.projects()? {
        let meta = db.project(&p)?.unwrap_or_default();
        let files = db.files(&p)?;
        let lines: u64 = files.iter().map(|f| u64::from(f.lines)).sum();
        writeln!(
            out,
            "{p}\t{} files\t{lines} lines\t{}{}",
            files.len(),
            meta.source.unwrap_or_default(),
            if meta.dirty {
                "\t(interrupted; the next index run resolves everything)"
            } else {
                ""
            }
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub db: DbArgs,
}

/// Verifies a project's graph (every listed node exists, every edge joins existing
/// nodes and is indexed from both ends). Exit 0 when sound, 1 with the problems listed.
pub fn check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let db = args.db.open_existing(None)?;
    let project = args.db.project_of(&db)?;
    let meta = db.project(&project)?.unwrap_or_default();
    let problems = db.verify(&project)?;
    for p in &problems {
        println!("{p}");
    }
    let files = db.files(&project)?.len();
    eprintln!(
        "codegraph: {project}: {files} files, {} problems{}",
        problems.len(),
        if meta.dirty {
            "; the last index run was interrupted and the next one resolves every file"
        } else {
            ""
        }
    );
    Ok(if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
