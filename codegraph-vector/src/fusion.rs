//! Combining ranked lists from different retrievers (BM25, vectors) into one.
//!
//! Two ways, both measured in docs/PERFORMANCE.md:
//!
//! - [`score_fusion`], a weighted sum of scores put on one scale (Bruch, Gai and
//!   Ingber, 2023, found such convex combinations beat rank fusion once tuned):
//!   BM25 scores are unbounded and depend on the query's length, so each BM25 list is
//!   divided by its own best score ([`Scale::ByBest`]); cosine similarities already share
//!   one scale across queries and are used as they are ([`Scale::AsIs`]). An item a
//!   full list (cut at `depth`) does not hold counts as that list's lowest score, since
//!   it ranked below the cut; one missing from a shorter list was not found at all and
//!   counts 0.
//!   With an embedding model tuned for code the cosines say more than BM25, and both
//!   lists scaled to [0, 1] between their best and the cut ([`Scale::MinMax`]) with a
//!   small text weight did best (docs/PERFORMANCE.md, "A model tuned for code search").
//! - [`reciprocal_rank_fusion`] (Cormack, Clarke and Büttcher, 2009) uses ranks only,
//!   so it needs no calibration at all: each list contributes `weight / (k + rank)`
//!   to every item it holds, ranks starting at 1. `k` damps the head of each list; 60
//!   is the value the paper found robust. Use it for scores of unknown scale.

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

/// How [`score_fusion`] puts one list's scores on the common scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// Divide by the list's best score (for BM25: positive, unbounded, query-dependent).
    ByBest,
    /// Use as they are (for cosine similarities: comparable across queries).
    AsIs,
    /// Map the list's lowest score to 0 and its best to 1: only the spread within
    /// the list counts. A list whose scores are all equal maps to 1.
    MinMax,
}

