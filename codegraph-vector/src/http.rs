//! An embedder behind an OpenAI-compatible HTTP API (feature `http`): OpenAI itself,
//! Ollama (`http://localhost:11434/v1`), Hugging Face TEI (`http://host:8080/v1`),
//! vLLM, LiteLLM and the like.
//!
//! It posts `{"model", "input": [texts]}` to `<base>/embeddings` and reads
//! `{"data": [{"index", "embedding"}]}`, in batches. The vector length is learned from
//! the first answer when not configured. The API key, when one is needed, comes from
//! the caller (the CLI reads it from the environment); it is sent as a bearer token and
//! never written anywhere. Vectors are L2-normalised here, so inner product is cosine
//! whatever the provider returns.

use std::sync::OnceLock;
use std::time::Duration;

use codegraph_core::{Embedder, Error, Result};
use serde::Deserialize;

/// Where and how to reach the provider.
#[derive(Clone, Debug)]
pub struct HttpEmbedderConfig {
    /// The API base, such as `https://api.openai.com/v1`; `/embeddings` is appended.
    pub base_url: String,
    /// The model's name as the provider knows it (`text-embedding-3-small`,
    /// `nomic-embed-text`); sent with every request and part of the embedder's model
    /// id, so vectors from different models never mix.
    pub model: String,
    /// Sent as a bearer token; `None` sends no `Authorization` header (local servers
    /// usually need none).
    pub api_key: Option<String>,
    /// The vector length, when known; otherwise learned from the first answer.
    pub dimension: Option<usize>,
    /// Texts per request.
    pub batch_size: usize,
    /// The longest one request may take, connecting and reading included.
    pub timeout: Duration,
    /// Texts are cut to this many characters before sending (providers reject
    /// inputs past their context; they count tokens, we cannot).
    pub max_chars: usize,
}

impl HttpEmbedderConfig {
    /// A configuration for `model` at `base_url` (trailing `/` removed), with no API
    /// key, the dimension learned from the first answer, batches of 64 texts, a
    /// two-minute timeout and inputs cut to 2,000 characters.
    pub fn new(base_url: &str, model: &str) -> HttpEmbedderConfig {
        HttpEmbedderConfig {
            base_url: base_url.trim_end_matches('/').to_string(),
            model: model.to_string(),
            api_key: None,
            dimension: None,
            batch_size: 64,
            timeout: Duration::from_secs(120),
            max_chars: 2000,
        }
    }
}

/// An OpenAI-compatible embedding endpoint.
pub struct HttpEmbedder {
    config: HttpEmbedderConfig,
    agent: ureq::Agent,
    dimension: OnceLock<usize>,
    model_id: String,
}

#[derive(Deserialize)]
struct Response {
    data: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    #[serde(default)]
    index: Option<usize>,
    embedding: Vec<f32>,
}

fn err(message: String) -> Error {
    Error::Backend {
        backend: "http-embedder",
        message,
        source: None,
    }
}

impl HttpEmbedder {
    /// Connects lazily: nothing is sent until the first text is embedded, except
    /// that [`HttpEmbedder::dimension`] with no configured dimension asks the
    /// provider once.
    pub fn new(config: HttpEmbedderConfig) -> Result<HttpEmbedder> {
        if !(config.base_url.starts_with("http://") || config.base_url.starts_with("https://")) {
            return Err(Error::InvalidInput(format!(
                "embedding URL {:?} must start with http:// or https://",
                config.base_url
            )));
        }
        if config.model.is_empty() {
            return Err(Error::InvalidInput("no embedding model named".into()));
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(config.timeout))
            .http_status_as_error(false)
            .build()
            .into();
        let dimension = OnceLock::new();
        if let Some(d) = config.dimension {
            let _ = dimension.set(d);
        }
        let model_id = format!("http:{}:{}", config.base_url, config.model);
        Ok(HttpEmbedder {
            config,
            agent,
            dimension,
            model_id,
        })
    }

    fn request(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let input: Vec<&str> = texts
            .iter()
            .map(|t| match t.char_indices().nth(self.config.max_chars) {
                Some((cut, _)) => &t[..cut],
                // Providers reject empty strings.
                None if t.is_empty() => " ",
                None => t,
            })
            .collect();
        let url = format!("{}/embeddings", self.config.base_url);
        let mut request = self.agent.post(&url);
        if let Some(key) = &self.config.api_key {
            request = request.header("Authorization", &format!("Bearer {key}"));
        }
        let body = serde_json::json!({ "model": self.config.model, "input": input });
        let mut response = request
            .send_json(&body)
            .map_err(|e| err(format!("POST {url}: {e}")))?;
        let status = response.status();
        let text = response
            .body_mut()
            .with_config()
            .limit(256 << 20)
            .read_to_string()
            .map_err(|e| err(format!("reading the answer of {url}: {e}")))?;
        if !status.is_success() {
            let snippet: String = text.chars().take(300).collect();
            return Err(err(format!("{url} answered {status}: {snippet}")));
        }
        let parsed: Response = serde_json::from_str(&text)
            .map_err(|e| err(format!("{url}: not an embeddings answer: {e}")))?;
        if parsed.data.len() != texts.len() {
            return Err(err(format!(
                "{url} returned {} vectors for {} inputs",
                parsed.data.len(),
                texts.len()
            )));
        }
        let mut out: Vec<Option<Vec<f32>>> = vec![None; texts.len()];
        for (position, item) in parsed.data.into_iter().enumerate() {
            let i = item.index.unwrap_or(position);
            let slot = out.get_mut(i).ok_or_else(|| {
                err(format!(
                    "{url} returned index {i} for {} inputs",
                    texts.len()
                ))
            })?;
            *slot = Some(item.embedding);
        }
        let vectors: Vec<Vec<f32>> = out
            .into_iter()
            .map(|v| v.ok_or_else(|| err(format!("{url} left an input without a vector"))))
            .collect::<Result<_>>()?;
        let dim = vectors.first().map_or(0, Vec::len);
        let want = *self.dimension.get_or_init(|| dim);
        if dim == 0 || vectors.iter().any(|v| v.len() != want) {
            return Err(err(format!(
                "{url} returned vectors of length {dim}, expected {want}"
            )));
        }
        Ok(vectors.into_iter().map(normalised).collect())
    }
}

