//! Embeddings of a project's definitions, kept beside the graph: the embedding cache,
//! which vector belongs to which definition, and the vector indexes searched.
//!
//! One directory per project under a root (`<db>/vectors/` in the CLI):
//!
//! | file | contents |
//! |---|---|
//! | `meta` | text: format, model id, dimension, vector count |
//! | `cache.bin` | append-only: `CGEMB001`, dim u32, model-id length u32 and bytes, then records of text hash (xxh3-128, 16 bytes LE) and `dim` f32 LE |
//! | `files.bin` | `CGVFIL01`, file count u64, per file: path length u32 and bytes, content hash u64, definition count u32, per definition: node id u64 and text hash u128; then an xxh3-64 of all of it |
//! | `flat.bin` | [`FlatIndex`]: every definition's vector, for exact search |
//! | `hnsw.bin` | [`HnswIndex`], once the project has [`HNSW_MIN_VECTORS`] vectors |
//!
//! Invariants:
//! - A vector is computed once per (model, text): the cache is keyed by a hash of the
//!   exact text embedded, so unchanged definitions (even in a changed file) and
//!   repeated bodies are never embedded twice. A crash while embedding loses at most
//!   the record being written (a torn tail is cut off on open).
//! - `files.bin`, `flat.bin` and `hnsw.bin` are replaced atomically at commit and
//!   describe the same definitions; a run that dies before its commit leaves the last
//!   committed state, and [`SemanticStore::held`] then reports the old file hashes, so
//!   the indexer parses those files again and the cache makes that cheap.
//! - A different model (or token limit: it is part of the model id) starts over: its
//!   vectors are not comparable with the old ones.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use codegraph_core::{Embedder, Error, NodeId, Result, ScoredNode, TextDocument, VectorIndex};
use xxhash_rust::xxh3::{xxh3_64, xxh3_128};

use crate::flat::{self, FlatIndex, MappedFlat, write_atomically};
use crate::hnsw::{HnswIndex, HnswParams};
use crate::sq8::Sq8Index;
use crate::{embedding_text, project_dir};

const CACHE_MAGIC: &[u8; 8] = b"CGEMB001";
const FILES_MAGIC: &[u8; 8] = b"CGVFIL01";
const CACHE: &str = "cache.bin";
const FILES: &str = "files.bin";
const META: &str = "meta";
const META_FORMAT: &str = "codegraph-vectors/1";

/// From this many vectors on, a project also keeps an HNSW index: below it an exact
/// scan takes a millisecond or two (20k x 384 floats), which no approximate index
/// needs to beat.
pub const HNSW_MIN_VECTORS: usize = 20_000;

/// Texts embedded per call while committing: large enough to keep every core busy
/// (the local encoder spreads a call's inputs over them) and an HTTP provider's
/// batches full, small enough that progress moves and a crash loses little.
const EMBED_CHUNK: usize = 256;

/// Which index answers a semantic query.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SearchStrategy {
    /// Every vector scored: exact, and the slowest on large projects.
    Exact,
    /// HNSW with a wide beam (recall@10 about 0.997 on the `vector_recall` bench)
    /// where the project has one; exact otherwise.
    #[default]
    Balanced,
    /// HNSW with a narrow beam (recall@10 about 0.97, half again as fast).
    Fast,
    /// 8-bit codes in memory, the best candidates re-ranked with the full vectors
    /// read from disk ([`Sq8Index`]): a quarter of the memory of `Exact`.
    Compact,
}

impl SearchStrategy {
    fn ef_search(self) -> usize {
        match self {
            SearchStrategy::Exact | SearchStrategy::Compact => 0,
            SearchStrategy::Balanced => 128,
            SearchStrategy::Fast => 64,
        }
    }
}

/// What a commit did.
#[derive(Clone, Debug, Default)]
pub struct EmbedReport {
    /// Definitions held after the commit.
    pub vectors: usize,
    /// Texts sent to the model.
    pub embedded: usize,
    /// Definitions staged this run whose vector came from the cache.
    pub cached: usize,
    /// Wall time spent getting the vectors (reading the cache, calling the model),
    /// before any file is written.
    pub embed_time: Duration,
    /// Whether an HNSW index is kept.
    pub hnsw: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct FileVectors {
    content_hash: u64,
    defs: Vec<(NodeId, u128)>,
}

/// The text-hash to vector cache, in memory and appended to `cache.bin`.
struct Cache {
    path: PathBuf,
    dim: usize,
    rows: HashMap<u128, usize>,
    vectors: Vec<f32>,
    writer: Option<BufWriter<File>>,
}

impl Cache {
    fn header(dim: usize, model_id: &str) -> Vec<u8> {
        let mut h = CACHE_MAGIC.to_vec();
        h.extend_from_slice(&(dim as u32).to_le_bytes());
        h.extend_from_slice(&(model_id.len() as u32).to_le_bytes());
        h.extend_from_slice(model_id.as_bytes());
        h
    }

