//! What the stages pass around: one file's context, and what a name resolves to.

use foldhash::{HashMap, HashMapExt};
use std::sync::Arc;

use codegraph_core::{Language, NodeId, ReferenceKind, Resolution};

use super::is_identifier;
use super::rules::ResolveRules;
use crate::view::{Def, FileData};

/// What a name stands for once resolved.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Target {
    /// A definition (or a file node standing for a module).
    Def(Def),
    /// A module made of several files (a Go package, a Java package, a Python namespace).
    Package(Vec<Def>),
}

/// A stage's answer: candidates and how they were found.
#[derive(Clone, Debug)]
pub(super) struct Found {
    pub(super) targets: Vec<Target>,
    pub(super) how: Resolution,
}

impl Found {
    pub(super) fn new(targets: Vec<Target>, how: Resolution) -> Option<Found> {
        if targets.is_empty() {
            None
        } else {
            Some(Found { targets, how })
        }
    }
}

/// The weaker of two resolutions, for chains (`alias.member`).
pub(super) fn weaker(a: Resolution, b: Resolution) -> Resolution {
    fn rank(r: Resolution) -> u8 {
        match r {
            Resolution::Syntax | Resolution::Precise => 0,
            Resolution::Scope => 1,
            Resolution::Import => 2,
            Resolution::Inferred => 3,
            Resolution::Dispatch => 4,
            Resolution::UniqueName => 5,
            Resolution::Ambiguous => 6,
            Resolution::Unresolved => 7,
        }
    }
    if rank(a) >= rank(b) { a } else { b }
}

/// One file being resolved.
pub(super) struct FileCtx {
    pub(super) data: Arc<FileData>,
    pub(super) language: Language,
    pub(super) file_node: Def,
    pub(super) by_id: HashMap<NodeId, usize>,
    /// Children of each node, by name.
    children: HashMap<(NodeId, String), Vec<usize>>,
    /// Import reference index of each import node.
    pub(super) import_ref: HashMap<NodeId, usize>,
    /// Import nodes that bring whole modules into scope (`from m import *`, `use m::*`,
    /// Java `import p.*`, C++ `#include`).
    pub(super) wildcards: Vec<Def>,
    /// Type and assign references by (source, variable): what a scope's names hold.
    /// (Keyed by scope, then name, so a lookup by `&str` allocates nothing: it runs for
    /// every scope around every receiver.)
    bindings: HashMap<NodeId, HashMap<String, Vec<usize>>>,
    /// `self.x = ...` / `this.x: T` in a type's methods, by (type, attribute).
    pub(super) attribute_bindings: HashMap<(NodeId, String), Vec<usize>>,
}

impl FileCtx {
    /// The context of a file, `None` for one without nodes; `rules` are those of the
    /// file's language.
    pub(super) fn new(data: Arc<FileData>, rules: &dyn ResolveRules) -> Option<FileCtx> {
        let file_node = data.nodes.first()?.clone();
        let language = file_node.language;
        let mut by_id = HashMap::new();
        let mut children: HashMap<(NodeId, String), Vec<usize>> = HashMap::new();
        for (i, d) in data.nodes.iter().enumerate() {
            by_id.insert(d.id, i);
            if let Some(p) = d.parent {
                children.entry((p, d.name.clone())).or_default().push(i);
            }
        }
        let mut import_ref = HashMap::new();
        let mut wildcards = Vec::new();
        for (i, r) in data.references.iter().enumerate() {
            if r.kind == ReferenceKind::Import {
                import_ref.insert(r.source, i);
                let whole =
                    r.name == "*" || (rules.bare_import_is_wildcard() && r.qualifier.is_none());
                if whole && let Some(&n) = by_id.get(&r.source) {
                    wildcards.push(data.nodes[n].clone());
                }
            }
        }
        let mut ctx = FileCtx {
            data,
            language,
            file_node,
            by_id,
            children,
            import_ref,
            wildcards,
            bindings: HashMap::new(),
            attribute_bindings: HashMap::new(),
        };
        let mut bindings: HashMap<NodeId, HashMap<String, Vec<usize>>> = HashMap::new();
        let mut attribute_bindings: HashMap<(NodeId, String), Vec<usize>> = HashMap::new();
        for (i, r) in ctx.data.references.iter().enumerate() {
            if !matches!(
                r.kind,
                ReferenceKind::Type | ReferenceKind::Assign | ReferenceKind::Value
            ) {
                continue;
            }
            let subject = r.subject.clone().unwrap_or_default();
            // `self.items?`: what the attribute holds.
            if let Some((head, attr)) = subject.split_once('.')
                && rules.is_self_like(head)
                && is_identifier(attr.strip_suffix('?').unwrap_or(attr))
            {
                if let Some(ty) = ctx.enclosing_type(r.source) {
                    attribute_bindings
                        .entry((ty.id, attr.to_string()))
                        .or_default()
                        .push(i);
                }
                continue;
            }
            bindings
                .entry(r.source)
                .or_default()
                .entry(subject)
                .or_default()
                .push(i);
        }
        ctx.bindings = bindings;
        ctx.attribute_bindings = attribute_bindings;
        Some(ctx)
    }

    /// Of some binding references, the declarations if there are any (what the code
    /// promises), else the assignments (which only hint).
    pub(super) fn declared_first(&self, refs: &[usize]) -> Vec<usize> {
        let declared: Vec<usize> = refs
            .iter()
            .copied()
            .filter(|&i| self.data.references[i].kind == ReferenceKind::Type)
            .collect();
        if declared.is_empty() {
            refs.to_vec()
        } else {
            declared
        }
    }

    /// Type and assign references binding `name` in scope `scope` (an empty name: the
    /// scope's own type, such as a function's return type).
    pub(super) fn bindings_of(&self, scope: NodeId, name: &str) -> &[usize] {
        self.bindings
            .get(&scope)
            .and_then(|names| names.get(name))
            .map_or(&[], |v| v.as_slice())
    }

    pub(super) fn node(&self, id: NodeId) -> Option<&Def> {
        self.by_id.get(&id).map(|&i| &self.data.nodes[i])
    }

    pub(super) fn children_named(&self, parent: NodeId, name: &str) -> impl Iterator<Item = &Def> {
        self.children
            .get(&(parent, name.to_string()))
            .into_iter()
            .flatten()
            .map(|&i| &self.data.nodes[i])
    }

    /// Whether node `scope` of this file is `id` or one of its ancestors.
    pub(super) fn encloses(&self, scope: NodeId, id: NodeId) -> bool {
        let mut cur = self.node(id);
        while let Some(d) = cur {
            if d.id == scope {
                return true;
            }
            cur = d.parent.and_then(|p| self.node(p));
        }
        false
    }

    /// The innermost type enclosing `id` (itself included).
    pub(super) fn enclosing_type(&self, id: NodeId) -> Option<&Def> {
        let mut cur = self.node(id);
        while let Some(d) = cur {
            if d.kind.is_type() {
                return Some(d);
            }
            cur = d.parent.and_then(|p| self.node(p));
        }
        None
    }
}
