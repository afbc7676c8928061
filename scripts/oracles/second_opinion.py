#!/usr/bin/env python3
"""Python's second opinion: basedpyright's pairs beside jedi's, and CodeGraph scored on both.

    scripts/oracles/second_opinion.py --codegraph ~/.cache/codegraph/bin/codegraph-py1
    scripts/oracles/second_opinion.py --packages flask-3.1.3 --details 10
    scripts/oracles/second_opinion.py --heldout --codegraph BIN    # totals only, no details
    scripts/oracles/second_opinion.py --sample 300                 # 300 sites per package

For each Python package run.py knows (the tuned corpus, or with --heldout the held-out
one), the jedi pairs (python.py, cached by run.py) and the basedpyright pairs
(python_pyright.py, cached the same way under ~/.cache/codegraph/oracles/pairs/python-pyright/)
are compared on the sites both answered: they agree when both put the callee outside the
package, or both inside with at least one target in common. With --codegraph, CodeGraph is
then scored (score.py) against jedi, against basedpyright, and against the sites where the
two agree (their common targets). Without it only the agreement is printed.

--sample N has basedpyright ask N sites per package (python_pyright.py --sample: a fixed
seed, so the same sites every run) and restricts jedi's pairs to those sites, for the
agreement and the jedi-scored rows alike. A full run of the six tuned packages takes
about 3 minutes on 2 idle cores the first time (the pairs are cached after that).
"""

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time

import python_pyright
import run
import score

# run.oracle_version hashes the script named here, so a changed oracle is asked again.
run.ORACLES["python-pyright"] = ("python_pyright.py", [])

KINDS = ("calls", "inherits", "imports")


def pyright_pairs(pkg, root, sample):
    """python_pyright.py's pairs for one package, cached per package, script version and N."""
    name = f"{pkg}-{root.replace('/', '_')}-{run.oracle_version('python-pyright')}"
    if sample:
        name += f"-sample{sample}"
    out = run.PAIRS / "python-pyright" / f"{name}.jsonl"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".tmp")
        command = [sys.executable, str(run.HERE / "python_pyright.py"),
                   str(run.root_dir(pkg, root, "python")), str(tmp)]
        if sample:
            command += ["--sample", str(sample)]
        started = time.monotonic()
        subprocess.run(command, check=True)
        tmp.rename(out)
        print(f"python_pyright.py {pkg}: {time.monotonic() - started:.0f}s", file=sys.stderr)
    return out


def compare(jedi, pyright):
    """Counts per edge kind over the sites of both, and the sites they agree on."""
    counts = collections.defaultdict(collections.Counter)
    agreed, disagreed = {}, []
    for key in jedi.keys() | pyright.keys():
        c = counts[key[0]]
        if key not in pyright:
            c["jedi_only"] += 1
            continue
        if key not in jedi:
            c["pyright_only"] += 1
            continue
        j, p = jedi[key], pyright[key]
        c["both"] += 1
        common = j["targets"] & p["targets"]
        if j["external"] and p["external"]:
            c["agree_external"] += 1
            agreed[key] = set()
        elif common:
            c["agree_in_package"] += 1
            agreed[key] = common
        elif j["external"]:
            c["jedi_external_pyright_in"] += 1
        elif p["external"]:
            c["jedi_in_pyright_external"] += 1
        else:
            c["different_targets"] += 1
        if key not in agreed:
            disagreed.append((key, j, p))
    return counts, agreed, sorted(disagreed)


def print_agreement(label, counts):
    for kind in KINDS:
        c = counts.get(kind)
        if not c:
            continue
        agree = c["agree_external"] + c["agree_in_package"]
        share = f"{agree / c['both']:.3f}" if c["both"] else "  -  "
        print(
            f"{label:38} {kind:8} agree {share}  ({agree} of {c['both']} sites both answer: "
            f"{c['agree_in_package']} in package, {c['agree_external']} outside; differ: "
            f"{c['different_targets']} other target, {c['jedi_external_pyright_in']} only "
            f"pyright in package, {c['jedi_in_pyright_external']} only jedi in package; "
            f"answered by one: jedi {c['jedi_only']}, pyright {c['pyright_only']})"
        )


