#!/usr/bin/env python3
"""Localisation: given the description of a real change, does the agent interface
point at a function the change touched?

The tasks come from Debian's source packages: every DEP-3 patch in
`debian/patches/series` has a description (`Description:`, or a git patch's
`Subject:` and body) and a diff against the upstream source. The functions the diff
changes, in the unpatched upstream tree, are the answer.

    scripts/localisation-eval.py collect [--per-lang 40]
    CODEGRAPH_MODEL_DIR=.../model scripts/localisation-eval.py run \
        --binary target/release/codegraph [--langs python,go] [--json out.json]

`collect` fetches into `~/.cache/codegraph/localisation` (CODEGRAPH_CACHE):
- the bookworm `Sources` index, with `apt-get update` on a private sources list (apt
  checks the archive's signature);
- for each language, the source packages whose build dependencies name that
  language's Debian helper (dh-python, dh-golang, maven/javahelper/gradle helpers,
  pkg-js-tools or dh-sequence-nodejs, and for C++ Boost or Qt), in the order of the
  SHA-1 of their names (a fixed pseudo-random order, chosen before any task was
  seen); each package's debian tarball, then, if a patch qualifies, its upstream
  tarballs, each checked against the SHA-256 in the signed index;
- `dpkg-source -x --skip-patches`, so the tree is the one the first patch applies to.

A patch gives a task when its description has at least four words and its hunks
change at least one function in a non-test source file of the language. Each hunk's
old side is located in the unpatched file (exactly, within 300 lines of where its
header says, as `patch` would; a hunk that is not found is dropped, which happens
when an earlier patch changed the same lines). Changed lines are the old side's
removed lines, or for a pure insertion the lines either side of it. The changed
functions are the innermost functions or methods universal-ctags finds (an indexer
independent of CodeGraph) whose span holds a changed line. At most five tasks come
from one package, so that no single package dominates a language. Packages the
retrieval evaluation tunes on (flask, requests, jinja2, werkzeug, django, and the
fine-tuning set in scripts/finetune-embedder.py) are skipped by name.

`run` indexes each package with `codegraph index` (embeddings when a model is
configured), then asks `codegraph mcp` over stdio (the official Python SDK, as an
agent would) for `search` with the description as query, and once per package for
`repo_map`. A hit is right when it is a definition inside a changed function (its
line within the function's span, decorators and annotations included). The
baseline is ripgrep over the description's words (lower-cased identifiers of three
letters or more, English stop words removed): each matching line is credited to its
innermost ctags function, and functions rank by the number of distinct words they
match, then by their number of matching lines. Reported per language: recall@5 and
MRR@10 of each, the share of tasks whose answer is somewhere in the repo map at its
default budget, and the tokens (cl100k, `gpt-tokenizer` from npm) of the search
answer, of the repo map and of ripgrep's whole output (beyond its first 256 kB, at
the rate of those).
"""

import argparse
import asyncio
import collections
import glob
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("CODEGRAPH_CACHE", Path.home() / ".cache" / "codegraph"))
WORK = CACHE / "localisation"
MIRROR = "http://deb.debian.org/debian"
SUITE = "bookworm"

