"""Writes the seed corpora for the libFuzzer targets (a 2-tensor safetensors
file and a 2-entry index). usage: make_seeds.py CORPUS_DIR"""
import json
import os
import struct
import sys

root = sys.argv[1]
os.makedirs(f"{root}/header", exist_ok=True)
os.makedirs(f"{root}/index", exist_ok=True)
header = json.dumps({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                     "b": {"dtype": "BF16", "shape": [2, 2], "data_offsets": [8, 16]},
                     "__metadata__": {"format": "pt"}}).encode()
with open(f"{root}/header/seed1", "wb") as f:
    f.write(struct.pack("<Q", len(header)) + header + bytes(16))
with open(f"{root}/index/seed1", "w") as f:
    json.dump({"metadata": {"total_size": 16}, "weight_map": {"x": "a.safetensors", "y": "a.safetensors"}}, f)
