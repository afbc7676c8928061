//! `codegraph symbols` and `codegraph ast`.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;

use anyhow::Context;
use clap::{Args, ValueEnum};
use codegraph_core::{Language, Node, NodeKind, SkippedFile};
use codegraph_parse::{ExtractOptions, FileOutcome, Pipeline, PipelineStats};
use serde::Serialize;

use crate::input::InputArgs;
use crate::progress::with_progress;
use crate::tags;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SymbolFormat {
    /// One JSON object per line.
    Jsonl,
    /// One JSON array.
    Json,
    /// A sorted tags file for vim and other ctags readers.
    Ctags,
    /// An Emacs TAGS file.
    Etags,
}

#[derive(Debug, Args)]
pub struct SymbolsArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = SymbolFormat::Jsonl)]
    pub format: SymbolFormat,

    /// Only definitions of these kinds (repeat or separate with commas), e.g.
    /// `function,method,class`.
    #[arg(long = "kind", value_delimiter = ',')]
    pub kinds: Vec<NodeKind>,

    /// Include each definition's doc comment (jsonl and json).
    #[arg(long)]
    pub doc: bool,

    /// Write here instead of standard output.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,

    /// Write every skipped file, with its reason, to this file as JSON lines.
    #[arg(long)]
    pub skipped_report: Option<PathBuf>,

    /// No progress bar and no summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// One definition as `symbols` prints it.
#[derive(Debug, Serialize)]
pub struct SymbolRecord<'a> {
    pub path: &'a str,
    pub name: &'a str,
    pub qualified_name: &'a str,
    pub kind: NodeKind,
    pub language: Language,
    /// First line of the definition (1-based).
    pub line: u32,
    pub column: u32,
    pub end_line: u32,
    /// Line of the defining name; differs from `line` when attributes, decorators or
    /// annotations come first.
    pub name_line: u32,
    pub visibility: codegraph_core::Visibility,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doc: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope_kind: Option<NodeKind>,
    pub id: String,
}

/// A definition with what the writers need from its file.
pub struct Symbol {
    pub node: Node,
    pub scope: Option<(NodeKind, String)>,
    /// The text of the name's line up to the end of the name, for etags.
    pub line_prefix: String,
    /// Byte offset of that line in the file, for etags.
    pub line_offset: u32,
}

/// The definitions of one file.
pub struct FileSymbols {
    pub language: Language,
    pub size: u64,
    pub symbols: Vec<Symbol>,
}

pub fn run(args: SymbolsArgs) -> anyhow::Result<ExitCode> {
    let filter = args.input.filter()?;
    let spec = args.input.spec();
    let mut source = spec
        .open()
        .with_context(|| format!("cannot read {}", args.input.path.display()))?;
    let mut pipeline = Pipeline::new(filter, ExtractOptions::default());
    if let Some(threads) = args.input.threads {
        pipeline = pipeline.threads(threads);
    }

    let files: Mutex<BTreeMap<String, FileSymbols>> = Mutex::default();
    let skipped: Mutex<Vec<SkippedFile>> = Mutex::default();
    let stats = PipelineStats::default();
    let kinds = &args.kinds;
    let result = with_progress(&stats, args.quiet, || {
        pipeline.run(source.as_mut(), &stats, &|outcome| match outcome {
            FileOutcome::Parsed(parsed, bytes) => {
                let symbols = collect(&parsed, &bytes, kinds);
                let entry = FileSymbols {
                    language: parsed.language,
                    size: parsed.size,
                    symbols,
                };
                files
                    .lock()
                    .expect("no panics under the lock")
                    .insert(parsed.path, entry);
            }
            FileOutcome::Skipped(s) => skipped.lock().expect("no panics under the lock").push(s),
        })
    });

    let files = files.into_inner().expect("workers finished");
    let mut skipped = skipped.into_inner().expect("workers finished");
    skipped.sort_by(|a, b| a.path.cmp(&b.path));

    let out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = BufWriter::with_capacity(1 << 16, out);
    match args.format {
        SymbolFormat::Jsonl => write_jsonl(&mut out, &files, args.doc)?,
        SymbolFormat::Json => write_json(&mut out, &files, args.doc)?,
        SymbolFormat::Ctags => tags::write_ctags(&mut out, &files)?,
        SymbolFormat::Etags => tags::write_etags(&mut out, &files)?,
    }
    out.flush().context("cannot write output")?;

    if let Some(path) = &args.skipped_report {
        let mut report = BufWriter::new(
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        );
        for s in &skipped {
            serde_json::to_writer(&mut report, s)?;
            report.write_all(b"\n")?;
        }
        report.flush()?;
    }

    let elapsed = match &result {
        Ok(elapsed) => *elapsed,
        Err(_) => std::time::Duration::ZERO,
    };
    if !args.quiet {
        summary(&stats, &skipped, elapsed, &source.describe());
    }
    match result {
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(err) => {
            eprintln!(
                "codegraph: error: {} stopped early: {err} (the output holds what was read before)",
                source.describe()
            );
            Ok(ExitCode::from(1))
        }
    }
}

