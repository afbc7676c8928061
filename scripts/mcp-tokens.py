#!/usr/bin/env python3
"""What CodeGraph's MCP tools cost a conversation: the tool definitions in tokens, and
the answers to a set of typical calls, each in tokens beside the server's own estimate.

    scripts/mcp-tokens.py --binary target/release/codegraph --project DIR [--db DIR]
        [--peer NAME=COMMAND ...] [--cbm-source DIR]

Peers are measured the same way: `--peer` lists the tools of any MCP server started
by COMMAND over stdio (Serena: `pip install serena-agent`, then `serena
start-mcp-server --context ide-assistant --agent-interface tools --project DIR
--enable-web-dashboard false`); `--cbm-source` reads codebase-memory-mcp's tool table
from a checkout of its sources (its packages download a prebuilt binary from GitHub,
which this machine cannot reach): the `TOOLS[]` array of `src/mcp/mcp.c` is compiled
with gcc into a program that prints it as `tools/list` would (name, title,
description, input schema).

Tokens are counted in OpenAI's cl100k_base and o200k_base encodings with npm's
`gpt-tokenizer`, which ships the vocabularies (PyPI's tiktoken downloads them from a
host this machine cannot reach); the MCP client is the official Python SDK (PyPI
`mcp`). Both are installed into ~/.cache/codegraph when missing, and the script re-runs
itself in the SDK's venv.
The definitions are counted as a client sends them to a model: the JSON of each tool's
name, description and input schema.
"""

import argparse
import asyncio
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CACHE = Path(os.environ.get("CODEGRAPH_CACHE", Path.home() / ".cache" / "codegraph"))
VENV = CACHE / "mcp-venv"
TOKENIZER = CACHE / "node-tokenizer"
GPT_TOKENIZER = "gpt-tokenizer@4.0.0"

COUNT = r"""
const dir = process.argv[1];
const enc = Object.fromEntries(['cl100k_base', 'o200k_base'].map(
  n => [n, require(dir + '/node_modules/gpt-tokenizer/cjs/encoding/' + n + '.js')]));
let input = '';
process.stdin.on('data', d => input += d);
process.stdin.on('end', () => {
  const texts = JSON.parse(input);
  console.log(JSON.stringify(texts.map(t => Object.fromEntries(
    Object.entries(enc).map(([n, e]) => [n, e.encode(t).length])))));
});
"""


