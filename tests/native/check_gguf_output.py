#!/usr/bin/env python3
"""Checks a GGUF file written by `weightstream convert` against its source,
with independent readers only: gguf-py (llama.cpp's own Python package) reads
the output and names the tensors (gguf.TensorNameMap), safetensors/torch and
`tokenizers` read a Hugging Face source, gguf-py a GGUF source. The llama.cpp
conventions (q/k row permutation, GPT-2 Conv1D transposition, which tensors
stay F32) are written here from convert_hf_to_gguf.py, not from our C++.

usage: check_gguf_output.py SOURCE OUT.gguf DTYPE
  SOURCE  a Hugging Face directory (config.json + safetensors [+ tokenizer.json])
          or a .gguf file
  DTYPE   the --dtype given to convert: keep, f32, f16, bf16, q8_0, ...
Exits 0 when every check passes; prints each failure and exits 1 otherwise.
"""
import json
import os
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf import quants

source, out_path, dtype_arg = sys.argv[1:4]
failures = []


def fail(message):
    failures.append(message)
    print("FAIL:", message)


reader = gguf.GGUFReader(out_path)
fields = reader.fields


def field(key):
    return fields[key].contents() if key in fields else None


def field_type(key):
    return fields[key].types if key in fields else None


def expect_field(key, want, types, close=False):
    got = field(key)
    if got is None:
        return fail(f"{key} missing (want {want!r})")
    if field_type(key) != types:
        fail(f"{key} has types {field_type(key)}, want {types}")
    if close:
        if not np.isclose(got, want, rtol=1e-6):
            fail(f"{key} = {got!r}, want {want!r}")
    elif got != want:
        fail(f"{key} = {str(got)[:200]!r}, want {str(want)[:200]!r}")


U32 = [gguf.GGUFValueType.UINT32]
F32 = [gguf.GGUFValueType.FLOAT32]
STR = [gguf.GGUFValueType.STRING]
BOOL = [gguf.GGUFValueType.BOOL]
STR_ARRAY = [gguf.GGUFValueType.ARRAY, gguf.GGUFValueType.STRING]
I32_ARRAY = [gguf.GGUFValueType.ARRAY, gguf.GGUFValueType.INT32]
F32_ARRAY = [gguf.GGUFValueType.ARRAY, gguf.GGUFValueType.FLOAT32]

if field("GGUF.version") != 3:
    fail(f"GGUF version {field('GGUF.version')}, want 3")
if field("general.alignment") not in (None, 32):
    fail("general.alignment is not 32")
for t in reader.tensors:
    if int(t.data_offset) % 32 != 0:
        fail(f"{t.name} data at {t.data_offset} is not 32-byte aligned")

BLOCK = {"q8_0": T.Q8_0, "q4_0": T.Q4_0, "q4_1": T.Q4_1, "q5_0": T.Q5_0, "q5_1": T.Q5_1,
         "q4_k": T.Q4_K, "q5_k": T.Q5_K, "q6_k": T.Q6_K}
FLOAT = {"f32": T.F32, "f16": T.F16, "bf16": T.BF16}
# Relative RMS error a correct quantizer stays under on Gaussian weights.
BLOCK_TOLERANCE = {T.Q8_0: 0.01, T.Q6_K: 0.03, T.Q5_0: 0.06, T.Q5_1: 0.06, T.Q5_K: 0.06,
                   T.Q4_0: 0.12, T.Q4_1: 0.12, T.Q4_K: 0.12}


