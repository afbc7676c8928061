//! One run of `codegraph index`: its flags, the engine's index over them, the report
//! printed (or sent to the process that handed the run over).

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use codegraph::parse::PipelineStats;
use codegraph::parse::source::InputSpec;
use codegraph::{Cancel, Db, IndexConfig, IndexReport, Input, Progress};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::graph::DbArgs;
use super::input::InputArgs;
use super::symbols::write_skipped;
use crate::options::ModelArgs;

#[derive(Debug, Args)]
pub struct IndexArgs {
    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub db: DbArgs,

    /// Parse every file even when its content is unchanged.
    #[arg(long)]
    pub force: bool,

    /// After indexing, keep watching the directory and apply changes as they happen.
    #[arg(long)]
    pub watch: bool,

    /// No progress bar and no summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// Print the run's report as one JSON object on standard output.
    #[arg(long)]
    pub json: bool,

    /// Do not keep a full-text index (`codegraph search`) beside the graph.
    #[arg(long)]
    pub no_text: bool,

    /// Leave doc comments and docstrings out of the full-text index and the
    /// embeddings: for retrieval evaluations that use docstrings as queries.
    #[arg(long, alias = "text-without-docs")]
    pub without_docs: bool,

    #[command(flatten)]
    pub model: ModelArgs,

    /// Do not compute embeddings, even with a model configured.
    #[arg(long)]
    pub no_embed: bool,

    /// Take resolutions from this SCIP index of the directory (made by scip-typescript,
    /// scip-python, rust-analyzer, scip-java...): the sites it covers get edges marked
    /// `precise`; a file edited since drops back to the heuristics until the next
    /// import.
    #[arg(long, value_name = "FILE")]
    pub scip: Option<PathBuf>,
}

impl IndexArgs {
    /// The engine's configuration for a run with these flags (`force` aside: a
    /// handed run brings its own).
    pub fn config(&self, force: bool) -> anyhow::Result<IndexConfig> {
        Ok(IndexConfig {
            filter: self.input.filter_config(),
            threads: self.input.threads,
            force,
            text: !self.no_text,
            embed: !self.no_embed,
            include_docs: !self.without_docs,
            scip: self.scip.clone(),
        })
    }
}

/// One `codegraph index` process's runs: one, or with `--watch` one per change and per
/// handed-over run, all through the same long-lived [`Db`].
pub(crate) struct Indexer<'a> {
    pub db: &'a Db,
    pub project: &'a str,
    pub args: &'a IndexArgs,
    /// What a watcher saw change since the last run, for the next one.
    changed: Option<Vec<PathBuf>>,
    /// Whether `--scip` was imported (by the first run; a watcher's later runs keep it).
    scip_imported: bool,
}

/// One run's outcome: printed by the process that ran it, or sent to the
/// `codegraph index` that handed its run to a watcher.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct Ran {
    pub report: IndexReport,
    /// The summary and the skipped files (not shown with `--quiet`).
    pub summary: String,
    /// What is shown even with `--quiet`.
    pub errors: String,
    pub exit: u8,
}

impl Ran {
    pub fn print(&self, json: bool, quiet: bool) -> ExitCode {
        if json {
            let mut out = std::io::stdout().lock();
            let _ = serde_json::to_writer(&mut out, &self.report);
            let _ = out.write_all(b"\n");
            let _ = out.flush();
        }
        if !quiet {
            eprint!("{}", self.summary);
        }
        eprint!("{}", self.errors);
        ExitCode::from(self.exit)
    }
}

