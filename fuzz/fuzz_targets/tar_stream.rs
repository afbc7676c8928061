//! The full pipeline over a tar stream of arbitrary bytes: reading, filtering,
//! parsing.
#![no_main]

use codegraph_parse::filter::{Filter, FilterConfig};
use codegraph_parse::source::{ArchiveLimits, StreamSource};
use codegraph_parse::{ExtractOptions, Pipeline, PipelineStats};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = ArchiveLimits {
        max_total_bytes: 1 << 20,
        max_entries: 1000,
        max_ratio: 100,
        max_name_bytes: 4096,
    };
    let mut source = StreamSource::new(
        "fuzz",
        Box::new(std::io::Cursor::new(data.to_vec())),
        limits,
    );
    let pipeline = Pipeline::new(
        Filter::new(FilterConfig::default()).unwrap(),
        ExtractOptions::default(),
    )
    .threads(1);
    let _ = pipeline.run(&mut source, &PipelineStats::default(), &|_| {});
});