def expected_type(stored, shape, name):
    """convert_hf_to_gguf.py: 1-D tensors stay F32. llama-quant.cpp (llama_tensor_get_type): the output
    head (output.weight, else a tied token_embd.weight) at Q6_K unless Q8_0 is asked; K-quant rows that
    are not whole 256-blocks fall back to Q5_0 / Q5_1 / Q8_0; rows that are not whole 32-blocks, F16."""
    if len(shape) <= 1:
        return T.F32
    if dtype_arg == "keep":
        return stored
    if dtype_arg in FLOAT:
        return FLOAT[dtype_arg]
    qtype = BLOCK[dtype_arg]
    if qtype != T.Q8_0 and (name == "output.weight" or (name == "token_embd.weight" and not has_output)):
        qtype = T.Q6_K
    if shape[-1] % gguf.GGML_QUANT_SIZES[qtype][0] != 0:
        qtype = {T.Q4_K: T.Q5_0, T.Q5_K: T.Q5_1, T.Q6_K: T.Q8_0}.get(qtype, qtype)
    return qtype if shape[-1] % gguf.GGML_QUANT_SIZES[qtype][0] == 0 else T.F16


def as_f32(t):
    """A gguf-py tensor's values as float32, row-major shape."""
    shape = [int(d) for d in reversed(t.shape)]
    return np.asarray(quants.dequantize(t.data, t.tensor_type), dtype=np.float32).reshape(shape)


def check_tensor(name, out, want_f32, want_type, source_bytes=None):
    """`out`: the gguf-py tensor; `want_f32`: the source values in llama.cpp layout."""
    shape = [int(d) for d in reversed(out.shape)]
    if shape != list(want_f32.shape):
        return fail(f"{name}: shape {shape}, want {list(want_f32.shape)}")
    if out.tensor_type != want_type:
        return fail(f"{name}: type {out.tensor_type.name}, want {want_type.name}")
    got = np.asarray(out.data).tobytes()
    if source_bytes is not None:  # kept as stored
        if got != source_bytes:
            fail(f"{name}: bytes differ from the source's")
        return
    if want_type in (T.F32, T.F16, T.BF16):
        want = np.asarray(quants.quantize(want_f32, want_type)).tobytes() if want_type != T.F32 else \
            want_f32.astype(np.float32).tobytes()
        if got != want:
            fail(f"{name}: {want_type.name} bytes differ from gguf-py's rounding of the source")
        return
    deq = as_f32(out)
    rms = float(np.sqrt(np.mean((deq - want_f32) ** 2)) / (np.sqrt(np.mean(want_f32 ** 2)) + 1e-30))
    if rms > BLOCK_TOLERANCE[want_type]:
        fail(f"{name}: {want_type.name} relative RMS error {rms:.4f} above {BLOCK_TOLERANCE[want_type]}")
    try:
        if np.asarray(quants.quantize(want_f32, want_type)).tobytes() != got:
            print(f"note: {name}: {want_type.name} blocks differ from gguf-py's quantizer")
    except (NotImplementedError, quants.QuantError):
        pass


def permute(w, n_head, n_head_kv):
    # convert_hf_to_gguf.py LlamaModel.permute
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


out_tensors = {t.name: t for t in reader.tensors}
has_output = "output.weight" in out_tensors
seen = set()

if source.endswith(".gguf"):
    # ---- a GGUF source: same metadata, same tensors (bytes kept, or re-encoded values)
    src = gguf.GGUFReader(source)
    for key, f in src.fields.items():
        if key.startswith("GGUF.") or key in ("general.name", "general.file_type", "general.quantization_version",
                                               "general.alignment") or not key.startswith(
                                                   ("tokenizer.", src.fields["general.architecture"].contents() + ".")):
            continue
        if key in ("tokenizer.ggml.scores",) and field("tokenizer.ggml.model") == "gpt2":
            continue
        if key not in fields:
            # llama.cpp writes some keys we do not (e.g. general.* provenance); tokenizer and
            # architecture keys our reader uses must be there.
            fail(f"{key} from the source is missing")
            continue
        expect_field(key, f.contents(), f.types, close=f.types == F32)
    for t in src.tensors:
        seen.add(t.name)
        if t.name not in out_tensors:
            fail(f"{t.name} missing")
            continue
        shape = [int(d) for d in reversed(t.shape)]
        want_type = expected_type(t.tensor_type, shape, t.name)
        kept = want_type == t.tensor_type
        check_tensor(t.name, out_tensors[t.name], as_f32(t), want_type,
                     np.asarray(t.data).tobytes() if kept else None)
