//! Exact nearest neighbours by scanning every vector: the reference every approximate
//! index is measured against, and the right choice below a few tens of thousands of
//! vectors.
//!
//! Vectors are kept row-major in one `Vec<f32>`, so a search is one pass over
//! contiguous memory; the inner product works on fixed blocks of 16 lanes that the
//! compiler turns into SIMD on any x86-64 or aarch64 target.
//!
//! On disk (`flat.bin`, little-endian): the magic `CGFLAT01`, the dimension (u32), the
//! count n (u64), n node ids (u64), then n rows of `dimension` f32. Written to a
//! temporary file and renamed, so a crash leaves the old file or the new one.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap};
use std::io::{BufWriter, Read, Write};
use std::path::Path;

use codegraph_core::{Error, NodeId, Result, ScoredNode, VectorIndex};

const MAGIC: &[u8; 8] = b"CGFLAT01";
pub(crate) const FILE: &str = "flat.bin";
/// Magic, dimension (u32) and count (u64).
pub(crate) const HEADER_BYTES: u64 = 20;
const LANES: usize = 16;

/// The longest vectors any index here accepts: far past every embedding model, and a
/// bound that keeps a damaged file's header from asking for gigabytes.
pub const MAX_DIMENSION: usize = 1 << 16;

/// An exact inner-product index.
#[derive(Clone, Debug)]
pub struct FlatIndex {
    dim: usize,
    ids: Vec<NodeId>,
    vectors: Vec<f32>,
    slots: HashMap<NodeId, usize>,
}

/// The inner product of two equally long slices.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..LANES {
            acc[i] += x[i] * y[i];
        }
    }
    let mut sum: f32 = acc.iter().sum();
    for (x, y) in ra.iter().zip(rb) {
        sum += x * y;
    }
    sum
}

/// A candidate: a similarity and a slot, ordered by similarity, then the lower slot
/// first (so equal scores come out in a fixed order). `Reverse<Near>` in a max-heap
/// keeps the worst on top, for top-k selection.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Near<I>(pub f32, pub I);

impl<I: Ord> Eq for Near<I> {}

impl<I: Ord> PartialOrd for Near<I> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<I: Ord> Ord for Near<I> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0
            .total_cmp(&other.0)
            .then_with(|| other.1.cmp(&self.1))
    }
}

/// The `k` best `(score, index)` pairs of `scores`, best first. NaN scores lose.
pub fn top_k(scores: impl Iterator<Item = (f32, usize)>, k: usize) -> Vec<(f32, usize)> {
    if k == 0 {
        return Vec::new();
    }
    let mut heap: BinaryHeap<Reverse<Near<usize>>> = BinaryHeap::with_capacity(k + 1);
    for (score, i) in scores {
        let score = if score.is_nan() {
            f32::NEG_INFINITY
        } else {
            score
        };
        let near = Near(score, i);
        if heap.len() < k {
            heap.push(Reverse(near));
        } else if heap.peek().is_some_and(|worst| near > worst.0) {
            heap.pop();
            heap.push(Reverse(near));
        }
    }
    let mut out: Vec<(f32, usize)> = heap.into_iter().map(|Reverse(n)| (n.0, n.1)).collect();
    out.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    out
}

impl FlatIndex {
    /// An empty index for vectors of `dim` floats.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `dim` is 0 or above [`MAX_DIMENSION`].
    pub fn new(dim: usize) -> Result<FlatIndex> {
        if dim == 0 || dim > MAX_DIMENSION {
            return Err(Error::InvalidInput(format!(
                "vector dimension {dim} is outside 1..={MAX_DIMENSION}"
            )));
        }
        Ok(FlatIndex {
            dim,
            ids: Vec::new(),
            vectors: Vec::new(),
            slots: HashMap::new(),
        })
    }

    /// An index over `ids` and their row-major `vectors`, taken without copying.
    pub fn from_rows(dim: usize, ids: Vec<NodeId>, vectors: Vec<f32>) -> Result<FlatIndex> {
        let mut index = FlatIndex::new(dim)?;
        check_rows(ids.len(), vectors.len(), dim)?;
        for (slot, id) in ids.iter().enumerate() {
            if index.slots.insert(*id, slot).is_some() {
                return Err(Error::InvalidInput(format!("{id} appears twice")));
            }
        }
        index.ids = ids;
        index.vectors = vectors;
        Ok(index)
    }

    /// The vector held for `id`.
    pub fn get(&self, id: NodeId) -> Option<&[f32]> {
        let slot = *self.slots.get(&id)?;
        Some(&self.vectors[slot * self.dim..(slot + 1) * self.dim])
    }

