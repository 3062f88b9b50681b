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

# tokenizer.json: a tiny byte-level BPE and a tiny SentencePiece-style BPE, each
# followed by NUL and a text to encode.
os.makedirs(f"{root}/tokenizer", exist_ok=True)
byte_level = {"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "\u0120": 3, "\u0120a": 4},
                        "merges": ["a b", "\u0120 a"]},
              "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "use_regex": True},
              "decoder": {"type": "ByteLevel"},
              "added_tokens": [{"id": 5, "content": "<|end|>", "special": True, "single_word": False,
                                "lstrip": False, "rstrip": False, "normalized": False}]}
with open(f"{root}/tokenizer/seed1", "wb") as f:
    f.write(json.dumps(byte_level).encode() + b"\0ab a<|end|>b")
sentencepiece = {"normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "\u2581"},
                                                                   {"type": "Replace", "pattern": {"String": " "},
                                                                    "content": "\u2581"}]},
                 "model": {"type": "BPE", "byte_fallback": True, "fuse_unk": True, "unk_token": "<unk>",
                           "vocab": {"<unk>": 0, "<0x41>": 1, "\u2581": 2, "a": 3, "\u2581a": 4},
                           "merges": ["\u2581 a"]},
                 "decoder": {"type": "Sequence", "decoders": [
                     {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
                     {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}}
with open(f"{root}/tokenizer/seed2", "wb") as f:
    f.write(json.dumps(sentencepiece).encode() + b"\0a aA\xe2\x98\x83")
# The same with a Strip of up to 2 leading spaces: "a  a" streamed once lost a
# space (tests/tokenizer/stream_decoder_test.cpp); the fuzzer checks it again.
sentencepiece["decoder"]["decoders"][3]["start"] = 2
with open(f"{root}/tokenizer/seed3", "wb") as f:
    f.write(json.dumps(sentencepiece).encode() + b"\0a  a")
# The regex engine and the Unicode normalizers (Split with every behavior, a
# string pattern, NFKC, Lowercase, Replace by regex), a Unigram model with byte
# fallback and a WordPiece model behind BERT's normalizer and pre-tokenizer.
regexes = dict(byte_level)
regexes["normalizer"] = {"type": "Sequence", "normalizers": [
    {"type": "NFKC"}, {"type": "Lowercase"}, {"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": " "}]}
regexes["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
    {"type": "Split", "pattern": {"Regex": "\\p{N}{1,3}|(?i:'s)|(?<=a)(?=b)"}, "behavior": "Isolated", "invert": False},
    {"type": "Split", "pattern": {"String": " "}, "behavior": "MergedWithPrevious", "invert": False},
    {"type": "Split", "pattern": {"Regex": "[^\\s\\p{L}]+"}, "behavior": "Contiguous", "invert": True},
    {"type": "Punctuation", "behavior": "MergedWithNext"}, {"type": "ByteLevel", "use_regex": False}]}
with open(f"{root}/tokenizer/seed4", "wb") as f:
    f.write(json.dumps(regexes).encode() + "\0Ab 123's  \uff21\u0301\u00c5!?".encode())
unigram = {"normalizer": {"type": "NFD"},
           "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": True},
           "model": {"type": "Unigram", "unk_id": 0, "byte_fallback": True,
                     "vocab": [["<unk>", 0.0], ["\u2581a", -1.0], ["b", -2.0], ["<0x41>", -3.0], ["a", -1.5]]},
           "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first"}}
with open(f"{root}/tokenizer/seed5", "wb") as f:
    f.write(json.dumps(unigram).encode() + b"\0a ab A\xe2\x98\x83")
