//! A quantised index for projects too large to hold their vectors in memory: 8-bit
//! scalar codes in memory, full vectors left on disk for re-ranking.
//!
//! [`Sq8Index`] is built from a saved [`FlatIndex`] file (`flat.bin`) and keeps it
//! open. Each coordinate is coded in one byte on its dimension's own range (minimum
//! and step learned from the data, values outside clamped), so a 384-dimension vector
//! takes 384 bytes instead of 1,536, plus its 8-byte id: 1M x 384 fits in about
//! 392 MB. A query scores every code (`q . decode(c)` computed as `q.lo + (q*step).c`,
//! so no vector is decoded), keeps the best `k * rerank` candidates, and reads their
//! full vectors from `flat.bin` to rank them exactly. With the default re-rank factor
//! of 10 the result matches exact search except where 8-bit rounding pushes a true
//! neighbour below hundreds of others (see `vector_recall`).
//!
//! [`FlatIndex`]: crate::FlatIndex

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::flat::check_query;
use codegraph_core::{Error, NodeId, Result, ScoredNode};

use crate::flat::{self, dot, top_k};

/// Bytes read per block while building: whole rows, about 4 MiB.
const BLOCK_BYTES: usize = 4 << 20;

/// An 8-bit scalar-quantised index over a flat index file.
pub struct Sq8Index {
    dim: usize,
    ids: Vec<NodeId>,
    codes: Vec<u8>,
    lo: Vec<f32>,
    step: Vec<f32>,
    file: File,
    path: PathBuf,
    /// Where row 0's vector starts in the file.
    base: u64,
    rerank: usize,
}

impl Sq8Index {
    /// Quantises the flat index saved in `dir`, reading it twice in blocks (ranges,
    /// then codes), never whole.
    pub fn build(dir: &Path) -> Result<Sq8Index> {
        let path = dir.join(flat::FILE);
        let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
        let (dim, n) = flat::read_header(&file, &path)?;
        let read =
            |buf: &mut [u8], at: u64| file.read_exact_at(buf, at).map_err(|e| Error::io(&path, e));
        let mut id_bytes = vec![0u8; n * 8];
        read(&mut id_bytes, flat::HEADER_BYTES)?;
        let ids: Vec<NodeId> = id_bytes
            .chunks_exact(8)
            .map(|c| NodeId(u64::from_le_bytes(c.try_into().expect("8 bytes"))))
            .collect();
        let base = flat::HEADER_BYTES + n as u64 * 8;
        let row_bytes = dim * 4;
        let rows_per_block = (BLOCK_BYTES / row_bytes).max(1);
        let each_block = |f: &mut dyn FnMut(&[f32])| -> Result<()> {
            let mut buf = vec![0u8; rows_per_block * row_bytes];
            let mut row = 0;
            while row < n {
                let rows = rows_per_block.min(n - row);
                let bytes = &mut buf[..rows * row_bytes];
                read(bytes, base + (row * row_bytes) as u64)?;
                let values: Vec<f32> = bytes
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
                    .collect();
                f(&values);
                row += rows;
            }
            Ok(())
        };
        let mut lo = vec![f32::INFINITY; dim];
        let mut hi = vec![f32::NEG_INFINITY; dim];
        each_block(&mut |values| {
            for v in values.chunks_exact(dim) {
                for i in 0..dim {
                    lo[i] = lo[i].min(v[i]);
                    hi[i] = hi[i].max(v[i]);
                }
            }
        })?;
        let step: Vec<f32> = lo
            .iter()
            .zip(&hi)
            .map(|(l, h)| if h > l { (h - l) / 255.0 } else { 1.0 })
            .collect();
        for l in &mut lo {
            if !l.is_finite() {
                *l = 0.0;
            }
        }
        let mut codes = Vec::with_capacity(n * dim);
        each_block(&mut |values| {
            for v in values.chunks_exact(dim) {
                codes.extend(v.iter().enumerate().map(|(i, x)| {
                    let c = ((x - lo[i]) / step[i]).round();
                    c.clamp(0.0, 255.0) as u8
                }));
            }
        })?;
        Ok(Sq8Index {
            dim,
            ids,
            codes,
            lo,
            step,
            file,
            path,
            base,
            rerank: 10,
        })
    }