    /// Loads an index saved by [`VectorIndex::save`].
    pub fn load(dir: &Path) -> Result<FlatIndex> {
        let path = dir.join(FILE);
        let corrupt = |what: &str| Error::Corrupt(format!("{}: {what}", path.display()));
        let mut bytes = Vec::new();
        std::fs::File::open(&path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(|e| Error::io(&path, e))?;
        if bytes.len() < 20 || &bytes[..8] != MAGIC {
            return Err(corrupt("not a flat vector index"));
        }
        let dim = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes")) as usize;
        let n = u64::from_le_bytes(bytes[12..20].try_into().expect("8 bytes"));
        let n = usize::try_from(n).map_err(|_| corrupt("count too large"))?;
        let expected = n
            .checked_mul(8)
            .and_then(|ids| n.checked_mul(dim)?.checked_mul(4)?.checked_add(ids))
            .and_then(|body| body.checked_add(20))
            .ok_or_else(|| corrupt("sizes overflow"))?;
        if dim == 0 || bytes.len() != expected {
            return Err(corrupt("truncated or wrong size"));
        }
        let mut index = FlatIndex::new(dim)?;
        let (id_bytes, rest) = bytes[20..].split_at(n * 8);
        index.ids = id_bytes
            .chunks_exact(8)
            .map(|c| NodeId(u64::from_le_bytes(c.try_into().expect("8 bytes"))))
            .collect();
        index.vectors = rest
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect();
        for (slot, id) in index.ids.iter().enumerate() {
            if index.slots.insert(*id, slot).is_some() {
                return Err(corrupt("an id appears twice"));
            }
        }
        Ok(index)
    }
}

impl VectorIndex for FlatIndex {
    fn name(&self) -> String {
        "flat".to_string()
    }

    fn dimension(&self) -> usize {
        self.dim
    }

    fn len(&self) -> usize {
        self.ids.len()
    }

    fn upsert(&mut self, ids: &[NodeId], vectors: &[f32]) -> Result<()> {
        check_rows(ids.len(), vectors.len(), self.dim)?;
        for (id, row) in ids.iter().zip(vectors.chunks_exact(self.dim)) {
            match self.slots.get(id) {
                Some(&slot) => {
                    self.vectors[slot * self.dim..(slot + 1) * self.dim].copy_from_slice(row)
                }
                None => {
                    self.slots.insert(*id, self.ids.len());
                    self.ids.push(*id);
                    self.vectors.extend_from_slice(row);
                }
            }
        }
        Ok(())
    }

    fn remove(&mut self, ids: &[NodeId]) -> Result<usize> {
        let mut removed = 0;
        for id in ids {
            let Some(slot) = self.slots.remove(id) else {
                continue;
            };
            removed += 1;
            let last = self.ids.len() - 1;
            if slot != last {
                let moved = self.ids[last];
                self.ids[slot] = moved;
                self.vectors
                    .copy_within(last * self.dim..(last + 1) * self.dim, slot * self.dim);
                self.slots.insert(moved, slot);
            }
            self.ids.pop();
            self.vectors.truncate(last * self.dim);
        }
        Ok(removed)
    }

    fn search(&self, query: &[f32], k: usize) -> Result<Vec<ScoredNode>> {
        check_query(query.len(), self.dim)?;
        let scores = self
            .vectors
            .chunks_exact(self.dim)
            .enumerate()
            .map(|(i, row)| (dot(row, query), i));
        Ok(top_k(scores, k)
            .into_iter()
            .map(|(score, i)| ScoredNode {
                id: self.ids[i],
                score,
            })
            .collect())
    }

