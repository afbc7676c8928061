//! FAISS indexes behind [`VectorIndex`] (feature `faiss`): any index the FAISS index
//! factory builds (`Flat`, `IVF1024,Flat`, `IVF1024,PQ48`, `HNSW32`, ...), scored by
//! inner product.
//!
//! FAISS labels are signed 63-bit; node ids use all 64 bits. So each index keeps its
//! own dense labels and a table from label to node id, saved beside the FAISS file:
//!
//! | file | contents |
//! |---|---|
//! | `faiss.index` | the index, as `faiss::write_index` writes it |
//! | `faiss.ids` | `CGFIDS01`, the factory string (length u32 and bytes), next label u64, count u64, then (label u64, node id u64) pairs, all LE |
//!
//! IVF indexes take ids natively; other kinds are wrapped in FAISS's `IDMap`. Indexes
//! that need training (IVF, PQ) train on the first vectors upserted, so the first
//! batch must be representative and large enough (FAISS says how large when it is
//! not). FAISS's HNSW cannot remove vectors: replacing or removing one there is an
//! error.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use crate::flat::check_query;
use codegraph_core::{Error, NodeId, Result, ScoredNode, VectorIndex};
use faiss::index::IndexImpl;
use faiss::index::autotune::ParameterSpace;
use faiss::selector::IdSelector;
use faiss::{Idx, Index, MetricType};

use crate::flat::{check_rows, write_atomically};

const INDEX_FILE: &str = "faiss.index";
const IDS_FILE: &str = "faiss.ids";
const IDS_MAGIC: &[u8; 8] = b"CGFIDS01";

fn err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Backend {
        backend: "faiss",
        message: format!("{what}: {e}"),
        source: None,
    }
}

/// A FAISS index keyed by node id.
pub struct FaissIndex {
    description: String,
    dim: usize,
    // FAISS searches through `&mut`; the lock gives `VectorIndex::search` its `&self`.
    index: Mutex<IndexImpl>,
    labels: HashMap<NodeId, u64>,
    ids: HashMap<u64, NodeId>,
    next: u64,
}

impl FaissIndex {
    /// An empty index from a FAISS factory string, such as `IVF1024,PQ48`.
    pub fn new(dim: usize, description: &str) -> Result<FaissIndex> {
        if dim == 0 || dim > u32::MAX as usize {
            return Err(Error::InvalidInput(format!(
                "vector dimension {dim} is out of range"
            )));
        }
        let factory = if description.starts_with("IVF") || description.starts_with("IDMap") {
            description.to_string()
        } else {
            format!("IDMap,{description}")
        };
        let index = faiss::index_factory(dim as u32, &factory, MetricType::InnerProduct)
            .map_err(|e| err(&format!("index factory {description:?}"), e))?;
        Ok(FaissIndex {
            description: description.to_string(),
            dim,
            index: Mutex::new(index),
            labels: HashMap::new(),
            ids: HashMap::new(),
            next: 0,
        })
    }

    /// Sets a search-time parameter by FAISS's name for it: `nprobe` (IVF),
    /// `efSearch` (HNSW).
    pub fn set_parameter(&mut self, name: &str, value: f64) -> Result<()> {
        let space = ParameterSpace::new().map_err(|e| err("parameter space", e))?;
        let index = self.index.get_mut().unwrap_or_else(|e| e.into_inner());
        space
            .set_index_parameter(index, name, value)
            .map_err(|e| err(&format!("setting {name}"), e))
    }

    /// Bytes the index takes when written out: FAISS's own serialised size, which for
    /// these kinds is what it holds in memory.
    pub fn serialized_bytes(&self) -> Result<u64> {
        let dir = tempfile_dir()?;
        let path = dir.join(INDEX_FILE);
        self.write_index(&path)?;
        let len = std::fs::metadata(&path)
            .map_err(|e| Error::io(&path, e))?
            .len();
        let _ = std::fs::remove_dir_all(&dir);
        Ok(len)
    }

    fn write_index(&self, path: &Path) -> Result<()> {
        let name = path
            .to_str()
            .ok_or_else(|| Error::InvalidInput(format!("{} is not UTF-8", path.display())))?;
        let index = self.index.lock().unwrap_or_else(|e| e.into_inner());
        faiss::write_index(&*index, name).map_err(|e| err(name, e))
    }

