"""Load benchmark, side by side in one run (warm page cache):
  cat shards > /dev/null          the read bandwidth limit (reuses one buffer)
  ws_pread_floor                  pread into fresh memory: the floor for any copying loader
  weightstream load               ours: --bind copy (own buffers) and --bind mmap (zero-copy views
                                  for kept dtypes), keep and a converting dtype
  ws_naive_load                   read each shard whole, then copy tensors out: the 2x baseline
  safetensors.torch.load_file     the Python reference (torch tensors over mmap), lazily and with
                                  every page touched

usage: python bench/load_bench.py [--dir /tmp/ws-bench] [--gib 2] [--repeat 5] [--raw OUT.json]
Prints a markdown table per checkpoint: median seconds with min-max over N runs (N >= 5),
peak RSS over each process's own post-start baseline (bench_meta.MEMORY_ACCOUNTING),
bound bytes; writes every run, the commit, the machine and the load average to a raw JSON
(default bench/results/load-<commit>.json). Needs the build (build/native); the safetensors
peer is the Python running this script (its versions are recorded in the raw JSON).
"""
import argparse
import json
import os
import subprocess
import sys
import time

from bench_meta import MEMORY_ACCOUNTING, MIN_RUNS, run_meta, save_raw, spread, summary

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build/native")
# The Python peer (safetensors + torch) is the interpreter running this script:
# run it with the environment users have (build/venv-current: PyPI torch, current safetensors).
PY = sys.executable

PY_LOADER = r"""
import json, sys, time, glob
def rss(field):
    for line in open('/proc/self/status'):
        if line.startswith(field + ':'): return int(line.split()[1]) * 1024
from safetensors.torch import load_file
import torch
before = rss('VmRSS')
open('/proc/self/clear_refs', 'w').write('5')
t = time.perf_counter()
tensors = {}
for shard in sorted(glob.glob(sys.argv[1] + '/*.safetensors')):
    tensors.update(load_file(shard))
if len(sys.argv) > 2 and sys.argv[2] == 'touch':
    # make every page resident (one element per 4 KiB page), as a loaded model would need
    for v in tensors.values():
        flat = v.view(-1)
        flat[::max(1, 4096 // v.element_size())].sum()
seconds = time.perf_counter() - t
bound = sum(v.numel() * v.element_size() for v in tensors.values())
print(json.dumps({'seconds': seconds, 'peak_rss_bytes': rss('VmHWM'), 'rss_before_bytes': before, 'bound_bytes': bound}))
"""


def shards(d):
    return sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".safetensors"))


def run_json(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def timed(cmd):
    """Seconds of one command, no shell in between (the spawn itself, ~1 ms, is counted)."""
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def runs(fn, repeat):
    return [fn() for _ in range(repeat)]


def row(name, results):
    """One table row from the runs of one loader: seconds and memory summarised alike."""
    seconds = summary([r["seconds"] for r in results])
    over = [r["peak_rss_bytes"] - r["rss_before_bytes"] for r in results if "rss_before_bytes" in r]
    bound = [r["bound_bytes"] for r in results if "bound_bytes" in r]
    return {"loader": name, "seconds": seconds, "peak_rss_over_baseline_bytes": summary(over),
            "bound_bytes": bound[0] if bound else None, "runs": results}


def bench_checkpoint(d, repeat, extra_dtypes):
    files = shards(d)
    data_bytes = sum(os.path.getsize(f) for f in files)
    timed(["cat", *files])  # warm the page cache
    rows = [row("cat shards > /dev/null", [{"seconds": timed(["cat", *files])} for _ in range(repeat)])]
    rows.append(row("pread into fresh memory (floor)", runs(lambda: run_json([f"{BUILD}/bench/ws_pread_floor", *files]),
                                                              repeat)))
    for bind in ["copy", "mmap"]:
        for dtype in ["keep"] + extra_dtypes:
            cmd = [f"{BUILD}/weightstream", "load", d, "--json", "--dtype", dtype, "--bind", bind]
            rows.append(row(f"weightstream load --bind {bind} --dtype {dtype}",
                            [{k: v for k, v in r.items() if k != "tensors"} for r in runs(lambda: run_json(cmd), repeat)]))
    rows.append(row("naive: read shard whole, then copy", runs(lambda: run_json([f"{BUILD}/bench/ws_naive_load", d]),
                                                               repeat)))
    for mode, label in (("lazy", "safetensors.torch.load_file (lazy mmap, no page touched)"),
                        ("touch", "safetensors.torch.load_file + touch every page")):
        rows.append(row(label, runs(lambda: run_json([PY, "-c", PY_LOADER, d, mode]), repeat)))
    cat = rows[0]["seconds"]["median"]
    print(f"\n### {os.path.basename(d)}: {len(files)} shards, {data_bytes / 2**30:.2f} GiB; cat = {cat:.3f} s (median)\n")
    print(f"Seconds: median (min-max, n) of {repeat} runs. Memory: {MEMORY_ACCOUNTING}; median MiB.\n")
    print("| loader | seconds | x cat (medians) | peak RSS over own baseline (MiB) | bound (MiB) | RSS - bound (MiB) |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        peak = r["peak_rss_over_baseline_bytes"]["median"]
        bound = r["bound_bytes"]
        peak_s = f"{peak / 2**20:.0f}" if peak is not None else ""
        bound_s = f"{bound / 2**20:.0f}" if bound is not None else ""
        over = f"{(peak - bound) / 2**20:+.0f}" if peak is not None and bound is not None else ""
        print(f"| {r['loader']} | {spread(r['seconds'])} | {r['seconds']['median'] / cat:.2f} | {peak_s} | {bound_s} | {over} |")
    sys.stdout.flush()
    return {"checkpoint": os.path.basename(d), "shards": len(files), "data_bytes": data_bytes, "rows": rows}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", default="/tmp/ws-bench")
    p.add_argument("--gib", type=float, default=2.0)
    p.add_argument("--repeat", type=int, default=MIN_RUNS)
    p.add_argument("--raw", default=None, help="raw JSON (default bench/results/load-<commit>.json)")
    a = p.parse_args()
    meta = run_meta()
    checkpoints = []
    for dtype in ("F32", "BF16"):
        d = os.path.join(a.dir, f"{dtype.lower()}-{a.gib:g}gib")
        if not os.path.exists(os.path.join(d, "model.safetensors.index.json")):
            subprocess.run([PY, os.path.join(ROOT, "bench/make_checkpoint.py"), d, "--dtype", dtype,
                            "--gib", str(a.gib / (2 if dtype != "F32" else 1))], check=True)
        checkpoints.append(bench_checkpoint(d, a.repeat, ["bf16"] if dtype == "F32" else ["f32"]))
    peer = subprocess.run([PY, "-c", "import safetensors, torch; print(safetensors.__version__, torch.__version__)"],
                          capture_output=True, text=True).stdout.split()
    save_raw(a.raw or os.path.join(ROOT, "bench/results", f"load-{meta['commit'][:10]}.json"),
             {"command": " ".join([os.path.relpath(sys.executable, ROOT)] + sys.argv), "repeat": a.repeat,
              "python_peer": {"safetensors": peer[0] if peer else None, "torch": peer[1] if len(peer) > 1 else None},
              "checkpoints": checkpoints}, meta)


if __name__ == "__main__":
    main()
