//! The query files and the meaning of their capture names.
//!
//! Each language has `queries/<lang>/definitions.scm` and `references.scm`; both are
//! compiled into one [`Query`] so a file's tree is walked once. The capture-name
//! conventions are documented in `queries/README.md`.

use std::sync::OnceLock;

use codegraph_core::{Language, NodeKind};
use tree_sitter::Query;

/// What a capture means to the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// `@definition.<kind>`: the whole definition.
    Definition(NodeKind),
    /// `@name`: the defined or referenced name.
    Name,
    /// `@receiver`: the type a definition belongs to without being nested in it.
    Receiver,
    /// `@doc`: an explicit docstring node.
    Doc,
    /// `@scope`: a node that names a scope without being a definition (Rust `impl`).
    Scope,
    /// `@scope.name`: that scope's name.
    ScopeName,
    /// `@reference.call`
    Call,
    /// `@reference.import`
    Import,
    /// `@reference.inherit`
    Inherit,
    /// `@reference.implement`
    Implement,
    /// `@reference.type`: a declared type (annotation, return type).
    Type,
    /// `@reference.assign`: a variable bound to a call's result.
    Assign,
    /// `@reference.value`: a variable bound to another variable or attribute.
    Value,
    /// `@qualifier`: what precedes the name (`obj` in `obj.f()`).
    Qualifier,
    /// `@subject`: the type an `impl Trait for Type` block is about; for type and assign
    /// references, the variable.
    Subject,
    /// `@alias`: the local name an import binds.
    Alias,
    /// `@comment`: a comment, for doc-comment lookup.
    Comment,
    /// `@access`: an access label such as C++ `public:`, governing what follows it.
    Access,
    /// `@scope.private`: everything inside is private (C++ anonymous namespaces).
    PrivateScope,
    /// `@unwrap`: on a value reference, the variable holds what the `@name`
    /// expression's wrapper or collection holds (Rust `let y = e?`, `Some(y) = e`,
    /// `for y in e`).
    Unwrap,
    /// `@closure`: the reference is about a closure's parameter and where the closure
    /// is given ([`crate::lang::Rules::closure_position`]). On a type reference, the
    /// type a function passes to a closure it takes; on a value reference (whose
    /// `@subject` is the parameter), the `@name` is the function the closure is given
    /// to.
    Closure,
    /// `@narrow`: on a type or value reference, the `@subject` holds what the
    /// reference says only inside the reference's node, a block the binding guards
    /// (Python's `if isinstance(x, T):` and `for x in xs:` bodies), bound as `x!`.
    Narrow,
    /// Captures starting with `_`, used only by predicates.
    Ignored,
}

/// A compiled query and the role of each of its captures.
pub struct CompiledQuery {
    /// Definitions and (when compiled with them) references of one language, in one
    /// query so that a tree is walked once.
    pub query: Query,
    /// The role of each capture, indexed by capture index.
    pub roles: Vec<Role>,
    /// Per pattern, the engine's own predicates on its captures (`#not-parent-type?`,
    /// `#alone-in-field?`): a match that fails one is dropped.
    pub checks: Vec<Vec<NodeCheck>>,
}

/// A predicate the engine evaluates on a captured node (tree-sitter evaluates only the
/// text predicates).
#[derive(Debug, Clone)]
pub enum NodeCheck {
    /// `(#not-parent-type? @capture "kind" ...)`: the node's parent has none of the kinds.
    NotParentType(u32, Vec<String>),
    /// `(#alone-in-field? @capture)`: no sibling shares the node's field (Go's `case T:`
    /// against `case A, B:`, which a query cannot tell apart: it has no negated child).
    AloneInField(u32),
}

impl NodeCheck {
    /// The capture the check reads.
    pub fn capture(&self) -> u32 {
        match self {
            NodeCheck::NotParentType(c, _) | NodeCheck::AloneInField(c) => *c,
        }
    }