def write_pairs(sites, path):
    with open(path, "w") as f:
        for (edge, rel, line, name), targets in sorted(sites.items()):
            f.write(json.dumps({
                "edge": edge, "path": rel, "line": line, "name": name,
                "targets": [{"path": p, "line": n} for p, n in sorted(targets)],
                "external": not targets,
            }) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--packages", help="comma-separated package dirs (default: all)")
    parser.add_argument("--heldout", action="store_true", help="the held-out packages (totals only)")
    parser.add_argument("--codegraph", help="a built codegraph binary to score")
    parser.add_argument("--sample", type=int, help="basedpyright asks only N sites per package")
    parser.add_argument("--details", type=int, default=0,
                        help="print N disagreements, and N wrong and missed against basedpyright")
    parser.add_argument("--json", help="append one JSON row per package and the total")
    args = parser.parse_args()
    if args.heldout and args.details:
        parser.error("--details would show held-out source; only totals are read there")
    run.ARGS = argparse.Namespace(heldout=args.heldout)  # run.root_dir reads it
    table = run.HELDOUT_PACKAGES if args.heldout else run.PACKAGES
    wanted = set(args.packages.split(",")) if args.packages else None
    json_out = open(args.json, "a") if args.json else None

    totals = collections.defaultdict(collections.Counter)
    scored = collections.defaultdict(list)  # oracle name -> rows
    for pkg, root in table["python"]:
        if wanted and pkg not in wanted:
            continue
        directory = run.root_dir(pkg, root, "python")
        if not directory.is_dir():
            print(f"python/{pkg}: {directory} is missing; run scripts/fetch-corpus.sh", file=sys.stderr)
            continue
        jedi_path = run.pairs_for("python", pkg, root)
        pyright_path = pyright_pairs(pkg, root, args.sample)
        jedi, pyright = score.read_pairs(jedi_path), score.read_pairs(pyright_path)
        if args.sample:
            # Agreement over the sampled sites only.
            files, _ = python_pyright.collect(os.path.realpath(directory), args.sample)
            asked = {(e, rel, line, name) for _, rel, _, sites, _ in files for e, name, line, _ in sites}
            jedi = {k: v for k, v in jedi.items() if k in asked}
        counts, agreed, disagreed = compare(jedi, pyright)
        label = f"python/{pkg}"
        print_agreement(label, counts)
        for kind, c in counts.items():
            totals[kind].update(c)
        for key, j, p in disagreed[: args.details]:
            print(f"  differ: {key[1]}:{key[2]} {key[3]} ({key[0]}) jedi: "
                  f"{sorted(j['targets']) or 'outside'}; pyright: {sorted(p['targets']) or 'outside'}")
        row = {"language": "python", "package": pkg, "heldout": args.heldout,
               "agreement": {k: dict(v) for k, v in counts.items()}}
        if args.codegraph:
            with tempfile.TemporaryDirectory() as work:
                consensus = os.path.join(work, "consensus.jsonl")
                write_pairs(agreed, consensus)
                if args.sample:  # jedi on the sampled sites only, like the others
                    jedi_path = os.path.join(work, "jedi-sample.jsonl")
                    write_pairs({k: v["targets"] for k, v in jedi.items()}, jedi_path)
                for oracle, path in (("jedi", jedi_path), ("pyright", pyright_path), ("both", consensus)):
                    details = args.details if oracle == "pyright" else 0
                    r, wrong, missed = score.score(args.codegraph, directory, path, details)
                    score.print_row(f"{label} [{oracle}]", r)
                    for w in wrong:
                        print("  wrong:", w)
                    for m in missed:
                        print("  missed:", m)
                    scored[oracle].append(r)
                    row[oracle] = r
        if json_out:
            json_out.write(json.dumps(row) + "\n")

    if not totals:
        return
    print()
    print_agreement("python (total)", totals)
    row = {"language": "python", "package": "total", "heldout": args.heldout,
           "agreement": {k: dict(v) for k, v in totals.items()}}
    for oracle, rows in scored.items():
        row[oracle] = total = score.merge(rows)
        score.print_row(f"python (total) [{oracle}]", total)
    if json_out:
        json_out.write(json.dumps(row) + "\n")
        json_out.close()


if __name__ == "__main__":
    main()
