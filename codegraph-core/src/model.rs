//! The language-agnostic model: what every parser produces and every store keeps.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use xxhash_rust::xxh3::Xxh3;

use crate::id::NodeId;

/// Declares a fieldless enum with a stable snake_case string form shared by
/// serde, `Display` and `FromStr`, so the JSON, the CLI and the store agree.
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident => $text:literal, )+ }
    ) => {
        $(#[$meta])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
            Serialize, Deserialize,
            rkyv::Archive, rkyv::Serialize, rkyv::Deserialize,
        )]
        #[rkyv(compare(PartialEq), derive(Debug, Clone, Copy, PartialEq, Eq))]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[ $( $name::$variant, )+ ];

            /// The stable lowercase name used in JSON, on the command line and in storage.
            pub const fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $text, )+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = crate::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $( $text => Ok($name::$variant), )+
                    _ => Err(crate::Error::InvalidInput(format!(
                        concat!("unknown ", stringify!($name), " {:?}; expected one of: {}"),
                        s,
                        $name::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
                    ))),
                }
            }
        }
    };
}

string_enum! {
    /// A source language CodeGraph understands.
    ///
    /// TSX is separate from TypeScript because it needs its own grammar; code
    /// that does not care can use [`Language::family`].
    pub enum Language {
        /// Rust (`.rs`).
        Rust => "rust",
        /// Python (`.py`, `.pyi`, or a `python` `#!` line).
        Python => "python",
        /// JavaScript, JSX included (`.js`, `.jsx`, `.mjs`, `.cjs`, or a `node` `#!` line).
        JavaScript => "javascript",
        /// TypeScript without JSX (`.ts`, `.mts`, `.cts`).
        TypeScript => "typescript",
        /// TypeScript with JSX (`.tsx`), which needs a grammar of its own.
        Tsx => "tsx",
        /// Go (`.go`).
        Go => "go",
        /// Java (`.java`).
        Java => "java",
        /// C++ (`.cc`, `.cpp`, `.cxx`, `.hpp` and kin). Plain C headers (`.h`) are
        /// parsed as C++ too.
        Cpp => "cpp",
    }
}

impl Language {
    /// The separator between segments of a qualified name, as the language writes it.
    pub const fn path_separator(self) -> &'static str {
        match self {
            Language::Rust | Language::Cpp => "::",
            _ => ".",
        }
    }

    /// The language a dialect belongs to: TSX is TypeScript.
    pub const fn family(self) -> Language {
        match self {
            Language::Tsx => Language::TypeScript,
            other => other,
        }
    }

    /// A human-readable name, as tools such as ctags spell it.
    pub const fn display_name(self) -> &'static str {
        match self {
            Language::Rust => "Rust",
            Language::Python => "Python",
            Language::JavaScript => "JavaScript",
            Language::TypeScript => "TypeScript",
            Language::Tsx => "TSX",
            Language::Go => "Go",
            Language::Java => "Java",
            Language::Cpp => "C++",
        }
    }
}

