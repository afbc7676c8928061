//! Ranking a project's definitions by PageRank over its resolved graph (the repo map's
//! engine): a compact copy of the graph, read once, and a ranking over it that may be
//! personalised to a focus.

use std::collections::HashMap;

use codegraph_core::{Budget, EdgeKind, GraphStore, NodeId, NodeKind, Resolution, Result};

/// The resolved graph of one project in compact form.
pub struct RankGraph {
    /// Every node of the project, files first within each file's nodes.
    pub ids: Vec<NodeId>,
    /// Each id's position in `ids`.
    pub index: HashMap<NodeId, u32>,
    /// Whether the node is a definition worth showing (not a file, not a variable).
    pub shown: Vec<bool>,
    /// Repository-relative path of each node's file, as an index into `paths`.
    pub file_of: Vec<u32>,
    /// The project's files.
    pub paths: Vec<String>,
    /// Outgoing edges as (target, weight), grouped by source in CSR form.
    starts: Vec<u32>,
    targets: Vec<(u32, f32)>,
    /// Sum of each node's outgoing weights.
    out_weight: Vec<f32>,
}

/// How much an edge says about what matters: a certain call more than a guess by name,
/// a call more than an import.
fn weight(kind: EdgeKind, resolution: Resolution) -> f32 {
    let by_kind = match kind {
        EdgeKind::Calls | EdgeKind::Inherits | EdgeKind::Implements => 1.0,
        EdgeKind::References => 0.5,
        EdgeKind::Imports => 0.3,
        EdgeKind::Contains => 0.0,
    };
    let by_resolution = match resolution {
        // One of the methods an interface call may run, not the one it names.
        Resolution::Dispatch => 0.5,
        Resolution::UniqueName => 0.4,
        Resolution::Ambiguous => 0.1,
        Resolution::Unresolved => 0.0,
        _ => 1.0,
    };
    by_kind * by_resolution
}

/// A member's importance is partly its container's: a class whose methods are called
/// everywhere is central even when nothing names the class itself.
const MEMBER_TO_CONTAINER: f32 = 0.3;

