"""Load benchmark, side by side in one run (warm page cache):
  cat shards > /dev/null          the read bandwidth limit (reuses one buffer)
  ws_pread_floor                  pread into fresh memory: the floor for any copying loader
  weightstream load               ours: --bind copy (own buffers) and --bind mmap (zero-copy views
                                  for kept dtypes), keep and a converting dtype
  ws_naive_load                   read each shard whole, then copy tensors out: the 2x baseline
  safetensors.torch.load_file     the Python reference (torch tensors over mmap), lazily and with
                                  every page touched

usage: python bench/load_bench.py [--dir /tmp/ws-bench] [--gib 2] [--repeat 3]
Prints a markdown table: best-of-N seconds, peak RSS over the process's RSS
before loading, bound bytes. Needs the build (build/native) and .venv.
"""
import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build/native")
PY = os.path.join(ROOT, ".venv/bin/python")

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
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, shell=isinstance(cmd, str))
    return time.perf_counter() - t


def best(fn, repeat):
    results = [fn() for _ in range(repeat)]
    return min(results, key=lambda r: r["seconds"])


def bench_checkpoint(d, repeat, extra_dtypes):
    files = shards(d)
    data_bytes = sum(os.path.getsize(f) for f in files)
    timed("cat " + " ".join(files) + " > /dev/null")  # warm the page cache
    rows = []
    cat = min(timed("cat " + " ".join(files) + " > /dev/null") for _ in range(repeat))
    rows.append(("cat shards > /dev/null", cat, None, None))
    floor = best(lambda: run_json([f"{BUILD}/bench/ws_pread_floor", *files]), repeat)
    rows.append(("pread into fresh memory (floor)", floor["seconds"], None, None))
    for bind in ["copy", "mmap"]:
        for dtype in ["keep"] + extra_dtypes:
            r = best(lambda: run_json([f"{BUILD}/weightstream", "load", d, "--json", "--dtype", dtype, "--bind", bind]),
                     repeat)
            rows.append((f"weightstream load --bind {bind} --dtype {dtype}", r["seconds"],
                         r["peak_rss_bytes"] - r["rss_before_bytes"], r["bound_bytes"]))
    naive = best(lambda: run_json([f"{BUILD}/bench/ws_naive_load", d]), repeat)
    rows.append(("naive: read shard whole, then copy", naive["seconds"], naive["peak_rss_bytes"], naive["bound_bytes"]))
    for mode, label in (("lazy", "safetensors.torch.load_file (lazy mmap, no page touched)"),
                        ("touch", "safetensors.torch.load_file + touch every page")):
        ref = best(lambda: run_json([PY, "-c", PY_LOADER, d, mode]), repeat)
        rows.append((label, ref["seconds"], ref["peak_rss_bytes"] - ref["rss_before_bytes"], ref["bound_bytes"]))
    print(f"\n### {os.path.basename(d)}: {len(files)} shards, {data_bytes / 2**30:.2f} GiB; cat = {cat:.3f} s\n")
    print("| loader | seconds (best of %d) | x cat | peak RSS over start (MiB) | bound (MiB) | RSS - bound (MiB) |" % repeat)
    print("|---|---:|---:|---:|---:|---:|")
    for name, seconds, peak, bound in rows:
        peak_s = f"{peak / 2**20:.0f}" if peak is not None else ""
        bound_s = f"{bound / 2**20:.0f}" if bound is not None else ""
        over = f"{(peak - bound) / 2**20:+.0f}" if peak is not None and bound is not None else ""
        print(f"| {name} | {seconds:.3f} | {seconds / cat:.2f} | {peak_s} | {bound_s} | {over} |")
    sys.stdout.flush()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", default="/tmp/ws-bench")
    p.add_argument("--gib", type=float, default=2.0)
    p.add_argument("--repeat", type=int, default=3)
    a = p.parse_args()
    for dtype in ("F32", "BF16"):
        d = os.path.join(a.dir, f"{dtype.lower()}-{a.gib:g}gib")
        if not os.path.exists(os.path.join(d, "model.safetensors.index.json")):
            subprocess.run([PY, os.path.join(ROOT, "bench/make_checkpoint.py"), d, "--dtype", dtype,
                            "--gib", str(a.gib / (2 if dtype != "F32" else 1))], check=True)
        bench_checkpoint(d, a.repeat, ["bf16"] if dtype == "F32" else ["f32"])


if __name__ == "__main__":
    main()
