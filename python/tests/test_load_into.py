"""load_into against transformers' from_pretrained (the reference loader):
same logits, tied weights kept tied, missing / unexpected / mis-shaped tensors
reported."""

import json

import pytest
import torch
import transformers
from safetensors.torch import load_file as reference_load_file
from safetensors.torch import save_file

import weightstream

PROMPT = torch.tensor([[5, 17, 3, 99, 42, 7, 64, 1]])


def tiny_gpt2():
    return transformers.GPT2Config(vocab_size=128, n_positions=64, n_embd=32, n_layer=2, n_head=4)


def tiny_llama():
    return transformers.LlamaConfig(vocab_size=128, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                    num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                                    tie_word_embeddings=False)


def save_random(config, directory, dtype=torch.float32, **save_kwargs):
    torch.manual_seed(0)
    model = transformers.AutoModelForCausalLM.from_config(config).to(dtype)
    model.save_pretrained(str(directory), safe_serialization=True, **save_kwargs)
    return directory


def on_meta(directory):
    config = transformers.AutoConfig.from_pretrained(str(directory))
    with weightstream.init_empty_weights():
        model = transformers.AutoModelForCausalLM.from_config(config)
    assert all(p.is_meta for p in model.parameters())
    return model.eval()


def logits(model):
    with torch.no_grad():
        return model(PROMPT).logits


@pytest.mark.parametrize("make_config", [tiny_gpt2, tiny_llama], ids=["gpt2", "llama"])
@pytest.mark.parametrize("sharded", [False, True], ids=["single", "sharded"])
def test_same_logits_as_from_pretrained(tmp_path, make_config, sharded):
    save_random(make_config(), tmp_path, **({"max_shard_size": "20KB"} if sharded else {}))
    assert (tmp_path / "model.safetensors.index.json").exists() == sharded
    reference = transformers.AutoModelForCausalLM.from_pretrained(str(tmp_path)).eval()

    model = on_meta(tmp_path)
    missing, unexpected = weightstream.load_into(model, tmp_path)
    assert unexpected == []
    assert all(not p.is_meta for p in model.parameters())
    assert torch.equal(logits(model), logits(reference))
    if make_config is tiny_gpt2:
        # GPT-2 ties lm_head to the embedding; the checkpoint stores it once.
        assert missing == []
        assert model.lm_head.weight is model.transformer.wte.weight
    else:
        assert missing == []


def test_bf16_checkpoint_into_bf16_and_float32(tmp_path):
    save_random(tiny_llama(), tmp_path, dtype=torch.bfloat16)
    for dtype in (None, torch.bfloat16):
        reference = transformers.AutoModelForCausalLM.from_pretrained(str(tmp_path), torch_dtype=dtype).eval()
        model = on_meta(tmp_path)
        weightstream.load_into(model, tmp_path, dtype=dtype)
        assert model.model.embed_tokens.weight.dtype == (dtype or torch.float32)
        assert torch.equal(logits(model), logits(reference))


def test_the_state_matches_load_state_dict_byte_for_byte(tmp_path):
    save_random(tiny_gpt2(), tmp_path)
    model = on_meta(tmp_path)
    weightstream.load_into(model, tmp_path / "model.safetensors", staging_mib=1)
    ref = reference_load_file(str(tmp_path / "model.safetensors"))
    state = model.state_dict()
    for name, t in ref.items():
        assert torch.equal(state[name], t), name


def test_a_missing_tensor_is_reported(tmp_path):
    save_random(tiny_llama(), tmp_path)
    tensors = reference_load_file(str(tmp_path / "model.safetensors"))
    del tensors["model.layers.1.mlp.up_proj.weight"]
    save_file(tensors, str(tmp_path / "model.safetensors"), metadata={"format": "pt"})

    model = on_meta(tmp_path)
    with pytest.raises(weightstream.MissingTensorError, match="model.layers.1.mlp.up_proj.weight") as caught:
        weightstream.load_into(model, tmp_path)
    assert caught.value.missing_keys == ["model.layers.1.mlp.up_proj.weight"]
    assert all(p.is_meta for p in model.parameters())  # strict: nothing changed

    result = weightstream.load_into(model, tmp_path, strict=False)
    assert result == (["model.layers.1.mlp.up_proj.weight"], [])
    assert result.missing_keys == ["model.layers.1.mlp.up_proj.weight"]
    assert model.model.layers[1].mlp.up_proj.weight.is_meta
    assert not model.model.layers[1].mlp.down_proj.weight.is_meta


def test_an_unexpected_tensor_is_reported(tmp_path):
    save_random(tiny_gpt2(), tmp_path)
    tensors = reference_load_file(str(tmp_path / "model.safetensors"))
    tensors["extra.weight"] = torch.ones(3)
    save_file(tensors, str(tmp_path / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(weightstream.UnexpectedTensorError, match="extra.weight"):
        weightstream.load_into(on_meta(tmp_path), tmp_path)
    assert weightstream.load_into(on_meta(tmp_path), tmp_path, strict=False).unexpected_keys == ["extra.weight"]


def test_a_mis_shaped_tensor_is_a_shape_mismatch(tmp_path):
    save_random(tiny_gpt2(), tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    config["vocab_size"] = 130
    (tmp_path / "config.json").write_text(json.dumps(config))
    model = on_meta(tmp_path)
    with pytest.raises(weightstream.ShapeMismatchError, match="transformer.wte.weight"):
        weightstream.load_into(model, tmp_path)
    assert all(p.is_meta for p in model.parameters())


def test_a_plain_module(tmp_path):
    # Buffers (persistent ones) are filled too; integer tensors keep their dtype when dtype= is given.
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(4, 3)
            self.register_buffer("steps", torch.zeros(2, dtype=torch.int64))
            self.register_buffer("scratch", torch.zeros(2), persistent=False)

    torch.manual_seed(1)
    source = Net()
    source.steps += 7
    save_file(source.state_dict(), str(tmp_path / "net.safetensors"))
    with weightstream.init_empty_weights():
        net = Net()
    weightstream.load_into(net, tmp_path / "net.safetensors", dtype=torch.float16)
    assert net.linear.weight.dtype == torch.float16 and isinstance(net.linear.weight, torch.nn.Parameter)
    assert net.linear.weight.requires_grad
    assert torch.equal(net.linear.weight, source.linear.weight.half())
    assert net.steps.dtype == torch.int64 and net.steps.tolist() == [7, 7]


def test_mmap_binds_the_kept_dtype_and_streams_the_rest(tmp_path):
    save_random(tiny_llama(), tmp_path, dtype=torch.bfloat16)
    reference = transformers.AutoModelForCausalLM.from_pretrained(str(tmp_path), torch_dtype=torch.bfloat16).eval()
    model = on_meta(tmp_path)
    assert weightstream.load_into(model, tmp_path, dtype=torch.bfloat16, mmap=True) == ([], [])
    assert torch.equal(logits(model), logits(reference))
    # The same checkpoint into float32 cannot be a view: converted while streaming.
    model32 = on_meta(tmp_path)
    weightstream.load_into(model32, tmp_path, mmap=True)
    assert model32.model.norm.weight.dtype == torch.float32
    assert torch.equal(logits(model32), logits(transformers.AutoModelForCausalLM.from_pretrained(str(tmp_path)).eval()))
