//! Flag groups shared by the command line and the server's start-up: the embedding
//! model, and the engine's named choices (mode, strategy, fusion) as clap values.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Args;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use codegraph::core::Embedder;
use codegraph::{EmbedderConfig, Fusion, Mode, Precision, Strategy};

/// The embedding model, from the command line or the environment: a local directory,
/// or an OpenAI-compatible HTTP API.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// A sentence-transformer directory in Hugging Face layout (config.json,
    /// tokenizer.json, model.safetensors), such as all-MiniLM-L6-v2.
    #[arg(long, env = "CODEGRAPH_MODEL_DIR", value_name = "DIR")]
    pub model_dir: Option<PathBuf>,

    /// Longest input in tokens: definitions are cut there. Time grows with the
    /// length; 128 retrieved better than the model's own 256 in our evaluation
    /// (docs/PERFORMANCE.md) at half the cost. `0` takes the model's limit.
    #[arg(
        long,
        env = "CODEGRAPH_MAX_TOKENS",
        value_name = "N",
        default_value_t = 128
    )]
    pub max_tokens: usize,

    /// How a local model's linear layers compute: `int8` (8-bit weights and
    /// activations; about 2.7 times as fast where the CPU has AVX-512 VNNI, vectors
    /// within a cosine of 0.99 of f32), `f32`, or `auto`: int8 where the CPU has
    /// VNNI, f32 elsewhere. Vectors of different precisions are never mixed: the
    /// precision is part of the model's id, and a change re-embeds.
    #[arg(
        long,
        env = "CODEGRAPH_EMBED_PRECISION",
        value_name = "P",
        default_value = "auto",
        value_parser = ["auto", "f32", "int8"]
    )]
    pub precision: String,

    /// An OpenAI-compatible embeddings API instead of a local model, such as
    /// `https://api.openai.com/v1` or Ollama's `http://localhost:11434/v1`. The key,
    /// if the API needs one, is read from CODEGRAPH_EMBED_API_KEY.
    #[arg(
        long,
        env = "CODEGRAPH_EMBED_URL",
        value_name = "URL",
        conflicts_with = "model_dir"
    )]
    pub embed_url: Option<String>,

    /// The model the API should use, such as `text-embedding-3-small` or
    /// `nomic-embed-text`.
    #[arg(long, env = "CODEGRAPH_EMBED_MODEL", value_name = "NAME")]
    pub embed_model: Option<String>,
}

impl ModelArgs {
    /// The model these flags name; `None` when none is configured.
    pub fn config(&self) -> anyhow::Result<Option<EmbedderConfig>> {
        if self.embed_url.is_none() && self.embed_model.is_some() {
            bail!(
                "--embed-model (or CODEGRAPH_EMBED_MODEL) needs --embed-url (or CODEGRAPH_EMBED_URL)"
            );
        }
        if let Some(url) = &self.embed_url {
            let Some(model) = &self.embed_model else {
                bail!("--embed-url needs --embed-model (or CODEGRAPH_EMBED_MODEL)");
            };
            return Ok(Some(EmbedderConfig::Http {
                url: url.clone(),
                model: model.clone(),
                api_key: std::env::var("CODEGRAPH_EMBED_API_KEY")
                    .ok()
                    .filter(|k| !k.is_empty()),
            }));
        }
        let Some(dir) = &self.model_dir else {
            return Ok(None);
        };
        Ok(Some(EmbedderConfig::Local {
            dir: dir.clone(),
            max_tokens: (self.max_tokens > 0).then_some(self.max_tokens),
            precision: self.precision.parse::<Precision>()?,
        }))
    }

    /// The configured embedder, or `None` when no model is configured. A local model's
    /// weights are read on first use unless `now` is set (a server checks at start
    /// what every request would need).
    pub fn load(&self, now: bool) -> anyhow::Result<Option<Arc<dyn Embedder>>> {
        match self.config()? {
            None => Ok(None),
            Some(config) => Ok(Some(
                config
                    .load(now)
                    .context("cannot load the embedding model")?,
            )),
        }
    }
}

/// A clap parser for one of the engine's named choices.
fn named<T>(names: &'static [&'static str]) -> impl TypedValueParser<Value = T>
where
    T: std::str::FromStr + Clone + Send + Sync + 'static,
    T::Err: std::fmt::Debug,
{
    PossibleValuesParser::new(names).map(|s| s.parse::<T>().expect("one of the names"))
}

/// `--mode`: text, semantic or hybrid.
pub fn mode() -> impl TypedValueParser<Value = Mode> {
    named(Mode::NAMES)
}

/// `--strategy`: exact, balanced, fast or compact.
pub fn strategy() -> impl TypedValueParser<Value = Strategy> {
    named(Strategy::NAMES)
}

/// `--fusion`: scores, rrf or min-max.
pub fn fusion() -> impl TypedValueParser<Value = Fusion> {
    named(Fusion::NAMES)
}
