//! Graph answers: typed results over the store's queries ([`codegraph_store::query`]).
//!
//! Each takes a [`Budget`]: the work it may do and its stop flag. A command line passes
//! [`Budget::unlimited`]; a server gives each request its own, and reports
//! [`Budget::truncated`] beside the answer.

use codegraph_core::{Budget, Direction, Error, Node, NodeId, Result};
use codegraph_store::query::{
    self, Filters, Impacted, Match, NodeSummary, Reached, Related, Subgraph,
};

use crate::db::{Db, with_graph};

/// A definition found by name, with its score (higher is better) for ranked matches.
pub type SymbolHit = query::Hit;

impl Db {
    /// Definitions by name: exact (a simple or qualified name), prefix or fuzzy, best
    /// first, at most `limit`.
    pub fn find(
        &self,
        project: &str,
        pattern: &str,
        how: Match,
        filters: &Filters,
        limit: usize,
        budget: &Budget,
    ) -> Result<Vec<SymbolHit>> {
        with_graph!(&self.graph, s => query::find(s, project, pattern, how, filters, limit, budget))
    }

    /// Every node a user's words may name: a 16-digit node id, `path:line`, a
    /// qualified name or a simple name.
    pub fn lookup(&self, project: &str, spec: &str, budget: &Budget) -> Result<Vec<Node>> {
        with_graph!(&self.graph, s => query::lookup(s, project, spec, budget))
    }

    /// The one node `spec` names ([`Db::lookup`]); [`Error::NotFound`] when none,
    /// [`Error::InvalidInput`] listing up to 20 candidates when several.
    pub fn symbol(&self, project: &str, spec: &str, budget: &Budget) -> Result<Node> {
        let mut nodes = self.lookup(project, spec, budget)?;
        match nodes.len() {
            0 => Err(Error::NotFound(format!(
                "no symbol {spec:?} in project {project}"
            ))),
            1 => Ok(nodes.remove(0)),
            n => {
                let mut msg = format!(
                    "{spec:?} names {n} symbols; give a qualified name, an id or path:line:"
                );
                for node in nodes.iter().take(20) {
                    msg += &format!(
                        "\n  {}  {} {} {}:{}",
                        node.id, node.kind, node.qualified_name, node.path, node.span.start_line
                    );
                }
                Err(Error::InvalidInput(msg))
            }
        }
    }

    /// A node by id.
    pub fn node(&self, project: &str, id: NodeId) -> Result<Option<Node>> {
        with_graph!(&self.graph, s => codegraph_core::GraphStore::node(s, project, id))
    }

    /// Who calls `id`, one entry per call site.
    pub fn callers(&self, project: &str, id: NodeId, budget: &Budget) -> Result<Vec<Related>> {
        with_graph!(&self.graph, s => query::calls(s, project, id, Direction::Incoming, budget))
    }

    /// What `id` calls, one entry per call site.
    pub fn callees(&self, project: &str, id: NodeId, budget: &Budget) -> Result<Vec<Related>> {
        with_graph!(&self.graph, s => query::calls(s, project, id, Direction::Outgoing, budget))
    }

    /// Everything that depends on `id` within `depth` edges (callers, subclasses,
    /// importers, and theirs), each saying whether a name-only guess led to it; with
    /// `certain_only`, guessed edges are not followed.
    pub fn impact(
        &self,
        project: &str,
        id: NodeId,
        depth: u32,
        certain_only: bool,
        budget: &Budget,
    ) -> Result<Vec<Impacted>> {
        with_graph!(&self.graph, s => query::impact(s, project, id, depth, certain_only, budget))
    }

    /// The shortest chain of calls, inheritance or imports from `from` to `to`; empty
    /// when there is none within `max_depth` edges.
    pub fn path(
        &self,
        project: &str,
        from: NodeId,
        to: NodeId,
        max_depth: u32,
        budget: &Budget,
    ) -> Result<Vec<NodeSummary>> {
        with_graph!(&self.graph, s => query::shortest_path(s, project, from, to, max_depth, budget))
    }

    /// A file's definitions in source order, each with its nesting depth.
    pub fn outline(&self, project: &str, path: &str, budget: &Budget) -> Result<Vec<Reached>> {
        with_graph!(&self.graph, s => query::outline(s, project, path, budget))
    }

    /// The nodes within `radius` edges of `id` (at most `max_nodes`) and the edges
    /// among them.
    pub fn neighbours(
        &self,
        project: &str,
        id: NodeId,
        radius: u32,
        max_nodes: usize,
        budget: &Budget,
    ) -> Result<Subgraph> {
        with_graph!(&self.graph, s => query::neighbourhood(s, project, id, radius, max_nodes, budget))
    }
}
