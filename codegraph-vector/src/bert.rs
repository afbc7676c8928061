//! A BERT encoder's forward pass on the CPU, one input at a time.
//!
//! Why not a tensor library's BERT: this encoder runs each input at its own length
//! (no padding, so no attention mask) and keeps a whole input on one core, so a batch
//! is spread over the cores by input with nothing shared but the read-only weights;
//! and its linear layers, nine tenths of the arithmetic, can run on 8-bit integers
//! (see [`crate::int8`]), which on CPUs with AVX-512 VNNI is about three times faster
//! than `f32` at a cosine above 0.99 to the `f32` vectors (measured in the tests
//! and in docs/PERFORMANCE.md). The `f32` path is kept: it is the default where the
//! CPU has no VNNI, and it is checked against candle's BERT in the tests.
//!
//! Supported: the BERT architecture with absolute position embeddings (BERT,
//! MiniLM, BGE, E5, GTE-small and the like), activations `gelu`, `gelu_new` and
//! `relu`. Anything else in `config.json` is refused with the field named.

use std::path::Path;

use codegraph_core::{Error, Result};
use gemm::Parallelism;
use safetensors::{Dtype, SafeTensors};

use crate::int8::{QuantLinear, Scratch};
use crate::simd::{self, Activation};

/// How the linear layers compute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    /// 32-bit floats throughout.
    F32,
    /// 8-bit weights and activations in the linear layers, `f32` elsewhere.
    Int8,
}

impl Precision {
    /// Int8 where the CPU has AVX-512 VNNI (where it is fast), otherwise f32.
    pub fn best_for_this_cpu() -> Precision {
        if crate::int8::has_vnni() {
            Precision::Int8
        } else {
            Precision::F32
        }
    }

    /// `f32` or `int8`: the spelling [`Precision::parse`] reads, and the suffix of
    /// the embedder's model id.
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Int8 => "int8",
        }
    }

    /// The precision named `f32` or `int8` (exactly, lower case), as from a command
    /// line; `None` for anything else.
    pub fn parse(s: &str) -> Option<Precision> {
        match s {
            "f32" => Some(Precision::F32),
            "int8" => Some(Precision::Int8),
            _ => None,
        }
    }
}

/// The shape of the model, from `config.json`.
#[derive(Clone, Debug)]
pub(crate) struct BertConfig {
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub intermediate: usize,
    pub max_positions: usize,
    pub activation: Activation,
    pub eps: f32,
}

impl BertConfig {
    /// Reads the fields this encoder needs, refusing architectures it does not run.
    pub(crate) fn from_json(raw: &serde_json::Value) -> std::result::Result<BertConfig, String> {
        let int = |key: &str| -> std::result::Result<usize, String> {
            raw[key]
                .as_u64()
                .filter(|&v| v > 0 && v <= 1 << 20)
                .map(|v| v as usize)
                .ok_or_else(|| format!("{key} is missing or not a positive integer"))
        };
        let act = raw["hidden_act"].as_str().unwrap_or("gelu");
        let activation =
            Activation::parse(act).ok_or_else(|| format!("hidden_act {act:?} is not supported"))?;
        if let Some(kind) = raw["position_embedding_type"].as_str()
            && kind != "absolute"
        {
            return Err(format!("position_embedding_type {kind:?} is not supported"));
        }
        let config = BertConfig {
            hidden: int("hidden_size")?,
            layers: int("num_hidden_layers")?,
            heads: int("num_attention_heads")?,
            intermediate: int("intermediate_size")?,
            max_positions: int("max_position_embeddings")?,
            activation,
            eps: raw["layer_norm_eps"].as_f64().unwrap_or(1e-12) as f32,
        };
        if !config.hidden.is_multiple_of(config.heads) {
            return Err(format!(
                "hidden_size {} is not a multiple of num_attention_heads {}",
                config.hidden, config.heads
            ));
        }
        Ok(config)
    }
}