def count_tokens(texts):
    """Tokens of each text, per encoding."""
    if not (TOKENIZER / "node_modules" / "gpt-tokenizer").exists():
        TOKENIZER.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix",
                        str(TOKENIZER), GPT_TOKENIZER], check=True)
    out = subprocess.run(["node", "-e", COUNT, str(TOKENIZER)], input=json.dumps(texts),
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def ensure_venv():
    python = VENV / "bin" / "python"
    # A venv's python links to the base interpreter: compare prefixes, not binaries.
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    probe = subprocess.run([str(python), "-c", "import mcp"], capture_output=True)
    if probe.returncode != 0:
        subprocess.run([str(python), "-m", "pip", "install", "-q", "mcp"], check=True)
    os.execv(str(python), [str(python), *sys.argv])


CALLS = [
    ("status", {}),
    ("search", {"query": "parse the configuration file"}),
    ("repo_map", {}),
    ("outline", {"path": ""}),
]


CBM_PRINTER = r"""
#include <stdio.h>
typedef struct { const char *name, *title, *description, *input_schema; } tool_def_t;
static const tool_def_t TOOLS[] = {
%s
};
static void str(const char *s) {
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') printf("\\%%c", *s);
        else if (*s == '\n') printf("\\n");
        else putchar(*s);
    }
    putchar('"');
}
int main(void) {
    printf("[");
    for (unsigned i = 0; i < sizeof(TOOLS) / sizeof(TOOLS[0]); i++) {
        printf(i ? ",{\"name\":" : "{\"name\":"); str(TOOLS[i].name);
        printf(",\"title\":"); str(TOOLS[i].title);
        printf(",\"description\":"); str(TOOLS[i].description);
        printf(",\"inputSchema\":%%s}", TOOLS[i].input_schema);
    }
    printf("]\n");
    return 0;
}
"""


def cbm_tools(source):
    """codebase-memory-mcp's tool table, as JSON, from its C sources."""
    text = (Path(source) / "src" / "mcp" / "mcp.c").read_text()
    start = text.index("static const tool_def_t TOOLS[] = {") + len("static const tool_def_t TOOLS[] = {")
    end = text.index("\n};", start)
    with tempfile.TemporaryDirectory() as work:
        c = Path(work) / "tools.c"
        c.write_text(CBM_PRINTER % text[start:end])
        subprocess.run(["gcc", "-o", str(Path(work) / "tools"), str(c)], check=True)
        out = subprocess.run([str(Path(work) / "tools")], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


async def list_tools(command):
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(command=command[0], args=command[1:])
    async with stdio_client(params, errlog=open(os.devnull, "w")) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            listed = await session.list_tools()
            return [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in listed.tools]


def report_tools(name, tools):
    text = json.dumps(tools, separators=(",", ":"))
    counts = count_tokens([text])[0]
    print(f"{name}: {len(tools)} tools, {len(text)} bytes, "
          + ", ".join(f"{n} {c} tokens" for n, c in counts.items()))


async def measure(args):
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    db = args.db or tempfile.mkdtemp(prefix="cg-mcp-tokens-")
    params = StdioServerParameters(
        command=args.binary, args=["mcp", args.project, "--db", db, "--no-embed"]
    )
    rows = []
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            listed = await session.list_tools()
            # As they travel: the wire JSON of each tool (name, description, schemas).
            tools = [t.model_dump(mode="json", by_alias=True, exclude_none=True)
                     for t in listed.tools]
            text = json.dumps(tools, separators=(",", ":"))
            each = [json.dumps(t, separators=(",", ":")) for t in tools]
            counts = count_tokens([text] + each)
            print(f"tool definitions: {len(tools)} tools, {len(text)} bytes, "
                  + ", ".join(f"{n} {c} tokens" for n, c in counts[0].items()))
            for t, c in zip(tools, counts[1:]):
                print(f"  {t['name']:10} {c['cl100k_base']:5} tokens")
            # Typical answers; the symbol asked about is the search's first result,
            # named by its `path:line`.
            calls = list(CALLS)
            found = (await session.call_tool("search", dict(CALLS[1][1]))).content[0].text
            names = [m.group(1) for m in re.finditer(r"^(\S+:\d+) ", found, re.M)]
            if names:
                calls += [("callers", {"name": names[0]}), ("symbol", {"name": names[0], "body": True})]
            for tool, a in calls:
                started = time.monotonic()
                result = await session.call_tool(tool, a)
                took = time.monotonic() - started
                out = "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")
                estimate = (len(out.encode()) + 2) // 3
                rows.append((tool, a, out, estimate, took))
    real = count_tokens([r[2] for r in rows])
    for peer in args.peer:
        name, _, command = peer.partition("=")
        report_tools(name, await list_tools(shlex.split(command)))
    if args.cbm_source:
        report_tools("codebase-memory-mcp", cbm_tools(args.cbm_source))
    print("answers (default max_tokens 3000):")
    for (tool, a, _, estimate, took), counted in zip(rows, real):
        real = counted["cl100k_base"]
        print(f"  {tool:9} {json.dumps(a)[:50]:50} {real:5} tokens (cl100k), estimate {estimate:5}, "
              f"{took * 1000:.0f} ms")


def main():
    ensure_venv()
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--project", required=True)
    parser.add_argument("--db")
    parser.add_argument("--peer", action="append", default=[], metavar="NAME=COMMAND")
    parser.add_argument("--cbm-source", metavar="DIR")
    args = parser.parse_args()
    asyncio.run(measure(args))


if __name__ == "__main__":
    main()
