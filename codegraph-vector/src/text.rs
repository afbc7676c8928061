//! BM25 full text over definitions, on tantivy: one index per project.
//!
//! Layout: `<root>/<project key>/` holds a tantivy index whose documents are the
//! project's definitions (one per node) plus one *file marker* per source file carrying
//! the content hash the file's documents were built from. Deleting a file's term
//! removes its definitions and its marker together, and markers are committed with the
//! documents, so after a crash the markers say exactly which files the index holds;
//! [`TantivyText::file_hashes`] is what an indexing run compares against the graph.
//!
//! | field | type | why |
//! |---|---|---|
//! | `id` | u64, indexed, stored | updates and deletes by node id; the hit's identity |
//! | `path` | raw string, indexed, stored | deletes by file; the path-glob filter |
//! | `language`, `kind` | raw string, indexed | filters |
//! | `name`, `qualified_name`, `signature`, `doc`, `body` | `code` tokenizer, frequencies, no positions | BM25 |
//! | `hash` | u64, stored | on file markers only |
//!
//! Queries are bags of words: the query text goes through the same analyzer and each
//! term is looked up in every text field with that field's boost ([`FIELD_BOOSTS`]).
//! There is no query syntax to get wrong, so any string a user types is a valid query.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use codegraph_core::{Error, NodeId, Result, ScoredNode, TextDocument, TextIndex, TextQuery};
use tantivy::collector::{DocSetCollector, TopDocs};
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery, TermSetQuery};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions, Value,
};
use tantivy::tokenizer::{TextAnalyzer, Token, TokenStream, Tokenizer};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::commit_sync::CommitSync;
use crate::project_dir;
use crate::tokenize::{CodeToken, code_tokens};

/// The name the code analyzer is registered under in every index.
const CODE_TOKENIZER: &str = "code";
/// `kind` of the per-file marker documents; never a node kind.
const FILE_MARKER: &str = "#file";
/// `kind` of the document a long-lived writer adds (and deletes) right after each
/// commit, so that the next segment is set up then; see [`TantivyText::long_lived`].
const PRIMER: &str = "#primer";
/// Memory for the buffers of a writer that builds an index from empty.
const WRITER_HEAP_BYTES: usize = 64 << 20;
/// Memory for a writer that updates an index: tantivy's smallest for one thread (its
/// `MEMORY_BUDGET_NUM_BYTES_MIN`, which it does not export).
const UPDATE_WRITER_HEAP_BYTES: usize = 15_000_000;

/// How much each text field counts. A name match says most about what a definition
/// is; bodies are long and mention everything they use, so they count least.
pub const FIELD_BOOSTS: [(&str, f32); 5] = [
    ("name", 3.0),
    ("qualified_name", 2.0),
    ("signature", 1.5),
    ("doc", 1.0),
    ("body", 0.7),
];

/// [`code_tokens`], English-stemmed, as a tantivy tokenizer: stemming lets "parses" in
/// a query meet "parse" in a name.
#[derive(Clone, Default)]
pub struct CodeTokenizer {
    token: Token,
}

thread_local! {
    /// Stems by token, one cache per thread: code repeats its identifiers' parts
    /// endlessly, and the Snowball stemmer was a quarter of the CPU time of building
    /// the text index. Per thread rather than per tokenizer because tantivy clones an
    /// analyzer for every field of every segment writer.
    static STEMS: RefCell<StemCache> = RefCell::new(StemCache::new());
}

/// Token -> stem, cleared when it reaches [`StemCache::MAX_ENTRIES`] so that a corpus
/// of random identifiers cannot grow it without bound (about 8 MB when full).
struct StemCache {
    stemmer: frostem::Stemmer,
    stems: HashMap<String, String, foldhash::fast::RandomState>,
}

impl StemCache {
    const MAX_ENTRIES: usize = 1 << 16;

    fn new() -> StemCache {
        StemCache {
            stemmer: frostem::Stemmer::new(frostem::Algorithm::English),
            stems: HashMap::default(),
        }
    }

    /// Replaces `text` (lower case) by its stem.
    fn stem(&mut self, text: &mut String) {
        if let Some(stem) = self.stems.get(text.as_str()) {
            text.clone_from(stem);
            return;
        }
        let stem = self.stemmer.stem(text).into_owned();
        if self.stems.len() >= Self::MAX_ENTRIES {
            self.stems.clear();
        }
        self.stems
            .insert(std::mem::replace(text, stem.clone()), stem);
    }
}

