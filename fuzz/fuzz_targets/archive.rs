//! Archives (tar, tar.gz, zip) from arbitrary bytes, with small limits so that bombs
//! are cheap to find.
#![no_main]

use codegraph_parse::filter::{Filter, FilterConfig};
use codegraph_parse::source::{ArchiveLimits, ArchiveSource, Sink, Source, SourceItem};
use libfuzzer_sys::fuzz_target;

struct Check;

impl Sink for Check {
    fn item(&mut self, item: SourceItem) -> std::ops::ControlFlow<()> {
        if let SourceItem::File(file) = item {
            assert!(!file.path.starts_with('/'));
            assert!(!file.path.split('/').any(|c| c == ".." || c.is_empty()));
        }
        std::ops::ControlFlow::Continue(())
    }
}

fuzz_target!(|data: &[u8]| {
    let limits = ArchiveLimits {
        max_total_bytes: 1 << 20,
        max_entries: 1000,
        max_ratio: 100,
        max_name_bytes: 4096,
    };
    let filter = Filter::new(FilterConfig {
        max_file_size: 64 * 1024,
        ..FilterConfig::default()
    })
    .unwrap();
    if let Ok(mut source) = ArchiveSource::from_bytes("fuzz", data.to_vec(), limits) {
        let _ = source.run(&filter, &mut Check);
    }
});
