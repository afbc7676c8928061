#!/usr/bin/env python3
"""CodeGraph's SCIP export beside scip-typescript's on the same TypeScript project, and
scip-typescript's index taken back in with `codegraph index --scip`.

    scripts/scip-compare.py [--binary codegraph] [--package DIR ...] [--json]
                            [--min-agreement F] [--min-precise-sites N]

For each package (default: the fetched corpus's tanstack-query-core and zod), a copy
of its sources is indexed by scip-typescript (npm, `--infer-tsconfig`) and by
CodeGraph. For every reference occurrence scip-typescript writes whose symbol is
defined in the project, the comparison asks whether CodeGraph writes a reference at
the same place and whether it names the same definition (same file, same name
position). It prints, per package:

  their_refs   scip-typescript's references to the project's own definitions
  ours_there   of those places, the ones CodeGraph writes a reference at
  agree        of those, the ones naming the same definition
  agreement    agree / ours_there: how often CodeGraph is right where it speaks
  coverage     agree / their_refs: how much of the compiler's picture it gives
  ours_extra   CodeGraph references at places scip-typescript resolves outside
               the project (a library or the runtime): wrong by construction

Then it indexes the package again with `--scip` (scip-typescript's index) and reports
the sites taken as `precise`. scip-typescript is installed with npm into
~/.cache/codegraph/scip-ts. SCIP is protobuf; the few fields read here are decoded by
hand (wire format), so the script needs nothing from PyPI.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CACHE = Path(os.environ.get("CODEGRAPH_CACHE", Path.home() / ".cache" / "codegraph"))
SCIP_TS_DIR = CACHE / "scip-ts"
SCIP_TS = "@sourcegraph/scip-typescript@0.4.0"
CORPUS = CACHE / "corpus" / "typescript"
DEFAULT_PACKAGES = ["tanstack-query-core-5.59.0", "zod-3.25.76"]


def varint(buf, i):
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def fields(buf):
    """(field number, wire type, value) of each field of one protobuf message."""
    i = 0
    while i < len(buf):
        key, i = varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = varint(buf, i)
        elif wire == 2:
            n, i = varint(buf, i)
            value, i = buf[i:i + n], i + n
        elif wire == 1:
            value, i = buf[i:i + 8], i + 8
        elif wire == 5:
            value, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        yield number, wire, value


def packed(buf):
    out, i = [], 0
    while i < len(buf):
        v, i = varint(buf, i)
        out.append(v - (1 << 32) if v >= 1 << 31 else v)
    return out


def read_scip(path):
    """{relative_path: [(line, column, symbol, roles)]} of a SCIP index (UTF-16 columns
    for scip-typescript, bytes for CodeGraph: only ASCII lines are compared)."""
    docs = {}
    data = Path(path).read_bytes()
    for number, _, doc in fields(data):
        if number != 2:  # Index.documents
            continue
        rel, occurrences = None, []
        for dn, _, dv in fields(doc):
            if dn == 1:  # Document.relative_path
                rel = dv.decode()
            elif dn == 2:  # Document.occurrences
                rng, symbol, roles = [], "", 0
                for on, ow, ov in fields(dv):
                    if on == 1:  # Occurrence.range, packed (or one value per field)
                        rng += packed(ov) if ow == 2 else [ov]
                    elif on == 2:
                        symbol = ov.decode()
                    elif on == 3:
                        roles = ov
                if len(rng) >= 3:
                    occurrences.append((rng[0], rng[1], symbol, roles))
        if rel is not None:
            docs[rel] = occurrences
    return docs


def definitions(docs):
    """{symbol: {(path, line, column)}} of every global definition. A symbol can have
    several: TypeScript's overload signatures and the implementation are one symbol."""
    out = {}
    for path, occs in docs.items():
        for line, col, symbol, roles in occs:
            if roles & 1 and not symbol.startswith("local "):
                out.setdefault(symbol, set()).add((path, line, col))
    return out


def references(docs):
    """{(path, line, column): {symbols}} of every reference."""
    out = {}
    for path, occs in docs.items():
        for line, col, symbol, roles in occs:
            if not roles & 1 and not symbol.startswith("local "):
                out.setdefault((path, line, col), set()).add(symbol)
    return out


def install():
    binary = SCIP_TS_DIR / "node_modules" / ".bin" / "scip-typescript"
    if not binary.exists():
        SCIP_TS_DIR.mkdir(parents=True, exist_ok=True)
        (SCIP_TS_DIR / "package.json").write_text('{"private": true}\n')
        # Tried again on a registry hiccup, with npm's own reason shown.
        for attempt in range(3):
            done = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error",
                                   SCIP_TS], cwd=SCIP_TS_DIR)
            if done.returncode == 0:
                break
            if attempt == 2:
                sys.exit(f"npm could not install {SCIP_TS}")
            time.sleep(5 * (attempt + 1))
    return binary


def ascii_lines(root):
    """{path: {line}} of the lines that are ASCII: there scip-typescript's UTF-16 columns
    and ours (bytes) are the same; other lines are left out of the comparison."""
    out = {}
    for path in Path(root).rglob("*"):
        if path.is_file():
            try:
                lines = path.read_bytes().split(b"\n")
            except OSError:
                continue
            out[str(path.relative_to(root))] = {i for i, l in enumerate(lines) if l.isascii()}
    return out


