"""Writes the quantize-on-load fixtures: float tensors in a safetensors file
(written by the real `safetensors` package) and, for every format the `gguf`
package (llama.cpp's gguf-py) can quantise, its blocks of the same tensors.
Nothing here comes from weightstream.

usage: make_quantize_fixtures.py OUT_DIR

OUT_DIR/sources.safetensors   tensors "F32", "F16", "BF16" (ROWS x COLS, the same
                              values rounded to each dtype), "odd" (F32, 3 x 48:
                              rows that are not whole blocks of any ggml type)
OUT_DIR/ref/<SRC>.<QTYPE>     gguf.quants.quantize(<SRC> widened exactly to f32,
                              QTYPE) for QTYPE in Q8_0 Q4_0 Q4_1 Q5_0 Q5_1: raw blocks
OUT_DIR/ref/<SRC>.f32         that f32 input, raw (the K-quant error checks use it)

Rows (each a different path through the scale arithmetic):
  0 normal values with zeros and tiny values mixed in
  1 huge values (f16 scales overflow to inf for F32/BF16; the reference keeps that)
  2 a constant value            3 all zeros
  4 tiny values only            5 small values with a few large outliers
  6, 7 plain normal values at two scales
"""
import os
import sys

import numpy as np
import torch
from safetensors.torch import save_file
from gguf import GGMLQuantizationType as T
from gguf import quants

out = sys.argv[1]
os.makedirs(f"{out}/ref", exist_ok=True)
rng = np.random.default_rng(10)

ROWS, COLS = 8, 1024  # 4 K-quant super-blocks, 32 small blocks per row
GGUF_PY_FORMATS = ["Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1"]


def values(huge, tiny):
    x = rng.standard_normal((ROWS, COLS)).astype(np.float32)
    x[0, ::7] = 0.0
    x[0, 3::11] *= tiny
    x[1] = rng.standard_normal(COLS).astype(np.float32) * huge
    x[2] = 0.75
    x[3] = 0.0
    x[4] = rng.standard_normal(COLS).astype(np.float32) * tiny
    x[5] = rng.standard_normal(COLS).astype(np.float32) * 0.02
    x[5, ::97] = 3.0
    x[6] *= 0.5
    x[7] *= 8.0
    return x


# Per source dtype, magnitudes the dtype can hold (the tiny ones stay normal
# numbers so a reciprocal scale stays finite).
sources = {
    "F32": (values(1e30, 1e-20), torch.float32),
    "F16": (values(2e4, 1e-3), torch.float16),
    "BF16": (values(1e30, 1e-20), torch.bfloat16),
}
tensors = {}
for name, (x, dtype) in sources.items():
    t = torch.from_numpy(x).to(dtype)  # round to nearest even
    tensors[name] = t
    widened = t.to(torch.float32).numpy()  # exact
    widened.tofile(f"{out}/ref/{name}.f32")
    for q in GGUF_PY_FORMATS:
        with np.errstate(over="ignore"):  # row 1's f16 scales overflow on purpose
            blocks = quants.quantize(widened, T[q])
        np.asarray(blocks, dtype=np.uint8).tofile(f"{out}/ref/{name}.{q}")
tensors["odd"] = torch.from_numpy(rng.standard_normal((3, 48)).astype(np.float32))
save_file(tensors, f"{out}/sources.safetensors")