impl RankGraph {
    /// Reads `project`'s graph from `store`; stops when `budget`'s flag is set.
    pub fn build<S: GraphStore + ?Sized>(
        store: &S,
        project: &str,
        budget: &Budget,
    ) -> Result<RankGraph> {
        let files = store.files(project)?;
        let mut ids = Vec::new();
        let mut paths = Vec::with_capacity(files.len());
        let mut file_of = Vec::new();
        for (f, file) in files.iter().enumerate() {
            paths.push(file.path.clone());
            for id in &file.node_ids {
                ids.push(*id);
                file_of.push(f as u32);
            }
        }
        let index: HashMap<NodeId, u32> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, i as u32))
            .collect();
        let mut shown = vec![false; ids.len()];
        let mut edges: Vec<(u32, u32, f32)> = Vec::new();
        for file in &files {
            budget.cancel().check()?;
            let nodes = store.nodes(project, &file.node_ids)?;
            let types: std::collections::HashSet<NodeId> = nodes
                .iter()
                .flatten()
                .filter(|n| n.kind.is_type())
                .map(|n| n.id)
                .collect();
            for node in nodes.iter().flatten() {
                let Some(&i) = index.get(&node.id) else {
                    continue;
                };
                let show = !matches!(
                    node.kind,
                    NodeKind::File
                        | NodeKind::Module
                        | NodeKind::Namespace
                        | NodeKind::Package
                        | NodeKind::Variable
                        | NodeKind::Import
                        | NodeKind::EnumMember
                        | NodeKind::Field
                );
                shown[i as usize] = show;
                if let Some(parent) = node.parent.filter(|p| show && types.contains(p))
                    && let Some(&p) = index.get(&parent)
                {
                    edges.push((i, p, MEMBER_TO_CONTAINER));
                }
            }
            let Some(resolution) = store.resolution(project, &file.path)? else {
                continue;
            };
            for e in &resolution.edges {
                let w = weight(e.kind, e.resolution);
                if w <= 0.0 || e.src == e.dst {
                    continue;
                }
                if let (Some(&s), Some(&d)) = (index.get(&e.src), index.get(&e.dst)) {
                    edges.push((s, d, w));
                }
            }
        }
        edges.sort_unstable_by_key(|&(s, d, _)| (s, d));
        let mut starts = Vec::with_capacity(ids.len() + 1);
        starts.push(0u32);
        let mut targets: Vec<(u32, f32)> = Vec::with_capacity(edges.len());
        let mut out_weight = vec![0f32; ids.len()];
        let mut e = 0;
        for s in 0..ids.len() as u32 {
            let first = targets.len();
            while e < edges.len() && edges[e].0 == s {
                let (_, d, w) = edges[e];
                e += 1;
                // Several sites from one caller to one callee count once, at the
                // strongest: a function called ten times in one body is not ten
                // times as central.
                let grouped = targets.len() > first;
                match targets.last_mut() {
                    Some((last, lw)) if grouped && *last == d => {
                        if w > *lw {
                            out_weight[s as usize] += w - *lw;
                            *lw = w;
                        }
                    }
                    _ => {
                        targets.push((d, w));
                        out_weight[s as usize] += w;
                    }
                }
            }
            starts.push(targets.len() as u32);
        }
        Ok(RankGraph {
            ids,
            index,
            shown,
            file_of,
            paths,
            starts,
            targets,
            out_weight,
        })
    }

    /// PageRank with teleports to `personal` (uniform when empty), damping 0.85,
    /// until the ranks move less than 1e-6 in all or after 50 rounds.
    pub fn rank(&self, personal: &[u32], budget: &Budget) -> Result<Vec<f64>> {
        let n = self.ids.len();
        if n == 0 {
            return Ok(Vec::new());
        }
        let mut teleport = vec![0f64; n];
        if personal.is_empty() {
            teleport.fill(1.0 / n as f64);
        } else {
            for &p in personal {
                teleport[p as usize] += 1.0 / personal.len() as f64;
            }
        }
        const DAMPING: f64 = 0.85;
        let mut rank = teleport.clone();
        let mut next = vec![0f64; n];
        for _ in 0..50 {
            budget.cancel().check()?;
            next.fill(0.0);
            let mut dangling = 0.0;
            for (s, (&r, &out)) in rank.iter().zip(&self.out_weight).enumerate() {
                let out = f64::from(out);
                if out <= 0.0 {
                    dangling += r;
                    continue;
                }
                let share = r / out;
                let (a, b) = (self.starts[s] as usize, self.starts[s + 1] as usize);
                for &(d, w) in &self.targets[a..b] {
                    next[d as usize] += share * f64::from(w);
                }
            }
            let mut moved = 0.0;
            for ((old, &t), &flow) in rank.iter_mut().zip(&teleport).zip(&next) {
                let r = (1.0 - DAMPING) * t + DAMPING * (flow + dangling * t);
                moved += (r - *old).abs();
                *old = r;
            }
            if moved < 1e-6 {
                break;
            }
        }
        Ok(rank)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use codegraph_core::Cancel;
    use proptest::prelude::*;

    /// A graph of `n` shown nodes with the given weighted edges, in the CSR form
    /// `build` makes.
    fn graph(n: usize, mut edges: Vec<(u32, u32, f32)>) -> RankGraph {
        edges.sort_by_key(|&(s, d, _)| (s, d));
        edges.dedup_by_key(|e| (e.0, e.1));
        let mut starts = vec![0u32];
        let mut targets = Vec::new();
        let mut out_weight = vec![0f32; n];
        for s in 0..n as u32 {
            for &(_, d, w) in edges.iter().filter(|e| e.0 == s) {
                targets.push((d, w));
                out_weight[s as usize] += w;
            }
            starts.push(targets.len() as u32);
        }
        let ids: Vec<NodeId> = (0..n as u64).map(NodeId).collect();
        RankGraph {
            index: ids
                .iter()
                .enumerate()
                .map(|(i, id)| (*id, i as u32))
                .collect(),
            ids,
            shown: vec![true; n],
            file_of: vec![0; n],
            paths: vec!["f".into()],
            starts,
            targets,
            out_weight,
        }
    }

    fn edges(n: u32) -> impl Strategy<Value = Vec<(u32, u32, f32)>> {
        prop::collection::vec((0..n, 0..n, 0.1f32..1.0), 0..60)
            .prop_map(|v| v.into_iter().filter(|(s, d, _)| s != d).collect())
    }

    proptest! {
        #[test]
        fn ranks_are_shares_of_one_whole(
            (n, edges, focus) in (2u32..30).prop_flat_map(|n| (Just(n), edges(n), prop::collection::vec(0..n, 0..4)))
        ) {
            let g = graph(n as usize, edges);
            let budget = Budget::new(u64::MAX, Cancel::new());
            for personal in [Vec::new(), focus.clone()] {
                let rank = g.rank(&personal, &budget).unwrap();
                let total: f64 = rank.iter().sum();
                prop_assert!((total - 1.0).abs() < 1e-6, "{total}");
                prop_assert!(rank.iter().all(|r| *r >= 0.0));
                // A focus keeps at least its teleport share.
                for &f in &personal {
                    let share = personal.iter().filter(|&&p| p == f).count() as f64
                        / personal.len() as f64;
                    prop_assert!(rank[f as usize] >= 0.15 * share - 1e-9);
                }
            }
        }
    }

    #[test]
    fn what_everything_points_at_ranks_first() {
        let g = graph(5, vec![(0, 4, 1.0), (1, 4, 1.0), (2, 4, 1.0), (3, 2, 1.0)]);
        let rank = g.rank(&[], &Budget::unlimited()).unwrap();
        let best = (0..5).max_by(|&a, &b| rank[a].total_cmp(&rank[b])).unwrap();
        assert_eq!(best, 4);
        assert!(rank[2] > rank[0], "{rank:?}");
    }
}