string_enum! {
    /// What a node is.
    pub enum NodeKind {
        /// A source file; the root of its definitions.
        File => "file",
        /// A Rust `mod`.
        Module => "module",
        /// A C++ or TypeScript namespace.
        Namespace => "namespace",
        /// A Java or Go package clause.
        Package => "package",
        /// A class (Python, JavaScript, TypeScript, Java, C++).
        Class => "class",
        /// A struct (Rust, Go, C++).
        Struct => "struct",
        /// A union (Rust, C++).
        Union => "union",
        /// An interface (Java, TypeScript, Go).
        Interface => "interface",
        /// A Rust trait.
        Trait => "trait",
        /// An enumeration (Rust, Java, TypeScript, C++); its members are
        /// [`EnumMember`](NodeKind::EnumMember)s.
        Enum => "enum",
        /// A member of an enum: Rust variant, Java enum constant, C++ enumerator.
        EnumMember => "enum_member",
        /// A function that belongs to no type: free, or nested in another function.
        Function => "function",
        /// A function that belongs to a type: defined in its body, in a Rust `impl`
        /// block, or with a Go receiver.
        Method => "method",
        /// A method that initialises its type's instances: Java and C++ constructors,
        /// Python `__init__`, JavaScript and TypeScript `constructor`. Rust and Go have
        /// none; their `new` functions are methods or functions.
        Constructor => "constructor",
        /// A data member of a type: a struct field, a Java or C++ field, a Python class
        /// attribute.
        Field => "field",
        /// A property: Python `@property`, getters/setters, TypeScript property signatures.
        Property => "property",
        /// A named constant: Rust and Go `const`, Java `static final` fields, and
        /// module-level `UPPER_CASE` names in Python, JavaScript and TypeScript.
        Constant => "constant",
        /// A module-level (global) variable. Locals are never nodes.
        Variable => "variable",
        /// A type alias or a named type definition (`type X = Y`, Go `type X int`, `typedef`).
        TypeAlias => "type_alias",
        /// A macro definition (`macro_rules!`, `#define`).
        Macro => "macro",
        /// One name bound by an import; see [`Reference`] for what it refers to.
        Import => "import",
    }
}

impl NodeKind {
    /// Kinds that are types which can own members.
    pub const fn is_type(self) -> bool {
        matches!(
            self,
            NodeKind::Class
                | NodeKind::Struct
                | NodeKind::Union
                | NodeKind::Interface
                | NodeKind::Trait
                | NodeKind::Enum
        )
    }

    /// Kinds that can be called.
    pub const fn is_callable(self) -> bool {
        matches!(
            self,
            NodeKind::Function | NodeKind::Method | NodeKind::Constructor | NodeKind::Macro
        )
    }

    /// Kinds that are definitions a user would look up by name: everything except files
    /// and imports.
    pub const fn is_definition(self) -> bool {
        !matches!(self, NodeKind::File | NodeKind::Import)
    }
}

string_enum! {
    /// What an edge means. Edges point from the user to the used: `a calls b`,
    /// `class inherits base`, `file contains definition`.
    pub enum EdgeKind {
        /// From a node to one it encloses (a file to its top-level definitions, a type
        /// to its members), as given by [`Node::parent`]. Always [`Resolution::Syntax`].
        Contains => "contains",
        /// From the function (or file) holding a call site to the callable it resolved to.
        Calls => "calls",
        /// From an import binding to the definition, module or file it names.
        Imports => "imports",
        /// From a type to a base class, an extended interface, a supertrait or a Go
        /// embedded type.
        Inherits => "inherits",
        /// From a type to an interface or trait it implements.
        Implements => "implements",
        /// A non-call use of a definition, such as a type in a signature.
        References => "references",
    }
}

string_enum! {
    /// How an edge's destination was found. Recorded on every edge so a consumer
    /// can weigh it, and so nothing is ever presented as more certain than it is.
    pub enum Resolution {
        /// Straight from the syntax tree (for example `contains`).
        Syntax => "syntax",
        /// Found by lexical scope, the enclosing class, or its bases.
        Scope => "scope",
        /// Found through the file's imports and the language's module rules.
        Import => "import",
        /// A member of the receiver's type, where the type comes from a declaration
        /// (`x: Foo`, `-> Foo`, `Foo x`) or the call the variable was bound to (`x = Foo()`).
        Inferred => "inferred",
        /// The only definition with that name in the project.
        UniqueName => "unique_name",
        /// Several candidates; every one of them is kept.
        Ambiguous => "ambiguous",
        /// No candidate; the reference is kept as it was written.
        Unresolved => "unresolved",
        /// Taken from a compiler-grade index (SCIP) imported for the file, whose
        /// content has not changed since. Last in the list only so that stores written
        /// before it read the same.
        Precise => "precise",
        /// A method a call through an interface may run: the call's receiver is of an
        /// interface type, whose method the call's own edge (`inferred`) names, and this
        /// is that method in a type that has all of the interface's methods (Go's
        /// interfaces are met by method sets, without a declaration).
        Dispatch => "dispatch",
    }
}

