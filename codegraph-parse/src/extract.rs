//! The extraction engine: one query pass over a syntax tree, turned into nodes and
//! references.
//!
//! All language knowledge lives in two places: the query files under `queries/`
//! (which syntax is a definition, a call, an import, a base type) and a small
//! `Rules` implementation per language (module paths, visibility, doc comments,
//! import shapes). The engine itself only knows the capture-name conventions
//! documented in `queries/README.md`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use codegraph_core::{
    Language, Node, NodeId, NodeKind, ParsedFile, Reference, ReferenceKind, Span, Visibility,
};
use tree_sitter::{Parser, QueryCursor, StreamingIterator, Tree};

use crate::lang::{self, CommentSpan, ImportBinding, Rules};
use crate::queries::{self, CompiledQuery, Role};
pub use crate::text::count_lines;
use crate::text::{
    collapse_whitespace, declared_type, elide_arguments, lossy, normalize_type_name, truncate_chars,
};

/// Limits applied while extracting one file.
#[derive(Clone, Debug)]
pub struct ExtractOptions {
    /// Parsing a file, macro repairs included, stops after this long. Pathological
    /// inputs can make a GLR parser slow; one such file must not stall a run. When the
    /// first parse finished, a repair that runs out of time is dropped and the first
    /// tree used; when it did not, the file is reported as failed.
    pub parse_timeout: Duration,
    /// Longest signature kept, in characters.
    pub max_signature_chars: usize,
    /// Longest doc comment kept, in characters.
    pub max_doc_chars: usize,
    /// Extract references (calls, imports, inheritance) as well as definitions.
    /// Turning this off makes extraction faster when only definitions are wanted.
    pub references: bool,
    /// Extract doc comments and docstrings. Turning this off skips comment matching.
    pub docs: bool,
}

impl Default for ExtractOptions {
    fn default() -> Self {
        ExtractOptions {
            parse_timeout: Duration::from_secs(10),
            max_signature_chars: 320,
            max_doc_chars: 2000,
            references: true,
            docs: true,
        }
    }
}

/// Why extraction failed. Only the parser giving up counts; syntax errors do not, since
/// tree-sitter recovers from them.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// Parsing ran past [`ExtractOptions::parse_timeout`] (the limit it was given)
    /// and was abandoned.
    #[error("parsing took longer than {0:?}")]
    Timeout(Duration),
    /// The file is longer (in bytes) than tree-sitter's 32-bit offsets can address.
    #[error("file too large for the parser ({0} bytes; the limit is 4 GiB)")]
    TooLarge(usize),
    /// tree-sitter gave up without saying why and without timing out.
    #[error("tree-sitter returned no tree")]
    NoTree,
}

thread_local! {
    // Parsers and cursors are reused per thread: allocating them per file costs more
    // than parsing a small file. One slot per language, since switching a parser's
    // language resets its internal tables.
    static PARSERS: RefCell<Vec<Option<Parser>>> = RefCell::new((0..Language::ALL.len()).map(|_| None).collect());
    static CURSOR: RefCell<QueryCursor> = RefCell::new(QueryCursor::new());
}

fn language_slot(language: Language) -> usize {
    Language::ALL
        .iter()
        .position(|l| *l == language)
        .expect("every language is in ALL")
}

/// Parses `source` with the language's grammar, reusing this thread's parser.
pub fn parse_tree(
    language: Language,
    source: &[u8],
    timeout: Duration,
) -> Result<Tree, ExtractError> {
    reparse_tree(language, source, timeout, None)
}

