"""device="cuda" on a real GPU. Not collected by CI's pytest (the name does not match test_*.py; CI has no GPU
and skips count as failures there). Run it by hand on a machine with CUDA and torch built for it:

    python -m pytest -q -p no:cacheprovider python/tests/gpu_check_staged.py

NOT run yet: the session that wrote it had no GPU (test_staged.py runs the same staged path on the CPU)."""

import torch
import transformers
from safetensors.torch import load_file as reference_load_file
from safetensors.torch import save_file

import weightstream
from weightstream._staging import SLOTS, Stager
from test_gguf import QUANTIZED, fixtures, reference  # noqa: F401
from test_load_file import random_tensors, same_bytes
from test_load_into import PROMPT, on_meta, save_random, tiny_gpt2, tiny_llama

assert torch.cuda.is_available(), "this file needs a CUDA device"


def test_load_file_to_cuda_has_the_bytes_and_conversions(tmp_path):
    path = tmp_path / "model.safetensors"
    tensors = random_tensors(seed=4)
    tensors["big"] = torch.randn(2000, 1000)
    save_file(tensors, str(path))
    ref = reference_load_file(str(path))
    for staging_mib in (0.01, 1, 16):
        ours = weightstream.load_file(path, device="cuda", staging_mib=staging_mib)
        assert Stager.last.allocations == SLOTS and Stager.last.pinned_bytes <= staging_mib * (1 << 20)
        assert all(s.is_pinned() for s in Stager.last.slots)
        for name, t in ref.items():
            assert ours[name].is_cuda and same_bytes(ours[name].cpu(), t), name
    ours = weightstream.load_file(path, device="cuda", dtype=torch.bfloat16, staging_mib=1)
    for name, t in ref.items():
        if t.is_floating_point() and t.dtype != torch.float64:
            expected, nan = t.to(torch.bfloat16), t.isnan()
            assert same_bytes(ours[name].cpu()[~nan], expected[~nan]), name


def test_gguf_to_cuda(fixtures):  # noqa: F811
    tensors = weightstream.load_file(fixtures / "quants.gguf", device="cuda", staging_mib=0.01)
    for name in QUANTIZED:
        assert torch.equal(tensors[name].cpu().reshape(-1), reference(fixtures / "ref" / f"{name}.f32")), name


def test_load_into_cuda_gives_from_pretrained_logits(tmp_path):
    for make_config in (tiny_gpt2, tiny_llama):
        directory = tmp_path / make_config.__name__
        save_random(make_config(), directory)
        reference_model = transformers.AutoModelForCausalLM.from_pretrained(str(directory)).eval().cuda()
        model = on_meta(directory)
        assert weightstream.load_into(model, directory, device="cuda", staging_mib=0.01) == ([], [])
        with torch.no_grad():
            assert torch.equal(model(PROMPT.cuda()).logits, reference_model(PROMPT.cuda()).logits)
