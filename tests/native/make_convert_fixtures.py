#!/usr/bin/env python3
"""A Llama checkpoint with a SentencePiece-style BPE tokenizer (byte fallback,
"▁" for spaces, <s> added in front) for the GGUF output tests: the model
fixtures (tests/model/make_model_fixtures.py) carry only byte-level tokenizers.
Written by transformers and `tokenizers` with fixed seeds; the reference is
transformers' own tokenization and greedy generation.

  <out>/llama_spm/                 config.json, model.safetensors, tokenizer.json,
                                   tokenizer_config.json
  <out>/llama_spm/reference.json   {"text", "text_ids", "text_greedy"}

usage: make_convert_fixtures.py OUT_DIR
"""
import json
import os
import sys

import torch
import transformers
from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, processors, trainers

TEXT = "Hello world, the weights stream once"
NEW_TOKENS = 16
VOCAB = 384
CORPUS = ["Hello world, this is a tiny corpus for a tiny SentencePiece-style BPE.",
          "The weights stream from disk into their buffers, once, in file order.",
          "Generation streams tokens out as soon as they are sampled."] * 20
SPECIALS = ["<unk>", "<s>", "</s>"]


def spm_tokenizer():
    """Llama 2's tokenizer.json layout: specials 0-2, the 256 byte tokens, then BPE pieces."""
    def normalized():
        return normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    trained = Tokenizer(models.BPE())
    trained.normalizer = normalized()
    trained.train_from_iterator(CORPUS, trainers.BpeTrainer(vocab_size=VOCAB - 256 - len(SPECIALS), show_progress=False))
    pieces = sorted(trained.get_vocab().items(), key=lambda kv: kv[1])
    vocab = {t: i for i, t in enumerate(SPECIALS)}
    for b in range(256):
        vocab[f"<0x{b:02X}>"] = len(vocab)
    for piece, _ in pieces:
        vocab.setdefault(piece, len(vocab))
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m)
              for m in json.loads(trained.to_str())["model"]["merges"]]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.normalizer = normalized()
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIALS])
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B",
                                                       special_tokens=[("<s>", 1)])
    return tok, len(vocab)


def main():
    out = os.path.join(sys.argv[1], "llama_spm")
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(21)
    torch.set_num_threads(1)
    tok, n_tokens = spm_tokenizer()
    config = transformers.LlamaConfig(vocab_size=VOCAB, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=96,
                                      rope_theta=10000.0, rms_norm_eps=1e-5, tie_word_embeddings=False,
                                      initializer_range=0.2, bos_token_id=1, eos_token_id=2)
    model = transformers.LlamaForCausalLM(config).eval()
    model.save_pretrained(out, safe_serialization=True)
    tok.save(os.path.join(out, "tokenizer.json"))
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump({"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "add_bos_token": True,
                   "chat_template": "{% for m in messages %}{{ m['content'] }}{% endfor %}",
                   "tokenizer_class": "LlamaTokenizerFast"}, f)
    ids = tok.encode(TEXT).ids
    assert n_tokens <= VOCAB and ids[0] == 1
    with torch.no_grad():
        prompt = torch.tensor([ids])
        model.generation_config.eos_token_id = None
        model.generation_config.pad_token_id = 0
        greedy = model.generate(prompt, max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS, do_sample=False,
                                attention_mask=torch.ones_like(prompt))[0, len(ids):].tolist()
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump({"text": TEXT, "text_ids": ids, "text_greedy": greedy}, f)
    print("convert fixtures written to", sys.argv[1])


if __name__ == "__main__":
    main()
