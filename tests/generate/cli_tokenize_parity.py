"""`weightstream tokenize` against transformers on a real model: SmolLM2's
GGUF (its tokenizer read by transformers' GGUF loader, its chat template by gguf-py).
For a single prompt, a prompt with a system message and a multi-turn
conversation (--messages), the rendered chat text and the token ids must equal
apply_chat_template(..., add_generation_prompt=True) and its tokenization.
(--text is left out: whether a GGUF's tokenizer adds BOS is the tokenizer's
business, tested in tests/native.) The reference is computed on every run.

usage: cli_tokenize_parity.py WEIGHTSTREAM MODEL.gguf"""
import json
import os
import subprocess
import sys
import tempfile


def main(cli, gguf_path):
    if not os.path.exists(gguf_path):
        message = f"{gguf_path} absent (.ci/setup.d/30-smollm2.sh fetches it)"
        if os.environ.get("WS_REQUIRE_ALL") == "1":
            sys.exit(f"WS_REQUIRE_ALL=1: {message}")
        print(message)
        sys.exit(77)
    from transformers import AutoTokenizer
    import gguf
    tok = AutoTokenizer.from_pretrained(os.path.dirname(gguf_path), gguf_file=os.path.basename(gguf_path))
    # transformers 4.44's GGUF loader leaves the template out: read it with gguf-py.
    field = gguf.GGUFReader(gguf_path).fields["tokenizer.chat_template"]
    tok.chat_template = bytes(field.parts[field.data[0]]).decode("utf-8")

    conversation = [{"role": "user", "content": "Hi!"}, {"role": "assistant", "content": "Hello. How can I help?"},
                    {"role": "user", "content": "  Tell me a joke about émojis 🤖.\n"}]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as f:
        json.dump(conversation, f, ensure_ascii=False)
        messages_file = f.name
    cases = [
        (["--prompt", "What is the capital of France?", "--chat"],
         [{"role": "user", "content": "What is the capital of France?"}]),
        (["--prompt", "Capital of Italy?", "--chat", "--system", "Answer in one word."],
         [{"role": "system", "content": "Answer in one word."}, {"role": "user", "content": "Capital of Italy?"}]),
        (["--messages", messages_file], conversation),
    ]
    failures = 0
    try:
        for args, messages in cases:
            out = subprocess.run([cli, "tokenize", gguf_path, *args, "--json"], capture_output=True, check=True)
            ours = json.loads(out.stdout)
            expected_text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            expected_ids = tok.apply_chat_template(messages, tokenize=True, add_generation_prompt=True)
            if ours.get("text") != expected_text:
                print(f"MISMATCH text {args}:\n  transformers: {expected_text!r}\n  ours:         {ours.get('text')!r}")
                failures += 1
            if ours["ids"] != list(expected_ids):
                print(f"MISMATCH ids {args}:\n  transformers: {list(expected_ids)}\n  ours:         {ours['ids']}")
                failures += 1
            if ours["tokens"] != tok.convert_ids_to_tokens(ours["ids"]):
                print(f"MISMATCH tokens {args}: {ours['tokens']}")
                failures += 1
    finally:
        os.unlink(messages_file)
    print(f"tokenize: {len(cases)} cases, {failures} mismatches")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main(*sys.argv[1:])
