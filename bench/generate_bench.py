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
  llama-7b     Llama-2-7B shape (hidden 4096, 32 layers, 32 heads, MLP 11008, vocab
               32000), bf16 in 2 GiB shards (13.5 GB), written by make_checkpoint.py
               one shard at a time
  smollm2      not random: the real SmolLM2-135M-Instruct bf16 directory
               (build/models, .ci/setup.d/30-smollm2.sh)
Random Llama checkpoints get Llama 2's tokenizer files (build/tokenizers/llama2, vocab
32000) beside them, because llama.cpp will not load a GGUF without a vocabulary.

Peers and extra rows (all optional, each side in the same run):
  --variants 'A;B'    one weightstream row per set of extra `generate` flags, e.g.
                      '--bind copy;--bind copy --huge-pages;--bind mmap' (`--bind mmap`
                      serves weights stored in their compute dtype from the mapped
                      checkpoint; `--huge-pages` asks for 2 MiB pages for the weights)
  --llamacpp          llama.cpp (npm node-llama-cpp, prebuilt CPU binaries, --peers) on
                      the GGUF our `convert --dtype <--gguf-dtype>` writes from the same
                      checkpoint (same weights, bf16 by default)
  --roofline BIN      bench's ws_read_roofline, run before and after the rows: each
                      decode figure is also given as effective GB/s (bytes of the
                      weights a decode step reads x tok/s) and as a share of the roofline
Time to first token (ttft) = load seconds + prompt tokens / prefill tok/s, per run.

usage:
  .venv/bin/python bench/generate_bench.py --weightstream build/native/weightstream \
      [--models gpt2-124m,llama-1b] [--threads 2] [--prompt-tokens 64] [--new-tokens 32] \
      [--dtype keep] [--variants '--bind copy'] [--llamacpp] [--roofline build/native/bench/ws_read_roofline] \
      [--models-dir /tmp/ws-bench-models] [--skip-torch] [--repeat 5] [--raw OUT.json]
"""
import argparse
import json
import os
import shutil
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


LLAMA2_TOKENIZER = os.path.join(ROOT, "build/tokenizers/llama2")
SMOLLM2_BF16 = os.path.join(ROOT, "build/models/SmolLM2-135M-Instruct-bf16")
PEERS = os.path.join(ROOT, "build/node-llama-cpp")


def model_path(name, models_dir):
    return SMOLLM2_BF16 if name == "smollm2" else os.path.join(models_dir, name)


def give_llama_tokenizer(path):
    """Llama 2's tokenizer files beside a random vocab-32000 Llama (llama.cpp needs a vocabulary)."""
    config = json.load(open(os.path.join(path, "config.json")))
    if config.get("model_type") != "llama" or os.path.exists(os.path.join(path, "tokenizer.json")):
        return
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(LLAMA2_TOKENIZER, f), os.path.join(path, f))


def make_checkpoint(name, path):
    if name == "smollm2":
        if not os.path.exists(os.path.join(path, "config.json")):
            raise SystemExit(f"no {path}: bash .ci/setup.d/30-smollm2.sh writes it")
        return
    if not os.path.exists(os.path.join(path, "config.json")):
        print(f"[bench] writing random {name} checkpoint to {path}", file=sys.stderr)
        write_checkpoint(name, path)
    give_llama_tokenizer(path)


def write_checkpoint(name, path):
    import torch
    import transformers
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
    elif name == "llama-7b":
        # 13.5 GB: make_checkpoint.py holds one shard at a time, save_pretrained would hold it all.
        subprocess.run([sys.executable, os.path.join(ROOT, "bench/make_checkpoint.py"), path, "--llama",
                        "--hidden", "4096", "--intermediate", "11008", "--layers", "32", "--heads", "32",
                        "--kv-heads", "32", "--vocab", "32000", "--dtype", "BF16"], check=True)
    else:
        raise SystemExit(f"unknown model {name}")


def decode_step_bytes(path):
    """Bytes of the checkpoint one decode step reads: every tensor, less the token
    embedding table when the head is untied (a step reads one row of it)."""
    tied = json.load(open(os.path.join(path, "config.json"))).get("tie_word_embeddings", True)
    total = embedding = 0
    for f in sorted(os.listdir(path)):
        if not f.endswith(".safetensors"):
            continue
        with open(os.path.join(path, f), "rb") as fh:
            header = json.loads(fh.read(int.from_bytes(fh.read(8), "little")))
        for name, info in header.items():
            if name == "__metadata__":
                continue
            size = info["data_offsets"][1] - info["data_offsets"][0]
            total += size
            if name.endswith(("embed_tokens.weight", "wte.weight")):
                embedding = size
    return total - (0 if tied else embedding)


