"""Loading a Hugging Face checkpoint into a transformers model from Python, side by side in one run
(warm page cache, bf16 weights kept bf16 by every method):

  from_pretrained                  AutoModelForCausalLM.from_pretrained(dir, torch_dtype=bf16)
  from_pretrained low_cpu_mem      the same with low_cpu_mem_usage=True (transformers 4.x needs accelerate)
  safetensors + assign             model on meta, safetensors.torch.load_file per shard, then
                                   load_state_dict(assign=True) (torch >= 2.1; on older torch the loaded tensors
                                   replace the parameters directly, which is what assign does)
  weightstream.load_into           model on meta, weightstream.load_into(model, dir, dtype=bf16): copied into
                                   tensors torch allocated
  weightstream.load_into(mmap)     the same with mmap=True: copy-on-write views of the mapped shards

usage: python bench/python_load_bench.py DIR [--repeat 5] [--raw OUT.json] [--methods a,b] [--memory-limit-gib N]
  DIR: a checkpoint from bench/make_checkpoint.py --llama (config.json + shards), e.g. the 1.1B shape:
       python bench/make_checkpoint.py /tmp/ws-pybench/llama-1b --llama --hidden 2048 --intermediate 5632 \\
           --layers 22 --heads 32 --kv-heads 4 --dtype BF16
Each run is a fresh process of the interpreter running this script (its torch, transformers and the installed
weightstream package); methods are interleaved round by round. Seconds: the load call alone (model building
included for the meta-device methods). Memory: bench_meta.MEMORY_ACCOUNTING. Every method's weights are
hashed, and the hashes must agree. Writes the raw runs to bench/results/python-load-<date>.json.
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import time

from bench_meta import MEMORY_ACCOUNTING, MIN_RUNS, run_meta, save_raw, spread, summary

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

METHODS = ["from_pretrained", "from_pretrained_low_cpu_mem", "safetensors_assign", "weightstream", "weightstream_mmap"]
LABELS = {"from_pretrained": "from_pretrained (defaults)",
          "from_pretrained_low_cpu_mem": "from_pretrained low_cpu_mem_usage=True",
          "safetensors_assign": "safetensors.torch.load_file + load_state_dict(assign=True)",
          "weightstream": "weightstream.load_into",
          "weightstream_mmap": "weightstream.load_into(mmap=True)"}

CHILD = r"""
import glob, hashlib, inspect, json, os, sys, time
def rss(field):
    for line in open('/proc/self/status'):
        if line.startswith(field + ':'): return int(line.split()[1]) * 1024
import torch, transformers, weightstream
from safetensors.torch import load_file
method, d = sys.argv[1], sys.argv[2]
dtype = torch.bfloat16
config = transformers.AutoConfig.from_pretrained(d)
if method == 'from_pretrained_low_cpu_mem':
    try:
        import accelerate
    except ImportError:
        print(json.dumps({'error': 'needs accelerate (transformers 4.x): pip install "accelerate<0.34" --no-deps on torch 1.13'}))
        sys.exit(0)
def on_meta():
    with weightstream.init_empty_weights():
        return transformers.AutoModelForCausalLM.from_config(config, torch_dtype=dtype)
before = rss('VmRSS')
open('/proc/self/clear_refs', 'w').write('5')
t = time.perf_counter()
if method == 'from_pretrained':
    model = transformers.AutoModelForCausalLM.from_pretrained(d, torch_dtype=dtype)
elif method == 'from_pretrained_low_cpu_mem':
    model = transformers.AutoModelForCausalLM.from_pretrained(d, torch_dtype=dtype, low_cpu_mem_usage=True)
elif method == 'safetensors_assign':
    model = on_meta()
    state = {}
    for shard in sorted(glob.glob(os.path.join(d, '*.safetensors'))):
        state.update(load_file(shard))
    if 'assign' in inspect.signature(model.load_state_dict).parameters:
        model.load_state_dict(state, assign=True, strict=False)
    else:
        for name, tensor in state.items():
            owner, leaf = model.get_submodule(name.rpartition('.')[0]), name.rpartition('.')[2]
            owner._parameters[leaf] = torch.nn.Parameter(tensor, requires_grad=False)
    model.tie_weights()
    del state
elif method == 'weightstream':
    model = on_meta()
    weightstream.load_into(model, d, dtype=dtype)
elif method == 'weightstream_mmap':
    model = on_meta()
    weightstream.load_into(model, d, dtype=dtype, mmap=True)
seconds = time.perf_counter() - t
peak_loaded = rss('VmHWM')
# Every weight read once (what the first forward pass does): mmap-backed
# tensors (safetensors, low_cpu_mem_usage) are only paged in here.
for p in model.state_dict().values():
    p.detach().view(torch.int16).max()
seconds_touched = time.perf_counter() - t
peak = rss('VmHWM')
after = rss('VmRSS')
h = hashlib.sha256()
for name, p in sorted(model.state_dict().items()):
    if p.is_meta: raise SystemExit(name + ' is still on meta')
    h.update(name.encode()); h.update(p.detach().contiguous().view(-1).view(torch.int16)[:4096].numpy().tobytes())
