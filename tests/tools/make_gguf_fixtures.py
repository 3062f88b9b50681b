"""Writes GGUF test fixtures with the independent `gguf` package (llama.cpp's
gguf-py): quantisation, file layout and the reference dequantised values all
come from it, never from weightstream.

usage: make_gguf_fixtures.py OUT_DIR [SMOLLM2_GGUF]

OUT_DIR/quants.gguf        one 4 x 512 tensor per supported type, named by type
OUT_DIR/ref/<TYPE>.f32     gguf.quants.dequantize() of that tensor, raw f32
OUT_DIR/tiny-llama.gguf    a 2-layer llama (f32 weights stored the way
                           convert_hf_to_gguf.py stores them, q/k permuted),
                           byte-level BPE tokenizer, chat template
OUT_DIR/tiny-llama/ref/<hf name>.f32   the Hugging Face tensors it came from
OUT_DIR/smollm2/expected.json  (if SMOLLM2_GGUF exists) sha256 of the f32
                           bytes of a few real tensors, dequantised by gguf and
                           un-permuted by transformers' own GGUF loader helper
"""
import json
import os
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf import quants

out = sys.argv[1]
os.makedirs(f"{out}/ref", exist_ok=True)
rng = np.random.default_rng(6)

# ---- one tensor per type -------------------------------------------------------
QUANTIZABLE = ["F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0"]
K_QUANTS = {"Q4_K": 144, "Q5_K": 176, "Q6_K": 210}  # block bytes; gguf-py cannot quantise these
ROWS, COLS = 4, 512

writer = gguf.GGUFWriter(f"{out}/quants.gguf", "fixture")
for name in QUANTIZABLE:
    x = (rng.standard_normal((ROWS, COLS)) * 0.5).astype(np.float32)
    x[0, :3] = [0.0, -0.0, 1e-8]  # zero / tiny values through every scale path
    data = x if name == "F32" else quants.quantize(x, T[name])
    writer.add_tensor(name, data, raw_dtype=T[name])
    ref = quants.dequantize(data, T[name]) if name != "F32" else x
    np.asarray(ref, dtype=np.float32).tofile(f"{out}/ref/{name}.f32")
    # Requantized to Q8_0 (a GGUF's blocks asked as --dtype q8_0): gguf-py's
    # quantizer on gguf-py's dequantisation.
    quants.quantize(np.asarray(ref, dtype=np.float32), T.Q8_0).tofile(f"{out}/ref/{name}_as_Q8_0.bin")
for name, block_bytes in K_QUANTS.items():
    blocks = ROWS * COLS // 256
    raw = rng.integers(0, 256, size=(blocks, block_bytes), dtype=np.uint8)
    # Keep the f16 scales finite and modest (random bits could be inf/NaN).
    scales = (rng.standard_normal((blocks, 2)) * 0.01).astype(np.float16).view(np.uint8)
    if name in ("Q4_K", "Q5_K"):
        raw[:, 0:4] = scales
    else:
        raw[:, 208:210] = scales[:, 0:2]
    data = raw.reshape(ROWS, COLS // 256 * block_bytes)
    writer.add_tensor(name, data, raw_dtype=T[name])
    quants.dequantize(data, T[name]).astype(np.float32).tofile(f"{out}/ref/{name}.f32")
writer.write_header_to_file()
writer.write_kv_data_to_file()
writer.write_tensors_to_file()
writer.close()

# ---- a tiny llama, stored as convert_hf_to_gguf.py stores one ------------------
HIDDEN, HEADS, KV_HEADS, FFN, LAYERS = 64, 4, 2, 96, 2
HEAD_DIM = HIDDEN // HEADS


def permute(w, n_head, n_head_kv):
    # convert_hf_to_gguf.py LlamaModel.permute (the rotary row order llama.cpp wants)
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


byte_chars = [chr(c) for c in range(ord("!"), ord("~") + 1)]  # a few byte-level symbols
tokens = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] + byte_chars + ["Ġ", "he", "Ġt", "Ġthe", "ll", "llo"]
merges = ["h e", "Ġ t", "Ġt he", "l l", "ll o"]
VOCAB = len(tokens)
hf = {}
hf["model.embed_tokens.weight"] = rng.standard_normal((VOCAB, HIDDEN)).astype(np.float32)
hf["model.norm.weight"] = (1 + 0.1 * rng.standard_normal(HIDDEN)).astype(np.float32)
for i in range(LAYERS):
    p = f"model.layers.{i}."
    hf[p + "input_layernorm.weight"] = (1 + 0.1 * rng.standard_normal(HIDDEN)).astype(np.float32)
    hf[p + "post_attention_layernorm.weight"] = (1 + 0.1 * rng.standard_normal(HIDDEN)).astype(np.float32)
    hf[p + "self_attn.q_proj.weight"] = rng.standard_normal((HIDDEN, HIDDEN)).astype(np.float32)
    hf[p + "self_attn.k_proj.weight"] = rng.standard_normal((KV_HEADS * HEAD_DIM, HIDDEN)).astype(np.float32)
    hf[p + "self_attn.v_proj.weight"] = rng.standard_normal((KV_HEADS * HEAD_DIM, HIDDEN)).astype(np.float32)
    hf[p + "self_attn.o_proj.weight"] = rng.standard_normal((HIDDEN, HIDDEN)).astype(np.float32)
    hf[p + "mlp.gate_proj.weight"] = rng.standard_normal((FFN, HIDDEN)).astype(np.float32)
    hf[p + "mlp.up_proj.weight"] = rng.standard_normal((FFN, HIDDEN)).astype(np.float32)
    hf[p + "mlp.down_proj.weight"] = rng.standard_normal((HIDDEN, FFN)).astype(np.float32)

