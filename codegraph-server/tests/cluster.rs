//! Cluster mode (`codegraph serve --cluster`) against real NATS servers, started by
//! the tests on free loopback ports. Without `nats-server` installed each test says
//! so and passes; `.ci/run` installs it.

mod common;

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use common::server::{Answer, Server, token};
#[cfg(feature = "redis")]
use common::services::Redis;
use common::services::{Nats, NatsCluster, signal};
use serde_json::{Value, json};

/// Four directories (NATS's store, two nodes' data, a shared root) and a NATS server
/// on the first; `None` when it is not installed.
fn services() -> Option<(Vec<tempfile::TempDir>, Nats)> {
    let dirs: Vec<_> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let nats = Nats::start(dirs[0].path())?;
    Some((dirs, nats))
}

fn node(data: &Path, root: &Path, nats: &Nats) -> Server {
    node_with(data, root, nats, &[], &[])
}

/// A node with a short node TTL and job lease (2 s), one worker, and `extra` flags.
fn node_with(
    data: &Path,
    root: &Path,
    nats: &Nats,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Server {
    let url = nats.url();
    let mut args = vec![
        "--cluster",
        url.as_str(),
        "--node-ttl",
        "2",
        "--job-ack-wait",
        "2",
        "--workers",
        "1",
    ];
    args.extend_from_slice(extra);
    Server::start_with_env(data, root, &args, env)
}

/// A small Python project as a .tar.gz, its content made distinct by `salt`.
fn project_tgz(salt: &str) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    let files = [
        (
            "pkg/app.py",
            format!("from pkg.util import helper\n\ndef main():\n    return helper(2)\n# {salt}\n"),
        ),
        (
            "pkg/util.py",
            "def helper(x):\n    return x + 1\n".to_string(),
        ),
    ];
    for (name, text) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(text.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, name, text.as_bytes()).unwrap();
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar.into_inner().unwrap()).unwrap();
    gz.finish().unwrap()
}

fn upload(server: &Server, t: &str, project: &str, body: &[u8]) -> Answer {
    server.post_raw(
        &format!("/api/v1/analyze?project={project}"),
        t,
        "application/gzip",
        body,
    )
}

/// Polls a job on `server` until `done` says so, for at most `limit`.
fn wait_until(
    server: &Server,
    t: &str,
    id: &str,
    limit: Duration,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let a = server.get(&format!("/api/v1/jobs/{id}"), Some(t));
        // 503 while NATS is away (a fault test restarts it); anything else is wrong.
        if a.status != 503 {
            assert_eq!(a.status, 200, "{}", a.text);
            if done(&a.body) {
                return a.body;
            }
        }
        assert!(Instant::now() < deadline, "job {id}: {}", a.text);
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn finished(job: &Value) -> bool {
    matches!(job["status"].as_str(), Some("succeeded" | "failed"))
}

fn address(server: &Server) -> String {
    server.base.trim_start_matches("http://").to_string()
}

fn live_addresses(server: &Server, t: &str) -> Vec<String> {
    let a = server.get("/api/v1/cluster", Some(t));
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.body["mode"], "cluster", "{}", a.text);
    let mut out: Vec<String> = a.body["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| format!("http://{}", n["address"].as_str().unwrap()))
        .collect();
    out.sort();
    out
}

#[test]
fn nodes_register_and_a_killed_node_drops_out_after_its_ttl() {
    let Some((dirs, nats)) = services() else {
        return;
    };
    let a = node(dirs[1].path(), dirs[3].path(), &nats);
    let b = node(dirs[2].path(), dirs[3].path(), &nats);
    let t = token("acme");
    let mut both = vec![a.base.clone(), b.base.clone()];
    both.sort();
    // Each node lists both, from the registry.
    assert_eq!(live_addresses(&a, &t), both);
    assert_eq!(live_addresses(&b, &t), both);
    let me = a.get("/api/v1/cluster", Some(&t)).body["me"].clone();
    assert!(me.as_str().is_some_and(|id| id.len() == 32), "{me}");
    // Both nodes own every project while there are two, and agree on the order.
    let owners = |s: &Server| {
        let o = s.get("/api/v1/cluster?project=flask", Some(&t));
        assert_eq!(o.status, 200, "{}", o.text);
        o.body["project"]["owners"].clone()
    };
    assert_eq!(owners(&a), owners(&b));
    assert_eq!(owners(&a).as_array().unwrap().len(), 2);
    assert_eq!(a.get("/api/v1/cluster?project=../x", Some(&t)).status, 400);
    // Killed without a word: gone once its TTL (2 s) passes, and not before it
    // stopped beating.
    signal(&b.child, "KILL");
    let killed = Instant::now();
    loop {
        let live = live_addresses(&a, &t);
        if live == vec![a.base.clone()] {
            break;
        }
        assert_eq!(live, both);
        assert!(
            killed.elapsed() < Duration::from_secs(10),
            "a killed node is still listed after 10 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(killed.elapsed() < Duration::from_secs(5));
    // The survivor owns everything alone.
    assert_eq!(owners(&a), serde_json::json!([me]));
    // A clean stop leaves at once: a new node sees only itself.
    a.stop();
    let c = node(dirs[1].path(), dirs[3].path(), &nats);
    assert_eq!(live_addresses(&c, &t), vec![c.base.clone()]);
}

#[test]
fn a_node_that_cannot_reach_nats_does_not_start() {
    let data = tempfile::tempdir().unwrap();
    let closed = common::services::free_port();
    let out = common::codegraph()
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .args(["--cluster", &format!("nats://127.0.0.1:{closed}")])
        .env("CODEGRAPH_JWT_SECRET", common::server::SECRET)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot join the cluster") && err.contains("cannot reach NATS"),
        "{err}"
    );
    // Not a NATS address at all: refused before anything is tried.
    let out = common::codegraph()
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .args(["--cluster", "redis://127.0.0.1:6379"])
        .env("CODEGRAPH_JWT_SECRET", common::server::SECRET)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nats://"));
}

#[test]
fn a_single_process_says_so() {
    let data = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), root.path(), &[]);
    let a = server.get("/api/v1/cluster", Some(&token("acme")));
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.body["mode"], "single");
    assert_eq!(server.get("/api/v1/cluster", None).status, 401);
}

