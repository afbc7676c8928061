#!/usr/bin/env python3
"""Drives `/mcp` on `codegraph serve` with the official Python SDK's streamable HTTP client.

    http_client.py --url URL --token TOKEN --other-token TOKEN --project NAME

TOKEN's tenant has indexed NAME (and only it); the other token's tenant has one project
of its own. Checks the tools are listed, a call reads the tenant's project, the other
tenant cannot reach it, and a missing or wrong token is refused before any tool runs.
"""

import argparse
import asyncio
import sys

import httpx2 as httpx  # the SDK's own HTTP client
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def is_error(result):
    return bool(getattr(result, "is_error", None) or getattr(result, "isError", None))


def text(result):
    return "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")


async def session_for(url, token, work):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(headers=headers, timeout=60) as client:
        async with streamable_http_client(url, http_client=client) as (read, write, *_):
            async with ClientSession(read, write) as session:
                await session.initialize()
                return await work(session)


async def run(args):
    async def mine(session):
        tools = await session.list_tools()
        check({t.name for t in tools.tools} >= {"search", "callers", "repo_map"}, f"tools: {tools}")
        out = await session.call_tool("callers", {"name": "helper"})
        check(not is_error(out) and "main" in text(out), f"callers: {out}")
        check("index: as of the last analyze job" in text(out), f"freshness: {text(out)}")
        # Its only project is the default.
        out = await session.call_tool("status", {})
        check(not is_error(out) and args.project in text(out), f"status: {out}")
        out = await session.call_tool("snippet", {"name": "helper"})
        check(not is_error(out) and "def helper(x):" in text(out), f"snippet: {out}")
    await session_for(args.url, args.token, mine)

    async def theirs(session):
        # The other tenant names this project: not found, as if it did not exist.
        try:
            out = await session.call_tool("callers", {"name": "helper", "project": args.project})
            check(is_error(out), f"another tenant read the project: {out}")
            message = text(out)
        except MCPError as e:
            message = str(e)
        check("not found" in message or "no project" in message, f"refusal: {message}")
        check("def helper" not in message and "main" not in message, f"leaked: {message}")
        out = await session.call_tool("status", {})
        check(args.project not in text(out), f"the other tenant sees the project: {out}")
    await session_for(args.url, args.other_token, theirs)

    # Without a valid token nothing reaches the tools: the SDK reports only that the
    # server answered an error, so the status is read from a plain request.
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "t", "version": "0"}}}
    async with httpx.AsyncClient(timeout=30) as client:
        for token in (None, "not-a-token", args.token):
            headers = {"Accept": "application/json, text/event-stream"}
            if token:
                headers["Authorization"] = f"Bearer {token}"
            try:
                answer = await client.post(args.url, json=initialize, headers=headers)
            except httpx.HTTPError as e:
                # Which of the three failed: each follows the one before on the same
                # connection when the server keeps it alive.
                raise AssertionError(f"token {token!r}: {type(e).__name__}: {e}") from e
            if token == args.token:
                check(answer.status_code == 200, f"a good token: {answer.status_code} {answer.text}")
            else:
                check(answer.status_code == 401, f"token {token!r}: {answer.status_code} {answer.text}")
                check("unauthorized" in answer.text, f"token {token!r}: {answer.text}")
    print("mcp http client: all checks passed", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--other-token", required=True)
    parser.add_argument("--project", required=True)
    args = parser.parse_args()
    try:
        asyncio.run(run(args))
    except AssertionError as e:
        print(f"mcp http client: FAILED: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
