#!/usr/bin/env python3
"""Tokenizer load time and single-thread encode throughput, weightstream vs
Python `tokenizers`, on the real tokenizer.json files of
.ci/setup.d/25-tokenizer-families.sh and one corpus (bench/RESULTS-tokenizer.md).

The corpus: the parity corpus (tests/tokenizer/corpus.py: many scripts, emoji,
combining marks, code, digits) shuffled into ~4 KB documents, 2 MB in all.
Both sides encode each document on its own, one thread, no special tokens.
"llama3_1 (engine)" is Llama 3.1's file with its Split regex wrapped in a
no-op group, so weightstream runs Oniguruma instead of its hand-written
splitter: the difference is what the fast path buys.

Usage: build/venv-current/bin/python bench/tokenizer_bench.py [--out bench/results/tokenizer-DATE.json]
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(root, "tests/tokenizer"))
from corpus import corpus_strings  # noqa: E402

FAMILIES = ["gemma3", "gptoss", "gpt4o", "qwen3", "llama3_1", "deepseek_v3", "llama2", "claude"]


def make_documents(target_bytes=2_000_000, document_bytes=4096):
    rng = random.Random(1129)
    strings = [s for s in corpus_strings() if s]
    documents, total = [], 0
    while total < target_bytes:
        parts, size = [], 0
        while size < document_bytes:
            s = rng.choice(strings)
            parts.append(s)
            size += len(s.encode())
        doc = " ".join(parts)
        documents.append(doc)
        total += len(doc.encode())
    return documents


def python_side(path, documents, repeat):
    import tokenizers
    loads = sorted(_timed(lambda: tokenizers.Tokenizer.from_file(path))[0] for _ in range(repeat))
    tok = tokenizers.Tokenizer.from_file(path)
    encodes, tokens = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        tokens = sum(len(tok.encode(d, add_special_tokens=False).ids) for d in documents)
        encodes.append(time.perf_counter() - start)
    encodes.sort()
    size = sum(len(d.encode()) for d in documents)
    median = encodes[len(encodes) // 2]
    return {"load_s": loads[len(loads) // 2], "load_s_min": loads[0], "load_s_max": loads[-1], "encode_s": median,
            "encode_s_min": encodes[0], "encode_s_max": encodes[-1], "encode_mb_s": size / 1e6 / median,
            "tokens": tokens, "runs": repeat}


def _timed(fn):
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=os.path.join(root, "build/native/bench/ws_tokenizer_bench"))
    parser.add_argument("--families-dir", default=os.path.join(root, "build/tokenizers"))
    parser.add_argument("--out")
    parser.add_argument("--repeat", type=int, default=5, help="runs per side; medians with min-max are reported")
    args = parser.parse_args()
    import tokenizers
    documents = make_documents()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        corpus = os.path.join(tmp, "corpus.txt")
        with open(corpus, "w", encoding="utf-8") as f:
            f.write("\n\x1e\n".join(documents))
        cases = [(f, os.path.join(args.families_dir, f, "tokenizer.json")) for f in FAMILIES]
        layout = json.load(open(cases[FAMILIES.index("llama3_1")][1], encoding="utf-8"))
        split = layout["pre_tokenizer"]["pretokenizers"][0]
        split["pattern"]["Regex"] = "(?:" + split["pattern"]["Regex"] + ")"
        engine = os.path.join(tmp, "llama3_engine.json")
        with open(engine, "w", encoding="utf-8") as f:
            json.dump(layout, f)
        cases.append(("llama3_1 (engine)", engine))
        for name, path in cases:
            ours = json.loads(subprocess.run([args.binary, path, corpus, str(args.repeat)], check=True,
                                             capture_output=True, text=True).stdout)
            theirs = python_side(path, documents, args.repeat)
            row = {"family": name, "file_mb": os.path.getsize(path) / 1e6, "weightstream": ours,
                   "tokenizers": theirs, "same_token_count": ours["tokens"] == theirs["tokens"]}
            rows.append(row)
            print(f"{name:18s} {row['file_mb']:6.1f} MB  load {ours['load_s']:.3f} s vs {theirs['load_s']:.3f} s  "
                  f"encode {ours['encode_mb_s']:6.2f} MB/s vs {theirs['encode_mb_s']:6.2f} MB/s  "
                  f"tokens {ours['tokens']} vs {theirs['tokens']}", flush=True)
    sys.path.insert(0, os.path.join(root, "bench"))
    from bench_meta import run_meta
    result = {"meta": run_meta(), "command": " ".join([os.path.relpath(sys.executable, root)] + sys.argv),
              "tokenizers_version": tokenizers.__version__, "corpus_bytes": sum(len(d.encode()) for d in documents),
              "documents": len(documents), "rows": rows}
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