    /// Whether `cache.bin` in `dir` was made by `model_id` at `dim`: its header alone,
    /// so a run that embeds nothing never reads the vectors.
    fn matches(dir: &Path, model_id: &str, dim: usize) -> Result<bool> {
        let path = dir.join(CACHE);
        let header = Cache::header(dim, model_id);
        let mut start = vec![0u8; header.len()];
        match File::open(&path) {
            Ok(mut f) => match f.read_exact(&mut start) {
                Ok(()) => Ok(start == header),
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
                Err(e) => Err(Error::io(&path, e)),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io(&path, e)),
        }
    }

    /// Opens the cache for `model_id`, starting it over if it was made by another model
    /// or is not a cache at all. Returns whether the old one was kept.
    fn open(dir: &Path, model_id: &str, dim: usize) -> Result<(Cache, bool)> {
        let path = dir.join(CACHE);
        let header = Cache::header(dim, model_id);
        let mut cache = Cache {
            path: path.clone(),
            dim,
            rows: HashMap::new(),
            vectors: Vec::new(),
            writer: None,
        };
        let mut bytes = Vec::new();
        match File::open(&path) {
            Ok(mut f) => {
                f.read_to_end(&mut bytes).map_err(|e| Error::io(&path, e))?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(&path, e)),
        }
        let kept = bytes.starts_with(&header);
        let record = 16 + dim * 4;
        let whole = if kept {
            let body = &bytes[header.len()..];
            let whole = body.len() / record * record;
            for rec in body[..whole].chunks_exact(record) {
                let hash = u128::from_le_bytes(rec[..16].try_into().expect("16 bytes"));
                let row = cache.vectors.len() / dim;
                cache.vectors.extend(
                    rec[16..]
                        .chunks_exact(4)
                        .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes"))),
                );
                cache.rows.insert(hash, row);
            }
            header.len() + whole
        } else {
            0
        };
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        // Cuts a torn last record (or the whole of a foreign file).
        file.set_len(whole as u64)
            .and_then(|()| file.seek(SeekFrom::End(0)).map(drop))
            .map_err(|e| Error::io(&path, e))?;
        let mut writer = BufWriter::new(file);
        if !kept {
            writer
                .write_all(&header)
                .and_then(|()| writer.flush())
                .map_err(|e| Error::io(&path, e))?;
        }
        cache.writer = Some(writer);
        Ok((cache, kept))
    }

    fn get(&self, hash: u128) -> Option<&[f32]> {
        let row = *self.rows.get(&hash)?;
        Some(&self.vectors[row * self.dim..(row + 1) * self.dim])
    }

    fn append(&mut self, hashes: &[u128], vectors: &[Vec<f32>]) -> Result<()> {
        let writer = self.writer.as_mut().expect("the cache is open for writing");
        let mut write = || -> std::io::Result<()> {
            for (hash, v) in hashes.iter().zip(vectors) {
                writer.write_all(&hash.to_le_bytes())?;
                for x in v {
                    writer.write_all(&x.to_le_bytes())?;
                }
            }
            writer.flush()
        };
        write().map_err(|e| Error::io(&self.path, e))?;
        for (hash, v) in hashes.iter().zip(vectors) {
            self.rows.insert(*hash, self.vectors.len() / self.dim);
            self.vectors.extend_from_slice(v);
        }
        Ok(())
    }