impl Resolution {
    /// Whether the edge was found by its name alone (the only definition so named, or
    /// one of several): a candidate, not a fact.
    pub fn is_guess(self) -> bool {
        matches!(self, Resolution::UniqueName | Resolution::Ambiguous)
    }
}

string_enum! {
    /// Who may use a definition, normalised across languages.
    pub enum Visibility {
        /// Reachable from outside its crate, package or module (Rust `pub`, Java `public`,
        /// Go exported, JS/TS exported, C++ public members and free functions).
        Public => "public",
        /// Reachable from subclasses.
        Protected => "protected",
        /// Reachable within its crate or package (Rust `pub(crate)`, Java package-private,
        /// Go unexported).
        Internal => "internal",
        /// Reachable only within its enclosing item or file (Rust private items, Python
        /// `_names`, C++/Java/TS `private`, JS `#names` and unexported module members).
        Private => "private",
    }
}

string_enum! {
    /// The kind of a reference found in the source.
    pub enum ReferenceKind {
        /// A call site: `f()`, `a.b()`, `new T()`, `T::new()`.
        Call => "call",
        /// An import binding: `use`, `import`, `#include`, `require`.
        Import => "import",
        /// A base class, extended interface, supertrait, or Go embedded type.
        Inherit => "inherit",
        /// An implemented interface or trait.
        Implement => "implement",
        /// A declared type: a parameter, variable or field annotation, a return type.
        /// `subject` names the annotated variable (`x`, `self.x`); without one the type is
        /// the source node's own (a function's return type, a variable's or field's type).
        Type => "type",
        /// A variable bound to the result of a call (`x = Foo()`, `x := NewFoo()`):
        /// `subject` is the variable, `qualifier`/`name` the callee. A hint for typing
        /// receivers; it never becomes an edge of its own (the call already is one).
        Assign => "assign",
        /// A variable bound to another variable or attribute (`self.app = app`): `subject`
        /// is the variable, `qualifier`/`name` the value as written. A hint for typing
        /// receivers, never an edge.
        Value => "value",
    }
}

impl ReferenceKind {
    /// The edge kind a resolved reference of this kind becomes.
    pub const fn edge_kind(self) -> EdgeKind {
        match self {
            ReferenceKind::Call => EdgeKind::Calls,
            ReferenceKind::Import => EdgeKind::Imports,
            ReferenceKind::Inherit => EdgeKind::Inherits,
            ReferenceKind::Implement => EdgeKind::Implements,
            ReferenceKind::Type | ReferenceKind::Assign | ReferenceKind::Value => {
                EdgeKind::References
            }
        }
    }
}

/// A region of a source file.
///
/// Lines and columns are 1-based; columns count bytes, not characters, so they
/// agree with the byte offsets whatever the encoding. The end is exclusive.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
)]
#[rkyv(derive(Debug))]
pub struct Span {
    /// Offset of the first byte from the start of the file.
    pub start_byte: u32,
    /// Offset just past the last byte; `end_byte - start_byte` is the length.
    pub end_byte: u32,
    /// Line of the first byte, from 1.
    pub start_line: u32,
    /// Column of the first byte, from 1, counted in bytes.
    pub start_column: u32,
    /// Line of the end position, from 1. A span that ends with its line's newline
    /// ends on the next line, at column 1.
    pub end_line: u32,
    /// Column just past the last byte, from 1, counted in bytes.
    pub end_column: u32,
}

impl Span {
    /// Whether `other` lies within this span.
    pub fn contains(&self, other: &Span) -> bool {
        self.start_byte <= other.start_byte && other.end_byte <= self.end_byte
    }
}

