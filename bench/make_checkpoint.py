"""Writes random sharded safetensors checkpoints with the real safetensors
package, one shard at a time (so this script never holds more than one shard).

  make_checkpoint.py OUT_DIR --gib 2 --shards 3 --dtype F32|BF16|F16
      load benchmark checkpoint: [2048, 4096] tensors named model.layers.N.weight
      (bench/load_bench.py)

  make_checkpoint.py OUT_DIR --llama --gib 1 [--shard-gib 2] [--device cuda] [--dtype BF16]
      a Llama checkpoint transformers' LlamaForCausalLM loads (config.json, shards of
      ~--shard-gib, model.safetensors.index.json): width 2048 / MLP 5632 / 32 heads /
      4 KV heads / vocab 32000 by default, the layer count chosen to hit --gib (a smaller
      width when --gib is too small for two layers of 2048). Weights ~ N(0, 0.02), norms 1.
      Generated on --device (cuda: fast), moved to the host tensor by tensor. Skipped when
      OUT_DIR already holds the same checkpoint (.complete marker). (bench/gpu_bench.py)

  make_checkpoint.py OUT_DIR --llama --hidden 2048 --intermediate 5632 --layers 22 --heads 32 --kv-heads 4
                     [--vocab 49152] [--tokenizer-from DIR]
      an exact shape (TinyLlama-1.1B above; Llama-2-13B: 5120 / 13824 / 40 / 40 / 40), with the
      tokenizer files of DIR copied beside it (bench/quant_bench.py)
"""
import argparse
import json
import os
import shutil
import time

import torch
from safetensors.torch import save_file

DTYPES = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16}
SIZES = {"F32": 4, "BF16": 2, "F16": 2}


