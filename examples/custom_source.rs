//! Index exactly the files a list names, through a `Source` of your own.
//!
//!     cargo run --example custom_source -- ROOT FILE_LIST
//!
//! A build system, a code review or a sparse checkout often knows the files that
//! matter better than a directory walk. `Source` is the seam for that: hand the engine
//! each file (its bytes, or where to read them) and it does the rest. Paths outside the
//! root and files the filter rejects are reported as skipped, never read. Without
//! arguments it makes a small tree and a list to work on.

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::Arc;

use codegraph::core::{SkipReason, SkippedFile};
use codegraph::parse::filter::{Filter, PathDecision};
use codegraph::parse::source::{
    Content, Sink, Source, SourceError, SourceFile, SourceItem, sanitize_relative_path,
};
use codegraph::{Backend, Cancel, Db, DbOptions, IndexConfig, Input, Progress};

/// The files a list names, relative to a root, read by the engine's workers.
struct ListedFiles {
    root: PathBuf,
    paths: Vec<String>,
}

impl Source for ListedFiles {
    fn describe(&self) -> String {
        format!(
            "{} listed files under {}",
            self.paths.len(),
            self.root.display()
        )
    }

    fn run(&mut self, filter: &Filter, sink: &mut dyn Sink) -> Result<(), SourceError> {
        sink.expect(self.paths.len() as u64);
        for raw in &self.paths {
            let item = match sanitize_relative_path(raw) {
                Err(detail) => SourceItem::Skipped(SkippedFile {
                    path: raw.clone(),
                    reason: SkipReason::Unsafe { detail },
                }),
                Ok(path) => {
                    let size = std::fs::metadata(self.root.join(&path))
                        .ok()
                        .map(|m| m.len());
                    match filter.check_path(&path, size) {
                        PathDecision::Ignore => continue,
                        PathDecision::Skip(reason) => {
                            SourceItem::Skipped(SkippedFile { path, reason })
                        }
                        // No extension to go by (a script): not this source's business.
                        PathDecision::Parse(None) => continue,
                        PathDecision::Parse(Some(language)) => SourceItem::File(SourceFile {
                            content: Content::Disk {
                                path: self.root.join(&path),
                                stamp: None,
                                // No directory under the root is followed when
                                // the file is read: git lists no path through a link.
                                beneath: Some(Arc::from(self.root.as_path())),
                            },
                            path,
                            language,
                        }),
                    }
                }
            };
            if let ControlFlow::Break(()) = sink.item(item) {
                break;
            }
        }
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let demo = tempfile::tempdir()?;
    let (root, list) = match (args.first(), args.get(1)) {
        (Some(root), Some(list)) => (PathBuf::from(root), std::fs::read_to_string(list)?),
        _ => {
            let root = demo.path().join("tree");
            std::fs::create_dir_all(root.join("src"))?;
            std::fs::write(
                root.join("src/lib.rs"),
                "pub fn area(w: u32, h: u32) -> u32 { w * h }\n",
            )?;
            std::fs::write(
                root.join("src/main.rs"),
                "fn main() { println!(\"{}\", area(2, 3)); }\n",
            )?;
            std::fs::write(root.join("src/unused.rs"), "fn not_listed() {}\n")?;
            (root, "src/lib.rs\nsrc/main.rs\n../etc/passwd\n".to_string())
        }
    };
    let source = ListedFiles {
        root,
        paths: list
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect(),
    };
    let options = DbOptions {
        backend: Backend::Memory,
        ..DbOptions::default()
    };
    let db = Db::open(demo.path().join("store"), options)?;
    let config = IndexConfig::default();
    let report = db.index(
        "listed",
        Input::source(source),
        &config,
        &Progress::default(),
        &Cancel::new(),
    )?;
    println!(
        "{}: {} parsed, {} skipped",
        report.source, report.parsed, report.skipped
    );
    for skipped in &report.skipped_files {
        println!("  skipped {}: {}", skipped.path, skipped.reason);
    }
    for file in db.files("listed")? {
        println!("  {} ({} lines)", file.path, file.lines);
    }
    Ok(())
}
