#!/usr/bin/env python3
"""Side-by-side generation benchmark: `weightstream generate --json` against
transformers + torch on CPU, same weights, same thread count, batch 1.

For each model it measures prefill and decode tokens/s, load time and the
peak RSS of the process (ru_maxrss from wait4, the same meter for both sides;
each side runs in its own fresh process).

Checkpoints are random (fixed seed) and written with transformers'
save_pretrained into --models-dir the first time:
  gpt2-124m    GPT2Config() defaults (GPT-2 small shape), f32
  llama-1b     TinyLlama-1.1B shape (hidden 2048, 22 layers, 32 heads, 4 kv heads,
               vocab 32000), saved in bf16 (2.2 GB)

usage:
  .venv/bin/python bench/generate_bench.py --weightstream build/native/weightstream \
      [--models gpt2-124m,llama-1b] [--threads 2] [--prompt-tokens 64] [--new-tokens 32] \
      [--dtype keep] [--models-dir /tmp/ws-bench-models] [--skip-torch]
"""
import argparse
import json
import os
import subprocess
import sys
import time

WORKER = r"""
import json, sys, time
import torch, transformers
path, threads, prompt_len, new_tokens, dtype = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
torch.set_num_threads(threads)
torch_dtype = {"f32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16}[dtype]
t0 = time.perf_counter()
model = transformers.AutoModelForCausalLM.from_pretrained(path, torch_dtype=torch_dtype).eval()
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
print(json.dumps({"load_seconds": load_s, "prefill_tokens_per_second": prompt_len / prefill_s,
                  "decode_tokens_per_second": (new_tokens - 1) / decode_s if new_tokens > 1 else 0.0,
                  "prompt_ids": prompt[0].tolist(), "ids": ids,
                  "torch": torch.__version__, "transformers": transformers.__version__}))
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
    """Runs cmd, returns (stdout, seconds, peak RSS bytes of that process)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout = proc.stdout.read()
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"command failed ({status}): {' '.join(cmd)}\n{stderr.decode(errors='replace')}")
    return stdout.decode(), seconds, usage.ru_maxrss * 1024


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
    args = p.parse_args()

    rows = []
    for name in args.models.split(","):
        path = os.path.join(args.models_dir, name)
        make_checkpoint(name, path)
        weights = sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path) if f.endswith(".safetensors"))
        # The same prompt on both sides (the worker draws it; we draw it the same way).
        import torch
        vocab = json.load(open(os.path.join(path, "config.json")))["vocab_size"]
        prompt = torch.randint(0, vocab, (1, args.prompt_tokens), generator=torch.Generator().manual_seed(0))[0].tolist()

        out, wall, rss = run_measured([args.weightstream, "generate", path, "--prompt-ids", ",".join(map(str, prompt)),
                                       "--max-new-tokens", str(args.new_tokens), "--threads", str(args.threads),
                                       "--dtype", args.dtype, "--json"])
        ours = json.loads(out)
        rows.append({"model": name, "impl": f"weightstream (--dtype {args.dtype})", "weights_bytes": weights,
                     "load_s": ours["load"]["seconds"], "prefill_tps": ours["prefill_tokens_per_second"],
                     "decode_tps": ours["decode_tokens_per_second"], "peak_rss": rss, "wall_s": wall,
                     "ids": ours["ids"], "backend": ours.get("backend", "")})
        if not args.skip_torch:
            out, wall, rss = run_measured([sys.executable, "-c", WORKER, path, str(args.threads),
                                           str(args.prompt_tokens), str(args.new_tokens), args.torch_dtype])
            ref = json.loads(out)
            assert ref["prompt_ids"] == prompt
            rows.append({"model": name, "impl": f"transformers {ref['transformers']} + torch {ref['torch']} ({args.torch_dtype})",
                         "weights_bytes": weights, "load_s": ref["load_seconds"],
                         "prefill_tps": ref["prefill_tokens_per_second"], "decode_tps": ref["decode_tokens_per_second"],
                         "peak_rss": rss, "wall_s": wall, "ids": ref["ids"], "backend": ""})
            same = rows[-1]["ids"] == rows[-2]["ids"]
            rows[-1]["same_greedy_ids"] = same
            rows[-2]["same_greedy_ids"] = same

    print(f"threads={args.threads} prompt={args.prompt_tokens} new={args.new_tokens}")
    print(f"{'model':<10} {'implementation':<52} {'weights MB':>10} {'load s':>7} {'prefill tok/s':>13} "
          f"{'decode tok/s':>12} {'peak RSS MB':>11} {'same ids':>8}")
    for r in rows:
        print(f"{r['model']:<10} {r['impl']:<52} {r['weights_bytes'] / 1e6:>10.1f} {r['load_s']:>7.2f} "
              f"{r['prefill_tps']:>13.1f} {r['decode_tps']:>12.2f} {r['peak_rss'] / 1e6:>11.1f} "
              f"{str(r.get('same_greedy_ids', '-')):>8}")
    print(json.dumps([{k: v for k, v in r.items() if k != "ids"} for r in rows]))


if __name__ == "__main__":
    main()