def write_layers_checkpoint(out, gib, shards, dtype_name):
    """The load benchmark's checkpoint (unchanged): rows x 4096 random tensors."""
    dtype, size = DTYPES[dtype_name], SIZES[dtype_name]
    os.makedirs(out, exist_ok=True)
    # Llama-7B-like layer: 4 x [4096, 4096] attention + 3 x [4096, 11008] MLP ~ 202M params.
    rows = 2048
    per_tensor = rows * 4096
    n_tensors = int(gib * (1 << 30) / size / per_tensor)
    per_shard = -(-n_tensors // shards)
    g = torch.Generator().manual_seed(0)
    weight_map, total = {}, 0
    for s in range(shards):
        name = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        tensors = {}
        for i in range(s * per_shard, min(n_tensors, (s + 1) * per_shard)):
            tensors[f"model.layers.{i}.weight"] = torch.randn(rows, 4096, generator=g).to(dtype)
            weight_map[f"model.layers.{i}.weight"] = name
            total += per_tensor * size
        save_file(tensors, f"{out}/{name}", metadata={"format": "pt"})
        del tensors
    with open(f"{out}/model.safetensors.index.json", "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f)
    print(f"{out}: {n_tensors} tensors, {total / 2**30:.2f} GiB in {shards} shards")


# ---- Llama ----

def llama_dims(hidden, vocab=32000, intermediate=None, heads=None, kv_heads=None):
    """Width 2048 -> 32 heads of 64, 4 KV heads, MLP 5632 (2.75x, TinyLlama's shape)."""
    heads = heads or max(1, hidden // 64)
    return {"hidden_size": hidden, "intermediate_size": intermediate or hidden * 11 // 4,
            "num_attention_heads": heads, "num_key_value_heads": kv_heads or max(1, heads // 8), "vocab_size": vocab}


def llama_tensors(dims, layers):
    """(name, shape, is_norm) in transformers' LlamaForCausalLM naming, untied lm_head."""
    h, i, v = dims["hidden_size"], dims["intermediate_size"], dims["vocab_size"]
    kv = dims["num_key_value_heads"] * (h // dims["num_attention_heads"])
    out = [("model.embed_tokens.weight", (v, h), False)]
    for n in range(layers):
        p = f"model.layers.{n}."
        out += [(p + "input_layernorm.weight", (h,), True),
                (p + "self_attn.q_proj.weight", (h, h), False),
                (p + "self_attn.k_proj.weight", (kv, h), False),
                (p + "self_attn.v_proj.weight", (kv, h), False),
                (p + "self_attn.o_proj.weight", (h, h), False),
                (p + "post_attention_layernorm.weight", (h,), True),
                (p + "mlp.gate_proj.weight", (i, h), False),
                (p + "mlp.up_proj.weight", (i, h), False),
                (p + "mlp.down_proj.weight", (h, i), False)]
    out += [("model.norm.weight", (h,), True), ("lm_head.weight", (v, h), False)]
    return out


def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def llama_plan(gib, elem_bytes=2, vocab=32000, hidden=None):
    """The widest of 2048/1024/.../64 (or the given width) with >= 2 layers, and the
    layer count whose total is nearest to gib."""
    target = gib * (1 << 30)
    for h in ([hidden] if hidden else [2048, 1024, 512, 256, 128, 64]):
        dims = llama_dims(h, vocab)
        fixed = sum(numel(s) for _, s, _ in llama_tensors(dims, 0)) * elem_bytes
        per_layer = sum(numel(s) for _, s, _ in llama_tensors(dims, 1)) * elem_bytes - fixed
        layers = max(1, round((target - fixed) / per_layer))
        if layers >= 2 or hidden:
            return dims, layers
    return dims, layers


def llama_config(dims, layers, dtype_name):
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        **dims,
        "num_hidden_layers": layers,
        "head_dim": dims["hidden_size"] // dims["num_attention_heads"],
        "hidden_act": "silu",
        "max_position_embeddings": 2048,
        "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0,
        "attention_bias": False,
        "mlp_bias": False,
        "tie_word_embeddings": False,
        "torch_dtype": {"BF16": "bfloat16", "F16": "float16", "F32": "float32"}[dtype_name],
        "bos_token_id": 1,
        "eos_token_id": 2,
        "initializer_range": 0.02,
        "use_cache": True,
    }


def write_llama_checkpoint(out, gib, shard_gib=2.0, device="cpu", dtype_name="BF16", std=0.02, seed=0,
                           hidden=None, vocab=32000, shape=None, tokenizer_from=None):
    """shape: an exact {"layers", "intermediate", "heads", "kv_heads"} with hidden (else sized by gib)."""
    dtype, size = DTYPES[dtype_name], SIZES[dtype_name]
    if shape:
        dims = llama_dims(hidden, vocab, shape["intermediate"], shape["heads"], shape["kv_heads"])
        layers = shape["layers"]
    else:
        dims, layers = llama_plan(gib, size, vocab, hidden)
    config = llama_config(dims, layers, dtype_name)
    tensors = llama_tensors(dims, layers)
    spec = {"config": config, "shard_gib": shard_gib, "std": std, "seed": seed, "tokenizer_from": tokenizer_from}
    marker = os.path.join(out, ".complete")
    if os.path.exists(marker):
        with open(marker) as f:
            done = json.load(f)
        if done.get("spec") == spec:
            summary = done["summary"]
            print(f"{out}: reusing {summary['tensors']} tensors, {summary['bytes'] / 2**30:.3f} GiB")
            return summary
    os.makedirs(out, exist_ok=True)
    for f in os.listdir(out):
        if f.endswith(".safetensors") or f in (".complete", "model.safetensors.index.json", "config.json"):
            os.remove(os.path.join(out, f))
    # Shards of about shard_gib, in file order (embeddings first, lm_head last).
    limit, groups, current, current_bytes = shard_gib * (1 << 30), [], [], 0
    for name, shape, is_norm in tensors:
        b = numel(shape) * size
        if current and current_bytes + b > limit:
            groups.append(current)
            current, current_bytes = [], 0
        current.append((name, shape, is_norm))
        current_bytes += b
    groups.append(current)
    gen = torch.Generator(device=device).manual_seed(seed)
    weight_map, total, t0 = {}, 0, time.perf_counter()
    for s, group in enumerate(groups):
        fname = f"model-{s + 1:05d}-of-{len(groups):05d}.safetensors"
        shard = {}
        for name, shape, is_norm in group:
            if is_norm:
                t = torch.ones(shape, dtype=dtype)
            else:
                # one tensor at a time on the device; normal_ in f32 then cast (works on any torch/device)
                t = torch.empty(shape, dtype=torch.float32, device=device).normal_(0.0, std, generator=gen)
                t = t.to(dtype).cpu()
            shard[name] = t
            weight_map[name] = fname
            total += t.numel() * size
        save_file(shard, os.path.join(out, fname), metadata={"format": "pt"})
        del shard
    with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=1)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        if tokenizer_from and os.path.exists(os.path.join(tokenizer_from, name)):
            shutil.copyfile(os.path.join(tokenizer_from, name), os.path.join(out, name))
    params = sum(numel(s) for _, s, _ in tensors)
    summary = {"dir": out, "bytes": total, "params": params, "tensors": len(tensors), "shards": len(groups),
               "layers": layers, **dims, "dtype": dtype_name, "device": str(device),
               "seconds": round(time.perf_counter() - t0, 3)}
    with open(marker, "w") as f:
        json.dump({"spec": spec, "summary": summary}, f)
    print(f"{out}: Llama {layers} layers x width {dims['hidden_size']}, {params / 1e6:.1f}M params, "
          f"{total / 2**30:.3f} GiB in {len(groups)} shards ({summary['seconds']:.1f} s on {device})")
    return summary


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out")
    p.add_argument("--gib", type=float, default=2.0)
    p.add_argument("--shards", type=int, default=3, help="layers checkpoint: number of shards")
    p.add_argument("--dtype", default=None, choices=list(DTYPES), help="F32 (layers) / BF16 (--llama) by default")
    p.add_argument("--llama", action="store_true", help="a Llama checkpoint with config.json")
    p.add_argument("--shard-gib", type=float, default=2.0, help="--llama: shard size")
    p.add_argument("--device", default="cpu", help="--llama: where to generate (cpu, cuda)")
    p.add_argument("--hidden", type=int, default=None, help="--llama: fixed width (default: auto)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--layers", type=int, help="--llama: exact shape (with --hidden, --intermediate, --heads, --kv-heads)")
    p.add_argument("--intermediate", type=int)
    p.add_argument("--heads", type=int)
    p.add_argument("--kv-heads", type=int)
    p.add_argument("--vocab", type=int, default=32000)
    p.add_argument("--tokenizer-from", help="--llama: copy tokenizer.json / tokenizer_config.json from this directory")
    a = p.parse_args()
    if a.llama:
        shape = None
        if a.layers:
            if not (a.hidden and a.intermediate and a.heads and a.kv_heads):
                p.error("--layers needs --hidden, --intermediate, --heads and --kv-heads")
            shape = {"layers": a.layers, "intermediate": a.intermediate, "heads": a.heads, "kv_heads": a.kv_heads}
        summary = write_llama_checkpoint(a.out, a.gib, a.shard_gib, a.device, a.dtype or "BF16", seed=a.seed,
                                         hidden=a.hidden, vocab=a.vocab, shape=shape,
                                         tokenizer_from=a.tokenizer_from)
        print("SUMMARY " + json.dumps(summary))
    else:
        write_layers_checkpoint(a.out, a.gib, a.shards, a.dtype or "F32")


if __name__ == "__main__":
    main()