    fn save(&self, dir: &Path) -> Result<()> {
        write_atomically(dir, FILE, |w| {
            w.write_all(MAGIC)?;
            w.write_all(&(self.dim as u32).to_le_bytes())?;
            w.write_all(&(self.ids.len() as u64).to_le_bytes())?;
            for id in &self.ids {
                w.write_all(&id.0.to_le_bytes())?;
            }
            for v in &self.vectors {
                w.write_all(&v.to_le_bytes())?;
            }
            Ok(())
        })
    }
}

/// The dimension and vector count of a saved flat index, checked against the file's
/// length, without reading the vectors.
pub(crate) fn read_header(file: &std::fs::File, path: &Path) -> Result<(usize, usize)> {
    use std::os::unix::fs::FileExt;
    let corrupt = |what: &str| Error::Corrupt(format!("{}: {what}", path.display()));
    let mut header = [0u8; HEADER_BYTES as usize];
    file.read_exact_at(&mut header, 0)
        .map_err(|_| corrupt("not a flat vector index"))?;
    if &header[..8] != MAGIC {
        return Err(corrupt("not a flat vector index"));
    }
    let dim = u32::from_le_bytes(header[8..12].try_into().expect("4 bytes")) as usize;
    let n = u64::from_le_bytes(header[12..20].try_into().expect("8 bytes"));
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let expected = n
        .checked_mul(8 + dim as u64 * 4)
        .and_then(|body| body.checked_add(HEADER_BYTES));
    if dim == 0 || dim > MAX_DIMENSION || expected != Some(len) {
        return Err(corrupt("truncated or wrong size"));
    }
    let n = usize::try_from(n).map_err(|_| corrupt("count too large"))?;
    Ok((dim, n))
}

/// A saved flat index searched in place through a memory map: opening reads only the
/// header, and the OS pages vectors in (and out) as searches touch them, so a large
/// project's vectors need not fit in memory at once.
pub struct MappedFlat {
    map: memmap2::Mmap,
    dim: usize,
    n: usize,
}

impl MappedFlat {
    /// Maps the index saved in `dir` by [`VectorIndex::save`].
    pub fn open(dir: &Path) -> Result<MappedFlat> {
        let path = dir.join(FILE);
        let file = std::fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
        let (dim, n) = read_header(&file, &path)?;
        // SAFETY: index files are replaced by renaming a new file over them, never
        // written in place, so the mapped bytes do not change while mapped.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(&path, e))?;
        let expected = HEADER_BYTES as usize + n * (8 + dim * 4);
        if map.len() != expected || !cfg!(target_endian = "little") {
            return Err(Error::Corrupt(format!(
                "{}: changed while opening, or not a little-endian machine",
                path.display()
            )));
        }
        Ok(MappedFlat { map, dim, n })
    }

    /// The length of every vector in the file.
    pub fn dimension(&self) -> usize {
        self.dim
    }

    /// The number of vectors in the file.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether the file holds no vector.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    fn id(&self, slot: usize) -> NodeId {
        let at = HEADER_BYTES as usize + slot * 8;
        NodeId(u64::from_le_bytes(
            self.map[at..at + 8].try_into().expect("8 bytes"),
        ))
    }

    /// The `k` most similar vectors, exactly.
    pub fn search(&self, query: &[f32], k: usize) -> Result<Vec<ScoredNode>> {
        check_query(query.len(), self.dim)?;
        let start = HEADER_BYTES as usize + self.n * 8;
        // SAFETY: every bit pattern is a valid f32; `align_to` puts any unaligned
        // head in `head`, which is empty because the map is page-aligned and the
        // vectors start at a multiple of 4 (20 + 8n).
        let (head, vectors, _) = unsafe { self.map[start..].align_to::<f32>() };
        if !head.is_empty() {
            return Err(Error::Corrupt("misaligned vector file".into()));
        }
        let scores = vectors
            .chunks_exact(self.dim)
            .take(self.n)
            .enumerate()
            .map(|(i, row)| (dot(row, query), i));
        Ok(top_k(scores, k)
            .into_iter()
            .map(|(score, slot)| ScoredNode {
                id: self.id(slot),
                score,
            })
            .collect())
    }
}

/// Checks that a query is as long as the vectors an index holds.
pub(crate) fn check_query(len: usize, dim: usize) -> Result<()> {
    if len == dim {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "the query has {len} dimensions; the index holds {dim}"
        )))
    }
}

/// Checks that `values` row-major values hold exactly `rows` vectors of `dim`.
pub(crate) fn check_rows(rows: usize, values: usize, dim: usize) -> Result<()> {
    if rows.checked_mul(dim) == Some(values) {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "{values} values for {rows} vectors of {dim} dimensions"
        )))
    }
}