impl<'a> Indexer<'a> {
    pub fn new(db: &'a Db, project: &'a str, args: &'a IndexArgs) -> Indexer<'a> {
        Indexer {
            db,
            project,
            args,
            changed: None,
            scip_imported: false,
        }
    }

    /// The paths changed since the last run, as the watcher saw them (`None`: not
    /// known).
    pub fn set_changed(&mut self, changed: Option<Vec<PathBuf>>) {
        self.changed = changed;
    }

    pub fn flush(&self) -> anyhow::Result<()> {
        self.db.flush().context("cannot flush the store")
    }

    /// Brings the project up to date with its directory (or other input).
    pub fn run(&mut self, force: bool, progress_bar: bool) -> anyhow::Result<Ran> {
        let args = self.args;
        let mut config = args.config(force)?;
        if self.scip_imported {
            config.scip = None;
        }
        let input = match args.input.spec() {
            InputSpec::Path(path) => Input::Directory {
                path,
                changed: self.changed.take(),
            },
            spec => Input::spec(&spec)
                .with_context(|| format!("cannot read {}", args.input.path.display()))?,
        };
        let progress = Progress::default();
        let report = with_index_progress(&progress, !progress_bar, || {
            self.db
                .index(self.project, input, &config, &progress, &Cancel::new())
        })
        .with_context(|| format!("indexing {} failed", args.input.path.display()))?;
        self.scip_imported |= config.scip.is_some();
        let mut summary = String::new();
        write_report(&mut summary, &report);
        let mut errors = String::new();
        let exit = match &report.source_error {
            Some(e) => {
                let _ = writeln!(
                    errors,
                    "codegraph: error: {} stopped early: {e} (what was read is indexed; nothing was removed)",
                    report.source
                );
                1
            }
            None => 0,
        };
        Ok(Ran {
            report,
            summary,
            errors,
            exit,
        })
    }
}

fn write_report(out: &mut String, r: &IndexReport) {
    let project = &r.project;
    let secs = r.seconds;
    if r.parsed == 0 && r.removed == 0 && r.resolved == 0 {
        let _ = writeln!(
            out,
            "codegraph: {project}: up to date ({} files unchanged, {:.3} s)",
            r.unchanged, secs
        );
    } else {
        let _ = writeln!(
            out,
            "codegraph: {project} from {}: {} files parsed ({} lines), {} unchanged, {} removed; {} files resolved{}, {} edges; {:.2} s ({:.0} lines/s)",
            r.source,
            r.parsed,
            r.lines,
            r.unchanged,
            r.removed,
            r.resolved,
            if r.full { " (all)" } else { "" },
            r.edges_written,
            secs,
            if secs > 0.0 {
                r.lines as f64 / secs
            } else {
                0.0
            },
        );
    }
    if let Some(s) = &r.scip {
        let _ = writeln!(
            out,
            "codegraph: SCIP: {} of {} documents taken ({} not in the project, {} changed since); {} sites resolved precisely ({} outside the project); {} of {} definitions matched",
            s.covered_files,
            s.documents,
            s.unknown_files,
            s.stale_files,
            s.sites,
            s.external_sites,
            s.definitions_matched,
            s.definitions_matched + s.definitions_unmatched,
        );
    }
    write_skipped(out, &r.skipped_files);
    if let Some(e) = &r.embeddings
        && e.embedded > 0
    {
        let _ = writeln!(
            out,
            "codegraph: {project}: embedded {} definitions in {:.1} s ({:.0}/s); {} vectors held",
            e.embedded,
            e.seconds,
            e.embedded as f64 / e.seconds.max(1e-9),
            e.vectors
        );
    }
}

/// Draws parsing progress, then resolution progress, then embedding progress, while
/// `work` runs.
fn with_index_progress<T>(progress: &Progress, quiet: bool, work: impl FnOnce() -> T) -> T {
    if quiet || !std::io::stderr().is_terminal() {
        return work();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(10));
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let style = |t: &str| ProgressStyle::with_template(t).expect("valid template");
            let (graph, embedding) = (&progress.graph, &progress.embedding);
            while !done.load(Ordering::Relaxed) {
                let to_resolve = graph.to_resolve.load(Ordering::Relaxed);
                let to_embed = embedding.total.load(Ordering::Relaxed);
                if to_embed > 0 {
                    bar.set_style(style(
                        "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} definitions embedded ({per_sec}, {eta} left)",
                    ));
                    bar.set_length(to_embed);
                    bar.set_position(embedding.done.load(Ordering::Relaxed));
                } else if to_resolve > 0 {
                    bar.set_style(style(
                        "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} files resolved",
                    ));
                    bar.set_length(to_resolve);
                    bar.set_position(graph.resolved.load(Ordering::Relaxed));
                } else {
                    let expected = PipelineStats::get(&graph.parse.expected);
                    if expected > 0 {
                        bar.set_style(style(
                            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} files read {msg}",
                        ));
                        bar.set_length(expected);
                    } else {
                        bar.set_style(style(
                            "{spinner} [{elapsed_precise}] {pos} files read {msg}",
                        ));
                    }
                    bar.set_position(PipelineStats::get(&graph.parse.processed));
                    bar.set_message(format!(
                        "({} parsed)",
                        PipelineStats::get(&graph.parse.parsed)
                    ));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            bar.finish_and_clear();
        });
        let result = work();
        done.store(true, Ordering::Relaxed);
        result
    })
}
