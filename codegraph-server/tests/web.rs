//! The web view: served by `codegraph serve` at `/` and by `codegraph ui`, checked over
//! HTTP here and in a real browser by `tests/web/ui.test.mjs` (playwright-core driving
//! Debian's chromium).
//!
//! The browser test needs node, a chromium (`CHROMIUM`, or `/usr/bin/chromium`) and
//! playwright-core installed from `tests/web/package.json` (`CODEGRAPH_PLAYWRIGHT`, or
//! `~/.cache/codegraph/playwright`, where `.ci/run` puts it with `npm ci`). Without
//! them it skips with a message; under `CODEGRAPH_REQUIRE_SERVICES` it fails instead.
//! Screenshots go to `CODEGRAPH_WEB_SHOTS` (default: the target's temporary directory).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::server::{Server, token};
use common::write;
use serde_json::json;

/// A small Python project: a call chain two files long, methods called on an annotated
/// parameter, a caller of the caller, and a call of a name two modules define that
/// nothing imports (a guess by name).
fn fixture(root: &Path) {
    write(root, "inventory/__init__.py", "");
    write(
        root,
        "inventory/store.py",
        "class Store:\n    \"\"\"Items on the shelves.\"\"\"\n\n    def __init__(self):\n        self.items = {}\n\n    \
         def add_item(self, name, count):\n        self.items[name] = self.items.get(name, 0) + count\n\n    \
         def total(self):\n        return sum(self.items.values())\n\n\n\
         def restock(store: Store, names):\n    \"\"\"Put ten of each named item back on the shelves.\"\"\"\n    \
         for name in names:\n        store.add_item(name, 10)\n    return store.total()\n\n\n\
         def audit(store):\n    return store\n",
    );
    write(
        root,
        "inventory/report.py",
        "from inventory.store import Store, restock\n\n\n\
         def nightly_report():\n    shelf = Store()\n    audit(shelf)\n    return restock(shelf, [\"apples\", \"pears\"])\n\n\n\
         def weekly_report():\n    return [nightly_report() for _ in range(7)]\n",
    );
    write(
        root,
        "inventory/ledger.py",
        "def audit(entries):\n    return len(entries)\n",
    );
}

fn analyze(server: &Server, token: &str, project: &str, path: &Path) {
    let a = server.post_json(
        "/api/v1/analyze",
        token,
        &json!({"project": project, "path": path}),
    );
    assert_eq!(a.status, 202, "{}", a.text);
    let job = server.wait_job(token, a.body["job_id"].as_str().unwrap());
    assert_eq!(job["status"], "succeeded", "{job}");
}

