"""GPU load + decode benchmark: weightstream (LibTorch backend, --device cuda) next to
transformers, on random Llama-shaped bf16 checkpoints. Run by bench/gpu.sh on the GPU
machine; runs on a CPU-only machine as a dry run of the same logic (ours with the
portable backend, transformers with device_map="cpu").

  GPU:  python3 bench/gpu_bench.py --out $OUT                         (sizes from $GPU_BENCH_SIZES_GIB, default 1,8)
  dry:  .venv/bin/python bench/gpu_bench.py --device cpu --sizes-gib 0.02,0.05 \
            --weightstream build/native/weightstream --out /tmp/gpubench

Measures (each one optional: a failure is recorded as "failed: <reason>" and the run goes on;
results are rewritten after every measurement, so a killed run still leaves what it had):
  a. pinned and pageable host -> device copy bandwidth (1 GiB uint8, best of 5)
  b. random Llama checkpoints (bench/make_checkpoint.py --llama, generated on the device)
  c. `weightstream load DIR --backend torch --device cuda --json`, the median of --repeat runs (default 5;
     every run's seconds are kept and printed: runs have differed 4x)
  d. transformers AutoModelForCausalLM.from_pretrained(DIR, device_map=DEVICE, dtype=bf16)
     in a fresh process per run, host RSS baseline after CUDA init, peak after loading
  e. greedy decode on the first size: 16 prompt ids, 64 new tokens, ours vs transformers
Writes OUT/gpu_results.json and OUT/gpu_results.md (a table for bench/RESULTS.md); the JSON's
"env" records the commit measured ($GPU_COMMIT from bench/gpu.sh, else `git rev-parse HEAD`), the
driver and the torch versions. With --device cuda and no GPU visible to torch it reports nothing
and exits 2; it exits 1 when any measurement failed (the others are still recorded).
"""
import argparse
import datetime
import glob
import json
import os
import platform
import shlex
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MiB = 1 << 20

