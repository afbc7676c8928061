//! SCIP out and in (feature `scip`).
//!
//! Out: [`Db::export_scip`] writes a project's definitions and resolved references as a
//! SCIP index, with symbols CodeGraph makes from each definition's place in its file, so
//! that Sourcegraph and other SCIP consumers can load it.
//!
//! In: `IndexConfig::scip` reads an index made by a compiler-grade indexer
//! (scip-typescript, scip-python, rust-analyzer, scip-java...) and keeps, for each
//! reference site it covers, the definitions it names. Runs resolve those sites from it
//! (resolution `precise`) while the file keeps the content it had at the import; an
//! edited file drops back to the heuristics until the next import.
//!
//! Both need the files' text: a reference's site is a whole expression, and SCIP places
//! an occurrence on the name's token. The text is read from the project's directory
//! and used only when its hash is the one the graph indexed. Whether the SCIP index
//! was made from that same text cannot be known (indexers rarely embed it); an
//! occurrence is taken only where it covers exactly the site's name, which an index of
//! other content mostly fails.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use codegraph_core::{
    EdgeKind, Error, FileRecord, GraphStore, Node, NodeId, NodeKind, Reference, ReferenceKind,
    Resolution, Result,
};
use codegraph_store::precise::{Precise, PreciseFile, PreciseSite};
use protobuf::{Enum, EnumOrUnknown, Message, MessageField};
use scip::types::{
    Descriptor, Document, Index, Metadata, Occurrence, Package, PositionEncoding, Relationship,
    Symbol, SymbolInformation, SymbolRole, TextEncoding, ToolInfo, descriptor::Suffix,
    symbol_information::Kind,
};
use serde::Serialize;

use crate::db::with_graph;
use crate::{Db, ScipImport};

/// What [`Db::export_scip`] writes.
#[derive(Clone, Debug, Default)]
pub struct ScipExportOptions {
    /// Also write references whose edge is a guess (`unique_name`, `ambiguous`). A SCIP
    /// consumer cannot tell a guess from a fact, so they are left out by default.
    pub include_guesses: bool,
}

/// What an export wrote.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ScipExportCounts {
    /// Documents (files).
    pub documents: usize,
    /// Definition occurrences.
    pub definitions: usize,
    /// Reference occurrences.
    pub references: usize,
    /// Files whose text on disk is not the indexed one: their definitions are written,
    /// their references are not (their names cannot be placed).
    pub stale_files: Vec<String>,
}

/// The SCIP language name of a CodeGraph language.
fn language_name(language: codegraph_core::Language) -> &'static str {
    use codegraph_core::Language as L;
    match language {
        L::Rust => "rust",
        L::Python => "python",
        L::JavaScript => "javascript",
        L::TypeScript => "typescript",
        L::Tsx => "typescriptreact",
        L::Go => "go",
        L::Java => "java",
        L::Cpp => "cpp",
    }
}

fn symbol_kind(kind: NodeKind) -> Kind {
    match kind {
        NodeKind::File | NodeKind::Module => Kind::Module,
        NodeKind::Namespace => Kind::Namespace,
        NodeKind::Package => Kind::Package,
        NodeKind::Class => Kind::Class,
        NodeKind::Struct => Kind::Struct,
        NodeKind::Union => Kind::Union,
        NodeKind::Interface => Kind::Interface,
        NodeKind::Trait => Kind::Trait,
        NodeKind::Enum => Kind::Enum,
        NodeKind::EnumMember => Kind::EnumMember,
        NodeKind::Function => Kind::Function,
        NodeKind::Method => Kind::Method,
        NodeKind::Constructor => Kind::Constructor,
        NodeKind::Field => Kind::Field,
        NodeKind::Property => Kind::Property,
        NodeKind::Constant => Kind::Constant,
        NodeKind::Variable => Kind::Variable,
        NodeKind::TypeAlias => Kind::TypeAlias,
        NodeKind::Macro => Kind::Macro,
        NodeKind::Import => Kind::UnspecifiedKind,
    }
}