#[test]
fn a_job_sent_to_one_node_is_run_once_and_read_from_every_node() {
    let Some((dirs, nats)) = services() else {
        return;
    };
    let a = node(dirs[1].path(), dirs[3].path(), &nats);
    let b = node(dirs[2].path(), dirs[3].path(), &nats);
    let t = token("acme");
    let tgz = project_tgz("one");
    // The same upload to both nodes at once: one job.
    let (ra, rb) = std::thread::scope(|s| {
        let ha = s.spawn(|| upload(&a, &t, "demo", &tgz));
        let hb = s.spawn(|| upload(&b, &t, "demo", &tgz));
        (ha.join().unwrap(), hb.join().unwrap())
    });
    assert_eq!(ra.status, 202, "{}", ra.text);
    assert_eq!(rb.status, 202, "{}", rb.text);
    let id = ra.body["job_id"].as_str().unwrap().to_string();
    assert_eq!(rb.body["job_id"], id.as_str());
    let job = wait_until(&b, &t, &id, Duration::from_secs(60), finished);
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["attempts"], 1, "{job}");
    assert!(job["result"]["parsed"].as_u64().unwrap() >= 2, "{job}");
    // The record names the node that ran it, and reads the same from the other.
    let ran = job["node"].as_str().unwrap();
    assert!(
        [address(&a), address(&b)].contains(&ran.to_string()),
        "{job}"
    );
    let from_a = a.get(&format!("/api/v1/jobs/{id}"), Some(&t));
    assert_eq!(from_a.body, job);
    // Another tenant does not see it.
    assert_eq!(
        a.get(&format!("/api/v1/jobs/{id}"), Some(&token("other")))
            .status,
        404
    );
    // Sent again unchanged: answered from the record.
    let again = upload(&a, &t, "demo", &tgz);
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body["cached"], true);
    // A poison job (a gzip stream that is not a tar) fails once, with its reason.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&[0xAB; 4096]).unwrap();
    let poison = upload(&b, &t, "poison", &gz.finish().unwrap());
    assert_eq!(poison.status, 202, "{}", poison.text);
    let pid = poison.body["job_id"].as_str().unwrap();
    let job = wait_until(&a, &t, pid, Duration::from_secs(60), finished);
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["attempts"], 1, "{job}");
    assert!(job["error"]["code"].as_str().is_some(), "{job}");
    // Not delivered again: after two leases the record is the same.
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(a.get(&format!("/api/v1/jobs/{pid}"), Some(&t)).body, job);
    check_invariant(&nats.url());
}

/// Node A, holding every job `pause_ms` before it runs, takes the upload of `salt`'s
/// project: A and the job's id once its record says A runs it.
fn a_holds_a_job(
    dirs: &[tempfile::TempDir],
    nats: &Nats,
    t: &str,
    flags: &[&str],
    pause_ms: &str,
    salt: &str,
) -> (Server, String) {
    let a = node_with(
        dirs[1].path(),
        dirs[3].path(),
        nats,
        flags,
        &[("CODEGRAPH_TEST_JOB_PAUSE_MS", pause_ms)],
    );
    let r = upload(&a, t, "demo", &project_tgz(salt));
    assert_eq!(r.status, 202, "{}", r.text);
    let id = r.body["job_id"].as_str().unwrap().to_string();
    let running = wait_until(&a, t, &id, Duration::from_secs(30), |j| {
        j["status"] == "running"
    });
    assert_eq!(running["node"], address(&a).as_str());
    (a, id)
}