    /// Rewrites the cache with only `live` hashes, once dead rows outnumber live ones
    /// (edits accumulate old versions of definitions).
    fn compact(&mut self, live: &HashSet<u128>, model_id: &str) -> Result<()> {
        if self.rows.len() <= 2 * live.len() + 1024 {
            return Ok(());
        }
        let dir = self.path.parent().expect("cache file has a directory");
        let mut kept: Vec<(u128, usize)> = self
            .rows
            .iter()
            .filter(|(h, _)| live.contains(h))
            .map(|(h, r)| (*h, *r))
            .collect();
        kept.sort_unstable_by_key(|(_, r)| *r);
        self.writer = None;
        write_atomically(dir, CACHE, |w| {
            w.write_all(&Cache::header(self.dim, model_id))?;
            for (hash, row) in &kept {
                w.write_all(&hash.to_le_bytes())?;
                for x in &self.vectors[row * self.dim..(row + 1) * self.dim] {
                    w.write_all(&x.to_le_bytes())?;
                }
            }
            Ok(())
        })?;
        let (fresh, _) = Cache::open(dir, model_id, self.dim)?;
        *self = fresh;
        Ok(())
    }
}

/// The text each definition of a file is embedded from, with its hash: computed by
/// the parsing thread, so staging (under the store's lock) only looks hashes up.
pub struct EmbeddingInputs(Vec<(NodeId, u128, String)>);

impl EmbeddingInputs {
    /// The [`embedding_text`] of each of `docs`, and its hash.
    pub fn of(docs: &[TextDocument]) -> EmbeddingInputs {
        EmbeddingInputs(
            docs.iter()
                .map(|doc| {
                    let text = embedding_text(doc);
                    (doc.id, xxh3_128(text.as_bytes()), text)
                })
                .collect(),
        )
    }
}

/// A project's embeddings, as the indexer keeps them up to date.
///
/// Staging ([`SemanticStore::stage_file`], [`SemanticStore::remove_file`]) changes
/// only memory; [`SemanticStore::commit`] embeds what the cache lacks and replaces the
/// files on disk.
pub struct SemanticStore {
    dir: PathBuf,
    model_id: String,
    dim: usize,
    files: BTreeMap<String, FileVectors>,
    /// Each definition's text hash as of the last commit: what the saved HNSW holds.
    committed: HashMap<NodeId, u128>,
    /// Read on first need ([`SemanticStore::cache`]): a commit with nothing staged and
    /// nothing changed never reads it.
    cache: Option<Cache>,
    /// Texts staged this run, by hash, with how many definitions have each; at commit
    /// those the cache holds count as cached, the rest are embedded.
    queue: HashMap<u128, (String, usize)>,
    changed: bool,
    hnsw_min: usize,
}

impl SemanticStore {
    /// Opens (or creates) the embeddings of `project` under `root` for vectors made by
    /// `embedder`.
    pub fn open(root: &Path, project: &str, embedder: &dyn Embedder) -> Result<SemanticStore> {
        let dir = root.join(project_dir(project));
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let model_id = embedder.model_id().to_string();
        let meta = read_meta(&dir).ok().filter(|m| m.model_id == model_id);
        // The vector length as last committed by this model: asking a remote
        // embedder would cost a request, and a run with nothing to embed needs none.
        let dim = match &meta {
            Some(m) => m.dim,
            None => embedder.dimension(),
        };
        if dim == 0 || dim > flat::MAX_DIMENSION {
            return Err(Error::InvalidInput(format!(
                "embedder {model_id} reports vectors of length {dim} (is it reachable?)"
            )));
        }
        let kept = Cache::matches(&dir, &model_id, dim)?;
        let same_model = meta.is_some_and(|m| m.dim == dim);
        // Files embedded by another model are not held: every file is parsed again
        // and embedded afresh.
        let files = if kept && same_model {
            read_files(&dir.join(FILES)).unwrap_or_default()
        } else {
            BTreeMap::new()
        };
        Ok(SemanticStore {
            dir,
            model_id,
            dim,
            committed: def_hashes(&files),
            files,
            cache: None,
            queue: HashMap::new(),
            changed: !(kept && same_model),
            hnsw_min: HNSW_MIN_VECTORS,
        })
    }

    /// Keeps an HNSW index from `n` vectors on (default [`HNSW_MIN_VECTORS`]).
    pub fn hnsw_from(mut self, n: usize) -> SemanticStore {
        self.hnsw_min = n.max(1);
        self
    }

    /// The content hash of every file whose definitions are embedded.
    pub fn held(&self) -> HashMap<String, u64> {
        self.files
            .iter()
            .map(|(p, f)| (p.clone(), f.content_hash))
            .collect()
    }

    /// Stages the definitions of one parsed file (as [`EmbeddingInputs::of`] cut them),
    /// replacing what the file had.
    pub fn stage_file(&mut self, path: &str, content_hash: u64, inputs: EmbeddingInputs) {
        let mut defs = Vec::with_capacity(inputs.0.len());
        for (id, hash, text) in inputs.0 {
            self.queue.entry(hash).or_insert((text, 0)).1 += 1;
            defs.push((id, hash));
        }
        let entry = FileVectors { content_hash, defs };
        if self.files.get(path) != Some(&entry) {
            self.files.insert(path.to_string(), entry);
            self.changed = true;
        }
    }

    /// Stages the removal of a file's definitions.
    pub fn remove_file(&mut self, path: &str) {
        self.changed |= self.files.remove(path).is_some();
    }

