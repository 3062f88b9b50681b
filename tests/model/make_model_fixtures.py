#!/usr/bin/env python3
"""Writes tiny random checkpoints with transformers' own save_pretrained, plus
the reference outputs our C++ model must reproduce:

  <out>/<name>/            the checkpoint (config.json + safetensors, maybe sharded)
  <out>/<name>/reference.json
      {"prompt": [...], "logits": [...last-position f32 logits...],
       "greedy": [...32 ids from generate(do_sample=False)...], "dtype": "F32"|"F16"|"BF16"}

Fixed seeds, so every run writes the same weights. The reference reloads each
checkpoint with from_pretrained(torch_dtype=float32): narrow (f16/bf16) saves
are evaluated on their stored values widened to f32, which is what our kernels
do (torch 1.13 has no f16 matmul on CPU).

usage: make_model_fixtures.py OUT_DIR
"""
import json
import os
import sys

import torch
import transformers
from safetensors.torch import save_file

PROMPT_LEN = 7
NEW_TOKENS = 32


def reference(model, vocab, seed):
    g = torch.Generator().manual_seed(seed)
    prompt = torch.randint(0, vocab, (1, PROMPT_LEN), generator=g)
    model = model.float().eval()
    with torch.no_grad():
        logits = model(prompt).logits[0, -1].tolist()
        model.generation_config.eos_token_id = None
        model.generation_config.pad_token_id = 0
        out = model.generate(prompt, max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS, do_sample=False,
                             attention_mask=torch.ones_like(prompt))
    return {"prompt": prompt[0].tolist(), "logits": logits, "greedy": out[0, PROMPT_LEN:].tolist()}


def write(out_dir, name, model, vocab, seed, dtype=torch.float32, quantized=True, load_kwargs=None, **save_kwargs):
    path = os.path.join(out_dir, name)
    os.makedirs(path, exist_ok=True)
    model.to(dtype).save_pretrained(path, safe_serialization=True, **save_kwargs)
    # The reference is transformers reading the checkpoint back in f32: the
    # stored values widened exactly, buffers such as rotary inv_freq computed
    # afresh in f32 (a model cast to bf16 would otherwise carry a rounded one).
    reloaded = transformers.AutoModelForCausalLM.from_pretrained(path, torch_dtype=torch.float32,
                                                                 **(load_kwargs or {}))
    ref = reference(reloaded, vocab, seed)
    ref["dtype"] = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}[dtype]
    with open(os.path.join(path, "reference.json"), "w") as f:
        json.dump(ref, f)
    if dtype == torch.float32 and quantized:
        for quantized in ("Q8_0", "Q4_0"):
            write_quantized_reference(path, quantized, vocab, seed)
    return reloaded


def write_quantized_reference(path, dtype_name, vocab, seed):
    """reference_<dtype>.json: transformers on the weights our --dtype q8_0 /
    q4_0 holds, quantized and dequantized by the gguf package (every 2-D tensor;
    the output head, or the embedding tied to it, at Q8_0 as our mix does when
    its rows are not whole 256-blocks). What is left between this and us is the
    activations' 8-bit quantization in our block kernels."""
    from gguf import GGMLQuantizationType, quants
    model = transformers.AutoModelForCausalLM.from_pretrained(path, torch_dtype=torch.float32)
    head = model.get_output_embeddings().weight
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() != 2:
                continue
            kind = GGMLQuantizationType.Q8_0 if p is head else GGMLQuantizationType[dtype_name]
            blocks = quants.quantize(p.detach().numpy(), kind)
            p.copy_(torch.from_numpy(quants.dequantize(blocks, kind).reshape(p.shape)))
    ref = reference(model, vocab, seed)
    ref["dtype"] = dtype_name
    with open(os.path.join(path, f"reference_{dtype_name.lower()}.json"), "w") as f:
        json.dump(ref, f)


TEXT_PROMPT = "Hello world, the stream of weights"
CORPUS = ["Hello world, this is a tiny corpus for a tiny byte-level BPE.",
          "The weights stream from disk into their buffers, once, in file order.",
          "Generation streams tokens out as soon as they are sampled."] * 20


def add_tokenizer(path, model, seed):
    """A byte-level BPE (the GPT-2 kind) trained on a few sentences, vocab 300,
    saved as tokenizer.json beside the checkpoint; plus the reference for a
    text prompt: its ids, the greedy continuation and the decoded text."""
    from tokenizers import ByteLevelBPETokenizer
    tokenizer = ByteLevelBPETokenizer()
    tokenizer.train_from_iterator(CORPUS, vocab_size=300, min_frequency=1, special_tokens=["<|endoftext|>"])
    tokenizer.save(os.path.join(path, "tokenizer.json"))
    ref_path = os.path.join(path, "reference.json")
    ref = json.load(open(ref_path))
    ids = tokenizer.encode(TEXT_PROMPT).ids
    prompt = torch.tensor([ids])
    with torch.no_grad():
        out = model.generate(prompt, max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS, do_sample=False,
                             attention_mask=torch.ones_like(prompt))
    greedy = out[0, len(ids):].tolist()
    ref.update({"text_prompt": TEXT_PROMPT, "text_prompt_ids": ids, "text_greedy": greedy,
                "text_output": tokenizer.decode(greedy), "greedy_text": tokenizer.decode(ref["greedy"])})
    with open(ref_path, "w") as f:
        json.dump(ref, f)


