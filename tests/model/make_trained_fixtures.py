#!/usr/bin/env python3
"""Writes tiny TRAINED checkpoints (byte-level, vocab 256) of several families,
for the quantized greedy checks (trained_quantized_test.cpp and the torch and
web suites): the random fixtures of make_model_fixtures.py have near-uniform
logits with near-ties, so rounding their weights to Q8_0 already changes
transformers' own continuation; a real model's next-token distribution is
peaked, and so is the distribution of a model that has learnt a text.

Each model is trained from a fixed seed, on the CPU with one thread and
deterministic algorithms, to continue TEXT (below) from its first bytes, then:

  <out>/<name>/                config.json + model.safetensors (f32, save_pretrained)
  <out>/<name>/reference.json  transformers reading it back in f32:
      {"prompt": [16 bytes of TEXT], "logits": [...last-position f32 logits...],
       "greedy": [...32 ids from generate(do_sample=False)...], "dtype": "F32",
       "min_margin": smallest top-1 minus top-2 logit along the continuation, ...}

The script fails if a model does not continue TEXT or if its smallest margin
is under MIN_MARGIN: a fixture whose greedy path has near-ties cannot tell a
correct quantized kernel from a wrong one.

Matrix rows (the input features) are multiples of 32 for the 32-element block
formats; trained_llama_gqa's are multiples of 256, so q4_k / q5_k / q6_k hold
its matrices in K-quant blocks instead of falling back to a 32-element format.

Training takes seconds of CPU, and CI configures several presets (each with
its own fixture directory): with --cache DIR the fixtures are kept in
DIR/<sha256 of this script and of the torch and transformers versions>/ and
copied from there when present, so one CI run trains once.

usage: make_trained_fixtures.py OUT_DIR [--cache DIR]
"""
import hashlib
import importlib.metadata
import json
import os
import shutil
import sys
import time

# torch and transformers are imported by train_all (a copy from the cache
# needs neither, and importing them takes seconds).
torch = transformers = None

# Written for these fixtures; no 16-byte run repeats, so every next byte is
# decided by the bytes before it.
TEXT = ("The river keeps no record of the boats that crossed it. Each spring the water "
        "rises over the stones and falls again by midsummer.\n")
PROMPT_BYTES = 16
NEW_TOKENS = 32
STEPS = 100
LEARNING_RATE = 3e-3
MIN_MARGIN = 1.0
VOCAB = 256  # byte-level: id = byte


def train(model, ids, steps):
    """Adam on next-byte cross-entropy over the whole text, one sequence per step."""
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    for _ in range(steps):
        loss = model(ids, labels=ids).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return loss.item()


def reference(model, ids):
    prompt = ids[:, :PROMPT_BYTES]
    model = model.float().eval()
    model.generation_config.eos_token_id = None
    model.generation_config.pad_token_id = 0
    with torch.no_grad():
        logits = model(prompt).logits[0, -1]
        out = model.generate(prompt, max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS, do_sample=False,
                             attention_mask=torch.ones_like(prompt))
        # The logits that chose each greedy token, and their top-2 gaps.
        path = model(out[:, :-1]).logits[0, PROMPT_BYTES - 1:]
    top2 = path.topk(2, dim=-1).values
    return {"prompt": prompt[0].tolist(), "logits": logits.tolist(), "greedy": out[0, PROMPT_BYTES:].tolist(),
            "dtype": "F32", "min_margin": (top2[:, 0] - top2[:, 1]).min().item(),
            "logit_range": (path.max() - path.min()).item()}


def fixture(out_dir, name, seed, model_class, config, steps=STEPS, load_kwargs=None):
    started = time.process_time()
    torch.manual_seed(seed)
    model = model_class(config)
    ids = torch.tensor([list(TEXT.encode())])
    loss = train(model, ids, steps)
    path = os.path.join(out_dir, name)
    os.makedirs(path, exist_ok=True)
    model.save_pretrained(path, safe_serialization=True)
    # Read back as a user would (buffers such as rotary inv_freq made afresh).
    reloaded = transformers.AutoModelForCausalLM.from_pretrained(path, torch_dtype=torch.float32,
                                                                 **(load_kwargs or {}))
    ref = reference(reloaded, ids)
    ref.update({"text": TEXT, "train_steps": steps, "train_loss": loss})
    expected = list(TEXT.encode()[PROMPT_BYTES:PROMPT_BYTES + NEW_TOKENS])
    if ref["greedy"] != expected or ref["min_margin"] < MIN_MARGIN:
        sys.exit(f"{name}: not trained enough (loss {loss:.4f}, min margin {ref['min_margin']:.2f}, "
                 f"continuation {bytes(ref['greedy'])!r})")
    with open(os.path.join(path, "reference.json"), "w") as f:
        json.dump(ref, f)
    print(f"{name}: loss {loss:.4f}, min margin {ref['min_margin']:.2f}, logit range {ref['logit_range']:.1f}, "
          f"{time.process_time() - started:.1f} s cpu")


NAMES = ["trained_gpt2", "trained_llama_gqa", "trained_qwen2", "trained_mistral_window"]


def cache_key():
    h = hashlib.sha256(open(os.path.abspath(__file__), "rb").read())
    for package in ("torch", "transformers"):
        h.update(f"{package} {importlib.metadata.version(package)}".encode())
    return h.hexdigest()[:16]


def copy_fixtures(src, dst):
    for name in NAMES:
        shutil.copytree(os.path.join(src, name), os.path.join(dst, name), dirs_exist_ok=True)


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    cache = None
    if len(sys.argv) == 4 and sys.argv[2] == "--cache":
        cache = os.path.join(sys.argv[3], cache_key())
        if all(os.path.exists(os.path.join(cache, n, "reference.json")) for n in NAMES):
            copy_fixtures(cache, out_dir)
            print("trained model fixtures copied from", cache, "to", out_dir)
            return
    train_all(out_dir)
    if cache:
        # Another writer may race us: fill a private directory, then rename it.
        staging = f"{cache}.{os.getpid()}"
        copy_fixtures(out_dir, staging)
        try:
            os.rename(staging, cache)
        except OSError:
            shutil.rmtree(staging)


def train_all(out_dir):
    global torch, transformers
    import torch
    import transformers
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    t = transformers
    positions = len(TEXT.encode())
    small = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                 max_position_embeddings=positions)
    fixture(out_dir, "trained_gpt2", 41, t.GPT2LMHeadModel,
            t.GPT2Config(vocab_size=VOCAB, n_positions=positions, n_embd=64, n_layer=2, n_head=4,
                         resid_pdrop=0, embd_pdrop=0, attn_pdrop=0))
    # Rows of 256: the K-quant formats hold every matrix in their own blocks.
    fixture(out_dir, "trained_llama_gqa", 42, t.LlamaForCausalLM,
            t.LlamaConfig(**{**small, "hidden_size": 256, "intermediate_size": 256}, num_key_value_heads=2))
    # Qwen2's q/k/v biases, one key/value head, the head tied to the embedding.
    fixture(out_dir, "trained_qwen2", 43, t.Qwen2ForCausalLM,
            t.Qwen2Config(**small, num_key_value_heads=1, tie_word_embeddings=True))
    # A window of 8 positions: the 16-byte prompt and the continuation reach past it.
    fixture(out_dir, "trained_mistral_window", 44, t.MistralForCausalLM,
            t.MistralConfig(**small, num_key_value_heads=2, sliding_window=8))
    print("trained model fixtures written to", out_dir)


if __name__ == "__main__":
    main()
