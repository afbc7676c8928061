//! The on-disk vector formats (flat, HNSW, a project's embedding files) from arbitrary
//! bytes: each loader refuses damage with an error, never a panic or a huge allocation.
#![no_main]

use std::path::PathBuf;

use codegraph_core::{Embedder, Result};
use codegraph_vector::{
    FlatIndex, HnswIndex, MappedFlat, SearchStrategy, SemanticIndex, SemanticStore, Sq8Index,
};
use libfuzzer_sys::fuzz_target;

/// Opening a store needs an embedder's id and dimension; nothing is embedded here.
struct Unused;

impl Embedder for Unused {
    fn model_id(&self) -> &str {
        "fuzz"
    }
    fn dimension(&self) -> usize {
        4
    }
    fn embed_documents(&self, _: &[&str]) -> Result<Vec<Vec<f32>>> {
        unreachable!("the fuzz target never embeds")
    }
    fn embed_query(&self, _: &str) -> Result<Vec<f32>> {
        unreachable!("the fuzz target never embeds")
    }
}

fn scratch() -> PathBuf {
    let base = if std::path::Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    base.join(format!("codegraph-fuzz-vectors-{}", std::process::id()))
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    let root = scratch();
    let dir = root.join("p-p");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&dir).unwrap();
    let name = ["flat.bin", "hnsw.bin", "files.bin", "cache.bin", "meta"][which as usize % 5];
    std::fs::write(dir.join(name), bytes).unwrap();
    match name {
        "flat.bin" => {
            if let Ok(flat) = FlatIndex::load(&dir) {
                use codegraph_core::VectorIndex;
                let _ = flat.search(&vec![0.5; flat.dimension()], 3);
            }
            if let Ok(mapped) = MappedFlat::open(&dir) {
                let _ = mapped.search(&vec![0.5; mapped.dimension()], 3);
            }
            if let Ok(sq8) = Sq8Index::build(&dir) {
                let _ = sq8.search(&vec![0.5; sq8.dimension()], 3);
            }
        }
        "hnsw.bin" => {
            if let Ok(hnsw) = HnswIndex::load(&dir) {
                let _ = hnsw.search(&vec![0.5; hnsw.dimension()], 3);
            }
        }
        "meta" => {
            if let Ok(Some(mut index)) = SemanticIndex::open(&root, "p") {
                for s in [
                    SearchStrategy::Exact,
                    SearchStrategy::Balanced,
                    SearchStrategy::Compact,
                ] {
                    let _ = index.search(&[0.5; 4], 3, s);
                }
            }
        }
        _ => {
            if let Ok(store) = SemanticStore::open(&root, "p", &Unused) {
                let _ = store.held();
            }
        }
    }
});