def compare(theirs, ours, ascii_only):
    their_defs, our_defs = definitions(theirs), definitions(ours)
    their_refs, our_refs = references(theirs), references(ours)
    counts = {"their_refs": 0, "ours_there": 0, "agree": 0, "ours_extra": 0}
    for place, symbols in their_refs.items():
        if place[1] not in ascii_only.get(place[0], ()):
            continue
        targets = set().union(*(their_defs.get(s, set()) for s in symbols))
        ours_here = set().union(*(our_defs.get(s, set()) for s in our_refs.get(place, ())))
        if not targets:
            counts["ours_extra"] += bool(ours_here)
            continue
        counts["their_refs"] += 1
        if ours_here:
            counts["ours_there"] += 1
            counts["agree"] += bool(ours_here & targets)
    counts["agreement"] = round(counts["agree"] / max(counts["ours_there"], 1), 4)
    counts["coverage"] = round(counts["agree"] / max(counts["their_refs"], 1), 4)
    return counts


def run_package(binary, scip_ts, package, work):
    src = work / "src"
    shutil.copytree(package, src, ignore=shutil.ignore_patterns("node_modules", "build", "dist", "*.d.ts", "*.js", "*.cjs", "*.mjs"))
    theirs_file, ours_file, db = work / "theirs.scip", work / "ours.scip", work / "db"
    subprocess.run([str(scip_ts), "index", "--infer-tsconfig", "--output", str(theirs_file)],
                   cwd=src, check=True, capture_output=True)
    # The inferred tsconfig.json is theirs, not the project's.
    (src / "tsconfig.json").unlink(missing_ok=True)
    run = lambda *args: subprocess.run([binary, *args], check=True, capture_output=True, text=True)
    run("index", str(src), "--db", str(db), "--no-embed", "--no-text", "-q")
    run("export", "--db", str(db), "--format", "scip", "--root", str(src), "-o", str(ours_file))
    theirs, ours = read_scip(theirs_file), read_scip(ours_file)
    ascii_only = ascii_lines(src)
    result = {"package": package.name, **compare(theirs, ours, ascii_only)}
    guesses_file = work / "guesses.scip"
    run("export", "--db", str(db), "--format", "scip", "--root", str(src), "--include-guesses", "-o", str(guesses_file))
    with_guesses = compare(theirs, read_scip(guesses_file), ascii_only)
    result["with_guesses"] = {k: with_guesses[k] for k in ("ours_there", "agree", "agreement", "coverage")}
    imported = json.loads(run("index", str(src), "--db", str(db), "--no-embed", "--no-text", "-q",
                              "--json", "--scip", str(theirs_file)).stdout)
    result["import"] = imported.get("scip")
    # With its resolutions taken, the export agrees where it speaks.
    precise_file = work / "precise.scip"
    run("export", "--db", str(db), "--format", "scip", "--root", str(src), "-o", str(precise_file))
    after = compare(theirs, read_scip(precise_file), ascii_only)
    result["after_import"] = {k: after[k] for k in ("ours_there", "agree", "agreement", "coverage")}
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", default="codegraph")
    ap.add_argument("--package", action="append", type=Path)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--min-agreement", type=float)
    ap.add_argument("--min-precise-sites", type=int)
    args = ap.parse_args()
    packages = args.package or [CORPUS / p for p in DEFAULT_PACKAGES]
    scip_ts = install()
    failed = False
    for package in packages:
        if not package.is_dir():
            print(f"scip-compare: {package} is missing (scripts/fetch-corpus.sh fetches it)", file=sys.stderr)
            sys.exit(2)
        with tempfile.TemporaryDirectory(prefix="scip-compare-") as work:
            r = run_package(args.binary, scip_ts, package, Path(work))
        if args.json:
            print(json.dumps(r))
        else:
            print(f"{r['package']}: scip-typescript refs to project definitions {r['their_refs']}; "
                  f"ours at {r['ours_there']}, agreeing {r['agree']} (agreement {r['agreement']:.3f}, "
                  f"coverage {r['coverage']:.3f}); ours where theirs is external {r['ours_extra']}")
            g = r["with_guesses"]
            print(f"  with guesses: ours at {g['ours_there']}, agreement {g['agreement']:.3f}, coverage {g['coverage']:.3f}")
            i, a = r["import"] or {}, r["after_import"]
            print(f"  --scip import: {i.get('covered_files')} of {i.get('documents')} documents, "
                  f"{i.get('sites')} sites precise ({i.get('external_sites')} outside the project); "
                  f"export after it: agreement {a['agreement']:.3f}, coverage {a['coverage']:.3f}")
        if args.min_agreement is not None and r["agreement"] < args.min_agreement:
            print(f"scip-compare: {r['package']}: agreement {r['agreement']} < {args.min_agreement}", file=sys.stderr)
            failed = True
        sites = (r["import"] or {}).get("sites", 0)
        if args.min_precise_sites is not None and sites < args.min_precise_sites:
            print(f"scip-compare: {r['package']}: {sites} precise sites < {args.min_precise_sites}", file=sys.stderr)
            failed = True
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