/// The tokens of one text from [`CodeTokenizer`], stemmed as they are taken.
pub struct CodeTokenStream<'a> {
    tokens: std::vec::IntoIter<CodeToken>,
    token: &'a mut Token,
}

impl Tokenizer for CodeTokenizer {
    type TokenStream<'a> = CodeTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> CodeTokenStream<'a> {
        self.token.reset();
        CodeTokenStream {
            tokens: code_tokens(text).into_iter(),
            token: &mut self.token,
        }
    }
}

impl TokenStream for CodeTokenStream<'_> {
    fn advance(&mut self) -> bool {
        match self.tokens.next() {
            Some(mut t) => {
                STEMS.with_borrow_mut(|stems| stems.stem(&mut t.text));
                self.token.text = t.text;
                self.token.offset_from = t.start;
                self.token.offset_to = t.end;
                self.token.position = t.position;
                self.token.position_length = 1;
                true
            }
            None => false,
        }
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

/// The analyzer every text field uses: [`CodeTokenizer`].
pub fn code_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(CodeTokenizer::default()).build()
}

/// The terms `text` becomes, as stored in the index.
pub fn analyze(text: &str) -> Vec<String> {
    let mut analyzer = code_analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    path: Field,
    language: Field,
    kind: Field,
    hash: Field,
    text: [Field; 5],
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let id = b.add_u64_field("id", INDEXED | STORED | FAST);
    let path = b.add_text_field("path", STRING | STORED);
    let language = b.add_text_field("language", STRING);
    let kind = b.add_text_field("kind", STRING);
    let hash = b.add_u64_field("hash", STORED);
    let text_options = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(CODE_TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let text = FIELD_BOOSTS.map(|(name, _)| b.add_text_field(name, text_options.clone()));
    let fields = Fields {
        id,
        path,
        language,
        kind,
        hash,
        text,
    };
    (b.build(), fields)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Backend {
        backend: "tantivy",
        message: format!("{what}: {e}"),
        source: None,
    }
}

struct ProjectText {
    index: Index,
    reader: IndexReader,
    writer: Mutex<Option<Writer>>,
    fields: Fields,
    hashes: Mutex<HashCache>,
}

struct Writer {
    inner: IndexWriter,
    /// Something was added or deleted since the last commit.
    changed: bool,
}

/// [`TantivyText::file_hashes`] kept between runs of a long-lived process (reading
/// them back means fetching every file's marker document, about 10 ms for Django). Only
/// while this process holds the writer: then nobody else can change the index, and
/// every change goes through [`TantivyText::replace_file`] and
/// [`TantivyText::remove_file`], noted in `pending` until a commit makes them count.
#[derive(Default)]
struct HashCache {
    committed: Option<HashMap<String, u64>>,
    pending: Vec<(String, Option<u64>)>,
}

impl ProjectText {
    fn open(dir: &Path) -> Result<ProjectText> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let (schema, fields) = schema();
        let directory = CommitSync::open(dir).map_err(|e| err("open", e))?;
        let index = Index::open_or_create(directory, schema.clone())
            .map_err(|e| err(&format!("{}", dir.display()), e))?;
        if index.schema() != schema {
            return Err(Error::Unsupported(format!(
                "{} holds a full-text index with another layout; remove it and index again",
                dir.display()
            )));
        }
        index.tokenizers().register(CODE_TOKENIZER, code_analyzer());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(|e| err("reader", e))?;
        Ok(ProjectText {
            index,
            reader,
            writer: Mutex::new(None),
            fields,
            hashes: Mutex::new(HashCache::default()),
        })
    }

    /// Runs `f` with the project's writer, opening it on first use: a writer holds the
    /// index's lock, so read-only users never take one.
    ///
    /// An empty index is being built and gets a thread per core (at most four: tantivy
    /// wants 15 MB each of the 64 MB). The choice holds while the writer does: one run,
    /// or the process when long-lived. One that already holds
    /// documents is being updated, usually a few files: one indexing thread with
    /// tantivy's smallest budget, because each thread sets up buffers sized by its budget
    /// and writes (and syncs) a segment of its own at commit, which cost a one-file
    /// update more than the indexing itself.
    fn with_writer<T>(&self, f: impl FnOnce(&mut IndexWriter, &Fields) -> Result<T>) -> Result<T> {
        let mut guard = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            let writer = if self.reader.searcher().num_docs() == 0 {
                self.index.writer(WRITER_HEAP_BYTES)
            } else {
                self.index
                    .writer_with_num_threads(1, UPDATE_WRITER_HEAP_BYTES)
            }
            .map_err(|e| err("writer", e))?;
            *guard = Some(Writer {
                inner: writer,
                changed: false,
            });
        }
        let writer = guard.as_mut().expect("just opened");
        // Set first: an error part-way may still have queued some of the changes.
        writer.changed = true;
        f(&mut writer.inner, &self.fields)
    }

    fn document(&self, d: &TextDocument) -> TantivyDocument {
        let f = &self.fields;
        let mut doc = TantivyDocument::default();
        doc.add_u64(f.id, d.id.0);
        doc.add_text(f.path, &d.path);
        doc.add_text(f.language, d.language.as_str());
        doc.add_text(f.kind, d.kind.as_str());
        let texts = [
            Some(d.name.as_str()),
            Some(d.qualified_name.as_str()),
            d.signature.as_deref(),
            d.doc.as_deref(),
            d.body.as_deref(),
        ];
        for (field, text) in f.text.iter().zip(texts) {
            if let Some(text) = text {
                doc.add_text(*field, text);
            }
        }
        doc
    }
}