fn suffix(kind: NodeKind) -> Suffix {
    match kind {
        NodeKind::File | NodeKind::Module | NodeKind::Namespace | NodeKind::Package => {
            Suffix::Namespace
        }
        NodeKind::Macro => Suffix::Macro,
        k if k.is_type() || k == NodeKind::TypeAlias => Suffix::Type,
        k if k.is_callable() => Suffix::Method,
        _ => Suffix::Term,
    }
}

/// Byte offsets of the start of each line of `text`.
fn line_starts(text: &[u8]) -> Vec<usize> {
    std::iter::once(0)
        .chain(
            text.iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i + 1),
        )
        .collect()
}

/// Where in `text` the name of reference `r` is: the first occurrence of the name,
/// delimited as a word, inside the reference's span and past what its qualifier
/// takes up (`b.b()` names its second `b`). `None` when it is not there (a file that
/// is not the indexed one).
pub fn name_offset(text: &[u8], r: &Reference) -> Option<usize> {
    let (start, end) = (r.span.start_byte as usize, r.span.end_byte as usize);
    let site = text.get(start..end.min(text.len()))?;
    let name = r.name.as_bytes();
    if name.is_empty() {
        return None;
    }
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80;
    let find_from = |from: usize| {
        (from..=site.len().checked_sub(name.len())?).find(|&i| {
            site[i..].starts_with(name)
                && (i == 0 || !word(site[i - 1]) || !word(name[0]))
                && (i + name.len() == site.len()
                    || !word(site[i + name.len()])
                    || !word(name[name.len() - 1]))
        })
    };
    let skip = match r.kind {
        ReferenceKind::Import => 0,
        _ => r.qualifier.as_deref().map_or(0, str::len).min(site.len()),
    };
    find_from(skip).or_else(|| find_from(0)).map(|i| start + i)
}

/// Zero-based line and column (in bytes) of `offset`.
fn position(starts: &[usize], offset: usize) -> (usize, usize) {
    let line = starts.partition_point(|&s| s <= offset).saturating_sub(1);
    (line, offset - starts[line])
}

/// SCIP positions of one file as byte offsets. A column counts UTF-8, UTF-16 or UTF-32
/// code units by the document's encoding; an unspecified one is taken as UTF-16, the
/// language-server convention that indexers built on one (scip-typescript,
/// scip-python) follow without saying so. ASCII lines need no conversion; another
/// line's table of unit offsets is built once.
struct Columns<'t> {
    text: &'t [u8],
    starts: Vec<usize>,
    encoding: PositionEncoding,
    tables: HashMap<usize, Option<Vec<usize>>>,
}

