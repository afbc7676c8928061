//! Extract a whole tree through the library API and print an outline per language.
//!
//!     cargo run --release --example outline -- path/to/repo
//!
//! Shows the pieces a consumer composes: an input (`InputSpec` picks directory, git,
//! archive or stream from the argument), a `Filter`, the parallel `Pipeline`, and the
//! `ParsedFile`s it hands back.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use codegraph::core::{Language, NodeKind};
use codegraph::parse::filter::{Filter, FilterConfig};
use codegraph::parse::source::InputSpec;
use codegraph::parse::{ExtractOptions, FileOutcome, Pipeline, PipelineStats};

/// Per language: files, definitions by kind, references.
type Totals = BTreeMap<Language, (usize, BTreeMap<NodeKind, usize>, usize)>;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path: PathBuf = std::env::args_os()
        .nth(1)
        .unwrap_or_else(|| ".".into())
        .into();
    let mut source = InputSpec::from_arg(&path, None).open()?;
    let pipeline = Pipeline::new(
        Filter::new(FilterConfig::default())?,
        ExtractOptions::default(),
    );

    let totals: Mutex<Totals> = Mutex::default();
    let skipped = Mutex::new(Vec::new());
    let stats = PipelineStats::default();
    let elapsed = pipeline.run(source.as_mut(), &stats, &|outcome| match outcome {
        FileOutcome::Parsed(file, _bytes) => {
            let mut totals = totals.lock().unwrap();
            let entry = totals.entry(file.language).or_default();
            entry.0 += 1;
            for node in file.definitions() {
                *entry.1.entry(node.kind).or_default() += 1;
            }
            entry.2 += file.references.len();
        }
        FileOutcome::Skipped(s) => skipped.lock().unwrap().push(s),
        FileOutcome::Unchanged { .. } => {}
    })?;

    println!("{} in {:.2?}", source.describe(), elapsed);
    for (language, (files, kinds, references)) in totals.into_inner().unwrap() {
        let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
        println!(
            "  {:<10} {files:>6} files, {references:>7} references; {}",
            language.display_name(),
            kinds.join(", ")
        );
    }
    for s in skipped.into_inner().unwrap() {
        println!("  skipped {}: {}", s.path, s.reason);
    }
    Ok(())
}