/// Projects whose indexes are kept open beyond their use. An open index holds its
/// reader, its segments' mappings and tantivy's per-index structures, about a
/// megabyte for a small project: a server with thousands of projects must not keep
/// them all.
const OPEN_PROJECTS: usize = 64;

/// Full-text indexes for the projects of one store, under one directory.
pub struct TantivyText {
    root: PathBuf,
    projects: Mutex<OpenProjects>,
    long_lived: bool,
}

/// The open projects, each with the tick of its last use.
#[derive(Default)]
struct OpenProjects {
    open: HashMap<String, (Arc<ProjectText>, u64)>,
    tick: u64,
}

impl OpenProjects {
    /// Closes the least recently used projects beyond [`OPEN_PROJECTS`] that nobody
    /// uses now and that hold no writer: closing one with a writer would let a second
    /// writer be opened while the first still holds the index's lock.
    fn close_unused(&mut self) {
        while self.open.len() > OPEN_PROJECTS {
            let idle = self
                .open
                .iter()
                .filter(|(_, (p, _))| {
                    Arc::strong_count(p) == 1 && p.writer.try_lock().is_ok_and(|w| w.is_none())
                })
                .min_by_key(|(_, (_, used))| *used)
                .map(|(name, _)| name.clone());
            match idle {
                Some(name) => self.open.remove(&name),
                None => return,
            };
        }
    }
}

impl TantivyText {
    /// Opens (creating when absent) the indexes under `root`.
    pub fn open(root: impl AsRef<Path>) -> Result<TantivyText> {
        let root = root.as_ref().to_path_buf();
        std::fs::create_dir_all(&root).map_err(|e| Error::io(&root, e))?;
        Ok(TantivyText {
            root,
            projects: Mutex::new(OpenProjects::default()),
            long_lived: false,
        })
    }

    /// For a process that updates the index again and again (`codegraph index --watch`):
    /// right after each commit, the writer is handed a document that is deleted again
    /// at once, so that tantivy sets up the next segment (its buffers, about 13 MB
    /// written, and six new files, each recorded with a sync) while the process waits
    /// for the next edit, instead of at the start of the next run's commit. The
    /// document has no text and is never seen by a search; merges drop it.
    pub fn long_lived(mut self) -> TantivyText {
        self.long_lived = true;
        self
    }

    fn project(&self, project: &str) -> Result<Arc<ProjectText>> {
        let mut projects = self.projects.lock().unwrap_or_else(|e| e.into_inner());
        projects.tick += 1;
        let tick = projects.tick;
        if let Some((p, used)) = projects.open.get_mut(project) {
            *used = tick;
            return Ok(Arc::clone(p));
        }
        let dir = self.root.join(project_dir(project));
        let p = Arc::new(ProjectText::open(&dir)?);
        projects.close_unused();
        projects
            .open
            .insert(project.to_string(), (Arc::clone(&p), tick));
        Ok(p)
    }

