#!/usr/bin/env python3
"""Load test of `codegraph serve` with wrk, on this machine, in one run.

1. Starts the release server on an ephemeral port with a fresh data directory and a
   random secret, analyses a real package (Flask, fetched by scripts/fetch-corpus.sh),
   and waits for the job.
2. Cached search: one URL over and over (after a warm-up, every answer is a hit of the
   results tier): p50/p99 latency and requests per second, at --connections, 8 and 4
   connections (fewer connections, less queueing in front of two cores).
3. Uncached search: a Lua script makes every request's query unique, so each one
   runs BM25 and reads the graph: p50/p99 and requests per second.
4. Twice capacity: a server admitting --max-in-flight N requests at once, driven with
   2N connections of uncached searches: answers by status (200 or 429, never 5xx or a
   socket error), and the server's resident memory before, at the peak, and after.

wrk and the server share the machine's cores; the figures are what one box does,
load generator included. Needs wrk (`apt-get install -y wrk`).

Usage:
    scripts/fetch-corpus.sh python
    cargo build --profile bench -p codegraph-server --bins
    scripts/load-test.py [--duration 15] [--connections 32] [--json out.json]
                         [--binary PATH] [--search-only | --noisy-neighbour]

With --noisy-neighbour: tenant B's cached and uncached search p99 alone, then while
tenant A floods at twice the in-flight capacity (fuzzy queries over Django's names,
impact at depth 10, archive uploads), as ratios; A's answers by status; memory.
--quiet-pace MS makes B a quiet tenant (each of its connections waits MS between
requests) instead of one that saturates the server alone; --flood-nice lowers the
priority of A's client threads, which stand in for other machines;
--serve-flag passes a flag to the server (e.g. --serve-flag=--fair-share-priority=0).

With --memory-per-project N: the server's RSS every ten of N uploaded projects.
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
BINARY = os.path.join(TARGET, "release", "codegraph")
CORPUS = os.path.expanduser("~/.cache/codegraph/corpus/python")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(secret: str, tenant: str) -> str:
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = b64(json.dumps({"tenant": tenant, "exp": int(time.time()) + 3600}).encode())
    sig = hmac.new(secret.encode(), f"{header}.{claims}".encode(), hashlib.sha256).digest()
    return f"{header}.{claims}.{b64(sig)}"


# Set by --server-cpus: the cores the server is pinned to (taskset's list syntax).
SERVER_CPUS = None


class Server:
    def __init__(self, binary, data, root, secret, extra):
        env = dict(os.environ, CODEGRAPH_JWT_SECRET=secret, RUST_LOG="error")
        for k in ("CODEGRAPH_MODEL_DIR", "CODEGRAPH_EMBED_URL"):
            env.pop(k, None)
        pin = ["taskset", "-c", SERVER_CPUS] if SERVER_CPUS else []
        self.proc = subprocess.Popen(
            pin
            + [binary, "serve", "--addr", "127.0.0.1:0", "--data-dir", data, "--allow-root", root]
            + extra,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )
        line = self.proc.stdout.readline().strip()
        self.base = line.removeprefix("codegraph: listening on ")
        if not self.base.startswith("http://"):
            sys.exit(f"the server did not start: {line!r}")

    def rss(self) -> int:
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=60)


def request(method, url, token, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=600) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def analyze(server, token, project, path):
    status, body = request("POST", f"{server.base}/api/v1/analyze", token, {"project": project, "path": path})
    if status not in (200, 202):
        sys.exit(f"analyze failed: {status} {body}")
    job = body["job_id"]
    while True:
        _, body = request("GET", f"{server.base}/api/v1/jobs/{job}", token)
        if body["status"] in ("succeeded", "failed"):
            if body["status"] != "succeeded":
                sys.exit(f"the job failed: {body}")
            return body
        time.sleep(0.2)


def parse_wrk(out: str) -> dict:
    def seconds(v):
        m = re.match(r"([\d.]+)(us|ms|s)", v)
        n, u = float(m.group(1)), m.group(2)
        return n / 1e6 if u == "us" else n / 1e3 if u == "ms" else n

    lat = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "requests": total,
        "rps": rps,
        "p50_ms": seconds(lat["50"]) * 1e3,
        "p90_ms": seconds(lat["90"]) * 1e3,
        "p99_ms": seconds(lat["99"]) * 1e3,
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": sum(map(int, errors.groups())) if errors else 0,
    }


UNCACHED_LUA = r"""
local words = {"request", "response", "session", "route", "template", "config", "error",
  "handler", "blueprint", "json", "cookie", "header", "context", "signal", "url", "file",
  "static", "test", "client", "app", "view", "redirect", "abort", "stream", "logging"}
