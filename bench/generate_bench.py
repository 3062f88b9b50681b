#!/usr/bin/env python3
"""Side-by-side generation benchmark: `weightstream generate --json` against
transformers + torch on CPU, same weights, same thread count, batch 1.

For each model and side it runs --repeat (default 5) fresh processes and reports
the median with min-max of prefill and decode tokens/s, load time and memory.
Memory is one accounting for both sides (bench_meta.MEMORY_ACCOUNTING): peak RSS
over the process's own RSS after start-up. transformers: VmRSS after importing
torch, transformers and the model class, then the high-water mark is reset
(/proc/self/clear_refs) and VmHWM read after generating. Ours: `peak_rss_bytes`
(VmHWM) of `generate --json` minus `rss_before_bytes` of `load --json` on the
same model (VmRSS of the same binary once started, before loading). Not
ru_maxrss from wait4: a child forked from this Python process carries the
parent's RSS (torch imported) into its ru_maxrss across exec. torch's build configuration (BLAS, threads) is
recorded with the figures: a reference BLAS makes transformers slow.
Raw runs, the commit, the machine and the load average go to --raw
(default bench/results/generate-<commit>.json).

Checkpoints are random (fixed seed) and written with transformers'
save_pretrained into --models-dir the first time:
  gpt2-124m    GPT2Config() defaults (GPT-2 small shape), f32
  llama-1b     TinyLlama-1.1B shape (hidden 2048, 22 layers, 32 heads, 4 kv heads,
               vocab 32000), saved in bf16 (2.2 GB)

usage:
  .venv/bin/python bench/generate_bench.py --weightstream build/native/weightstream \
      [--models gpt2-124m,llama-1b] [--threads 2] [--prompt-tokens 64] [--new-tokens 32] \
      [--dtype keep] [--models-dir /tmp/ws-bench-models] [--skip-torch] [--repeat 5] [--raw OUT.json]
"""
import argparse
import json
import os
import subprocess
import sys
import time

from bench_meta import MEMORY_ACCOUNTING, MIN_RUNS, ROOT, run_meta, save_raw, spread, summary

WORKER = r"""
import json, re, sys, time
import torch, transformers
def status(field):
    for line in open('/proc/self/status'):
        if line.startswith(field + ':'): return int(line.split()[1]) * 1024
path, threads, prompt_len, new_tokens, dtype = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
torch.set_num_threads(threads)
torch_dtype = {"f32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16}[dtype]
# Import the model class now, so the baseline holds every import and the peak only the model.
config = transformers.AutoConfig.from_pretrained(path)
model_class = transformers.AutoModelForCausalLM._model_mapping[type(config)]
rss_before = status('VmRSS')
open('/proc/self/clear_refs', 'w').write('5')
t0 = time.perf_counter()
model = model_class.from_pretrained(path, torch_dtype=torch_dtype).eval()
load_s = time.perf_counter() - t0
vocab = model.config.vocab_size
g = torch.Generator().manual_seed(0)
prompt = torch.randint(0, vocab, (1, prompt_len), generator=g)
with torch.no_grad():
    t0 = time.perf_counter()
    out = model(prompt, use_cache=True)
    nxt = out.logits[:, -1].argmax(-1, keepdim=True)
    prefill_s = time.perf_counter() - t0
    past = out.past_key_values
    ids = [int(nxt)]
    t0 = time.perf_counter()
    for _ in range(new_tokens - 1):
        out = model(nxt, past_key_values=past, use_cache=True)
        past = out.past_key_values
        nxt = out.logits[:, -1].argmax(-1, keepdim=True)
        ids.append(int(nxt))
    decode_s = time.perf_counter() - t0
config_text = torch.__config__.show()
blas = re.search(r"BLAS_INFO=([^,\s]+)", config_text)
print(json.dumps({"load_seconds": load_s, "prefill_tokens_per_second": prompt_len / prefill_s,
                  "decode_tokens_per_second": (new_tokens - 1) / decode_s if new_tokens > 1 else 0.0,
                  "prompt_ids": prompt[0].tolist(), "ids": ids, "rss_before_bytes": rss_before,
                  "peak_rss_bytes": status('VmHWM'), "torch": torch.__version__,
                  "transformers": transformers.__version__, "torch_blas": blas.group(1) if blas else "unknown",
                  "torch_threads": torch.get_num_threads(), "torch_config": config_text}))
"""


def make_checkpoint(name, path):
    import torch
    import transformers
    if os.path.exists(os.path.join(path, "config.json")):
        return
    print(f"[bench] writing random {name} checkpoint to {path}", file=sys.stderr)
    torch.manual_seed(0)
    if name == "gpt2-124m":
        model = transformers.GPT2LMHeadModel(transformers.GPT2Config())
        model.save_pretrained(path, safe_serialization=True)
    elif name == "llama-1b":
        config = transformers.LlamaConfig(vocab_size=32000, hidden_size=2048, intermediate_size=5632,
                                          num_hidden_layers=22, num_attention_heads=32, num_key_value_heads=4,
                                          max_position_embeddings=2048, tie_word_embeddings=False,
                                          torch_dtype="bfloat16")
        model = transformers.LlamaForCausalLM(config).to(torch.bfloat16)
        model.save_pretrained(path, safe_serialization=True)
    else:
        raise SystemExit(f"unknown model {name}")