    /// Texts waiting to be embedded.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// Embeds what the cache lacks, calling `progress(done, total)` as it goes, then
    /// writes the project's vectors and indexes. When `progress` answers
    /// `ControlFlow::Break`, it stops with [`Error::Stopped`]: the vectors computed so
    /// far are in the cache, the project's files are as the last commit left them.
    pub fn commit(
        &mut self,
        embedder: &dyn Embedder,
        progress: &mut dyn FnMut(usize, usize) -> std::ops::ControlFlow<()>,
    ) -> Result<EmbedReport> {
        // The dimension is checked on the vectors returned, not asked for.
        if embedder.model_id() != self.model_id {
            return Err(Error::InvalidInput(format!(
                "embedder {} is not the one these vectors were opened for ({})",
                embedder.model_id(),
                self.model_id
            )));
        }
        let started = Instant::now();
        let mut report = EmbedReport::default();
        // Nothing staged differs from the last commit: the files on disk stand, and the
        // cache need not be read.
        if self.queue.is_empty() && !self.changed && self.dir.join(flat::FILE).exists() {
            report.vectors = self.committed.len();
            report.hnsw = self.dir.join(crate::hnsw::FILE).exists();
            return Ok(report);
        }
        let staged = std::mem::take(&mut self.queue);
        let cache = self.cache()?;
        let mut queue: Vec<(u128, String)> = Vec::with_capacity(staged.len());
        for (hash, (text, defs)) in staged {
            if cache.get(hash).is_some() {
                report.cached += defs;
            } else {
                queue.push((hash, text));
            }
        }
        // Similar lengths together: a provider that pads a batch to its longest input
        // (TEI, OpenAI-compatible servers) wastes little, and the local encoder's
        // inputs of one call take about as long each, so its cores finish together.
        queue.sort_unstable_by(|a, b| a.1.len().cmp(&b.1.len()).then(a.0.cmp(&b.0)));
        let total = queue.len();
        if progress(0, total).is_break() {
            return Err(Error::Stopped);
        }
        for chunk in queue.chunks(EMBED_CHUNK) {
            let texts: Vec<&str> = chunk.iter().map(|(_, t)| t.as_str()).collect();
            let vectors = embedder.embed_documents(&texts)?;
            if vectors.len() != texts.len() || vectors.iter().any(|v| v.len() != self.dim) {
                return Err(Error::Backend {
                    backend: "embedder",
                    message: format!(
                        "{} returned vectors of the wrong number or length",
                        embedder.model_id()
                    ),
                    source: None,
                });
            }
            let hashes: Vec<u128> = chunk.iter().map(|(h, _)| *h).collect();
            self.cache()?.append(&hashes, &vectors)?;
            report.embedded += chunk.len();
            if progress(report.embedded, total).is_break() {
                return Err(Error::Stopped);
            }
        }
        report.embed_time = started.elapsed();

        // Nothing staged differs from the last commit: the files on disk stand.
        if !self.changed && self.dir.join(flat::FILE).exists() {
            report.vectors = self.committed.len();
            report.hnsw = self.dir.join(crate::hnsw::FILE).exists();
            return Ok(report);
        }
        let (ids, vectors) = self.live_vectors()?;
        report.vectors = ids.len();
        {
            let now = def_hashes(&self.files);
            let hnsw_path = self.dir.join(crate::hnsw::FILE);
            if ids.len() >= self.hnsw_min {
                self.update_hnsw(&now, &ids, &vectors)?;
            } else if hnsw_path.exists() {
                std::fs::remove_file(&hnsw_path).map_err(|e| Error::io(&hnsw_path, e))?;
            }
            self.committed = now;
            let count = ids.len();
            FlatIndex::from_rows(self.dim, ids, vectors)?.save(&self.dir)?;
            write_files(&self.dir, &self.files)?;
            write_meta(
                &self.dir,
                &Meta {
                    model_id: self.model_id.clone(),
                    dim: self.dim,
                    count,
                },
            )?;
            let live: HashSet<u128> = self
                .files
                .values()
                .flat_map(|f| f.defs.iter().map(|(_, h)| *h))
                .collect();
            let model_id = self.model_id.clone();
            self.cache()?.compact(&live, &model_id)?;
            self.changed = false;
        }
        report.hnsw = self.dir.join(crate::hnsw::FILE).exists();
        Ok(report)
    }

    /// Brings the saved HNSW index to `now`: in place when it holds the last commit and
    /// less than half changed (its deletes are tombstones, so a rebuild now and then
    /// keeps it tight), rebuilt otherwise.
    fn update_hnsw(
        &self,
        now: &HashMap<NodeId, u128>,
        ids: &[NodeId],
        vectors: &[f32],
    ) -> Result<()> {
        let gone: Vec<NodeId> = self
            .committed
            .iter()
            .filter(|(id, h)| now.get(id) != Some(h))
            .map(|(id, _)| *id)
            .collect();
        let fresh: Vec<usize> = ids
            .iter()
            .enumerate()
            .filter(|(_, id)| self.committed.get(id) != now.get(id))
            .map(|(i, _)| i)
            .collect();
        let saved = HnswIndex::load(&self.dir)
            .ok()
            .filter(|h| h.len() == self.committed.len() && h.dimension() == self.dim);
        let hnsw = match saved {
            Some(mut h) if 2 * (gone.len() + fresh.len()) < ids.len() => {
                h.remove(&gone);
                let fresh_ids: Vec<NodeId> = fresh.iter().map(|&i| ids[i]).collect();
                let fresh_vectors: Vec<f32> = fresh
                    .iter()
                    .flat_map(|&i| vectors[i * self.dim..(i + 1) * self.dim].iter().copied())
                    .collect();
                h.upsert(&fresh_ids, &fresh_vectors)?;
                h
            }
            _ => {
                let mut h = HnswIndex::new(self.dim, HnswParams::default())?;
                h.upsert(ids, vectors)?;
                h
            }
        };
        VectorIndex::save(&hnsw, &self.dir)
    }

