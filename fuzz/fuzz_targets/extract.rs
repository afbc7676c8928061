//! Extraction of arbitrary bytes: the first byte picks the language, and its high bit
//! a manifest's path for it (`Cargo.toml`, `tsconfig.json`, `jsconfig.json`,
//! `package.json`: read without tree-sitter).
#![no_main]

use codegraph_core::{Language, NodeKind};
use codegraph_parse::{ExtractOptions, extract::extract};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, source)) = data.split_first() else {
        return;
    };
    let language = Language::ALL[selector as usize % Language::ALL.len()];
    let path = match (selector & 0x80 != 0, language) {
        (true, Language::Rust) => "pkg/Cargo.toml",
        (true, Language::TypeScript) => "pkg/tsconfig.json",
        (true, Language::JavaScript) if selector & 0x40 != 0 => "pkg/package.json",
        (true, Language::JavaScript) => "pkg/jsconfig.json",
        _ => "src/fuzz.x",
    };
    let parsed = extract(language, path, source, &ExtractOptions::default())
        .expect("extraction only fails on timeouts");
    assert_eq!(parsed.nodes[0].kind, NodeKind::File);
    for node in &parsed.nodes {
        assert!(node.span.end_byte as usize <= source.len());
    }
});
