//! Approximate nearest neighbours: a hierarchical navigable small world graph
//! (Malkov and Yashunin, 2016) over inner product, in plain Rust.
//!
//! Each vector gets a random top layer (geometric, mean 1/ln m); layer 0 links every
//! vector to up to `2m` neighbours, higher layers to up to `m`. A search descends
//! greedily from the entry point through the upper layers, then runs a best-first
//! search with a candidate list of `ef` on layer 0. Neighbours are chosen with the
//! paper's heuristic (keep a candidate only if it is closer to the new vector than to
//! every neighbour already kept), which keeps clustered data connected across clusters.
//!
//! Removal marks a vector deleted: it still routes searches but is never returned.
//! Replacing a vector deletes the old one and inserts the new.

use std::cell::RefCell;
use std::collections::{BinaryHeap, HashMap};

use crate::flat::check_query;
use codegraph_core::{Error, NodeId, Result, ScoredNode};

use crate::flat::dot;

/// The largest `m` accepted; graphs past a few dozen links per node gain nothing.
pub const MAX_M: usize = 256;

/// Build and search settings.
#[derive(Clone, Copy, Debug)]
pub struct HnswParams {
    /// Links per vector on upper layers (twice that on layer 0).
    pub m: usize,
    /// Candidate list while inserting: higher builds slower and finds better links.
    pub ef_construction: usize,
    /// Candidate list while searching (at least `k`): the recall-speed dial.
    pub ef_search: usize,
    /// Seeds the layer draw, so a build is reproducible.
    pub seed: u64,
}

impl Default for HnswParams {
    fn default() -> Self {
        HnswParams {
            m: 16,
            ef_construction: 200,
            ef_search: 64,
            seed: 0x5eed,
        }
    }
}

use crate::flat::Near;

/// A max-heap of these keeps the least similar on top.
type Far = std::cmp::Reverse<Near<u32>>;

thread_local! {
    /// Per-thread visit marks: `marks[slot] == epoch` means visited in this search.
    static VISITED: RefCell<(u32, Vec<u32>)> = const { RefCell::new((0, Vec::new())) };
}

/// An HNSW index over inner product.
#[derive(Clone, Debug)]
pub struct HnswIndex {
    dim: usize,
    params: HnswParams,
    vectors: Vec<f32>,
    ids: Vec<NodeId>,
    /// `links[slot][layer]`: neighbour slots.
    links: Vec<Vec<Vec<u32>>>,
    deleted: Vec<bool>,
    live: HashMap<NodeId, u32>,
    entry: Option<u32>,
    rng: u64,
}

impl HnswIndex {
    /// An empty index for vectors of `dim` floats, built and searched with `params`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `dim` is 0 or above
    /// [`MAX_DIMENSION`](crate::flat::MAX_DIMENSION), `m` is outside `2..=`[`MAX_M`],
    /// or `ef_construction` is 0.
    pub fn new(dim: usize, params: HnswParams) -> Result<HnswIndex> {
        if dim == 0
            || dim > crate::flat::MAX_DIMENSION
            || !(2..=MAX_M).contains(&params.m)
            || params.ef_construction == 0
        {
            return Err(Error::InvalidInput(format!(
                "HNSW needs a dimension in 1..={}, m in 2..={MAX_M} and ef_construction >= 1",
                crate::flat::MAX_DIMENSION
            )));
        }
        Ok(HnswIndex {
            dim,
            params,
            vectors: Vec::new(),
            ids: Vec::new(),
            links: Vec::new(),
            deleted: Vec::new(),
            live: HashMap::new(),
            entry: None,
            rng: params.seed,
        })
    }

    /// The length of every vector in the index.
    pub fn dimension(&self) -> usize {
        self.dim
    }

    /// Live vectors.
    pub fn len(&self) -> usize {
        self.live.len()
    }

