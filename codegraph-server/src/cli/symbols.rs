//! `codegraph symbols` and `codegraph ast`.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;

use anyhow::Context;
use clap::{Args, ValueEnum};
use codegraph_core::{Language, Node, NodeId, NodeKind, ParsedFile, SkippedFile};
use codegraph_parse::{ExtractOptions, FileOutcome, Pipeline, PipelineStats};
use rayon::slice::ParallelSliceMut;
use serde::Serialize;

use super::input::InputArgs;
use super::progress::with_progress;
use super::tags::{self, Symbol};

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

    /// Write every parsed file (path, language, lines, definitions, syntax errors) to
    /// this file as JSON lines.
    #[arg(long)]
    pub files_report: Option<PathBuf>,

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

/// One file's output, formatted on the worker that parsed it so that only sorting
/// and writing remain once parsing ends.
struct FileOutput {
    language: Language,
    lines: u32,
    bytes: u64,
    definitions: usize,
    has_errors: bool,
    /// jsonl, json and etags: the file's formatted text. ctags: empty.
    text: Vec<u8>,
    /// ctags: one line per definition, to be sorted across files.
    tag_lines: Vec<Vec<u8>>,
}

pub fn run(args: SymbolsArgs) -> anyhow::Result<ExitCode> {
    let filter = args.input.filter()?;
    let spec = args.input.spec();
    let mut source = spec
        .open()
        .with_context(|| format!("cannot read {}", args.input.path.display()))?;
    // Definitions are all `symbols` prints (and their docs only with --doc), so skip
    // the reference queries and, usually, comments.
    let options = ExtractOptions {
        references: false,
        docs: args.doc,
        ..ExtractOptions::default()
    };
    let mut pipeline = Pipeline::new(filter, options);
    if let Some(threads) = args.input.threads {
        pipeline = pipeline.threads(threads);
    }

    let files: Mutex<BTreeMap<String, FileOutput>> = Mutex::default();
    let skipped: Mutex<Vec<SkippedFile>> = Mutex::default();
    let stats = PipelineStats::default();
    let result = with_progress(&stats, args.quiet, || {
        pipeline.run(source.as_mut(), &stats, &|outcome| match outcome {
            FileOutcome::Parsed(parsed, bytes) => {
                let output = format_file(&parsed, &bytes, &args);
                files
                    .lock()
                    .expect("no panics under the lock")
                    .insert(parsed.path, output);
            }
            FileOutcome::Skipped(s) => skipped.lock().expect("no panics under the lock").push(s),
            FileOutcome::Unchanged { .. } => {}
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
        SymbolFormat::Jsonl | SymbolFormat::Etags => {
            for file in files.values() {
                out.write_all(&file.text)?;
            }
        }
        SymbolFormat::Json => {
            out.write_all(b"[")?;
            let mut first = true;
            for file in files.values().filter(|f| !f.text.is_empty()) {
                if !first {
                    out.write_all(b",")?;
                }
                first = false;
                out.write_all(&file.text)?;
            }
            out.write_all(b"\n]\n")?;
        }
        SymbolFormat::Ctags => {
            let mut lines: Vec<&[u8]> = files
                .values()
                .flat_map(|f| f.tag_lines.iter().map(Vec::as_slice))
                .collect();
            lines.par_sort_unstable();
            tags::write_ctags(&mut out, &lines)?;
        }
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

    if let Some(path) = &args.files_report {
        let mut report = BufWriter::new(
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        );
        for (file_path, file) in &files {
            serde_json::to_writer(
                &mut report,
                &serde_json::json!({
                    "path": file_path,
                    "language": file.language,
                    "lines": file.lines,
                    "bytes": file.bytes,
                    "definitions": file.definitions,
                    "syntax_errors": file.has_errors,
                }),
            )?;
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
    // Everything is written; freeing a few hundred thousand small allocations one by
    // one would only delay the exit.
    std::mem::forget(files);
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

/// Formats one parsed file's definitions for the chosen output.
fn format_file(parsed: &ParsedFile, bytes: &[u8], args: &SymbolsArgs) -> FileOutput {
    let by_id: HashMap<NodeId, &Node> = parsed.nodes.iter().map(|n| (n.id, n)).collect();
    let symbols: Vec<Symbol<'_>> = parsed
        .definitions()
        .filter(|n| args.kinds.is_empty() || args.kinds.contains(&n.kind))
        .map(|n| Symbol {
            node: n,
            scope: n
                .parent
                .and_then(|p| by_id.get(&p))
                .filter(|p| p.kind != NodeKind::File)
                .map(|p| (p.kind, p.qualified_name.as_str())),
        })
        .collect();
    let mut output = FileOutput {
        language: parsed.language,
        lines: parsed.lines,
        bytes: parsed.size,
        definitions: symbols.len(),
        has_errors: parsed.has_errors,
        text: Vec::new(),
        tag_lines: Vec::new(),
    };
    match args.format {
        SymbolFormat::Jsonl => {
            for symbol in &symbols {
                serde_json::to_writer(&mut output.text, &record(symbol, args.doc))
                    .expect("writing JSON to memory cannot fail");
                output.text.push(b'\n');
            }
        }
        SymbolFormat::Json => {
            for (i, symbol) in symbols.iter().enumerate() {
                output
                    .text
                    .extend_from_slice(if i == 0 { b"\n" } else { b",\n" });
                serde_json::to_writer(&mut output.text, &record(symbol, args.doc))
                    .expect("writing JSON to memory cannot fail");
            }
        }
        SymbolFormat::Ctags => output.tag_lines = tags::ctags_lines(parsed, &symbols),
        SymbolFormat::Etags => output.text = tags::etags_section(parsed, bytes, &symbols),
    }
    output
}

fn record<'a>(symbol: &Symbol<'a>, with_doc: bool) -> SymbolRecord<'a> {
    let n = symbol.node;
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
        scope: symbol.scope.map(|(_, q)| q),
        scope_kind: symbol.scope.map(|(k, _)| k),
        id: n.id.to_string(),
    }
}

fn summary(
    stats: &PipelineStats,
    skipped: &[SkippedFile],
    elapsed: std::time::Duration,
    what: &str,
) {
    let get = PipelineStats::get;
    let secs = elapsed.as_secs_f64();
    let lines = get(&stats.lines);
    eprintln!(
        "codegraph: {what}: {} files, {} lines, {} definitions in {:.2} s ({:.0} lines/s)",
        get(&stats.parsed),
        lines,
        get(&stats.definitions),
        secs,
        if secs > 0.0 { lines as f64 / secs } else { 0.0 },
    );
    let with_errors = get(&stats.with_errors);
    if with_errors > 0 {
        eprintln!(
            "codegraph: {with_errors} files had syntax errors; their definitions are what the parser recovered"
        );
    }
    print_skipped(skipped);
}

/// Lists skipped files on standard error, grouped by reason (all of them when few).
pub fn print_skipped(skipped: &[SkippedFile]) {
    let mut out = String::new();
    write_skipped(&mut out, skipped);
    eprint!("{out}");
}

pub fn write_skipped(out: &mut String, skipped: &[SkippedFile]) {
    use std::fmt::Write as _;
    if skipped.is_empty() {
        return;
    }
    let _ = writeln!(out, "codegraph: skipped {} files:", skipped.len());
    let mut by_reason: BTreeMap<&str, Vec<&SkippedFile>> = BTreeMap::new();
    for s in skipped {
        by_reason.entry(s.reason.label()).or_default().push(s);
    }
    const SHOWN: usize = 10;
    let all = skipped.len() <= 50;
    for (label, items) in &by_reason {
        let _ = writeln!(out, "  {label} ({}):", items.len());
        for s in items.iter().take(if all { usize::MAX } else { SHOWN }) {
            let _ = writeln!(out, "    {}: {}", s.path, s.reason);
        }
        if !all && items.len() > SHOWN {
            let _ = writeln!(
                out,
                "    ... and {} more (--skipped-report FILE lists all)",
                items.len() - SHOWN
            );
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
    let first_line = &bytes[..bytes
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(bytes.len())];
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
        std::io::stdout().lock().write_all(tree.as_bytes())?;
    }
    Ok(ExitCode::SUCCESS)
}