    /// Whether `node`, captured by [`NodeCheck::capture`], passes.
    pub fn passes(&self, node: tree_sitter::Node<'_>) -> bool {
        match self {
            NodeCheck::NotParentType(_, kinds) => node
                .parent()
                .is_none_or(|p| !kinds.iter().any(|k| k == p.kind())),
            NodeCheck::AloneInField(_) => {
                let Some(parent) = node.parent() else {
                    return true;
                };
                let mut cursor = parent.walk();
                if !cursor.goto_first_child() {
                    return true;
                }
                let mut field = None;
                let mut fields = Vec::new();
                loop {
                    let name = cursor.field_name();
                    if cursor.node().id() == node.id() {
                        field = name;
                    }
                    fields.push(name);
                    if !cursor.goto_next_sibling() {
                        break;
                    }
                }
                match field {
                    Some(f) => fields.iter().filter(|n| **n == Some(f)).count() == 1,
                    None => true,
                }
            }
        }
    }
}

/// Why a query file did not compile. Only reachable when a query file is edited; the
/// test suite compiles every language.
#[derive(Debug, thiserror::Error)]
pub enum QueryCompileError {
    /// tree-sitter refused the query: a syntax error, or a node type or field the
    /// grammar does not have.
    #[error("{language} query: {source}")]
    Syntax {
        /// The language whose query files failed.
        language: Language,
        /// tree-sitter's error, with the offending row and column.
        #[source]
        source: tree_sitter::QueryError,
    },
    /// A capture name the engine gives no meaning (see [`Role`]); captures used only
    /// by predicates must start with `_`.
    #[error("{language} query: unknown capture @{capture}")]
    UnknownCapture {
        /// The language whose query files hold the capture.
        language: Language,
        /// The capture's name, without the `@`.
        capture: String,
    },
    /// A predicate that neither tree-sitter nor the engine evaluates; the engine only
    /// adds `#not-parent-type?` and `#alone-in-field?`.
    #[error("{language} query: unsupported predicate #{predicate}")]
    UnknownPredicate {
        /// The language whose query files use the predicate.
        language: Language,
        /// The predicate's name, without the `#`.
        predicate: String,
    },
}

/// The query source for a language: definitions, then (when asked) references.
pub fn source(language: Language, with_references: bool) -> String {
    let (definitions, references) = match language {
        Language::Rust => (
            include_str!("../queries/rust/definitions.scm"),
            include_str!("../queries/rust/references.scm"),
        ),
        Language::Python => (
            include_str!("../queries/python/definitions.scm"),
            include_str!("../queries/python/references.scm"),
        ),
        Language::JavaScript => (
            include_str!("../queries/javascript/definitions.scm"),
            include_str!("../queries/javascript/references.scm"),
        ),
        Language::TypeScript => (
            include_str!("../queries/typescript/definitions.scm"),
            include_str!("../queries/typescript/references.scm"),
        ),
        // TSX is TypeScript plus JSX, which the plain TypeScript grammar cannot parse.
        Language::Tsx => (
            include_str!("../queries/typescript/definitions.scm"),
            concat!(
                include_str!("../queries/typescript/references.scm"),
                "\n",
                include_str!("../queries/tsx/jsx.scm")
            ),
        ),
        Language::Go => (
            include_str!("../queries/go/definitions.scm"),
            include_str!("../queries/go/references.scm"),
        ),
        Language::Java => (
            include_str!("../queries/java/definitions.scm"),
            include_str!("../queries/java/references.scm"),
        ),
        Language::Cpp => (
            include_str!("../queries/cpp/definitions.scm"),
            include_str!("../queries/cpp/references.scm"),
        ),
    };
    if with_references {
        format!("{definitions}\n{references}")
    } else {
        definitions.to_string()
    }
}