/// Parses `source`, reusing the unchanged parts of `old` (already edited to match).
fn reparse_tree(
    language: Language,
    source: &[u8],
    timeout: Duration,
    old: Option<&Tree>,
) -> Result<Tree, ExtractError> {
    if source.len() > u32::MAX as usize {
        return Err(ExtractError::TooLarge(source.len()));
    }
    PARSERS.with(|cell| {
        let mut parsers = cell.borrow_mut();
        let slot = &mut parsers[language_slot(language)];
        let parser = slot.get_or_insert_with(|| {
            let mut parser = Parser::new();
            parser
                .set_language(&crate::language::grammar(language))
                .expect("bundled grammars match the tree-sitter ABI");
            parser
        });
        let started = Instant::now();
        let mut timed_out = false;
        let mut progress = |_: &tree_sitter::ParseState| {
            if started.elapsed() > timeout {
                timed_out = true;
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        };
        let len = source.len();
        let tree = parser.parse_with_options(
            &mut |offset, _| if offset < len { &source[offset..] } else { &[] },
            old,
            Some(tree_sitter::ParseOptions::new().progress_callback(&mut progress)),
        );
        match tree {
            Some(tree) => Ok(tree),
            None => {
                // A cancelled parse leaves state behind that would be resumed by the
                // next call; start the next file from scratch.
                parser.reset();
                if timed_out {
                    Err(ExtractError::Timeout(timeout))
                } else {
                    Err(ExtractError::NoTree)
                }
            }
        }
    })
}

/// At most this many repair-and-reparse rounds per file.
const REPAIR_ROUNDS: usize = 3;

/// Extracts a file's nodes and references.
pub fn extract(
    language: Language,
    path: &str,
    source: &[u8],
    options: &ExtractOptions,
) -> Result<ParsedFile, ExtractError> {
    if let Some(parsed) = crate::manifest::read(language, path, source) {
        return Ok(parsed);
    }
    let rules = lang::rules(language);
    // Rewrites only blank bytes, keeping every offset, so spans and names read from
    // the rewritten text are those of the original; only the hash must come from the
    // original bytes.
    let original = source;
    let mut rewritten: Option<Vec<u8>> = None;
    let early = rules.before_parse(source);
    if !early.is_empty() {
        rewritten = Some(blanked(source, &early));
    }
    // One limit for the file's parses together: three repair rounds each allowed the
    // whole limit made a file that recovers slowly cost four times it.
    let deadline = Instant::now() + options.parse_timeout;
    let mut tree = parse_tree(
        language,
        rewritten.as_deref().unwrap_or(source),
        options.parse_timeout,
    )?;
    // A repair can uncover the next one (the error it removed hid a later macro), so
    // a few rounds, each kept only when it leaves fewer errors.
    for _ in 0..REPAIR_ROUNDS {
        if !tree.root_node().has_error() {
            break;
        }
        let current = rewritten.as_deref().unwrap_or(source);
        let rows = error_rows(&tree);
        let mut repairs = rules.repair(current, &rows);
        let separators: Vec<usize> = rules
            .separators(current, &rows)
            .into_iter()
            .filter(|&at| current.get(at).is_some_and(|b| matches!(b, b' ' | b'\t')))
            .collect();
        if repairs.is_empty() && separators.is_empty() {
            break;
        }
        let mut repaired = blanked(current, &repairs);
        for &at in &separators {
            repaired[at] = b';';
        }
        repairs.extend(separators.iter().map(|&at| at..at + 1));
        // Same-length edits: tell the old tree where they are and let tree-sitter
        // reparse only around them, which costs a fraction of a full parse.
        let mut edited = tree.clone();
        let lines = LineIndex::new(current);
        for range in &repairs {
            let start = lines.point(range.start);
            let end = lines.point(range.end);
            edited.edit(&tree_sitter::InputEdit {
                start_byte: range.start,
                old_end_byte: range.end,
                new_end_byte: range.end,
                start_position: start,
                old_end_position: end,
                new_end_position: end,
            });
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        // Out of time: the tree already made stands, unrepaired.
        let Ok(second) = reparse_tree(language, &repaired, left, Some(&edited)) else {
            break;
        };
        if error_count(&second) >= rows.len() {
            break;
        }
        tree = second;
        rewritten = Some(repaired);
    }
    if let Some((expanded, text)) = expand(
        language,
        rules,
        &tree,
        rewritten.as_deref().unwrap_or(source),
        deadline,
    ) {
        tree = expanded;
        rewritten = Some(text);
    }
    let source = rewritten.as_deref().unwrap_or(source);
    let query = queries::query(language, options.references, options.docs);
    let mut file =
        Extraction::new(language, path, (source, original), &tree, rules, options).run(query);
    file.has_errors = tree.root_node().has_error();
    file.content_hash = xxhash_rust::xxh3::xxh3_64(original);
    Ok(file)
}

/// Applies the language's [`Rules::expansions`] to a parsed file. Every rewrite is
/// tried at once; those whose text then holds an error are undone together, and the
/// result stands only when the file has no more errors than before. `None` leaves the
/// tree as it was (nothing to expand, nothing survived, or out of time).
fn expand(
    language: Language,
    rules: &dyn Rules,
    tree: &Tree,
    src: &[u8],
    deadline: Instant,
) -> Option<(Tree, Vec<u8>)> {
    let sites = rules.expansions(tree.root_node(), src);
    if sites.is_empty() {
        return None;
    }
    let before = error_offsets(tree).len();
    let edits: Vec<(usize, u8)> = sites.iter().flat_map(|s| s.edits.iter().copied()).collect();
    let (first, text) = reparse_edited(language, tree, src, &edits, deadline)?;
    let errors = error_offsets(&first);
    let failed: Vec<(usize, u8)> = sites
        .iter()
        .filter(|site| {
            let at = errors.partition_point(|&e| e < site.check.start);
            errors.get(at).is_some_and(|&e| e <= site.check.end)
        })
        .flat_map(|site| site.edits.iter().map(|&(at, _)| (at, src[at])))
        .collect();
    if failed.is_empty() {
        return (errors.len() <= before).then_some((first, text));
    }
    if failed.len() == edits.len() {
        return None;
    }
    let (second, text) = reparse_edited(language, &first, &text, &failed, deadline)?;
    (error_offsets(&second).len() <= before).then_some((second, text))
}

/// `src` with single bytes replaced, reparsed from `tree` told where they are.
fn reparse_edited(
    language: Language,
    tree: &Tree,
    src: &[u8],
    edits: &[(usize, u8)],
    deadline: Instant,
) -> Option<(Tree, Vec<u8>)> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return None;
    }
    let mut text = src.to_vec();
    let mut edited = tree.clone();
    let lines = LineIndex::new(src);
    for &(at, byte) in edits {
        // Line breaks are never rewritten: rows must stay where they are.
        if matches!(text[at], b'\n' | b'\r') || matches!(byte, b'\n' | b'\r') {
            continue;
        }
        text[at] = byte;
        let point = lines.point(at);
        let end = tree_sitter::Point {
            row: point.row,
            column: point.column + 1,
        };
        edited.edit(&tree_sitter::InputEdit {
            start_byte: at,
            old_end_byte: at + 1,
            new_end_byte: at + 1,
            start_position: point,
            old_end_position: end,
            new_end_position: end,
        });
    }
    let tree = reparse_tree(language, &text, left, Some(&edited)).ok()?;
    Some((tree, text))
}

/// The start offsets of ERROR and MISSING nodes, sorted.
fn error_offsets(tree: &Tree) -> Vec<usize> {
    let mut offsets = Vec::new();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        if !node.has_error() {
            continue;
        }
        if node.is_error() || node.is_missing() {
            offsets.push(node.start_byte());
            if node.is_missing() {
                continue;
            }
        }
        let mut cursor = node.walk();
        stack.extend(node.children(&mut cursor));
    }
    offsets.sort_unstable();
    offsets
}

/// `src` with the bytes in `ranges` replaced by spaces, line breaks kept.
fn blanked(src: &[u8], ranges: &[std::ops::Range<usize>]) -> Vec<u8> {
    let mut out = src.to_vec();
    for range in ranges {
        for byte in &mut out[range.clone()] {
            if *byte != b'\n' && *byte != b'\r' {
                *byte = b' ';
            }
        }
    }
    out
}

/// Byte offset to tree-sitter point (0-based row, byte column).
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(src: &[u8]) -> LineIndex {
        LineIndex {
            starts: std::iter::once(0)
                .chain(memchr::memchr_iter(b'\n', src).map(|i| i + 1))
                .collect(),
        }
    }

    fn point(&self, offset: usize) -> tree_sitter::Point {
        let row = self.starts.partition_point(|&s| s <= offset) - 1;
        tree_sitter::Point {
            row,
            column: offset - self.starts[row],
        }
    }
}

/// The 0-based rows of ERROR and MISSING nodes, sorted and deduplicated. Walks only
/// subtrees that contain errors.
fn error_rows(tree: &Tree) -> Vec<usize> {
    let mut rows = Vec::new();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        if node.is_error() || node.is_missing() {
            rows.push(node.start_position().row);
            if node.is_missing() {
                continue;
            }
        }
        let mut cursor = node.walk();
        for child in node.children(&mut cursor) {
            if child.has_error() {
                stack.push(child);
            }
        }
    }
    rows.sort_unstable();
    rows.dedup();
    rows
}

fn error_count(tree: &Tree) -> usize {
    if tree.root_node().has_error() {
        error_rows(tree).len()
    } else {
        0
    }
}

/// A definition as captured, before names and ids are worked out.
struct RawDef<'t> {
    node: tree_sitter::Node<'t>,
    kind: NodeKind,
    name: Option<tree_sitter::Node<'t>>,
    receiver: Option<tree_sitter::Node<'t>>,
    doc: Option<tree_sitter::Node<'t>>,
    pattern: usize,
}