    /// The cache, read now if it was not yet.
    fn cache(&mut self) -> Result<&mut Cache> {
        if self.cache.is_none() {
            self.cache = Some(Cache::open(&self.dir, &self.model_id, self.dim)?.0);
        }
        Ok(self.cache.as_mut().expect("opened above"))
    }

    /// Every staged definition with its vector, in path order; a node id that two
    /// files claim (never expected) keeps its first.
    fn live_vectors(&self) -> Result<(Vec<NodeId>, Vec<f32>)> {
        let mut seen = HashSet::new();
        let mut ids = Vec::new();
        let mut vectors = Vec::new();
        for (path, file) in &self.files {
            for (id, hash) in &file.defs {
                let Some(v) = self.cache.as_ref().and_then(|c| c.get(*hash)) else {
                    return Err(Error::Corrupt(format!(
                        "{}: no vector for a definition in {path}",
                        self.dir.display()
                    )));
                };
                if seen.insert(*id) {
                    ids.push(*id);
                    vectors.extend_from_slice(v);
                }
            }
        }
        Ok((ids, vectors))
    }
}

/// A project's vectors opened for searching. Each index is loaded the first time a
/// strategy needs it, so a process that only runs approximate or compact searches
/// never holds the full vectors in memory.
pub struct SemanticIndex {
    dir: PathBuf,
    meta: Meta,
    flat: Option<MappedFlat>,
    hnsw: Option<HnswIndex>,
    sq8: Option<Sq8Index>,
}

/// Removes everything kept for `project` under `root` (its vectors, its cache of
/// embedded texts). Absent is not an error.
pub fn remove_project(root: &Path, project: &str) -> Result<()> {
    let dir = root.join(project_dir(project));
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(&dir, e)),
    }
}

impl SemanticIndex {
    /// Opens the vectors of `project` under `root`; `Ok(None)` when there are none.
    pub fn open(root: &Path, project: &str) -> Result<Option<SemanticIndex>> {
        let dir = root.join(project_dir(project));
        if !dir.join(META).exists() {
            return Ok(None);
        }
        let meta = read_meta(&dir)?;
        Ok(Some(SemanticIndex {
            dir,
            meta,
            flat: None,
            hnsw: None,
            sq8: None,
        }))
    }

    /// The model that made the vectors; queries must be embedded by the same one.
    pub fn model_id(&self) -> &str {
        &self.meta.model_id
    }

    /// The number of vectors, as recorded when they were committed.
    pub fn len(&self) -> usize {
        self.meta.count
    }

    /// Whether no vector was committed.
    pub fn is_empty(&self) -> bool {
        self.meta.count == 0
    }

    /// Checks an index file against the metadata written with it.
    fn check_fits(&self, len: usize, dim: usize, what: &str) -> Result<()> {
        if len == self.meta.count && dim == self.meta.dim {
            return Ok(());
        }
        Err(Error::Corrupt(format!(
            "{}: the {what} does not match the metadata (index again)",
            self.dir.display()
        )))
    }

    /// The `k` definitions nearest to `query`.
    pub fn search(
        &mut self,
        query: &[f32],
        k: usize,
        strategy: SearchStrategy,
    ) -> Result<Vec<ScoredNode>> {
        let has_hnsw = self.dir.join(crate::hnsw::FILE).exists();
        match strategy {
            SearchStrategy::Balanced | SearchStrategy::Fast if has_hnsw => {
                if self.hnsw.is_none() {
                    let h = HnswIndex::load(&self.dir)?;
                    self.check_fits(h.len(), h.dimension(), "HNSW index")?;
                    self.hnsw = Some(h);
                }
                let hnsw = self.hnsw.as_mut().expect("loaded above");
                hnsw.set_ef_search(strategy.ef_search().max(k));
                hnsw.search(query, k)
            }
            SearchStrategy::Compact => {
                if self.sq8.is_none() {
                    let q = Sq8Index::build(&self.dir)?;
                    self.check_fits(q.len(), q.dimension(), "vector file")?;
                    self.sq8 = Some(q);
                }
                self.sq8.as_ref().expect("built above").search(query, k)
            }
            _ => {
                if self.flat.is_none() {
                    let f = MappedFlat::open(&self.dir)?;
                    self.check_fits(f.len(), f.dimension(), "vector file")?;
                    self.flat = Some(f);
                }
                self.flat.as_ref().expect("loaded above").search(query, k)
            }
        }
    }

    /// Embeds `query` with `embedder` (which must be the model that made the vectors)
    /// and searches.
    pub fn search_text(
        &mut self,
        embedder: &dyn Embedder,
        query: &str,
        k: usize,
        strategy: SearchStrategy,
    ) -> Result<Vec<ScoredNode>> {
        if embedder.model_id() != self.meta.model_id {
            return Err(Error::InvalidInput(format!(
                "the vectors were made by {}, and the configured model is {}; index again \
                 with this model to search with it",
                self.meta.model_id,
                embedder.model_id()
            )));
        }
        let q = embedder.embed_query(query)?;
        self.search(&q, k, strategy)
    }
}

