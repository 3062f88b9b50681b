"""The staged path (device="cuda": pinned slots, copy_ into the destination) run on the CPU with _staged=True:
the same C++ write_source and Python Stager code, with the slots pinned only where CUDA is available and
copies synchronous. References: safetensors.torch, gguf-py's dequantised values, transformers'
from_pretrained. (No GPU here; tests/gpu_test_staged.py is not collected by CI.)"""


import pytest
import torch
import transformers
from safetensors.torch import load_file as reference_load_file
from safetensors.torch import save_file

import weightstream
from weightstream._staging import SLOTS, Stager
from test_gguf import QUANTIZED, fixtures, reference  # noqa: F401 (fixtures: the GGUF files, a pytest fixture)
from test_load_file import random_tensors, same_bytes
from test_load_into import logits, on_meta, save_random, tiny_gpt2, tiny_llama

SMALL = 0.01  # MiB: ~10 KB of slots, so tensors span many windows and every slot is reused


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    path = tmp_path_factory.mktemp("staged") / "model.safetensors"
    tensors = random_tensors(seed=3)
    tensors["big"] = torch.randn(70, 1000)  # 280 KB: dozens of windows
    save_file(tensors, str(path), metadata={"format": "pt"})
    return path


@pytest.fixture(autouse=True)
def _fresh_stager():
    Stager.last = None  # check_bound must see this test's Stager, not an earlier one
    yield


def check_bound(staging_mib):
    """The latest staged load held SLOTS slots whose bytes together stay within staging_mib, and reused them."""
    stager = Stager.last
    assert stager.allocations == SLOTS
    assert stager.pinned_bytes <= staging_mib * (1 << 20)
    assert stager.takes > SLOTS
    assert not any(stager.busy)


def test_every_dtype_has_the_bytes_safetensors_reads(single):
    ref = reference_load_file(str(single))
    for staging_mib in (SMALL, 16):
        ours = weightstream.load_file(single, _staged=True, staging_mib=staging_mib)
        assert set(ours) == set(ref)
        for name, t in ref.items():
            assert same_bytes(ours[name], t), name
    check_bound(16)


def test_get_tensor_and_a_subset_go_the_same_way(single):
    ref = reference_load_file(str(single))
    checkpoint = weightstream.open(single)
    got = checkpoint.tensors(["big", "int8.0"], _staged=True, staging_mib=SMALL)
    assert same_bytes(got["big"], ref["big"]) and same_bytes(got["int8.0"], ref["int8.0"])
    check_bound(SMALL)


def test_the_slots_stay_within_staging_mib(single):
    for staging_mib in (SMALL, 0.05, 0.25):
        weightstream.load_file(single, _staged=True, staging_mib=staging_mib)
        check_bound(staging_mib)
        # Windows are cut to one slot: the 280 KB tensor alone needs this many copies.
        assert Stager.last.copies >= 280_000 // (Stager.last.pinned_bytes // SLOTS)


def test_float_conversions_are_done_by_copy(single):
    ref = reference_load_file(str(single))
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        ours = weightstream.load_file(single, dtype=dtype, _staged=True, staging_mib=SMALL)
        for name, t in ref.items():
            if t.dtype in (torch.float32, torch.float16, torch.bfloat16, torch.float64):
                expected, got = t.to(dtype), ours[name]
                nan = expected.isnan()
                assert got.dtype == dtype and got.isnan().equal(nan), (name, dtype)
                assert same_bytes(got[~nan], expected[~nan]), (name, dtype)
            else:
                assert same_bytes(ours[name], t), name


def test_gguf_blocks_dequantised_on_the_host(fixtures):  # noqa: F811
    tensors = weightstream.load_file(fixtures / "quants.gguf", _staged=True, staging_mib=SMALL)
    for name in QUANTIZED + ["F32"]:
        assert tensors[name].dtype == torch.float32 and tensors[name].shape == (4, 512), name
        assert torch.equal(tensors[name].reshape(-1), reference(fixtures / "ref" / f"{name}.f32")), name
    assert torch.equal(tensors["F16"].float().reshape(-1), reference(fixtures / "ref" / "F16.f32"))
    check_bound(SMALL)
    bf16 = weightstream.load_file(fixtures / "quants.gguf", dtype=torch.bfloat16, _staged=True, staging_mib=SMALL)
    for name in QUANTIZED:
        assert torch.equal(bf16[name].reshape(-1), reference(fixtures / "ref" / f"{name}.f32").to(torch.bfloat16))


def test_gguf_raw_blocks(fixtures):  # noqa: F811
    checkpoint = weightstream.open(fixtures / "quants.gguf")
    plain = checkpoint.tensors(dequantize=False)
    staged = checkpoint.tensors(dequantize=False, _staged=True, staging_mib=SMALL)
    for name in QUANTIZED:
        assert staged[name].dtype == torch.uint8 and torch.equal(staged[name], plain[name]), name


def test_gguf_llama_with_interleaved_heads(fixtures):  # noqa: F811
    checkpoint = weightstream.open(fixtures / "tiny-llama.gguf")
    plain = checkpoint.tensors()
    staged = checkpoint.tensors(_staged=True, staging_mib=SMALL)
    assert any(not checkpoint.info(n).row_order for n in checkpoint.keys())
    for name, t in plain.items():
        assert same_bytes(staged[name], t), name


@pytest.mark.parametrize("make_config", [tiny_gpt2, tiny_llama], ids=["gpt2", "llama"])
def test_load_into_gives_from_pretrained_logits(tmp_path, make_config):
    save_random(make_config(), tmp_path)
    reference_model = transformers.AutoModelForCausalLM.from_pretrained(str(tmp_path)).eval()
    model = on_meta(tmp_path)
    result = weightstream.load_into(model, tmp_path, _staged=True, staging_mib=SMALL)
    assert result == ([], [])
    assert torch.equal(logits(model), logits(reference_model))
    if make_config is tiny_gpt2:
        assert model.lm_head.weight is model.transformer.wte.weight
    check_bound(SMALL)


def test_load_into_a_bf16_checkpoint_as_float32(tmp_path):
    save_random(tiny_llama(), tmp_path, dtype=torch.bfloat16)
    reference_model = transformers.AutoModelForCausalLM.from_pretrained(str(tmp_path), torch_dtype=torch.float32)
    model = on_meta(tmp_path)
    weightstream.load_into(model, tmp_path, dtype=torch.float32, _staged=True, staging_mib=SMALL)
    assert model.model.embed_tokens.weight.dtype == torch.float32
    assert torch.equal(logits(model), logits(reference_model.eval()))


def test_a_file_cut_after_open_is_a_typed_error(tmp_path):
    path = tmp_path / "model.safetensors"
    save_file({"a": torch.ones(1000, dtype=torch.bfloat16), "b": torch.ones(5000)}, str(path))
    checkpoint = weightstream.open(path)  # the header promises bytes the file no longer has
    path.write_bytes(path.read_bytes()[:-3000])
    for dtype in (None, torch.float32):
        with pytest.raises(weightstream.Error) as caught:
            checkpoint.tensors(dtype=dtype, _staged=True, staging_mib=SMALL)
        assert caught.value.kind in ("Truncated", "Io"), caught.value


def test_has_cuda_asks_torch_at_call_time(monkeypatch, tmp_path):
    save_file({"a": torch.ones(3)}, str(tmp_path / "m.safetensors"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert weightstream.has_cuda() is False
    with pytest.raises(weightstream.DeviceError, match="cuda"):
        weightstream.load_file(tmp_path / "m.safetensors", device="cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert weightstream.has_cuda() is True