    /// Loads an index saved by [`VectorIndex::save`].
    pub fn load(dir: &Path) -> Result<FaissIndex> {
        let ids_path = dir.join(IDS_FILE);
        let bytes = std::fs::read(&ids_path).map_err(|e| Error::io(&ids_path, e))?;
        let corrupt = || Error::Corrupt(format!("{}: not a FAISS id table", ids_path.display()));
        if bytes.len() < 12 || &bytes[..8] != IDS_MAGIC {
            return Err(corrupt());
        }
        let mut at: usize = 8;
        let mut take = |n: usize| -> Result<&[u8]> {
            let end = at.checked_add(n).ok_or_else(corrupt)?;
            let out = bytes.get(at..end).ok_or_else(corrupt)?;
            at = end;
            Ok(out)
        };
        let u64_of = |b: &[u8]| u64::from_le_bytes(b.try_into().expect("8 bytes"));
        let len = u32::from_le_bytes(take(4)?.try_into().expect("4 bytes")) as usize;
        let description = std::str::from_utf8(take(len)?)
            .map_err(|_| corrupt())?
            .to_string();
        let next = u64_of(take(8)?);
        let count = u64_of(take(8)?);
        let mut labels = HashMap::new();
        let mut ids = HashMap::new();
        for _ in 0..count {
            let label = u64_of(take(8)?);
            let id = NodeId(u64_of(take(8)?));
            if label >= next
                || labels.insert(id, label).is_some()
                || ids.insert(label, id).is_some()
            {
                return Err(corrupt());
            }
        }
        if at != bytes.len() {
            return Err(corrupt());
        }
        let index_path = dir.join(INDEX_FILE);
        let name = index_path
            .to_str()
            .ok_or_else(|| Error::InvalidInput(format!("{} is not UTF-8", index_path.display())))?;
        if !index_path.is_file() {
            return Err(Error::io(
                &index_path,
                std::io::Error::from(std::io::ErrorKind::NotFound),
            ));
        }
        let index = faiss::read_index(name).map_err(|e| err(name, e))?;
        if index.ntotal() != count {
            return Err(Error::Corrupt(format!(
                "{}: {} vectors, and the id table has {count}",
                index_path.display(),
                index.ntotal()
            )));
        }
        Ok(FaissIndex {
            description,
            dim: index.d() as usize,
            index: Mutex::new(index),
            labels,
            ids,
            next,
        })
    }
}

fn tempfile_dir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "codegraph-faiss-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    Ok(dir)
}

fn label(l: u64) -> Idx {
    // Labels are dense counters, far below 2^63 (where `Idx::new` would panic).
    Idx::new(l)
}

impl VectorIndex for FaissIndex {
    fn name(&self) -> String {
        format!("faiss:{}", self.description)
    }

    fn dimension(&self) -> usize {
        self.dim
    }

    fn len(&self) -> usize {
        self.labels.len()
    }

    fn upsert(&mut self, ids: &[NodeId], vectors: &[f32]) -> Result<()> {
        check_rows(ids.len(), vectors.len(), self.dim)?;
        let mut unique = std::collections::HashSet::new();
        if !ids.iter().all(|id| unique.insert(*id)) {
            return Err(Error::InvalidInput(
                "an id appears twice in one upsert".into(),
            ));
        }
        let replaced: Vec<NodeId> = ids
            .iter()
            .filter(|id| self.labels.contains_key(id))
            .copied()
            .collect();
        self.remove(&replaced)?;
        let index = self.index.get_mut().unwrap_or_else(|e| e.into_inner());
        if !index.is_trained() {
            index
                .train(vectors)
                .map_err(|e| err(&format!("training on {} vectors", ids.len()), e))?;
        }
        if self
            .next
            .checked_add(ids.len() as u64)
            .is_none_or(|n| n >= 1 << 62)
        {
            return Err(Error::InvalidInput("too many vectors for one index".into()));
        }
        let labels: Vec<Idx> = (self.next..self.next + ids.len() as u64)
            .map(label)
            .collect();
        index
            .add_with_ids(vectors, &labels)
            .map_err(|e| err("adding vectors", e))?;
        for (id, l) in ids.iter().zip(self.next..) {
            self.labels.insert(*id, l);
            self.ids.insert(l, *id);
        }
        self.next += ids.len() as u64;
        Ok(())
    }

    fn remove(&mut self, ids: &[NodeId]) -> Result<usize> {
        let held: Vec<(NodeId, u64)> = ids
            .iter()
            .filter_map(|id| Some((*id, *self.labels.get(id)?)))
            .collect();
        if held.is_empty() {
            return Ok(0);
        }
        let labels: Vec<Idx> = held.iter().map(|(_, l)| label(*l)).collect();
        let selector = IdSelector::batch(&labels).map_err(|e| err("id selector", e))?;
        let index = self.index.get_mut().unwrap_or_else(|e| e.into_inner());
        index.remove_ids(&selector).map_err(|e| {
            err(
                &format!(
                    "removing vectors from {} (FAISS's HNSW cannot)",
                    self.description
                ),
                e,
            )
        })?;
        for (id, l) in &held {
            self.labels.remove(id);
            self.ids.remove(l);
        }
        Ok(held.len())
    }