/// A linear layer in either precision.
enum Linear {
    F32 {
        /// `n` rows of `k`, as stored.
        weight: Vec<f32>,
        bias: Vec<f32>,
        n: usize,
        k: usize,
    },
    Int8(QuantLinear),
}

impl Linear {
    fn new(weight: Vec<f32>, bias: Vec<f32>, n: usize, k: usize, precision: Precision) -> Linear {
        if precision == Precision::Int8
            && let Some(q) = QuantLinear::new(&weight, bias.clone(), n, k)
        {
            return Linear::Int8(q);
        }
        Linear::F32 { weight, bias, n, k }
    }

    fn outputs(&self) -> usize {
        match self {
            Linear::F32 { n, .. } => *n,
            Linear::Int8(q) => q.outputs(),
        }
    }

    /// `out[m x n] = x[m x k] W^T + b`.
    fn forward(&self, x: &[f32], m: usize, out: &mut Vec<f32>, scratch: &mut Scratch) {
        out.resize(m * self.outputs(), 0.0);
        match self {
            Linear::Int8(q) => q.forward(x, m, out, scratch),
            Linear::F32 { weight, bias, n, k } => {
                let (n, k) = (*n, *k);
                assert_eq!(x.len(), m * k);
                // SAFETY: dst is m x n row-major; lhs m x k row-major; rhs is W read
                // as k x n (element (t, j) = W[j][t]); all within their slices.
                unsafe {
                    gemm::gemm(
                        m,
                        n,
                        k,
                        out.as_mut_ptr(),
                        1,
                        n as isize,
                        false,
                        x.as_ptr(),
                        1,
                        k as isize,
                        weight.as_ptr(),
                        k as isize,
                        1,
                        0.0,
                        1.0,
                        false,
                        false,
                        false,
                        Parallelism::None,
                    )
                };
                for row in out.chunks_exact_mut(n) {
                    simd::add(row, bias);
                }
            }
        }
    }
}

struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

struct Layer {
    /// Query, key and value in one product: outputs `3 x hidden`.
    qkv: Linear,
    attention_out: Linear,
    attention_norm: Norm,
    up: Linear,
    down: Linear,
    output_norm: Norm,
}

/// The loaded encoder; shared read-only by every thread that encodes.
pub(crate) struct Encoder {
    config: BertConfig,
    word: Vec<f32>,
    vocab: usize,
    position: Vec<f32>,
    token_type: Vec<f32>,
    type_vocab: usize,
    embedding_norm: Norm,
    layers: Vec<Layer>,
}

/// The tensors of a checkpoint, read by name as `f32`.
struct Weights<'a> {
    file: SafeTensors<'a>,
    /// `""` or `"bert."`, whichever the checkpoint's names start with.
    prefix: &'static str,
    path: String,
}

impl Weights<'_> {
    fn rows(&self, name: &str) -> usize {
        let full = format!("{}{name}", self.prefix);
        self.file
            .tensor(&full)
            .map_or(0, |t| t.shape().first().copied().unwrap_or(0))
    }

    fn get(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let full = format!("{}{name}", self.prefix);
        let tensor = self
            .file
            .tensor(&full)
            .or_else(|e| {
                // Old checkpoints name layer-norm parameters gamma and beta.
                let old = full
                    .strip_suffix(".weight")
                    .map(|s| format!("{s}.gamma"))
                    .or_else(|| full.strip_suffix(".bias").map(|s| format!("{s}.beta")))
                    .ok_or(e)?;
                self.file.tensor(&old)
            })
            .map_err(|_| self.error(format!("no tensor {full}")))?;
        if tensor.shape() != shape {
            return Err(self.error(format!(
                "{full} has shape {:?}, the config says {shape:?}",
                tensor.shape()
            )));
        }
        let bytes = tensor.data();
        let values: Vec<f32> = match tensor.dtype() {
            Dtype::F32 => bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Dtype::F16 => bytes
                .chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            Dtype::BF16 => bytes
                .chunks_exact(2)
                .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            other => return Err(self.error(format!("{full} is {other:?}, not a float type"))),
        };
        if values.len() != shape.iter().product::<usize>() {
            return Err(self.error(format!("{full}: data does not match its shape")));
        }
        Ok(values)
    }

    fn error(&self, message: String) -> Error {
        Error::Backend {
            backend: "bert",
            message: format!("{}: {message}", self.path),
            source: None,
        }
    }
}