# ---- the transformers child: one fresh process per load (and the decode) ----
HF_CHILD = r"""
import json, os, resource, sys, time
a = json.loads(sys.argv[1])
def proc_status(field):
    try:
        for line in open('/proc/self/status'):
            if line.startswith(field + ':'):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None
import torch
import transformers
from transformers import AutoModelForCausalLM
import transformers.models.llama.modeling_llama  # noqa: F401  (imported before the baseline, not during the load)
device = a['device']
cuda = device.startswith('cuda')
if cuda:
    torch.cuda.init()
    torch.zeros(1, device=device)
    torch.cuda.synchronize()
try:
    import psutil
    rss_before = psutil.Process().memory_info().rss
except ImportError:
    rss_before = proc_status('VmRSS')
# Reset the peak (VmHWM, which getrusage's ru_maxrss also follows) to the current RSS,
# so the import of torch/transformers does not count as the load's peak.
try:
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')
    peak_reset = True
except OSError:
    peak_reset = False
major = int(transformers.__version__.split('.')[0])
kwargs = {'device_map': device}
if major >= 5:
    kwargs['dtype'] = torch.bfloat16          # 5.x: torch_dtype is renamed; low_cpu_mem_usage is gone (always on)
else:
    kwargs['torch_dtype'] = torch.bfloat16
    kwargs['low_cpu_mem_usage'] = True
note = ''
if not cuda:
    try:
        import accelerate  # noqa: F401  (4.x needs it for device_map / low_cpu_mem_usage)
    except ImportError:
        kwargs.pop('device_map'); kwargs.pop('low_cpu_mem_usage', None)
        note = 'accelerate missing: plain from_pretrained on the CPU'
t = time.perf_counter()
res = AutoModelForCausalLM.from_pretrained(a['dir'], output_loading_info=True, **kwargs)
if cuda:
    torch.cuda.synchronize()
seconds = time.perf_counter() - t
model, info = res if isinstance(res, tuple) else (res, {})
def info_keys(k):
    v = info.get(k) if isinstance(info, dict) else getattr(info, k, None)
    return sorted(str(x) for x in (v or []))[:10]
peak = proc_status('VmHWM')
ru_maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
params = list(model.parameters())
out = {
    'seconds': seconds, 'rss_before_bytes': rss_before, 'peak_rss_bytes': peak, 'ru_maxrss_bytes': ru_maxrss,
    'peak_reset': peak_reset, 'rss_anon_after_bytes': proc_status('RssAnon'), 'rss_file_after_bytes': proc_status('RssFile'), 'bound_bytes': sum(p.numel() * p.element_size() for p in params),
    'param_dtypes': sorted({str(p.dtype) for p in params}), 'param_devices': sorted({str(p.device) for p in params}),
    'missing_keys': info_keys('missing_keys'), 'unexpected_keys': info_keys('unexpected_keys'),
    'kwargs': {k: str(v) for k, v in kwargs.items()}, 'transformers': transformers.__version__, 'torch': torch.__version__,
    'note': note,
}
if cuda:
    out['cuda_allocated_bytes'] = torch.cuda.memory_allocated()
if a.get('decode'):
    # Greedy, prompt ids 1..P, N new tokens (min_new_tokens = N: EOS cannot stop it early).
    # decode tok/s = (N - 1) / (t(N new) - t(1 new)): the prefill and the first token cancel.
    P, N = a['prompt_len'], a['new_tokens']
    ids = torch.arange(1, P + 1, dtype=torch.long).unsqueeze(0).to(device)
    gen = dict(attention_mask=torch.ones_like(ids), do_sample=False, pad_token_id=model.config.eos_token_id)
    def run(n):
        if cuda: torch.cuda.synchronize()
        t = time.perf_counter()
        with torch.no_grad():
            o = model.generate(ids, max_new_tokens=n, min_new_tokens=n, **gen)
        if cuda: torch.cuda.synchronize()
        return time.perf_counter() - t, o
    run(4)  # warm-up (kernels, allocator)
    t1 = min(run(1)[0] for _ in range(3))
    runs = [run(N) for _ in range(a.get('decode_repeat', 2))]
    tn, o = min(runs, key=lambda r: r[0])
    out['decode'] = {
        'ids': o[0, P:].tolist(), 't_1_new_s': t1, 't_n_new_s': tn, 'new_tokens': N, 'prompt_len': P,
        'decode_tokens_per_second': (N - 1) / (tn - t1) if tn > t1 else None,
        'prefill_tokens_per_second': P / t1,  # includes the first token's lm_head + argmax
        'attn_implementation': getattr(model.config, '_attn_implementation', None),
    }
print('RESULT ' + json.dumps(out))
"""


class Failed(Exception):
    pass


def last_lines(text, n=3):
    lines = [l for l in (text or "").strip().splitlines() if l.strip()]
    return " / ".join(lines[-n:])[-400:]


def human_cmd(cmd):
    """The command as typed from the repository root."""
    rel = [c[len(ROOT) + 1:] if c.startswith(ROOT + "/") else c for c in cmd]
    return " ".join(shlex.quote(c) for c in rel)


