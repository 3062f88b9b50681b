"""Token ids of a corpus from transformers' own GGUF tokenizer loading
(AutoTokenizer.from_pretrained(dir, gguf_file=...)), the independent reference
for the tokenizer.json weightstream synthesises from a GGUF's metadata
(tests/native/gguf_source_test.cpp compares them).

usage: make_gguf_tokenizer_reference.py MODEL.gguf OUT.json

transformers 4.44.2's GGUF converter departs from what the GGUF declares in two
ways, each corrected here and asserted to matter only where it should:
  - tokenizer.ggml.pre "smollm" (llama.cpp: digits split one by one, then the
    GPT-2 regex) is ignored by the converter: a Digits(individual_digits) step
    is put before its ByteLevel pre-tokenizer. Strings without a Unicode
    number character give the same ids either way.
  - for a byte-level BPE (tokenizer.ggml.model "gpt2") the converter makes
    tokenizer.ggml.unknown_token_id the BPE's unk token, so a byte whose
    character is missing from the vocabulary becomes <|endoftext|>; GPT-2-style
    BPE (and llama.cpp) drop it. The unk token is removed. Strings whose bytes
    are all in the vocabulary give the same ids either way.
Without the model: absent is an error under WS_REQUIRE_ALL=1, else said aloud.
"""
import json
import os
import sys
import unicodedata

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tokenizer"))
from corpus import corpus_strings  # noqa: E402  the tokenizer parity corpus

CHAT = [
    "<|im_start|>system\nYou are a helpful AI assistant named SmolLM<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n",
    "<|im_start|>assistant\nThe capital of France is Paris.<|im_end|>",
    "text<|endoftext|>more text",
    "The capital of France is",
    "What is the capital of France?",
]


def gguf_string(reader, key):
    field = reader.fields.get(key)
    return bytes(field.parts[field.data[0]]).decode("utf-8") if field else None


def bytes_to_unicode():
    """GPT-2's byte -> printable character table (as in tokenizers' ByteLevel)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def main(path, out):
    if not os.path.exists(path):
        message = f"{path} is absent (.ci/setup.d/30-smollm2.sh fetches it): no GGUF tokenizer reference"
        if os.environ.get("WS_REQUIRE_ALL") == "1":
            sys.exit(f"WS_REQUIRE_ALL=1: {message}")
        print(message)
        return
    import gguf
    from tokenizers import pre_tokenizers
    from transformers import AutoTokenizer

    reader = gguf.GGUFReader(path)
    model, pre = gguf_string(reader, "tokenizer.ggml.model"), gguf_string(reader, "tokenizer.ggml.pre")
    if model != "gpt2" or pre != "smollm":
        sys.exit(f"{path}: tokenizer.ggml.model {model!r}, pre {pre!r}: this script knows gpt2 / smollm only")
    reference = AutoTokenizer.from_pretrained(os.path.dirname(os.path.abspath(path)), gguf_file=os.path.basename(path))
    unadjusted = reference.backend_tokenizer
    adjusted = type(unadjusted).from_str(unadjusted.to_str())
    adjusted.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                      adjusted.pre_tokenizer])
    adjusted.model.unk_token = None
    vocab = adjusted.get_vocab(with_added_tokens=True)
    byte_char = bytes_to_unicode()

    cases, unadjusted_equal = [], 0
    for text in corpus_strings() + CHAT:
        ids = adjusted.encode(text, add_special_tokens=False).ids
        plain = unadjusted.encode(text, add_special_tokens=False).ids
        if ids == plain:
            unadjusted_equal += 1
        else:
            has_number = any(unicodedata.category(c).startswith("N") for c in text)
            missing_byte = any(byte_char[b] not in vocab for b in text.encode("utf-8"))
            assert has_number or missing_byte, f"the adjustments changed {text!r}, which has neither a number nor a missing byte"
        cases.append({"text": text, "ids": ids})
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump({"gguf": os.path.basename(path), "transformers": __import__("transformers").__version__,
                   "unadjusted_equal": unadjusted_equal, "cases": cases}, f, ensure_ascii=False, indent=0)
    print(f"{len(cases)} strings: {unadjusted_equal} with the same ids from transformers' unadjusted GGUF tokenizer; "
          f"written to {out}")


if __name__ == "__main__":
    main(*sys.argv[1:])