/// A reference as captured.
struct RawRef<'t> {
    kind: ReferenceKind,
    node: tree_sitter::Node<'t>,
    name: Option<tree_sitter::Node<'t>>,
    qualifier: Option<tree_sitter::Node<'t>>,
    subject: Option<tree_sitter::Node<'t>>,
    alias: Option<tree_sitter::Node<'t>>,
    /// An `@unwrap` capture was present.
    unwrap: bool,
    /// The `@closure` capture: the closure whose parameter a value reference binds
    /// (which is then bound over the closure alone, as `x!`), or on a type reference
    /// the type itself.
    closure: Option<tree_sitter::Node<'t>>,
    /// A `@narrow` capture was present.
    narrow: bool,
    pattern: usize,
}

/// Everything one query pass captured.
struct Captures<'t> {
    defs: Vec<RawDef<'t>>,
    /// Scope nodes and their name nodes.
    scopes: Vec<(tree_sitter::Node<'t>, tree_sitter::Node<'t>)>,
    refs: Vec<RawRef<'t>>,
    /// Every comment, by start.
    comments: Vec<CommentSpan>,
    /// Access-specifier labels (`public:`) by start, with their text.
    access: Vec<(usize, String)>,
    /// Byte ranges whose definitions are private whatever else holds (C++ anonymous
    /// namespaces), by start.
    private_scopes: Vec<(usize, usize)>,
}

/// Something that contributes a segment to qualified names: a definition, or a scope
/// such as a Rust `impl` block that is not itself a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Container {
    Def(usize),
    Scope(usize),
}

struct Extraction<'a, 't> {
    language: Language,
    path: &'a str,
    /// The text parsed: the source with any repairs (same offsets).
    src: &'a [u8],
    /// The source as written, for signatures: a repair is not part of the code.
    original: &'a [u8],
    tree: &'t Tree,
    rules: &'static dyn Rules,
    options: &'a ExtractOptions,
}

/// A definition with its names worked out.
struct Def {
    kind: NodeKind,
    name: String,
    qualified_name: String,
    parent: Option<usize>,
    span: Span,
    name_span: Span,
    signature: Option<String>,
    doc: Option<String>,
    visibility: Visibility,
    start: usize,
    end: usize,
}

impl<'a, 't> Extraction<'a, 't> {
    fn new(
        language: Language,
        path: &'a str,
        (src, original): (&'a [u8], &'a [u8]),
        tree: &'t Tree,
        rules: &'static dyn Rules,
        options: &'a ExtractOptions,
    ) -> Self {
        Extraction {
            language,
            path,
            src,
            original,
            tree,
            rules,
            options,
        }
    }

    fn text(&self, node: tree_sitter::Node<'_>) -> String {
        lossy(&self.src[node.byte_range()])
    }