impl<'t> Columns<'t> {
    fn new(text: &'t [u8], encoding: PositionEncoding) -> Columns<'t> {
        Columns {
            text,
            starts: line_starts(text),
            encoding,
            tables: HashMap::new(),
        }
    }

    /// The byte offset of `(line, column)`, from 0; `None` when it is not in the file.
    fn offset(&mut self, line: i32, column: i32) -> Option<usize> {
        let line = usize::try_from(line).ok()?;
        let column = usize::try_from(column).ok()?;
        let start = *self.starts.get(line)?;
        let end = self.starts.get(line + 1).map_or(self.text.len(), |e| e - 1);
        let bytes = &self.text[start..end];
        if self.encoding == PositionEncoding::UTF8CodeUnitOffsetFromLineStart || bytes.is_ascii() {
            return (column <= bytes.len()).then_some(start + column);
        }
        let encoding = self.encoding;
        let table = self.tables.entry(line).or_insert_with(|| {
            // The byte offset at each code unit boundary (and past the last).
            let text = std::str::from_utf8(bytes).ok()?;
            let mut table = Vec::with_capacity(text.len() + 1);
            for (at, c) in text.char_indices() {
                let units = match encoding {
                    PositionEncoding::UTF32CodeUnitOffsetFromLineStart => 1,
                    _ => c.len_utf16(),
                };
                table.extend(std::iter::repeat_n(at, units));
            }
            table.push(text.len());
            Some(table)
        });
        Some(start + *table.as_ref()?.get(column)?)
    }
}

/// Symbols for every node of a project: the file's path as namespaces, then the node's
/// chain of parents, each with the suffix of its kind. Two siblings of one name and
/// suffix (overloads, a function beside a method) are told apart by their id.
fn symbols(project: &str, nodes: &HashMap<NodeId, Node>) -> HashMap<NodeId, String> {
    let mut seen: HashMap<(Option<NodeId>, &str, Suffix), usize> = HashMap::new();
    for n in nodes.values() {
        *seen
            .entry((n.parent, n.name.as_str(), suffix(n.kind)))
            .or_default() += 1;
    }
    let descriptor = |n: &Node| -> Vec<Descriptor> {
        if n.kind == NodeKind::File {
            return n
                .path
                .split('/')
                .map(|segment| Descriptor {
                    name: segment.to_string(),
                    suffix: EnumOrUnknown::new(Suffix::Namespace),
                    ..Default::default()
                })
                .collect();
        }
        let overloaded = seen[&(n.parent, n.name.as_str(), suffix(n.kind))] > 1;
        let disambiguator = match (suffix(n.kind), overloaded) {
            (Suffix::Method, true) => n.id.to_string(),
            _ => String::new(),
        };
        let name = match (suffix(n.kind), overloaded) {
            (Suffix::Method, _) | (_, false) => n.name.clone(),
            (_, true) => format!("{}~{}", n.name, n.id),
        };
        vec![Descriptor {
            name,
            disambiguator,
            suffix: EnumOrUnknown::new(suffix(n.kind)),
            ..Default::default()
        }]
    };
    let mut out = HashMap::new();
    for n in nodes.values() {
        let mut chain = vec![n];
        while let Some(parent) = chain
            .last()
            .and_then(|c| c.parent)
            .and_then(|p| nodes.get(&p))
        {
            if chain.len() > 64 {
                break;
            }
            chain.push(parent);
        }
        let descriptors = chain.iter().rev().flat_map(|n| descriptor(n)).collect();
        let symbol = Symbol {
            scheme: "codegraph".into(),
            package: MessageField::some(Package {
                manager: ".".into(),
                name: project.into(),
                version: ".".into(),
                ..Default::default()
            }),
            descriptors,
            ..Default::default()
        };
        out.insert(n.id, scip::symbol::format_symbol(symbol));
    }
    out
}

fn range(starts: &[usize], start: usize, end: usize) -> Vec<i32> {
    let (l0, c0) = position(starts, start);
    let (l1, c1) = position(starts, end);
    if l0 == l1 {
        vec![l0 as i32, c0 as i32, c1 as i32]
    } else {
        vec![l0 as i32, c0 as i32, l1 as i32, c1 as i32]
    }
}

/// Reads file `path` of the project under `root` when its content is the indexed one.
fn indexed_text(root: &Path, record: &FileRecord) -> Option<Vec<u8>> {
    let text = std::fs::read(root.join(&record.path)).ok()?;
    (xxhash_rust::xxh3::xxh3_64(&text) == record.content_hash).then_some(text)
}

fn load_nodes<S: GraphStore + ?Sized>(
    store: &S,
    project: &str,
    files: &[FileRecord],
) -> Result<HashMap<NodeId, Node>> {
    let mut nodes = HashMap::new();
    for f in files {
        for node in store.nodes(project, &f.node_ids)?.into_iter().flatten() {
            nodes.insert(node.id, node);
        }
    }
    Ok(nodes)
}

fn export<S: GraphStore + ?Sized>(
    store: &S,
    project: &str,
    root: &Path,
    options: &ScipExportOptions,
    out: &mut dyn Write,
) -> Result<ScipExportCounts> {
    let mut files = store.files(project)?;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let nodes = load_nodes(store, project, &files)?;
    let symbols = symbols(project, &nodes);
    let mut counts = ScipExportCounts::default();
    let mut index = Index {
        metadata: MessageField::some(Metadata {
            tool_info: MessageField::some(ToolInfo {
                name: "codegraph".into(),
                version: env!("CARGO_PKG_VERSION").into(),
                ..Default::default()
            }),
            project_root: format!(
                "file://{}",
                std::path::absolute(root)
                    .unwrap_or(root.to_path_buf())
                    .display()
            ),
            text_document_encoding: EnumOrUnknown::new(TextEncoding::UTF8),
            ..Default::default()
        }),
        ..Default::default()
    };
    for file in &files {
        let Some(text) = indexed_text(root, file) else {
            counts.stale_files.push(file.path.clone());
            // Definitions are placed by the graph's own spans, which need no text.
            index
                .documents
                .push(definitions_only(file, &nodes, &symbols, &mut counts));
            continue;
        };
        let starts = line_starts(&text);
        let mut doc = definitions_only(file, &nodes, &symbols, &mut counts);
        let refs = store.references(project, &file.path)?;
        let sites = codegraph_store::query::Sites::new(&refs);
        let info_of: HashMap<String, usize> = doc
            .symbols
            .iter()
            .enumerate()
            .map(|(i, s)| (s.symbol.clone(), i))
            .collect();
        let resolution = store.resolution(project, &file.path)?.unwrap_or_default();
        let mut written = HashSet::new();
        for edge in &resolution.edges {
            if !options.include_guesses && edge.resolution.is_guess() {
                continue;
            }
            // A call through an interface names the interface's method, which its own
            // edge writes; what it may run at run time is no occurrence in the text.
            if edge.resolution == Resolution::Dispatch {
                continue;
            }
            let Some(symbol) = symbols.get(&edge.dst) else {
                continue;
            };
            let dst_name = nodes.get(&edge.dst).map(|n| n.name.as_str());
            // Placed only when the reference is known: the last of a statement's
            // names would put the occurrence on another name.
            let Some(r) = sites.exact(edge, dst_name) else {
                continue;
            };
            let Some(at) = name_offset(&text, r) else {
                continue;
            };
            if !written.insert((at, symbol)) {
                continue;
            }
            let role = match edge.kind {
                EdgeKind::Imports => SymbolRole::Import.value(),
                _ => 0,
            };
            doc.occurrences.push(Occurrence {
                range: range(&starts, at, at + r.name.len()),
                symbol: symbol.clone(),
                symbol_roles: role,
                ..Default::default()
            });
            counts.references += 1;
            if matches!(edge.kind, EdgeKind::Inherits | EdgeKind::Implements)
                && let Some(src) = symbols.get(&edge.src)
                && let Some(&i) = info_of.get(src.as_str())
                && let Some(info) = doc.symbols.get_mut(i)
            {
                info.relationships.push(Relationship {
                    symbol: symbol.clone(),
                    is_implementation: true,
                    ..Default::default()
                });
            }
        }
        index.documents.push(doc);
    }
    counts.documents = index.documents.len();
    index
        .write_to_writer(out)
        .map_err(|e| Error::io("<scip export>", std::io::Error::other(e)))?;
    Ok(counts)
}

/// A document with the file's definitions and their symbol information.
fn definitions_only(
    file: &FileRecord,
    nodes: &HashMap<NodeId, Node>,
    symbols: &HashMap<NodeId, String>,
    counts: &mut ScipExportCounts,
) -> Document {
    let mut doc = Document {
        relative_path: file.path.clone(),
        language: language_name(file.language).into(),
        position_encoding: EnumOrUnknown::new(PositionEncoding::UTF8CodeUnitOffsetFromLineStart),
        ..Default::default()
    };
    for id in &file.node_ids {
        let Some(node) = nodes.get(id) else { continue };
        if matches!(node.kind, NodeKind::File | NodeKind::Import) {
            continue;
        }
        let symbol = symbols[id].clone();
        let (n, s) = (&node.name_span, &node.span);
        let span_range = |l0: u32, c0: u32, l1: u32, c1: u32| {
            let (l0, c0, l1, c1) = (l0 as i32 - 1, c0 as i32 - 1, l1 as i32 - 1, c1 as i32 - 1);
            if l0 == l1 {
                vec![l0, c0, c1]
            } else {
                vec![l0, c0, l1, c1]
            }
        };
        doc.occurrences.push(Occurrence {
            range: span_range(n.start_line, n.start_column, n.end_line, n.end_column),
            symbol: symbol.clone(),
            symbol_roles: SymbolRole::Definition.value(),
            enclosing_range: span_range(s.start_line, s.start_column, s.end_line, s.end_column),
            ..Default::default()
        });
        counts.definitions += 1;
        let mut documentation = Vec::new();
        if let Some(signature) = &node.signature {
            documentation.push(format!(
                "```{}\n{signature}\n```",
                language_name(node.language)
            ));
        }
        if let Some(d) = &node.doc {
            documentation.push(d.clone());
        }
        doc.symbols.push(SymbolInformation {
            symbol,
            documentation,
            kind: EnumOrUnknown::new(symbol_kind(node.kind)),
            display_name: node.name.clone(),
            ..Default::default()
        });
    }
    doc
}

/// Reads a SCIP index from `path`.
pub(crate) fn read_index(path: &Path) -> Result<Index> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    Index::parse_from_bytes(&bytes)
        .map_err(|e| Error::InvalidInput(format!("{} is not a SCIP index: {e}", path.display())))
}

