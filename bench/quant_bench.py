"""Quantized weights, side by side with llama.cpp (issue 10's benchmark).

  .venv/bin/python bench/quant_bench.py [--runs 5] [--tokens 64] [--threads 2] [--cases smollm2,tiny,13b,ppl]
      [--peers build/node-llama-cpp] [--scratch /tmp/ws-quant-bench]

Cases (each writes its rows into one results table and one raw JSON file):
  smollm2  the built-in default (SmolLM2-135M-Instruct Q4_1 GGUF), ours with --dtype keep vs llama.cpp
           on the same file, same prompt ids, same threads, same number of tokens;
  tiny     a TinyLlama-1.1B-shaped random bf16 safetensors checkpoint (hidden 2048, MLP 5632, 22
           layers, 32/4 heads; SmolLM2's 49152-token tokenizer, because llama.cpp needs a real one
           in the GGUF): ours --dtype q4_0 / q8_0 straight from the bf16 files vs llama.cpp on the
           Q4_0 / Q8_0 GGUF our `convert` writes from the same files;
  13b      a Llama-2-13B-shaped bf16 checkpoint (~24 GiB): --dtype q4_0 generates (peak RSS <= 8 GiB)
           and --dtype keep is refused with OutOfBudget (within 10 s); deleted afterwards;
  ppl      perplexity of SmolLM2 on tests/data/gpl-3.0.txt (first 2048 tokens) for f32, q8_0, q4_0,
           q4_k (quantized from its bf16 conversion) and the shipped Q4_1 blocks (--dtype keep).

Memory: ours is the CLI's peak RSS (VmHWM of the whole process, nothing subtracted); llama.cpp's is
the node process's VmHWM less its RSS after importing node-llama-cpp (its post-import baseline), so
the peer is never charged for Node itself. llama.cpp is npm node-llama-cpp's prebuilt Linux x64 CPU
binary, installed by `bash .ci/setup.d/60-node-llama-cpp.sh` into build/node-llama-cpp (--peers).
Runs alternate ours / llama.cpp; medians with min-max are reported.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WS = os.path.join(ROOT, "build/native/weightstream")
PY = os.path.join(ROOT, ".venv/bin/python")
SMOLLM2 = os.path.join(ROOT, "build/models/SmolLM2-135M-Instruct.Q4_1.gguf")
SMOLLM2_BF16 = os.path.join(ROOT, "build/models/SmolLM2-135M-Instruct-bf16")
TEXT = os.path.join(ROOT, "tests/data/gpl-3.0.txt")
PROMPT = "Once upon a time, in a small village by the sea, there lived an old fisherman who"


def run_json(cmd, cwd=None, env=None):
    started = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if p.returncode != 0:
        return {"error": p.stderr.strip()[-2000:], "exit": p.returncode, "wall_seconds": wall}
    out = json.loads(p.stdout.strip().splitlines()[-1])
    out["wall_seconds"] = wall
    return out


def ours(model, dtype, ids, tokens, threads):
    return run_json([WS, "generate", model, "--dtype", dtype, "--prompt-ids", ",".join(map(str, ids)),
                     "--max-new-tokens", str(tokens), "--threads", str(threads), "--json"])


def llamacpp(gguf, ids, tokens, threads, peers):
    r = run_json(["node", os.path.join(ROOT, "bench/peers/llamacpp_decode.mjs"), gguf, "--ids",
                  ",".join(map(str, ids)), "--tokens", str(tokens), "--threads", str(threads)], cwd=peers)
    if "peak_rss_bytes" in r:
        r["rss_over_baseline_bytes"] = r["peak_rss_bytes"] - r["baseline_rss_bytes"]
    return r


def prompt_ids(model):
    r = run_json([WS, "generate", model, "--prompt", PROMPT, "--max-new-tokens", "1", "--json"])
    return r["prompt_ids"]


def summary(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def pair(label, runs, ours_fn, peer_fn, file_bytes, peer_fn_1_thread=None):
    """Alternating runs of ours and the peer (same threads; and the peer on one
    thread, where llama.cpp's spinning workers decode faster on this 2-vCPU VM);
    rows of medians."""
    ours_runs, peer_runs, peer_1_runs = [], [], []
    for _ in range(runs):
        ours_runs.append(ours_fn())
        if peer_fn:
            peer_runs.append(peer_fn())
        if peer_fn_1_thread:
            peer_1_runs.append(peer_fn_1_thread())
    row = {"case": label, "file_bytes": file_bytes, "ours_runs": ours_runs, "peer_runs": peer_runs,
           "ours": {"decode_tps": summary([r.get("decode_tokens_per_second") for r in ours_runs]),
                    "prefill_tps": summary([r.get("prefill_tokens_per_second") for r in ours_runs]),
                    "peak_rss": summary([r.get("peak_rss_bytes") for r in ours_runs]),
                    "bound": summary([r.get("load", {}).get("bound_bytes") for r in ours_runs])}}
    if peer_fn:
        row["peer"] = {"decode_tps": summary([r.get("decode_tokens_per_second") for r in peer_runs]),
                       "prefill_tps": summary([r.get("prefill_tokens_per_second") for r in peer_runs]),
                       "rss_over_baseline": summary([r.get("rss_over_baseline_bytes") for r in peer_runs])}
    if peer_1_runs:
        row["peer_1_thread_runs"] = peer_1_runs
        row["peer_1_thread"] = {"decode_tps": summary([r.get("decode_tokens_per_second") for r in peer_1_runs])}
    return row


def make_checkpoint(out, args):
    subprocess.run([PY, os.path.join(ROOT, "bench/make_checkpoint.py"), out, "--llama", *args], check=True)


def case_smollm2(a):
    ids = prompt_ids(SMOLLM2)
    return [pair("SmolLM2-135M Q4_1 GGUF, ours --dtype keep vs llama.cpp", a.runs,
                 lambda: ours(SMOLLM2, "keep", ids, a.tokens, a.threads),
                 lambda: llamacpp(SMOLLM2, ids, a.tokens, a.threads, a.peers), os.path.getsize(SMOLLM2),
                 lambda: llamacpp(SMOLLM2, ids, a.tokens, 1, a.peers))]


def case_tiny(a):
    d = os.path.join(a.scratch, "tinyllama-1.1b-bf16")
    make_checkpoint(d, ["--hidden", "2048", "--intermediate", "5632", "--layers", "22", "--heads", "32",
                        "--kv-heads", "4", "--vocab", "49152", "--tokenizer-from", SMOLLM2_BF16,
                        "--shard-gib", "1"])
    ids = prompt_ids(d)
    rows = []
    for dtype in ("q4_0", "q8_0"):
        gguf = os.path.join(a.scratch, f"tinyllama-1.1b-{dtype}.gguf")
        if not os.path.exists(gguf):
            subprocess.run([WS, "convert", d, gguf, "--dtype", dtype], check=True)
        rows.append(pair(f"1.1B bf16 safetensors -> {dtype}: ours quantizing on load vs llama.cpp on our {dtype} GGUF",
                         a.runs, lambda: ours(d, dtype, ids, a.tokens, a.threads),
                         lambda: llamacpp(gguf, ids, a.tokens, a.threads, a.peers), os.path.getsize(gguf),
                         lambda: llamacpp(gguf, ids, a.tokens, 1, a.peers)))
    return rows


def case_13b(a):
    d = os.path.join(a.scratch, "llama-13b-bf16")
    started = time.perf_counter()
    make_checkpoint(d, ["--hidden", "5120", "--intermediate", "13824", "--layers", "40", "--heads", "40",
                        "--kv-heads", "40", "--vocab", "32000", "--shard-gib", "4"])
    made = time.perf_counter() - started
    ids = [1, 450, 7483, 310, 3444, 338]
    try:
        refused = run_json([WS, "generate", d, "--dtype", "keep", "--prompt-ids", ",".join(map(str, ids)),
                            "--max-new-tokens", "8", "--json"])
        quantized = ours(d, "q4_0", ids, 8, a.threads)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return [{"case": "Llama-2-13B-shaped bf16 (random weights)", "checkpoint_seconds": made,
             "keep": refused, "q4_0": quantized}]


def case_ppl(a):
    rows = []
    for label, model, dtype in [("f32", SMOLLM2_BF16, "f32"), ("q8_0", SMOLLM2_BF16, "q8_0"),
                                ("q4_0", SMOLLM2_BF16, "q4_0"), ("q4_k", SMOLLM2_BF16, "q4_k"),
                                ("shipped Q4_1 GGUF (keep)", SMOLLM2, "keep")]:
        r = run_json([WS, "perplexity", model, "--file", TEXT, "--context", "2048", "--dtype", dtype,
                      "--threads", str(a.threads), "--json"])
        rows.append({"case": f"SmolLM2 perplexity, {label}", **r})
    return rows


def cell(s, scale=1.0, digits=1):
    if not s:
        return "-"
    return f"{s['median'] / scale:.{digits}f} ({s['min'] / scale:.{digits}f}-{s['max'] / scale:.{digits}f}, n={s['n']})"


def table(results):
    """Markdown rows of a raw results file (what RESULTS-quant.md shows)."""
    mib = 1 << 20
    lines = []
    for row in results["rows"]:
        if "ours" in row:
            o, p = row["ours"], row.get("peer", {})
            ratio = "-"
            if p.get("decode_tps") and o.get("decode_tps"):
                ratio = f"{o['decode_tps']['median'] / p['decode_tps']['median']:.2f}"
            lines.append(f"| {row['case']} | {row['file_bytes'] / mib:.1f} | {cell(o['bound'], mib)} | "
                         f"{cell(o['peak_rss'], mib)} | {cell(p.get('rss_over_baseline'), mib)} | "
                         f"{cell(o['decode_tps'])} | {cell(p.get('decode_tps'))} | {ratio} | "
                         f"{cell(row.get('peer_1_thread', {}).get('decode_tps'))} | "
                         f"{cell(o['prefill_tps'])} | {cell(p.get('prefill_tps'))} |")
        elif "perplexity" in row:
            lines.append(f"| {row['case']} | {row['perplexity']:.4f} | {row['scored_tokens']} | "
                         f"{row['bound_bytes'] / mib:.1f} |")
        elif "q4_0" in row:
            q, k = row["q4_0"], row["keep"]
            lines.append(f"| {row['case']} | q4_0: peak RSS {q.get('peak_rss_bytes', 0) / mib:.0f} MiB, bound "
                         f"{q.get('load', {}).get('bound_bytes', 0) / mib:.0f} MiB, load {q.get('load', {}).get('seconds', 0):.1f} s, "
                         f"decode {q.get('decode_tokens_per_second', 0):.2f} tok/s | keep: exit {k.get('exit')} after "
                         f"{k.get('wall_seconds', 0):.2f} s: {k.get('error', 'no error')[:160]} |")
        elif "error" in row:
            lines.append(f"| {row['case']} | error: {row['error'][:200]} |")
    return "\n".join(lines)


def machine():
    load = os.getloadavg()
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    return {"commit": commit, "date": datetime.datetime.utcnow().isoformat() + "Z", "cpu": cpu,
            "cores": os.cpu_count(), "loadavg": load, "kernel": platform.release()}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--tokens", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--cases", default="smollm2,tiny,ppl,13b")
    p.add_argument("--peers", default=os.path.join(ROOT, "build/node-llama-cpp"),
                   help="a directory whose node_modules has node-llama-cpp (.ci/setup.d/60-node-llama-cpp.sh)")
    p.add_argument("--scratch", default="/tmp/ws-quant-bench")
    p.add_argument("--out", default=os.path.join(ROOT, "bench/results"))
    p.add_argument("--table", help="print the markdown rows of a raw results file and exit")
    a = p.parse_args()
    if a.table:
        with open(a.table) as f:
            print(table(json.load(f)))
        return
    os.makedirs(a.scratch, exist_ok=True)
    cases = {"smollm2": case_smollm2, "tiny": case_tiny, "13b": case_13b, "ppl": case_ppl}
    results = {"machine": machine(), "command": " ".join(sys.argv), "rows": []}
    for name in a.cases.split(","):
        rows = cases[name](a)
        results["rows"] += rows
        print(json.dumps(rows, indent=1)[:4000], flush=True)
    results["machine_after"] = machine()
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, f"quant-{datetime.date.today().isoformat()}-{'-'.join(a.cases.split(','))}.json")
    with open(path, "w") as f:
        json.dump(results, f, indent=1)
    print("raw results:", path)
    print(table(results))


if __name__ == "__main__":
    main()