LANGS = {
    "python": {
        "helpers": r"\bdh-python\b",
        "ext": (".py",),
        "ctags": "Python",
    },
    "go": {"helpers": r"\bdh-golang\b|\bdh-sequence-golang\b", "ext": (".go",), "ctags": "Go"},
    "java": {
        "helpers": r"\bmaven-debian-helper\b|\bjavahelper\b|\bgradle-debian-helper\b",
        "ext": (".java",),
        "ctags": "Java",
    },
    "cpp": {
        "helpers": r"\blibboost[a-z0-9.-]*-dev\b|\bqtbase5-dev\b|\bqt6-base-dev\b",
        "ext": (".cc", ".cpp", ".cxx", ".hpp", ".hh", ".hxx", ".h"),
        "ctags": "C++",
    },
    "javascript": {
        "helpers": r"\bpkg-js-tools\b|\bdh-sequence-nodejs\b|\bdh-nodejs\b",
        "ext": (".js", ".mjs", ".cjs", ".ts", ".tsx"),
        "ctags": "JavaScript,TypeScript",
    },
}
CTAGS_FUNCTION_KINDS = {"function", "method", "member", "func", "generator", "getter", "setter"}
TEST_PATH = re.compile(
    r"(^|/)(tests?|testing|testdata|spec|specs|__tests__|test-?suite)/"
    r"|(^|/)test_[^/]*\.py$|_tests?\.(py|go)$|(^|/)Test[^/]*\.java$|Tests?\.java$"
    r"|\.(test|spec)\.[cm]?[jt]sx?$|(^|/)(examples?|docs?|benchmarks?)/"
)
RETRIEVAL_TUNING = ("flask", "requests", "jinja2", "jinja", "werkzeug", "django")
PER_PACKAGE = 5
MAX_UPSTREAM_BYTES = 40 << 20
STOP = set(
    """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each
    few for from further had has have having he her here hers herself him himself his how
    i if in into is it its itself just me more most my myself no nor not now of off on
    once only or other our ours ourselves out over own same she should so some such than
    that the their theirs them themselves then there these they this those through to too
    under until up very was we were what when where which while who whom why will with
    would you your yours yourself yourselves instead without within upon via may might
    must shall""".split()
)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- collect


def apt_opts():
    return [
        "-o", f"Dir::Etc::sourcelist={WORK / 'apt' / 'sources.list'}",
        "-o", "Dir::Etc::sourceparts=-",
        "-o", f"Dir::State::Lists={WORK / 'apt' / 'lists'}",
        "-o", f"Dir::Cache={WORK / 'apt' / 'cache'}",
    ]


