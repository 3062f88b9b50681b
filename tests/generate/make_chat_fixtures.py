"""Chat prompts rendered by the reference: transformers' apply_chat_template
(Jinja) on real templates. usage: make_chat_fixtures.py OUT.json [MODEL.gguf]
MODEL.gguf (optional): its tokenizer.chat_template, read with the `gguf`
package, is added to the cases (SmolLM2's own template) under the name
"model_gguf". A MODEL.gguf that exists but holds no template is an error; an
absent one is an error under WS_REQUIRE_ALL=1 (CI provides it), else said
aloud. chat_test.cpp requires every template's cases."""
import json
import os
import sys

from transformers import PreTrainedTokenizerFast
from tokenizers import Tokenizer, models

# Hugging Face's published templates (verbatim), as tokenizer_config.json holds them.
LLAMA2 = ("{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = "
          "messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}"
          "{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
          "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
          "{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + "
          "'\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}"
          "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
          "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}"
          "{% endfor %}")
QWEN2 = ("{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\n"
         "You are a helpful assistant.<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + "
         "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}"
         "{{ '<|im_start|>assistant\n' }}{% endif %}")
PLAIN_CHATML = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
                "'<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")

CONVERSATIONS = [
    [{"role": "user", "content": "What is the capital of France?"}],
    [{"role": "system", "content": "You answer in one word."}, {"role": "user", "content": "Capital of Italy?"}],
    [{"role": "user", "content": "Hi!"}, {"role": "assistant", "content": "Hello. How can I help?"},
     {"role": "user", "content": "  Tell me a joke about émojis 🤖.\n"}],
    [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "2+2?"},
     {"role": "assistant", "content": " 4 "}, {"role": "user", "content": "and 3+3?"}],
]


def tokenizer_with(template, bos="<s>", eos="</s>"):
    vocab = {bos: 0, eos: 1, "<unk>": 2}
    tok = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.WordLevel(vocab, unk_token="<unk>")),
                                  bos_token=bos, eos_token=eos, unk_token="<unk>")
    tok.chat_template = template
    return tok


def gguf_chat_template(path):
    import gguf
    field = gguf.GGUFReader(path).fields.get("tokenizer.chat_template")
    return bytes(field.parts[field.data[0]]).decode("utf-8") if field else None


def main(out, gguf_path=None):
    templates = {"llama2": LLAMA2, "qwen2": QWEN2, "plain_chatml": PLAIN_CHATML}
    if gguf_path and os.path.exists(gguf_path):
        template = gguf_chat_template(gguf_path)
        if not template:
            sys.exit(f"{gguf_path} has no tokenizer.chat_template: its chat cases cannot be written")
        templates["model_gguf"] = template
    elif gguf_path:
        message = f"{gguf_path} is absent (.ci/setup.d/30-smollm2.sh fetches it): no model_gguf chat cases"
        if os.environ.get("WS_REQUIRE_ALL") == "1":
            sys.exit(f"WS_REQUIRE_ALL=1: {message}")
        print(message)
    cases = []
    for name, template in templates.items():
        tok = tokenizer_with(template)
        for messages in CONVERSATIONS:
            for add_generation_prompt in (True, False):
                expected = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt)
                cases.append({"name": name, "template": template, "messages": messages,
                              "add_generation_prompt": add_generation_prompt, "expected": expected})
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(cases, f, indent=1, ensure_ascii=False)
    print(f"wrote {len(cases)} chat cases ({', '.join(templates)}) to {out}")


if __name__ == "__main__":
    main(*sys.argv[1:])
