//! A local sentence-embedding model, run in-process on the CPU with candle.
//!
//! Loads a BERT-family sentence-transformer from a directory in Hugging Face layout:
//! `config.json`, `tokenizer.json`, `model.safetensors`, and the sentence-transformers
//! files that say how to turn token vectors into one vector (`1_Pooling/config.json`,
//! `modules.json`, `sentence_bert_config.json`). Pooling and normalisation follow those
//! files, as the model card specifies; nothing is downloaded.
//!
//! Truncation and padding are set here, not taken from `tokenizer.json`: exported
//! tokenizers often pad every input to a fixed length (all-MiniLM-L6-v2's pads to 128),
//! which wastes most of the compute on padding. Inputs are batched by length, padded to
//! the longest in their batch.
//!
//! [`BertEmbedder::load`] reads only the small files (what the model is, its dimension
//! and identity); the tokenizer and the weights are loaded on first use. A run that
//! has nothing to embed (the common re-index) then costs no model load, which is most
//! of such a run's time. [`BertEmbedder::prepare`] loads them at once, for callers that
//! want a broken model to fail at start.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config, DTYPE};
use codegraph_core::{Embedder, Error, Result};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

/// How token vectors become one vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pooling {
    Mean,
    Cls,
    Max,
}

/// Settings a caller may override.
#[derive(Clone, Debug)]
pub struct EmbedderOptions {
    /// Longest input in tokens; `None` takes the model's `max_seq_length`.
    pub max_tokens: Option<usize>,
    /// Inputs per forward pass.
    pub batch_size: usize,
}

impl Default for EmbedderOptions {
    fn default() -> Self {
        EmbedderOptions {
            max_tokens: None,
            batch_size: 32,
        }
    }
}

/// A BERT sentence-transformer loaded from a local directory.
pub struct BertEmbedder {
    dir: PathBuf,
    config: Config,
    max_tokens: usize,
    /// The tokenizer and weights, loaded on first use (or the reason they could not be).
    loaded: OnceLock<std::result::Result<Loaded, String>>,
    pooling: Pooling,
    normalize: bool,
    dim: usize,
    batch_size: usize,
    model_id: String,
}

struct Loaded {
    model: BertModel,
    tokenizer: Tokenizer,
}

fn err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Backend {
        backend: "candle",
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
        let config: Config = serde_json::from_slice(&config_bytes).map_err(|e| {
            Error::InvalidInput(format!("{}: not a BERT config: {e}", config_path.display()))
        })?;
        let raw: serde_json::Value = serde_json::from_slice(&config_bytes)
            .map_err(|e| Error::InvalidInput(format!("{}: {e}", config_path.display())))?;
        let dim = raw["hidden_size"].as_u64().unwrap_or(0) as usize;
        let max_positions = raw["max_position_embeddings"].as_u64().unwrap_or(512) as usize;
        if dim == 0 {
            return Err(Error::InvalidInput(format!(
                "{}: no hidden_size",
                config_path.display()
            )));
        }

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
            max_tokens,
            loaded: OnceLock::new(),
            pooling,
            normalize,
            dim,
            batch_size: options.batch_size.max(1),
            model_id: format!("bert:{name}:{fingerprint:016x}"),
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
                backend: "candle",
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
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..PaddingParams::default()
        }));
        let weights = self.dir.join("model.safetensors");
        // SAFETY: the file is mapped read-only and not modified while the model lives;
        // candle validates the safetensors header before using any tensor.
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[&weights], DTYPE, &Device::Cpu) }
            .map_err(|e| err(&weights.display().to_string(), e))?;
        let model = BertModel::load(vb, &self.config).map_err(|e| err("loading BERT", e))?;
        Ok(Loaded { model, tokenizer })
    }

    pub fn pooling(&self) -> Pooling {
        self.pooling
    }

    /// One forward pass over texts of similar length.
    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let Loaded { model, tokenizer } = self.loaded()?;
        let encodings = tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| err("tokenizing", e))?;
        let rows = encodings.len();
        let len = encodings.first().map_or(0, |e| e.len());
        let mut ids = Vec::with_capacity(rows * len);
        let mut types = Vec::with_capacity(rows * len);
        let mut mask = Vec::with_capacity(rows * len);
        for e in &encodings {
            ids.extend_from_slice(e.get_ids());
            types.extend_from_slice(e.get_type_ids());
            mask.extend_from_slice(e.get_attention_mask());
        }
        let device = &Device::Cpu;
        let tensor = |v: Vec<u32>| {
            Tensor::from_vec(v, (rows, len), device).map_err(|e| err("input tensor", e))
        };
        let (ids, types, mask) = (tensor(ids)?, tensor(types)?, tensor(mask)?);
        let hidden = model
            .forward(&ids, &types, Some(&mask))
            .map_err(|e| err("forward", e))?;
        let pooled = self.pool(&hidden, &mask).map_err(|e| err("pooling", e))?;
        let pooled = if self.normalize {
            let norm = pooled
                .sqr()
                .and_then(|s| s.sum_keepdim(1))
                .and_then(|s| s.sqrt())
                .and_then(|n| n.clamp(1e-12f32, f32::MAX))
                .map_err(|e| err("normalising", e))?;
            pooled
                .broadcast_div(&norm)
                .map_err(|e| err("normalising", e))?
        } else {
            pooled
        };
        pooled.to_vec2::<f32>().map_err(|e| err("output", e))
    }

    fn pool(&self, hidden: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
        match self.pooling {
            Pooling::Cls => hidden.narrow(1, 0, 1)?.squeeze(1),
            Pooling::Mean => {
                let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
                let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
                let counts = mask.sum(1)?.clamp(1e-9f32, f32::MAX)?;
                summed.broadcast_div(&counts)
            }
            Pooling::Max => {
                // Padding must never win: push it far below any real activation.
                let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
                let penalty = ((mask.ones_like()? - &mask)? * -1e9f64)?;
                hidden.broadcast_add(&penalty)?.max(1)
            }
        }
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
        // Similar lengths together, so little of each batch is padding.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| texts[i].len());
        let mut out: Vec<Vec<f32>> = vec![Vec::new(); texts.len()];
        for chunk in order.chunks(self.batch_size) {
            let batch: Vec<&str> = chunk.iter().map(|&i| texts[i]).collect();
            for (&i, v) in chunk.iter().zip(self.embed_batch(&batch)?) {
                out[i] = v;
            }
        }
        Ok(out)
    }

    fn embed_query(&self, text: &str) -> Result<Vec<f32>> {
        Ok(self
            .embed_batch(&[text])?
            .into_iter()
            .next()
            .unwrap_or_default())
    }
}