#[test]
fn a_killed_worker_s_job_is_finished_by_another_node() {
    let Some((dirs, nats)) = services() else {
        return;
    };
    let t = token("acme");
    // A holds every job 60 s: it takes the job, and is killed holding it.
    let (a, id) = a_holds_a_job(&dirs, &nats, &t, &[], "60000", "kill");
    let b = node(dirs[2].path(), dirs[3].path(), &nats);
    signal(&a.child, "KILL");
    let killed = Instant::now();
    let job = wait_until(&b, &t, &id, Duration::from_secs(60), finished);
    assert_eq!(job["status"], "succeeded", "{job}");
    // Delivered twice, finished by B once A's lease (2 s) ran out.
    assert_eq!(job["attempts"], 2, "{job}");
    assert_eq!(job["node"], address(&b).as_str());
    assert!(
        killed.elapsed() >= Duration::from_secs(1),
        "{:?}",
        killed.elapsed()
    );
    // One new generation, not two, and B serves it.
    let info = b.get("/api/v1/cluster?project=demo", Some(&t)).body;
    assert_eq!(info["project"]["generation"], 1, "{info}");
    assert_eq!(
        info["project"]["index"]["built_on"],
        address(&b).as_str(),
        "{info}"
    );
    let q = b.get("/api/v1/projects/demo/callers?symbol=helper", Some(&t));
    assert_eq!(q.status, 200, "{}", q.text);
    assert_eq!(q.body["results"][0]["name"], "main", "{}", q.text);
    check_invariant(&nats.url());
}

#[test]
fn a_stopped_worker_that_comes_back_cannot_overwrite_the_result() {
    let Some((dirs, nats)) = services() else {
        return;
    };
    let t = token("acme");
    // A holds its job 3 s, is stopped past its lease, and resumes after B finished.
    let (a, id) = a_holds_a_job(&dirs, &nats, &t, &[], "3000", "stop");
    signal(&a.child, "STOP");
    let b = node(dirs[2].path(), dirs[3].path(), &nats);
    let job = wait_until(&b, &t, &id, Duration::from_secs(60), finished);
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["node"], address(&b).as_str());
    signal(&a.child, "CONT");
    // A's pause ends, it runs the job and tries to record it: its compare-and-set
    // fails, and the record stays B's.
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(b.get(&format!("/api/v1/jobs/{id}"), Some(&t)).body, job);
    assert_eq!(a.get(&format!("/api/v1/jobs/{id}"), Some(&t)).body, job);
    // The manifest did not move: B's generation, B's object.
    let info = b.get("/api/v1/cluster?project=demo", Some(&t)).body;
    assert_eq!(info["project"]["generation"], 1, "{info}");
    assert_eq!(
        info["project"]["index"]["built_on"],
        address(&b).as_str(),
        "{info}"
    );
    check_invariant(&nats.url());
}

#[test]
fn a_job_whose_workers_keep_dying_fails_as_lost() {
    let Some((dirs, nats)) = services() else {
        return;
    };
    let t = token("acme");
    let (a, id) = a_holds_a_job(
        &dirs,
        &nats,
        &t,
        &["--job-max-deliver", "1"],
        "60000",
        "lost",
    );
    let b = node_with(
        dirs[2].path(),
        dirs[3].path(),
        &nats,
        &["--job-max-deliver", "1"],
        &[],
    );
    signal(&a.child, "KILL");
    let job = wait_until(&b, &t, &id, Duration::from_secs(30), finished);
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["error"]["code"], "worker_lost", "{job}");
    // A new submission of the same content runs it again, and it succeeds.
    let again = upload(&b, &t, "demo", &project_tgz("lost"));
    assert_eq!(again.status, 202, "{}", again.text);
    assert_eq!(again.body["job_id"], id.as_str());
    let job = wait_until(&b, &t, &id, Duration::from_secs(60), |j| {
        j["status"] == "succeeded"
    });
    assert_eq!(job["node"], address(&b).as_str());
    check_invariant(&nats.url());
}

/// A small Python project with calls across files, written under `root`.
fn write_project(root: &Path, name: &str) -> std::path::PathBuf {
    let dir = root.join(name);
    common::write(
        &dir,
        "app.py",
        "from util import helper\n\n\ndef main():\n    return helper(2)\n\n\n\
         class Greeter:\n    def greet(self, name):\n        return helper(len(name))\n",
    );
    common::write(
        &dir,
        "util.py",
        "def helper(x):\n    \"\"\"Add one.\"\"\"\n    return x + 1\n",
    );
    dir
}