fn import<S: GraphStore + ?Sized>(
    store: &S,
    project: &str,
    root: &Path,
    index: &Index,
) -> Result<(Precise, ScipImport)> {
    let mut report = ScipImport {
        documents: index.documents.len(),
        ..Default::default()
    };
    struct Covered<'a> {
        doc: &'a Document,
        record: FileRecord,
        text: Vec<u8>,
    }
    let mut covered = Vec::new();
    for doc in &index.documents {
        let Some(record) = store.file(project, &doc.relative_path)? else {
            report.unknown_files += 1;
            continue;
        };
        let Some(text) = indexed_text(root, &record) else {
            report.stale_files += 1;
            continue;
        };
        covered.push(Covered { doc, record, text });
    }
    report.covered_files = covered.len();
    let is_definition = |o: &Occurrence| o.symbol_roles & SymbolRole::Definition.value() != 0;
    // Every symbol the index defines, in any document: one of these that no graph
    // definition matched is the project's all the same, so its sites are left to the
    // heuristics rather than taken as outside the project.
    let indexed: HashSet<&str> = index
        .documents
        .iter()
        .flat_map(|d| &d.occurrences)
        .filter(|o| is_definition(o))
        .map(|o| o.symbol.as_str())
        .collect();
    let encoding = |d: &Document| match d.position_encoding.enum_value() {
        Ok(PositionEncoding::UnspecifiedPositionEncoding) | Err(_) => {
            PositionEncoding::UTF16CodeUnitOffsetFromLineStart
        }
        Ok(e) => e,
    };
    let mut columns: Vec<Columns> = covered
        .iter()
        .map(|c| Columns::new(&c.text, encoding(c.doc)))
        .collect();
    // The graph's definitions, by where their names are.
    let mut defined: HashMap<&str, Vec<NodeId>> = HashMap::new();
    for (c, cols) in covered.iter().zip(&mut columns) {
        let nodes = store.nodes(project, &c.record.node_ids)?;
        let by_offset: HashMap<usize, NodeId> = nodes
            .iter()
            .flatten()
            .filter(|n| !matches!(n.kind, NodeKind::File | NodeKind::Import))
            .filter_map(|n| {
                let start = *cols
                    .starts
                    .get((n.name_span.start_line as usize).checked_sub(1)?)?;
                Some((start + n.name_span.start_column as usize - 1, n.id))
            })
            .collect();
        for o in &c.doc.occurrences {
            if !is_definition(o) || scip::symbol::is_local_symbol(&o.symbol) || o.range.len() < 2 {
                continue;
            }
            match cols
                .offset(o.range[0], o.range[1])
                .and_then(|at| by_offset.get(&at))
            {
                Some(id) => {
                    defined.entry(o.symbol.as_str()).or_default().push(*id);
                    report.definitions_matched += 1;
                }
                None => report.definitions_unmatched += 1,
            }
        }
    }
    let mut precise = Precise::default();
    for (c, cols) in covered.iter().zip(&mut columns) {
        // References by where they start, with where they end: a site takes one only
        // if it covers exactly the site's name (an index of other content would not).
        let mut at: HashMap<usize, Vec<(usize, &str)>> = HashMap::new();
        for o in &c.doc.occurrences {
            if is_definition(o) || o.range.len() != 3 {
                continue;
            }
            if let (Some(start), Some(end)) = (
                cols.offset(o.range[0], o.range[1]),
                cols.offset(o.range[0], o.range[2]),
            ) {
                at.entry(start).or_default().push((end, &o.symbol));
            }
        }
        let mut sites = Vec::new();
        for r in store.references(project, &c.record.path)? {
            if matches!(r.kind, ReferenceKind::Assign | ReferenceKind::Value) {
                continue;
            }
            let Some(start) = name_offset(&c.text, &r) else {
                continue;
            };
            let symbols: Vec<&str> = at
                .get(&start)
                .into_iter()
                .flatten()
                .filter(|(end, _)| *end == start + r.name.len())
                .map(|(_, s)| *s)
                .collect();
            // None, or a local of the indexer (a parameter, a closure in a variable):
            // no definition it can name for us, the heuristics decide.
            if symbols.is_empty() || symbols.iter().any(|s| scip::symbol::is_local_symbol(s)) {
                continue;
            }
            let mut targets: Vec<NodeId> = symbols
                .iter()
                .filter_map(|s| defined.get(s))
                .flatten()
                .copied()
                .collect();
            targets.sort();
            targets.dedup();
            if targets.is_empty() {
                if symbols.iter().any(|s| indexed.contains(s)) {
                    continue;
                }
                report.external_sites += 1;
            }
            sites.push(PreciseSite {
                kind: r.kind,
                start_byte: r.span.start_byte,
                end_byte: r.span.end_byte,
                name: r.name.clone(),
                targets,
            });
        }
        report.sites += sites.len();
        precise.files.insert(
            c.record.path.clone(),
            Arc::new(PreciseFile::new(c.record.content_hash, sites)),
        );
    }
    Ok((precise, report))
}

