#!/usr/bin/env python3
"""GGUF files of the tiny Hugging Face fixtures, written the way llama.cpp's
convert_hf_to_gguf.py writes each family, so the C++ tests can check that a
GGUF of Gemma 1/2/3, Phi-3 or Qwen3 runs like the model it came from.

Tensor names come from gguf-py's own TensorNameMap (not from weightstream);
llama.cpp's conventions applied here: Gemma's RMSNorm weights are stored as
1 + w, no q/k row permutation outside "llama", Phi-3's fused qkv and gate_up
kept fused, a tied head written as no output.weight. As a check that these
files are what llama.cpp's readers expect, transformers' own GGUF loader
(which undoes the conventions: it subtracts Gemma's 1) must read every tensor
back bit for bit (Gemma 2 and 3 and Phi-3; see READ_BY_TRANSFORMERS).

For each fixture NAME in FAMILIES: OUT_DIR/NAME_gguf/model.gguf and a copy of
the fixture's reference.json (transformers on the original checkpoint).

usage: make_gguf_family_fixtures.py MODELS_DIR   (run after make_model_fixtures_current.py)
"""
import json
import os
import shutil
import sys

import gguf
import numpy as np
import torch
import transformers
from safetensors.numpy import load_file

# fixture -> llama.cpp architecture
FAMILIES = {"gemma": "gemma", "gemma2_llamacpp": "gemma2", "gemma3": "gemma3", "phi3_4k": "phi3", "qwen3": "qwen3"}
# transformers 5.23 reads GGUF Gemma 2/3, Phi-3 and Qwen3, but takes Qwen3's
# head_dim from its config default (128), not attention.key_length as
# llama.cpp does, so it cannot read this fixture's (32).
READ_BY_TRANSFORMERS = {"gemma2", "gemma3", "phi3"}


def write_gguf(src, path, arch_name):
    config = json.load(open(f"{src}/config.json"))
    arch = gguf.MODEL_ARCH[arch_name.upper()]
    layers = config["num_hidden_layers"]
    names = gguf.get_tensor_name_map(arch, layers)
    w = gguf.GGUFWriter(path, arch_name)
    heads, hidden = config["num_attention_heads"], config["hidden_size"]
    head_dim = config.get("head_dim") or hidden // heads
    w.add_context_length(config["max_position_embeddings"])
    w.add_embedding_length(hidden)
    w.add_block_count(layers)
    w.add_feed_forward_length(config["intermediate_size"])
    w.add_head_count(heads)
    w.add_head_count_kv(config.get("num_key_value_heads", heads))
    w.add_layer_norm_rms_eps(config["rms_norm_eps"])
    w.add_vocab_size(config["vocab_size"])
    if config.get("bos_token_id") is not None:
        w.add_bos_token_id(config["bos_token_id"])
    if config.get("eos_token_id") is not None:
        w.add_eos_token_id(config["eos_token_id"])
    if config.get("pad_token_id") is not None:
        w.add_pad_token_id(config["pad_token_id"])
    rope = config.get("rope_parameters") or {}
    if arch_name.startswith("gemma") or arch_name == "qwen3":
        w.add_key_length(head_dim)
        w.add_value_length(head_dim)
    if arch_name == "gemma3":
        w.add_rope_freq_base(rope["full_attention"]["rope_theta"])
        w.add_rope_freq_base_swa(rope["sliding_attention"]["rope_theta"])
        if rope["full_attention"].get("rope_type") == "linear":
            w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
            w.add_rope_scaling_factor(rope["full_attention"]["factor"])
        w.add_sliding_window(config["sliding_window"])
        w.add_sliding_window_pattern([t == "sliding_attention" for t in config["layer_types"]])
    else:
        w.add_rope_freq_base(rope.get("rope_theta", config.get("rope_theta", 10000.0)))
    if arch_name == "gemma2":
        w.add_sliding_window(config["sliding_window"])
        w.add_attn_logit_softcapping(config["attn_logit_softcapping"])
        w.add_final_logit_softcapping(config["final_logit_softcapping"])
    if arch_name == "phi3":
        w.add_rope_dimension_count(int(head_dim * config.get("partial_rotary_factor", 1.0)))
        w.add_rope_scaling_orig_ctx_len(config.get("original_max_position_embeddings")
                                        or config["max_position_embeddings"])
    tensors = load_file(f"{src}/model.safetensors")
    for hf_name, data in tensors.items():
        if hf_name == "lm_head.weight" and config.get("tie_word_embeddings"):
            continue
        name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if name is None:
            raise SystemExit(f"{src}: no GGUF name for {hf_name}")
        if arch_name.startswith("gemma") and hf_name.endswith("norm.weight"):
            data = data + np.float32(1)  # convert_hf_to_gguf.py: Gemma's (1 + w) folded in
        w.add_tensor(name, np.ascontiguousarray(data, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def check_with_transformers(src, out, arch_name):
    if arch_name not in READ_BY_TRANSFORMERS:
        return
    model = transformers.AutoModelForCausalLM.from_pretrained(out, gguf_file="model.gguf", dtype=torch.float32)
    ours = model.state_dict()
    for name, data in load_file(f"{src}/model.safetensors").items():
        if name not in ours:
            raise SystemExit(f"{out}: transformers' GGUF reader has no {name}")
        if not np.array_equal(ours[name].numpy(), data):
            raise SystemExit(f"{out}: transformers' GGUF reader gives another {name}")


def main():
    models = sys.argv[1]
    for fixture, arch_name in FAMILIES.items():
        src, out = f"{models}/{fixture}", f"{models}/{fixture}_gguf"
        os.makedirs(out, exist_ok=True)
        write_gguf(src, f"{out}/model.gguf", arch_name)
        shutil.copy(f"{src}/reference.json", f"{out}/reference.json")
        check_with_transformers(src, out, arch_name)
    print("GGUF family fixtures written to", models)


if __name__ == "__main__":
    main()