    /// Whether the index holds no live vector (deleted ones may still be routing).
    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }

    /// Changes [`HnswParams::ef_search`] (at least 1) without rebuilding: wider finds
    /// more true neighbours, narrower answers sooner. Saved with the index.
    pub fn set_ef_search(&mut self, ef: usize) {
        self.params.ef_search = ef.max(1);
    }

    /// Approximate bytes held: vectors, ids and links.
    pub fn memory_bytes(&self) -> usize {
        let links: usize = self
            .links
            .iter()
            .flatten()
            .map(|l| l.len() * 4 + std::mem::size_of::<Vec<u32>>())
            .sum();
        self.vectors.len() * 4 + self.ids.len() * 8 + links
    }

    fn row(&self, slot: u32) -> &[f32] {
        let s = slot as usize * self.dim;
        &self.vectors[s..s + self.dim]
    }

    fn sim(&self, q: &[f32], slot: u32) -> f32 {
        let s = dot(q, self.row(slot));
        if s.is_nan() { f32::NEG_INFINITY } else { s }
    }

    /// splitmix64: a stated, reproducible source for the layer draw.
    fn next_random(&mut self) -> f64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        // In (0, 1].
        ((z >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }

    fn top_layer(&self, slot: u32) -> usize {
        self.links[slot as usize].len() - 1
    }

    /// Inserts or replaces vectors. `vectors` is row-major.
    pub fn upsert(&mut self, ids: &[NodeId], vectors: &[f32]) -> Result<()> {
        crate::flat::check_rows(ids.len(), vectors.len(), self.dim)?;
        for (id, row) in ids.iter().zip(vectors.chunks_exact(self.dim)) {
            if let Some(old) = self.live.remove(id) {
                self.deleted[old as usize] = true;
            }
            self.insert(*id, row);
        }
        Ok(())
    }

    /// Marks vectors deleted; returns how many were live.
    pub fn remove(&mut self, ids: &[NodeId]) -> usize {
        let mut n = 0;
        for id in ids {
            if let Some(slot) = self.live.remove(id) {
                self.deleted[slot as usize] = true;
                n += 1;
            }
        }
        n
    }

    fn insert(&mut self, id: NodeId, row: &[f32]) {
        let slot = u32::try_from(self.ids.len()).expect("fewer than 2^32 vectors");
        let ml = 1.0 / (self.params.m as f64).ln();
        let level = ((-self.next_random().ln()) * ml).floor().min(16.0) as usize;
        self.vectors.extend_from_slice(row);
        self.ids.push(id);
        self.links.push(vec![Vec::new(); level + 1]);
        self.deleted.push(false);
        self.live.insert(id, slot);
        let Some(entry) = self.entry else {
            self.entry = Some(slot);
            return;
        };
        let q = row.to_vec();
        let top = self.top_layer(entry);
        let mut ep = Near(self.sim(&q, entry), entry);
        for layer in (level + 1..=top).rev() {
            ep = self.greedy(&q, ep, layer);
        }
        let mut eps = vec![ep];
        for layer in (0..=level.min(top)).rev() {
            let found = self.search_layer(&q, &eps, self.params.ef_construction, layer);
            let max = if layer == 0 {
                2 * self.params.m
            } else {
                self.params.m
            };
            let chosen = self.select(&found, self.params.m);
            self.links[slot as usize][layer] = chosen.iter().map(|n| n.1).collect();
            for n in &chosen {
                self.link(n.1, slot, layer, max);
            }
            eps = found;
        }
        if level > top {
            self.entry = Some(slot);
        }
    }

    /// Adds `to` to `from`'s links on `layer`, pruning back to `max` with the heuristic.
    fn link(&mut self, from: u32, to: u32, layer: usize, max: usize) {
        let list = &mut self.links[from as usize][layer];
        list.push(to);
        if list.len() <= max {
            return;
        }
        let base = self.row(from).to_vec();
        let mut candidates: Vec<Near<u32>> = self.links[from as usize][layer]
            .iter()
            .map(|&n| Near(self.sim(&base, n), n))
            .collect();
        candidates.sort_by(|a, b| b.cmp(a));
        let kept = self.select(&candidates, max);
        self.links[from as usize][layer] = kept.iter().map(|n| n.1).collect();
    }

    /// The neighbour heuristic over candidates sorted best first: keep one only if it
    /// is more similar to the query than to any neighbour already kept; fill up with the
    /// best of the rest.
    fn select(&self, sorted: &[Near<u32>], m: usize) -> Vec<Near<u32>> {
        let mut kept: Vec<Near<u32>> = Vec::with_capacity(m);
        let mut skipped = Vec::new();
        for &c in sorted {
            if kept.len() >= m {
                break;
            }
            let row = self.row(c.1);
            let diverse = kept.iter().all(|k| dot(row, self.row(k.1)) < c.0);
            if diverse {
                kept.push(c);
            } else {
                skipped.push(c);
            }
        }
        for c in skipped {
            if kept.len() >= m {
                break;
            }
            kept.push(c);
        }
        kept
    }

    fn greedy(&self, q: &[f32], mut best: Near<u32>, layer: usize) -> Near<u32> {
        loop {
            let mut improved = false;
            for &n in &self.links[best.1 as usize][layer] {
                let s = self.sim(q, n);
                if s > best.0 {
                    best = Near(s, n);
                    improved = true;
                }
            }
            if !improved {
                return best;
            }
        }
    }

    /// Best-first search on one layer; the result is sorted best first.
    fn search_layer(
        &self,
        q: &[f32],
        entries: &[Near<u32>],
        ef: usize,
        layer: usize,
    ) -> Vec<Near<u32>> {
        VISITED.with(|cell| {
            let mut guard = cell.borrow_mut();
            let (epoch, marks) = &mut *guard;
            if marks.len() < self.ids.len() {
                marks.resize(self.ids.len(), 0);
            }
            *epoch = epoch.wrapping_add(1);
            if *epoch == 0 {
                marks.iter_mut().for_each(|m| *m = 0);
                *epoch = 1;
            }
            let epoch = *epoch;
            let mut candidates: BinaryHeap<Near<u32>> = BinaryHeap::new();
            let mut results: BinaryHeap<Far> = BinaryHeap::new();
            for &e in entries {
                if marks[e.1 as usize] != epoch {
                    marks[e.1 as usize] = epoch;
                    candidates.push(e);
                    results.push(std::cmp::Reverse(e));
                }
            }
            while results.len() > ef {
                results.pop();
            }
            while let Some(c) = candidates.pop() {
                let worst = results.peek().map_or(f32::NEG_INFINITY, |f| f.0.0);
                if c.0 < worst && results.len() >= ef {
                    break;
                }
                let Some(neighbours) = self.links[c.1 as usize].get(layer) else {
                    continue;
                };
                for &n in neighbours {
                    if marks[n as usize] == epoch {
                        continue;
                    }
                    marks[n as usize] = epoch;
                    let s = self.sim(q, n);
                    let worst = results.peek().map_or(f32::NEG_INFINITY, |f| f.0.0);
                    if results.len() < ef || s > worst {
                        candidates.push(Near(s, n));
                        results.push(std::cmp::Reverse(Near(s, n)));
                        if results.len() > ef {
                            results.pop();
                        }
                    }
                }
            }
            let mut out: Vec<Near<u32>> = results.into_iter().map(|f| f.0).collect();
            out.sort_by(|a, b| b.cmp(a));
            out
        })
    }

    /// The `k` most similar live vectors, most similar first.
    pub fn search(&self, query: &[f32], k: usize) -> Result<Vec<ScoredNode>> {
        check_query(query.len(), self.dim)?;
        let Some(entry) = self.entry else {
            return Ok(Vec::new());
        };
        if k == 0 {
            return Ok(Vec::new());
        }
        let mut ep = Near(self.sim(query, entry), entry);
        for layer in (1..=self.top_layer(entry)).rev() {
            ep = self.greedy(query, ep, layer);
        }
        // Deleted vectors take room in the candidate list; widen it by what is dead.
        let dead = self.ids.len() - self.live.len();
        let ef = self.params.ef_search.max(k) + dead.min(self.params.ef_search);
        let found = self.search_layer(query, &[ep], ef, 0);
        Ok(found
            .into_iter()
            .filter(|n| !self.deleted[n.1 as usize])
            .take(k)
            .map(|n| ScoredNode {
                id: self.ids[n.1 as usize],
                score: n.0,
            })
            .collect())
    }
}