fn def_hashes(files: &BTreeMap<String, FileVectors>) -> HashMap<NodeId, u128> {
    files
        .values()
        .flat_map(|f| f.defs.iter().copied())
        .collect()
}

struct Meta {
    model_id: String,
    dim: usize,
    count: usize,
}

fn write_meta(dir: &Path, meta: &Meta) -> Result<()> {
    write_atomically(dir, META, |w| {
        writeln!(w, "format {META_FORMAT}")?;
        writeln!(w, "model {}", meta.model_id)?;
        writeln!(w, "dimension {}", meta.dim)?;
        writeln!(w, "vectors {}", meta.count)
    })
}

fn read_meta(dir: &Path) -> Result<Meta> {
    let path = dir.join(META);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let corrupt = || {
        Error::Corrupt(format!(
            "{}: not a vector-store metadata file",
            path.display()
        ))
    };
    let mut fields: HashMap<&str, &str> = HashMap::new();
    for line in text.lines() {
        let (k, v) = line.split_once(' ').ok_or_else(corrupt)?;
        fields.insert(k, v);
    }
    if fields.get("format") != Some(&META_FORMAT) {
        return Err(Error::Unsupported(format!(
            "{}: vectors in another format; index again to rebuild them",
            path.display()
        )));
    }
    Ok(Meta {
        model_id: fields.get("model").ok_or_else(corrupt)?.to_string(),
        dim: fields
            .get("dimension")
            .and_then(|d| d.parse().ok())
            .ok_or_else(corrupt)?,
        count: fields
            .get("vectors")
            .and_then(|d| d.parse().ok())
            .ok_or_else(corrupt)?,
    })
}

fn write_files(dir: &Path, files: &BTreeMap<String, FileVectors>) -> Result<()> {
    let mut buf = FILES_MAGIC.to_vec();
    buf.extend_from_slice(&(files.len() as u64).to_le_bytes());
    for (path, f) in files {
        buf.extend_from_slice(&(path.len() as u32).to_le_bytes());
        buf.extend_from_slice(path.as_bytes());
        buf.extend_from_slice(&f.content_hash.to_le_bytes());
        buf.extend_from_slice(&(f.defs.len() as u32).to_le_bytes());
        for (id, hash) in &f.defs {
            buf.extend_from_slice(&id.0.to_le_bytes());
            buf.extend_from_slice(&hash.to_le_bytes());
        }
    }
    let sum = xxh3_64(&buf);
    write_atomically(dir, FILES, |w| {
        w.write_all(&buf)?;
        w.write_all(&sum.to_le_bytes())
    })
}