#[test]
fn queries_answer_the_same_from_every_node_as_from_one_process() {
    let Some((dirs, nats)) = services() else {
        return;
    };
    let a = node(dirs[1].path(), dirs[3].path(), &nats);
    let b = node(dirs[2].path(), dirs[3].path(), &nats);
    let single_data = tempfile::tempdir().unwrap();
    let single = Server::start(single_data.path(), dirs[3].path(), &[]);
    let t = token("acme");
    let path = write_project(dirs[3].path(), "demo");
    let body = serde_json::json!({"project": "demo", "path": path});
    for server in [&a, &single] {
        let r = server.post_json("/api/v1/analyze", &t, &body);
        assert_eq!(r.status, 202, "{}", r.text);
        let job = server.wait_job(&t, r.body["job_id"].as_str().unwrap());
        assert_eq!(job["status"], "succeeded", "{job}");
    }
    let info = a.get("/api/v1/cluster?project=demo", Some(&t)).body;
    assert_eq!(info["project"]["generation"], 1, "{info}");
    let index = &info["project"]["index"];
    assert_eq!(index["built_on"], address(&a).as_str(), "{info}");
    assert_eq!(index["checksum"].as_str().unwrap().len(), 64, "{info}");
    assert!(index["bytes"].as_u64().unwrap() > 0, "{info}");
    for query in [
        "/api/v1/projects/demo/search?q=helper&mode=text&limit=5",
        "/api/v1/projects/demo/symbols?name=helper",
        "/api/v1/projects/demo/callers?symbol=helper",
        "/api/v1/projects/demo/impact?symbol=helper&depth=3",
        "/api/v1/projects/demo/outline?path=app.py",
        "/api/v1/projects/demo/symbols?name=nothing_of_the_kind",
    ] {
        let want = single.get(query, Some(&t));
        assert_eq!(want.status, 200, "{query}: {}", want.text);
        for server in [&a, &b] {
            let got = server.get(query, Some(&t));
            assert_eq!(
                (got.status, &got.body),
                (want.status, &want.body),
                "{query} from {}",
                server.base
            );
        }
    }
    // Both nodes own the project (the top two of two): each serves it, restored
    // from the object store.
    let info = b.get("/api/v1/cluster?project=demo", Some(&t)).body;
    let mut serving: Vec<&str> = info["project"]["serving"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    serving.sort();
    let mut both = vec![address(&a), address(&b)];
    both.sort();
    assert_eq!(serving, both, "{info}");
    // Each node lists what it serves of the caller's projects, by name; another
    // tenant sees none of them.
    for n in info["nodes"].as_array().unwrap() {
        assert_eq!(n["serving"]["demo"], 1, "{info}");
    }
    let theirs = b.get("/api/v1/cluster", Some(&token("other"))).body;
    for n in theirs["nodes"].as_array().unwrap() {
        assert_eq!(n["serving"], serde_json::json!({}), "{theirs}");
    }
    // The project is listed by every node.
    for server in [&a, &b] {
        let list = server.get("/api/v1/projects", Some(&t));
        assert_eq!(list.status, 200, "{}", list.text);
        assert_eq!(list.body["projects"][0]["name"], "demo", "{}", list.text);
        assert_eq!(list.body["projects"][0]["files"], 2, "{}", list.text);
    }
    // A forward carries the client's token, checked again by the node serving it:
    // another tenant's token finds nothing, and no token is refused.
    for server in [&a, &b] {
        let other = server.get(
            "/api/v1/projects/demo/symbols?name=helper",
            Some(&token("other")),
        );
        assert_eq!(other.status, 404, "{}", other.text);
        assert_eq!(
            server
                .get("/api/v1/projects/demo/symbols?name=helper", None)
                .status,
            401
        );
    }
    // GraphQL is answered by every node.
    let gql =
        serde_json::json!({"query": "{ symbols(project: \"demo\", name: \"helper\") { name } }"});
    for server in [&a, &b] {
        let r = server.post_json("/api/v1/graphql", &t, &gql);
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["data"]["symbols"][0]["name"], "helper", "{}", r.text);
    }
    // A search over several projects: each part answered where the project is
    // served, merged by rank, the same as one process merges it. A project that
    // does not exist makes the answer partial, and says so.
    let other = write_project(dirs[3].path(), "other");
    let body = serde_json::json!({"project": "other", "path": other});
    for server in [&b, &single] {
        let r = server.post_json("/api/v1/analyze", &t, &body);
        assert_eq!(r.status, 202, "{}", r.text);
        let job = server.wait_job(&t, r.body["job_id"].as_str().unwrap());
        assert_eq!(job["status"], "succeeded", "{job}");
    }
    let fan = "/api/v1/search?q=helper&mode=text&limit=6&projects=demo,other";
    let want = single.get(fan, Some(&t));
    assert_eq!(want.status, 200, "{}", want.text);
    assert_eq!(want.body["partial"], false, "{}", want.text);
    let from: Vec<&str> = want.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["project"].as_str().unwrap())
        .collect();
    assert!(
        from.contains(&"demo") && from.contains(&"other"),
        "{}",
        want.text
    );
    for server in [&a, &b] {
        let got = server.get(fan, Some(&t));
        assert_eq!(
            (got.status, &got.body),
            (want.status, &want.body),
            "{}",
            server.base
        );
        // Every project of the tenant, when none is named.
        let all = server.get("/api/v1/search?q=helper&mode=text", Some(&t));
        assert_eq!(
            all.body["projects"],
            serde_json::json!(["demo", "other"]),
            "{}",
            all.text
        );
        let some = server.get(
            "/api/v1/search?q=helper&mode=text&projects=demo,nowhere",
            Some(&t),
        );
        assert_eq!(some.status, 200, "{}", some.text);
        assert_eq!(some.body["partial"], true, "{}", some.text);
        assert_eq!(
            some.body["missing"][0]["project"], "nowhere",
            "{}",
            some.text
        );
        assert_eq!(
            some.body["missing"][0]["error"]["code"], "project_not_found",
            "{}",
            some.text
        );
        assert!(!some.body["results"].as_array().unwrap().is_empty());
    }
    // A project removed through one node is gone from every node, and its index
    // object with it; analysed again, it runs again.
    let removed = b.delete("/api/v1/projects/other", &t);
    assert_eq!(removed.status, 200, "{}", removed.text);
    assert_eq!(a.delete("/api/v1/projects/other", &token("x")).status, 404);
    for server in [&a, &b] {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let q = server.get("/api/v1/projects/other/symbols?name=helper", Some(&t));
            if q.status == 404 {
                break;
            }
            assert!(Instant::now() < deadline, "{}: {}", server.base, q.text);
            std::thread::sleep(Duration::from_millis(50));
        }
        let list = server.get("/api/v1/projects", Some(&t));
        assert_eq!(
            list.body["projects"].as_array().unwrap().len(),
            1,
            "{}",
            list.text
        );
    }
    let info = a.get("/api/v1/cluster?project=other", Some(&t)).body;
    assert!(info["project"]["index"].is_null(), "{info}");
    // Two different analyses of one project at once run one after the other, and
    // each makes a generation.
    let (r1, r2) = std::thread::scope(|s| {
        let h1 = s.spawn(|| upload(&a, &t, "demo", &project_tgz("first")));
        let h2 = s.spawn(|| upload(&b, &t, "demo", &project_tgz("second")));
        (h1.join().unwrap(), h2.join().unwrap())
    });
    let jobs: Vec<Value> = [r1, r2]
        .iter()
        .map(|r| {
            assert_eq!(r.status, 202, "{}", r.text);
            wait_until(
                &a,
                &t,
                r.body["job_id"].as_str().unwrap(),
                Duration::from_secs(60),
                finished,
            )
        })
        .collect();
    for j in &jobs {
        assert_eq!(j["status"], "succeeded", "{j}");
    }
    let (s0, f0) = (
        jobs[0]["started_ms"].as_u64().unwrap(),
        jobs[0]["finished_ms"].as_u64().unwrap(),
    );
    let (s1, f1) = (
        jobs[1]["started_ms"].as_u64().unwrap(),
        jobs[1]["finished_ms"].as_u64().unwrap(),
    );
    assert!(
        f0 <= s1 || f1 <= s0,
        "two runs of one project overlapped: {jobs:?}"
    );
    let info = b.get("/api/v1/cluster?project=demo", Some(&t)).body;
    assert_eq!(info["project"]["generation"], 3, "{info}");
    assert!(info["project"]["running"].is_null(), "{info}");
    check_invariant(&nats.url());
}