/// A definition (or a file, or an import binding) in the code graph.
#[derive(
    Clone,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
)]
#[rkyv(derive(Debug))]
pub struct Node {
    /// Stable across runs and machines; see [`NodeId`].
    pub id: NodeId,
    /// What the node is; part of its id.
    pub kind: NodeKind,
    /// The language of the file the node is in.
    pub language: Language,
    /// The simple name as written (`parse`, `operator==`, `~Widget`, `default`).
    pub name: String,
    /// The name with its module, namespace or package and enclosing types, joined with the
    /// language's separator (`crate_mod::Type::method`, `pkg.mod.Class.method`).
    pub qualified_name: String,
    /// Repository-relative, `/`-separated.
    pub path: String,
    /// The whole definition, including attributes, decorators or annotations when the grammar
    /// puts them inside it.
    pub span: Span,
    /// The defining name token; editors jump here.
    pub name_span: Span,
    /// The declaration up to its body, whitespace collapsed, bounded in length.
    pub signature: Option<String>,
    /// The doc comment or docstring, markers stripped.
    pub doc: Option<String>,
    /// Who may use the definition, normalised across languages. Files are public.
    pub visibility: Visibility,
    /// The enclosing node (a type, a function, a namespace, or the file); `None` only for files.
    pub parent: Option<NodeId>,
}

/// A use of a name, as written in the source, before it is resolved to a definition.
///
/// Every reference splits what was written into a `qualifier` and a `name` so that
/// resolution can treat all languages alike:
///
/// | source                         | kind      | qualifier          | name        | alias   |
/// |--------------------------------|-----------|--------------------|-------------|---------|
/// | `self.save(x)`                 | call      | `self`             | `save`      |         |
/// | `Vec::new()`                   | call      | `Vec`              | `new`       |         |
/// | `new Foo()`                    | call      |                    | `Foo`       |         |
/// | `use std::io::{Read as R}`     | import    | `std::io`          | `Read`      | `R`     |
/// | `from ..a import b`            | import    | `..a`              | `b`         |         |
/// | `import numpy as np`           | import    |                    | `numpy`     | `np`    |
/// | `import {x as y} from './m'`   | import    | `./m`              | `x`         | `y`     |
/// | `import * as m from './m'`     | import    | `./m`              | `*`         | `m`     |
/// | `#include <vector>`            | import    |                    | `<vector>`  |         |
/// | `class A(b.Base)`              | inherit   | `b`                | `Base`      |         |
/// | `impl Display for Foo`         | implement |                    | `Display`   |         |
/// | `def f(x: mod.Foo)`            | type      | `mod`              | `Foo`       |         |
/// | `x = make.thing()`             | assign    | `make`             | `thing`     |         |
/// | `self.app = app`               | value     |                    | `app`       |         |
///
/// A whole-module import has no qualifier and the module path as its name; a wildcard
/// import has the name `*`.
#[derive(
    Clone,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
)]
#[rkyv(derive(Debug))]
pub struct Reference {
    /// What kind of use this is; decides the [`EdgeKind`] it becomes once resolved.
    pub kind: ReferenceKind,
    /// The innermost node the reference occurs in: the calling function, the inheriting class,
    /// the import binding, or the file.
    pub source: NodeId,
    /// For inherit/implement references whose subject is not `source` itself: the type named
    /// by a Rust `impl Trait for Type` block (`Type`). For type and assign references: the
    /// variable, as written (`x`, `self.x`, `this.x`).
    pub subject: Option<String>,
    /// Everything written before the last segment (a receiver, a module path, a
    /// namespace), joined as the source wrote it; `None` when the name stands alone.
    pub qualifier: Option<String>,
    /// The last segment, the name looked up: a function, a type, an imported item, a
    /// whole module, or `*` for a wildcard import.
    pub name: String,
    /// The local name an import binds when it renames (`as`); `None` when it binds
    /// `name` itself.
    pub alias: Option<String>,
    /// The call site, import statement or base-type expression.
    pub span: Span,
    /// For a call, how many arguments it passes, when the syntax says (a spread such as
    /// `f(...xs)` or `f(*args)` leaves it unknown); `None` for other references.
    /// Overloads are told apart by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<u16>,
}