/// Reads `files.bin`; any damage is an error (the caller then starts over).
fn read_files(path: &Path) -> Result<BTreeMap<String, FileVectors>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let corrupt = || Error::Corrupt(format!("{}: damaged", path.display()));
    if bytes.len() < 24 || &bytes[..8] != FILES_MAGIC {
        return Err(corrupt());
    }
    let (body, sum) = bytes.split_at(bytes.len() - 8);
    if xxh3_64(body) != u64::from_le_bytes(sum.try_into().expect("8 bytes")) {
        return Err(corrupt());
    }
    let mut r = Reader { bytes: body, at: 8 };
    let count = r.u64().ok_or_else(corrupt)?;
    let mut files = BTreeMap::new();
    for _ in 0..count {
        let len = r.u32().ok_or_else(corrupt)? as usize;
        let path = std::str::from_utf8(r.take(len).ok_or_else(corrupt)?)
            .map_err(|_| corrupt())?
            .to_string();
        let content_hash = r.u64().ok_or_else(corrupt)?;
        let n = r.u32().ok_or_else(corrupt)? as usize;
        let mut defs = Vec::with_capacity(n.min(1 << 16));
        for _ in 0..n {
            let id = NodeId(r.u64().ok_or_else(corrupt)?);
            let hash = r.u128().ok_or_else(corrupt)?;
            defs.push((id, hash));
        }
        files.insert(path, FileVectors { content_hash, defs });
    }
    if r.at != body.len() {
        return Err(corrupt());
    }
    Ok(files)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let out = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(out)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn u128(&mut self) -> Option<u128> {
        Some(u128::from_le_bytes(self.take(16)?.try_into().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use codegraph_core::{Language, NodeKind};

    /// A test double: normalised counts of character trigrams folded into 64
    /// dimensions. Similar text gets similar vectors, which is all these tests need.
    struct Trigrams {
        id: String,
        calls: std::sync::atomic::AtomicUsize,
    }

    impl Trigrams {
        fn new(id: &str) -> Trigrams {
            Trigrams {
                id: id.to_string(),
                calls: Default::default(),
            }
        }
        fn embedded(&self) -> usize {
            self.calls.load(std::sync::atomic::Ordering::Relaxed)
        }
    }

    impl Embedder for Trigrams {
        fn model_id(&self) -> &str {
            &self.id
        }
        fn dimension(&self) -> usize {
            64
        }
        fn embed_documents(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
            self.calls
                .fetch_add(texts.len(), std::sync::atomic::Ordering::Relaxed);
            Ok(texts.iter().map(|t| self.embed_query(t).unwrap()).collect())
        }
        fn embed_query(&self, text: &str) -> Result<Vec<f32>> {
            let mut v = vec![0f32; 64];
            let b = text.as_bytes();
            for w in b.windows(3) {
                v[(xxh3_64(w) % 64) as usize] += 1.0;
            }
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
            Ok(v.into_iter().map(|x| x / norm).collect())
        }
    }

    fn doc(path: &str, name: &str, body: &str) -> TextDocument {
        TextDocument {
            id: NodeId::new(path, name, NodeKind::Function, ""),
            path: path.to_string(),
            language: Language::Python,
            kind: NodeKind::Function,
            name: name.to_string(),
            qualified_name: name.to_string(),
            signature: None,
            doc: None,
            body: Some(body.to_string()),
        }
    }

    fn commit(store: &mut SemanticStore, model: &Trigrams) -> EmbedReport {
        store
            .commit(model, &mut |_, _| std::ops::ControlFlow::Continue(()))
            .unwrap()
    }

    #[test]
    fn vectors_are_searchable_and_unchanged_text_is_never_embedded_again() {
        let root = tempfile::tempdir().unwrap();
        let model = Trigrams::new("tri");
        let a = [
            doc("a.py", "parse_config", "def parse_config(path): read toml"),
            doc("a.py", "dup", "same body"),
        ];
        let b = [
            doc("b.py", "send_request", "def send_request(url): http get"),
            doc("b.py", "dup2", "same body"),
        ];
        let mut store = SemanticStore::open(root.path(), "p", &model).unwrap();
        store.stage_file("a.py", 1, EmbeddingInputs::of(&a));
        store.stage_file("b.py", 2, EmbeddingInputs::of(&b));
        let report = commit(&mut store, &model);
        assert_eq!(report.vectors, 4);
        // "dup" and "dup2" differ in name, so their texts differ too.
        assert_eq!(model.embedded(), 4);

        let mut index = SemanticIndex::open(root.path(), "p").unwrap().unwrap();
        assert_eq!(index.len(), 4);
        let hits = index
            .search_text(&model, "send_request(url) http", 1, SearchStrategy::Exact)
            .unwrap();
        assert_eq!(hits[0].id, b[0].id);

        // A new session: the same files are held, and staging them again embeds nothing.
        let mut store = SemanticStore::open(root.path(), "p", &model).unwrap();
        let held = store.held();
        assert_eq!(held.get("a.py"), Some(&1));
        assert_eq!(held.get("b.py"), Some(&2));
        store.stage_file("a.py", 1, EmbeddingInputs::of(&a));
        let report = commit(&mut store, &model);
        assert_eq!((report.embedded, report.cached), (0, 2));
        assert_eq!(model.embedded(), 4);

        // One definition edited: only it is embedded.
        let a2 = [a[0].clone(), doc("a.py", "dup", "a new body")];
        store.stage_file("a.py", 3, EmbeddingInputs::of(&a2));
        store.remove_file("b.py");
        let report = commit(&mut store, &model);
        assert_eq!((report.embedded, report.vectors), (1, 2));
        let mut index = SemanticIndex::open(root.path(), "p").unwrap().unwrap();
        let hits = index
            .search(&model.embed_query("x").unwrap(), 10, SearchStrategy::Exact)
            .unwrap();
        let ids: HashSet<NodeId> = hits.iter().map(|h| h.id).collect();
        assert_eq!(ids, HashSet::from([a[0].id, a2[1].id]));
    }

    /// A project whose one file, `a.py`, holds two embedded definitions.
    fn two_definitions_committed() -> (tempfile::TempDir, Trigrams, [TextDocument; 2]) {
        let root = tempfile::tempdir().unwrap();
        let model = Trigrams::new("tri");
        let docs = [doc("a.py", "f", "one"), doc("a.py", "g", "two")];
        let mut store = SemanticStore::open(root.path(), "p", &model).unwrap();
        store.stage_file("a.py", 1, EmbeddingInputs::of(&docs));
        commit(&mut store, &model);
        (root, model, docs)
    }

    #[test]
    fn a_commit_with_nothing_staged_never_reads_the_cache() {
        let (root, model, docs) = two_definitions_committed();
        // Half a record at the end: reading the cache would cut it off.
        let cache = root.path().join("p-p").join(CACHE);
        let mut bytes = std::fs::read(&cache).unwrap();
        bytes.extend_from_slice(&[7; 10]);
        std::fs::write(&cache, &bytes).unwrap();
        let mut store = SemanticStore::open(root.path(), "p", &model).unwrap();
        let report = commit(&mut store, &model);
        assert_eq!((report.vectors, report.embedded, report.cached), (2, 0, 0));
        assert_eq!(
            std::fs::read(&cache).unwrap(),
            bytes,
            "the cache was not opened"
        );
        // Staging reads it (and cuts the torn record) at commit.
        store.stage_file("a.py", 1, EmbeddingInputs::of(&docs));
        let report = commit(&mut store, &model);
        assert_eq!((report.embedded, report.cached), (0, 2));
        assert_eq!(std::fs::read(&cache).unwrap().len(), bytes.len() - 10);
    }

    #[test]
    fn another_model_starts_over_and_its_queries_are_refused_on_old_vectors() {
        let root = tempfile::tempdir().unwrap();
        let old = Trigrams::new("old");
        let mut store = SemanticStore::open(root.path(), "p", &old).unwrap();
        store.stage_file("a.py", 1, EmbeddingInputs::of(&[doc("a.py", "f", "body")]));
        commit(&mut store, &old);
        let new = Trigrams::new("new");
        let mut index = SemanticIndex::open(root.path(), "p").unwrap().unwrap();
        let err = index
            .search_text(&new, "f", 1, SearchStrategy::Exact)
            .unwrap_err();
        assert!(err.to_string().contains("index again"), "{err}");
        let store = SemanticStore::open(root.path(), "p", &new).unwrap();
        assert!(store.held().is_empty());
    }

    #[test]
    fn a_torn_cache_and_a_damaged_file_list_lose_only_work_not_correctness() {
        let (root, model, docs) = two_definitions_committed();
        let dir = root.path().join("p-p");
        // A crash mid-append: half a record at the end of the cache.
        let cache = dir.join(CACHE);
        let len = std::fs::metadata(&cache).unwrap().len();
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&cache)
            .unwrap();
        f.set_len(len - 10).unwrap();
        let mut store = SemanticStore::open(root.path(), "p", &model).unwrap();
        store.stage_file("a.py", 1, EmbeddingInputs::of(&docs));
        let report = commit(&mut store, &model);
        assert_eq!((report.embedded, report.cached), (1, 1));
        drop(store);

        std::fs::write(dir.join(FILES), b"CGVFIL01 garbage garbage garbage").unwrap();
        let store = SemanticStore::open(root.path(), "p", &model).unwrap();
        assert!(store.held().is_empty(), "a damaged list holds nothing");
        std::fs::write(dir.join(flat::FILE), b"nonsense").unwrap();
        let mut index = SemanticIndex::open(root.path(), "p").unwrap().unwrap();
        let q = model.embed_query("one").unwrap();
        for strategy in [SearchStrategy::Exact, SearchStrategy::Compact] {
            assert!(index.search(&q, 1, strategy).is_err());
        }
    }

    #[test]
    fn the_hnsw_index_follows_edits_and_agrees_with_exact_search() {
        let root = tempfile::tempdir().unwrap();
        let model = Trigrams::new("tri");
        let file = |i: usize, salt: &str| -> Vec<TextDocument> {
            (0..20)
                .map(|j| {
                    doc(
                        &format!("f{i}.py"),
                        &format!("fn_{i}_{j}"),
                        &format!("def fn_{i}_{j}(): {salt} {}", i * 31 + j * 7),
                    )
                })
                .collect()
        };
        let mut store = SemanticStore::open(root.path(), "p", &model)
            .unwrap()
            .hnsw_from(100);
        for i in 0..10 {
            store.stage_file(
                &format!("f{i}.py"),
                i as u64,
                EmbeddingInputs::of(&file(i, "a")),
            );
        }
        assert!(commit(&mut store, &model).hnsw);
        // A small edit is applied to the saved graph; the result matches a search of
        // exactly the live vectors.
        store.stage_file("f3.py", 99, EmbeddingInputs::of(&file(3, "edited")));
        store.remove_file("f4.py");
        let report = commit(&mut store, &model);
        assert!(report.hnsw);
        assert_eq!(report.vectors, 180);
        let mut index = SemanticIndex::open(root.path(), "p").unwrap().unwrap();
        for q in ["fn_3_4 edited", "fn_4_1", "fn_7_2 a 224"] {
            let q = model.embed_query(q).unwrap();
            let exact = index.search(&q, 5, SearchStrategy::Exact).unwrap();
            let approx = index.search(&q, 5, SearchStrategy::Balanced).unwrap();
            let compact = index.search(&q, 5, SearchStrategy::Compact).unwrap();
            assert_eq!(exact[0].id, approx[0].id);
            assert_eq!(exact[0].id, compact[0].id);
            let live: HashSet<NodeId> = def_hashes(&store.files).into_keys().collect();
            assert!(approx.iter().all(|h| live.contains(&h.id)));
        }
    }
}