class Bench:
    def __init__(self, a):
        self.a = a
        self.t0 = time.monotonic()
        self.deadline = self.t0 + a.deadline_s if a.deadline_s else None
        self.results = {"started": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                        "device": a.device, "sizes_gib": a.sizes, "repeat": a.repeat, "shard_gib": a.shard_gib,
                        "ours_flags": a.ours_flags, "commands": [],
                        "h2d": None, "checkpoints": {}, "decode": {}}
        self.ours_flags = shlex.split(a.ours_flags)
        os.makedirs(a.out, exist_ok=True)

    # ---- bookkeeping ----
    def log(self, msg):
        print(f"[{time.monotonic() - self.t0:6.1f}s] {msg}", flush=True)

    def left(self):
        return None if self.deadline is None else self.deadline - time.monotonic()

    def timeout(self, want):
        left = self.left()
        return want if left is None else max(1.0, min(want, left - 5))

    def save(self):
        with open(os.path.join(self.a.out, "gpu_results.json"), "w") as f:
            json.dump(self.results, f, indent=1)
        with open(os.path.join(self.a.out, "gpu_results.md"), "w") as f:
            f.write(render_markdown(self.results))

    def attempt(self, label, fn, need_s=10):
        """Runs fn(); returns its dict, or {"status": "failed: ..."/"skipped: ..."}."""
        left = self.left()
        if left is not None and left < need_s:
            self.log(f"-- {label}: skipped, {left:.0f} s left")
            return {"status": f"skipped: out of time ({left:.0f} s left)"}
        self.log(f"-- {label}")
        t = time.monotonic()
        try:
            r = fn()
            r.setdefault("status", "ok")
        except subprocess.TimeoutExpired as e:
            r = {"status": f"failed: timed out after {e.timeout:.0f} s"}
        except Failed as e:
            r = {"status": f"failed: {e}"}
        except Exception as e:  # noqa: BLE001 - every measurement is optional
            r = {"status": f"failed: {type(e).__name__}: {str(e)[:300]}"}
        r["wall_s"] = round(time.monotonic() - t, 2)
        self.log(f"   {label}: {r['status']} ({r['wall_s']} s)")
        return r

    def run(self, cmd, timeout, record=True, **kw):
        if record:
            self.results["commands"].append(human_cmd(cmd))
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=self.timeout(timeout), **kw)
        if p.returncode != 0:
            raise Failed(f"exit {p.returncode}: {last_lines(p.stderr) or last_lines(p.stdout)}")
        return p

    # ---- a. environment + host -> device bandwidth ----
    def environment(self):
        env = {"commit": source_commit(), "tree_differs_from_commit": tree_differs(),
               "python": sys.version.split()[0], "platform": platform.platform(), "nproc": os.cpu_count()}
        try:
            env["mem_total_gib"] = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
        except (ValueError, OSError):
            pass
        for mod in ["torch", "transformers", "safetensors"]:
            try:
                env[mod] = __import__(mod).__version__
            except Exception as e:  # noqa: BLE001
                env[mod] = f"missing ({e})"
        try:
            import torch
            env["torch_cuda"] = torch.version.cuda
            if torch.cuda.is_available():
                env["gpu"] = torch.cuda.get_device_name(0)
                env["gpu_memory_gib"] = round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1)
        except Exception:  # noqa: BLE001
            pass
        try:
            q = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                               capture_output=True, text=True, timeout=20)
            if q.returncode == 0 and q.stdout.strip():
                name, driver, mem = [x.strip() for x in q.stdout.strip().splitlines()[0].split(",")]
                env.update({"gpu": name, "driver": driver, "gpu_memory": mem})
        except (OSError, subprocess.TimeoutExpired):
            pass
        try:
            v = subprocess.run([self.a.weightstream, "--version"], capture_output=True, text=True, timeout=10)
            env["weightstream_version"] = (v.stdout or v.stderr).strip().splitlines()[0][:200] if v.returncode == 0 else None
        except (OSError, subprocess.TimeoutExpired, IndexError):
            pass
        env.setdefault("driver", "unknown (no nvidia-smi answer)")
        env["weightstream"] = self.a.weightstream
        env["weightstream_present"] = os.access(self.a.weightstream, os.X_OK)
        return env

    def h2d(self):
        import torch
        if not self.a.device.startswith("cuda"):
            return {"status": "skipped: no CUDA device (dry run)"}
        if not torch.cuda.is_available():
            raise Failed("torch.cuda.is_available() is False")
        n = int(self.a.h2d_mib * MiB)
        dev = torch.empty(n, dtype=torch.uint8, device=self.a.device)
        out = {"bytes": n, "method": "1 GiB uint8 host tensor -> preallocated cuda tensor, copy_(non_blocking=True), "
                                     "synchronize, best of 5 (GB = 1e9 B)"}
        for kind in ["pinned", "pageable"]:
            host = torch.empty(n, dtype=torch.uint8)
            if kind == "pinned":
                host = host.pin_memory()
            host.fill_(1)
            best = 0.0
            for _ in range(5):
                torch.cuda.synchronize()
                t = time.perf_counter()
                dev.copy_(host, non_blocking=True)
                torch.cuda.synchronize()
                best = max(best, n / (time.perf_counter() - t))
            out[f"{kind}_gbps"] = best / 1e9
            del host
        del dev
        torch.cuda.empty_cache()
        return out

    # ---- b. checkpoints ----
    def make_checkpoint(self, gib):
        d = os.path.join(self.a.ckpt_dir, f"llama-bf16-{gib:g}g")
        gen_device = "cuda" if self.a.device.startswith("cuda") else "cpu"
        cmd = [self.a.python, os.path.join(ROOT, "bench/make_checkpoint.py"), d, "--llama", "--gib", str(gib),
               "--shard-gib", str(self.a.shard_gib), "--device", gen_device, "--dtype", "BF16"]
        p = self.run(cmd, self.a.make_timeout_s)
        line = [l for l in p.stdout.splitlines() if l.startswith("SUMMARY ")]
        if not line:
            raise Failed("make_checkpoint.py printed no SUMMARY line")
        summary = json.loads(line[-1][len("SUMMARY "):])
        self.log(f"   {p.stdout.strip().splitlines()[0]}")
        return summary

    def warm(self, d):
        """cat every shard to /dev/null: the timed loads read from the page cache."""
        files = sorted(glob.glob(os.path.join(d, "*.safetensors")))
        t = time.perf_counter()
        subprocess.run("cat " + " ".join(shlex.quote(f) for f in files) + " > /dev/null", shell=True, check=True,
                       timeout=self.timeout(120))
        return time.perf_counter() - t

    # ---- c. ours ----
    def ours_load(self, d):
        if not os.access(self.a.weightstream, os.X_OK):
            raise Failed(f"{self.a.weightstream} is not built")
        cmd = [self.a.weightstream, "load", d, *self.ours_flags, "--json"]
        runs, cat_s = [], []
        time_bin = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
        for i in range(self.a.repeat):
            cat_s.append(self.warm(d))
            tfile = os.path.join(self.a.out_tmp, "time-v.txt")
            full = ([time_bin, "-v", "-o", tfile] if time_bin else []) + cmd
            if i == 0:
                self.results["commands"].append(human_cmd(cmd))
            p = self.run(full, self.a.load_timeout_s, record=False)
            r = json.loads(p.stdout.strip().splitlines()[-1])
            r.pop("tensors", None)
            if time_bin and os.path.exists(tfile):
                for line in open(tfile):
                    if "Maximum resident set size" in line:
                        r["time_v_max_rss_bytes"] = int(line.split(":")[1]) * 1024
            runs.append(r)
        best = median_run(runs, "seconds")
        best["all_seconds"] = [r["seconds"] for r in runs]
        best["cat_seconds"] = min(cat_s)
        best["command"] = human_cmd(cmd)
        return best

    # ---- d. transformers ----
    def hf_child(self, d, decode=False):
        arg = {"dir": d, "device": self.a.device, "decode": decode, "prompt_len": self.a.prompt_len,
               "new_tokens": self.a.new_tokens}
        p = self.run([self.a.python, "-c", HF_CHILD, json.dumps(arg)], self.a.hf_timeout_s, record=False)
        line = [l for l in p.stdout.splitlines() if l.startswith("RESULT ")]
        if not line:
            raise Failed(f"no RESULT line: {last_lines(p.stderr)}")
        return json.loads(line[-1][len("RESULT "):])

    def hf_load(self, d, decode_too):
        runs, cat_s = [], []
        for i in range(self.a.repeat):
            cat_s.append(self.warm(d))
            # The decode rides on the first load's process (after the load is measured).
            runs.append(self.hf_child(d, decode=decode_too and i == 0))
            if runs[-1]["missing_keys"] or runs[-1]["unexpected_keys"]:
                raise Failed(f"tensor names: missing {runs[-1]['missing_keys']}, unexpected {runs[-1]['unexpected_keys']}")
        best = dict(median_run(runs, "seconds"))
        best["all_seconds"] = [r["seconds"] for r in runs]
        best["cat_seconds"] = min(cat_s)
        decode = next((r["decode"] for r in runs if "decode" in r), None)
        best.pop("decode", None)
        kw = ", ".join(f"{k}={v}" for k, v in best["kwargs"].items())
        best["command"] = f"AutoModelForCausalLM.from_pretrained(DIR, {kw}) in a fresh python (bench/gpu_bench.py HF_CHILD)"
        self.results["commands"].append(f"python: {best['command']}")
        return best, decode

    # ---- e. decode, ours ----
    def ours_decode(self, d):
        if not os.access(self.a.weightstream, os.X_OK):
            raise Failed(f"{self.a.weightstream} is not built")
        ids = ",".join(str(i) for i in range(1, self.a.prompt_len + 1))
        cmd = [self.a.weightstream, "generate", d, *self.ours_flags, "--prompt-ids", ids,
               "--max-new-tokens", str(self.a.new_tokens), "--dtype", "keep", "--json"]
        runs = []
        for i in range(self.a.repeat):
            self.warm(d)
            p = self.run(cmd, self.a.decode_timeout_s, record=(i == 0))
            runs.append(json.loads(p.stdout.strip().splitlines()[-1]))
        best = median_run(runs, "decode_tokens_per_second")
        keep = {k: best.get(k) for k in ["ids", "decode_tokens_per_second", "prefill_tokens_per_second",
                                         "decode_tokens", "prefill_tokens", "stopped_at_eos", "backend", "load",
                                         "peak_rss_bytes"]}
        keep["all_decode_tokens_per_second"] = [r.get("decode_tokens_per_second") for r in runs]
        keep["new_tokens"] = len(best.get("ids", []))
        keep["command"] = human_cmd(cmd)
        return keep

    # ---- the run ----
    def main(self):
        self.results["env"] = self.environment()
        self.log("environment: " + json.dumps(self.results["env"]))
        self.save()
        self.results["h2d"] = self.attempt("host -> device bandwidth", self.h2d)
        self.save()
        for k, gib in enumerate(self.a.sizes):
            key = f"{gib:g} GiB"
            c = self.results["checkpoints"][key] = {}
            c["checkpoint"] = self.attempt(f"make checkpoint {key}", lambda: self.make_checkpoint(gib), need_s=20)
            self.save()
            if not c["checkpoint"]["status"] == "ok":
                continue
            d = c["checkpoint"]["dir"]
            decode_here = k == self.a.decode_index
            c["ours"] = self.attempt(f"weightstream load {key}", lambda: self.ours_load(d))
            self.save()
            if decode_here:
                self.results["decode"]["checkpoint"] = key
                self.results["decode"]["ours"] = self.attempt(f"weightstream generate {key}",
                                                              lambda: self.ours_decode(d))
                self.save()
            holder = {}

            def hf():
                best, decode = self.hf_load(d, decode_here)
                holder["decode"] = decode
                return best
            c["transformers"] = self.attempt(f"transformers load{' + decode' if decode_here else ''} {key}", hf,
                                             need_s=30)
            if decode_here:
                dec = holder.get("decode")
                self.results["decode"]["transformers"] = (dict(dec, status="ok") if dec else
                                                          {"status": c["transformers"]["status"]})
                self.results["decode"]["agreement"] = agreement(self.results["decode"], 16)
            self.save()
        self.results["total_wall_s"] = round(time.monotonic() - self.t0, 1)
        self.save()
        if not self.a.no_print:
            print(render_markdown(self.results), flush=True)