def gpt2_config():
    return transformers.GPT2Config(vocab_size=300, n_positions=96, n_embd=64, n_layer=2, n_head=4,
                                   initializer_range=0.2, resid_pdrop=0, embd_pdrop=0, attn_pdrop=0)


def llama_config(**overrides):
    args = dict(vocab_size=300, hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
                num_key_value_heads=2, max_position_embeddings=96, rope_theta=50000.0, rms_norm_eps=1e-5,
                tie_word_embeddings=False, initializer_range=0.2)
    args.update(overrides)
    return transformers.LlamaConfig(**args)


def gpt2_without_prefix(out_dir, seed):
    """Like the original gpt2 repo: GPT2Model names (no "transformer.") and the
    attn.bias / attn.masked_bias buffers old PyTorch checkpoints carried."""
    torch.manual_seed(seed)
    config = gpt2_config()
    model = transformers.GPT2LMHeadModel(config).eval()
    path = os.path.join(out_dir, "gpt2_no_prefix")
    os.makedirs(path, exist_ok=True)
    tensors = {}
    for key, value in model.state_dict().items():
        if key.startswith("lm_head."):
            continue
        tensors[key[len("transformer."):]] = value.contiguous()
    n = config.n_positions
    for i in range(config.n_layer):
        tensors[f"h.{i}.attn.bias"] = torch.tril(torch.ones(n, n, dtype=torch.uint8)).view(1, 1, n, n).contiguous()
        tensors[f"h.{i}.attn.masked_bias"] = torch.tensor(-1e4)
    save_file(tensors, os.path.join(path, "model.safetensors"), metadata={"format": "pt"})
    config.save_pretrained(path)
    ref = reference(model, config.vocab_size, seed)
    ref["dtype"] = "F32"
    with open(os.path.join(path, "reference.json"), "w") as f:
        json.dump(ref, f)


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(1)

    torch.manual_seed(1)
    gpt2 = write(out_dir, "gpt2", transformers.GPT2LMHeadModel(gpt2_config()), 300, seed=11)
    add_tokenizer(os.path.join(out_dir, "gpt2"), gpt2, seed=11)
    gpt2_without_prefix(out_dir, seed=2)
    torch.manual_seed(3)
    write(out_dir, "gpt2_f16", transformers.GPT2LMHeadModel(gpt2_config()), 300, seed=13, dtype=torch.float16)

    torch.manual_seed(4)
    write(out_dir, "llama_gqa", transformers.LlamaForCausalLM(llama_config()), 300, seed=14)
    torch.manual_seed(5)
    write(out_dir, "llama_sharded", transformers.LlamaForCausalLM(llama_config()), 300, seed=15,
          max_shard_size="40KB")
    torch.manual_seed(6)
    write(out_dir, "llama_bf16", transformers.LlamaForCausalLM(llama_config(tie_word_embeddings=True)), 300,
          seed=16, dtype=torch.bfloat16)
    torch.manual_seed(7)
    write(out_dir, "llama_f16", transformers.LlamaForCausalLM(llama_config(num_key_value_heads=4)),
          300, seed=17, dtype=torch.float16)
    torch.manual_seed(9)
    write(out_dir, "llama3_rope", transformers.LlamaForCausalLM(llama_config(
        rope_theta=500000.0, rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                           "high_freq_factor": 4.0, "original_max_position_embeddings": 16})),
          300, seed=19)
    torch.manual_seed(10)
    mistral = transformers.MistralConfig(vocab_size=300, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=96,
                                         sliding_window=64, initializer_range=0.2)
    write(out_dir, "mistral", transformers.MistralForCausalLM(mistral), 300, seed=20)
    torch.manual_seed(8)
    qwen = transformers.Qwen2Config(vocab_size=300, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                                    num_attention_heads=4, num_key_value_heads=1, max_position_embeddings=96,
                                    tie_word_embeddings=True, initializer_range=0.2, rope_theta=10000.0)
    write(out_dir, "qwen2", transformers.Qwen2ForCausalLM(qwen), 300, seed=18)
    torch.manual_seed(21)
    write(out_dir, "llama_linear_rope", transformers.LlamaForCausalLM(llama_config(
        rope_scaling={"type": "linear", "factor": 4.0})), 300, seed=31)
    print("model fixtures written to", out_dir)


if __name__ == "__main__":
    main()
