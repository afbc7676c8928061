#!/usr/bin/env python3
"""Tool-call latency of `codegraph mcp` on a large project, and the time from a saved
file to an answer that reflects it, both measured from the client (the official Python
SDK over stdio: whole round trips).

    scripts/mcp-latency.py --binary target/release/codegraph --project DIR [--calls 50]

The project is indexed first by `codegraph index` into a fresh store (not timed), so
the session starts warm as an agent's second session would. Symbols and queries are
drawn from the project's own definitions (`codegraph query find`) with a fixed seed.
Then, `--edits` times: a new function is appended to one of the project's Python, Go,
Rust, Java, C++ or JS/TS files and `callers` of a function it calls is asked for at
once; the time until that answer names the new function is the save-to-answer time.
Every edit is undone afterwards.
"""

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VENV = Path(os.environ.get("CODEGRAPH_CACHE", Path.home() / ".cache" / "codegraph")) / "mcp-venv"


def ensure_venv():
    python = VENV / "bin" / "python"
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    if subprocess.run([str(python), "-c", "import mcp"], capture_output=True).returncode:
        subprocess.run([str(python), "-m", "pip", "install", "-q", "mcp"], check=True)
    os.execv(str(python), [str(python), *sys.argv])


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


# A caller appended to a file, per language: (extension, text with {name} and {callee}).
CALLERS = {
    ".py": "\n\ndef {name}():\n    return {callee}()\n",
    ".go": "\n\nfunc {name}() {{\n\t{callee}()\n}}\n",
    ".rs": "\n\nfn {name}() {{\n    {callee}();\n}}\n",
    ".js": "\n\nfunction {name}() {{\n  return {callee}();\n}}\n",
    ".ts": "\n\nfunction {name}() {{\n  return {callee}();\n}}\n",
}


async def measure(args):
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    rng = random.Random(7)
    db = tempfile.mkdtemp(prefix="cg-mcp-latency-")
    started = time.monotonic()
    subprocess.run([args.binary, "index", args.project, "--db", db, "--project", "p", "-q",
                    "--no-embed"], check=True)
    print(f"indexed in {time.monotonic() - started:.1f} s (not part of the figures)")
    found = subprocess.run([args.binary, "query", "--db", db, "--project", "p", "--format",
                            "jsonl", "find", "--fuzzy", "e", "--limit", "5000",
                            "--kind", "function,method"], capture_output=True, text=True,
                           check=True)
    defs = [json.loads(line) for line in found.stdout.splitlines() if line.startswith("{")]
    functions = [d for d in defs if d.get("kind") in ("function", "method")]
    rng.shuffle(functions)
    params = StdioServerParameters(
        command=args.binary,
        args=["mcp", args.project, "--db", db, "--project", "p", "--no-embed"],
    )
    times = {}
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            await session.call_tool("status", {})  # the first run, with nothing changed

            async def timed(tool, a):
                t0 = time.monotonic()
                result = await session.call_tool(tool, a)
                times.setdefault(tool, []).append(time.monotonic() - t0)
                return result

            picks = functions[: args.calls]
            for d in picks:
                spot = f"{d['path']}:{d['line']}"
                await timed("search", {"query": d["name"].replace("_", " ")})
                await timed("symbol", {"name": spot})
                await timed("callers", {"name": spot})
                await timed("callees", {"name": spot})
                await timed("impact", {"name": spot, "depth": 2})
                await timed("outline", {"path": d["path"]})
                await timed("snippet", {"name": spot})
            for _ in range(max(3, args.calls // 10)):
                await timed("repo_map", {})
            for d in picks[: max(3, args.calls // 10)]:
                await timed("repo_map", {"paths": [d["path"]]})
            print(f"tool-call latency over stdio, {args.calls} symbols (seconds):")
            for tool, values in times.items():
                print(f"  {tool:9} n={len(values):4}  p50 {percentile(values, 50) * 1000:8.1f} ms"
                      f"  p99 {percentile(values, 99) * 1000:8.1f} ms")

            # Save to answer.
            targets = [d for d in functions if Path(d["path"]).suffix in CALLERS
                       and d["kind"] == "function"]
            delays, missed = [], []
            for i, d in enumerate(targets[: args.edits]):
                path = Path(args.project) / d["path"]
                original = path.read_bytes()
                name = f"codegraph_latency_probe_{i}"
                try:
                    with open(path, "a") as f:
                        f.write(CALLERS[path.suffix].format(name=name, callee=d["name"]))
                    t0 = time.monotonic()
                    seen = False
                    while time.monotonic() - t0 < 30:
                        out = await session.call_tool("callers", {"name": f"{d['path']}:{d['line']}",
                                                                  "max_tokens": 20000})
                        if name in out.content[0].text:
                            seen = True
                            break
                    if seen:
                        delays.append(time.monotonic() - t0)
                    else:
                        missed.append(f"{d['path']}:{d['line']} {d['name']}")
                finally:
                    path.write_bytes(original)
                await session.call_tool("status", {})  # takes the undo
            if delays:
                print(f"saved file to an answer naming the new caller: n={len(delays)}"
                      f"  p50 {percentile(delays, 50) * 1000:.0f} ms"
                      f"  p99 {percentile(delays, 99) * 1000:.0f} ms")
            for m in missed:
                print(f"  never named within 30 s: a caller of {m} (see the file: the call may"
                      " resolve elsewhere)")


def main():
    ensure_venv()
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--project", required=True)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--edits", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(measure(args))


if __name__ == "__main__":
    main()