    fn run(self, compiled: &CompiledQuery) -> ParsedFile {
        let captures = self.capture(compiled);
        let raw_defs = &captures.defs;
        let scopes = &captures.scopes;
        let sep = self.language.path_separator();

        // Order definitions and scopes so that every container precedes what it
        // contains: by start, then by size descending.
        let mut containers: Vec<(usize, usize, Container)> = raw_defs
            .iter()
            .enumerate()
            .map(|(i, d)| (d.node.start_byte(), d.node.end_byte(), Container::Def(i)))
            .chain(
                scopes
                    .iter()
                    .enumerate()
                    .map(|(i, (n, _))| (n.start_byte(), n.end_byte(), Container::Scope(i))),
            )
            .collect();
        containers.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));

        // Java and Go declare the package once per file; it prefixes every top-level
        // qualified name. Rust and Python derive the module from the path.
        let package = raw_defs
            .iter()
            .find(|d| d.kind == NodeKind::Package)
            .and_then(|d| d.name.map(|n| collapse_whitespace(&self.text(n))));
        let file_prefix = package
            .clone()
            .or_else(|| self.rules.path_module(self.path))
            .unwrap_or_default();

        let mut defs: Vec<Option<Def>> = (0..raw_defs.len()).map(|_| None).collect();
        let mut scope_qnames: Vec<String> = vec![String::new(); scopes.len()];
        // Enclosing container of each container, for scope lookups.
        let mut stack: Vec<(usize, usize, Container)> = Vec::new();
        // Type definitions by qualified name, so that methods declared away from their
        // type (Go receivers, Rust impls, C++ `A::f`) attach to it when it is in the
        // same file.
        let mut types_by_qname: HashMap<String, usize> = HashMap::new();

        for &(start, end, container) in &containers {
            // Pop what ended before this starts, and a definition with exactly this
            // extent: several names defined by one node are siblings, not nested.
            while let Some(&(top_start, top_end, _)) = stack.last() {
                if start >= top_end || (start == top_start && end == top_end) {
                    stack.pop();
                } else {
                    break;
                }
            }
            let enclosing = stack.last().map(|&(_, _, c)| c);
            let (parent_qname, parent_def, owner) = match enclosing {
                None => (file_prefix.clone(), None, Owner::File),
                Some(Container::Def(i)) => {
                    let d = defs[i].as_ref().expect("containers precede contents");
                    (d.qualified_name.clone(), Some(i), Owner::Def(d.kind, i))
                }
                Some(Container::Scope(i)) => {
                    let q = scope_qnames[i].clone();
                    let parent = types_by_qname
                        .get(&q)
                        .copied()
                        .or_else(|| nearest_def(&stack));
                    (q, parent, Owner::Scope(scopes[i].0))
                }
            };
            match container {
                Container::Scope(i) => {
                    let name = normalize_type_name(&self.text(scopes[i].1), sep);
                    scope_qnames[i] = join(&parent_qname, &name, sep);
                }
                Container::Def(i) => {
                    let raw = &raw_defs[i];
                    let def = self.build_def(
                        raw,
                        &captures,
                        &parent_qname,
                        parent_def,
                        owner,
                        package.as_deref(),
                        &defs,
                        &types_by_qname,
                    );
                    if def.kind.is_type() || def.kind == NodeKind::TypeAlias {
                        types_by_qname
                            .entry(def.qualified_name.clone())
                            .or_insert(i);
                    }
                    defs[i] = Some(def);
                }
            }
            stack.push((start, end, container));
        }

        let mut defs: Vec<Def> = defs
            .into_iter()
            .map(|d| d.expect("every def built"))
            .collect();
        // Parents are indexes into `defs`; keep them valid while ordering by position.
        let mut order: Vec<usize> = (0..defs.len()).collect();
        order.sort_by_key(|&i| (defs[i].start, std::cmp::Reverse(defs[i].end), i));
        let mut new_index = vec![0usize; defs.len()];
        for (new, &old) in order.iter().enumerate() {
            new_index[old] = new;
        }
        let mut sorted: Vec<Option<Def>> = defs.drain(..).map(Some).collect();
        let mut defs: Vec<Def> = order
            .iter()
            .map(|&old| sorted[old].take().expect("each def moved once"))
            .collect();
        for def in &mut defs {
            def.parent = def.parent.map(|p| new_index[p]);
        }

        let Captures { refs, comments, .. } = captures;
        self.assemble(defs, refs, &file_prefix, &comments)
    }

    #[allow(clippy::too_many_arguments)]
    fn build_def(
        &self,
        raw: &RawDef<'t>,
        captures: &Captures<'t>,
        parent_qname: &str,
        parent_def: Option<usize>,
        owner: Owner<'t>,
        package: Option<&str>,
        defs: &[Option<Def>],
        types_by_qname: &HashMap<String, usize>,
    ) -> Def {
        let sep = self.language.path_separator();
        let name_node = raw.name.unwrap_or(raw.node);
        let mut name = self
            .rules
            .clean_name(collapse_whitespace(&self.text(name_node)));
        let mut receiver = raw
            .receiver
            .map(|r| normalize_type_name(&self.text(r), sep))
            .and_then(|r| self.rules.normalize_receiver(r));
        if raw.kind == NodeKind::Package {
            // The package is the prefix itself, not something inside it.
            let name = package.unwrap_or(&name).to_string();
            return Def {
                kind: NodeKind::Package,
                qualified_name: name.clone(),
                name,
                parent: None,
                span: span(raw.node),
                name_span: span(name_node),
                signature: Some(collapse_whitespace(&self.text(raw.node))),
                doc: None,
                visibility: Visibility::Public,
                start: raw.node.start_byte(),
                end: raw.node.end_byte(),
            };
        }
        // C++ out-of-line definitions name their scope: `void ns::A::f()`.
        if let Some((scope, last)) = self.rules.split_qualified_name(&name) {
            let scope = normalize_type_name(&scope, sep);
            receiver = Some(match receiver {
                Some(r) => join(&r, &scope, sep),
                None => scope,
            });
            name = last;
        }
        if receiver.as_deref().is_some_and(str::is_empty) {
            receiver = None;
        }
        let receiver_qname = receiver.as_ref().map(|r| join(parent_qname, r, sep));
        let qualified_name = match &receiver_qname {
            Some(rq) => join(rq, &name, sep),
            None => join(parent_qname, &name, sep),
        };
        // A specialisation is found under its template's name; its qualified name keeps
        // the arguments that tell it from the primary template.
        if raw.kind.is_type()
            && let Some(template) = self.rules.specialised_type_name(&name)
        {
            name = template;
        }

        // The type a member belongs to, when it is in this file.
        let owner_type = receiver_qname
            .as_ref()
            .and_then(|rq| types_by_qname.get(rq).copied());
        let parent = owner_type.or(parent_def);

        let in_type = receiver.is_some()
            || matches!(owner, Owner::Scope(_))
            || matches!(owner, Owner::Def(kind, _) if kind.is_type());
        let owner_name = receiver
            .as_deref()
            .map(|r| r.rsplit(sep).next().unwrap_or(r).to_string())
            .or_else(|| match owner {
                Owner::Def(_, i) => defs[i].as_ref().map(|d| d.name.clone()),
                Owner::Scope(_) => parent_qname.rsplit(sep).next().map(str::to_string),
                Owner::File => None,
            });
        let mut kind = raw.kind;
        if kind == NodeKind::Function && in_type {
            kind = NodeKind::Method;
        }
        if matches!(kind, NodeKind::Function | NodeKind::Method)
            && self.rules.is_constructor(&name, owner_name.as_deref())
        {
            kind = NodeKind::Constructor;
        }

        let parent_def = parent.and_then(|p| defs[p].as_ref());
        let parent_kind = parent_def.map(|d| d.kind);
        let start = raw.node.start_byte();
        // The last access label between the start of the enclosing type and here, when
        // the definition is lexically inside it.
        let access = parent_def
            .filter(|d| d.start <= start && start < d.end)
            .and_then(|d| {
                let i = captures.access.partition_point(|(at, _)| *at < start);
                captures.access[..i]
                    .last()
                    .filter(|(at, _)| *at > d.start)
                    .map(|(_, text)| text.as_str())
            });
        let i = captures
            .private_scopes
            .partition_point(|(s, _)| *s <= start);
        let in_private_scope = captures.private_scopes[..i]
            .iter()
            .any(|&(s, e)| s <= start && start < e);
        let visibility = self.rules.visibility(&lang::VisibilityInput {
            node: raw.node,
            src: self.src,
            kind,
            name: &name,
            parent_kind,
            scope: match owner {
                Owner::Scope(node) => Some(node),
                _ => None,
            },
            access,
            in_private_scope,
        });
        let doc = if !self.options.docs {
            None
        } else {
            match raw.doc {
                Some(doc_node) => self.rules.clean_docstring(&self.text(doc_node)),
                None => self.rules.doc(raw.node, self.src, &captures.comments),
            }
            .map(|d| truncate_chars(&d, self.options.max_doc_chars))
        };
        let signature = self.signature(raw.node);

        Def {
            kind,
            name,
            qualified_name,
            parent,
            span: span(raw.node),
            name_span: span(name_node),
            signature,
            doc,
            visibility,
            start: raw.node.start_byte(),
            end: raw.node.end_byte(),
        }
    }

    /// The declaration text up to its body, whitespace collapsed.
    /// A written type as a reference's qualifier and name, when it names one type
    /// (nullable wrappers looked through); `None` for unions, functions and the like.
    fn declared(&self, written: &str) -> Option<(Option<String>, String)> {
        let full = declared_type(written, self.language.path_separator())?;
        Some(match split_last(&full, self.rules.reference_separators()) {
            Some((q, n)) => (Some(q.to_string()), n.to_string()),
            None => (None, full),
        })
    }

    fn signature(&self, node: tree_sitter::Node<'_>) -> Option<String> {
        let body = node.child_by_field_name("body").or_else(|| {
            node.child_by_field_name("value")
                .and_then(|v| v.child_by_field_name("body"))
        });
        let end = match body {
            Some(b) if b.start_byte() > node.start_byte() => b.start_byte(),
            _ => {
                // No body: the declaration is the node itself, but a multi-line
                // initialiser is not a signature.
                let text = &self.original[node.byte_range()];
                let first_line = memchr::memchr(b'\n', text).unwrap_or(text.len());
                node.start_byte() + first_line
            }
        };
        let text = collapse_whitespace(&lossy(&self.original[node.start_byte()..end]));
        let text = text
            .trim_end_matches(['{', ':', '=', ' '])
            .trim_end()
            .to_string();
        if text.is_empty() {
            None
        } else {
            Some(truncate_chars(&text, self.options.max_signature_chars))
        }
    }

    /// Runs the query once and sorts captures into definitions, scopes and references.
    #[allow(clippy::type_complexity)]
    fn capture(&self, compiled: &CompiledQuery) -> Captures<'t> {
        let query = &compiled.query;
        let roles = &compiled.roles;
        let mut defs: Vec<RawDef<'t>> = Vec::new();
        // Keyed by definition node and name node: one Go `const a, b = 1, 2` spec
        // defines two names.
        let mut def_by_node: HashMap<(usize, usize), usize> = HashMap::new();
        let mut scopes = Vec::new();
        let mut refs: Vec<RawRef<'t>> = Vec::new();
        // Keyed by reference node, kind and subject node: one Go `a, b *T` parameter
        // declaration binds two names to one type.
        let mut ref_by_node: HashMap<(usize, ReferenceKind, usize), usize> = HashMap::new();
        let mut comments: Vec<CommentSpan> = Vec::new();
        let mut access: Vec<(usize, String)> = Vec::new();
        let mut private_scopes: Vec<(usize, usize)> = Vec::new();

        CURSOR.with(|cell| {
            let mut cursor = cell.borrow_mut();
            let mut matches = cursor.matches(query, self.tree.root_node(), self.src);
            while let Some(m) = matches.next() {
                let mut main: Option<(Role, tree_sitter::Node<'t>)> = None;
                let mut name = None;
                let mut receiver = None;
                let mut doc = None;
                let mut qualifier = None;
                let mut subject = None;
                let mut alias = None;
                let mut scope_name = None;
                let mut unwrap = false;
                let mut closure = None;
                let mut narrow = false;
                for capture in m.captures() {
                    let role = roles[capture.index as usize];
                    match role {
                        Role::Definition(_)
                        | Role::Scope
                        | Role::Call
                        | Role::Import
                        | Role::Inherit
                        | Role::Implement
                        | Role::Type
                        | Role::Assign
                        | Role::Value => main = Some((role, capture.node)),
                        Role::Name => name = Some(capture.node),
                        Role::Receiver => receiver = Some(capture.node),
                        Role::Doc => doc = Some(capture.node),
                        Role::Qualifier => qualifier = Some(capture.node),
                        Role::Subject => subject = Some(capture.node),
                        Role::Alias => alias = Some(capture.node),
                        Role::Unwrap => unwrap = true,
                        Role::Closure => closure = Some(capture.node),
                        Role::Narrow => narrow = true,
                        Role::ScopeName => scope_name = Some(capture.node),
                        Role::Comment => comments.push(CommentSpan {
                            start: capture.node.start_byte(),
                            end: capture.node.end_byte(),
                        }),
                        Role::Access => access.push((
                            capture.node.start_byte(),
                            collapse_whitespace(&self.text(capture.node)),
                        )),
                        Role::PrivateScope => private_scopes
                            .push((capture.node.start_byte(), capture.node.end_byte())),
                        Role::Ignored => {}
                    }
                }
                let Some((role, node)) = main else { continue };
                let pattern = m.pattern_index;
                let failed = compiled.checks[pattern].iter().any(|check| {
                    m.captures()
                        .iter()
                        .filter(|c| c.index == check.capture())
                        .any(|c| !check.passes(c.node))
                });
                if failed {
                    continue;
                }
                match role {
                    Role::Definition(kind) => {
                        // Several patterns may match one node; the earliest pattern in the
                        // query file wins, so files list specific forms first.
                        let raw = RawDef {
                            node,
                            kind,
                            name,
                            receiver,
                            doc,
                            pattern,
                        };
                        let key = (node.id(), name.map_or(0, |n| n.id()));
                        match def_by_node.get(&key) {
                            Some(&i) if defs[i].pattern <= pattern => {}
                            Some(&i) => defs[i] = raw,
                            None => {
                                def_by_node.insert(key, defs.len());
                                defs.push(raw);
                            }
                        }
                    }
                    Role::Scope => {
                        if let Some(scope_name) = scope_name {
                            scopes.push((node, scope_name));
                        }
                    }
                    Role::Call
                    | Role::Import
                    | Role::Inherit
                    | Role::Implement
                    | Role::Type
                    | Role::Assign
                    | Role::Value => {
                        let kind = match role {
                            Role::Call => ReferenceKind::Call,
                            Role::Import => ReferenceKind::Import,
                            Role::Inherit => ReferenceKind::Inherit,
                            Role::Type => ReferenceKind::Type,
                            Role::Assign => ReferenceKind::Assign,
                            Role::Value => ReferenceKind::Value,
                            _ => ReferenceKind::Implement,
                        };
                        let raw = RawRef {
                            kind,
                            node,
                            name,
                            qualifier,
                            subject,
                            alias,
                            unwrap,
                            closure,
                            narrow,
                            pattern,
                        };
                        let key = (node.id(), kind, subject.map_or(0, |s| s.id()));
                        match ref_by_node.get(&key) {
                            Some(&i) if refs[i].pattern <= pattern => {}
                            Some(&i) => refs[i] = raw,
                            None => {
                                ref_by_node.insert(key, refs.len());
                                refs.push(raw);
                            }
                        }
                    }
                    _ => {}
                }
            }
        });
        // Definitions without a usable name (recovered from broken code) are dropped
        // rather than invented.
        defs.retain(|d| {
            let n = d.name.unwrap_or(d.node);
            n.end_byte() > n.start_byte() && !n.is_missing()
        });
        comments.sort_unstable_by_key(|c| c.start);
        comments.dedup();
        access.sort_unstable();
        access.dedup();
        private_scopes.sort_unstable();
        private_scopes.dedup();
        Captures {
            defs,
            scopes,
            refs,
            comments,
            access,
            private_scopes,
        }
    }

    /// Builds the final nodes (with ids) and references.
    fn assemble(
        &self,
        defs: Vec<Def>,
        raw_refs: Vec<RawRef<'t>>,
        file_prefix: &str,
        comments: &[CommentSpan],
    ) -> ParsedFile {
        let sep = self.language.path_separator();
        let root = self.tree.root_node();
        let file_id = NodeId::for_file(self.path);
        let file_name = self
            .path
            .rsplit('/')
            .next()
            .unwrap_or(self.path)
            .to_string();

        // References: expand imports into bindings, which are nodes too.
        let ranges: Vec<(usize, usize)> = raw_refs
            .iter()
            .map(|r| (r.node.start_byte(), r.node.end_byte()))
            .collect();
        let containers = innermost_containers(&defs, &ranges);
        let mut imports: Vec<PendingImport> = Vec::new();
        let mut refs: Vec<PendingRef> = Vec::new();
        for (raw, container) in raw_refs.iter().zip(containers) {
            let node_span = match (raw.kind, raw.closure) {
                (ReferenceKind::Value, Some(closure)) => span(closure),
                _ => span(raw.node),
            };
            match raw.kind {
                ReferenceKind::Import => {
                    let mut bindings = Vec::new();
                    match raw.name {
                        Some(name) => bindings.push(ImportBinding {
                            qualifier: raw
                                .qualifier
                                .map(|q| self.rules.clean_import_path(&self.text(q))),
                            name: self.rules.clean_import_path(&self.text(name)),
                            alias: raw.alias.map(|a| collapse_whitespace(&self.text(a))),
                        }),
                        None => self.rules.expand_import(raw.node, self.src, &mut bindings),
                    }
                    for binding in bindings {
                        if binding.name.is_empty() {
                            continue;
                        }
                        imports.push(PendingImport {
                            binding,
                            span: node_span,
                            container,
                        });
                    }
                }
                kind => {
                    let Some(name_node) = raw.name else { continue };
                    // A closure's callee longer than the resolver reads is not copied
                    // (a long builder chain would copy itself once per closure).
                    if raw.closure.is_some() && name_node.byte_range().len() > 400 {
                        continue;
                    }
                    let text = self.text(name_node);
                    // What a declared type's wrapper or collection holds (Rust
                    // `Option<T>`, `Vec<T>`), bound beside the name as `name?`.
                    let mut content = None;
                    let mut content_only = false;
                    let (mut qualifier, name) = match kind {
                        ReferenceKind::Type => {
                            // Only annotations that name one type (nullable wrappers looked
                            // through) can type a receiver.
                            let (plain, held) = self.rules.see_through(&text);
                            content = held.and_then(|h| self.declared(&h));
                            match plain.and_then(|p| self.declared(&p)) {
                                Some(named) => named,
                                None => match content.take() {
                                    Some(named) => {
                                        content_only = true;
                                        named
                                    }
                                    None => continue,
                                },
                            }
                        }
                        ReferenceKind::Value if raw.closure.is_some() => {
                            // `f(a, |x| ..)`: `x` is what `f` passes to the closure it
                            // takes as its second argument, written `f(#1.0)` for the
                            // resolver (see `Rules::closure_position`).
                            let Some((i, j)) = raw
                                .subject
                                .and_then(|s| self.rules.closure_position(s, self.src))
                            else {
                                continue;
                            };
                            let callee = collapse_whitespace(&text);
                            if callee.contains('{') || callee.len() > 200 {
                                continue;
                            }
                            (None, format!("{callee}(#{i}.{j})"))
                        }
                        ReferenceKind::Value
                            if raw.unwrap
                                && raw.subject.is_some_and(|s| !self.rules.binds_in_pattern(s)) =>
                        {
                            continue;
                        }
                        ReferenceKind::Value if raw.unwrap => {
                            // A receiver chain (`self.queue.pop()`, `x.get(i)`), read by the
                            // resolver segment by segment; `?` marks what it holds.
                            let chain = collapse_whitespace(&elide_arguments(&text));
                            if chain.contains('{') || chain.len() > 200 {
                                continue;
                            }
                            (None, format!("{chain}?"))
                        }
                        ReferenceKind::Assign | ReferenceKind::Value => {
                            // `x = a.b()` / `x = a.b` only: a callee that is itself a call or an index
                            // (`a().b()`, `m[k]()`) says nothing resolvable.
                            let callee = collapse_whitespace(&text);
                            if callee.contains(['(', '[', '{']) || callee.len() > 200 {
                                continue;
                            }
                            match split_last(&callee, self.rules.reference_separators()) {
                                Some((q, n)) => (Some(q.to_string()), n.to_string()),
                                None => (None, callee),
                            }
                        }
                        ReferenceKind::Inherit | ReferenceKind::Implement => {
                            let full = normalize_type_name(&text, sep);
                            match split_last(&full, self.rules.reference_separators()) {
                                Some((q, n)) => (Some(q.to_string()), n.to_string()),
                                None => (None, full),
                            }
                        }
                        _ => {
                            // `new ArrayList<>()`, `Box<int>()`, `ns::A::f()`: strip type
                            // arguments and split a written-out scope.
                            let mut name = collapse_whitespace(&text);
                            if name.contains('<') && !name.contains("operator") {
                                name = normalize_type_name(&name, sep);
                            }
                            match self.rules.split_qualified_name(&name) {
                                // `::close(fd)` names the global namespace, never a
                                // member of the enclosing class: the qualifier stays.
                                Some((q, n)) if raw.qualifier.is_none() && q.is_empty() => {
                                    (name.starts_with(sep).then(|| sep.to_string()), n)
                                }
                                Some((q, n)) if raw.qualifier.is_none() => (Some(q), n),
                                _ => (None, name),
                            }
                        }
                    };
                    if let Some(q) = raw.qualifier {
                        let cast = match kind {
                            ReferenceKind::Call => self.rules.receiver_cast(q, self.src),
                            _ => None,
                        };
                        let mut q = match cast {
                            // A type cast names the receiver's type, which stands as the
                            // qualifier (as a class named before `.f()` does).
                            Some(c) => match self.declared(&c) {
                                Some((Some(q), n)) => format!("{q}{sep}{n}"),
                                Some((None, n)) => n,
                                None => collapse_whitespace(&elide_arguments(&self.text(q))),
                            },
                            None => collapse_whitespace(&elide_arguments(&self.text(q))),
                        };
                        // `Harness::<T, S>::from_raw`: a path's type arguments say
                        // nothing about what it names. (Not `<T as Trait>::f`, nor a
                        // receiver expression such as `a.collect::<Vec<_>>()`.)
                        if q.contains('<') && !q.starts_with('<') && !q.contains(['(', '.']) {
                            q = normalize_type_name(&q, sep);
                        }
                        qualifier = Some(truncate_chars(&q, 200));
                    }
                    if name.is_empty() {
                        continue;
                    }
                    let mut subject_text = raw.subject.map(|s| match kind {
                        ReferenceKind::Type | ReferenceKind::Assign | ReferenceKind::Value => {
                            truncate_chars(&collapse_whitespace(&self.text(s)), 200)
                        }
                        _ => normalize_type_name(&self.text(s), sep),
                    });
                    // Elements known by position: a tuple field's type is bound under
                    // its position, a name a tuple pattern binds is that position of
                    // the pattern's type.
                    let mut name = name;
                    if kind == ReferenceKind::Type && raw.closure.is_some() {
                        // What a function's closure parameter receives, bound in the
                        // function under the closure's position (`#1.0`).
                        match self.rules.closure_position(name_node, self.src) {
                            Some((i, j)) => subject_text = Some(format!("#{i}.{j}")),
                            None => continue,
                        }
                    } else if kind == ReferenceKind::Type && subject_text.is_none() {
                        subject_text = self.rules.tuple_position(name_node).map(|k| k.to_string());
                    } else if kind == ReferenceKind::Value
                        && raw.subject.is_some_and(|s| s.id() == name_node.id())
                    {
                        match self.rules.tuple_position(name_node) {
                            Some(k) => name = k.to_string(),
                            None => continue,
                        }
                    }
                    // A closure's parameter holds inside the closure alone.
                    if raw.narrow || (kind == ReferenceKind::Value && raw.closure.is_some()) {
                        match subject_text {
                            Some(s)
                                if !s.is_empty()
                                    && s.chars().all(|c| c.is_alphanumeric() || c == '_') =>
                            {
                                subject_text = Some(format!("{s}!"))
                            }
                            _ => continue,
                        }
                    }
                    let held = |subject: &Option<String>| {
                        Some(format!("{}?", subject.as_deref().unwrap_or_default()))
                    };
                    if let Some((q, n)) = content {
                        refs.push(PendingRef {
                            kind,
                            container,
                            subject: held(&subject_text),
                            qualifier: q,
                            name: n,
                            span: node_span,
                            arguments: None,
                        });
                    }
                    if content_only {
                        subject_text = held(&subject_text);
                    }
                    let arguments = match kind {
                        ReferenceKind::Call => argument_count(raw.node),
                        _ => None,
                    };
                    refs.push(PendingRef {
                        kind,
                        container,
                        subject: subject_text,
                        qualifier,
                        name,
                        span: node_span,
                        arguments,
                    });
                }
            }
        }

        // Types and imports that comments declare (JSDoc in JavaScript).
        for (i, d) in defs.iter().enumerate() {
            let Some(doc) = &d.doc else { continue };
            for (subject, written) in self.rules.doc_types(doc) {
                let Some((qualifier, name)) = self.declared(&written) else {
                    continue;
                };
                refs.push(PendingRef {
                    kind: ReferenceKind::Type,
                    container: Some(i),
                    subject,
                    qualifier,
                    name,
                    span: d.name_span,
                    arguments: None,
                });
            }
        }
        let typed: Vec<&CommentSpan> = comments
            .iter()
            .filter(|c| memchr::memmem::find(&self.src[c.start..c.end], b"@type").is_some())
            .collect();
        let typed_containers = innermost_containers(
            &defs,
            &typed.iter().map(|c| (c.start, c.end)).collect::<Vec<_>>(),
        );
        for (c, container) in typed.into_iter().zip(typed_containers) {
            let text = lossy(&self.src[c.start..c.end]);
            let node = root
                .descendant_for_byte_range(c.start, c.end)
                .unwrap_or(root);
            if text.contains("@typedef") {
                for binding in self.rules.comment_imports(&text) {
                    imports.push(PendingImport {
                        binding,
                        span: span(node),
                        container: None,
                    });
                }
                continue;
            }
            let Some(next) = node.next_named_sibling() else {
                continue;
            };
            let Some((subject, written)) = self.rules.comment_declared(&text, next, self.src)
            else {
                continue;
            };
            let Some((qualifier, name)) = self.declared(&written) else {
                continue;
            };
            refs.push(PendingRef {
                kind: ReferenceKind::Type,
                container,
                subject: Some(subject),
                qualifier,
                name,
                span: span(node),
                arguments: None,
            });
        }

        // Nodes: file, then definitions and import bindings in source order.
        let mut nodes: Vec<Node> = Vec::with_capacity(1 + defs.len() + imports.len());
        let file_span = span(root);
        let file_doc = if self.options.docs {
            self.rules.file_doc(root, self.src, comments)
        } else {
            None
        };
        nodes.push(Node {
            id: file_id,
            kind: NodeKind::File,
            language: self.language,
            name: file_name,
            qualified_name: if file_prefix.is_empty() {
                self.path.to_string()
            } else {
                file_prefix.to_string()
            },
            path: self.path.to_string(),
            span: file_span,
            name_span: Span {
                start_byte: 0,
                end_byte: 0,
                start_line: 1,
                start_column: 1,
                end_line: 1,
                end_column: 1,
            },
            signature: None,
            doc: file_doc,
            visibility: Visibility::Public,
            parent: None,
        });

        // Ids: (path, qualified name, kind) plus, only for overloads, the signature and
        // then the ordinal.
        let mut keys: Vec<(String, NodeKind, String)> = defs
            .iter()
            .map(|d| (d.qualified_name.clone(), d.kind, String::new()))
            .collect();
        let import_keys: Vec<(String, NodeKind, String)> = imports
            .iter()
            .map(|p| {
                (
                    import_qualified_name(&p.binding, sep),
                    NodeKind::Import,
                    String::new(),
                )
            })
            .collect();
        keys.extend(import_keys);
        disambiguate(&mut keys, |i| {
            if i < defs.len() {
                defs[i].signature.clone().unwrap_or_default()
            } else {
                String::new()
            }
        });
        let ids: Vec<NodeId> = keys
            .iter()
            .map(|(q, k, d)| NodeId::new(self.path, q, *k, d))
            .collect();

        // Merge definitions and imports by position so nodes stay in source order.
        let mut import_order: Vec<usize> = (0..imports.len()).collect();
        import_order.sort_by_key(|&i| imports[i].span.start_byte);
        let mut di = 0;
        let mut ii = 0;
        while di < defs.len() || ii < import_order.len() {
            let take_def = match (defs.get(di), import_order.get(ii)) {
                (Some(d), Some(&i)) => d.start <= imports[i].span.start_byte as usize,
                (Some(_), None) => true,
                _ => false,
            };
            if take_def {
                let d = &defs[di];
                nodes.push(Node {
                    id: ids[di],
                    kind: d.kind,
                    language: self.language,
                    name: d.name.clone(),
                    qualified_name: d.qualified_name.clone(),
                    path: self.path.to_string(),
                    span: d.span,
                    name_span: d.name_span,
                    signature: d.signature.clone(),
                    doc: d.doc.clone(),
                    visibility: d.visibility,
                    parent: Some(d.parent.map_or(file_id, |p| ids[p])),
                });
                di += 1;
            } else {
                let i = import_order[ii];
                let p = &imports[i];
                let (qname, _, _) = &keys[defs.len() + i];
                nodes.push(Node {
                    id: ids[defs.len() + i],
                    kind: NodeKind::Import,
                    language: self.language,
                    name: p
                        .binding
                        .alias
                        .clone()
                        .or_else(|| self.rules.bound_name(&p.binding))
                        .unwrap_or_else(|| p.binding.name.clone()),
                    qualified_name: qname.clone(),
                    path: self.path.to_string(),
                    span: p.span,
                    name_span: p.span,
                    signature: None,
                    doc: None,
                    visibility: Visibility::Private,
                    parent: Some(p.container.map_or(file_id, |c| ids[c])),
                });
                ii += 1;
            }
        }

        let mut references: Vec<Reference> = Vec::with_capacity(refs.len() + imports.len());
        for (i, p) in imports.into_iter().enumerate() {
            references.push(Reference {
                kind: ReferenceKind::Import,
                source: ids[defs.len() + i],
                subject: None,
                qualifier: p.binding.qualifier,
                name: p.binding.name,
                alias: p.binding.alias,
                span: p.span,
                arguments: None,
            });
        }
        for r in refs {
            references.push(Reference {
                kind: r.kind,
                source: r.container.map_or(file_id, |c| ids[c]),
                subject: r.subject,
                qualifier: r.qualifier,
                name: r.name,
                alias: None,
                span: r.span,
                arguments: r.arguments,
            });
        }
        references.sort_by_key(|r| (r.span.start_byte, r.span.end_byte, r.kind));

        ParsedFile {
            path: self.path.to_string(),
            language: self.language,
            content_hash: xxhash_rust::xxh3::xxh3_64(self.src),
            size: self.src.len() as u64,
            stamp: None,
            lines: count_lines(self.src),
            has_errors: false,
            nodes,
            references,
        }
    }
}

