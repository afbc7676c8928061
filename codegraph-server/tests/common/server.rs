//! A `codegraph serve` process for tests: started on a free loopback port, driven
//! over HTTP, killed when dropped.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

pub const SECRET: &str = "a-test-only-shared-secret-of-40-bytes-xx";

pub struct Server {
    pub child: Child,
    pub base: String,
    pub agent: ureq::Agent,
}

pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
    pub text: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

pub fn answer(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
    let mut r = r.unwrap_or_else(|e| panic!("the server does not answer: {e}"));
    let status = r.status().as_u16();
    let headers = r
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let text = r.body_mut().read_to_string().unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
        text,
    }
}

impl Server {
    pub fn start(data: &Path, root: &Path, extra: &[&str]) -> Server {
        Server::start_with_env(data, root, extra, &[])
    }

    pub fn start_with_env(
        data: &Path,
        root: &Path,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Server {
        let mut cmd = super::codegraph();
        cmd.envs(env.iter().copied());
        cmd.args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
            .arg(data)
            .arg("--allow-root")
            .arg(root)
            .args(extra)
            .env("CODEGRAPH_JWT_SECRET", SECRET)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        Server::attach(cmd.spawn().expect("the server starts"))
    }

    /// A server process just spawned with its standard output piped: waits for the line
    /// that says where it listens.
    pub fn attach(mut child: Child) -> Server {
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let base = line
            .trim()
            .strip_prefix("codegraph: listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .new_agent();
        Server { child, base, agent }
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> Answer {
        let mut req = self.agent.get(format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        answer(req.call())
    }

    /// A GET with the given headers and no token.
    pub fn get_headers(&self, path: &str, headers: &[(&str, &str)]) -> Answer {
        let mut req = self.agent.get(format!("{}{path}", self.base));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        answer(req.call())
    }

    pub fn get_with(&self, path: &str, authorization: &str) -> Answer {
        answer(
            self.agent
                .get(format!("{}{path}", self.base))
                .header("Authorization", authorization)
                .call(),
        )
    }

    pub fn post_json(&self, path: &str, token: &str, body: &Value) -> Answer {
        answer(
            self.agent
                .post(format!("{}{path}", self.base))
                .header("Authorization", format!("Bearer {token}"))
                .send_json(body),
        )
    }

    /// A JSON-RPC message to `/mcp`, accepting what the streamable HTTP transport
    /// may answer with.
    pub fn post_mcp(&self, token: &str, body: &Value) -> Answer {
        answer(
            self.agent
                .post(format!("{}/mcp", self.base))
                .header("Authorization", format!("Bearer {token}"))
                .header("Accept", "application/json, text/event-stream")
                .header("MCP-Protocol-Version", "2025-06-18")
                .send_json(body),
        )
    }

    pub fn post_raw(&self, path: &str, token: &str, content_type: &str, body: &[u8]) -> Answer {
        answer(
            self.agent
                .post(format!("{}{path}", self.base))
                .header("Authorization", format!("Bearer {token}"))
                .header("Content-Type", content_type)
                .send(body),
        )
    }

    pub fn delete(&self, path: &str, token: &str) -> Answer {
        answer(
            self.agent
                .delete(format!("{}{path}", self.base))
                .header("Authorization", format!("Bearer {token}"))
                .call(),
        )
    }

    /// Polls a job until it finishes.
    pub fn wait_job(&self, token: &str, id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let a = self.get(&format!("/api/v1/jobs/{id}"), Some(token));
            assert_eq!(a.status, 200, "{}", a.text);
            match a.body["status"].as_str() {
                Some("succeeded") | Some("failed") => return a.body,
                _ => {}
            }
            assert!(
                Instant::now() < deadline,
                "job {id} did not finish: {}",
                a.text
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, then waits for a clean exit.
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        let ok = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success();
        assert!(ok);
        let status = self.child.wait().unwrap();
        assert!(status.success(), "the server exited with {status}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

pub fn hs256(claims: Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

pub fn token(tenant: &str) -> String {
    hs256(json!({"tenant": tenant, "sub": "test", "exp": now() + 600}))
}