const MAGIC: &[u8; 8] = b"CGHNSW01";
pub(crate) const FILE: &str = "hnsw.bin";

/// Reads little-endian values from a byte slice, failing on truncation.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let end = self.at.checked_add(n)?;
        let out = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(out)
    }

    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
}

impl HnswIndex {
    /// Loads an index saved by [`VectorIndex::save`](codegraph_core::VectorIndex::save).
    pub fn load(dir: &std::path::Path) -> Result<HnswIndex> {
        let path = dir.join(FILE);
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        let corrupt = || Error::Corrupt(format!("{}: not a valid HNSW index", path.display()));
        if bytes.len() < 8 || &bytes[..8] != MAGIC {
            return Err(corrupt());
        }
        let mut r = Reader {
            bytes: &bytes,
            at: 8,
        };
        let mut read = || -> Option<HnswIndex> {
            let dim = r.u32()? as usize;
            let params = HnswParams {
                m: r.u32()? as usize,
                ef_construction: r.u32()? as usize,
                ef_search: r.u32()? as usize,
                seed: r.u64()?,
            };
            let mut index = HnswIndex::new(dim, params).ok()?;
            index.rng = r.u64()?;
            let n = usize::try_from(r.u64()?).ok()?;
            // Every slot takes at least 14 bytes: a bound before allocating.
            if n > bytes.len() / 14 {
                return None;
            }
            let entry = r.u32()?;
            index.entry = (entry != u32::MAX).then_some(entry);
            for slot in 0..n {
                let id = NodeId(r.u64()?);
                let deleted = r.u8()? != 0;
                let layers = r.u8()? as usize;
                if layers == 0 || layers > 17 {
                    return None;
                }
                let mut links = Vec::with_capacity(layers);
                for _ in 0..layers {
                    let count = r.u32()? as usize;
                    if count > 4 * params.m + 1 {
                        return None;
                    }
                    let mut list = Vec::with_capacity(count);
                    for _ in 0..count {
                        let to = r.u32()?;
                        if to as usize >= n {
                            return None;
                        }
                        list.push(to);
                    }
                    links.push(list);
                }
                index.ids.push(id);
                index.deleted.push(deleted);
                index.links.push(links);
                if !deleted && index.live.insert(id, slot as u32).is_some() {
                    return None;
                }
            }
            let raw = r.take(n.checked_mul(dim)?.checked_mul(4)?)?;
            index.vectors = raw
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
                .collect();
            if r.at != bytes.len() || index.entry.is_some_and(|e| e as usize >= n) {
                return None;
            }
            if n > 0 && index.entry.is_none() {
                return None;
            }
            // Links must not name layers a neighbour does not have.
            for (slot, layers) in index.links.iter().enumerate() {
                for (layer, list) in layers.iter().enumerate() {
                    if list
                        .iter()
                        .any(|&to| index.links[to as usize].len() <= layer || to as usize == slot)
                    {
                        return None;
                    }
                }
            }
            Some(index)
        };
        read().ok_or_else(corrupt)
    }
}

