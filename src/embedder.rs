//! Which embedding model a [`Db`](crate::Db) uses, as plain data.

use std::path::PathBuf;
use std::sync::Arc;

use codegraph_core::{Embedder, Error, Result};

/// An embedding model: a local directory or an OpenAI-compatible HTTP API.
///
/// Plain data, so a command line, a config file or a test can fill it in;
/// [`EmbedderConfig::load`] makes the embedder.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum EmbedderConfig {
    /// A sentence-transformer directory in Hugging Face layout (`config.json`,
    /// `tokenizer.json`, `model.safetensors`), run on the CPU (feature `embed-local`).
    Local {
        /// The model directory.
        dir: PathBuf,
        /// Longest input in tokens (definitions are cut there); `None` takes the
        /// model's own limit.
        max_tokens: Option<usize>,
        /// How the linear layers compute.
        precision: Precision,
    },
    /// `POST <url>/embeddings` in OpenAI's shape (OpenAI, Ollama, TEI; feature
    /// `embed-http`).
    Http {
        /// The API's base address, such as `http://localhost:11434/v1`.
        url: String,
        /// The model the API should use.
        model: String,
        /// Sent as a bearer token when present.
        api_key: Option<String>,
    },
}

/// How a local model's linear layers compute.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Precision {
    /// int8 where the CPU has AVX-512 VNNI, f32 elsewhere.
    #[default]
    Auto,
    /// 32-bit floats throughout.
    F32,
    /// 8-bit weights and activations.
    Int8,
}

impl std::str::FromStr for Precision {
    type Err = Error;

    fn from_str(s: &str) -> Result<Precision> {
        match s {
            "auto" => Ok(Precision::Auto),
            "f32" => Ok(Precision::F32),
            "int8" => Ok(Precision::Int8),
            other => Err(Error::InvalidInput(format!(
                "precision must be auto, f32 or int8, not {other:?}"
            ))),
        }
    }
}

impl EmbedderConfig {
    /// A local model directory with the defaults `codegraph` uses (128 tokens, the
    /// precision chosen for the CPU).
    pub fn local(dir: impl Into<PathBuf>) -> EmbedderConfig {
        EmbedderConfig::Local {
            dir: dir.into(),
            max_tokens: Some(128),
            precision: Precision::Auto,
        }
    }

    /// Makes the embedder. A local model reads only its small files here and its
    /// weights on first use (a run with nothing to embed never needs them), unless
    /// `now` is set: then a broken model fails here (a server checks at start what
    /// every request would need).
    pub fn load(&self, now: bool) -> Result<Arc<dyn Embedder>> {
        match self {
            EmbedderConfig::Local {
                dir,
                max_tokens,
                precision,
            } => load_local(dir, *max_tokens, *precision, now),
            EmbedderConfig::Http {
                url,
                model,
                api_key,
            } => load_http(url, model, api_key.as_deref()),
        }
    }
}

#[cfg(feature = "embed-local")]
fn load_local(
    dir: &std::path::Path,
    max_tokens: Option<usize>,
    precision: Precision,
    now: bool,
) -> Result<Arc<dyn Embedder>> {
    use codegraph_vector::{BertEmbedder, EmbedderOptions};
    let options = EmbedderOptions {
        max_tokens,
        precision: match precision {
            Precision::Auto => None,
            Precision::F32 => Some(codegraph_vector::Precision::F32),
            Precision::Int8 => Some(codegraph_vector::Precision::Int8),
        },
    };
    let model = BertEmbedder::load(dir, &options).map_err(|e| {
        Error::InvalidInput(format!(
            "cannot load the embedding model in {}: {e}",
            dir.display()
        ))
    })?;
    if now {
        model.prepare()?;
    }
    Ok(Arc::new(model))
}

#[cfg(not(feature = "embed-local"))]
fn load_local(
    dir: &std::path::Path,
    _max_tokens: Option<usize>,
    _precision: Precision,
    _now: bool,
) -> Result<Arc<dyn Embedder>> {
    Err(Error::Unsupported(format!(
        "a local model ({}): this build has no local embedder (feature `embed-local`)",
        dir.display()
    )))
}

#[cfg(feature = "embed-http")]
fn load_http(url: &str, model: &str, api_key: Option<&str>) -> Result<Arc<dyn Embedder>> {
    let mut config = codegraph_vector::HttpEmbedderConfig::new(url, model);
    config.api_key = api_key.filter(|k| !k.is_empty()).map(str::to_string);
    Ok(Arc::new(codegraph_vector::HttpEmbedder::new(config)?))
}

#[cfg(not(feature = "embed-http"))]
fn load_http(url: &str, _model: &str, _api_key: Option<&str>) -> Result<Arc<dyn Embedder>> {
    Err(Error::Unsupported(format!(
        "an embedding API ({url}): this build has no HTTP embedder (feature `embed-http`)"
    )))
}