impl Encoder {
    /// Loads `model.safetensors` for `config`, quantising the linear layers for `precision`.
    pub(crate) fn load(
        weights: &Path,
        config: BertConfig,
        precision: Precision,
    ) -> Result<Encoder> {
        let path = weights.display().to_string();
        let file = std::fs::File::open(weights).map_err(|e| Error::io(weights, e))?;
        // SAFETY: mapped read-only; every tensor is copied out (converted to f32)
        // before the map is dropped at the end of this function.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(weights, e))?;
        let file = SafeTensors::deserialize(&map).map_err(|e| Error::Backend {
            backend: "bert",
            message: format!("{path}: not a safetensors file: {e}"),
            source: None,
        })?;
        let prefix = if file.tensor("embeddings.word_embeddings.weight").is_ok() {
            ""
        } else {
            "bert."
        };
        let w = Weights { file, prefix, path };
        let h = config.hidden;
        let vocab = w.rows("embeddings.word_embeddings.weight");
        let type_vocab = w.rows("embeddings.token_type_embeddings.weight");
        let norm = |name: &str| -> Result<Norm> {
            Ok(Norm {
                gamma: w.get(&format!("{name}.weight"), &[h])?,
                beta: w.get(&format!("{name}.bias"), &[h])?,
            })
        };
        let linear = |name: &str, n: usize, k: usize| -> Result<(Vec<f32>, Vec<f32>)> {
            Ok((
                w.get(&format!("{name}.weight"), &[n, k])?,
                w.get(&format!("{name}.bias"), &[n])?,
            ))
        };
        let mut layers = Vec::with_capacity(config.layers);
        for i in 0..config.layers {
            let p = format!("encoder.layer.{i}");
            let (mut qkv_w, mut qkv_b) = linear(&format!("{p}.attention.self.query"), h, h)?;
            for part in ["key", "value"] {
                let (pw, pb) = linear(&format!("{p}.attention.self.{part}"), h, h)?;
                qkv_w.extend(pw);
                qkv_b.extend(pb);
            }
            let (ow, ob) = linear(&format!("{p}.attention.output.dense"), h, h)?;
            let (uw, ub) = linear(&format!("{p}.intermediate.dense"), config.intermediate, h)?;
            let (dw, db) = linear(&format!("{p}.output.dense"), h, config.intermediate)?;
            layers.push(Layer {
                qkv: Linear::new(qkv_w, qkv_b, 3 * h, h, precision),
                attention_out: Linear::new(ow, ob, h, h, precision),
                attention_norm: norm(&format!("{p}.attention.output.LayerNorm"))?,
                up: Linear::new(uw, ub, config.intermediate, h, precision),
                down: Linear::new(dw, db, h, config.intermediate, precision),
                output_norm: norm(&format!("{p}.output.LayerNorm"))?,
            });
        }
        Ok(Encoder {
            word: w.get("embeddings.word_embeddings.weight", &[vocab.max(1), h])?,
            vocab,
            position: w.get(
                "embeddings.position_embeddings.weight",
                &[config.max_positions, h],
            )?,
            token_type: w.get(
                "embeddings.token_type_embeddings.weight",
                &[type_vocab.max(1), h],
            )?,
            type_vocab,
            embedding_norm: norm("embeddings.LayerNorm")?,
            layers,
            config,
        })
    }

