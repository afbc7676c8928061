//! Command-line options shared by every command that reads source files.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use codegraph::Language;
use codegraph::parse::filter::{Filter, FilterConfig};
use codegraph::parse::source::InputSpec;

/// Where to read files from and which to keep.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// A directory or file, an archive (.tar, .tar.gz, .tgz, .crate, .zip, .whl, .jar),
    /// a git repository (with --rev), or `-` for a tar stream on standard input.
    pub path: PathBuf,

    /// Read the git repository at PATH at this revision (from its object store, not the
    /// work tree): a branch, tag, commit id or expression such as `HEAD~3`.
    #[arg(long)]
    pub rev: Option<String>,

    /// Only these languages (repeat or separate with commas): rust, python, javascript,
    /// typescript, tsx, go, java, cpp.
    #[arg(long = "lang", value_delimiter = ',')]
    pub languages: Vec<Language>,

    /// Skip paths matching this glob (repeatable), e.g. `tests/fixtures/**`.
    #[arg(long)]
    pub exclude: Vec<String>,

    /// Skip files larger than this many bytes.
    #[arg(long, default_value_t = FilterConfig::default().max_file_size)]
    pub max_file_size: u64,

    /// Do not honour .gitignore, .ignore and .codegraphignore files.
    #[arg(long)]
    pub no_ignore: bool,

    /// Walk hidden files and directories too.
    #[arg(long)]
    pub hidden: bool,

    /// Parse vendored directories (node_modules/, vendor/, third_party/, ...).
    #[arg(long)]
    pub include_vendored: bool,

    /// Parse generated files (*.pb.go, "DO NOT EDIT" headers, ...).
    #[arg(long)]
    pub include_generated: bool,

    /// Parse minified JavaScript and TypeScript.
    #[arg(long)]
    pub include_minified: bool,

    /// Worker threads (default: one per core).
    #[arg(long, short = 'j')]
    pub threads: Option<usize>,
}

impl InputArgs {
    /// A directory with every filter at its default.
    #[cfg_attr(not(feature = "mcp"), allow(dead_code))]
    pub fn directory(path: PathBuf) -> InputArgs {
        InputArgs {
            path,
            rev: None,
            languages: Vec::new(),
            exclude: Vec::new(),
            max_file_size: FilterConfig::default().max_file_size,
            no_ignore: false,
            hidden: false,
            include_vendored: false,
            include_generated: false,
            include_minified: false,
            threads: None,
        }
    }

    /// The files to parse, checked (a bad `--exclude` glob is an error here).
    pub fn filter(&self) -> anyhow::Result<Filter> {
        Filter::new(self.filter_config()).context("bad --exclude pattern")
    }

    /// The files to parse, as the engine takes them.
    pub fn filter_config(&self) -> FilterConfig {
        FilterConfig {
            max_file_size: self.max_file_size,
            skip_vendored: !self.include_vendored,
            skip_generated: !self.include_generated,
            skip_minified: !self.include_minified,
            exclude: self.exclude.clone(),
            languages: if self.languages.is_empty() {
                None
            } else {
                Some(self.languages.clone())
            },
            include_hidden: self.hidden,
            respect_ignore_files: !self.no_ignore,
            ..FilterConfig::default()
        }
    }

    pub fn spec(&self) -> InputSpec {
        InputSpec::from_arg(&self.path, self.rev.as_deref())
    }
}
