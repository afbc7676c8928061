//! Helpers shared by the store's integration tests.
#![allow(dead_code)]

use codegraph_core::{Budget, GraphStore, Node};
use codegraph_parse::filter::{Filter, FilterConfig};
use codegraph_parse::source::MemorySource;
use codegraph_parse::{ExtractOptions, Pipeline};
use codegraph_store::{IndexOptions, IndexProgress, IndexReport, index, query};

pub fn pipeline() -> Pipeline {
    Pipeline::new(
        Filter::new(FilterConfig::default()).unwrap(),
        ExtractOptions::default(),
    )
    .threads(2)
}

/// Indexes in-memory files into `project`.
pub fn index_files<S: GraphStore + ?Sized>(
    store: &S,
    project: &str,
    files: &[(&str, &str)],
) -> IndexReport {
    index_files_with(store, project, files, &IndexOptions::default())
}

pub fn index_files_with<S: GraphStore + ?Sized>(
    store: &S,
    project: &str,
    files: &[(&str, &str)],
    options: &IndexOptions,
) -> IndexReport {
    let files = files
        .iter()
        .map(|(p, c)| (p.to_string(), c.as_bytes().to_vec()))
        .collect();
    let mut source = MemorySource::new(project, files);
    index(
        store,
        project,
        &mut source,
        pipeline(),
        options,
        &IndexProgress::default(),
    )
    .expect("indexing succeeds")
}

/// The project as export JSON lines.
pub fn export<S: GraphStore + ?Sized>(store: &S, project: &str) -> String {
    let mut out = Vec::new();
    query::export_jsonl(store, project, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// The one node with this qualified name.
pub fn node<S: GraphStore + ?Sized>(store: &S, project: &str, qualified: &str) -> Node {
    let nodes = query::lookup(store, project, qualified, &Budget::unlimited()).unwrap();
    let exact: Vec<&Node> = nodes
        .iter()
        .filter(|n| n.qualified_name == qualified)
        .collect();
    assert_eq!(
        exact.len(),
        1,
        "expected one node {qualified}, found {:?}",
        nodes
            .iter()
            .map(|n| (&n.qualified_name, n.kind, &n.path))
            .collect::<Vec<_>>()
    );
    exact[0].clone()
}

/// `(callee qualified name, resolution)` of every call out of a node, sorted.
pub fn callees<S: GraphStore + ?Sized>(store: &S, project: &str, qualified: &str) -> Vec<String> {
    calls_shown(store, project, qualified, |n| n.qualified_name.clone())
}

/// What a node calls, as `qualified:line (resolution)`: tells overloads apart.
pub fn callee_lines<S: GraphStore + ?Sized>(
    store: &S,
    project: &str,
    qualified: &str,
) -> Vec<String> {
    calls_shown(store, project, qualified, |n| {
        format!("{}:{}", n.qualified_name, n.line)
    })
}

fn calls_shown<S: GraphStore + ?Sized>(
    store: &S,
    project: &str,
    qualified: &str,
    show: impl Fn(&query::NodeSummary) -> String,
) -> Vec<String> {
    let n = node(store, project, qualified);
    let mut out: Vec<String> = query::calls(
        store,
        project,
        n.id,
        codegraph_core::Direction::Outgoing,
        &Budget::unlimited(),
    )
    .unwrap()
    .into_iter()
    .map(|r| format!("{} ({})", show(&r.node), r.resolution))
    .collect();
    out.sort();
    out.dedup();
    out
}

/// `(target, resolution)` of edges of one kind out of a node.
pub fn targets<S: GraphStore + ?Sized>(
    store: &S,
    project: &str,
    qualified: &str,
    kind: codegraph_core::EdgeKind,
) -> Vec<String> {
    let n = node(store, project, qualified);
    let mut out: Vec<String> = store
        .edges(
            project,
            n.id,
            codegraph_core::Direction::Outgoing,
            Some(kind),
        )
        .unwrap()
        .into_iter()
        .map(|e| {
            let dst = store.node(project, e.dst).unwrap().unwrap();
            format!("{} ({})", dst.qualified_name, e.resolution)
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Every node with this simple name.
pub fn nodes_named<S: GraphStore + ?Sized>(store: &S, project: &str, name: &str) -> Vec<Node> {
    store
        .find_by_name(project, name, true, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|(_, id)| store.node(project, id).unwrap().unwrap())
        .collect()
}
