//! The repo map: a project's most central definitions, ranked by PageRank over the
//! resolved graph, optionally personalised to the files and symbols a reader is
//! looking at (the idea of aider's repository map, over resolved edges instead of
//! name matches).
//!
//! The graph the ranking walks is read from the store once per project and kept until
//! the project is indexed again: reading every file's resolution is the expensive part
//! (a second or so on a million lines); a ranking over the kept graph is tens of
//! milliseconds.

use std::sync::Arc;

use codegraph_core::{Budget, GraphStore, NodeId, Result};
use codegraph_store::query::NodeSummary;
use codegraph_store::rank::RankGraph;
use serde::Serialize;

use crate::db::{Db, lock, with_graph};

/// What to rank around.
#[derive(Clone, Debug, Default)]
pub struct RepoMapRequest {
    /// Repository-relative files the reader is working in: the ranking starts from
    /// their definitions, and those definitions are left out of the answer (the
    /// reader has them).
    pub focus_paths: Vec<String>,
    /// Definitions the reader is working on, treated the same way.
    pub focus_symbols: Vec<NodeId>,
    /// At most this many definitions, best first.
    pub limit: usize,
}

/// One definition of the map and its share of the rank (all ranks sum to 1).
#[derive(Clone, Debug, Serialize)]
pub struct Ranked {
    /// The definition.
    #[serde(flatten)]
    pub node: NodeSummary,
    /// Its PageRank.
    pub rank: f64,
}

impl Db {
    /// The project's most central definitions, best first: PageRank over its calls,
    /// inheritance, type references and imports (guesses by name weigh less), from
    /// everywhere or, with a focus, from the focus's definitions.
    ///
    /// The graph is read once and kept until the project is indexed again; each call
    /// checks `budget`'s stop flag between rounds and spends a visit per definition
    /// it reads for the answer.
    pub fn repo_map(
        &self,
        project: &str,
        request: &RepoMapRequest,
        budget: &Budget,
    ) -> Result<Vec<Ranked>> {
        let graph = self.rank_graph(project, budget)?;
        let mut personal: Vec<u32> = Vec::new();
        let mut hidden = vec![false; graph.ids.len()];
        if !request.focus_paths.is_empty() {
            let files: Vec<u32> = graph
                .paths
                .iter()
                .enumerate()
                .filter(|(_, p)| request.focus_paths.iter().any(|f| f == *p))
                .map(|(i, _)| i as u32)
                .collect();
            for (i, f) in graph.file_of.iter().enumerate() {
                if files.contains(f) {
                    personal.push(i as u32);
                    hidden[i] = true;
                }
            }
        }
        for id in &request.focus_symbols {
            if let Some(&i) = graph.index.get(id) {
                personal.push(i);
                hidden[i as usize] = true;
            }
        }
        let rank = graph.rank(&personal, budget)?;
        let mut order: Vec<usize> = (0..graph.ids.len())
            .filter(|&i| graph.shown[i] && !hidden[i] && rank[i] > 0.0)
            .collect();
        order.sort_unstable_by(|&a, &b| rank[b].total_cmp(&rank[a]).then(a.cmp(&b)));
        order.truncate(request.limit);
        let ids: Vec<NodeId> = order.iter().map(|&i| graph.ids[i]).collect();
        if !budget.spend(ids.len() as u64)? {
            return Ok(Vec::new());
        }
        let nodes = with_graph!(&self.graph, s => s.nodes(project, &ids))?;
        Ok(order
            .iter()
            .zip(nodes)
            .filter_map(|(&i, node)| {
                Some(Ranked {
                    node: NodeSummary::of(&node?),
                    rank: rank[i],
                })
            })
            .collect())
    }

    fn rank_graph(&self, project: &str, budget: &Budget) -> Result<Arc<RankGraph>> {
        let generation = {
            let mut ranks = lock(&self.ranks);
            if let Some(g) = ranks.get(project) {
                return Ok(g);
            }
            ranks.generation(project)
        };
        let graph = Arc::new(with_graph!(&self.graph, s => RankGraph::build(s, project, budget))?);
        // Kept only when no run changed the project while it was read.
        lock(&self.ranks).keep(project, generation, Arc::clone(&graph));
        Ok(graph)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::RankCache;
    use crate::{Backend, Cancel, DbOptions, IndexConfig, Input, Progress};

    #[test]
    fn the_rank_cache_keeps_the_recent_graphs_and_forgets_only_a_changed_project() {
        let dir = tempfile::tempdir().unwrap();
        let options = DbOptions {
            backend: Backend::Memory,
            ..DbOptions::default()
        };
        let db = Db::open(dir.path().join("store"), options).unwrap();
        let projects: Vec<String> = (0..RankCache::MAX_GRAPHS + 2)
            .map(|i| format!("p{i}"))
            .collect();
        let src = dir.path().join("src");
        std::fs::create_dir(&src).unwrap();
        let index = |project: &str, text: &str| {
            std::fs::write(src.join("m.py"), text).unwrap();
            db.index(
                project,
                Input::directory(&src),
                &IndexConfig::default(),
                &Progress::default(),
                &Cancel::new(),
            )
            .unwrap();
        };
        for p in &projects {
            index(p, "def core():\n    pass\n\ndef user():\n    core()\n");
        }
        let request = RepoMapRequest {
            focus_paths: Vec::new(),
            focus_symbols: Vec::new(),
            limit: 10,
        };
        let map = |p: &str| db.repo_map(p, &request, &Budget::unlimited()).unwrap();
        for p in &projects {
            assert_eq!(map(p)[0].node.name, "core");
        }
        // The two used first made room for the last two.
        let kept: Vec<String> = lock(&db.ranks)
            .kept()
            .into_iter()
            .map(String::from)
            .collect();
        assert_eq!(kept.len(), RankCache::MAX_GRAPHS);
        assert!(!kept.contains(&projects[0]) && !kept.contains(&projects[1]));
        // A run changes one project's graph only; its next map reads the new graph.
        index(
            &projects[5],
            "def other():\n    pass\n\ndef user():\n    other()\n",
        );
        let kept_now = lock(&db.ranks).kept().len();
        assert_eq!(kept_now, RankCache::MAX_GRAPHS - 1);
        assert_eq!(map(&projects[5])[0].node.name, "other");
        assert_eq!(map(&projects[6])[0].node.name, "core");
        assert_eq!(lock(&db.ranks).kept().len(), RankCache::MAX_GRAPHS);
    }
}