to_gguf = {"input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm", "self_attn.q_proj": "attn_q",
           "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
           "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}
writer = gguf.GGUFWriter(f"{out}/tiny-llama.gguf", "llama")
writer.add_context_length(256)
writer.add_embedding_length(HIDDEN)
writer.add_block_count(LAYERS)
writer.add_feed_forward_length(FFN)
writer.add_head_count(HEADS)
writer.add_head_count_kv(KV_HEADS)
writer.add_rope_freq_base(100000.0)
writer.add_layer_norm_rms_eps(1e-5)
writer.add_tokenizer_model("gpt2")
writer.add_tokenizer_pre("gpt-2")
writer.add_token_list(tokens)
writer.add_token_types([3, 3, 3] + [1] * (VOCAB - 3))
writer.add_token_merges(merges)
writer.add_bos_token_id(1)
writer.add_eos_token_id(2)
writer.add_add_bos_token(False)
writer.add_chat_template("{% for m in messages %}<|im_start|>{{ m['content'] }}<|im_end|>{% endfor %}")
for name, w in hf.items():
    if name == "model.embed_tokens.weight":
        g = "token_embd.weight"
    elif name == "model.norm.weight":
        g = "output_norm.weight"
    else:
        layer, rest = name[len("model.layers."):].split(".", 1)
        g = f"blk.{layer}." + to_gguf[rest.rsplit(".", 1)[0]] + ".weight"
    if name.endswith("q_proj.weight"):
        w = permute(w, HEADS, HEADS)
    elif name.endswith("k_proj.weight"):
        w = permute(w, HEADS, KV_HEADS)
    # q8_0 for one matrix so the real-model path (dequantise + reorder rows) is covered
    if name == "model.layers.1.self_attn.q_proj.weight":
        data = quants.quantize(w, T.Q8_0)
        writer.add_tensor(g, data, raw_dtype=T.Q8_0)  # its expected value is set below
    else:
        writer.add_tensor(g, w)
writer.write_header_to_file()
writer.write_kv_data_to_file()
writer.write_tensors_to_file()
writer.close()

# The expected Hugging Face tensors: for the quantised one, dequantise what was
# written and undo the permutation with transformers' own helper.
from transformers.modeling_gguf_pytorch_utils import reverse_permute_weights  # noqa: E402

reader = gguf.GGUFReader(f"{out}/tiny-llama.gguf")
stored = {t.name: t for t in reader.tensors}
t = stored["blk.1.attn_q.weight"]
hf["model.layers.1.self_attn.q_proj.weight"] = reverse_permute_weights(
    quants.dequantize(t.data, t.tensor_type), HEADS, HEADS)
os.makedirs(f"{out}/tiny-llama/ref", exist_ok=True)
for name, w in hf.items():
    np.asarray(w, dtype=np.float32).tofile(f"{out}/tiny-llama/ref/{name}.f32")
with open(f"{out}/tiny-llama/expected.json", "w") as f:
    json.dump({"hidden": HIDDEN, "heads": HEADS, "kv_heads": KV_HEADS, "ffn": FFN, "layers": LAYERS,
               "vocab": VOCAB, "tensors": sorted(hf)}, f)

# ---- a few tensors of the real SmolLM2 file --------------------------------------
if len(sys.argv) > 2 and not os.path.exists(sys.argv[2]):
    message = f"{sys.argv[2]} is absent (.ci/setup.d/30-smollm2.sh fetches it): no SmolLM2 tensors"
    if os.environ.get("WS_REQUIRE_ALL") == "1":  # CI provides the model: its absence is a failure
        sys.exit(f"WS_REQUIRE_ALL=1: {message}")
    print(message)
if len(sys.argv) > 2 and os.path.exists(sys.argv[2]):
    reader = gguf.GGUFReader(sys.argv[2])
    heads = int(reader.fields["llama.attention.head_count"].contents())
    kv_heads = int(reader.fields["llama.attention.head_count_kv"].contents())
    wanted = {"token_embd.weight": "model.embed_tokens.weight",
              "blk.0.attn_q.weight": "model.layers.0.self_attn.q_proj.weight",
              "blk.0.attn_k.weight": "model.layers.0.self_attn.k_proj.weight",
              "blk.0.ffn_down.weight": "model.layers.0.mlp.down_proj.weight",
              "blk.29.attn_norm.weight": "model.layers.29.input_layernorm.weight",
              "output_norm.weight": "model.norm.weight"}
    import hashlib
    expected = {}
    for t in reader.tensors:
        if t.name not in wanted:
            continue
        w = quants.dequantize(t.data, t.tensor_type)
        if ".attn_q." in t.name:
            w = reverse_permute_weights(w, heads, heads)
        elif ".attn_k." in t.name:
            w = reverse_permute_weights(w, heads, kv_heads)
        expected[wanted[t.name]] = hashlib.sha256(np.ascontiguousarray(w, dtype=np.float32).tobytes()).hexdigest()
    os.makedirs(f"{out}/smollm2", exist_ok=True)
    with open(f"{out}/smollm2/expected.json", "w") as f:
        json.dump(expected, f, indent=1)
