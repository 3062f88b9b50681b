"""Writes safetensors checkpoints with the real `safetensors` package (its Rust
serializer) and the expected bytes of every tensor, computed independently of
weightstream (hashlib over the bytes; torch for dtype conversions).

usage: make_safetensors_fixtures.py OUT_DIR
Writes:
  OUT_DIR/single/model.safetensors            every dtype, 0-d and empty tensors
  OUT_DIR/sharded/model-0000{1,2,3}-of-00003.safetensors + model.safetensors.index.json
  OUT_DIR/expected.json   {"single": {...}, "sharded": {...}}: per tensor dtype, shape,
                          sha256 of its bytes, and of its F32/F16/BF16 conversions (torch, RNE)
"""
import hashlib
import json
import os
import sys

import numpy as np
import torch
from safetensors import safe_open
from safetensors import _safetensors_rust as rust  # the reference serializer itself

rng = np.random.default_rng(1234)


def floats_with_specials(n):
    values = rng.standard_normal(n).astype(np.float32) * 3
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 65504.0, 65520.0, 1e-8, -6.1e-5, 5.96e-8,
                         3.0e38, 1.0000001, 2.0 ** -24, 2.0 ** -25, 3 * 2.0 ** -26], dtype=np.float32)
    values[: len(specials)] = specials[: n]
    return values


def torch_bytes(t):
    # bytes of a torch tensor, little-endian, through a same-size integer view
    int_type = {2: torch.int16, 4: torch.int32, 8: torch.int64}[t.element_size()]
    return t.contiguous().view(int_type).numpy().tobytes()


def conversions(dtype, raw, shape):
    """sha256 of the tensor converted to F32, F16, BF16 by torch (round to nearest even)."""
    if dtype not in ("F32", "F16", "BF16"):
        return {}
    int_type = {"F32": np.int32, "F16": np.int16, "BF16": np.int16}[dtype]
    torch_type = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}[dtype]
    t = torch.from_numpy(np.frombuffer(raw, dtype=int_type).copy()).view(torch_type)
    out = {}
    for name, target in (("F32", torch.float32), ("F16", torch.float16), ("BF16", torch.bfloat16)):
        # torch converts F16 <-> BF16 directly with one rounding from the exact value
        converted = t.to(target)
        # NaN bit patterns differ between torch's scalar and vectorised paths
        # (0x7fc0 vs 0xffff for bf16); weightstream's documented choice is the
        # quiet NaN with the sign kept, which torch's scalar path also gives.
        canonical = {torch.float32: 0x7FC00000, torch.float16: 0x7E00, torch.bfloat16: 0x7FC0}[target]
        bits = np.frombuffer(torch_bytes(converted), dtype={4: np.uint32, 2: np.uint16}[converted.element_size()]).copy()
        nan = torch.isnan(t.float()).numpy()
        sign = np.signbit(t.float().numpy())
        sign_bit = {4: 0x80000000, 2: 0x8000}[converted.element_size()]
        narrowing = target != torch.float32 and target != torch_type
        if narrowing:  # widening keeps NaN payloads exactly, in torch and in weightstream
            bits[nan] = np.where(sign[nan], canonical | sign_bit, canonical).astype(bits.dtype)
        out[name] = hashlib.sha256(bits.tobytes()).hexdigest()
    return out


def tensor(dtype, shape):
    n = int(np.prod(shape)) if shape else 1
    if dtype == "F32":
        raw = floats_with_specials(n).tobytes()
    elif dtype == "F16":
        with np.errstate(over="ignore"):  # 3e38 -> inf on purpose
            raw = floats_with_specials(n).astype(np.float16).tobytes()
    elif dtype == "BF16":
        raw = torch_bytes(torch.from_numpy(floats_with_specials(n)).to(torch.bfloat16))
    elif dtype == "F64":
        raw = rng.standard_normal(n).tobytes()
    elif dtype == "BOOL":
        raw = (rng.integers(0, 2, n) == 1).astype(np.bool_).tobytes()
    else:
        size = {"I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "U16": 2, "U32": 4, "U64": 8,
                "F8_E4M3": 1, "F8_E5M2": 1}[dtype]
        raw = rng.integers(0, 256, n * size, dtype=np.uint8).tobytes()
    return {"dtype": dtype, "shape": list(shape), "data": raw}


