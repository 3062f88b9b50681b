"""load_file and open() against safetensors.torch (the reference reader)."""

import json

import pytest
import torch
from safetensors.torch import load_file as reference_load_file
from safetensors.torch import save_file

import weightstream

# Every dtype safetensors and torch 1.13 share, with awkward shapes (0-d, empty, odd sizes).
DTYPES = [torch.float64, torch.float32, torch.float16, torch.bfloat16, torch.int64, torch.int32, torch.int16,
          torch.int8, torch.uint8, torch.bool]


def random_tensors(seed=0):
    g = torch.Generator().manual_seed(seed)
    tensors = {}
    for i, dtype in enumerate(DTYPES):
        name = str(dtype).replace("torch.", "")
        for j, shape in enumerate([(3, 5, 7), (), (0, 4), (1001,)]):
            if dtype.is_floating_point:
                t = torch.randn(shape, generator=g, dtype=torch.float64).to(dtype)
            elif dtype == torch.bool:
                t = torch.randint(0, 2, shape, generator=g).bool()
            else:
                info = torch.iinfo(dtype)
                t = torch.randint(max(info.min, -2**40), min(info.max, 2**40), shape, generator=g, dtype=torch.int64).to(dtype)
            tensors[f"{name}.{j}"] = t
    # NaN, inf and negative zero survive byte for byte.
    tensors["specials"] = torch.tensor([float("nan"), float("inf"), -float("inf"), -0.0, 1e-40], dtype=torch.float32)
    return tensors


def same_bytes(a, b):
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    return a.reshape(-1).view(torch.uint8).equal(b.reshape(-1).view(torch.uint8))


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    path = tmp_path_factory.mktemp("single") / "model.safetensors"
    save_file(random_tensors(), str(path), metadata={"format": "pt", "note": "weightstream test"})
    return path


def write_sharded(directory, tensors, shards=3):
    names = list(tensors)
    per = -(-len(names) // shards)
    weight_map = {}
    for s in range(shards):
        file = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        part = {n: tensors[n] for n in names[s * per:(s + 1) * per]}
        save_file(part, str(directory / file), metadata={"format": "pt"})
        weight_map.update({n: file for n in part})
    total = sum(t.numel() * t.element_size() for t in tensors.values())
    (directory / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}))


def test_every_dtype_has_the_bytes_safetensors_reads(single):
    ours = weightstream.load_file(single)
    ref = reference_load_file(str(single))
    assert list(ours) == list(weightstream.open(single).keys())
    assert set(ours) == set(ref)
    for name in ref:
        assert same_bytes(ours[name], ref[name]), name


def test_a_directory_is_read_like_its_model_safetensors(single):
    ours = weightstream.load_file(single.parent)
    ref = reference_load_file(str(single))
    assert all(same_bytes(ours[n], ref[n]) for n in ref)


def test_sharded_index(tmp_path):
    tensors = random_tensors(seed=1)
    write_sharded(tmp_path, tensors)
    ours = weightstream.load_file(tmp_path)
    assert set(ours) == set(tensors)
    for name, t in tensors.items():
        assert same_bytes(ours[name], t), name
    checkpoint = weightstream.open(tmp_path)
    assert len(checkpoint.shard_files) == 3
    assert checkpoint.metadata == {"total_size": str(sum(t.numel() * t.element_size() for t in tensors.values()))}


def test_open_is_lazy_and_describes_every_tensor(single):
    ref = reference_load_file(str(single))
    with weightstream.open(single) as checkpoint:
        assert checkpoint.metadata == {"format": "pt", "note": "weightstream test"}
        assert len(checkpoint) == len(ref)
        for name, t in ref.items():
            assert checkpoint.shape(name) == tuple(t.shape)
            assert checkpoint.torch_dtype(name) == t.dtype
        assert checkpoint.dtype("bfloat16.0") == "BF16"
        assert same_bytes(checkpoint.get_tensor("bfloat16.3"), ref["bfloat16.3"])
        assert same_bytes(checkpoint.get_tensor("int64.0"), ref["int64.0"])
        with pytest.raises(KeyError):
            checkpoint.get_tensor("no.such.tensor")


def test_dtype_converts_floats_while_streaming_like_torch(single):
    ref = reference_load_file(str(single))
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        ours = weightstream.load_file(single, dtype=dtype)
        for name, t in ref.items():
            if t.dtype in (torch.float32, torch.float16, torch.bfloat16):
                # torch's own conversion rounds to nearest even, as the core
                # does. NaN stays NaN, but its bits are the converter's choice
                # (torch 1.13 writes bf16 NaN as 0xffff, the core 0x7fc0).
                expected, got = t.to(dtype), ours[name]
                nan = expected.isnan()
                assert got.isnan().equal(nan), (name, dtype)
                assert same_bytes(got[~nan], expected[~nan]), (name, dtype)
            elif t.dtype == torch.float64:
                assert same_bytes(ours[name], t.to(dtype)), (name, dtype)  # converted by torch after the read
            else:
                assert same_bytes(ours[name], t), name  # integers keep their dtype


def test_progress_reaches_the_total(single):
    seen = []
    weightstream.load_file(single, on_progress=lambda done, total: seen.append((done, total)))
    assert seen and seen[-1][0] == seen[-1][1] > 0
    assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:]))


# staged: the same load through the staged (device="cuda") path on the CPU, in 10 KB slots.
STAGED = {False: {}, True: {"_staged": True, "staging_mib": 0.01}}


@pytest.mark.parametrize("staged", [False, True])
def test_an_exception_in_the_progress_callback_stops_the_load(single, staged):
    class Stop(Exception):
        pass

    def stop(done, total):
        raise Stop()

    with pytest.raises(Stop):
        weightstream.load_file(single, on_progress=stop, **STAGED[staged])


def test_mmap_binds_views_of_the_file_with_the_same_bytes(single, tmp_path):
    ref = reference_load_file(str(single))
    mapped = weightstream.load_file(single, mmap=True)
    for name, t in ref.items():
        assert same_bytes(mapped[name], t), name
    # Views of one mapping, copy-on-write: writing changes this process's tensor, not the file.
    a, b = mapped["float32.0"], mapped["float32.3"]
    assert a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr() if hasattr(a, "untyped_storage") \
        else a.storage().data_ptr() == b.storage().data_ptr()
    a.fill_(3.0)
    assert same_bytes(reference_load_file(str(single))["float32.0"], ref["float32.0"])
    # Converted tensors are streamed as usual.
    converted = weightstream.load_file(single, mmap=True, dtype=torch.float16)
    assert same_bytes(converted["float32.0"], ref["float32.0"].half())
