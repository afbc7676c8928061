//! The walk-cache file from arbitrary bytes: refused (a full walk follows) or decoded
//! to a snapshot that encodes back to itself; never a panic or a huge allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = codegraph_parse::source::fuzz_walk_cache(data);
});