def run_measured(cmd):
    """Runs cmd, returns (stdout, seconds, ru_maxrss bytes). ru_maxrss includes what the
    child inherited from this process before exec: not a memory figure for the tables."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout = proc.stdout.read()
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"command failed ({status}): {' '.join(cmd)}\n{stderr.decode(errors='replace')}")
    return stdout.decode(), seconds, usage.ru_maxrss * 1024


def side_row(model, impl, weights, runs, extra=None):
    """One table row: every run's figures summarised (median, min-max)."""
    r = {"model": model, "impl": impl, "weights_bytes": weights,
         "load_s": summary([x["load_s"] for x in runs]), "prefill_tps": summary([x["prefill_tps"] for x in runs]),
         "decode_tps": summary([x["decode_tps"] for x in runs]),
         "peak_rss_over_baseline": summary([x["peak_rss_over_baseline"] for x in runs]),
         "ids": runs[0]["ids"], "same_ids_every_run": all(x["ids"] == runs[0]["ids"] for x in runs), "runs": runs}
    r.update(extra or {})
    return r


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--weightstream", required=True)
    p.add_argument("--models", default="gpt2-124m,llama-1b")
    p.add_argument("--models-dir", default="/tmp/ws-bench-models")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--prompt-tokens", type=int, default=64)
    p.add_argument("--new-tokens", type=int, default=32)
    p.add_argument("--dtype", default="keep", help="weightstream --dtype")
    p.add_argument("--torch-dtype", default="f32", help="dtype transformers computes in (f32, bf16)")
    p.add_argument("--skip-torch", action="store_true")
    p.add_argument("--repeat", type=int, default=MIN_RUNS, help="fresh processes per side (>= 5 for a table)")
    p.add_argument("--raw", default=None, help="raw JSON (default bench/results/generate-<commit>.json)")
    args = p.parse_args()
    meta = run_meta()

    rows = []
    for name in args.models.split(","):
        path = os.path.join(args.models_dir, name)
        make_checkpoint(name, path)
        weights = sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path) if f.endswith(".safetensors"))
        # The same prompt on both sides (the worker draws it; we draw it the same way).
        import torch
        vocab = json.load(open(os.path.join(path, "config.json")))["vocab_size"]
        prompt = torch.randint(0, vocab, (1, args.prompt_tokens), generator=torch.Generator().manual_seed(0))[0].tolist()

        ours_baseline = json.loads(run_measured([args.weightstream, "load", path, "--json"])[0])["rss_before_bytes"]
        runs = []
        for _ in range(args.repeat):
            out, wall, _ = run_measured([args.weightstream, "generate", path, "--prompt-ids", ",".join(map(str, prompt)),
                                           "--max-new-tokens", str(args.new_tokens), "--threads", str(args.threads),
                                           "--dtype", args.dtype, "--json"])
            ours = json.loads(out)
            runs.append({"load_s": ours["load"]["seconds"], "prefill_tps": ours["prefill_tokens_per_second"],
                         "decode_tps": ours["decode_tokens_per_second"], "peak_rss_bytes": ours["peak_rss_bytes"],
                         "rss_baseline_bytes": ours_baseline,
                         "peak_rss_over_baseline": ours["peak_rss_bytes"] - ours_baseline,
                         "wall_s": wall, "ids": ours["ids"], "backend": ours.get("backend", "")})
        rows.append(side_row(name, f"weightstream (--dtype {args.dtype})", weights, runs,
                             {"backend": runs[0]["backend"]}))
        if not args.skip_torch:
            runs = []
            for _ in range(args.repeat):
                out, wall, _ = run_measured([sys.executable, "-c", WORKER, path, str(args.threads),
                                             str(args.prompt_tokens), str(args.new_tokens), args.torch_dtype])
                ref = json.loads(out)
                assert ref["prompt_ids"] == prompt
                runs.append({"load_s": ref["load_seconds"], "prefill_tps": ref["prefill_tokens_per_second"],
                             "decode_tps": ref["decode_tokens_per_second"], "peak_rss_bytes": ref["peak_rss_bytes"],
                             "rss_baseline_bytes": ref["rss_before_bytes"],
                             "peak_rss_over_baseline": ref["peak_rss_bytes"] - ref["rss_before_bytes"],
                             "wall_s": wall, "ids": ref["ids"]})
            rows.append(side_row(name, f"transformers {ref['transformers']} + torch {ref['torch']} "
                                       f"(BLAS {ref['torch_blas']}, {args.torch_dtype})", weights, runs,
                                 {"torch_blas": ref["torch_blas"], "torch_threads": ref["torch_threads"],
                                  "torch_config": ref["torch_config"]}))
            same = rows[-1]["ids"] == rows[-2]["ids"]
            rows[-1]["same_greedy_ids"] = same
            rows[-2]["same_greedy_ids"] = same

    print(f"threads={args.threads} prompt={args.prompt_tokens} new={args.new_tokens}; median (min-max, n) of "
          f"{args.repeat} fresh processes per side; memory: {MEMORY_ACCOUNTING}")
    print("| model | implementation | weights MB | load s | prefill tok/s | decode tok/s | peak RSS over baseline MB | same ids |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for r in rows:
        mem = r["peak_rss_over_baseline"]
        print(f"| {r['model']} | {r['impl']} | {r['weights_bytes'] / 1e6:.1f} | {spread(r['load_s'], '{:.2f}')} | "
              f"{spread(r['prefill_tps'], '{:.1f}')} | {spread(r['decode_tps'], '{:.2f}')} | "
              f"{mem['median'] / 1e6:.1f} | {r.get('same_greedy_ids', '-')} |")
    save_raw(args.raw or os.path.join(ROOT, "bench/results", f"generate-{meta['commit'][:10]}.json"),
             {"command": " ".join([os.path.relpath(sys.executable, ROOT)] + sys.argv), "threads": args.threads, "prompt_tokens": args.prompt_tokens,
              "new_tokens": args.new_tokens, "repeat": args.repeat, "rows": rows}, meta)


if __name__ == "__main__":
    main()