def median_run(runs, key):
    """The run whose `key` is the median (the lower middle one for an even count)."""
    ordered = sorted(runs, key=lambda r: r.get(key) or 0)
    return ordered[(len(ordered) - 1) // 2]


def source_commit():
    """The commit measured: $GPU_COMMIT (bench/gpu.sh sets it; the tree may be a copy without .git),
    else git's HEAD, else "unknown"."""
    if os.environ.get("GPU_COMMIT"):
        return os.environ["GPU_COMMIT"]
    try:
        p = subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        return p.stdout.strip() if p.returncode == 0 else "unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def tree_differs():
    """Whether tracked files differ from the commit: "true", "false" or "unknown"."""
    if os.environ.get("GPU_TREE_DIFFERS"):
        return os.environ["GPU_TREE_DIFFERS"]
    try:
        p = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, timeout=10)
        return ("true" if p.stdout.strip() else "false") if p.returncode == 0 else "unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def failed_measurements(results):
    """The labels of every measurement whose status is a failure (walks the results tree)."""
    found = []

    def walk(node, path):
        if isinstance(node, dict):
            if str(node.get("status", "")).startswith("failed"):
                found.append(path)
            for k, v in node.items():
                walk(v, f"{path}.{k}" if path else k)
    walk(results, "")
    return found