struct PendingImport {
    binding: ImportBinding,
    span: Span,
    container: Option<usize>,
}

struct PendingRef {
    kind: ReferenceKind,
    container: Option<usize>,
    subject: Option<String>,
    qualifier: Option<String>,
    name: String,
    span: Span,
    arguments: Option<u16>,
}

/// How many arguments a call passes: the named children of its `arguments`, comments
/// aside; `None` when it has no argument list or spreads one (`f(...xs)`, `f(*a)`,
/// `f(args...)`), whose length the syntax does not tell.
fn argument_count(call: tree_sitter::Node<'_>) -> Option<u16> {
    let args = call.child_by_field_name("arguments")?;
    let mut cursor = args.walk();
    let mut n = 0u16;
    for a in args.named_children(&mut cursor) {
        match a.kind() {
            "comment" | "line_comment" | "block_comment" => {}
            "spread_element"
            | "list_splat"
            | "dictionary_splat"
            | "parameter_pack_expansion"
            | "variadic_argument" => return None,
            _ => n = n.saturating_add(1),
        }
    }
    Some(n)
}

/// The innermost definition lexically containing each range, by one sweep over
/// definitions sorted by start (outer before inner on ties). Syntax trees nest
/// properly, so a definition that starts at or before a range and ends after its start
/// contains it.
fn innermost_containers(defs: &[Def], ranges: &[(usize, usize)]) -> Vec<Option<usize>> {
    let mut order: Vec<usize> = (0..ranges.len()).collect();
    order.sort_by_key(|&i| ranges[i]);
    let mut result = vec![None; ranges.len()];
    let mut stack: Vec<usize> = Vec::new();
    let mut next = 0;
    for i in order {
        let (start, end) = ranges[i];
        while next < defs.len() && defs[next].start <= start {
            while stack
                .last()
                .is_some_and(|&top| defs[top].end <= defs[next].start)
            {
                stack.pop();
            }
            stack.push(next);
            next += 1;
        }
        while stack
            .last()
            .is_some_and(|&top| defs[top].end <= start || defs[top].end < end)
        {
            stack.pop();
        }
        result[i] = stack.last().copied();
    }
    result
}