def sources_index():
    """The signed bookworm Sources index, fetched by apt into a private directory."""
    apt = WORK / "apt"
    (apt / "lists" / "partial").mkdir(parents=True, exist_ok=True)
    (apt / "cache" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
    (apt / "sources.list").write_text(f"deb-src {MIRROR} {SUITE} main\n")
    text = apt / "Sources"
    if not text.exists():
        subprocess.run(["apt-get", "-q", *apt_opts(), "update"], check=True,
                       stdout=subprocess.DEVNULL)
        found = glob.glob(str(apt / "lists" / "*_source_Sources*"))
        if not found:
            sys.exit("apt-get update fetched no Sources index")
        with open(text, "wb") as out:
            subprocess.run(["/usr/lib/apt/apt-helper", "cat-file", found[0]], stdout=out,
                           check=True)
    stanzas = []
    for block in text.read_text(errors="replace").split("\n\n"):
        fields, key = {}, None
        for line in block.splitlines():
            if line.startswith((" ", "\t")) and key:
                fields[key] += "\n" + line.strip()
            elif ":" in line:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        if "Package" in fields:
            stanzas.append(fields)
    return stanzas


def tuning_names():
    names = set(RETRIEVAL_TUNING)
    script = (ROOT / "scripts" / "finetune-embedder.py").read_text()
    for pin in re.findall(r"([A-Za-z0-9_.-]+)==\d", script):
        names.add(pin.lower().replace("_", "-"))
    return names


def excluded(package, names):
    base = re.sub(r"^(python3?-|golang-|lib|node-)", "", package)
    base = re.sub(r"-java$", "", base)
    return any(n == base or n == package or (len(n) > 4 and n in package) for n in names)


def fetch(url, dest, sha256):
    if dest.exists() and hashlib.sha256(dest.read_bytes()).hexdigest() == sha256:
        return
    for attempt in range(3):
        try:
            with urllib.request.urlopen(url, timeout=120) as r:
                data = r.read()
            break
        except OSError as e:
            # Not every file of the archive is reachable through this network's
            # proxy: a 404 is final, and the package is skipped.
            if attempt == 2 or getattr(e, "code", None) == 404:
                raise
            log(f"  retrying {url}: {e}")
            time.sleep(2)
    if hashlib.sha256(data).hexdigest() != sha256:
        raise RuntimeError(f"{url}: SHA-256 does not match the signed index")
    dest.write_bytes(data)


def files_of(stanza):
    out = []
    for line in stanza.get("Checksums-Sha256", "").splitlines():
        parts = line.split()
        if len(parts) == 3:
            out.append((parts[2], int(parts[1]), parts[0]))
    return out


def read_debian_tarball(path):
    """{name: text} of debian/patches/*, and the series order."""
    import tarfile

    patches, series = {}, []
    with tarfile.open(path) as tar:
        for m in tar.getmembers():
            if not m.isfile() or not m.name.startswith("debian/patches/"):
                continue
            data = tar.extractfile(m).read().decode("utf-8", "replace")
            rel = m.name[len("debian/patches/"):]
            if rel == "series":
                for line in data.splitlines():
                    line = line.split("#", 1)[0].strip()
                    if line:
                        series.append(line.split()[0])
            else:
                patches[rel] = data
    return [(name, patches[name]) for name in series if name in patches]


HEADER_END = ("Origin", "Bug", "Forwarded", "Author", "Last-Update", "Applied-Upstream",
              "Reviewed-by", "Signed-off-by", "Acked-by", "Gbp-Pq", "Bug-Debian",
              "Bug-Ubuntu", "From", "Date", "Index", "Change-Id", "Co-authored-by")


def description(patch):
    """The DEP-3 description (or a git patch's subject and body) as one line."""
    head = re.split(r"^(?:---|diff |Index: |===)", patch, maxsplit=1, flags=re.M)[0]
    lines = head.splitlines()
    text, taking, in_body = [], False, False
    for i, line in enumerate(lines):
        m = re.match(r"^(Description|Subject):\s*(.*)", line)
        if m:
            first = re.sub(r"^\[PATCH[^\]]*\]\s*", "", m.group(2))
            text.append(first)
            taking = True
            continue
        if taking:
            if line.startswith((" ", "\t")):
                if line.strip() != ".":
                    text.append(line.strip())
                continue
            if not line.strip():
                in_body = True
                taking = False
                continue
            taking = False
        if in_body:
            if re.match(r"^(%s):" % "|".join(HEADER_END), line, re.I):
                break
            if line.strip():
                text.append(line.strip())
    words = " ".join(text).split()
    return " ".join(words[:80])


def file_diffs(patch):
    """(old path, hunks) per file; a hunk is (old start, [(tag, text)])."""
    out = []
    # Not `splitlines`: a form feed or other separator inside a line is part of it.
    lines = [l.rstrip("\r") for l in patch.split("\n")]
    i = 0
    while i < len(lines):
        if lines[i].startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            old = lines[i][4:].split("\t")[0].strip()
            new = lines[i + 1][4:].split("\t")[0].strip()
            i += 2
            hunks = []
            while i < len(lines) and lines[i].startswith("@@"):
                m = re.match(r"^@@ -(\d+)(?:,(\d+))? \+\d+(?:,(\d+))? @@", lines[i])
                if not m:
                    break
                start, old_count = int(m.group(1)), int(m.group(2) or 1)
                new_count = int(m.group(3) or 1)
                i += 1
                body, seen_old, seen_new = [], 0, 0
                while i < len(lines) and (seen_old < old_count or seen_new < new_count):
                    line = lines[i]
                    tag = line[:1] or " "
                    if tag == "\\":
                        i += 1
                        continue
                    if tag not in " -+":
                        break
                    body.append((tag, line[1:]))
                    seen_old += tag in " -"
                    seen_new += tag in " +"
                    i += 1
                hunks.append((start, body))
            if old != "/dev/null" and new != "/dev/null":
                out.append((strip_component(old), hunks))
            continue
        i += 1
    return out


def strip_component(path):
    return path.split("/", 1)[1] if "/" in path else path


def changed_lines(source_lines, hunks):
    """Old-side line numbers a patch changes, with each hunk placed where its old side
    really is (None when it is nowhere near)."""
    changed = set()
    for start, body in hunks:
        old = [text for tag, text in body if tag in " -"]
        if not old:
            # `@@ -N,0`: lines inserted after line N, with no context to place them by.
            if any(tag == "+" for tag, _ in body) and 0 < start <= len(source_lines):
                changed.update({start, start + 1} & set(range(1, len(source_lines) + 1)))
            continue
        found = None
        for delta in sorted(range(-300, 301), key=abs):
            at = start - 1 + delta
            if at < 0 or at + len(old) > len(source_lines):
                continue
            if [l.rstrip("\r") for l in source_lines[at:at + len(old)]] == old:
                found = at
                break
        if found is None:
            continue
        line = found + 1  # 1-based number of the next old line
        removes = False  # whether the current run of changed lines removes any
        for tag, _ in body:
            if tag == " ":
                removes = False
                line += 1
            elif tag == "-":
                removes = True
                changed.add(line)
                line += 1
            elif not removes:
                # A pure insertion: the lines either side of it.
                changed.update({max(1, line - 1), line})
    return changed


def ctags_functions(tree, files, ctags_lang):
    """{path: [(start, end, name)]} for the functions and methods ctags finds."""
    if not files:
        return {}
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(files) + "\n")
        listing = f.name
    try:
        proc = subprocess.run(
            ["ctags", "--output-format=json", "--fields=+neK", "-f", "-",
             "--langmap=TypeScript:+.tsx", f"--languages={ctags_lang}", "-L", listing],
            cwd=tree, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
    finally:
        os.unlink(listing)
    out = collections.defaultdict(list)
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        try:
            d = json.loads(line)
        except json.JSONDecodeError:
            continue
        if d.get("_type") != "tag" or d.get("kind") not in CTAGS_FUNCTION_KINDS:
            continue
        if "end" not in d or "line" not in d:
            continue
        out[d["path"]].append((d["line"], d["end"], d["name"]))
    return out


def innermost(functions, line):
    best = None
    for start, end, name in functions:
        if start <= line <= end and (best is None or end - start < best[1] - best[0]):
            best = (start, end, name)
    return best


def with_annotations(source_lines, start):
    """The first line of a definition, counting the decorators or annotations above it."""
    at = start - 1
    while at - 1 >= 0 and source_lines[at - 1].strip().startswith("@"):
        at -= 1
    return at + 1


def read_lines(path):
    try:
        return path.read_text(errors="replace").split("\n")
    except OSError:
        return None


def tasks_of_package(lang, stanza, tree, patches):
    spec = LANGS[lang]
    tasks = []
    for name, text in patches:
        desc = description(text)
        if len(re.findall(r"[A-Za-z]{2,}", desc)) < 4:
            continue
        diffs = [(p, h) for p, h in file_diffs(text)
                 if p.endswith(spec["ext"]) and not TEST_PATH.search(p)]
        if not diffs:
            continue
        functions = ctags_functions(tree, sorted({p for p, _ in diffs if (tree / p).is_file()}),
                                    spec["ctags"])
        gold = {}
        for path, hunks in diffs:
            source = read_lines(tree / path)
            if source is None:
                continue
            for line in changed_lines(source, hunks):
                f = innermost(functions.get(path, []), line)
                if f:
                    first = with_annotations(source, f[0])
                    gold[(path, f[0])] = {"path": path, "line": f[0], "first": first,
                                          "end": f[1], "name": f[2]}
        if not gold:
            continue
        tasks.append({
            "id": f"{stanza['Package']}/{name}",
            "language": lang,
            "package": stanza["Package"],
            "version": stanza["Version"],
            "patch": name,
            "description": desc,
            "changed": sorted(gold.values(), key=lambda g: (g["path"], g["line"])),
        })
    return tasks


def screen(lang, s):
    """The package's patches that may give a task, from its debian tarball alone."""
    spec = LANGS[lang]
    files = files_of(s)
    debian = [f for f in files if re.search(r"\.debian\.tar\.\w+$", f[0])]
    upstream = [f for f in files if ".orig" in f[0] and ".asc" not in f[0]]
    if not debian or not upstream or sum(f[1] for f in upstream) > MAX_UPSTREAM_BYTES:
        return []
    pkg_dir = WORK / "packages" / s["Package"]
    pkg_dir.mkdir(parents=True, exist_ok=True)
    try:
        fetch(f"{MIRROR}/{s['Directory']}/{debian[0][0]}", pkg_dir / debian[0][0], debian[0][2])
        patches = read_debian_tarball(pkg_dir / debian[0][0])
    except Exception as e:  # a broken or missing package is skipped, never fatal
        log(f"{lang}: {s['Package']}: {e}")
        shutil.rmtree(pkg_dir, ignore_errors=True)
        return []
    wanted = [(n, t) for n, t in patches
              if any(p.endswith(spec["ext"]) and not TEST_PATH.search(p)
                     for p, _ in file_diffs(t))
              and len(re.findall(r"[A-Za-z]{2,}", description(t))) >= 4]
    if not wanted and not (pkg_dir / "src" / ".complete").exists():
        # (A tree another language's tasks use stays.)
        shutil.rmtree(pkg_dir, ignore_errors=True)
    return wanted


def unpack(lang, s):
    """The unpatched upstream tree of a package, or None."""
    pkg_dir = WORK / "packages" / s["Package"]
    tree = pkg_dir / "src"
    if (tree / ".complete").exists():
        return tree
    files = files_of(s)
    pkg_dir.mkdir(parents=True, exist_ok=True)
    try:
        for name, size, sha in files:
            fetch(f"{MIRROR}/{s['Directory']}/{name}", pkg_dir / name, sha)
        dsc = next(n for n, _, _ in files if n.endswith(".dsc"))
        shutil.rmtree(tree, ignore_errors=True)
        subprocess.run(["dpkg-source", "--no-check", "--skip-patches", "-x", dsc, "src"],
                       cwd=pkg_dir, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
        # Debian's own files (its patches, its test scripts) are not upstream's.
        shutil.rmtree(tree / "debian", ignore_errors=True)
        (tree / ".complete").write_text(s["Version"])
    except Exception as e:
        log(f"{lang}: {s['Package']}: {e}")
        shutil.rmtree(pkg_dir, ignore_errors=True)
        return None
    finally:
        for name, _, _ in files:
            (pkg_dir / name).unlink(missing_ok=True)
    return tree


def collect(args):
    from concurrent.futures import ThreadPoolExecutor

    WORK.mkdir(parents=True, exist_ok=True)
    stanzas = sources_index()
    names = tuning_names()
    langs = args.langs.split(",") if args.langs else list(LANGS)
    for lang in langs:
        spec = LANGS[lang]
        cands = []
        for s in stanzas:
            deps = " ".join(s.get(k, "") for k in ("Build-Depends", "Build-Depends-Indep",
                                                    "Build-Depends-Arch"))
            if "quilt" not in s.get("Format", "") or not re.search(spec["helpers"], deps):
                continue
            if not excluded(s["Package"], names):
                cands.append(s)
        cands.sort(key=lambda s: hashlib.sha1(s["Package"].encode()).hexdigest())
        cands = cands[: args.max_packages]
        tasks, got, at = [], 0, 0
        with ThreadPoolExecutor(8) as pool:
            for at in range(0, len(cands), 16):
                if got >= args.per_lang:
                    break
                chunk = cands[at:at + 16]
                # Screened in parallel (the downloads are small), taken in order.
                for s, wanted in zip(chunk, pool.map(lambda s: screen(lang, s), chunk)):
                    if got >= args.per_lang or not wanted:
                        continue
                    tree = unpack(lang, s)
                    found = tasks_of_package(lang, s, tree, wanted)[:PER_PACKAGE] if tree else []
                    if not found:
                        continue
                    got += len(found)
                    tasks.extend(found)
                    log(f"{lang}: {s['Package']} {s['Version']}: {len(found)} tasks ({got})")
        log(f"{lang}: {got} tasks from {min(len(cands), at + 16)} packages screened")
        with open(WORK / f"tasks-{lang}.jsonl", "w") as f:
            for t in tasks:
                f.write(json.dumps(t) + "\n")


# -------------------------------------------------------------------------------- run

ALL_EXT = (".py", ".go", ".java", ".cc", ".cpp", ".cxx", ".hpp", ".hh", ".hxx", ".h", ".c",
           ".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx", ".mts", ".cts", ".rs")
ALL_CTAGS = "Python,Go,Java,C++,C,JavaScript,TypeScript,Rust"
HIT = re.compile(r"^(\S[^\n]*?):(\d+) (\w+) ")
MAP_FILE = re.compile(r"^(\S[^\n]*):$")
MAP_DEF = re.compile(r"^│\s+(\d+) ")


def tokens_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("mcp_tokens", ROOT / "scripts" / "mcp-tokens.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def right(gold, path, line):
    return any(g["path"] == path and g["first"] <= line <= g["end"] for g in gold)


def first_right(ranked, gold, k):
    for i, (path, line) in enumerate(ranked[:k]):
        if right(gold, path, line):
            return i + 1
    return None


def query_words(text):
    seen = []
    for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]{2,}", text):
        w = w.lower()
        if w not in STOP and w not in seen:
            seen.append(w)
    return seen[:40]


def ripgrep(tree, words, functions):
    """Functions ranked by the description's words they match, and rg's whole output."""
    if not words:
        return [], "", 0
    # Sorted, so that the same lines are ranked (and cut) on every run.
    cmd = ["rg", "--no-config", "-n", "-i", "-w", "--no-heading", "--color", "never",
           "-M", "400", "--sort", "path"]
    for ext in ALL_EXT:
        cmd += ["-g", f"*{ext}"]
    for w in words:
        cmd += ["-e", w]
    proc = subprocess.run(cmd + ["--", "."], cwd=tree, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL)
    # Ranked from the first 8 MB; its cost is counted over the whole (see `run`).
    whole = len(proc.stdout)
    output = proc.stdout[: 8 << 20].decode("utf-8", "replace")
    score = collections.defaultdict(lambda: [set(), 0])
    pattern = re.compile(r"\b(%s)\b" % "|".join(map(re.escape, words)), re.I)
    for line in output.splitlines():
        m = re.match(r"^(?:\./)?(.*?):(\d+):(.*)$", line)
        if not m:
            continue
        path, number = m.group(1), int(m.group(2))
        f = innermost(functions.get(path, []), number)
        if not f:
            continue
        entry = score[(path, f[0])]
        entry[0].update(w.lower() for w in pattern.findall(m.group(3)))
        entry[1] += 1
    ranked = sorted(score.items(), key=lambda kv: (-len(kv[1][0]), -kv[1][1], kv[0]))
    return [key for key, _ in ranked], output, whole


def all_functions(tree):
    files = []
    for root, dirs, names in os.walk(tree):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d != "node_modules"]
        for n in names:
            if n.endswith(ALL_EXT):
                files.append(os.path.relpath(os.path.join(root, n), tree))
    return ctags_functions(tree, sorted(files), ALL_CTAGS)


async def ask(binary, tree, db, tasks, no_embed):
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(command=binary,
                                   args=["mcp", str(tree), "--db", str(db), "--project", "p",
                                         *(["--no-embed"] if no_embed else [])],
                                   env=dict(os.environ))
    answers = {}
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            result = await session.call_tool("repo_map", {})
            repo_map = result.content[0].text
            for t in tasks:
                t0 = time.monotonic()
                result = await session.call_tool("search", {"query": t["description"]})
                text = result.content[0].text
                if result.is_error:
                    raise RuntimeError(f"{t['id']}: search failed: {text}")
                answers[t["id"]] = (text, time.monotonic() - t0)
    return repo_map, answers


def parse_map(text):
    out, path = set(), None
    for line in text.splitlines():
        m = MAP_FILE.match(line)
        if m and not line.startswith("repo map"):
            path = m.group(1)
            continue
        m = MAP_DEF.match(line)
        if m and path:
            out.add((path, int(m.group(1))))
    return out


def run(args):
    tokens = tokens_module()
    tokens.ensure_venv()
    tasks, seen = [], set()
    for path in sorted(WORK.glob("tasks-*.jsonl")):
        for line in open(path):
            t = json.loads(line)
            if t["id"] not in seen:  # a patch to two languages counts once
                seen.add(t["id"])
                tasks.append(t)
    if args.langs:
        tasks = [t for t in tasks if t["language"] in args.langs.split(",")]
    by_package = collections.OrderedDict()
    for t in tasks:
        by_package.setdefault(t["package"], []).append(t)
    missing = [p for p in by_package if not (WORK / "packages" / p / "src" / ".complete").exists()]
    if missing:
        stanzas = {s["Package"]: s for s in sources_index()}
        for p in missing:
            lang = by_package[p][0]["language"]
            # Another version's tree would not be the one the answers were read from.
            if (p not in stanzas or stanzas[p]["Version"] != by_package[p][0]["version"]
                    or unpack(lang, stanzas[p]) is None):
                log(f"{p}: cannot fetch its source again; its tasks are left out")
                del by_package[p]
    if args.max_mb:
        for p in list(by_package):
            size = sum(f.stat().st_size for f in (WORK / "packages" / p / "src").rglob("*")
                       if f.is_file() and f.suffix in ALL_EXT)
            if size > args.max_mb << 20:
                log(f"{p}: {size >> 20} MB of source, over --max-mb; left out")
                del by_package[p]
    rows, texts = [], []
    sizes = {}  # text index -> its whole size in bytes, where only a part was kept
    db_root = Path(args.db_root) if args.db_root else Path(tempfile.mkdtemp(prefix="cg-loc-"))
    for package, ptasks in by_package.items():
        tree = WORK / "packages" / package / "src"
        db = db_root / package
        t0 = time.monotonic()
        if not (db / ".indexed").exists():
            shutil.rmtree(db, ignore_errors=True)
            subprocess.run([args.binary, "index", str(tree), "--db", str(db), "--project", "p",
                            "-q", *(["--no-embed"] if args.no_embed else [])], check=True,
                           stdout=subprocess.DEVNULL)
            (db / ".indexed").write_text("")
        indexed = time.monotonic() - t0
        functions = all_functions(tree)
        repo_map, answers = asyncio.run(ask(args.binary, tree, db, ptasks, args.no_embed))
        in_map = parse_map(repo_map)
        texts.append(repo_map)
        map_index = len(texts) - 1
        for t in ptasks:
            gold = t["changed"]
            text, seconds = answers[t["id"]]
            hits = [(m.group(1), int(m.group(2))) for m in map(HIT.match, text.splitlines())
                    if m]
            ranked_rg, rg_out, rg_bytes = ripgrep(tree, query_words(t["description"]), functions)
            texts += [text, rg_out]
            sizes[len(texts) - 1] = rg_bytes
            rows.append({
                "id": t["id"], "language": t["language"],
                "search": first_right(hits, gold, 10),
                "ripgrep": first_right(ranked_rg, gold, 10),
                "map": any(right(gold, p, l) for p, l in in_map),
                "search_text": len(texts) - 2, "rg_text": len(texts) - 1,
                "map_text": map_index, "seconds": seconds,
            })
        log(f"{package}: {len(ptasks)} tasks, indexed in {indexed:.1f} s")
    if args.json:  # the ranks, kept should the counting below fail
        with open(args.json, "w") as f:
            json.dump({"tasks": rows}, f)
    # ripgrep's output can run to megabytes: its first 256 kB are counted and the
    # rest taken at the same rate.
    cut = 256 << 10
    counts = tokens.count_tokens([t[:cut] for t in texts])
    for r in rows:
        for k in ("search_text", "rg_text", "map_text"):
            i = r.pop(k)
            n = counts[i]["cl100k_base"]
            whole = max(len(texts[i].encode()), sizes.get(i, 0))
            if len(texts[i]) > cut or whole > len(texts[i].encode()):
                n = round(n * whole / len(texts[i][:cut].encode()))
            r[k.replace("_text", "_tokens")] = n
    report(rows, args)


def report(rows, args):
    langs = sorted({r["language"] for r in rows})

    def stats(rs):
        if not rs:
            return {"tasks": 0}
        out = {"tasks": len(rs), "packages": len({r["id"].split("/")[0] for r in rs})}
        for k in ("search", "ripgrep"):
            out[f"{k}_recall@5"] = sum(1 for r in rs if r[k] and r[k] <= 5) / len(rs)
            out[f"{k}_mrr@10"] = sum(1 / r[k] for r in rs if r[k]) / len(rs)
        out["in_map"] = sum(r["map"] for r in rs) / len(rs)
        for k in ("search_tokens", "rg_tokens", "map_tokens"):
            out[f"{k}_median"] = statistics.median(r[k] for r in rs)
        out["search_seconds_median"] = statistics.median(r["seconds"] for r in rs)
        return out

    table = {lang: stats([r for r in rows if r["language"] == lang]) for lang in langs}
    table["all"] = stats(rows)
    print("| language | packages | tasks | search R@5 | ripgrep R@5 | search MRR@10 | "
          "ripgrep MRR@10 | in repo map | tokens: search | ripgrep | repo map |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for lang, s in table.items():
        if not s["tasks"]:
            continue
        print(f"| {lang} | {s['packages']} | {s['tasks']} | {s['search_recall@5']:.3f} | "
              f"{s['ripgrep_recall@5']:.3f} | {s['search_mrr@10']:.3f} | "
              f"{s['ripgrep_mrr@10']:.3f} | {s['in_map']:.3f} | "
              f"{s['search_tokens_median']:,.0f} | {s['rg_tokens_median']:,.0f} | "
              f"{s['map_tokens_median']:,.0f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"summary": table, "tasks": rows}, f, indent=1)


SELFTEST_PATCH = """Description: Keep the cache bounded
 The cache grew without limit when keys were
 never read again.
Author: Someone <someone@example.org>
Forwarded: no
---
--- a/pkg/cache.py
+++ b/pkg/cache.py
@@ -2,5 +2,6 @@
 class Cache:
     def put(self, key, value):
-        self.items[key] = value
+        self.items[key] = value
+        self.trim()

     def get(self, key):
@@ -10,2 +11,3 @@
     def size(self):
+        # counted
         return len(self.items)
"""
SELFTEST_SOURCE = (
    "# cache\nclass Cache:\n    def put(self, key, value):\n        self.items[key] = value\n"
    "\n    def get(self, key):\n        return self.items.get(key)\n\n\n"
    "    def size(self):\n        return len(self.items)\n"
)


def selftest():
    """The patch reader on a patch whose answer is known (run by .ci/run)."""
    assert description(SELFTEST_PATCH) == (
        "Keep the cache bounded The cache grew without limit when keys were never read again."
    ), description(SELFTEST_PATCH)
    diffs = file_diffs(SELFTEST_PATCH)
    assert [p for p, _ in diffs] == ["pkg/cache.py"], diffs
    source = SELFTEST_SOURCE.split("\n")
    # Line 4 is replaced (and a line added after it); line 11 gets a line before it.
    assert changed_lines(source, diffs[0][1]) == {4, 10, 11}, changed_lines(source, diffs[0][1])
    # Shifted by an earlier patch: found where the text really is.
    shifted = ["# moved"] * 7 + source
    assert changed_lines(shifted, diffs[0][1]) == {11, 17, 18}
    # Not there at all: dropped, never guessed.
    assert changed_lines(["x"] * 20, diffs[0][1]) == set()
    # An insertion with no context (`@@ -3,0 +4,1 @@`): the lines either side.
    assert changed_lines(source, [(3, [("+", "x")])]) == {3, 4}
    with tempfile.TemporaryDirectory() as tree:
        os.makedirs(os.path.join(tree, "pkg"))
        with open(os.path.join(tree, "pkg", "cache.py"), "w") as f:
            f.write(SELFTEST_SOURCE)
        stanza = {"Package": "selftest", "Version": "1"}
        tasks = tasks_of_package("python", stanza, Path(tree), [("bound.patch", SELFTEST_PATCH)])
        assert len(tasks) == 1, tasks
        names = [c["name"] for c in tasks[0]["changed"]]
        assert names == ["put", "size"], names
    assert query_words("Fix the parser's handling of UTF-8 in parse_header") == [
        "fix", "parser", "handling", "utf", "parse_header"]
    assert TEST_PATH.search("tests/test_x.py") and not TEST_PATH.search("pkg/testing_util.py")
    print("localisation-eval selftest: ok")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("collect", help="fetch the packages and build the task set")
    c.add_argument("--per-lang", type=int, default=40, help="tasks wanted per language")
    c.add_argument("--max-packages", type=int, default=5000,
                   help="packages tried per language at most")
    c.add_argument("--langs", help="comma-separated subset of " + ",".join(LANGS))
    r = sub.add_parser("run", help="index, ask, score")
    r.add_argument("--binary", required=True)
    r.add_argument("--langs")
    r.add_argument("--db-root", help="keep the stores here (reused when already indexed)")
    r.add_argument("--json", help="write the summary and every task's ranks here")
    r.add_argument("--no-embed", action="store_true",
                   help="text search only (no embedding model), as without CODEGRAPH_MODEL_DIR")
    r.add_argument("--max-mb", type=int,
                   help="leave out packages with more source than this (MB of code files)")
    sub.add_parser("selftest", help="check the patch reader on a known patch")
    args = p.parse_args()
    if args.command == "collect":
        collect(args)
    elif args.command == "selftest":
        selftest()
    else:
        run(args)


if __name__ == "__main__":
    main()
