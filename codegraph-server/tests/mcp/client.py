#!/usr/bin/env python3
"""Drives `codegraph mcp` with the official Python MCP SDK (PyPI `mcp`), as an agent would.

    client.py --binary BIN --project DIR --db DIR

Lists the tools, calls each on the fixture project written by tests/mcp.rs and checks
what comes back; edits a file and sees the edit in the next answer; sends bad
arguments and expects MCP errors. Exits non-zero with a message on the first failure.
"""

import argparse
import asyncio
import os
import re
import subprocess
import sys
import time

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError

EXPECTED_TOOLS = {
    "search", "symbol", "callers", "callees", "impact", "outline", "snippet", "repo_map", "status",
}


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def is_error(result):
    # `is_error` in SDK 2.x, `isError` before.
    return bool(getattr(result, "is_error", None) or getattr(result, "isError", None))


def text_of(result):
    check(not is_error(result), f"tool answered an error: {result}")
    return "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")


async def expect_error(session, tool, args, words):
    try:
        result = await session.call_tool(tool, args)
    except MCPError as e:
        message = str(e.error.message if hasattr(e, "error") else e)
        for w in words:
            check(w in message, f"{tool}({args}) error {message!r} does not mention {w!r}")
        return message
    check(is_error(result), f"{tool}({args}) should have failed, got {result}")
    message = "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")
    for w in words:
        check(w in message, f"{tool}({args}) error {message!r} does not mention {w!r}")
    return message


