"""Writes a random sharded safetensors checkpoint with the real safetensors
package, tensor by tensor (so this script itself never holds more than one
tensor). usage: make_checkpoint.py OUT_DIR --gib 2 --shards 3 --dtype F32|BF16"""
import argparse
import json
import os

import numpy as np
import torch
from safetensors.torch import save_file

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("--gib", type=float, default=2.0)
p.add_argument("--shards", type=int, default=3)
p.add_argument("--dtype", default="F32", choices=["F32", "BF16", "F16"])
a = p.parse_args()
dtype = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16}[a.dtype]
size = {"F32": 4, "BF16": 2, "F16": 2}[a.dtype]
os.makedirs(a.out, exist_ok=True)
# Llama-7B-like layer: 4 x [4096, 4096] attention + 3 x [4096, 11008] MLP ~ 202M params.
rows = 2048
per_tensor = rows * 4096
n_tensors = int(a.gib * (1 << 30) / size / per_tensor)
per_shard = -(-n_tensors // a.shards)
g = torch.Generator().manual_seed(0)
weight_map, total = {}, 0
for s in range(a.shards):
    name = f"model-{s + 1:05d}-of-{a.shards:05d}.safetensors"
    tensors = {}
    for i in range(s * per_shard, min(n_tensors, (s + 1) * per_shard)):
        tensors[f"model.layers.{i}.weight"] = torch.randn(rows, 4096, generator=g).to(dtype)
        weight_map[f"model.layers.{i}.weight"] = name
        total += per_tensor * size
    save_file(tensors, f"{a.out}/{name}", metadata={"format": "pt"})
    del tensors
with open(f"{a.out}/model.safetensors.index.json", "w") as f:
    json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f)
print(f"{a.out}: {n_tensors} tensors, {total / 2**30:.2f} GiB in {a.shards} shards")
