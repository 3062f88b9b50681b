#!/usr/bin/env python3
"""The architectures whose reference needs a current transformers (5.x, in
build/venv-current: .ci/setup.d/70-python-ref-current.sh): Qwen3 and Gemma 3
are unknown to Debian's transformers 4.44, and for the others with sliding
windows (Mistral beyond its window, Qwen2's use_sliding_window, Gemma 2, Phi-3)
4.44's eager attention does not apply the window at all for Qwen2 and Phi-3,
so one current reference defines them all. Attention is "eager" (5.x would
pick sdpa, which has no soft-capping).

Writes, like make_model_fixtures.py (whose write() it reuses), each tiny random
checkpoint with save_pretrained plus reference.json (last-position logits of a
7-token prompt and 32 greedy tokens). Windows are 5 positions, so both the
prompt and the continuation reach past them; Phi-3's original context is 16
positions, so generation switches from LongRoPE's short to its long factors.

usage: make_model_fixtures_current.py OUT_DIR
"""
import os
import sys

import torch
import transformers

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_model_fixtures import write  # noqa: E402

EAGER = {"attn_implementation": "eager"}
SMALL = dict(vocab_size=300, hidden_size=64, intermediate_size=96, num_attention_heads=4, num_key_value_heads=2,
             max_position_embeddings=96, initializer_range=0.2)


def model(cls, config):
    config._attn_implementation = "eager"
    return cls(config)


def fixture(out_dir, name, seed, cls, config):
    torch.manual_seed(seed)
    write(out_dir, name, model(cls, config), 300, seed=seed + 100, quantized=False, load_kwargs=EAGER)


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(1)
    t = transformers
    fixture(out_dir, "mistral_window", 30, t.MistralForCausalLM,
            t.MistralConfig(num_hidden_layers=2, sliding_window=5, **SMALL))
    # Sliding from layer max_window_layers on: layer 0 full, layer 1 sliding.
    fixture(out_dir, "qwen2_window", 31, t.Qwen2ForCausalLM,
            t.Qwen2Config(num_hidden_layers=2, use_sliding_window=True, sliding_window=5, max_window_layers=1,
                          tie_word_embeddings=True, **SMALL))
    # head_dim 32 with hidden 64 and 4 heads: head_dim is its own setting.
    fixture(out_dir, "qwen3", 32, t.Qwen3ForCausalLM,
            t.Qwen3Config(num_hidden_layers=2, head_dim=32, rope_theta=50000.0, **SMALL))
    fixture(out_dir, "gemma", 33, t.GemmaForCausalLM,
            t.GemmaConfig(num_hidden_layers=2, head_dim=32, **SMALL))
    # Soft-caps small enough to bite on random weights.
    fixture(out_dir, "gemma2", 34, t.Gemma2ForCausalLM,
            t.Gemma2Config(num_hidden_layers=3, head_dim=32, sliding_window=5, query_pre_attn_scalar=24,
                           attn_logit_softcapping=2.0, final_logit_softcapping=3.0, **SMALL))
    # Local, global, local layers; linear rope scaling on the global one only.
    fixture(out_dir, "gemma3", 35, t.Gemma3ForCausalLM,
            t.Gemma3TextConfig(num_hidden_layers=3, head_dim=32, sliding_window=5, query_pre_attn_scalar=32,
                               layer_types=["sliding_attention", "full_attention", "sliding_attention"],
                               rope_scaling={"rope_type": "linear", "factor": 8.0}, **SMALL))
    longrope = lambda n: {"type": "longrope", "short_factor": [1.0 + 0.1 * i for i in range(n)],
                          "long_factor": [1.5 + 0.5 * i for i in range(n)]}
    fixture(out_dir, "phi3", 36, t.Phi3ForCausalLM,
            t.Phi3Config(num_hidden_layers=2, original_max_position_embeddings=16, rope_scaling=longrope(8),
                         bos_token_id=1, eos_token_id=2, pad_token_id=0, **SMALL))
    # Phi-4-mini's shape: partial rotary (12 of 16 dims), tied head.
    fixture(out_dir, "phi4_mini", 37, t.Phi3ForCausalLM,
            t.Phi3Config(num_hidden_layers=2, original_max_position_embeddings=16, rope_scaling=longrope(6),
                         partial_rotary_factor=0.75, tie_word_embeddings=True, bos_token_id=1, eos_token_id=2,
                         pad_token_id=0, **SMALL))
    # Shapes llama.cpp's GGUF can state (make_gguf_family_fixtures.py writes
    # them as GGUF): Gemma 2 with queries scaled by 1/sqrt(head_dim), Phi-3
    # without LongRoPE (its 4k-context variants).
    fixture(out_dir, "gemma2_llamacpp", 38, t.Gemma2ForCausalLM,
            t.Gemma2Config(num_hidden_layers=3, head_dim=32, sliding_window=5, query_pre_attn_scalar=32,
                           attn_logit_softcapping=2.0, final_logit_softcapping=3.0, **SMALL))
    fixture(out_dir, "phi3_4k", 39, t.Phi3ForCausalLM,
            t.Phi3Config(num_hidden_layers=2, bos_token_id=1, eos_token_id=2, pad_token_id=0, **SMALL))
    print("current-transformers model fixtures written to", out_dir)


if __name__ == "__main__":
    main()