/// A resolved relation between two nodes.
#[derive(
    Clone,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
)]
#[rkyv(derive(Debug))]
pub struct Edge {
    /// The user: the caller, the importing binding, the subtype, the container.
    pub src: NodeId,
    /// The used: the callee, the imported definition, the base type, the contained node.
    pub dst: NodeId,
    /// What the relation means.
    pub kind: EdgeKind,
    /// How `dst` was found, so a consumer can weigh how certain the edge is.
    pub resolution: Resolution,
    /// Where the relation is written (the call site); `None` for structural edges.
    pub span: Option<Span>,
}

/// Why a file was not parsed. Skips are reported, never silent, and never abort a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum SkipReason {
    /// Inside a vendored directory such as `node_modules/` or `vendor/`.
    Vendored {
        /// The directory rule that matched, such as `node_modules/`.
        rule: String,
    },
    /// Named or marked as generated (`*.pb.go`, `// Code generated ... DO NOT EDIT.`).
    Generated {
        /// The file-name glob or header marker that matched.
        rule: String,
    },
    /// Minified JavaScript or TypeScript.
    Minified,
    /// Matched a user exclusion pattern.
    Excluded {
        /// The user's pattern that matched.
        pattern: String,
    },
    /// Larger than the configured limit.
    TooLarge {
        /// The file's size, in bytes.
        size: u64,
        /// The configured maximum, in bytes.
        limit: u64,
    },
    /// Contains NUL bytes.
    Binary,
    /// A symlink, FIFO, device, or other non-regular entry, as the walk found it or as
    /// it was when opened to be read.
    NotRegular,
    /// An entry refused for safety: an archive entry whose path escapes the archive root
    /// or whose compression ratio is typical of decompression bombs, or a directory not
    /// entered because the walker could not read its ignore files safely (a FIFO among
    /// them).
    Unsafe {
        /// What was wrong with the entry, in words.
        detail: String,
    },
    /// Reading the file failed.
    Unreadable {
        /// The read error's message.
        error: String,
    },
    /// The parser gave up (for example it hit the per-file time limit).
    ParseFailed {
        /// The parser's error message.
        error: String,
    },
    /// An earlier entry of the source had the same path (an archive listing `a.py`
    /// and `./a.py`, or one entry twice); the first one is indexed.
    Duplicate,
    /// Named like source in a language but holding something else: a Qt Linguist
    /// translation (`*.ts`, XML) is not TypeScript.
    NotSource {
        /// What the content is, in words.
        detail: String,
    },
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Vendored { rule } => write!(f, "vendored ({rule})"),
            SkipReason::Generated { rule } => write!(f, "generated ({rule})"),
            SkipReason::Minified => f.write_str("minified"),
            SkipReason::Excluded { pattern } => write!(f, "excluded by {pattern}"),
            SkipReason::TooLarge { size, limit } => {
                write!(f, "too large ({size} bytes > limit {limit})")
            }
            SkipReason::Binary => f.write_str("binary"),
            SkipReason::NotRegular => f.write_str("not a regular file"),
            SkipReason::Unsafe { detail } => write!(f, "unsafe ({detail})"),
            SkipReason::Unreadable { error } => write!(f, "unreadable ({error})"),
            SkipReason::ParseFailed { error } => write!(f, "parse failed ({error})"),
            SkipReason::Duplicate => f.write_str("duplicate path (the first entry was indexed)"),
            SkipReason::NotSource { detail } => write!(f, "not source ({detail})"),
        }
    }
}