wordpiece = {"normalizer": {"type": "BertNormalizer", "lowercase": True},
             "pre_tokenizer": {"type": "BertPreTokenizer"},
             "model": {"type": "WordPiece", "unk_token": "[UNK]", "max_input_chars_per_word": 10,
                       "vocab": {"[UNK]": 0, "a": 1, "##b": 2, "ab": 3}},
             "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True}}
with open(f"{root}/tokenizer/seed6", "wb") as f:
    f.write(json.dumps(wordpiece).encode() + b"\0Ab, abb \xe4\xbd\xa0 a")
# Precompiled (a hand-built darts-clone trie mapping "a" to "b"), UnicodeScripts, WordLevel.
import base64
import struct
units = [0] * 256
units[0] = 1 << 10
units[1 ^ ord("a")] = ord("a") | (1 << 8) | ((ord("a") ^ 3) << 10)
charsmap = struct.pack("<I", len(units) * 4) + struct.pack(f"<{len(units)}I", *units) + b"b\0"
wordlevel = {"normalizer": {"type": "Sequence", "normalizers": [
                 {"type": "Precompiled", "precompiled_charsmap": base64.b64encode(charsmap).decode()}]},
             "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "UnicodeScripts"}, {"type": "Whitespace"}]},
             "model": {"type": "WordLevel", "unk_token": "<unk>", "vocab": {"<unk>": 0, "b": 1, "bb": 2}}}
with open(f"{root}/tokenizer/seed7", "wb") as f:
    f.write(json.dumps(wordlevel).encode() + "\0ab 東京タワー abc x² e\u0301".encode())

os.makedirs(f"{root}/config", exist_ok=True)
with open(f"{root}/config/seed1", "w") as f:
    json.dump({"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
               "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 100, "rms_norm_eps": 1e-5,
               "max_position_embeddings": 128, "rope_theta": 10000.0, "tie_word_embeddings": False}, f)
with open(f"{root}/config/seed2", "w") as f:
    json.dump({"model_type": "gpt2", "n_embd": 64, "n_layer": 2, "n_head": 4, "vocab_size": 100,
               "n_positions": 128, "layer_norm_epsilon": 1e-5}, f)

# Any JSON we read, for fuzz_json_strict: the seeds above (the tokenizer ones
# without their NUL-separated text) plus generation_config.json and
# tokenizer_config.json shapes.
os.makedirs(f"{root}/json", exist_ok=True)
json_seeds = [header.decode(), json.dumps(byte_level), json.dumps(sentencepiece),
              json.dumps({"bos_token_id": 1, "eos_token_id": [2, 3], "do_sample": True, "temperature": 0.7}),
              json.dumps({"chat_template": [{"name": "default", "template": "{{ x }}"}], "eos_token": "</s>",
                          "added_tokens_decoder": {"0": {"content": "<unk>", "special": True}}}),
              "[" * 40 + "]" * 40, '{"a":' * 20 + "0" + "}" * 20]
for i, text in enumerate(json_seeds):
    with open(f"{root}/json/seed{i}", "w") as f:
        f.write(text)

# Jinja: the committed chat templates, the real ones of build/templates when
# .ci/setup.d/80-chat-templates.sh fetched them, and a few statements.
os.makedirs(f"{root}/template", exist_ok=True)
here = os.path.dirname(os.path.abspath(__file__))
seeds = [
    "{% for m in messages %}{{ m.role }}: {{ m.content | trim }}{% if not loop.last %}\n{% endif %}{% endfor %}",
    "{% set ns = namespace(x=0) %}{% for i in range(3) if i is odd %}{% set ns.x = ns.x + i %}{% endfor %}{{ ns.x }}",
    "{% macro m(a, b='x') %}{{ caller() ~ a ~ b }}{% endmacro %}{% call m(1) %}c{% endcall %}",
    "{{ messages[-1]['content'].split('</think>')[-1].strip() | tojson(indent=2) }}{% filter upper %}a{% endfilter %}",
    "{% for n in tree recursive %}{{ n.name }}{% with d = loop.depth %}{{ loop(n.kids) if n.kids }}{% endwith %}{% endfor %}",
    "{{ f(*[1], **{'a': 2}) }}{{ '%s'|format(x|safe + '<') }}{{ x|tojson(ensure_ascii=true) }}",
]
for name in ("llama2-chat.jinja", "qwen2-instruct.jinja"):
    with open(os.path.join(here, "..", "data", "templates", name), encoding="utf-8") as f:
        seeds.append(f.read())
templates_dir = os.path.join(here, "..", "..", "build", "templates")
if os.path.isdir(templates_dir):
    for family in sorted(os.listdir(templates_dir)):
        try:
            with open(os.path.join(templates_dir, family, "tokenizer_config.json"), encoding="utf-8") as f:
                template = json.load(f).get("chat_template")
        except (OSError, ValueError):
            continue
        if isinstance(template, str):
            seeds.append(template)
for i, seed in enumerate(seeds):
    with open(f"{root}/template/seed{i}", "w", encoding="utf-8") as f:
        f.write(seed)