/// Where a project's imported resolutions are kept.
fn precise_file(db: &Path, project: &str) -> std::path::PathBuf {
    crate::layout::precise_file(db, project)
}

/// Reads a project's imported resolutions, if it has any.
pub(crate) fn load_precise(db: &Path, project: &str) -> Result<Option<Arc<Precise>>> {
    let path = precise_file(db, project);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(&path, e)),
    };
    let precise: Precise = serde_json::from_slice(&bytes)
        .map_err(|e| Error::Corrupt(format!("{}: {e}", path.display())))?;
    Ok(Some(Arc::new(precise)))
}

pub(crate) fn save_precise(db: &Path, project: &str, precise: &Precise) -> Result<()> {
    let path = precise_file(db, project);
    let dir = path.parent().expect("the file is in a directory");
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let tmp = path.with_extension("tmp");
    let bytes = serde_json::to_vec(precise).map_err(|e| Error::io(&tmp, e.into()))?;
    std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))
}

impl Db {
    /// Writes project `project` as a SCIP index to `out`. `root` is the directory the
    /// project was indexed from: references are placed on their names in its files.
    pub fn export_scip(
        &self,
        project: &str,
        root: &Path,
        options: &ScipExportOptions,
        out: &mut dyn Write,
    ) -> Result<ScipExportCounts> {
        if self.project(project)?.is_none() {
            return Err(Error::NotFound(format!("project {project}")));
        }
        with_graph!(&self.graph, s => export(s, project, root, options, out))
    }

    /// The resolutions of the SCIP index at `scip` for the files of `project` (indexed
    /// from directory `root`) that it covers, and the files to resolve again with them:
    /// those, and those an earlier import covered (they lose theirs). Nothing is kept
    /// yet: the caller saves them once its run has applied them.
    pub(crate) fn import_scip_sites(
        &self,
        project: &str,
        root: &Path,
        scip: &Path,
    ) -> Result<(Precise, Vec<String>, ScipImport)> {
        let index = read_index(scip)?;
        let (precise, report) = with_graph!(&self.graph, s => import(s, project, root, &index))?;
        let mut paths: Vec<String> = precise.files.keys().cloned().collect();
        if let Some(before) = load_precise(self.dir(), project)? {
            paths.extend(before.files.keys().cloned());
        }
        paths.sort();
        paths.dedup();
        Ok((precise, paths, report))
    }
}

/// Reads a whole SCIP index back (for tests and tools): documents by path.
pub fn read_documents(path: &Path) -> Result<BTreeMap<String, Document>> {
    Ok(read_index(path)?
        .documents
        .into_iter()
        .map(|d| (d.relative_path.clone(), d))
        .collect())
}