def expected_entry(name, t, shard=None):
    entry = {"dtype": t["dtype"], "shape": t["shape"], "sha256": hashlib.sha256(t["data"]).hexdigest(),
             "converted": conversions(t["dtype"], t["data"], t["shape"])}
    if shard:
        entry["shard"] = shard
    return entry


TORCH_NAMES = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16", "I64": "int64",
               "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8", "BOOL": "bool",
               "F8_E4M3": "float8_e4m3fn", "F8_E5M2": "float8_e5m2", "U16": "uint16", "U32": "uint32",
               "U64": "uint64"}


def serialize(tensors, path, metadata):
    keep_alive = []
    specs = {}
    for name, t in tensors.items():
        buf = np.frombuffer(t["data"], dtype=np.uint8) if t["data"] else np.zeros(1, dtype=np.uint8)
        keep_alive.append(buf)
        specs[name] = rust.TensorSpec(dtype=TORCH_NAMES[t["dtype"]], shape=tuple(t["shape"]),
                                      data_ptr=buf.ctypes.data, data_len=len(t["data"]))
    rust.serialize_file(specs, path, metadata=metadata)


def check_reference_reads(path, tensors):
    # The reference reader must agree with what we wrote (guards the generator itself).
    with safe_open(path, framework="numpy") as f:
        assert set(f.keys()) == set(tensors), (set(f.keys()), set(tensors))


def main(out_dir):
    all_dtypes = ["F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL", "F8_E4M3", "F8_E5M2",
                  "U16", "U32", "U64"]
    single = {}
    for i, dtype in enumerate(all_dtypes):
        single[f"weights.{dtype.lower()}"] = tensor(dtype, (3 + i, 5))
    single["scalar.f32"] = tensor("F32", ())
    single["scalar.i64"] = tensor("I64", ())
    single["empty.f16"] = tensor("F16", (0, 7))
    single["empty.bf16"] = tensor("BF16", (4, 0))
    single["big.f32"] = tensor("F32", (300, 1000))  # several staging windows at small staging sizes
    os.makedirs(f"{out_dir}/single", exist_ok=True)
    serialize(single, f"{out_dir}/single/model.safetensors", {"format": "pt", "note": "fixture"})
    check_reference_reads(f"{out_dir}/single/model.safetensors", single)

    # Sharded, laid out as transformers' save_pretrained(max_shard_size=...) does.
    shards = [{}, {}, {}]
    for layer in range(6):
        shards[layer // 2][f"model.layers.{layer}.weight"] = tensor(["F32", "BF16", "F16"][layer % 3], (64, 48))
        shards[layer // 2][f"model.layers.{layer}.bias"] = tensor("F32", (48,))
    weight_map, total = {}, 0
    os.makedirs(f"{out_dir}/sharded", exist_ok=True)
    expected_sharded = {}
    for k, shard in enumerate(shards):
        name = f"model-{k + 1:05d}-of-00003.safetensors"
        serialize(shard, f"{out_dir}/sharded/{name}", {"format": "pt"})
        check_reference_reads(f"{out_dir}/sharded/{name}", shard)
        for tname, t in shard.items():
            weight_map[tname] = name
            total += len(t["data"])
            expected_sharded[tname] = expected_entry(tname, t, name)
    with open(f"{out_dir}/sharded/model.safetensors.index.json", "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}, f, indent=2)
    with open(f"{out_dir}/sharded/config.json", "w") as f:
        json.dump({"model_type": "fixture", "hidden_size": 48}, f)

    expected = {"single": {n: expected_entry(n, t) for n, t in single.items()}, "sharded": expected_sharded}
    with open(f"{out_dir}/expected.json", "w") as f:
        json.dump(expected, f, indent=1)
    print(f"wrote fixtures to {out_dir}")


if __name__ == "__main__":
    main(sys.argv[1])