impl SkipReason {
    /// A short stable label for grouping in summaries and metrics.
    pub fn label(&self) -> &'static str {
        match self {
            SkipReason::Vendored { .. } => "vendored",
            SkipReason::Generated { .. } => "generated",
            SkipReason::Minified => "minified",
            SkipReason::Excluded { .. } => "excluded",
            SkipReason::TooLarge { .. } => "too_large",
            SkipReason::Binary => "binary",
            SkipReason::NotRegular => "not_regular",
            SkipReason::Unsafe { .. } => "unsafe",
            SkipReason::Unreadable { .. } => "unreadable",
            SkipReason::ParseFailed { .. } => "parse_failed",
            SkipReason::Duplicate => "duplicate",
            SkipReason::NotSource { .. } => "not_source",
        }
    }
}

/// A file that was not parsed, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedFile {
    /// Repository-relative, `/`-separated, as the source named it.
    pub path: String,
    /// Why it was skipped; flattened into the same JSON object as `path`.
    #[serde(flatten)]
    pub reason: SkipReason,
}

impl NodeId {
    /// The id of a definition.
    pub fn new(path: &str, qualified_name: &str, kind: NodeKind, disambiguator: &str) -> NodeId {
        let mut hasher = Xxh3::new();
        for part in [path, qualified_name, kind.as_str(), disambiguator] {
            hasher.update(&(part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
        NodeId(hasher.digest())
    }

    /// The id of a file's own node.
    pub fn for_file(path: &str) -> NodeId {
        NodeId::new(path, path, NodeKind::File, "")
    }
}

/// What the file system said about a file when its bytes were read. When a later run
/// finds the same stamp it trusts that the content did not change and neither reads nor
/// hashes the file (the way git trusts its index). A stamp is only recorded once the
/// file's times are safely in the past, so an edit in the same clock tick as the read is
/// never mistaken for no edit.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
)]
#[rkyv(derive(Debug))]
pub struct FileStamp {
    /// The file's length in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// Status-change time where the platform has one (0 otherwise): unlike the
    /// modification time, no tool can set it back, so `cp -p` or `touch -d` cannot
    /// hide an edit.
    pub ctime_ns: i64,
    /// The inode number where the platform has one (0 otherwise): editors that save
    /// by renaming a new file over the old one change it.
    pub inode: u64,
}

/// Everything extracted from one source file.
#[derive(
    Clone,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
)]
#[rkyv(derive(Debug))]
pub struct ParsedFile {
    /// Repository-relative, `/`-separated.
    pub path: String,
    /// The language the file was parsed as.
    pub language: Language,
    /// xxh3-64 of the file's bytes; unchanged content is never parsed twice.
    pub content_hash: u64,
    /// The file's length in bytes.
    pub size: u64,
    /// The file's stamp when it was read from disk, when it can be trusted; stores
    /// keep it so that the next run need not read the file at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stamp: Option<FileStamp>,
    /// Lines in the file: newlines, plus one for a last line without a newline (so an
    /// empty file has none).
    pub lines: u32,
    /// Whether tree-sitter had to recover from syntax errors. The nodes are whatever it
    /// recovered.
    pub has_errors: bool,
    /// The file node first, then definitions in source order (parents before children).
    pub nodes: Vec<Node>,
    /// Every use of a name in the file, unresolved, in source order; resolution
    /// against the rest of the project turns them into edges.
    pub references: Vec<Reference>,
}

impl ParsedFile {
    /// The file's own node.
    pub fn file_node(&self) -> &Node {
        &self.nodes[0]
    }

    /// Definitions, excluding the file node and import bindings.
    pub fn definitions(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(|n| n.kind.is_definition())
    }