#[test]
fn the_page_and_its_routes_are_served_without_a_token_and_keep_to_this_origin() {
    let data = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    fixture(&root.path().join("shop"));
    let server = Server::start(data.path(), root.path(), &[]);
    let page = server.get("/", None);
    assert_eq!(page.status, 200);
    assert!(
        page.text
            .contains("<script type=\"module\" src=\"/ui/app.js\">")
    );
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("connect-src 'self'"));
    for asset in [
        "app.js",
        "api.js",
        "views.js",
        "graph.js",
        "highlight.js",
        "style.css",
    ] {
        let a = server.get(&format!("/ui/{asset}"), None);
        assert_eq!(a.status, 200, "{asset}");
        assert!(!a.text.is_empty());
        // Nothing the page loads names another origin (the SVG namespace is a name,
        // not a place anything is fetched from).
        let other = a
            .text
            .replace("http://www.w3.org/2000/svg", "")
            .contains("://");
        assert!(!other, "{asset} names another origin");
    }
    assert_eq!(server.get("/ui/nope.js", None).status, 404);
    // The data still needs the token.
    assert_eq!(server.get("/api/v1/projects", None).status, 401);
    let t = token("acme");
    analyze(&server, &t, "shop", &root.path().join("shop"));
    let info = server.get("/api/v1/projects/shop", Some(&t));
    assert_eq!(
        info.body["languages"][0]["language"], "python",
        "{}",
        info.text
    );
    assert!(info.body["indexed_ms"].as_u64().is_some(), "{}", info.text);
    let source = server.get(
        "/api/v1/projects/shop/source?path=inventory/store.py&start=14&end=15",
        Some(&t),
    );
    assert_eq!(source.status, 200, "{}", source.text);
    assert_eq!(
        source.body["lines"][0], "def restock(store: Store, names):",
        "{}",
        source.text
    );
    let outside = server.get("/api/v1/projects/shop/source?path=../etc/passwd", Some(&t));
    assert_eq!(outside.status, 400, "{}", outside.text);
    let unknown = server.get("/api/v1/projects/shop/source?path=nope.py", Some(&t));
    assert_eq!(unknown.status, 404, "{}", unknown.text);
    let map = server.get("/api/v1/projects/shop/repo_map?limit=5", Some(&t));
    assert_eq!(map.status, 200, "{}", map.text);
    assert!(!map.body["results"].as_array().unwrap().is_empty());
    let hits = server.get(
        "/api/v1/projects/shop/search?q=restock&mode=text&matches=true",
        Some(&t),
    );
    let first = &hits.body["results"][0];
    assert_eq!(
        first["qualified_name"], "inventory.store.restock",
        "{}",
        hits.text
    );
    assert_eq!(
        first["signature"], "def restock(store: Store, names)",
        "{}",
        hits.text
    );
    assert_eq!(first["matches"][0]["line"], 14, "{}", hits.text);
    let jobs = server.get("/api/v1/jobs?project=shop", Some(&t));
    assert_eq!(jobs.body["jobs"][0]["status"], "succeeded", "{}", jobs.text);
    // Another tenant sees none of it.
    let other = token("rival");
    assert_eq!(
        server
            .get(
                "/api/v1/projects/shop/source?path=inventory/store.py",
                Some(&other)
            )
            .status,
        404
    );
    assert!(
        server.get("/api/v1/jobs", Some(&other)).body["jobs"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

/// `codegraph ui` over a store `codegraph index` wrote: no token, loopback only.
#[test]
fn ui_serves_a_local_store_on_loopback_without_a_token() {
    let dir = tempfile::tempdir().unwrap();
    fixture(&dir.path().join("shop"));
    let db = dir.path().join("db");
    let out = common::run(
        common::codegraph()
            .args(["index", "--no-embed", "-q", "--db"])
            .arg(&db)
            .arg(dir.path().join("shop")),
    );
    assert!(out.status.success());
    let refused = common::codegraph()
        .args(["ui", "--addr", "0.0.0.0:0", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("loopback"));
    let server = Server::attach(
        common::codegraph()
            .args(["ui", "--addr", "127.0.0.1:0", "--db"])
            .arg(&db)
            // `codegraph serve`'s settings are not `codegraph ui`'s.
            .env("CODEGRAPH_JWT_SECRET_FILE", dir.path().join("no-such-file"))
            .env("CODEGRAPH_CLUSTER", "nats://127.0.0.1:1")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let get = |path: &str| server.get(path, None);
    // A page elsewhere whose name was rebound to 127.0.0.1 gets nothing.
    let rebound = server.get_headers("/api/v1/projects", &[("Host", "evil.example:7879")]);
    assert_eq!(rebound.status, 403, "{}", rebound.text);
    let cross_origin = server.get_headers("/api/v1/projects", &[("Origin", "http://evil.example")]);
    assert_eq!(cross_origin.status, 403, "{}", cross_origin.text);
    // Read-only: nothing is analysed.
    let analyze = common::server::answer(
        server
            .agent
            .post(format!("{}/api/v1/analyze", server.base))
            .send_json(json!({"project": "x", "path": "/tmp"})),
    );
    assert_eq!(analyze.status, 403, "{}", analyze.text);
    let projects = get("/api/v1/projects");
    assert_eq!(projects.status, 200, "{}", projects.text);
    assert_eq!(
        projects.body["projects"][0]["name"], "shop",
        "{}",
        projects.text
    );
    let callers = get("/api/v1/projects/shop/callers?symbol=inventory.store.restock");
    assert_eq!(
        callers.body["results"][0]["qualified_name"], "inventory.report.nightly_report",
        "{}",
        callers.text
    );
    let source = get("/api/v1/projects/shop/source?path=inventory/report.py&start=4&end=4");
    assert_eq!(
        source.body["lines"][0], "def nightly_report():",
        "{}",
        source.text
    );
    assert_eq!(get("/").status, 200);
}

fn playwright_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("CODEGRAPH_PLAYWRIGHT")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/codegraph/playwright"))
        })?;
    dir.join("node_modules/playwright-core/package.json")
        .is_file()
        .then_some(dir)
}

/// node, chromium and playwright-core, or why not.
fn browser_tools() -> Result<(PathBuf, PathBuf), String> {
    let node_ok = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !node_ok {
        return Err("no node on PATH (apt-get install nodejs npm)".into());
    }
    let chromium = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if !chromium.is_file() {
        return Err(format!(
            "no chromium at {} (apt-get install chromium, or set CHROMIUM)",
            chromium.display()
        ));
    }
    let playwright = playwright_dir().ok_or(
        "no playwright-core (npm ci --prefix ~/.cache/codegraph/playwright with \
         codegraph-server/tests/web/package.json and its lock file, or set CODEGRAPH_PLAYWRIGHT)",
    )?;
    Ok((chromium, playwright))
}

#[test]
fn the_web_view_works_in_a_real_browser() {
    let (chromium, playwright) = match browser_tools() {
        Ok(tools) => tools,
        Err(how) => {
            assert!(
                std::env::var_os("CODEGRAPH_REQUIRE_SERVICES").is_none(),
                "CODEGRAPH_REQUIRE_SERVICES is set, and {how}"
            );
            eprintln!("skipped: {how}");
            return;
        }
    };
    let data = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    fixture(&root.path().join("shop"));
    std::fs::create_dir_all(root.path().join("vault")).unwrap();
    write(
        &root.path().join("vault"),
        "secret.py",
        "def secret():\n    return 1\n",
    );
    let server = Server::start(data.path(), root.path(), &[]);
    let (acme, rival) = (token("acme"), token("rival"));
    analyze(&server, &acme, "shop", &root.path().join("shop"));
    analyze(&server, &rival, "vault", &root.path().join("vault"));
    let shots = std::env::var_os("CODEGRAPH_WEB_SHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("web-screenshots"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/web/ui.test.mjs");
    let out = Command::new("node")
        .arg(&script)
        .env("CODEGRAPH_BASE", &server.base)
        .env("CODEGRAPH_TOKEN", &acme)
        .env("CODEGRAPH_PROJECT", "shop")
        .env("CODEGRAPH_OTHER", "vault")
        .env("CODEGRAPH_SHOTS", &shots)
        .env("CODEGRAPH_PLAYWRIGHT", &playwright)
        .env("CHROMIUM", &chromium)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    println!("screenshots: {}", shots.display());
    assert!(out.status.success(), "the browser test failed:\n{stdout}");
    assert!(stdout.contains("ok - the back button returns to the definition"));
    assert!(!stdout.contains("not ok"));
}