    /// Replaces everything indexed for one file with `documents`, and records that they
    /// were built from content with this hash. Visible after [`TextIndex::commit`].
    pub fn replace_file(
        &self,
        project: &str,
        path: &str,
        content_hash: u64,
        documents: &[TextDocument],
    ) -> Result<()> {
        let p = self.project(project)?;
        let docs: Vec<TantivyDocument> = documents.iter().map(|d| p.document(d)).collect();
        p.with_writer(|w, f| {
            w.delete_term(Term::from_field_text(f.path, path));
            for doc in docs {
                w.add_document(doc).map_err(|e| err("add", e))?;
            }
            let mut marker = TantivyDocument::default();
            marker.add_text(f.path, path);
            marker.add_text(f.kind, FILE_MARKER);
            marker.add_u64(f.hash, content_hash);
            w.add_document(marker).map_err(|e| err("add", e))?;
            // Noted under the writer's lock, so no commit falls in between.
            lock(&p.hashes)
                .pending
                .push((path.to_string(), Some(content_hash)));
            Ok(())
        })
    }

    /// Removes everything indexed for one file.
    pub fn remove_file(&self, project: &str, path: &str) -> Result<()> {
        let p = self.project(project)?;
        p.with_writer(|w, f| {
            w.delete_term(Term::from_field_text(f.path, path));
            lock(&p.hashes).pending.push((path.to_string(), None));
            Ok(())
        })
    }

    /// The content hash each indexed file's documents were built from (as committed).
    pub fn file_hashes(&self, project: &str) -> Result<HashMap<String, u64>> {
        let p = self.project(project)?;
        // The writer's lock is taken first and held throughout, as in `commit`.
        let writer = lock(&p.writer);
        let mut cache = lock(&p.hashes);
        let holds_writer = writer.is_some();
        if holds_writer && let Some(hashes) = &cache.committed {
            return Ok(hashes.clone());
        }
        let hashes = Self::read_file_hashes(&p)?;
        if holds_writer && cache.pending.is_empty() {
            cache.committed = Some(hashes.clone());
        }
        Ok(hashes)
    }

    fn read_file_hashes(p: &ProjectText) -> Result<HashMap<String, u64>> {
        let searcher = p.reader.searcher();
        let f = p.fields;
        let markers = TermQuery::new(
            Term::from_field_text(f.kind, FILE_MARKER),
            IndexRecordOption::Basic,
        );
        let addresses = searcher
            .search(&markers, &DocSetCollector)
            .map_err(|e| err("search", e))?;
        let mut out = HashMap::with_capacity(addresses.len());
        for address in addresses {
            let doc: TantivyDocument = searcher.doc(address).map_err(|e| err("doc", e))?;
            let path = doc.get_first(f.path).and_then(|v| v.as_str());
            let hash = doc.get_first(f.hash).and_then(|v| v.as_u64());
            if let (Some(path), Some(hash)) = (path, hash) {
                out.insert(path.to_string(), hash);
            }
        }
        Ok(out)
    }

    /// Paths in the index matching a glob.
    fn paths_matching(p: &ProjectText, glob: &globset::GlobMatcher) -> Result<Vec<Term>> {
        let searcher = p.reader.searcher();
        let mut out = BTreeSet::new();
        for segment in searcher.segment_readers() {
            let inverted = segment
                .inverted_index(p.fields.path)
                .map_err(|e| err("terms", e))?;
            let mut stream = inverted.terms().stream().map_err(|e| err("terms", e))?;
            while stream.advance() {
                if let Ok(path) = std::str::from_utf8(stream.key())
                    && glob.is_match(path)
                {
                    out.insert(path.to_string());
                }
            }
        }
        Ok(out
            .into_iter()
            .map(|path| Term::from_field_text(p.fields.path, &path))
            .collect())
    }
}

impl TextIndex for TantivyText {
    fn replace_file(
        &self,
        project: &str,
        path: &str,
        content_hash: u64,
        documents: &[TextDocument],
    ) -> Result<()> {
        TantivyText::replace_file(self, project, path, content_hash, documents)
    }

    fn remove_file(&self, project: &str, path: &str) -> Result<()> {
        TantivyText::remove_file(self, project, path)
    }

    fn file_hashes(&self, project: &str) -> Result<HashMap<String, u64>> {
        TantivyText::file_hashes(self, project)
    }