fn normalised(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 && norm.is_finite() {
        for x in &mut v {
            *x /= norm;
        }
    }
    v
}

impl Embedder for HttpEmbedder {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    /// The vector length; asks the provider once when it was not configured, and is
    /// 0 if the provider cannot be reached (embedding then reports the error).
    fn dimension(&self) -> usize {
        if let Some(d) = self.dimension.get() {
            return *d;
        }
        match self.request(&["dimension probe"]) {
            Ok(v) => v[0].len(),
            Err(_) => 0,
        }
    }

    fn embed_documents(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let mut out = Vec::with_capacity(texts.len());
        for batch in texts.chunks(self.config.batch_size.max(1)) {
            out.extend(self.request(batch)?);
        }
        Ok(out)
    }

    fn embed_query(&self, text: &str) -> Result<Vec<f32>> {
        Ok(self.request(&[text])?.remove(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;

    /// A one-connection-at-a-time OpenAI-style server: each input's vector is
    /// (length, count of 'a', 1), or the canned failure.
    fn serve(fail: Option<&'static str>) -> (String, std::thread::JoinHandle<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v1", listener.local_addr().unwrap());
        let handle = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for stream in listener.incoming().take(3) {
                let mut stream = stream.unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut head = String::new();
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap();
                    }
                    head.push_str(&line);
                    if line == "\r\n" || line.is_empty() {
                        break;
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                seen.push(head);
                let request: serde_json::Value = serde_json::from_slice(&body).unwrap();
                let answer = match fail {
                    Some(f) => f.to_string(),
                    None => {
                        // Answer in reverse order with explicit indexes.
                        let data: Vec<serde_json::Value> = request["input"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .enumerate()
                            .rev()
                            .map(|(i, t)| {
                                let t = t.as_str().unwrap();
                                let a = t.matches('a').count() as f32;
                                serde_json::json!({"index": i, "embedding": [t.len() as f32, a, 1.0]})
                            })
                            .collect();
                        serde_json::json!({ "data": data }).to_string()
                    }
                };
                let status = if fail.is_some() {
                    "500 Internal Server Error"
                } else {
                    "200 OK"
                };
                write!(
                    stream,
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                    answer.len()
                )
                .unwrap();
            }
            seen
        });
        (url, handle)
    }

    #[test]
    fn vectors_come_back_in_input_order_normalised_with_the_key_sent() {
        let (url, server) = serve(None);
        let mut config = HttpEmbedderConfig::new(&url, "test-model");
        config.api_key = Some("k-123".into());
        config.batch_size = 2;
        let embedder = HttpEmbedder::new(config).unwrap();
        let v = embedder.embed_documents(&["aaa", "b", "ab"]).unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(embedder.dimension(), 3);
        let n = |x: [f32; 3]| normalised(x.to_vec());
        assert_eq!(v[0], n([3.0, 3.0, 1.0]));
        assert_eq!(v[1], n([1.0, 0.0, 1.0]));
        assert_eq!(v[2], n([2.0, 1.0, 1.0]));
        let q = embedder.embed_query("a").unwrap();
        assert_eq!(q, n([1.0, 1.0, 1.0]));
        let seen = server.join().unwrap();
        assert!(seen[0].starts_with("POST /v1/embeddings"));
        assert!(seen.iter().all(|h| h.contains("Bearer k-123")));
    }

    #[test]
    fn provider_failures_are_errors_with_the_answer() {
        let (url, _server) = serve(Some("{\"error\":\"model not found\"}"));
        let embedder = HttpEmbedder::new(HttpEmbedderConfig::new(&url, "m")).unwrap();
        let e = embedder.embed_query("x").unwrap_err().to_string();
        assert!(e.contains("500") && e.contains("model not found"), "{e}");
        assert!(HttpEmbedder::new(HttpEmbedderConfig::new("ftp://x", "m")).is_err());
        // Nothing listens here.
        let gone = HttpEmbedder::new(HttpEmbedderConfig::new("http://127.0.0.1:9", "m")).unwrap();
        assert!(gone.embed_query("x").is_err());
        assert_eq!(gone.dimension(), 0);
    }
}
