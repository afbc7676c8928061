//! `codegraph mcp` and `/mcp` on `codegraph serve`, driven by a real MCP client: the
//! official Python SDK (PyPI `mcp`), over stdio (`tests/mcp/client.py`) and over
//! streamable HTTP with tokens of two tenants (`tests/mcp/http_client.py`).
//!
//! The client needs a Python with `mcp` installed: `CODEGRAPH_MCP_PYTHON`, or the venv
//! `.ci/run` makes at `~/.cache/codegraph/mcp-venv`. Without one the test skips with a
//! message; under `CODEGRAPH_REQUIRE_SERVICES` (`.ci/run`) it fails instead.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::write;

fn python_with_mcp() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("CODEGRAPH_MCP_PYTHON").map(PathBuf::from),
        std::env::var_os("HOME")
            .map(|h| PathBuf::from(h).join(".cache/codegraph/mcp-venv/bin/python")),
    ];
    for python in candidates.into_iter().flatten() {
        let ok = Command::new(&python)
            .args(["-c", "import mcp"])
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return Some(python);
        }
    }
    let how = "no Python with the `mcp` package (python3 -m venv ~/.cache/codegraph/mcp-venv && \
               ~/.cache/codegraph/mcp-venv/bin/pip install mcp; or set CODEGRAPH_MCP_PYTHON)";
    assert!(
        std::env::var_os("CODEGRAPH_REQUIRE_SERVICES").is_none(),
        "CODEGRAPH_REQUIRE_SERVICES is set, and {how}"
    );
    eprintln!("skipped: {how}");
    None
}

/// A small Python project: a call chain, a name two modules define (so that a call of
/// it that nothing imports is a guess), and a file too big for one page.
fn fixture(root: &Path) {
    write(
        root,
        "app.py",
        "def load_config(path):\n    \"\"\"Read the settings file.\"\"\"\n    return open(path).read()\n\n\
         def main():\n    from server import start_server\n    load_config('a.toml')\n    start_server()\n",
    );
    write(
        root,
        "server.py",
        "from app import load_config\n\ndef start_server():\n    settings = load_config('s.toml')\n    \
         return settings\n\ndef show():\n    return render()\n",
    );
    write(root, "helpers.py", "def render():\n    return 'helpers'\n");
    write(root, "other.py", "def render():\n    return 'other'\n");
    let mut big = String::from("def big():\n");
    for i in 0..300 {
        big += &format!("    x{i} = {i}\n");
    }
    big += "    return 0\n\n";
    for i in 0..200 {
        big += &format!("def big_{i}(a, b):\n    return big() + {i}\n\n");
    }
    write(root, "big.py", &big);
}

#[test]
fn the_python_sdk_lists_calls_and_sees_edits_over_stdio() {
    let Some(python) = python_with_mcp() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("proj");
    fixture(&project);
    let db = tmp.path().join("store");
    let client = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp/client.py");
    let output = Command::new(python)
        .arg(client)
        .arg("--binary")
        .arg(env!("CARGO_BIN_EXE_codegraph"))
        .arg("--project")
        .arg(&project)
        .arg("--db")
        .arg(&db)
        .env_remove("CODEGRAPH_MODEL_DIR")
        .output()
        .expect("python runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the MCP client failed:\n{stderr}");
    assert!(stderr.contains("all checks passed"), "{stderr}");
    // The session ended cleanly: the store is free for the next process.
    common::run(
        common::codegraph()
            .arg("query")
            .arg("--db")
            .arg(&db)
            .args(["callers", "load_config"]),
    );
}

#[cfg(feature = "serve")]
#[test]
fn over_http_a_tenant_reads_its_own_projects_and_no_other() {
    use common::server::{Server, token};
    let Some(python) = python_with_mcp() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("roots");
    let (mine, theirs) = (root.join("mine"), root.join("theirs"));
    write(
        &mine,
        "app.py",
        "def helper(x):\n    return x + 1\n\n\ndef main():\n    return helper(2)\n",
    );
    write(&theirs, "other.py", "def elsewhere():\n    return 0\n");
    let server = Server::start(&tmp.path().join("data"), &root, &[]);
    let (a, b) = (token("alpha"), token("beta"));
    for (t, project, path) in [(&a, "mine", &mine), (&b, "theirs", &theirs)] {
        let job = server.post_json(
            "/api/v1/analyze",
            t,
            &serde_json::json!({"project": project, "path": path}),
        );
        assert_eq!(job.status, 202, "{}", job.text);
        let done = server.wait_job(t, job.body["job_id"].as_str().unwrap());
        assert_eq!(done["status"], "succeeded", "{done}");
    }
    let client = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp/http_client.py");
    let output = Command::new(python)
        .arg(client)
        .args(["--url", &format!("{}/mcp", server.base)])
        .args(["--token", &a, "--other-token", &b, "--project", "mine"])
        .output()
        .expect("python runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the MCP client failed:\n{stderr}");
    assert!(stderr.contains("all checks passed"), "{stderr}");
    server.stop();
}