/// The definitions of a parsed file that pass the kind filter, with scope and line text.
fn collect(parsed: &codegraph_core::ParsedFile, bytes: &[u8], kinds: &[NodeKind]) -> Vec<Symbol> {
    let by_id: std::collections::HashMap<_, _> =
        parsed.nodes.iter().map(|n| (n.id, n)).collect();
    parsed
        .definitions()
        .filter(|n| kinds.is_empty() || kinds.contains(&n.kind))
        .map(|n| {
            let scope = n
                .parent
                .and_then(|p| by_id.get(&p))
                .filter(|p| p.kind != NodeKind::File)
                .map(|p| (p.kind, p.qualified_name.clone()));
            let name_end = (n.name_span.end_byte as usize).min(bytes.len());
            let line_start = bytes[..name_end]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
            Symbol {
                node: n.clone(),
                scope,
                line_prefix: String::from_utf8_lossy(&bytes[line_start..name_end]).into_owned(),
                line_offset: line_start as u32,
            }
        })
        .collect()
}

fn record<'a>(symbol: &'a Symbol, with_doc: bool) -> SymbolRecord<'a> {
    let n = &symbol.node;
    SymbolRecord {
        path: &n.path,
        name: &n.name,
        qualified_name: &n.qualified_name,
        kind: n.kind,
        language: n.language,
        line: n.span.start_line,
        column: n.span.start_column,
        end_line: n.span.end_line,
        name_line: n.name_span.start_line,
        visibility: n.visibility,
        signature: n.signature.as_deref(),
        doc: if with_doc { n.doc.as_deref() } else { None },
        scope: symbol.scope.as_ref().map(|(_, q)| q.as_str()),
        scope_kind: symbol.scope.as_ref().map(|(k, _)| *k),
        id: n.id.to_string(),
    }
}

fn write_jsonl(
    out: &mut impl Write,
    files: &BTreeMap<String, FileSymbols>,
    with_doc: bool,
) -> anyhow::Result<()> {
    for file in files.values() {
        for symbol in &file.symbols {
            serde_json::to_writer(&mut *out, &record(symbol, with_doc))?;
            out.write_all(b"\n")?;
        }
    }
    Ok(())
}

fn write_json(
    out: &mut impl Write,
    files: &BTreeMap<String, FileSymbols>,
    with_doc: bool,
) -> anyhow::Result<()> {
    out.write_all(b"[")?;
    let mut first = true;
    for file in files.values() {
        for symbol in &file.symbols {
            out.write_all(if first { b"\n" } else { b",\n" })?;
            first = false;
            serde_json::to_writer(&mut *out, &record(symbol, with_doc))?;
        }
    }
    out.write_all(b"\n]\n")?;
    Ok(())
}

fn summary(stats: &PipelineStats, skipped: &[SkippedFile], elapsed: std::time::Duration, what: &str) {
    let get = PipelineStats::get;
    let secs = elapsed.as_secs_f64();
    let lines = get(&stats.lines);
    eprintln!(
        "codegraph: {what}: {} files, {} lines, {} definitions, {} references in {:.2} s ({:.0} lines/s)",
        get(&stats.parsed),
        lines,
        get(&stats.definitions),
        get(&stats.references),
        secs,
        if secs > 0.0 { lines as f64 / secs } else { 0.0 },
    );
    let with_errors = get(&stats.with_errors);
    if with_errors > 0 {
        eprintln!(
            "codegraph: {with_errors} files had syntax errors; their definitions are what the parser recovered"
        );
    }
    if skipped.is_empty() {
        return;
    }
    eprintln!("codegraph: skipped {} files:", skipped.len());
    let mut by_reason: BTreeMap<&str, Vec<&SkippedFile>> = BTreeMap::new();
    for s in skipped {
        by_reason.entry(s.reason.label()).or_default().push(s);
    }
    const SHOWN: usize = 10;
    let all = skipped.len() <= 50;
    for (label, items) in &by_reason {
        eprintln!("  {label} ({}):", items.len());
        for s in items.iter().take(if all { usize::MAX } else { SHOWN }) {
            eprintln!("    {}: {}", s.path, s.reason);
        }
        if !all && items.len() > SHOWN {
            eprintln!("    ... and {} more (--skipped-report FILE lists all)", items.len() - SHOWN);
        }
    }
}

#[derive(Debug, Args)]
pub struct AstArgs {
    /// A source file.
    pub file: PathBuf,
    /// The language, when the extension does not tell.
    #[arg(long)]
    pub lang: Option<Language>,
    /// Print the extraction (nodes and references, as JSON) instead of the tree.
    #[arg(long)]
    pub extract: bool,
}

pub fn ast(args: AstArgs) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let path = args.file.to_string_lossy();
    let first_line = &bytes[..bytes.iter().position(|&b| b == b'\n').unwrap_or(bytes.len())];
    let language = args
        .lang
        .or_else(|| codegraph_parse::language::detect(&path, first_line))
        .with_context(|| format!("cannot tell the language of {path}; pass --lang"))?;
    if args.extract {
        let parsed =
            codegraph_parse::extract::extract(language, &path, &bytes, &ExtractOptions::default())?;
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, &parsed)?;
        writeln!(out)?;
    } else {
        let tree = codegraph_parse::syntax_tree(language, &bytes)?;
        print!("{tree}");
    }
    Ok(ExitCode::SUCCESS)
}