    fn upsert(&self, project: &str, documents: &[TextDocument]) -> Result<()> {
        let p = self.project(project)?;
        let docs: Vec<TantivyDocument> = documents.iter().map(|d| p.document(d)).collect();
        p.with_writer(|w, f| {
            for (d, doc) in documents.iter().zip(docs) {
                w.delete_term(Term::from_field_u64(f.id, d.id.0));
                w.add_document(doc).map_err(|e| err("add", e))?;
            }
            Ok(())
        })
    }

    fn remove(&self, project: &str, ids: &[NodeId]) -> Result<()> {
        let p = self.project(project)?;
        p.with_writer(|w, f| {
            for id in ids {
                w.delete_term(Term::from_field_u64(f.id, id.0));
            }
            Ok(())
        })
    }

    fn commit(&self, project: &str) -> Result<()> {
        let p = self.project(project)?;
        // Nothing added or deleted since the last commit (no writer, or one that is
        // kept): a commit would still write and sync the index's metadata, and opening
        // a writer (and its indexing threads) for it costs a no-change run more than
        // the rest of its text work.
        let mut guard = p.writer.lock().unwrap_or_else(|e| e.into_inner());
        let Some(writer) = guard.as_mut().filter(|w| w.changed) else {
            return Ok(());
        };
        let committed = writer.inner.commit();
        writer.changed = false;
        {
            let mut cache = lock(&p.hashes);
            let pending = std::mem::take(&mut cache.pending);
            match (&committed, cache.committed.as_mut()) {
                (Ok(_), Some(hashes)) => {
                    for (path, hash) in pending {
                        match hash {
                            Some(hash) => hashes.insert(path, hash),
                            None => hashes.remove(&path),
                        };
                    }
                }
                _ => cache.committed = None,
            }
        }
        if !self.long_lived {
            // A writer holds threads (indexing, merging) and buffers for as long as it
            // lives: kept by a server for every project it ever indexed, they add up
            // to megabytes and a dozen threads per project. Released here, after the
            // merges this commit started, so none is lost. The file hashes are no
            // longer cached: without the writer, another process may change them.
            // The lock is held until the writer is gone: it holds the index's lock.
            let writer = guard.take().expect("checked above");
            lock(&p.hashes).committed = None;
            committed.map_err(|e| err("commit", e))?;
            writer
                .inner
                .wait_merging_threads()
                .map_err(|e| err("merge", e))?;
            drop(guard);
            return p.reader.reload().map_err(|e| err("reload", e));
        }
        committed.map_err(|e| err("commit", e))?;
        {
            let mut primer = TantivyDocument::default();
            primer.add_text(p.fields.kind, PRIMER);
            writer
                .inner
                .add_document(primer)
                .map_err(|e| err("add", e))?;
            writer
                .inner
                .delete_term(Term::from_field_text(p.fields.kind, PRIMER));
        }
        drop(guard);
        p.reader.reload().map_err(|e| err("reload", e))
    }