print(json.dumps({'seconds': seconds, 'seconds_touched': seconds_touched,
                  'peak_loaded_over_baseline': peak_loaded - before, 'peak_over_baseline': peak - before, 'rss_after_over_baseline': after - before,
                  'baseline': before, 'weights_hash': h.hexdigest()[:16], 'torch': torch.__version__,
                  'transformers': transformers.__version__}))
"""


CGROUP = "/sys/fs/cgroup/memory/ws-python-bench"


def memory_limited(cmd, gib):
    """cmd, started inside a memory cgroup limited to `gib` GiB with no swap (cgroup v1, as root)."""
    os.makedirs(CGROUP, exist_ok=True)
    with open(os.path.join(CGROUP, "memory.limit_in_bytes"), "w") as f:
        f.write(str(int(gib * (1 << 30))))
    swap = os.path.join(CGROUP, "memory.memsw.limit_in_bytes")
    if os.path.exists(swap):
        with open(swap, "w") as f:
            f.write(str(int(gib * (1 << 30))))
    return ["sh", "-c", f'echo $$ > {CGROUP}/tasks && exec "$@"', "sh", *cmd]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir")
    p.add_argument("--repeat", type=int, default=MIN_RUNS)
    p.add_argument("--raw", default=None)
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--memory-limit-gib", type=float, default=None,
                   help="run each child in a cgroup-v1 memory cgroup with this limit (a method that needs more is "
                        "reported as OOM-killed instead of taking the machine down)")
    args = p.parse_args()
    methods = args.methods.split(",")
    weights = sum(os.path.getsize(f) for f in
                  [os.path.join(args.dir, n) for n in os.listdir(args.dir) if n.endswith(".safetensors")])
    meta = run_meta()
    runs = {m: [] for m in methods}
    for r in range(args.repeat):
        for m in methods:
            # A warm page cache before every run: every method reads from memory, as in a second run
            # (weightstream drops shards of >= 1 GiB from the cache behind its reader, so a later method
            # would otherwise read from disk).
            subprocess.run(f"cat {args.dir}/*.safetensors > /dev/null", shell=True, check=True)
            cmd = [sys.executable, "-c", CHILD, m, args.dir]
            if args.memory_limit_gib:
                cmd = memory_limited(cmd, args.memory_limit_gib)
            started = time.perf_counter()
            out = subprocess.run(cmd, capture_output=True, text=True)
            if out.returncode in (-9, 137) and args.memory_limit_gib:
                # The kernel's OOM killer at the limit: a result (the method does not fit), not a bench failure.
                result = {"error": f"killed by the OOM killer at the {args.memory_limit_gib} GiB limit after "
                                   f"{time.perf_counter() - started:.1f} s"}
            elif out.returncode != 0:
                print(out.stderr[-3000:], file=sys.stderr)
                raise SystemExit(f"{m} failed")
            else:
                result = json.loads(out.stdout.strip().splitlines()[-1])
            runs[m].append(result)
            print(f"round {r + 1} {m}: {result}", file=sys.stderr)
    hashes = {m: {x.get("weights_hash") for x in runs[m]} for m in methods if "error" not in runs[m][0]}
    agree = len(set().union(*hashes.values())) == 1
    MiB = 1 << 20
    first = next(iter(runs.values()))[0]
    print(f"\nweights: {weights / MiB:.0f} MiB of bf16 safetensors in {args.dir}; torch {first.get('torch')}, "
          f"transformers {first.get('transformers')}; load average at start {meta['load_average_start']}; "
          f"weights identical across methods: {agree}\n")
    print("| method | seconds: load | seconds: load + read every weight | peak RSS over baseline (MiB): load "
          "| peak RSS: load + read every weight (MiB) | x weights |")
    print("|---|---|---|---|---|---|")
    table = {}
    for m in methods:
        if "error" in runs[m][0]:
            print(f"| {LABELS[m]} | {runs[m][0]['error']} | | | | |")
            continue
        s = summary([x["seconds"] for x in runs[m]])
        st = summary([x["seconds_touched"] for x in runs[m]])
        peak_loaded = summary([x["peak_loaded_over_baseline"] / MiB for x in runs[m]])
        peak = summary([x["peak_over_baseline"] / MiB for x in runs[m]])
        table[m] = {"seconds": s, "seconds_touched": st, "peak_loaded_mib": peak_loaded, "peak_mib": peak}
        print(f"| {LABELS[m]} | {spread(s, '{:.2f}')} | {spread(st, '{:.2f}')} | {spread(peak_loaded, '{:.0f}')} | "
              f"{spread(peak, '{:.0f}')} | {peak['median'] * MiB / weights:.2f} |")
    print(f"\nmemory: {MEMORY_ACCOUNTING}")
    raw = args.raw or os.path.join(ROOT, "bench", "results",
                                   f"python-load-{datetime.date.today().isoformat()}.json")
    save_raw(raw, {"dir": args.dir, "weights_bytes": weights, "runs": runs, "table": table,
                   "weights_identical": agree, "argv": sys.argv}, meta)
    if not agree:
        raise SystemExit(f"the methods loaded different weights: {hashes}")


if __name__ == "__main__":
    main()