def roofline(binary, threads):
    """ws_read_roofline's median GB/s at `threads` (a 1 GiB buffer, 7 passes)."""
    out = subprocess.run([binary, str(threads), "1024"], capture_output=True, text=True, check=True).stdout
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    return {"threads": threads, "gb_per_s": next(x["gb_per_s_median"] for x in lines if x["threads"] == threads),
            "raw": lines}


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


def ours_runs(args, path, prompt, flags, baseline):
    runs = []
    for _ in range(args.repeat):
        cmd = [args.weightstream, "generate", path, "--prompt-ids", ",".join(map(str, prompt)),
               "--max-new-tokens", str(args.new_tokens), "--threads", str(args.threads), "--dtype", args.dtype,
               *flags.split(), "--json"]
        out, wall, _ = run_measured(cmd)
        ours = json.loads(out)
        runs.append({"load_s": ours["load"]["seconds"], "prefill_tps": ours["prefill_tokens_per_second"],
                     "decode_tps": ours["decode_tokens_per_second"], "peak_rss_bytes": ours["peak_rss_bytes"],
                     "rss_baseline_bytes": baseline, "peak_rss_over_baseline": ours["peak_rss_bytes"] - baseline,
                     "wall_s": wall, "ids": ours["ids"], "backend": ours.get("backend", "")})
    return runs


def torch_runs(args, path, prompt):
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
                     "wall_s": wall, "ids": ref["ids"], "about": ref})
    return runs


def llamacpp_runs(args, name, path, prompt):
    gguf = os.path.join(args.models_dir, f"{name}.{args.gguf_dtype}.gguf")
    if not os.path.exists(gguf):
        subprocess.run([args.weightstream, "convert", path, gguf, "--dtype", args.gguf_dtype], check=True)
    runs = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        p = subprocess.run(["node", os.path.join(ROOT, "bench/peers/llamacpp_decode.mjs"), gguf, "--ids",
                            ",".join(map(str, prompt)), "--tokens", str(args.new_tokens), "--threads",
                            str(args.threads)], cwd=args.peers, capture_output=True, text=True)
        if p.returncode != 0:
            raise SystemExit(f"llama.cpp failed: {p.stderr[-2000:]}")
        r = json.loads(p.stdout.strip().splitlines()[-1])
        runs.append({"load_s": r["load_seconds"], "prefill_tps": r["prefill_tokens_per_second"],
                     "decode_tps": r["decode_tokens_per_second"], "peak_rss_bytes": r["peak_rss_bytes"],
                     "rss_baseline_bytes": r["baseline_rss_bytes"],
                     "peak_rss_over_baseline": r["peak_rss_bytes"] - r["baseline_rss_bytes"],
                     "wall_s": time.perf_counter() - start, "ids": r["ids"], "engine": r["engine"]})
    return runs, gguf