/// Writes `dir/name` through a temporary file that is synced and renamed over it, so
/// a crash leaves the old file or the new one, never half of one.
pub(crate) fn write_atomically(
    dir: &Path,
    name: &str,
    body: impl FnOnce(&mut BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let path = dir.join(name);
    let tmp = dir.join(format!("{name}.tmp"));
    let write = || -> std::io::Result<()> {
        let mut w = BufWriter::new(std::fs::File::create(&tmp)?);
        body(&mut w)?;
        w.into_inner()?.sync_all()?;
        std::fs::rename(&tmp, &path)
    };
    write().map_err(|e| Error::io(&path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ids(n: u64) -> Vec<NodeId> {
        (0..n).map(NodeId).collect()
    }

    #[test]
    fn a_mapped_index_answers_as_the_loaded_one() {
        let dim = 7;
        let mut flat = FlatIndex::new(dim).unwrap();
        let vectors: Vec<f32> = (0..50 * dim)
            .map(|i| ((i * 37) % 11) as f32 - 5.0)
            .collect();
        flat.upsert(&ids(50), &vectors).unwrap();
        let dir = tempfile::tempdir().unwrap();
        flat.save(dir.path()).unwrap();
        let mapped = MappedFlat::open(dir.path()).unwrap();
        assert_eq!((mapped.len(), mapped.dimension()), (50, dim));
        for q in vectors.chunks_exact(dim).take(10) {
            assert_eq!(mapped.search(q, 5).unwrap(), flat.search(q, 5).unwrap());
        }
        assert!(mapped.search(&[1.0], 1).is_err());
        let path = dir.path().join(FILE);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 4]).unwrap();
        assert!(MappedFlat::open(dir.path()).is_err());
    }

    #[test]
    fn dot_matches_the_obvious_sum() {
        let a: Vec<f32> = (0..37).map(|i| i as f32 * 0.5).collect();
        let b: Vec<f32> = (0..37).map(|i| 1.0 - i as f32 * 0.25).collect();
        let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - naive).abs() < 1e-3);
    }

    #[test]
    fn upsert_replace_remove_and_persist() {
        let mut index = FlatIndex::new(2).unwrap();
        index
            .upsert(&ids(3), &[1.0, 0.0, 0.0, 1.0, 0.7, 0.7])
            .unwrap();
        let hits = index.search(&[1.0, 0.1], 2).unwrap();
        assert_eq!(hits[0].id, NodeId(0));
        assert_eq!(hits[1].id, NodeId(2));
        // Replacing keeps one vector per id.
        index.upsert(&[NodeId(0)], &[-1.0, 0.0]).unwrap();
        assert_eq!(index.len(), 3);
        assert_eq!(index.search(&[1.0, 0.1], 1).unwrap()[0].id, NodeId(2));
        assert_eq!(index.remove(&[NodeId(2), NodeId(9)]).unwrap(), 1);
        assert_eq!(index.get(NodeId(1)), Some(&[0.0, 1.0][..]));

        let dir = tempfile::tempdir().unwrap();
        index.save(dir.path()).unwrap();
        let loaded = FlatIndex::load(dir.path()).unwrap();
        assert_eq!(loaded.len(), 2);
        assert_eq!(loaded.get(NodeId(0)), Some(&[-1.0, 0.0][..]));
        assert_eq!(
            loaded.search(&[0.0, 1.0], 1).unwrap()[0].id,
            index.search(&[0.0, 1.0], 1).unwrap()[0].id
        );
    }

    #[test]
    fn bad_input_is_an_error() {
        let mut index = FlatIndex::new(3).unwrap();
        assert!(FlatIndex::new(0).is_err());
        assert!(index.upsert(&ids(2), &[1.0; 5]).is_err());
        assert!(index.search(&[1.0; 2], 1).is_err());
        assert!(index.search(&[1.0; 3], 0).unwrap().is_empty());
        index.upsert(&ids(1), &[1.0; 3]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        index.save(dir.path()).unwrap();
        let file = dir.path().join(FILE);
        let bytes = std::fs::read(&file).unwrap();
        std::fs::write(&file, &bytes[..bytes.len() - 1]).unwrap();
        assert!(matches!(
            FlatIndex::load(dir.path()),
            Err(Error::Corrupt(_))
        ));
        std::fs::write(&file, b"garbage").unwrap();
        assert!(matches!(
            FlatIndex::load(dir.path()),
            Err(Error::Corrupt(_))
        ));
    }

    proptest! {
        #[test]
        fn search_returns_the_true_top_k(
            rows in prop::collection::vec(prop::collection::vec(-1.0f32..1.0, 5), 1..60),
            query in prop::collection::vec(-1.0f32..1.0, 5),
            k in 1usize..10,
        ) {
            let mut index = FlatIndex::new(5).unwrap();
            let flat: Vec<f32> = rows.iter().flatten().copied().collect();
            index.upsert(&ids(rows.len() as u64), &flat).unwrap();
            let got = index.search(&query, k).unwrap();
            let mut want: Vec<(f32, u64)> = rows
                .iter()
                .enumerate()
                .map(|(i, r)| (r.iter().zip(&query).map(|(a, b)| a * b).sum(), i as u64))
                .collect();
            want.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            prop_assert_eq!(got.len(), k.min(rows.len()));
            for (g, w) in got.iter().zip(&want) {
                prop_assert!((g.score - w.0).abs() < 1e-4);
            }
        }
    }
}