    /// Candidates re-ranked exactly per result wanted (default 10).
    pub fn set_rerank(&mut self, factor: usize) {
        self.rerank = factor.max(1);
    }

    /// The number of vectors coded.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the index codes no vector.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The length of every vector in the index.
    pub fn dimension(&self) -> usize {
        self.dim
    }

    /// Bytes held in memory: codes, ids and the per-dimension ranges.
    pub fn memory_bytes(&self) -> usize {
        self.codes.len() + self.ids.len() * 8 + self.dim * 8
    }

    /// The `k` nearest by inner product, ranked on the full vectors.
    pub fn search(&self, query: &[f32], k: usize) -> Result<Vec<ScoredNode>> {
        check_query(query.len(), self.dim)?;
        let bias = dot(query, &self.lo);
        let scaled: Vec<f32> = query.iter().zip(&self.step).map(|(q, s)| q * s).collect();
        let approx = self
            .codes
            .chunks_exact(self.dim)
            .enumerate()
            .map(|(row, c)| (bias + dot_u8(&scaled, c), row));
        let candidates = top_k(approx, k.saturating_mul(self.rerank));
        let mut buf = vec![0u8; self.dim * 4];
        let mut full = vec![0f32; self.dim];
        let mut exact = Vec::with_capacity(candidates.len());
        for (_, row) in candidates {
            self.file
                .read_exact_at(&mut buf, self.base + (row * self.dim * 4) as u64)
                .map_err(|e| Error::io(&self.path, e))?;
            for (x, c) in full.iter_mut().zip(buf.chunks_exact(4)) {
                *x = f32::from_le_bytes(c.try_into().expect("4 bytes"));
            }
            exact.push((dot(query, &full), row));
        }
        Ok(top_k(exact.into_iter(), k)
            .into_iter()
            .map(|(score, row)| ScoredNode {
                id: self.ids[row],
                score,
            })
            .collect())
    }
}

/// `sum(a[i] * b[i])` over f32 weights and byte codes, in lanes the compiler
/// vectorises.
fn dot_u8(a: &[f32], b: &[u8]) -> f32 {
    const LANES: usize = 16;
    let mut acc = [0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..LANES {
            acc[i] += x[i] * y[i] as f32;
        }
    }
    let mut sum: f32 = acc.iter().sum();
    for (x, y) in ra.iter().zip(rb) {
        sum += x * *y as f32;
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FlatIndex;
    use codegraph_core::VectorIndex;

    #[test]
    fn quantised_search_with_reranking_matches_exact_search() {
        let dim = 24;
        let mut state = 3u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        };
        let n = 3000;
        let vectors: Vec<f32> = (0..n * dim).map(|_| next()).collect();
        let ids: Vec<NodeId> = (0..n as u64).map(|i| NodeId(i ^ (1 << 63))).collect();
        let mut flat = FlatIndex::new(dim).unwrap();
        flat.upsert(&ids, &vectors).unwrap();
        let dir = tempfile::tempdir().unwrap();
        flat.save(dir.path()).unwrap();
        let sq = Sq8Index::build(dir.path()).unwrap();
        assert_eq!(sq.len(), n);
        assert!(sq.memory_bytes() < n * (dim + 8) + dim * 8 + 1);
        let mut agree = 0;
        for q in vectors.chunks_exact(dim).take(50) {
            let want: Vec<NodeId> = flat.search(q, 10).unwrap().iter().map(|h| h.id).collect();
            let got = sq.search(q, 10).unwrap();
            // Re-ranked scores are exact.
            assert!((got[0].score - dot(q, flat.get(got[0].id).unwrap())).abs() < 1e-5);
            agree += got.iter().filter(|h| want.contains(&h.id)).count();
        }
        assert!(agree >= 490, "recall {agree}/500");
        assert!(sq.search(&[0.0; 3], 1).is_err());
    }

    #[test]
    fn a_damaged_flat_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut flat = FlatIndex::new(4).unwrap();
        flat.upsert(&[NodeId(1)], &[1.0, 0.0, 0.0, 0.0]).unwrap();
        flat.save(dir.path()).unwrap();
        let path = dir.path().join(flat::FILE);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
        assert!(Sq8Index::build(dir.path()).is_err());
    }
}