def add_derived(row, prompt_tokens, step_bytes, ceiling):
    """ttft per run, and the decode figure as effective GB/s and share of the roofline."""
    for r in row["runs"]:
        r["ttft_s"] = r["load_s"] + prompt_tokens / r["prefill_tps"]
        r["effective_gb_per_s"] = step_bytes * r["decode_tps"] / 1e9
    row["ttft_s"] = summary([r["ttft_s"] for r in row["runs"]])
    row["effective_gb_per_s"] = summary([r["effective_gb_per_s"] for r in row["runs"]])
    if ceiling:
        row["roofline_share"] = row["effective_gb_per_s"]["median"] / ceiling


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--weightstream", required=True)
    p.add_argument("--models", default="gpt2-124m,llama-1b")
    p.add_argument("--models-dir", default="/tmp/ws-bench-models")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--prompt-tokens", type=int, default=64)
    p.add_argument("--new-tokens", type=int, default=32)
    p.add_argument("--dtype", default="keep", help="weightstream --dtype")
    p.add_argument("--variants", default="--bind copy", help="extra generate flags per weightstream row, ';'-separated")
    p.add_argument("--torch-dtype", default="f32", help="dtype transformers computes in (f32, bf16)")
    p.add_argument("--skip-torch", action="store_true")
    p.add_argument("--llamacpp", action="store_true", help="llama.cpp on a GGUF of the same weights")
    p.add_argument("--gguf-dtype", default="bf16", help="the GGUF's dtype for --llamacpp (our convert writes it)")
    p.add_argument("--peers", default=PEERS, help="where npm node-llama-cpp is installed")
    p.add_argument("--roofline", default=None, help="ws_read_roofline binary (effective bandwidth columns)")
    p.add_argument("--repeat", type=int, default=MIN_RUNS, help="fresh processes per side (>= 5 for a table)")
    p.add_argument("--raw", default=None, help="raw JSON (default bench/results/generate-<commit>.json)")
    args = p.parse_args()
    meta = run_meta()
    ceilings = [roofline(args.roofline, args.threads)] if args.roofline else []

    rows = []
    for name in args.models.split(","):
        path = model_path(name, args.models_dir)
        make_checkpoint(name, path)
        weights = sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path) if f.endswith(".safetensors"))
        step_bytes = decode_step_bytes(path)
        # The same prompt on every side (the worker draws it; we draw it the same way).
        import torch
        vocab = json.load(open(os.path.join(path, "config.json")))["vocab_size"]
        prompt = torch.randint(0, vocab, (1, args.prompt_tokens), generator=torch.Generator().manual_seed(0))[0].tolist()

        ours_baseline = json.loads(run_measured([args.weightstream, "load", path, "--json"])[0])["rss_before_bytes"]
        model_rows = []
        for flags in args.variants.split(";"):
            runs = ours_runs(args, path, prompt, flags, ours_baseline)
            model_rows.append(side_row(name, f"weightstream (--dtype {args.dtype} {flags.strip()})", weights, runs,
                                       {"backend": runs[0]["backend"]}))
        if not args.skip_torch:
            runs = torch_runs(args, path, prompt)
            ref = runs[0].pop("about")
            for r in runs[1:]:
                r.pop("about")
            model_rows.append(side_row(name, f"transformers {ref['transformers']} + torch {ref['torch']} "
                                             f"(BLAS {ref['torch_blas']}, {args.torch_dtype})", weights, runs,
                                       {"torch_blas": ref["torch_blas"], "torch_threads": ref["torch_threads"],
                                        "torch_config": ref["torch_config"]}))
        if args.llamacpp:
            runs, gguf = llamacpp_runs(args, name, path, prompt)
            model_rows.append(side_row(name, f"{runs[0]['engine']} ({args.gguf_dtype} GGUF)", weights, runs,
                                       {"gguf": gguf, "gguf_bytes": os.path.getsize(gguf)}))
        for r in model_rows:
            r["same_greedy_ids_as_first_row"] = r["ids"] == model_rows[0]["ids"]
            r["decode_step_bytes"] = step_bytes
        rows += model_rows
    if args.roofline:
        ceilings.append(roofline(args.roofline, args.threads))
    # The ceiling is the better of the two roofline runs: what this machine showed it can read.
    ceiling = max(c["gb_per_s"] for c in ceilings) if ceilings else None
    for r in rows:
        add_derived(r, args.prompt_tokens, r["decode_step_bytes"], ceiling)

    print(f"threads={args.threads} prompt={args.prompt_tokens} new={args.new_tokens}; median (min-max, n) of "
          f"{args.repeat} fresh processes per side; memory: {MEMORY_ACCOUNTING}")
    if ceilings:
        print("read roofline (ws_read_roofline, GB/s at these threads): before, after: " +
              ", ".join(f"{c['gb_per_s']:.2f}" for c in ceilings) + f"; shares are of {ceiling:.2f}")
    print("| model | implementation | weights MB | load s | ttft s | prefill tok/s | decode tok/s | effective GB/s "
          "(share of roofline) | peak RSS over baseline MB | ids as row 1 |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        mem = r["peak_rss_over_baseline"]
        share = f" ({r['roofline_share'] * 100:.0f}%)" if "roofline_share" in r else ""
        print(f"| {r['model']} | {r['impl']} | {r['weights_bytes'] / 1e6:.1f} | {spread(r['load_s'], '{:.2f}')} | "
              f"{spread(r['ttft_s'], '{:.2f}')} | {spread(r['prefill_tps'], '{:.1f}')} | "
              f"{spread(r['decode_tps'], '{:.2f}')} | {r['effective_gb_per_s']['median']:.1f}{share} | "
              f"{mem['median'] / 1e6:.1f} | {r['same_greedy_ids_as_first_row']} |")
    save_raw(args.raw or os.path.join(ROOT, "bench/results", f"generate-{meta['commit'][:10]}.json"),
             {"command": " ".join([os.path.relpath(sys.executable, ROOT)] + sys.argv), "threads": args.threads,
              "prompt_tokens": args.prompt_tokens, "new_tokens": args.new_tokens, "repeat": args.repeat,
              "roofline": ceilings, "rows": rows}, meta)


if __name__ == "__main__":
    main()
