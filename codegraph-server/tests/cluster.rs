//! Cluster mode (`codegraph serve --cluster`) against real NATS servers, started by
//! the tests on free loopback ports. Without `nats-server` installed each test says
//! so and passes; `.ci/run` installs it.

mod common;

use std::time::{Duration, Instant};

use common::server::{Server, token};
use common::services::{Nats, signal};

fn node(data: &std::path::Path, root: &std::path::Path, nats: &Nats) -> Server {
    Server::start(
        data,
        root,
        &[
            "--cluster",
            &nats.url(),
            "--node-ttl",
            "2",
            "--workers",
            "1",
        ],
    )
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
    let dirs: Vec<_> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let Some(nats) = Nats::start(dirs[0].path()) else {
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