local n = 0
local statuses = {}
local token = os.getenv("CG_TOKEN")
request = function()
  n = n + 1
  local a = words[(n % #words) + 1]
  local b = words[(math.floor(n / #words) % #words) + 1]
  -- The counter makes each query unique: no answer repeats, so none is cached.
  local path = "/api/v1/projects/flask/search?mode=text&limit=10&q=" .. a .. "+" .. b .. "+x" .. n .. "_" .. math.random(1, 1000000000)
  return wrk.format("GET", path, {["Authorization"] = "Bearer " .. token})
end
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
done = function(summary, latency, requests)
  for k, v in pairs(statuses) do io.write(string.format("status %d %d\n", k, v)) end
end
"""


CACHED_LUA = r"""
wrk.headers["Authorization"] = "Bearer " .. os.getenv("CG_TOKEN")
"""


def paced(script_dir, name, lua, pace_ms):
    """A wrk script of `lua` whose connections each wait `pace_ms` between requests
    (wrk's `delay`; the wait is not counted in the latency)."""
    path = os.path.join(script_dir, f"{name}-{pace_ms}.lua")
    with open(path, "w") as f:
        f.write(lua)
        if pace_ms:
            f.write(f"\ndelay = function() return {pace_ms} end\n")
    return path


def wrk(url, token, duration, connections, threads=2, script=None):
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "10s"]
    env = dict(os.environ, CG_TOKEN=token)
    if script:
        cmd += ["-s", script]
    else:
        cmd += ["-H", f"Authorization: Bearer {token}"]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, env=env, check=True).stdout
    result = parse_wrk(out)
    result["statuses"] = {int(k): int(v) for k, v in re.findall(r"^status (\d+) (\d+)", out, re.M)}
    return result


def noisy_neighbour(args, report):
    """Tenant B's cached and uncached search p99, alone and while tenant A floods the
    server at twice its capacity (fuzzy symbol queries, impact at depth 10, archive
    uploads), as ratios; A's answers by status; the server's memory."""
    import io
    import tarfile

    kinds = args.flood.split(",")
    secret = secrets.token_hex(32)
    flood, quiet = jwt(secret, "flood"), jwt(secret, "quiet")
    capacity = 16
    with tempfile.TemporaryDirectory() as data, tempfile.TemporaryDirectory() as script_dir:
        script = os.path.join(script_dir, "uncached.lua")
        with open(script, "w") as f:
            f.write(UNCACHED_LUA)
        server = Server(
            args.binary,
            data,
            CORPUS,
            secret,
            ["--rate-limit", "100000000", "--rate-burst", "100000000",
             "--max-in-flight", str(capacity), "--request-timeout", "10"] + args.serve_flag,
        )
        analyze(server, quiet, "flask", os.path.join(CORPUS, args.package))
        analyze(server, flood, "django", os.path.join(CORPUS, "django-5.2.19"))
        # A hub of Django's graph, by id: `impact` of it at depth 10 walks far.
        _, found = request(
            "GET", f"{server.base}/api/v1/projects/django/symbols?name=get&limit=1", flood
        )
        hub = found["results"][0]["id"]
        upload = io.BytesIO()
        with tarfile.open(fileobj=upload, mode="w:gz") as tar:
            tar.add(os.path.join(CORPUS, args.package), arcname="pkg")
        upload = upload.getvalue()
        url = f"{server.base}/api/v1/projects/flask/search?q=render+a+template&mode=text&limit=10"

        cached_lua = paced(script_dir, "cached", CACHED_LUA, args.quiet_pace)
        uncached_lua = paced(script_dir, "uncached", UNCACHED_LUA, args.quiet_pace)

        def measure():
            wrk(url, quiet, 2, 8, script=cached_lua)  # warm-up
            return {
                "cached": wrk(url, quiet, args.duration, 8, script=cached_lua),
                "uncached": wrk(f"{server.base}/", quiet, args.duration, 8, script=uncached_lua),
            }

        rss_before = server.rss()
        alone = measure()
        statuses = {}
        lock = threading.Lock()
        stop = threading.Event()
        peak = [rss_before]

        def flooder(i):
            if args.flood_nice:
                # This thread only (Linux nice values are per thread): the flood's
                # client stands in for other machines, and need not take the
                # server's CPU.
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), args.flood_nice)
            if args.flood_cpus:
                # The same, by place: A's client on cores of its own stands in for
                # clients on other machines, so that what B measures is the server's
                # handling of A, not the load generator's CPU.
                os.sched_setaffinity(threading.get_native_id(), parse_cpus(args.flood_cpus))
            n = 0
            while not stop.is_set():
                n += 1
                kind = kinds[(i + n) % len(kinds)]
                if kind == "fuzzy":
                    status, _ = request(
                        "GET",
                        f"{server.base}/api/v1/projects/django/symbols?name=q{i}x{n}&match=fuzzy&limit=1000",
                        flood,
                    )
                elif kind == "impact":
                    status, _ = request(
                        "GET",
                        f"{server.base}/api/v1/projects/django/impact?symbol={hub}&depth=10&x={i}_{n}",
                        flood,
                    )
                else:
                    req = urllib.request.Request(
                        f"{server.base}/api/v1/analyze?project=up{i}x{n}", data=upload, method="POST"
                    )
                    req.add_header("Authorization", f"Bearer {flood}")
                    req.add_header("Content-Type", "application/gzip")
                    try:
                        with urllib.request.urlopen(req, timeout=600) as r:
                            status = r.status
                    except urllib.error.HTTPError as e:
                        status = e.code
                    except (urllib.error.URLError, OSError):
                        # Refused before the body was read, the server closed the
                        # connection on the rest of it.
                        status = "closed"
                with lock:
                    statuses.setdefault(kind, {})
                    statuses[kind][status] = statuses[kind].get(status, 0) + 1

        def sample():
            while not stop.is_set():
                peak[0] = max(peak[0], server.rss())
                time.sleep(0.1)

        threads = [threading.Thread(target=flooder, args=(i,)) for i in range(2 * capacity)]
        threads.append(threading.Thread(target=sample))
        for t in threads:
            t.start()
        time.sleep(2)
        flooded = measure()
        stop.set()
        for t in threads:
            t.join()
        report["noisy_neighbour"] = {
            "flood": kinds,
            "capacity": capacity,
            "flood_connections": 2 * capacity,
            "quiet_pace_ms": args.quiet_pace,
            "flood_client_nice": args.flood_nice,
            "flood_cpus": args.flood_cpus,
            "server_cpus": args.server_cpus,
            "client_cpus": args.client_cpus,
            "quiet_alone": alone,
            "quiet_flooded": flooded,
            "p99_ratio_cached": round(flooded["cached"]["p99_ms"] / alone["cached"]["p99_ms"], 2),
            "p99_ratio_uncached": round(
                flooded["uncached"]["p99_ms"] / alone["uncached"]["p99_ms"], 2
            ),
            "flood_statuses": statuses,
            "rss_before_bytes": rss_before,
            "rss_peak_bytes": peak[0],
            "rss_after_bytes": server.rss(),
        }
        server.stop()


def memory_per_project(args, report):
    """The server's RSS and the size of its data directory as one tenant's uploaded
    projects accumulate: N uploads of the package, one after another, each waited for,
    and a search of each (which opens its index), both read every tenth."""
    import io
    import tarfile

    secret = secrets.token_hex(32)
    token = jwt(secret, "uploads")
    upload = io.BytesIO()
    with tarfile.open(fileobj=upload, mode="w:gz") as tar:
        tar.add(os.path.join(CORPUS, args.package), arcname="pkg")
    upload = upload.getvalue()
    series = []
    with tempfile.TemporaryDirectory() as data:
        server = Server(args.binary, data, CORPUS, secret,
                        ["--rate-limit", "100000000", "--rate-burst", "100000000"] + args.serve_flag)
        series.append({"projects": 0, "rss_bytes": server.rss()})
        for n in range(1, args.memory_per_project + 1):
            req = urllib.request.Request(
                f"{server.base}/api/v1/analyze?project=up{n}", data=upload, method="POST"
            )
            req.add_header("Authorization", f"Bearer {token}")
            req.add_header("Content-Type", "application/gzip")
            with urllib.request.urlopen(req, timeout=600) as r:
                job = json.loads(r.read())["job_id"]
            while True:
                _, body = request("GET", f"{server.base}/api/v1/jobs/{job}", token)
                if body["status"] in ("succeeded", "failed"):
                    break
                time.sleep(0.1)
            request("GET", f"{server.base}/api/v1/projects/up{n}/search?q=render+template&mode=text", token)
            if n % 10 == 0:
                disk = tree_bytes(data)
                series.append({"projects": n, "rss_bytes": server.rss(), "disk_bytes": disk})
                print(f"{n} projects: RSS {server.rss() >> 20} MB, disk {disk >> 20} MB",
                      file=sys.stderr)
        server.stop()
    report["memory_per_project"] = series


def tree_bytes(path: str) -> int:
    """The bytes of the files under `path` (as stored, not as allocated)."""
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass  # removed while walked (a compaction's old file)
    return total


def parse_cpus(spec: str) -> set:
    """taskset's list syntax: `0`, `1-3`, `0,2`."""
    cpus = set()
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        cpus.update(range(int(lo), int(hi or lo) + 1))
    return cpus


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=15)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--package", default="flask-3.1.3")
    ap.add_argument("--json")
    ap.add_argument("--cache-mb", type=int, default=64, help="cache budget in the twice-capacity run")
    ap.add_argument("--binary", default=BINARY, help="the codegraph binary to serve with")
    ap.add_argument("--search-only", action="store_true",
                    help="only the cached and uncached search runs, not the twice-capacity one")
    ap.add_argument("--noisy-neighbour", action="store_true",
                    help="only tenant B's search p99 alone and under tenant A's flood")
    ap.add_argument("--flood", default="fuzzy,impact,upload",
                    help="what tenant A floods with (--noisy-neighbour): fuzzy, impact, upload")
    ap.add_argument("--serve-flag", action="append", default=[], metavar="FLAG",
                    help="a flag for the server (--noisy-neighbour), e.g. --serve-flag=--job-priority=0")
    ap.add_argument("--flood-nice", type=int, default=0, metavar="NICE",
                    help="OS nice value of tenant A's client threads (--noisy-neighbour), so "
                         "that the load generator on this machine yields to the server")
    ap.add_argument("--memory-per-project", type=int, default=0, metavar="N",
                    help="only the server's RSS as N uploaded projects of one tenant accumulate")
    ap.add_argument("--server-cpus", metavar="LIST",
                    help="pin the server to these cores (taskset -c LIST)")
    ap.add_argument("--client-cpus", metavar="LIST",
                    help="pin this script, its client threads and wrk to these cores, so that "
                         "the load generators do not take the server's")
    ap.add_argument("--flood-cpus", metavar="LIST",
                    help="pin tenant A's client threads to these cores (--noisy-neighbour), as "
                         "if A's clients were on other machines; e.g. --server-cpus 0 "
                         "--client-cpus 0 --flood-cpus 1")
    ap.add_argument("--quiet-pace", type=int, default=0, metavar="MS",
                    help="tenant B's 8 connections each wait MS between requests "
                         "(--noisy-neighbour); 0: as fast as the server answers")
    args = ap.parse_args()
    if args.server_cpus:
        global SERVER_CPUS
        SERVER_CPUS = args.server_cpus
    if args.client_cpus:
        # Before any thread or child starts: they inherit it.
        os.sched_setaffinity(0, parse_cpus(args.client_cpus))
    if not os.path.exists(args.binary):
        sys.exit(f"no {args.binary}: cargo build --profile bench -p codegraph-server --bins")
    src = os.path.join(CORPUS, args.package)
    if not os.path.isdir(src):
        sys.exit(f"no {src}: scripts/fetch-corpus.sh python")
    report = {"package": args.package, "cores": os.cpu_count()}
    if args.noisy_neighbour:
        noisy_neighbour(args, report)
        emit(report, args.json)
        return
    if args.memory_per_project:
        memory_per_project(args, report)
        emit(report, args.json)
        return
    secret = secrets.token_hex(32)
    token = jwt(secret, "load")
    with tempfile.TemporaryDirectory() as data, tempfile.TemporaryDirectory() as script_dir:
        script = os.path.join(script_dir, "uncached.lua")
        with open(script, "w") as f:
            f.write(UNCACHED_LUA)
        # The per-token limit would cap one token far below capacity; raise it here.
        server = Server(args.binary, data, CORPUS, secret, ["--rate-limit", "100000000", "--rate-burst", "100000000"])
        job = analyze(server, token, "flask", src)
        report["analyze_seconds"] = job["result"]["seconds"]
        url = f"{server.base}/api/v1/projects/flask/search?q=render+a+template&mode=text&limit=10"
        wrk(url, token, 2, args.connections)  # warm-up
        report["cached"] = wrk(url, token, args.duration, args.connections)
        # Fewer connections: less queueing in front of the two cores.
        report["cached_8_connections"] = wrk(url, token, args.duration, 8)
        report["cached_4_connections"] = wrk(url, token, args.duration, 4)
        report["uncached"] = wrk(f"{server.base}/", token, args.duration, args.connections, script=script)
        report["rss_after_load_bytes"] = server.rss()
        server.stop()
        if args.search_only:
            emit(report, args.json)
            return

        # Twice capacity: capacity = the in-flight limit; offered load = twice that.
        limit = 16
        server = Server(
            args.binary,
            data,
            CORPUS,
            secret,
            ["--rate-limit", "100000000", "--rate-burst", "100000000", "--max-in-flight", str(limit),
             "--cache-mb", str(args.cache_mb)],
        )
        rss_before = server.rss()
        peak = [rss_before]
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                peak[0] = max(peak[0], server.rss())
                time.sleep(0.1)

        t = threading.Thread(target=sample)
        t.start()
        over = wrk(f"{server.base}/", token, args.duration, 2 * limit, script=script)
        stop.set()
        t.join()
        over.update(
            {
                "max_in_flight": limit,
                "connections": 2 * limit,
                "rss_before_bytes": rss_before,
                "rss_peak_bytes": peak[0],
                "rss_after_bytes": server.rss(),
            }
        )
        # The server's own count of answers by status.
        with urllib.request.urlopen(f"{server.base}/metrics") as r:
            metrics = r.read().decode()
        by_status = {}
        for status, n in re.findall(r'^codegraph_http_requests_total\{.*?status="(\d+)"\} (\d+)', metrics, re.M):
            by_status[status] = by_status.get(status, 0) + int(n)
        over["server_statuses"] = by_status
        over["cache_mb"] = args.cache_mb
        report["twice_capacity"] = over
        server.stop()
    emit(report, args.json)


def emit(report, path):
    print(json.dumps(report, indent=2))
    if path:
        with open(path, "w") as f:
            json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