    fn search(&self, project: &str, query: &TextQuery) -> Result<Vec<ScoredNode>> {
        if query.limit == 0 {
            return Ok(Vec::new());
        }
        let p = self.project(project)?;
        let f = p.fields;
        let terms: BTreeSet<String> = analyze(&query.text).into_iter().collect();
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (field, (_, boost)) in f.text.iter().zip(FIELD_BOOSTS) {
            for t in &terms {
                let q = TermQuery::new(
                    Term::from_field_text(*field, t),
                    IndexRecordOption::WithFreqs,
                );
                should.push((Occur::Should, Box::new(BoostQuery::new(Box::new(q), boost))));
            }
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> =
            vec![(Occur::Must, Box::new(BooleanQuery::new(should)))];
        if !query.languages.is_empty() {
            let terms = query
                .languages
                .iter()
                .map(|l| Term::from_field_text(f.language, l.as_str()));
            clauses.push((Occur::Must, Box::new(TermSetQuery::new(terms))));
        }
        if !query.kinds.is_empty() {
            let terms = query
                .kinds
                .iter()
                .map(|k| Term::from_field_text(f.kind, k.as_str()));
            clauses.push((Occur::Must, Box::new(TermSetQuery::new(terms))));
        }
        if let Some(glob) = &query.path_glob {
            // Text that is not a valid glob matches itself literally, as the graph
            // store's filter does (`Filters::path_glob`).
            let build = |g: &str| globset::GlobBuilder::new(g).literal_separator(true).build();
            let matcher = build(glob)
                .or_else(|_| build(&globset::escape(glob)))
                .map_err(|e| Error::InvalidInput(format!("path glob {glob:?}: {e}")))?
                .compile_matcher();
            let paths = TantivyText::paths_matching(&p, &matcher)?;
            if paths.is_empty() {
                return Ok(Vec::new());
            }
            clauses.push((Occur::Must, Box::new(TermSetQuery::new(paths))));
        }
        let q = BooleanQuery::new(clauses);
        let searcher = p.reader.searcher();
        let top = searcher
            .search(&q, &TopDocs::with_limit(query.limit).order_by_score())
            .map_err(|e| err("search", e))?;
        let mut out = Vec::with_capacity(top.len());
        for (score, address) in top {
            let doc: TantivyDocument = searcher.doc(address).map_err(|e| err("doc", e))?;
            if let Some(id) = doc.get_first(f.id).and_then(|v| v.as_u64()) {
                out.push(ScoredNode {
                    id: NodeId(id),
                    score,
                });
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::tokenizer::{Language as StemLanguage, Stemmer};

    /// The code tokens, then tantivy's own stemmer filter: what the analyzer was
    /// before it cached stems. Indexes built by either must hold the same terms.
    fn reference(text: &str) -> Vec<String> {
        #[derive(Clone, Default)]
        struct Unstemmed(Token);
        struct Stream<'a>(std::vec::IntoIter<CodeToken>, &'a mut Token);
        impl Tokenizer for Unstemmed {
            type TokenStream<'a> = Stream<'a>;
            fn token_stream<'a>(&'a mut self, text: &'a str) -> Stream<'a> {
                self.0.reset();
                Stream(code_tokens(text).into_iter(), &mut self.0)
            }
        }
        impl TokenStream for Stream<'_> {
            fn advance(&mut self) -> bool {
                match self.0.next() {
                    Some(t) => {
                        self.1.text = t.text;
                        true
                    }
                    None => false,
                }
            }
            fn token(&self) -> &Token {
                self.1
            }
            fn token_mut(&mut self) -> &mut Token {
                self.1
            }
        }
        let mut analyzer = TextAnalyzer::builder(Unstemmed::default())
            .filter(Stemmer::new(StemLanguage::English))
            .build();
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
        out
    }

    #[test]
    fn cached_stems_equal_tantivys_stemmer() {
        let text = "parseHttpResponses running flies cats_and_dogs Über généralement \
                    XMLHttpRequest utf8Decoders caresses ponies ties generously 42things";
        assert_eq!(analyze(text), reference(text));
        // Past the cache's limit, so that it is cleared and filled again on the way.
        let many: String = (0..StemCache::MAX_ENTRIES + 1000)
            .map(|i| format!("word{i}ings parsed{}s ", i % 97))
            .collect();
        assert_eq!(analyze(&many), reference(&many));
        assert_eq!(analyze(text), reference(text));
    }

    /// Beyond the limit, the least recently used projects are closed, never one that
    /// holds a writer; a closed project opens again with what it had.
    #[test]
    fn open_projects_are_bounded_and_reopen_intact() {
        let dir = tempfile::tempdir().unwrap();
        let text = TantivyText::open(dir.path()).unwrap();
        let doc = |name: &str| TextDocument {
            id: NodeId(7),
            path: "a.py".into(),
            language: codegraph_core::Language::Python,
            kind: codegraph_core::NodeKind::Function,
            name: name.into(),
            qualified_name: name.into(),
            signature: None,
            doc: None,
            body: None,
        };
        // A writer left open (not committed) on the first project.
        text.upsert("held", &[doc("held_function")]).unwrap();
        for i in 0..OPEN_PROJECTS + 10 {
            let project = format!("p{i}");
            text.upsert(&project, &[doc("shared_name")]).unwrap();
            text.commit(&project).unwrap();
        }
        let open = text.projects.lock().unwrap();
        assert!(open.open.len() <= OPEN_PROJECTS + 1, "{}", open.open.len());
        assert!(open.open.contains_key("held"), "a writer keeps it open");
        assert!(!open.open.contains_key("p0"), "the oldest is closed");
        drop(open);
        let query = TextQuery {
            text: "shared_name".into(),
            limit: 5,
            ..TextQuery::default()
        };
        assert_eq!(text.search("p0", &query).unwrap().len(), 1, "reopened");
        text.commit("held").unwrap();
    }
}