#[test]
fn a_running_job_cancelled_through_another_node_stops_and_says_so() {
    let Some((dirs, nats)) = services() else {
        return;
    };
    let t = token("acme");
    let (a, id) = a_holds_a_job(&dirs, &nats, &t, &[], "3000", "cancel");
    let b = node(dirs[2].path(), dirs[3].path(), &nats);
    let asked = b.delete(&format!("/api/v1/jobs/{id}"), &t);
    assert_eq!(asked.status, 202, "{}", asked.text);
    // Its worker sees the request at its next look (a third of the lease), stops,
    // and records the end although the request changed the record meanwhile.
    let job = wait_until(&a, &t, &id, Duration::from_secs(30), finished);
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["error"]["code"], "cancelled", "{job}");
    assert_eq!(job["attempts"], 1, "{job}");
    // Another tenant cannot cancel it, nor see it.
    assert_eq!(
        b.delete(&format!("/api/v1/jobs/{id}"), &token("other"))
            .status,
        404
    );
    check_invariant(&nats.url());
}

#[test]
fn no_accepted_job_is_lost_when_the_nats_server_is_killed_and_restarted() {
    let Some((dirs, mut nats)) = services() else {
        return;
    };
    let t = token("acme");
    // Each job is held 1.5 s, so most are still waiting when NATS dies.
    let a = node_with(
        dirs[1].path(),
        dirs[3].path(),
        &nats,
        &[],
        &[("CODEGRAPH_TEST_JOB_PAUSE_MS", "1500")],
    );
    let ids: Vec<String> = (0..4)
        .map(|i| {
            let r = upload(&a, &t, &format!("p{i}"), &project_tgz(&format!("batch{i}")));
            assert_eq!(r.status, 202, "{}", r.text);
            r.body["job_id"].as_str().unwrap().to_string()
        })
        .collect();
    wait_until(&a, &t, &ids[0], Duration::from_secs(30), |j| {
        j["status"] == "running"
    });
    nats.restart();
    // The node reconnects by itself; every job ends, and succeeds.
    for id in &ids {
        let job = wait_until(&a, &t, id, Duration::from_secs(90), |j| {
            j["status"] == "succeeded" || j["status"] == "failed"
        });
        assert_eq!(job["status"], "succeeded", "{job}");
    }
    // The registry, which lives in memory, is back too.
    assert_eq!(live_addresses(&a, &t), vec![a.base.clone()]);
    check_invariant(&nats.url());
}