/// What a definition sits inside.
#[derive(Clone, Copy, Debug)]
enum Owner<'t> {
    File,
    Def(NodeKind, usize),
    /// A scope such as a Rust `impl` block, with its node.
    Scope(tree_sitter::Node<'t>),
}

fn nearest_def(stack: &[(usize, usize, Container)]) -> Option<usize> {
    stack.iter().rev().find_map(|&(_, _, c)| match c {
        Container::Def(i) => Some(i),
        Container::Scope(_) => None,
    })
}

fn join(prefix: &str, name: &str, sep: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else if name.is_empty() {
        prefix.to_string()
    } else {
        let mut s = String::with_capacity(prefix.len() + sep.len() + name.len());
        s.push_str(prefix);
        s.push_str(sep);
        s.push_str(name);
        s
    }
}

fn split_last<'s>(text: &'s str, separators: &[&str]) -> Option<(&'s str, &'s str)> {
    separators
        .iter()
        .filter_map(|sep| text.rfind(sep).map(|i| (i, sep.len())))
        .max_by_key(|&(i, _)| i)
        .map(|(i, len)| (&text[..i], &text[i + len..]))
        .filter(|(q, n)| !q.is_empty() && !n.is_empty())
}

fn import_qualified_name(binding: &ImportBinding, sep: &str) -> String {
    match &binding.qualifier {
        Some(q) if !q.is_empty() => {
            // Relative Python paths (`..`) and JS module specifiers already end in a
            // separator or are paths; join them as written.
            if q.ends_with('.') || q.ends_with('/') {
                format!("{q}{}", binding.name)
            } else {
                join(q, &binding.name, sep)
            }
        }
        _ => binding.name.clone(),
    }
}

