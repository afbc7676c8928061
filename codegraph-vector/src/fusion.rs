//! Combining ranked lists from different retrievers (BM25, vectors) into one.
//!
//! Reciprocal rank fusion (Cormack, Clarke and Büttcher, 2009) uses ranks only, so it
//! needs no calibration between BM25 scores (unbounded) and cosine similarities
//! (within [-1, 1]): each list contributes `weight / (k + rank)` to every item it
//! holds, ranks starting at 1. `k` damps the head of each list; 60 is the value the
//! paper found robust.

use std::collections::HashMap;

use codegraph_core::{NodeId, ScoredNode};

/// The paper's default damping constant.
pub const RRF_K: f32 = 60.0;

/// Fuses ranked lists (each best first) with per-list weights; returns at most `limit`
/// items, best first, ties broken by node id so the order is deterministic.
pub fn reciprocal_rank_fusion(
    lists: &[(&[ScoredNode], f32)],
    k: f32,
    limit: usize,
) -> Vec<ScoredNode> {
    let mut scores: HashMap<NodeId, f32> = HashMap::new();
    for (list, weight) in lists {
        for (rank, hit) in list.iter().enumerate() {
            *scores.entry(hit.id).or_default() += weight / (k + rank as f32 + 1.0);
        }
    }
    let mut fused: Vec<ScoredNode> = scores
        .into_iter()
        .map(|(id, score)| ScoredNode { id, score })
        .collect();
    fused.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
    fused.truncate(limit);
    fused
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(ids: &[u64]) -> Vec<ScoredNode> {
        ids.iter()
            .enumerate()
            .map(|(i, id)| ScoredNode {
                id: NodeId(*id),
                score: 100.0 - i as f32,
            })
            .collect()
    }

    fn ids(hits: &[ScoredNode]) -> Vec<u64> {
        hits.iter().map(|h| h.id.0).collect()
    }

    #[test]
    fn agreement_beats_a_single_first_place() {
        let text = list(&[1, 2, 3]);
        let vector = list(&[4, 2, 5]);
        let fused = reciprocal_rank_fusion(&[(&text, 1.0), (&vector, 1.0)], RRF_K, 10);
        assert_eq!(ids(&fused)[0], 2);
        assert_eq!(fused.len(), 5);
        // Ties (1 and 4 both first once) fall back to id order.
        assert_eq!(ids(&fused)[1..3], [1, 4]);
    }

    #[test]
    fn weights_and_limits() {
        let text = list(&[1, 2]);
        let vector = list(&[3, 4]);
        let fused = reciprocal_rank_fusion(&[(&text, 1.0), (&vector, 2.0)], RRF_K, 3);
        assert_eq!(ids(&fused), [3, 4, 1]);
        assert!(reciprocal_rank_fusion(&[], RRF_K, 10).is_empty());
        assert!(reciprocal_rank_fusion(&[(&text, 1.0)], RRF_K, 0).is_empty());
    }
}