impl codegraph_core::VectorIndex for HnswIndex {
    fn name(&self) -> String {
        format!(
            "hnsw:M{},efC{},ef{}",
            self.params.m, self.params.ef_construction, self.params.ef_search
        )
    }

    fn dimension(&self) -> usize {
        self.dim
    }

    fn len(&self) -> usize {
        self.live.len()
    }

    fn upsert(&mut self, ids: &[NodeId], vectors: &[f32]) -> Result<()> {
        HnswIndex::upsert(self, ids, vectors)
    }

    fn remove(&mut self, ids: &[NodeId]) -> Result<usize> {
        Ok(HnswIndex::remove(self, ids))
    }

    fn search(&self, query: &[f32], k: usize) -> Result<Vec<ScoredNode>> {
        HnswIndex::search(self, query, k)
    }

    fn save(&self, dir: &std::path::Path) -> Result<()> {
        use std::io::Write;
        crate::flat::write_atomically(dir, FILE, |w| {
            w.write_all(MAGIC)?;
            for v in [
                self.dim,
                self.params.m,
                self.params.ef_construction,
                self.params.ef_search,
            ] {
                w.write_all(&(v as u32).to_le_bytes())?;
            }
            w.write_all(&self.params.seed.to_le_bytes())?;
            w.write_all(&self.rng.to_le_bytes())?;
            w.write_all(&(self.ids.len() as u64).to_le_bytes())?;
            w.write_all(&self.entry.unwrap_or(u32::MAX).to_le_bytes())?;
            for slot in 0..self.ids.len() {
                w.write_all(&self.ids[slot].0.to_le_bytes())?;
                w.write_all(&[u8::from(self.deleted[slot]), self.links[slot].len() as u8])?;
                for list in &self.links[slot] {
                    w.write_all(&(list.len() as u32).to_le_bytes())?;
                    for to in list {
                        w.write_all(&to.to_le_bytes())?;
                    }
                }
            }
            for v in &self.vectors {
                w.write_all(&v.to_le_bytes())?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flat::FlatIndex;
    use codegraph_core::VectorIndex;

    /// Unit vectors around a few random centres: the shape of real embeddings.
    fn clustered(n: usize, dim: usize, seed: u64) -> Vec<f32> {
        let mut state = seed;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as f32 / (1u64 << 31) as f32) - 0.5
        };
        let centres: Vec<Vec<f32>> = (0..16)
            .map(|_| (0..dim).map(|_| next()).collect())
            .collect();
        let mut out = Vec::with_capacity(n * dim);
        for i in 0..n {
            let c = &centres[i % centres.len()];
            let mut v: Vec<f32> = c.iter().map(|x| x + 0.3 * next()).collect();
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.iter_mut().for_each(|x| *x /= norm);
            out.extend(v);
        }
        out
    }

    #[test]
    fn recall_against_exact_search_on_clustered_data() {
        let (n, dim, k) = (3000, 32, 10);
        let data = clustered(n, dim, 1);
        let ids: Vec<NodeId> = (0..n as u64).map(NodeId).collect();
        let mut hnsw = HnswIndex::new(dim, HnswParams::default()).unwrap();
        hnsw.upsert(&ids, &data).unwrap();
        let mut flat = FlatIndex::new(dim).unwrap();
        flat.upsert(&ids, &data).unwrap();
        let queries = clustered(100, dim, 2);
        let mut found = 0;
        for q in queries.chunks_exact(dim) {
            let want: Vec<NodeId> = flat.search(q, k).unwrap().iter().map(|h| h.id).collect();
            let got = hnsw.search(q, k).unwrap();
            found += got.iter().filter(|h| want.contains(&h.id)).count();
        }
        let recall = found as f64 / (100 * k) as f64;
        assert!(recall >= 0.95, "recall@10 {recall}");
    }

    #[test]
    fn saved_indexes_load_the_same_and_garbage_is_refused() {
        let dim = 16;
        let data = clustered(500, dim, 5);
        let ids: Vec<NodeId> = (0..500).map(NodeId).collect();
        let mut hnsw = HnswIndex::new(dim, HnswParams::default()).unwrap();
        hnsw.upsert(&ids, &data).unwrap();
        hnsw.remove(&[NodeId(3)]);
        let dir = tempfile::tempdir().unwrap();
        VectorIndex::save(&hnsw, dir.path()).unwrap();
        let loaded = HnswIndex::load(dir.path()).unwrap();
        assert_eq!(loaded.len(), 499);
        for q in data.chunks_exact(dim).take(20) {
            assert_eq!(hnsw.search(q, 5).unwrap(), loaded.search(q, 5).unwrap());
        }
        let file = dir.path().join(FILE);
        let bytes = std::fs::read(&file).unwrap();
        for cut in [9, 40, bytes.len() / 2, bytes.len() - 1] {
            std::fs::write(&file, &bytes[..cut]).unwrap();
            assert!(matches!(
                HnswIndex::load(dir.path()),
                Err(Error::Corrupt(_))
            ));
        }
        // A neighbour index past the end.
        let mut bad = bytes.clone();
        let first_link = 8 + 16 + 16 + 8 + 4 + 8 + 2 + 4;
        bad[first_link..first_link + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        std::fs::write(&file, &bad).unwrap();
        assert!(HnswIndex::load(dir.path()).is_err());
    }

    #[test]
    fn deleted_and_replaced_vectors_are_never_returned() {
        let dim = 8;
        let data = clustered(200, dim, 3);
        let ids: Vec<NodeId> = (0..200).map(NodeId).collect();
        let mut hnsw = HnswIndex::new(dim, HnswParams::default()).unwrap();
        hnsw.upsert(&ids, &data).unwrap();
        let q = &data[..dim];
        assert_eq!(hnsw.search(q, 1).unwrap()[0].id, NodeId(0));
        assert_eq!(hnsw.remove(&[NodeId(0), NodeId(999)]), 1);
        assert!(
            hnsw.search(q, 10)
                .unwrap()
                .iter()
                .all(|h| h.id != NodeId(0))
        );
        // Give id 1 the vector id 0 had: it becomes the best match.
        hnsw.upsert(&[NodeId(1)], q).unwrap();
        assert_eq!(hnsw.search(q, 1).unwrap()[0].id, NodeId(1));
        assert_eq!(hnsw.len(), 199);
        assert!(hnsw.search(&[0.0; 3], 1).is_err());
        assert!(HnswIndex::new(0, HnswParams::default()).is_err());
    }
}