#[test]
fn no_accepted_job_is_lost_when_one_of_three_nats_servers_is_killed() {
    let Some((dirs, _single)) = services() else {
        return;
    };
    let nats_dir = tempfile::tempdir().unwrap();
    let Some(mut nats) = NatsCluster::start(nats_dir.path()) else {
        return;
    };
    let url = nats.url();
    // Three copies of every stream and bucket: any one server may go.
    let flags = [
        "--cluster",
        url.as_str(),
        "--cluster-replicas",
        "3",
        "--node-ttl",
        "2",
        "--job-ack-wait",
        "2",
        // A lease of 2 s (the default is 30) lapses several times while the
        // streams the dead server led elect new leaders (4 to 9 s each).
        "--job-max-deliver",
        "10",
        "--workers",
        "1",
    ];
    let env = [("CODEGRAPH_TEST_JOB_PAUSE_MS", "500")];
    let a = Server::start_with_env(dirs[1].path(), dirs[3].path(), &flags, &env);
    let b = Server::start_with_env(dirs[2].path(), dirs[3].path(), &flags, &env);
    let t = token("acme");
    let ids: Vec<String> = (0..6)
        .map(|i| {
            let node = if i % 2 == 0 { &a } else { &b };
            // 503 while the streams just made with three copies elect their leaders.
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let r = upload(
                    node,
                    &t,
                    &format!("p{i}"),
                    &project_tgz(&format!("three{i}")),
                );
                if r.status == 202 {
                    break r.body["job_id"].as_str().unwrap().to_string();
                }
                assert_eq!(r.status, 503, "{}", r.text);
                assert!(Instant::now() < deadline, "{}", r.text);
                std::thread::sleep(Duration::from_millis(200));
            }
        })
        .collect();
    wait_until(&a, &t, &ids[0], Duration::from_secs(30), |j| {
        j["status"] != "queued"
    });
    // The server the nodes most likely talk to goes; they move to another.
    nats.kill(0);
    for id in &ids {
        let job = wait_until(&b, &t, id, Duration::from_secs(120), finished);
        assert_eq!(job["status"], "succeeded", "{job}");
    }
    // Every project answers, from either node (503 only while the streams that
    // lost their leader elect another).
    for i in 0..6 {
        for node in [&a, &b] {
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let q = node.get(
                    &format!("/api/v1/projects/p{i}/symbols?name=helper"),
                    Some(&t),
                );
                if q.status == 200 {
                    break;
                }
                assert_eq!(q.status, 503, "p{i}: {}", q.text);
                assert!(Instant::now() < deadline, "p{i}: {}", q.text);
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
    check_invariant(&format!("nats://127.0.0.1:{}", nats.ports[1]));
}

#[test]
fn after_the_node_that_built_a_project_dies_the_others_serve_it_from_the_object_store() {
    let Some((dirs, nats)) = services() else {
        return;
    };
    let t = token("acme");
    let a = node(dirs[1].path(), dirs[3].path(), &nats);
    let tgz = project_tgz("builder");
    let r = upload(&a, &t, "demo", &tgz);
    let id = r.body["job_id"].as_str().unwrap().to_string();
    let job = wait_until(&a, &t, &id, Duration::from_secs(60), finished);
    assert_eq!(job["status"], "succeeded", "{job}");
    let queries = [
        "/api/v1/projects/demo/symbols?name=helper",
        "/api/v1/projects/demo/callers?symbol=helper",
        "/api/v1/projects/demo/search?q=helper&mode=text&limit=5",
    ];
    let want: Vec<Answer> = queries.iter().map(|q| a.get(q, Some(&t))).collect();
    for w in &want {
        assert_eq!(w.status, 200, "{}", w.text);
    }
    // B joins after the build: it restores the project it owns from the object
    // store (its checksum checked), and serves it.
    let b = node(dirs[2].path(), dirs[3].path(), &nats);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let info = b.get("/api/v1/cluster?project=demo", Some(&t)).body;
        if info["project"]["serving"]
            .as_array()
            .is_some_and(|s| s.iter().any(|n| n == address(&b).as_str()))
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "B never served the project: {info}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The builder dies; B answers the same without it, at once.
    signal(&a.child, "KILL");
    for (q, w) in queries.iter().zip(&want) {
        let got = b.get(q, Some(&t));
        assert_eq!((got.status, &got.body), (w.status, &w.body), "{q}");
    }
    // The same upload again is answered from the record: its index lives on.
    let again = upload(&b, &t, "demo", &tgz);
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body["cached"], true, "{}", again.text);
    // A node that starts now answers the same; and when B dies too, before the
    // registry knows it (the forward finds no one), C restores the project itself.
    let c_data = tempfile::tempdir().unwrap();
    let c = node(c_data.path(), dirs[3].path(), &nats);
    let got = c.get(queries[0], Some(&t));
    assert_eq!((got.status, &got.body), (want[0].status, &want[0].body));
    // Answered by B through C, with B's cache header.
    assert!(got.header("x-cache").is_some(), "{:?}", got.headers);
    signal(&b.child, "KILL");
    for (q, w) in queries.iter().zip(&want) {
        let got = c.get(q, Some(&t));
        assert_eq!((got.status, &got.body), (w.status, &w.body), "{q}");
    }
    // The MCP tools on a node that has no copy yet: the project is named in the
    // call's body, not its path, so the node restores it and answers itself.
    let d_data = tempfile::tempdir().unwrap();
    let d = node(d_data.path(), dirs[3].path(), &nats);
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "cluster-test", "version": "0"}}});
    let started = d.post_mcp(&t, &init);
    assert_eq!(started.status, 200, "{}", started.text);
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
        "name": "callers", "arguments": {"name": "helper"}}});
    let got = d.post_mcp(&t, &call);
    assert_eq!(got.status, 200, "{}", got.text);
    let text = got.body["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default();
    assert!(
        text.contains("main") && text.contains("pkg/app.py"),
        "{}",
        got.text
    );
    check_invariant(&nats.url());
}

