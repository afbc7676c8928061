//! A local sentence-embedding model, run in-process on the CPU.
//!
//! Loads a BERT-family sentence-transformer from a directory in Hugging Face layout:
//! `config.json`, `tokenizer.json`, `model.safetensors`, and the sentence-transformers
//! files that say how to turn token vectors into one vector (`1_Pooling/config.json`,
//! `modules.json`, `sentence_bert_config.json`). Pooling and normalisation follow those
//! files, as the model card specifies; nothing is downloaded.
//!
//! The forward pass is our own (`src/bert.rs`): each input runs at its own length
//! (no padding) on one core, the inputs of a call spread over the cores, and the
//! linear layers run on 8-bit integers where the CPU has AVX-512 VNNI
//! ([`Precision`]); the precision is part of the model id, so vectors of different
//! precisions are never mixed in a cache. Truncation is set here, not taken from
//! `tokenizer.json` (exported tokenizers often pad and truncate to a fixed length).
//!
//! [`BertEmbedder::load`] reads only the small files (what the model is, its dimension
//! and identity); the tokenizer and the weights are loaded on first use. A run that
//! has nothing to embed (the common re-index) then costs no model load, which is most
//! of such a run's time. [`BertEmbedder::prepare`] loads them at once, for callers that
//! want a broken model to fail at start.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use codegraph_core::{Embedder, Error, Result};
use rayon::prelude::*;
use tokenizers::{Tokenizer, TruncationParams};

pub use crate::bert::Precision;
use crate::bert::{BertConfig, Encoder};

/// How token vectors become one vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pooling {
    /// The average of every token's vector: the sentence-transformers default.
    Mean,
    /// The first token's (`[CLS]`) vector.
    Cls,
    /// The largest value of each dimension over all tokens.
    Max,
}

/// Settings a caller may override.
#[derive(Clone, Debug, Default)]
pub struct EmbedderOptions {
    /// Longest input in tokens; `None` takes the model's `max_seq_length`.
    pub max_tokens: Option<usize>,
    /// How the linear layers compute; `None` takes [`Precision::best_for_this_cpu`].
    pub precision: Option<Precision>,
}

/// A BERT sentence-transformer loaded from a local directory.
pub struct BertEmbedder {
    dir: PathBuf,
    config: BertConfig,
    precision: Precision,
    max_tokens: usize,
    /// The tokenizer and weights, loaded on first use (or the reason they could not be).
    loaded: OnceLock<std::result::Result<Loaded, String>>,
    pooling: Pooling,
    normalize: bool,
    dim: usize,
    model_id: String,
}

struct Loaded {
    encoder: Encoder,
    tokenizer: Tokenizer,
}

fn err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Backend {
        backend: "bert",
        message: format!("{what}: {e}"),
        source: None,
    }
}

fn read_json(path: &Path) -> Result<serde_json::Value> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| Error::InvalidInput(format!("{}: {e}", path.display())))
}

impl BertEmbedder {
    /// Loads the model in `dir` (see the module docs for the files it needs).
    pub fn load(dir: &Path, options: &EmbedderOptions) -> Result<BertEmbedder> {
        let file = |name: &str| -> Result<PathBuf> {
            let path = dir.join(name);
            if path.is_file() {
                Ok(path)
            } else {
                Err(Error::InvalidInput(format!(
                    "{} is not a sentence-embedding model directory: {name} is missing",
                    dir.display()
                )))
            }
        };
        let config_path = file("config.json")?;
        let config_bytes = std::fs::read(&config_path).map_err(|e| Error::io(&config_path, e))?;
        let raw: serde_json::Value = serde_json::from_slice(&config_bytes)
            .map_err(|e| Error::InvalidInput(format!("{}: {e}", config_path.display())))?;
        let config = BertConfig::from_json(&raw).map_err(|e| {
            Error::InvalidInput(format!(
                "{}: not a BERT config we run: {e}",
                config_path.display()
            ))
        })?;
        let (dim, max_positions) = (config.hidden, config.max_positions);

        // Pooling as the sentence-transformers files say; mean is their default.
        let pooling = match read_json(&dir.join("1_Pooling/config.json")) {
            Ok(p) if p["pooling_mode_cls_token"] == true => Pooling::Cls,
            Ok(p) if p["pooling_mode_max_tokens"] == true => Pooling::Max,
            _ => Pooling::Mean,
        };
        let normalize = read_json(&dir.join("modules.json")).is_ok_and(|m| {
            m.as_array().is_some_and(|mods| {
                mods.iter()
                    .any(|m| m["type"].as_str().is_some_and(|t| t.ends_with("Normalize")))
            })
        });
        let card_max = read_json(&dir.join("sentence_bert_config.json"))
            .ok()
            .and_then(|c| c["max_seq_length"].as_u64())
            .map(|n| n as usize);
        let max_tokens = options
            .max_tokens
            .or(card_max)
            .unwrap_or(max_positions)
            .clamp(8, max_positions);

        // Present now, read on first use.
        file("tokenizer.json")?;
        let weights = file("model.safetensors")?;
        let weights_len = std::fs::metadata(&weights)
            .map_err(|e| Error::io(&weights, e))?
            .len();

        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let precision = options
            .precision
            .unwrap_or_else(Precision::best_for_this_cpu);
        let fingerprint = xxhash_rust::xxh3::xxh3_64(
            &[
                config_bytes.as_slice(),
                &weights_len.to_le_bytes(),
                format!("{pooling:?}{normalize}{max_tokens}").as_bytes(),
            ]
            .concat(),
        );
        Ok(BertEmbedder {
            dir: dir.to_path_buf(),
            config,
            precision,
            max_tokens,
            loaded: OnceLock::new(),
            pooling,
            normalize,
            dim,
            model_id: format!("bert:{name}:{fingerprint:016x}:{}", precision.name()),
        })
    }

