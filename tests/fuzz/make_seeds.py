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

# GGUF: a small llama-like file written by the gguf package (llama.cpp's
# gguf-py) when it is installed: metadata of several types, a token list, an
# F32 and a Q8_0 tensor.
# Without it, a hand-packed header with one string key and no tensors.
os.makedirs(f"{root}/gguf", exist_ok=True)
key, value = b"general.architecture", b"llama"
with open(f"{root}/gguf/seed0", "wb") as f:
    f.write(b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", len(key)) + key +
            struct.pack("<IQ", 8, len(value)) + value)
try:
    import numpy as np
    import gguf
except ImportError:
    gguf = None
if gguf is not None:
    w = gguf.GGUFWriter(f"{root}/gguf/seed1", "llama")
    w.add_block_count(1)
    w.add_head_count(2)
    w.add_head_count_kv(1)
    w.add_embedding_length(32)
    w.add_tokenizer_model("gpt2")
    w.add_token_list(["a", "b", "ab"])
    w.add_token_merges(["a b"])
    w.add_tensor("output_norm.weight", np.ones(32, dtype=np.float32))
    q = gguf.quants.quantize(np.arange(64 * 32, dtype=np.float32).reshape(64, 32) / 100, gguf.GGMLQuantizationType.Q8_0)
    w.add_tensor("blk.0.attn_q.weight", q, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