#[test]
fn a_job_cancelled_while_waiting_and_sent_again_runs_once() {
    let Some((dirs, nats)) = services() else {
        return;
    };
    let t = token("acme");
    // A holds each job 2 s on its one worker: X runs while Y waits.
    let (a, x) = a_holds_a_job(&dirs, &nats, &t, &[], "2000", "x");
    let y_tgz = project_tgz("y");
    let first = upload(&a, &t, "demo", &y_tgz);
    assert_eq!(first.status, 202, "{}", first.text);
    let y = first.body["job_id"].as_str().unwrap().to_string();
    let cancelled = a.delete(&format!("/api/v1/jobs/{y}"), &t);
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    assert_eq!(cancelled.body["error"]["code"], "cancelled");
    // Sent again: the same job, queued again, now with two messages in the stream.
    let again = upload(&a, &t, "demo", &y_tgz);
    assert_eq!(again.status, 202, "{}", again.text);
    assert_eq!(again.body["job_id"], y.as_str());
    for id in [&x, &y] {
        let job = wait_until(&a, &t, id, Duration::from_secs(60), finished);
        assert_eq!(job["status"], "succeeded", "{job}");
    }
    // Run once: the second message finds it done, and is dropped.
    std::thread::sleep(Duration::from_secs(4));
    let job = a.get(&format!("/api/v1/jobs/{y}"), Some(&t)).body;
    assert_eq!(
        (job["status"].as_str(), job["attempts"].as_u64()),
        (Some("succeeded"), Some(1)),
        "{job}"
    );
    let info = a.get("/api/v1/cluster?project=demo", Some(&t)).body;
    assert_eq!(info["project"]["generation"], 2, "{info}");
    assert!(info["project"]["running"].is_null(), "{info}");
    check_invariant(&nats.url());
}

#[cfg(feature = "redis")]
#[test]
fn answers_are_shared_through_redis_and_stay_right_without_it() {
    let Some((dirs, nats)) = services() else {
        return;
    };
    let redis_dir = tempfile::tempdir().unwrap();
    let Some(mut redis) = Redis::start(redis_dir.path()) else {
        return;
    };
    let url = redis.url();
    let flags = ["--redis", url.as_str()];
    let a = node_with(dirs[1].path(), dirs[3].path(), &nats, &flags, &[]);
    let b = node_with(dirs[2].path(), dirs[3].path(), &nats, &flags, &[]);
    let t = token("acme");
    let r = upload(&a, &t, "demo", &project_tgz("shared"));
    let job = wait_until(
        &a,
        &t,
        r.body["job_id"].as_str().unwrap(),
        Duration::from_secs(60),
        finished,
    );
    assert_eq!(job["status"], "succeeded", "{job}");
    // Both nodes serve the project (both own it), so each answers from its own copy.
    let serving_on_both = |generation: u64| {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let info = b.get("/api/v1/cluster?project=demo", Some(&t)).body;
            if info["project"]["generation"] == generation
                && info["project"]["serving"].as_array().map(Vec::len) == Some(2)
            {
                return;
            }
            assert!(Instant::now() < deadline, "not served by both: {info}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    serving_on_both(1);
    let query = "/api/v1/projects/demo/callers?symbol=helper";
    let first = a.get(query, Some(&t));
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.header("x-cache"), Some("miss"));
    // A's answer reaches Redis in the background; B finds it there.
    std::thread::sleep(Duration::from_millis(500));
    let from_b = b.get(query, Some(&t));
    assert_eq!(from_b.header("x-cache"), Some("shared"), "{}", from_b.text);
    assert_eq!(from_b.body, first.body);
    // A new generation: the old answers are unreachable on both nodes.
    let r = upload(&b, &t, "demo", &project_tgz("shared again"));
    let job = wait_until(
        &b,
        &t,
        r.body["job_id"].as_str().unwrap(),
        Duration::from_secs(60),
        finished,
    );
    assert_eq!(job["status"], "succeeded", "{job}");
    serving_on_both(2);
    // A's first answer since is computed afresh; B's is A's new one, or its own.
    let new_a = a.get(query, Some(&t));
    assert_eq!(new_a.header("x-cache"), Some("miss"), "{}", new_a.text);
    std::thread::sleep(Duration::from_millis(500));
    let new_b = b.get(query, Some(&t));
    assert_eq!(new_b.header("x-cache"), Some("shared"), "{}", new_b.text);
    assert_eq!(new_b.body, new_a.body);
    // Redis dies: answers stay the same, promptly (B computes each: it has not
    // been asked these).
    let queries = [
        "/api/v1/projects/demo/impact?symbol=helper&depth=2",
        "/api/v1/projects/demo/impact?symbol=helper&depth=3",
        "/api/v1/projects/demo/search?q=helper&mode=text&limit=3",
        "/api/v1/projects/demo/search?q=main&mode=text&limit=3",
    ];
    let want: Vec<Answer> = queries.iter().map(|q| a.get(q, Some(&t))).collect();
    redis.kill();
    for server in [&a, &b] {
        for (q, w) in queries.iter().zip(&want) {
            let started = Instant::now();
            let got = server.get(q, Some(&t));
            assert_eq!((got.status, &got.body), (w.status, &w.body), "{q}");
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "{:?}",
                started.elapsed()
            );
        }
    }
    check_invariant(&nats.url());
}