/// Compiles a language's queries. Without `comments`, the patterns that only capture
/// comments (used for doc lookup) are disabled.
pub fn compile(
    language: Language,
    with_references: bool,
    comments: bool,
) -> Result<CompiledQuery, QueryCompileError> {
    let grammar = crate::language::grammar(language);
    let mut query = Query::new(&grammar, &source(language, with_references))
        .map_err(|source| QueryCompileError::Syntax { language, source })?;
    let roles = query
        .capture_names()
        .iter()
        .map(|name| {
            role(name).ok_or_else(|| QueryCompileError::UnknownCapture {
                language,
                capture: name.to_string(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut checks = Vec::with_capacity(query.pattern_count());
    for pattern in 0..query.pattern_count() {
        let mut found = Vec::new();
        for predicate in query.general_predicates(pattern) {
            match (&*predicate.operator, predicate.args.split_first()) {
                ("not-parent-type?", Some((tree_sitter::QueryPredicateArg::Capture(c), kinds))) => {
                    let kinds = kinds
                        .iter()
                        .filter_map(|k| match k {
                            tree_sitter::QueryPredicateArg::String(s) => Some(s.to_string()),
                            tree_sitter::QueryPredicateArg::Capture(_) => None,
                        })
                        .collect();
                    found.push(NodeCheck::NotParentType(*c, kinds));
                }
                ("alone-in-field?", Some((tree_sitter::QueryPredicateArg::Capture(c), []))) => {
                    found.push(NodeCheck::AloneInField(*c));
                }
                (operator, _) => {
                    return Err(QueryCompileError::UnknownPredicate {
                        language,
                        predicate: operator.to_string(),
                    });
                }
            }
        }
        checks.push(found);
    }
    if !comments {
        for pattern in 0..query.pattern_count() {
            let only_comments = query
                .capture_quantifiers(pattern)
                .iter()
                .zip(&roles)
                .filter(|(q, _)| **q != tree_sitter::CaptureQuantifier::Zero)
                .all(|(_, role)| *role == Role::Comment);
            if only_comments {
                query.disable_pattern(pattern);
            }
        }
    }
    Ok(CompiledQuery {
        query,
        roles,
        checks,
    })
}

fn role(capture: &str) -> Option<Role> {
    if capture.starts_with('_') {
        return Some(Role::Ignored);
    }
    if let Some(kind) = capture.strip_prefix("definition.") {
        return kind.parse().ok().map(Role::Definition);
    }
    Some(match capture {
        "name" => Role::Name,
        "receiver" => Role::Receiver,
        "doc" => Role::Doc,
        "scope" => Role::Scope,
        "scope.name" => Role::ScopeName,
        "reference.call" => Role::Call,
        "reference.import" => Role::Import,
        "reference.inherit" => Role::Inherit,
        "reference.implement" => Role::Implement,
        "reference.type" => Role::Type,
        "reference.assign" => Role::Assign,
        "reference.value" => Role::Value,
        "qualifier" => Role::Qualifier,
        "subject" => Role::Subject,
        "alias" => Role::Alias,
        "comment" => Role::Comment,
        "access" => Role::Access,
        "scope.private" => Role::PrivateScope,
        "unwrap" => Role::Unwrap,
        "closure" => Role::Closure,
        "narrow" => Role::Narrow,
        _ => return None,
    })
}

/// The compiled query for a language, compiled on first use and shared by all threads.
/// Without references the query is smaller, and without comments (when no doc comments
/// are wanted) it returns fewer matches; `codegraph symbols` usually needs neither.
///
/// # Panics
/// If a bundled query file does not compile; the test suite compiles all of them.
pub fn query(language: Language, with_references: bool, comments: bool) -> &'static CompiledQuery {
    static TABLES: [[OnceLock<CompiledQuery>; 8]; 4] =
        [const { [const { OnceLock::new() }; 8] }; 4];
    let slot = Language::ALL
        .iter()
        .position(|l| *l == language)
        .expect("every language is in ALL");
    let table = &TABLES[usize::from(with_references) * 2 + usize::from(comments)];
    table[slot].get_or_init(|| {
        compile(language, with_references, comments).unwrap_or_else(|e| panic!("{e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_query_compiles() {
        for language in Language::ALL {
            for references in [true, false] {
                for comments in [true, false] {
                    compile(*language, references, comments).unwrap_or_else(|e| panic!("{e}"));
                }
            }
        }
    }
}