    /// The last hidden state of one input, `ids.len()` rows of `hidden`. Ids past
    /// the vocabulary and inputs longer than the position table are errors, not
    /// panics (a tokenizer that does not match its model).
    pub(crate) fn encode(&self, ids: &[u32], types: &[u32]) -> Result<Vec<f32>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let bad = |what: String| Error::InvalidInput(format!("encoder input: {what}"));
        if ids.len() > self.config.max_positions {
            return Err(bad(format!(
                "{} tokens, the model has {} positions",
                ids.len(),
                self.config.max_positions
            )));
        }
        if let Some(id) = ids.iter().find(|&&id| id as usize >= self.vocab) {
            return Err(bad(format!(
                "token id {id} past the vocabulary of {}",
                self.vocab
            )));
        }
        if let Some(t) = types.iter().find(|&&t| t as usize >= self.type_vocab) {
            return Err(bad(format!("token type {t} past {}", self.type_vocab)));
        }
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the features the function is compiled for were just detected.
            return Ok(unsafe { self.encode_avx512(ids, types) });
        }
        Ok(self.encode_with(ids, types))
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma")]
    unsafe fn encode_avx512(&self, ids: &[u32], types: &[u32]) -> Vec<f32> {
        self.encode_with(ids, types)
    }

    #[inline(always)]
    fn encode_with(&self, ids: &[u32], types: &[u32]) -> Vec<f32> {
        let c = &self.config;
        let (h, len) = (c.hidden, ids.len());
        let mut x = vec![0f32; len * h];
        for (pos, (row, &id)) in x.chunks_exact_mut(h).zip(ids).enumerate() {
            let t = types.get(pos).copied().unwrap_or(0) as usize;
            let word = &self.word[id as usize * h..][..h];
            let position = &self.position[pos * h..][..h];
            let token_type = &self.token_type[t * h..][..h];
            for (((v, a), b), d) in row.iter_mut().zip(word).zip(position).zip(token_type) {
                *v = a + b + d;
            }
            let n = &self.embedding_norm;
            simd::layer_norm(row, &n.gamma, &n.beta, c.eps);
        }
        let mut scratch = Scratch::default();
        let (mut qkv, mut context, mut projected, mut up) =
            (Vec::new(), vec![0f32; len * h], Vec::new(), Vec::new());
        let mut scores = vec![0f32; len * len];
        for layer in &self.layers {
            layer.qkv.forward(&x, len, &mut qkv, &mut scratch);
            self.attention(&qkv, len, &mut scores, &mut context);
            layer
                .attention_out
                .forward(&context, len, &mut projected, &mut scratch);
            simd::add(&mut x, &projected);
            for row in x.chunks_exact_mut(h) {
                let n = &layer.attention_norm;
                simd::layer_norm(row, &n.gamma, &n.beta, c.eps);
            }
            layer.up.forward(&x, len, &mut up, &mut scratch);
            c.activation.apply(&mut up);
            layer.down.forward(&up, len, &mut projected, &mut scratch);
            simd::add(&mut x, &projected);
            for row in x.chunks_exact_mut(h) {
                let n = &layer.output_norm;
                simd::layer_norm(row, &n.gamma, &n.beta, c.eps);
            }
        }
        x
    }

    /// Multi-head self-attention over one input: `context = softmax(Q K^T / sqrt(d)) V`
    /// per head, heads side by side in `context` (`len` rows of `hidden`).
    #[inline(always)]
    fn attention(&self, qkv: &[f32], len: usize, scores: &mut [f32], context: &mut [f32]) {
        let h = self.config.hidden;
        let d = h / self.config.heads;
        let stride = 3 * h;
        let scale = 1.0 / (d as f32).sqrt();
        for head in 0..self.config.heads {
            let q = qkv[head * d..].as_ptr();
            let k = qkv[h + head * d..].as_ptr();
            let v = qkv[2 * h + head * d..].as_ptr();
            // SAFETY: Q, K and V of this head are len rows of d at row stride 3h
            // inside qkv (len x 3h); scores is len x len; this head's context is
            // len rows of d at row stride h inside context (len x h).
            unsafe {
                gemm::gemm(
                    len,
                    len,
                    d,
                    scores.as_mut_ptr(),
                    1,
                    len as isize,
                    false,
                    q,
                    1,
                    stride as isize,
                    k,
                    stride as isize,
                    1,
                    0.0,
                    scale,
                    false,
                    false,
                    false,
                    Parallelism::None,
                );
            }
            for row in scores.chunks_exact_mut(len) {
                simd::softmax(row);
            }
            unsafe {
                gemm::gemm(
                    len,
                    d,
                    len,
                    context[head * d..].as_mut_ptr(),
                    1,
                    h as isize,
                    false,
                    scores.as_ptr(),
                    1,
                    len as isize,
                    v,
                    1,
                    stride as isize,
                    0.0,
                    1.0,
                    false,
                    false,
                    false,
                    Parallelism::None,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use candle_core::{Device, Tensor};
    use candle_transformers::models::bert::{BertModel, Config};

    use super::*;

    const CONFIG: &str = r#"{"vocab_size": 50, "hidden_size": 32, "num_hidden_layers": 2,
        "num_attention_heads": 4, "intermediate_size": 64, "hidden_act": "gelu",
        "hidden_dropout_prob": 0.0, "max_position_embeddings": 24, "type_vocab_size": 2,
        "initializer_range": 0.02, "layer_norm_eps": 1e-12, "pad_token_id": 0}"#;

    /// A small BERT with weights from a fixed generator, written as safetensors.
    fn tiny_model(dir: &Path) -> std::path::PathBuf {
        let raw: serde_json::Value = serde_json::from_str(CONFIG).unwrap();
        let c = BertConfig::from_json(&raw).unwrap();
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut tensor = |shape: &[usize], centre: f32, spread: f32| {
            let len: usize = shape.iter().product();
            let v: Vec<f32> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    centre + ((seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * spread
                })
                .collect();
            Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
        };
        let (h, i) = (c.hidden, c.intermediate);
        let mut t: HashMap<String, Tensor> = HashMap::new();
        t.insert(
            "embeddings.word_embeddings.weight".into(),
            tensor(&[50, h], 0.0, 2.0),
        );
        t.insert(
            "embeddings.position_embeddings.weight".into(),
            tensor(&[24, h], 0.0, 0.5),
        );
        t.insert(
            "embeddings.token_type_embeddings.weight".into(),
            tensor(&[2, h], 0.0, 0.5),
        );
        let mut norms = vec!["embeddings.LayerNorm".to_string()];
        for l in 0..c.layers {
            let p = format!("encoder.layer.{l}");
            norms.push(format!("{p}.attention.output.LayerNorm"));
            norms.push(format!("{p}.output.LayerNorm"));
            for (name, n, k) in [
                ("attention.self.query", h, h),
                ("attention.self.key", h, h),
                ("attention.self.value", h, h),
                ("attention.output.dense", h, h),
                ("intermediate.dense", i, h),
                ("output.dense", h, i),
            ] {
                let spread = 2.0 / (k as f32).sqrt();
                t.insert(format!("{p}.{name}.weight"), tensor(&[n, k], 0.0, spread));
                t.insert(format!("{p}.{name}.bias"), tensor(&[n], 0.0, 0.1));
            }
        }
        for name in norms {
            t.insert(format!("{name}.weight"), tensor(&[h], 1.0, 0.4));
            t.insert(format!("{name}.bias"), tensor(&[h], 0.0, 0.2));
        }
        let path = dir.join("model.safetensors");
        candle_core::safetensors::save(&t, &path).unwrap();
        path
    }

    fn encoder(path: &Path, precision: Precision) -> Encoder {
        let raw: serde_json::Value = serde_json::from_str(CONFIG).unwrap();
        Encoder::load(path, BertConfig::from_json(&raw).unwrap(), precision).unwrap()
    }

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
        let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
        dot / (na * nb)
    }

    #[test]
    fn the_f32_encoder_matches_candles_bert() {
        let dir = tempfile::tempdir().unwrap();
        let path = tiny_model(dir.path());
        let ours = encoder(&path, Precision::F32);
        let config: Config = serde_json::from_str(CONFIG).unwrap();
        // SAFETY: the file is not modified while mapped.
        let vb = unsafe {
            candle_nn::VarBuilder::from_mmaped_safetensors(
                &[&path],
                candle_core::DType::F32,
                &Device::Cpu,
            )
        }
        .unwrap();
        let reference = BertModel::load(vb, &config).unwrap();
        for ids in [
            vec![1u32],
            vec![2, 7, 49, 3],
            (0..24).map(|i| (i * 7 % 50) as u32).collect::<Vec<_>>(),
        ] {
            let types: Vec<u32> = ids
                .iter()
                .enumerate()
                .map(|(i, _)| (i % 2) as u32)
                .collect();
            let got = ours.encode(&ids, &types).unwrap();
            let input = |v: &[u32]| Tensor::new(v, &Device::Cpu).unwrap().unsqueeze(0).unwrap();
            let want = reference
                .forward(&input(&ids), &input(&types), None)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            assert_eq!(got.len(), want.len());
            let worst = got
                .iter()
                .zip(&want)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(worst < 1e-4, "{} tokens: off by {worst}", ids.len());
        }
    }

    #[test]
    fn int8_stays_close_to_f32() {
        let dir = tempfile::tempdir().unwrap();
        let path = tiny_model(dir.path());
        let (exact, quantised) = (
            encoder(&path, Precision::F32),
            encoder(&path, Precision::Int8),
        );
        assert!(
            quantised
                .layers
                .iter()
                .all(|l| matches!(l.up, Linear::Int8(_)))
        );
        let ids: Vec<u32> = (0..20).map(|i| (i * 11 % 50) as u32).collect();
        let types = vec![0; ids.len()];
        let (a, b) = (
            exact.encode(&ids, &types).unwrap(),
            quantised.encode(&ids, &types).unwrap(),
        );
        for (x, y) in a.chunks(32).zip(b.chunks(32)) {
            let c = cosine(x, y);
            assert!(c > 0.99, "token vector cosine {c}");
        }
    }

    #[test]
    fn inputs_that_do_not_fit_the_model_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let e = encoder(&tiny_model(dir.path()), Precision::Int8);
        assert!(
            e.encode(&[50], &[0])
                .unwrap_err()
                .to_string()
                .contains("vocabulary")
        );
        assert!(
            e.encode(&[1], &[2])
                .unwrap_err()
                .to_string()
                .contains("type")
        );
        assert!(
            e.encode(&[1; 25], &[0; 25])
                .unwrap_err()
                .to_string()
                .contains("positions")
        );
        assert!(e.encode(&[], &[]).unwrap().is_empty());
    }

    #[test]
    fn configs_it_cannot_run_are_refused_by_name() {
        let cases: [(&str, serde_json::Value, &str); 4] = [
            ("hidden_act", "swish".into(), "hidden_act"),
            (
                "position_embedding_type",
                "relative_key".into(),
                "position_embedding_type",
            ),
            ("num_attention_heads", 5.into(), "multiple"),
            ("hidden_size", serde_json::Value::Null, "hidden_size"),
        ];
        for (field, value, named) in cases {
            let mut raw: serde_json::Value = serde_json::from_str(CONFIG).unwrap();
            raw[field] = value;
            let e = BertConfig::from_json(&raw).unwrap_err();
            assert!(e.contains(named), "{field}: {e}");
        }
    }

    #[test]
    fn a_tensor_of_the_wrong_shape_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = tiny_model(dir.path());
        let mut raw: serde_json::Value = serde_json::from_str(CONFIG).unwrap();
        raw["intermediate_size"] = 48.into();
        let e = Encoder::load(&path, BertConfig::from_json(&raw).unwrap(), Precision::F32)
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("intermediate.dense.weight") && e.contains("shape"),
            "{e}"
        );
    }
}