/// Makes `(qualified name, kind, disambiguator)` keys unique: overloads get their
/// signature, and exact repeats their ordinal.
fn disambiguate(keys: &mut [(String, NodeKind, String)], signature: impl Fn(usize) -> String) {
    let mut groups: HashMap<(String, NodeKind), Vec<usize>> = HashMap::new();
    for (i, (q, k, _)) in keys.iter().enumerate() {
        groups.entry((q.clone(), *k)).or_default().push(i);
    }
    for members in groups.values() {
        if members.len() < 2 {
            continue;
        }
        let mut seen: HashMap<String, usize> = HashMap::new();
        for &i in members {
            let sig = signature(i);
            let n = seen.entry(sig.clone()).or_insert(0);
            keys[i].2 = if *n == 0 { sig } else { format!("{sig}#{n}") };
            *n += 1;
        }
    }
}

/// A tree-sitter node's extent as a [`Span`].
pub fn span(node: tree_sitter::Node<'_>) -> Span {
    let start = node.start_position();
    let end = node.end_position();
    Span {
        start_byte: node.start_byte() as u32,
        end_byte: node.end_byte() as u32,
        start_line: start.row as u32 + 1,
        start_column: start.column as u32 + 1,
        end_line: end.row as u32 + 1,
        end_column: end.column as u32 + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_counts() {
        assert_eq!(count_lines(b""), 0);
        assert_eq!(count_lines(b"a"), 1);
        assert_eq!(count_lines(b"a\n"), 1);
        assert_eq!(count_lines(b"a\nb"), 2);
    }

    #[test]
    fn overloads_get_distinct_keys() {
        let mut keys = vec![
            ("A.f".to_string(), NodeKind::Method, String::new()),
            ("A.f".to_string(), NodeKind::Method, String::new()),
            ("A.f".to_string(), NodeKind::Method, String::new()),
            ("A.g".to_string(), NodeKind::Method, String::new()),
        ];
        let sigs = ["f(int)", "f(String)", "f(int)", "g()"];
        disambiguate(&mut keys, |i| sigs[i].to_string());
        assert_eq!(keys[0].2, "f(int)");
        assert_eq!(keys[1].2, "f(String)");
        assert_eq!(keys[2].2, "f(int)#1");
        assert_eq!(keys[3].2, "", "unique names keep an empty disambiguator");
    }

    #[test]
    fn split_last_separator() {
        assert_eq!(split_last("a.b.C", &["."]), Some(("a.b", "C")));
        assert_eq!(split_last("a::B", &["::", "."]), Some(("a", "B")));
        assert_eq!(split_last("C", &["."]), None);
    }
}