/// Fuses scored lists (each best first, each cut at `depth`) into `sum weight * scaled
/// score`; an item missing from a full list gets that list's lowest scaled score, from a
/// shorter one 0. Returns at most `limit` items, best first, ties broken by node id so
/// the order is deterministic.
pub fn score_fusion(
    lists: &[(&[ScoredNode], f32, Scale)],
    depth: usize,
    limit: usize,
) -> Vec<ScoredNode> {
    let scaled: Vec<(HashMap<NodeId, f32>, f32, f32)> = lists
        .iter()
        .map(|(list, weight, scale)| {
            let finite = || list.iter().map(|h| h.score).filter(|s| s.is_finite());
            let (offset, divisor) = match scale {
                Scale::ByBest => (0.0, finite().fold(0.0f32, f32::max)),
                Scale::AsIs => (0.0, 1.0),
                Scale::MinMax => {
                    let lo = finite().fold(f32::INFINITY, f32::min);
                    let hi = finite().fold(f32::NEG_INFINITY, f32::max);
                    if hi > lo {
                        (lo, hi - lo)
                    } else {
                        (hi - 1.0, 1.0)
                    }
                }
            };
            // A list whose best score is 0 (or empty) says nothing; keep it neutral.
            let divisor = if divisor > 0.0 { divisor } else { 1.0 };
            let scores: HashMap<NodeId, f32> = list
                .iter()
                .filter(|h| h.score.is_finite())
                .map(|h| (h.id, (h.score - offset) / divisor))
                .collect();
            let floor = scores.values().copied().fold(f32::INFINITY, f32::min);
            let floor = if floor.is_finite() && list.len() >= depth {
                floor
            } else {
                0.0
            };
            (scores, *weight, floor)
        })
        .collect();
    let mut ids: Vec<NodeId> = scaled
        .iter()
        .flat_map(|(s, _, _)| s.keys().copied())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let mut fused: Vec<ScoredNode> = ids
        .into_iter()
        .map(|id| ScoredNode {
            id,
            score: scaled
                .iter()
                .map(|(scores, weight, floor)| weight * scores.get(&id).copied().unwrap_or(*floor))
                .sum(),
        })
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

    fn scored(pairs: &[(u64, f32)]) -> Vec<ScoredNode> {
        pairs
            .iter()
            .map(|&(id, score)| ScoredNode {
                id: NodeId(id),
                score,
            })
            .collect()
    }

    #[test]
    fn score_fusion_scales_bm25_by_its_best_and_keeps_cosines() {
        // BM25 12 / 6 becomes 1 / 0.5; cosines stay. 2 is in both lists.
        let text = scored(&[(1, 12.0), (2, 6.0)]);
        let vector = scored(&[(3, 0.9), (2, 0.8)]);
        // Both lists are full at depth 2.
        let fused = score_fusion(
            &[(&text, 0.2, Scale::ByBest), (&vector, 0.8, Scale::AsIs)],
            2,
            10,
        );
        // 2: 0.2*0.5 + 0.8*0.8 = 0.74; 3: 0.2*0.5 (text floor) + 0.8*0.9 = 0.82;
        // 1: 0.2*1 + 0.8*0.8 (vector floor) = 0.84.
        assert_eq!(ids(&fused), [1, 3, 2]);
        assert!((fused[0].score - 0.84).abs() < 1e-6);
        assert!((fused[2].score - 0.74).abs() < 1e-6);
        // Doubling every BM25 score (a longer query) changes nothing.
        let text2 = scored(&[(1, 24.0), (2, 12.0)]);
        let again = score_fusion(
            &[(&text2, 0.2, Scale::ByBest), (&vector, 0.8, Scale::AsIs)],
            2,
            10,
        );
        assert_eq!(ids(&again), ids(&fused));
        // At depth 50 the lists are short: what one lacks it did not find (0 there).
        // 1: 0.2; 2: 0.1 + 0.64 = 0.74; 3: 0.72.
        let short = score_fusion(
            &[(&text, 0.2, Scale::ByBest), (&vector, 0.8, Scale::AsIs)],
            50,
            10,
        );
        assert_eq!(ids(&short), [2, 3, 1]);
        // A text-only weighting then ranks by text alone, whatever the vectors say.
        let text_only = score_fusion(
            &[(&text, 1.0, Scale::ByBest), (&vector, 0.0, Scale::AsIs)],
            50,
            10,
        );
        assert_eq!(ids(&text_only)[..2], [1, 2]);
    }

    #[test]
    fn min_max_scaling_keeps_only_the_spread_within_each_list() {
        // Text 12 / 6 / 3 becomes 1 / 1/3 / 0; cosines 0.9 / 0.8 / 0.5 become 1 / 0.75 / 0.
        let text = scored(&[(1, 12.0), (2, 6.0), (5, 3.0)]);
        let vector = scored(&[(3, 0.9), (2, 0.8), (6, 0.5)]);
        let fused = score_fusion(
            &[(&text, 0.1, Scale::MinMax), (&vector, 0.9, Scale::MinMax)],
            3,
            10,
        );
        // 3: 0.9; 2: 0.1/3 + 0.675; 1: 0.1; 5 and 6: 0, ties by id.
        assert_eq!(ids(&fused), [3, 2, 1, 5, 6]);
        assert!((fused[1].score - (0.1 / 3.0 + 0.675)).abs() < 1e-6);
        // Shifting every cosine by the same amount changes nothing, unlike `AsIs`.
        let shifted = scored(&[(3, 0.5), (2, 0.4), (6, 0.1)]);
        let again = score_fusion(
            &[(&text, 0.1, Scale::MinMax), (&shifted, 0.9, Scale::MinMax)],
            3,
            10,
        );
        assert_eq!(ids(&again), ids(&fused));
        // Equal scores all map to 1, not to a division by zero.
        let flat = scored(&[(7, 2.0), (8, 2.0)]);
        let fused = score_fusion(&[(&flat, 1.0, Scale::MinMax)], 50, 10);
        assert_eq!(ids(&fused), [7, 8]);
        assert!(fused.iter().all(|h| (h.score - 1.0).abs() < 1e-6));
    }

    #[test]
    fn score_fusion_edge_cases() {
        let vector = scored(&[(3, 0.5), (4, 0.5)]);
        // An empty list, a limit, ties by id, non-finite scores ignored.
        let fused = score_fusion(
            &[(&[], 1.0, Scale::ByBest), (&vector, 1.0, Scale::AsIs)],
            50,
            1,
        );
        assert_eq!(ids(&fused), [3]);
        let zeros = scored(&[(1, 0.0), (2, f32::NAN)]);
        let fused = score_fusion(&[(&zeros, 1.0, Scale::ByBest)], 50, 10);
        assert_eq!(ids(&fused), [1]);
        assert!(score_fusion(&[], 50, 10).is_empty());
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
