//! Files held in memory: uploads, generated inputs, tests.

use std::ops::ControlFlow;

use codegraph_core::SkippedFile;

use super::{Content, Sink, Source, SourceError, SourceFile, SourceItem, sanitize_relative_path};
use crate::filter::{Filter, PathDecision};
use codegraph_core::SkipReason;

/// A source over `(path, bytes)` pairs. Paths are checked like archive entry names:
/// absolute paths and `..` are refused per file.
pub struct MemorySource {
    name: String,
    files: Vec<(String, Vec<u8>)>,
}

impl MemorySource {
    /// A source over `files`, yielded in path order; `name` is for messages. The files
    /// are handed over by the first run: running it again yields nothing.
    pub fn new(name: &str, files: Vec<(String, Vec<u8>)>) -> MemorySource {
        MemorySource {
            name: name.to_string(),
            files,
        }
    }
}

impl Source for MemorySource {
    fn describe(&self) -> String {
        format!("files in memory ({})", self.name)
    }

    fn run(&mut self, filter: &Filter, sink: &mut dyn Sink) -> Result<(), SourceError> {
        let mut files = std::mem::take(&mut self.files);
        files.sort_by(|a, b| a.0.cmp(&b.0));
        sink.expect(files.len() as u64);
        for (raw, bytes) in files {
            let item = match sanitize_relative_path(&raw) {
                Err(detail) => SourceItem::Skipped(SkippedFile {
                    path: raw,
                    reason: SkipReason::Unsafe { detail },
                }),
                Ok(path) => match filter.check_path(&path, Some(bytes.len() as u64)) {
                    PathDecision::Ignore => continue,
                    PathDecision::Skip(reason) => SourceItem::Skipped(SkippedFile { path, reason }),
                    PathDecision::Parse(language) => {
                        let Some(language) =
                            language.or_else(|| filter.shebang_language(&path, &bytes))
                        else {
                            continue;
                        };
                        SourceItem::File(SourceFile {
                            path,
                            language,
                            content: Content::Bytes(bytes),
                        })
                    }
                },
            };
            if let ControlFlow::Break(()) = sink.item(item) {
                break;
            }
        }
        Ok(())
    }
}