else:
    # ---- a Hugging Face directory
    import torch
    from safetensors import safe_open

    config = json.load(open(os.path.join(source, "config.json")))
    model_type = config["model_type"]
    arch = {"gpt2": "gpt2", "llama": "llama", "mistral": "llama", "qwen2": "qwen2", "qwen3": "qwen3"}[model_type]
    expect_field("general.architecture", arch, STR)
    if arch == "gpt2":
        hidden = config["n_embd"]
        expect_field("gpt2.context_length", config["n_positions"], U32)
        expect_field("gpt2.embedding_length", hidden, U32)
        expect_field("gpt2.feed_forward_length", config.get("n_inner") or 4 * hidden, U32)
        expect_field("gpt2.block_count", config["n_layer"], U32)
        expect_field("gpt2.attention.head_count", config["n_head"], U32)
        expect_field("gpt2.attention.layer_norm_epsilon", config.get("layer_norm_epsilon", 1e-5), F32, close=True)
        n_layers = config["n_layer"]
    else:
        hidden, heads = config["hidden_size"], config["num_attention_heads"]
        kv_heads = config.get("num_key_value_heads") or heads
        expect_field(f"{arch}.context_length", config["max_position_embeddings"], U32)
        expect_field(f"{arch}.embedding_length", hidden, U32)
        expect_field(f"{arch}.feed_forward_length", config["intermediate_size"], U32)
        expect_field(f"{arch}.block_count", config["num_hidden_layers"], U32)
        expect_field(f"{arch}.attention.head_count", heads, U32)
        expect_field(f"{arch}.attention.head_count_kv", kv_heads, U32)
        expect_field(f"{arch}.attention.layer_norm_rms_epsilon", config["rms_norm_eps"], F32, close=True)
        # transformers 5 writes rope_parameters instead of rope_theta
        theta = (config.get("rope_parameters") or {}).get("rope_theta", config.get("rope_theta", 10000.0))
        expect_field(f"{arch}.rope.freq_base", theta, F32, close=True)
        expect_field(f"{arch}.rope.dimension_count", config.get("head_dim") or hidden // heads, U32)
        n_layers = config["num_hidden_layers"]
    expect_field(f"{arch}.vocab_size", config["vocab_size"], U32)

    # Tensors: every source tensor llama.cpp takes, named by gguf-py's own map.
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH[arch.upper()], n_layers)
    tied = config.get("tie_word_embeddings", arch == "gpt2") or arch == "gpt2"
    files = sorted(f for f in os.listdir(source) if f.endswith(".safetensors"))
    for file in files:
        with safe_open(os.path.join(source, file), framework="pt") as st:
            for name in st.keys():
                if name.endswith((".attn.bias", ".attn.masked_bias", "rotary_emb.inv_freq")) or \
                        (name == "lm_head.weight" and tied):
                    continue
                gname = names.get_name(name, try_suffixes=(".weight", ".bias"))
                if gname is None:
                    fail(f"gguf-py has no name for {name}")
                    continue
                seen.add(gname)
                if gname not in out_tensors:
                    fail(f"{gname} (from {name}) missing")
                    continue
                w = st.get_tensor(name)
                stored = {torch.float32: T.F32, torch.float16: T.F16, torch.bfloat16: T.BF16}[w.dtype]
                w = w.float().numpy()
                if arch == "gpt2" and name.endswith((".c_attn.weight", ".c_proj.weight", ".c_fc.weight")):
                    w = w.T.copy()  # convert_hf_to_gguf.py GPT2Model: Conv1D weights transposed
                if arch == "llama" and name.endswith(("q_proj.weight", "q_proj.bias")):
                    w = permute(w, heads, heads)
                if arch == "llama" and name.endswith(("k_proj.weight", "k_proj.bias")):
                    w = permute(w, heads, kv_heads)
                check_tensor(gname, out_tensors[gname], w, expected_type(stored, list(w.shape), gname))

    # Tokenizer: the arrays are the source tokenizer's vocabulary, in id order.
    tokenizer_path = os.path.join(source, "tokenizer.json")
    if os.path.exists(tokenizer_path):
        from tokenizers import Tokenizer
        tok = Tokenizer.from_file(tokenizer_path)
        tj = json.load(open(tokenizer_path))
        tc_path = os.path.join(source, "tokenizer_config.json")
        tc = json.load(open(tc_path)) if os.path.exists(tc_path) else {}
        vocab_size = config["vocab_size"]
        tokens = [tok.id_to_token(i) or f"[PAD{i}]" for i in range(vocab_size)]
        expect_field("tokenizer.ggml.tokens", tokens, STR_ARRAY)
        spm = tj["model"].get("byte_fallback", False)
        expect_field("tokenizer.ggml.model", "llama" if spm else "gpt2", STR)
        added = {a["id"]: a for a in tj.get("added_tokens", [])}
        types = []
        for i in range(vocab_size):
            if i in added:
                types.append(3 if added[i]["special"] else 4)
            elif tok.id_to_token(i) is None:
                types.append(5)
            elif spm and tokens[i].startswith("<0x") and len(tokens[i]) == 6:
                types.append(6)
            elif spm and tokens[i] == tj["model"].get("unk_token"):
                types.append(2)
            else:
                types.append(1)
        expect_field("tokenizer.ggml.token_type", types, I32_ARRAY)
        merges = [m if isinstance(m, str) else " ".join(m) for m in tj["model"].get("merges", [])]
        if spm:
            scores = field("tokenizer.ggml.scores")
            if scores is None or len(scores) != vocab_size:
                fail("tokenizer.ggml.scores missing or of the wrong length")
            else:  # each merge's result outranks the results of later merges
                made = {}
                for rank, m in enumerate(merges):
                    made.setdefault(m.replace(" ", ""), rank)
                ranked = sorted(made, key=made.get)
                ids = [tok.token_to_id(t) for t in ranked if tok.token_to_id(t) is not None]
                if any(scores[a] < scores[b] for a, b in zip(ids, ids[1:])):
                    fail("tokenizer.ggml.scores do not follow the merge order")
        else:
            expect_field("tokenizer.ggml.merges", merges, STR_ARRAY)

        def token_id(key, config_key):
            value = tc.get(key)
            if isinstance(value, dict):
                value = value.get("content")
            if isinstance(value, str) and tok.token_to_id(value) is not None:
                return tok.token_to_id(value)
            value = config.get(config_key) if config_key else None
            if isinstance(value, list):
                value = value[0] if value else None
            return value if isinstance(value, int) and 0 <= value < vocab_size else None

        for key, gkey, ckey in [("bos_token", "bos_token_id", "bos_token_id"),
                                ("eos_token", "eos_token_id", "eos_token_id"),
                                ("pad_token", "padding_token_id", None)]:
            want = token_id(key, ckey)
            if want is not None:
                expect_field(f"tokenizer.ggml.{gkey}", want, U32)
        if isinstance(tc.get("add_bos_token"), bool):
            expect_field("tokenizer.ggml.add_bos_token", tc["add_bos_token"], BOOL)
        if isinstance(tc.get("chat_template"), str):
            expect_field("tokenizer.chat_template", tc["chat_template"], STR)

for name in out_tensors:
    if name not in seen:
        fail(f"{name} is in the output but not expected")

print(f"{out_path}: {len(reader.tensors)} tensors, {len(fields)} fields, {len(failures)} failure(s)")
sys.exit(1 if failures else 0)