    /// Loads the tokenizer and the weights now, if they are not loaded yet.
    pub fn prepare(&self) -> Result<()> {
        self.loaded().map(|_| ())
    }

    fn loaded(&self) -> Result<&Loaded> {
        self.loaded
            .get_or_init(|| self.load_weights().map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| Error::Backend {
                backend: "bert",
                message: format!("cannot load the model in {}: {e}", self.dir.display()),
                source: None,
            })
    }

    fn load_weights(&self) -> Result<Loaded> {
        let tokenizer_path = self.dir.join("tokenizer.json");
        let mut tokenizer = Tokenizer::from_file(&tokenizer_path)
            .map_err(|e| err(&tokenizer_path.display().to_string(), e))?;
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: self.max_tokens,
                ..TruncationParams::default()
            }))
            .map_err(|e| err("truncation", e))?;
        // Each input is encoded at its own length.
        tokenizer.with_padding(None);
        let encoder = Encoder::load(
            &self.dir.join("model.safetensors"),
            self.config.clone(),
            self.precision,
        )?;
        Ok(Loaded { encoder, tokenizer })
    }

    /// How token vectors become one vector, as the model's
    /// `1_Pooling/config.json` says (mean when it says nothing).
    pub fn pooling(&self) -> Pooling {
        self.pooling
    }

    /// How the linear layers compute.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// One vector per text, the texts spread over the cores.
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let Loaded { encoder, tokenizer } = self.loaded()?;
        let encodings = tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| err("tokenizing", e))?;
        encodings
            .par_iter()
            .map(|e| {
                let hidden = encoder.encode(e.get_ids(), e.get_type_ids())?;
                Ok(self.pool(&hidden))
            })
            .collect()
    }

    /// Token vectors (`len` rows of `dim`) to one vector, normalised if the model says so.
    fn pool(&self, hidden: &[f32]) -> Vec<f32> {
        let dim = self.dim;
        let rows = hidden.len() / dim;
        let mut out = vec![0f32; dim];
        match self.pooling {
            Pooling::Cls => out.copy_from_slice(&hidden[..dim.min(hidden.len())]),
            Pooling::Mean => {
                for row in hidden.chunks_exact(dim) {
                    for (o, v) in out.iter_mut().zip(row) {
                        *o += v;
                    }
                }
                let inv = 1.0 / rows.max(1) as f32;
                out.iter_mut().for_each(|o| *o *= inv);
            }
            Pooling::Max => {
                out.fill(f32::NEG_INFINITY);
                for row in hidden.chunks_exact(dim) {
                    for (o, v) in out.iter_mut().zip(row) {
                        *o = o.max(*v);
                    }
                }
                if rows == 0 {
                    out.fill(0.0);
                }
            }
        }
        if self.normalize {
            let norm = out.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
            out.iter_mut().for_each(|v| *v /= norm);
        }
        out
    }
}

impl Embedder for BertEmbedder {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn dimension(&self) -> usize {
        self.dim
    }

    fn embed_documents(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        self.embed(texts)
    }

    fn embed_query(&self, text: &str) -> Result<Vec<f32>> {
        Ok(self.embed(&[text])?.into_iter().next().unwrap_or_default())
    }
}