/// What every test ends with: each accepted job is done or failed, each project's
/// manifest names an index object whose SHA-256 matches and no running job, and the
/// work stream is empty; read straight from JetStream at `url` (waiting a while for
/// the last acks to land).
fn check_invariant(url: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = async_nats::connect(url).await.expect("NATS answers");
        let js = async_nats::jetstream::new(client);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            // A read that fails (a stream still electing its leader after a NATS
            // server died) is looked at again, as the problems are.
            let problems = invariant_problems(&js)
                .await
                .unwrap_or_else(|e| vec![format!("cannot read JetStream: {e}")]);
            if problems.is_empty() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the invariant fails: {problems:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
}

/// What breaks the invariant of `check_invariant` now.
async fn invariant_problems(js: &async_nats::jetstream::Context) -> Result<Vec<String>, String> {
    use futures_util::StreamExt;
    use sha2::Digest;
    let e = |e: &dyn std::fmt::Display| e.to_string();
    let mut problems = Vec::new();
    let records = js.get_key_value("cg_jobs").await.map_err(|x| e(&x))?;
    let mut keys = records.keys().await.map_err(|x| e(&x))?;
    while let Some(key) = keys.next().await {
        let key = key.map_err(|x| e(&x))?;
        let Some(bytes) = records.get(&key).await.map_err(|x| e(&x))? else {
            continue;
        };
        let record: Value = serde_json::from_slice(&bytes).unwrap();
        if !finished(&record) {
            problems.push(format!("job {key} is {}", record["status"]));
        }
    }
    let manifest = js.get_key_value("cg_manifest").await.map_err(|x| e(&x))?;
    let indexes = js.get_object_store("cg_indexes").await.map_err(|x| e(&x))?;
    let mut keys = manifest.keys().await.map_err(|x| e(&x))?;
    while let Some(key) = keys.next().await {
        let key = key.map_err(|x| e(&x))?;
        let Some(bytes) = manifest.get(&key).await.map_err(|x| e(&x))? else {
            continue;
        };
        let m: Value = serde_json::from_slice(&bytes).unwrap();
        if !m["running"].is_null() {
            problems.push(format!("project {key} is held by {}", m["running"]));
        }
        let Some(name) = m["object"]["name"].as_str() else {
            continue;
        };
        let mut object = indexes.get(name).await.map_err(|x| e(&x))?;
        let mut bytes = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut object, &mut bytes)
            .await
            .map_err(|x| e(&x))?;
        let digest: String = sha2::Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        if m["object"]["checksum"] != digest.as_str() {
            problems.push(format!("project {key}: its object's digest differs"));
        }
    }
    let mut stream = js.get_stream("CG_JOBS").await.map_err(|x| e(&x))?;
    let waiting = stream.info().await.map_err(|x| e(&x))?.state.messages;
    if waiting != 0 {
        problems.push(format!("{waiting} messages are left in the work stream"));
    }
    Ok(problems)
}

#[test]
fn a_job_waiting_for_its_busy_project_does_not_hold_a_worker() {
    let Some((dirs, nats)) = services() else {
        return;
    };
    let t = token("acme");
    // Two workers, each job held 3 s: X runs on one; Y (X's project) must wait for
    // X, and Z (another project) must not wait for Y.
    let url = nats.url();
    let a = Server::start_with_env(
        dirs[1].path(),
        dirs[3].path(),
        &["--cluster", &url, "--job-ack-wait", "2", "--workers", "2"],
        &[("CODEGRAPH_TEST_JOB_PAUSE_MS", "3000")],
    );
    let x = upload(&a, &t, "demo", &project_tgz("x"));
    let x = x.body["job_id"].as_str().unwrap().to_string();
    wait_until(&a, &t, &x, Duration::from_secs(30), |j| {
        j["status"] == "running"
    });
    let y = upload(&a, &t, "demo", &project_tgz("y"));
    let y = y.body["job_id"].as_str().unwrap().to_string();
    std::thread::sleep(Duration::from_millis(500));
    let z = upload(&a, &t, "other", &project_tgz("z"));
    let z = z.body["job_id"].as_str().unwrap().to_string();
    let jobs: Vec<Value> = [&x, &y, &z]
        .iter()
        .map(|id| wait_until(&a, &t, id, Duration::from_secs(60), finished))
        .collect();
    for j in &jobs {
        assert_eq!(j["status"], "succeeded", "{j}");
    }
    let (x, y, z) = (&jobs[0], &jobs[1], &jobs[2]);
    // Y ran after X; Z started while X still ran, on the worker Y did not hold.
    assert!(
        y["started_ms"].as_u64() >= x["finished_ms"].as_u64(),
        "{x} {y}"
    );
    assert!(
        z["started_ms"].as_u64() < x["finished_ms"].as_u64(),
        "{x} {z}"
    );
    check_invariant(&nats.url());
}