def agreement(dec, n):
    ours, hf = dec.get("ours", {}), dec.get("transformers", {})
    if ours.get("status") != "ok" or hf.get("status") != "ok":
        return None
    a, b = ours.get("ids") or [], hf.get("ids") or []
    k = 0
    while k < min(n, len(a), len(b)) and a[k] == b[k]:
        k += 1
    return {"agree": k, "of": min(n, len(a), len(b))}


# ---- markdown ----
def fmt(v, spec=".2f", empty=""):
    return empty if v is None else format(v, spec)


def mib(v):
    return None if v is None else v / MiB


def render_markdown(r):
    """The results as markdown; "|" in failure texts is escaped so the tables hold."""
    return _render_markdown(_escape(r))


def _escape(v):
    if isinstance(v, dict):
        return {k: (_escape(x) if k != "commands" else x) for k, x in v.items()}
    if isinstance(v, list):
        return [_escape(x) for x in v]
    return v.replace("|", "\\|") if isinstance(v, str) else v


def _render_markdown(r):
    env = r.get("env", {})
    h2d = r.get("h2d") or {}
    pinned = h2d.get("pinned_gbps") if h2d.get("status") == "ok" else None
    gpu = env.get("gpu", "no GPU (dry run)" if not r["device"].startswith("cuda") else "GPU unknown")
    lines = [f"## Loading to {r['device']} and decoding, next to transformers ({r['started']})", ""]
    lines.append(f"Machine: {gpu}" + (f" ({env['gpu_memory']})" if env.get("gpu_memory") else "") +
                 (f", driver {env['driver']}" if env.get("driver") else "") +
                 f", {env.get('nproc')} CPUs, {env.get('mem_total_gib')} GiB RAM; Python {env.get('python')}, "
                 f"torch {env.get('torch')} (CUDA {env.get('torch_cuda')}), transformers {env.get('transformers')}, "
                 f"safetensors {env.get('safetensors')}.")
    lines.append("")
    lines.append(f"Commit measured: {env.get('commit', 'unknown')} (tree differs from it: "
                 f"{env.get('tree_differs_from_commit', 'unknown')}).")
    lines.append("")
    if h2d.get("status") == "ok":
        lines.append(f"Host -> device copy (torch, 1 GiB, best of 5): pinned **{h2d['pinned_gbps']:.1f} GB/s**, "
                     f"pageable {h2d['pageable_gbps']:.1f} GB/s.")
    else:
        lines.append(f"Host -> device copy: {(h2d or {}).get('status', 'not run')}.")
    lines.append("")
    lines.append(f"Checkpoints: random Llama, bf16 safetensors, shards of <= {r.get('shard_gib', 2):g} GiB with model.safetensors.index.json "
                 "(`bench/make_checkpoint.py --llama`); weights N(0, 0.02), norms 1. The page cache is warmed "
                 "(`cat shards > /dev/null`) before every timed load, so these are copy-path figures, not disk "
                 f"figures. The median run of {r['repeat']}, each in a fresh process (every run is listed below). "
                 "GB = 1e9 B, MiB = 2^20 B.")
    lines.append("")
    lines.append("| checkpoint | loader | seconds | GB/s | % of pinned H2D | load overhead: peak RSS - RSS before (MiB) "
                 "| context baseline: RSS before (MiB) | host staging (MiB) | max RSS, `time -v` (MiB) |")
    lines.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for key, c in r.get("checkpoints", {}).items():
        ck = c.get("checkpoint", {})
        if ck.get("status") == "ok":
            name = (f"{ck['bytes'] / 2**30:.2f} GiB: {ck['layers']} layers x {ck['hidden_size']}, "
                    f"{ck['shards']} shard{'s' if ck['shards'] > 1 else ''}")
        else:
            lines.append(f"| {key} | (checkpoint) | {ck.get('status')} | | | | | | |")
            continue
        for who, label in [("ours", "weightstream load"), ("transformers", "transformers from_pretrained")]:
            m = c.get(who)
            if m is None:
                continue
            if m.get("status") != "ok":
                lines.append(f"| {name} | {label} | {m.get('status')} | | | | | | |")
                continue
            gbps = m["bound_bytes"] / m["seconds"] / 1e9 if m.get("seconds") else None
            pct = 100 * gbps / pinned if gbps and pinned else None
            over = (m["peak_rss_bytes"] - m["rss_before_bytes"]
                    if m.get("peak_rss_bytes") is not None and m.get("rss_before_bytes") is not None else None)
            lines.append(f"| {name} | {label} | {m['seconds']:.3f} | {fmt(gbps)} | {fmt(pct, '.0f')} | "
                         f"{fmt(mib(over), '.0f')} | {fmt(mib(m.get('rss_before_bytes')), '.0f')} | "
                         f"{fmt(mib(m.get('staging_bytes')), '.0f')} | {fmt(mib(m.get('time_v_max_rss_bytes')), '.0f')} |")
    notes = []
    for key, c in r.get("checkpoints", {}).items():
        t = c.get("transformers", {})
        if t.get("status") == "ok":
            if not t.get("peak_reset"):
                notes.append(f"{key} transformers: /proc/self/clear_refs failed, its peak includes the imports")
            if t.get("note"):
                notes.append(f"{key} transformers: {t['note']}")
            if t.get("rss_anon_after_bytes") is not None:
                notes.append(f"{key} transformers after the load: RssAnon {mib(t['rss_anon_after_bytes']):.0f} MiB, "
                             f"RssFile {mib(t['rss_file_after_bytes']):.0f} MiB"
                             + (f", CUDA allocated {mib(t['cuda_allocated_bytes']):.0f} MiB"
                                if t.get("cuda_allocated_bytes") is not None else ""))
        for who in ["ours", "transformers"]:
            m = c.get(who, {})
            if m.get("status") == "ok" and m.get("cat_seconds"):
                notes.append(f"{key} {who}: runs {', '.join(f'{s:.3f}' for s in m['all_seconds'])} s; "
                             f"`cat` of the warm shards {m['cat_seconds']:.3f} s")
    lines.append("")
    lines.append("transformers' RSS figures: baseline = psutil RSS after importing transformers (on CUDA: and `torch.cuda.init()` + a tiny CUDA tensor), "
                 "then the peak is reset (`/proc/self/clear_refs` 5); peak = VmHWM (= `ru_maxrss`) after "
                 "`from_pretrained` + `torch.cuda.synchronize()`. Ours: `rss_before_bytes`, `peak_rss_bytes` and "
                 "`staging_bytes` of `weightstream load --json`. RSS counts file pages a process maps "
                 "(safetensors mmaps the shards): transformers' RssAnon / RssFile just after the load are listed below.")
    for n in notes:
        lines.append(f"- {n}")
    dec = r.get("decode") or {}
    if dec:
        lines.append("")
        lines.append(f"### Greedy decode, {dec.get('checkpoint')} checkpoint: prompt ids 1..16, 64 new tokens, bf16 weights")
        lines.append("")
        lines.append("| engine | prefill tok/s | decode tok/s | new tokens | first 16 ids agree |")
        lines.append("|---|---:|---:|---:|---:|")
        ag = dec.get("agreement")
        agtxt = f"{ag['agree']}/{ag['of']}" if ag else ""
        for who, label in [("ours", "weightstream generate"), ("transformers", "transformers generate")]:
            m = dec.get(who)
            if m is None:
                continue
            if m.get("status") != "ok":
                lines.append(f"| {label} | {m.get('status')} | | | |")
                continue
            extra = " (stopped at EOS)" if m.get("stopped_at_eos") else ""
            lines.append(f"| {label} | {fmt(m.get('prefill_tokens_per_second'), '.1f')} | "
                         f"{fmt(m.get('decode_tokens_per_second'), '.1f')} | {m.get('new_tokens')}{extra} | {agtxt} |")
        lines.append("")
        lines.append("Ours: `decode_tokens_per_second` / `prefill_tokens_per_second` of `generate --json` (median run of "
                     f"{r['repeat']}). transformers: after a warm-up, decode tok/s = 63 / (t(64 new) - t(1 new)) with "
                     "`min_new_tokens` = `max_new_tokens`, `do_sample=False`, synchronized; prefill tok/s = 16 / t(1 new). "
                     "Random bf16 weights give near-flat logits, so greedy ids may part early: the agreement is "
                     "reported, not required.")
        for who in ["ours", "transformers"]:
            m = dec.get(who) or {}
            if m.get("ids"):
                lines.append(f"- {who} ids: {' '.join(str(i) for i in m['ids'][:24])}{' ...' if len(m['ids']) > 24 else ''}")
    lines.append("")
    lines.append("Commands (`bash bench/gpu.sh`, which runs `bench/gpu_bench.py`):")
    lines.append("```")
    lines.extend(r.get("commands", []))
    lines.append("```")
    if "total_wall_s" in r:
        lines.append(f"(benchmark wall time {r['total_wall_s']} s)")
    return "\n".join(lines) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default=None, help="cuda (default when torch sees a GPU) or cpu (dry run)")
    p.add_argument("--sizes-gib", default=os.environ.get("GPU_BENCH_SIZES_GIB", "1,8"),
                   help="checkpoint sizes, comma separated (env GPU_BENCH_SIZES_GIB, default 1,8)")
    p.add_argument("--weightstream", default=os.path.join(ROOT, "build/gpu/weightstream"))
    p.add_argument("--ours-flags", default=None,
                   help="backend flags for weightstream load/generate (default: '--backend torch --device cuda' on "
                        "cuda, none on cpu)")
    p.add_argument("--out", default=os.environ.get("OUT") or os.path.join(ROOT, "build/gpu-bench/out"))
    p.add_argument("--ckpt-dir", default=os.environ.get("GPU_BENCH_CKPT_DIR") or os.path.join(ROOT, "build/gpu-bench"))
    p.add_argument("--shard-gib", type=float, default=float(os.environ.get("GPU_BENCH_SHARD_GIB", "2")))
    p.add_argument("--repeat", type=int, default=int(os.environ.get("GPU_BENCH_REPEAT", "5")))
    p.add_argument("--decode-index", type=int, default=0, help="which size (index into --sizes-gib) to decode on")
    p.add_argument("--prompt-len", type=int, default=16)
    p.add_argument("--new-tokens", type=int, default=64)
    p.add_argument("--h2d-mib", type=float, default=1024)
    p.add_argument("--deadline-s", type=float, default=float(os.environ.get("GPU_BENCH_DEADLINE_S", "0")) or None,
                   help="skip what would start after this many seconds (env GPU_BENCH_DEADLINE_S)")
    p.add_argument("--no-print", action="store_true", help="do not print the markdown at the end (gpu.sh does)")
    p.add_argument("--python", default=sys.executable, help="interpreter for the children (transformers, checkpoints)")
    p.add_argument("--make-timeout-s", type=float, default=180)
    p.add_argument("--load-timeout-s", type=float, default=120)
    p.add_argument("--hf-timeout-s", type=float, default=240)
    p.add_argument("--decode-timeout-s", type=float, default=180)
    a = p.parse_args()
    if a.device is None:
        try:
            import torch
            a.device = "cuda" if torch.cuda.is_available() else "cpu"
        except ImportError:
            a.device = "cpu"
    if a.device.startswith("cuda"):
        # No figures from a machine where the GPU path cannot run: they would be CPU figures.
        try:
            import torch
            visible = torch.cuda.is_available()
        except ImportError:
            visible = False
        if not visible:
            print("gpu_bench.py: refusing to measure: --device cuda but torch sees no GPU", file=sys.stderr)
            sys.exit(2)
    if a.ours_flags is None:
        a.ours_flags = f"--backend torch --device {a.device}" if a.device.startswith("cuda") else ""
    a.sizes = [float(s) for s in a.sizes_gib.split(",") if s.strip()]
    a.weightstream = os.path.abspath(a.weightstream)
    a.out_tmp = os.path.join(a.ckpt_dir, "tmp")
    os.makedirs(a.out_tmp, exist_ok=True)
    b = Bench(a)
    try:
        b.main()
    finally:
        b.save()
    failed = failed_measurements(b.results)
    if failed:
        print("gpu_bench.py: failed measurements: " + ", ".join(failed), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
