"""GGUF files: blocks dequantised as gguf-py (llama.cpp's reference package)
dequantises them, raw blocks on request, Hugging Face names and layouts."""

import pathlib
import subprocess
import sys

import numpy as np
import pytest
import torch
import transformers

import weightstream
from conftest import REPO, require

QUANTIZED = ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q4_K", "Q5_K", "Q6_K"]


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory):
    try:
        import gguf  # noqa: F401 (the generator's reference package)
    except ImportError:
        require(False, "the gguf package (gguf-py) is not installed")
    out = tmp_path_factory.mktemp("gguf")
    subprocess.run([sys.executable, str(REPO / "tests" / "tools" / "make_gguf_fixtures.py"), str(out)], check=True)
    return out


def reference(path):
    return torch.from_numpy(np.fromfile(str(path), dtype=np.float32))


def test_blocks_are_dequantised_like_gguf_py(fixtures):
    tensors = weightstream.load_file(fixtures / "quants.gguf")
    for name in QUANTIZED + ["F32"]:
        assert tensors[name].dtype == torch.float32 and tensors[name].shape == (4, 512), name
        assert torch.equal(tensors[name].reshape(-1), reference(fixtures / "ref" / f"{name}.f32")), name
    # Plain float tensors keep their stored dtype, like safetensors ones.
    assert tensors["F16"].dtype == torch.float16 and tensors["BF16"].dtype == torch.bfloat16
    assert torch.equal(tensors["F16"].float().reshape(-1), reference(fixtures / "ref" / "F16.f32"))


def test_dequantising_to_bf16_rounds_the_f32_values(fixtures):
    tensors = weightstream.load_file(fixtures / "quants.gguf", dtype=torch.bfloat16)
    for name in QUANTIZED:
        assert torch.equal(tensors[name].reshape(-1), reference(fixtures / "ref" / f"{name}.f32").to(torch.bfloat16)), name


def test_raw_blocks_on_request(fixtures):
    import gguf

    reader = gguf.GGUFReader(str(fixtures / "quants.gguf"))
    raw = {t.name: bytes(np.ascontiguousarray(t.data).view(np.uint8)) for t in reader.tensors}
    checkpoint = weightstream.open(fixtures / "quants.gguf")
    blocks = checkpoint.tensors(dequantize=False)
    for name in QUANTIZED:
        assert checkpoint.dtype(name) == name
        assert blocks[name].dtype == torch.uint8 and blocks[name].dim() == 1
        assert bytes(blocks[name].numpy()) == raw[name], name


def test_a_llama_gguf_loads_into_transformers_with_hugging_face_names(fixtures):
    checkpoint = weightstream.open(fixtures / "tiny-llama.gguf")
    refs = {p.name[:-len(".f32")]: reference(p) for p in (fixtures / "tiny-llama" / "ref").glob("*.f32")}
    tensors = checkpoint.tensors()
    assert set(tensors) == set(refs)
    for name, t in tensors.items():
        # q_proj / k_proj come back in Hugging Face row order (llama.cpp stores them permuted).
        assert torch.equal(t.reshape(-1), refs[name]), name

    config = transformers.LlamaConfig.from_dict(__import__("json").loads(checkpoint.read_text("config.json")))
    with weightstream.init_empty_weights():
        model = transformers.LlamaForCausalLM(config)
    assert weightstream.load_into(model, checkpoint) == ([], [])  # lm_head is tied to the embedding
    reference_model = transformers.LlamaForCausalLM(config)
    reference_model.load_state_dict({n: refs[n].reshape(tensors[n].shape) for n in refs}, strict=False)
    assert config.tie_word_embeddings and reference_model.lm_head.weight is reference_model.model.embed_tokens.weight
    prompt = torch.tensor([[1, 5, 9, 2]])
    with torch.no_grad():
        assert torch.equal(model.eval()(prompt).logits, reference_model.eval()(prompt).logits)