    fn search(&self, query: &[f32], k: usize) -> Result<Vec<ScoredNode>> {
        check_query(query.len(), self.dim)?;
        if k == 0 || self.labels.is_empty() {
            return Ok(Vec::new());
        }
        let mut index = self.index.lock().unwrap_or_else(|e| e.into_inner());
        let found = index
            .search(query, k.min(self.labels.len()))
            .map_err(|e| err("search", e))?;
        Ok(found
            .labels
            .iter()
            .zip(&found.distances)
            .filter_map(|(l, score)| {
                Some(ScoredNode {
                    id: *self.ids.get(&l.get()?)?,
                    score: *score,
                })
            })
            .collect())
    }

    fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        // FAISS writes in place; write aside and rename so a crash keeps the old file.
        let tmp = dir.join(format!("{INDEX_FILE}.tmp"));
        self.write_index(&tmp)?;
        let path = dir.join(INDEX_FILE);
        std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
        let mut pairs: Vec<(u64, NodeId)> = self.ids.iter().map(|(l, id)| (*l, *id)).collect();
        pairs.sort_unstable();
        write_atomically(dir, IDS_FILE, |w| {
            w.write_all(IDS_MAGIC)?;
            w.write_all(&(self.description.len() as u32).to_le_bytes())?;
            w.write_all(self.description.as_bytes())?;
            w.write_all(&self.next.to_le_bytes())?;
            w.write_all(&(pairs.len() as u64).to_le_bytes())?;
            for (l, id) in &pairs {
                w.write_all(&l.to_le_bytes())?;
                w.write_all(&id.0.to_le_bytes())?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FlatIndex;

    fn data(n: usize, dim: usize) -> Vec<f32> {
        let mut state = 7u64;
        let mut out = Vec::with_capacity(n * dim);
        for _ in 0..n {
            let row: Vec<f32> = (0..dim)
                .map(|_| {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    ((state >> 40) as f32 / (1u64 << 24) as f32) - 0.5
                })
                .collect();
            let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt();
            out.extend(row.iter().map(|x| x / norm));
        }
        out
    }

    #[test]
    fn faiss_flat_agrees_with_the_flat_index_and_follows_edits() {
        let dim = 16;
        let vectors = data(300, dim);
        // Ids across the whole u64 range, top bit included.
        let ids: Vec<NodeId> = (0..300u64)
            .map(|i| NodeId(i.wrapping_mul(0x9E37_79B9_7F4A_7C15)))
            .collect();
        let mut faiss = FaissIndex::new(dim, "Flat").unwrap();
        let mut flat = FlatIndex::new(dim).unwrap();
        faiss.upsert(&ids, &vectors).unwrap();
        flat.upsert(&ids, &vectors).unwrap();
        assert_eq!(faiss.remove(&ids[..50]).unwrap(), 50);
        flat.remove(&ids[..50]).unwrap();
        // Replacing a vector moves it.
        faiss.upsert(&ids[60..61], &vectors[..dim]).unwrap();
        flat.upsert(&ids[60..61], &vectors[..dim]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        faiss.save(dir.path()).unwrap();
        let loaded = FaissIndex::load(dir.path()).unwrap();
        assert_eq!(loaded.len(), 250);
        for q in vectors.chunks_exact(dim).take(20) {
            let want: Vec<NodeId> = flat.search(q, 5).unwrap().iter().map(|h| h.id).collect();
            let got: Vec<NodeId> = loaded.search(q, 5).unwrap().iter().map(|h| h.id).collect();
            assert_eq!(got, want);
        }
        std::fs::write(dir.path().join(IDS_FILE), b"CGFIDS01\x05").unwrap();
        assert!(FaissIndex::load(dir.path()).is_err());
    }

    #[test]
    fn ivf_trains_on_its_first_batch_and_bad_factories_are_errors() {
        let dim = 16;
        let vectors = data(2000, dim);
        let ids: Vec<NodeId> = (0..2000).map(NodeId).collect();
        let mut ivf = FaissIndex::new(dim, "IVF16,Flat").unwrap();
        ivf.upsert(&ids, &vectors).unwrap();
        ivf.set_parameter("nprobe", 16.0).unwrap();
        let hits = ivf.search(&vectors[..dim], 1).unwrap();
        assert_eq!(hits[0].id, ids[0]);
        assert!(FaissIndex::new(dim, "NoSuchIndex").is_err());
        assert!(ivf.search(&vectors[..3], 1).is_err());
    }
}