async def run(args):
    params = StdioServerParameters(
        command=args.binary,
        args=["mcp", args.project, "--db", args.db, "--no-embed", "--fresh-wait-ms", "10000"],
        env={k: v for k, v in os.environ.items() if k != "CODEGRAPH_MODEL_DIR"},
    )
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            listed = await session.list_tools()
            names = {t.name for t in listed.tools}
            check(names == EXPECTED_TOOLS, f"tools: {sorted(names)}")
            for t in listed.tools:
                check(t.description and len(t.description) < 200, f"{t.name}: description {t.description!r}")

            out = text_of(await session.call_tool("status", {}))
            check("files" in out and "python" in out, f"status: {out}")
            check("index: updated" in out, f"status has no freshness line: {out}")

            out = text_of(await session.call_tool("search", {"query": "load the settings file"}))
            check("load_config" in out, f"search: {out}")
            check("index:" in out.splitlines()[-1], f"search has no freshness line: {out}")

            out = text_of(await session.call_tool("symbol", {"name": "load_config", "body": True}))
            check("def load_config(path)" in out and "Read the settings file" in out, f"symbol: {out}")
            check("return open(path).read()" in out, f"symbol body: {out}")

            out = text_of(await session.call_tool("callers", {"name": "load_config"}))
            check("main" in out and "app.py" in out, f"callers: {out}")
            check("[scope]" in out or "[import]" in out, f"callers carry no resolution: {out}")

            out = text_of(await session.call_tool("callees", {"name": "main"}))
            check("load_config" in out and "start_server" in out, f"callees: {out}")

            # A name-only guess is labelled as one, and left out on request.
            out = text_of(await session.call_tool("callers", {"name": "helpers.render"}))
            check("guess:" in out, f"guessed caller not labelled: {out}")
            out = text_of(await session.call_tool(
                "callers", {"name": "helpers.render", "min_confidence": "certain"}))
            check("guess:" not in out and "guesses left out" in out, f"certain only: {out}")

            out = text_of(await session.call_tool("impact", {"name": "load_config", "depth": 2}))
            check("main" in out, f"impact: {out}")
            out = text_of(await session.call_tool("impact", {"name": "helpers.render"}))
            check("show" in out and "(guess)" in out, f"impact through a guess not labelled: {out}")
            out = text_of(await session.call_tool(
                "impact", {"name": "helpers.render", "min_confidence": "certain"}))
            check("show" not in out and "certain edges only" in out, f"impact certain only: {out}")

            out = text_of(await session.call_tool("outline", {"path": "app.py"}))
            check("load_config" in out and "main" in out, f"outline file: {out}")
            out = text_of(await session.call_tool("outline", {"path": ""}))
            check("app.py" in out and "server.py" in out, f"outline dir: {out}")

            out = text_of(await session.call_tool("snippet", {"path": "app.py", "start_line": 1, "end_line": 2}))
            check("    1 def load_config(path):" in out, f"snippet: {out}")

            out = text_of(await session.call_tool("repo_map", {}))
            check("load_config" in out or "start_server" in out, f"repo map: {out}")
            out = text_of(await session.call_tool("repo_map", {"paths": ["app.py"]}))
            check("server.py" in out and "app.py:" not in out, f"focused repo map: {out}")

            # Every answer fits its budget, however much there is.
            for tool, a in [("outline", {"path": ""}), ("search", {"query": "function"}),
                            ("repo_map", {}), ("symbol", {"name": "big", "body": True})]:
                out = text_of(await session.call_tool(tool, {**a, "max_tokens": 200}))
                check(len(out) <= 200 * 3, f"{tool} over budget ({len(out)} bytes): {out}")
            out = text_of(await session.call_tool("symbol", {"name": "big", "body": True, "max_tokens": 200}))
            check("truncated:" in out and "start_line=" in out, f"no way to the rest: {out}")
            page1 = text_of(await session.call_tool("outline", {"path": "big.py", "max_tokens": 200}))
            check('cursor="' in page1, f"no cursor: {page1}")
            cursor = page1.split('cursor="')[1].split('"')[0]
            page2 = text_of(await session.call_tool(
                "outline", {"path": "big.py", "max_tokens": 200, "cursor": cursor}))
            check(page2 != page1 and "big_" in page2, f"second page: {page2}")

            # A file saved before a call is in that call's answer.
            with open(os.path.join(args.project, "app.py"), "a") as f:
                f.write("\n\ndef freshly_saved():\n    return load_config('b.toml')\n")
            started = time.monotonic()
            out = text_of(await session.call_tool("callers", {"name": "load_config"}))
            check("freshly_saved" in out, f"the edit is not reflected: {out}")
            check("up to date" in out, f"freshness: {out}")
            print(f"edit reflected after {time.monotonic() - started:.3f} s", file=sys.stderr)
            with open(os.path.join(args.project, "added.py"), "w") as f:
                f.write("from app import load_config\n\ndef added_caller():\n    load_config('c')\n")
            out = text_of(await session.call_tool("callers", {"name": "load_config"}))
            check("added_caller" in out, f"a new file is not reflected: {out}")
            os.remove(os.path.join(args.project, "added.py"))
            out = text_of(await session.call_tool("callers", {"name": "load_config"}))
            check("added_caller" not in out, f"a removed file is still there: {out}")

            # A branch switch is an edit of the files it changes, and only those are
            # parsed again.
            def git(*a):
                subprocess.run(["git", "-C", args.project, "-c", "user.name=t", "-c",
                                "user.email=t@example.com", *a], check=True, capture_output=True)
            git("init", "-q")
            git("add", "-A")
            git("commit", "-qm", "one")
            git("checkout", "-qb", "other")
            with open(os.path.join(args.project, "server.py"), "a") as f:
                f.write("\n\ndef on_branch():\n    return load_config('x')\n")
            git("commit", "-qam", "two")
            out = text_of(await session.call_tool("callers", {"name": "load_config"}))
            check("on_branch" in out, f"the branch's caller is missing: {out}")
            git("checkout", "-q", "-")
            out = text_of(await session.call_tool("callers", {"name": "load_config"}))
            check("on_branch" not in out, f"the other branch's caller is still there: {out}")
            out = text_of(await session.call_tool("status", {}))
            # The checkout's own update parsed the one file it changed; a later event for
            # the same save (git touches the file twice) may be an update of 0.
            parsed = re.search(r": (\d+) files parsed,", out)
            check(parsed is not None and int(parsed.group(1)) <= 1,
                  f"more than the changed file was parsed: {out}")

            # Errors are MCP errors with a message that helps.
            await expect_error(session, "symbol", {"name": "load_confg"}, ["load_config"])
            await expect_error(session, "symbol", {"name": "render"}, ["names 2 symbols"])
            await expect_error(session, "callers", {"name": ""}, ["name"])
            await expect_error(session, "impact", {"name": "main", "depth": 99}, ["depth"])
            await expect_error(session, "search", {"query": "x", "mode": "psychic"}, ["mode"])
            await expect_error(session, "search", {"query": "x", "cursor": "abc"}, ["cursor"])
            await expect_error(session, "snippet", {"path": "../etc/passwd"}, ["not a path inside"])
            await expect_error(session, "outline", {"path": "nowhere"}, ["no file or directory"])
            # A link in the project to a file outside it is never read through.
            os.symlink("/etc/passwd", os.path.join(args.project, "leak.py"))
            leaked = await expect_error(session, "snippet", {"path": "leak.py"}, [])
            check("root:" not in leaked, f"read through a link: {leaked}")
            os.remove(os.path.join(args.project, "leak.py"))
            await expect_error(session, "status", {"project": "someone-else"}, ["serves project"])
            # Wrong types are refused by the schema, before any tool runs.
            try:
                result = await session.call_tool("search", {"query": 42})
                check(is_error(result), f"a number as query was taken: {result}")
            except MCPError:
                pass
    print("mcp client: all checks passed", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--project", required=True)
    parser.add_argument("--db", required=True)
    args = parser.parse_args()
    try:
        asyncio.run(run(args))
    except AssertionError as e:
        print(f"mcp client: FAILED: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
