"""Decodes ggml blocks with the `gguf` package (llama.cpp's gguf-py), so a
test can judge weightstream's quantizers by an independent decoder.

usage: dequantize_with_gguf.py DIR
For every file DIR/<name>.<QTYPE> (QTYPE a ggml type name such as Q4_K) writes
DIR/<name>.<QTYPE>.f32: gguf.quants.dequantize() of its blocks, raw f32.
"""
import os
import sys

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import quants

root = sys.argv[1]
for name in sorted(os.listdir(root)):
    qtype = name.rsplit(".", 1)[-1]
    if qtype not in T.__members__:
        continue
    blocks = np.fromfile(os.path.join(root, name), dtype=np.uint8)
    with np.errstate(over="ignore", invalid="ignore"):
        values = quants.dequantize(blocks, T[qtype])
    np.asarray(values, dtype=np.float32).tofile(os.path.join(root, name + ".f32"))