    /// `contains` edges implied by each node's parent.
    pub fn containment_edges(&self) -> impl Iterator<Item = Edge> + '_ {
        self.nodes.iter().filter_map(|n| {
            n.parent.map(|parent| Edge {
                src: parent,
                dst: n.id,
                kind: EdgeKind::Contains,
                resolution: Resolution::Syntax,
                span: None,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_strings_round_trip() {
        for kind in NodeKind::ALL {
            assert_eq!(kind.as_str().parse::<NodeKind>().unwrap(), *kind);
            let json = serde_json::to_string(kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        for lang in Language::ALL {
            assert_eq!(lang.as_str().parse::<Language>().unwrap(), *lang);
        }
        let err = "cobol".parse::<Language>().unwrap_err().to_string();
        assert!(err.contains("rust, python"), "{err}");
    }

    #[test]
    fn parsed_files_round_trip_through_rkyv_and_json() {
        let span = Span {
            start_byte: 0,
            end_byte: 10,
            start_line: 1,
            start_column: 1,
            end_line: 1,
            end_column: 11,
        };
        let file_id = NodeId::for_file("src/a.rs");
        let f = NodeId::new("src/a.rs", "a::f", NodeKind::Function, "");
        let parsed = ParsedFile {
            path: "src/a.rs".into(),
            language: Language::Rust,
            content_hash: 42,
            size: 10,
            stamp: None,
            lines: 1,
            has_errors: false,
            nodes: vec![
                Node {
                    id: file_id,
                    kind: NodeKind::File,
                    language: Language::Rust,
                    name: "a.rs".into(),
                    qualified_name: "a".into(),
                    path: "src/a.rs".into(),
                    span,
                    name_span: span,
                    signature: None,
                    doc: Some("Module docs.".into()),
                    visibility: Visibility::Public,
                    parent: None,
                },
                Node {
                    id: f,
                    kind: NodeKind::Function,
                    language: Language::Rust,
                    name: "f".into(),
                    qualified_name: "a::f".into(),
                    path: "src/a.rs".into(),
                    span,
                    name_span: span,
                    signature: Some("fn f()".into()),
                    doc: None,
                    visibility: Visibility::Private,
                    parent: Some(file_id),
                },
            ],
            references: vec![Reference {
                kind: ReferenceKind::Call,
                source: f,
                subject: None,
                qualifier: Some("Vec".into()),
                name: "new".into(),
                alias: None,
                span,
                arguments: Some(0),
            }],
        };
        let bytes = rkyv::to_bytes::<rkyv::rancor::Error>(&parsed).unwrap();
        let archived = rkyv::access::<ArchivedParsedFile, rkyv::rancor::Error>(&bytes).unwrap();
        assert_eq!(archived.nodes[1].qualified_name.as_str(), "a::f");
        assert_eq!(
            archived.nodes[1].parent.as_ref().map(|p| p.get()),
            Some(file_id)
        );
        assert_eq!(archived.references[0].kind, ReferenceKind::Call);
        let back: ParsedFile = rkyv::deserialize::<_, rkyv::rancor::Error>(archived).unwrap();
        assert_eq!(back, parsed);
        // Corrupt bytes are an error, not undefined behaviour.
        let mut bad = bytes.to_vec();
        let last = bad.len() - 1;
        bad[last] ^= 0xff;
        let _ = rkyv::access::<ArchivedParsedFile, rkyv::rancor::Error>(&bad);
        let json = serde_json::to_string(&parsed).unwrap();
        assert_eq!(serde_json::from_str::<ParsedFile>(&json).unwrap(), parsed);
    }

    #[test]
    fn skip_reason_serialises_flat() {
        let skipped = SkippedFile {
            path: "a/b.js".into(),
            reason: SkipReason::TooLarge { size: 10, limit: 5 },
        };
        let json = serde_json::to_string(&skipped).unwrap();
        assert_eq!(
            json,
            r#"{"path":"a/b.js","reason":"too_large","size":10,"limit":5}"#
        );
    }
}
