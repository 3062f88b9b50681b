"""Every error the core reports arrives as a typed Python exception."""

import struct

import pytest
import torch
from safetensors.torch import save_file

import weightstream
from weightstream import _native


def test_every_core_error_kind_has_its_class():
    kinds = set(_native._error_kinds())
    classes = {getattr(weightstream, name) for name in weightstream.__all__ if name.endswith("Error")}
    assert {c.kind for c in classes if c.kind} == kinds
    assert all(issubclass(c, weightstream.Error) for c in classes)


def header_file(path, header, data=b""):
    raw = header.encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)
    return path


def test_a_header_that_is_not_json(tmp_path):
    with pytest.raises(weightstream.InvalidHeaderError, match="not valid JSON") as caught:
        weightstream.open(header_file(tmp_path / "m.safetensors", "{not json"))
    assert isinstance(caught.value, weightstream.FormatError) and caught.value.kind == "InvalidHeader"


def test_offsets_that_do_not_match_the_shape(tmp_path):
    bad = '{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}'
    with pytest.raises(weightstream.InvalidHeaderError, match='"a"'):
        weightstream.open(header_file(tmp_path / "m.safetensors", bad, bytes(12)))


def test_a_truncated_file(tmp_path):
    path = tmp_path / "m.safetensors"
    save_file({"a": torch.ones(1000)}, str(path))
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(weightstream.FormatError) as caught:
        weightstream.load_file(path)
    assert caught.value.kind in ("Truncated", "InvalidHeader")


def test_a_file_shorter_than_its_prefix(tmp_path):
    path = tmp_path / "m.safetensors"
    path.write_bytes(b"\x01\x02")
    with pytest.raises(weightstream.FormatError):
        weightstream.open(path)


def test_a_bad_index(tmp_path):
    save_file({"a": torch.ones(3)}, str(tmp_path / "s1.safetensors"))
    index = tmp_path / "model.safetensors.index.json"
    # A shard outside the model's directory.
    index.write_text('{"weight_map": {"a": "../s1.safetensors"}}')
    with pytest.raises(weightstream.InvalidIndexError):
        weightstream.open(tmp_path)
    # A tensor the named shard does not hold.
    index.write_text('{"weight_map": {"a": "s1.safetensors", "b": "s1.safetensors"}}')
    with pytest.raises(weightstream.MissingTensorError, match='"b"'):
        weightstream.open(tmp_path)


def test_a_path_that_does_not_exist():
    with pytest.raises(weightstream.NotFoundError) as caught:
        weightstream.load_file("/no/such/model.safetensors")
    assert isinstance(caught.value, FileNotFoundError)


def test_a_directory_without_weights(tmp_path):
    with pytest.raises(weightstream.NotFoundError):
        weightstream.open(tmp_path)


def test_bad_arguments(tmp_path):
    path = tmp_path / "m.safetensors"
    save_file({"a": torch.ones(3)}, str(path))
    with pytest.raises(weightstream.InvalidArgumentError):
        weightstream.load_file(path, staging_mib=0)
    with pytest.raises(weightstream.InvalidArgumentError):
        weightstream.load_file(path, device="meta")
    with pytest.raises(ValueError):
        weightstream.load_file(path, dtype=torch.complex64)


def test_cuda_without_a_gpu_is_a_clear_error(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    save_file({"a": torch.ones(3)}, str(path))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # as on a machine without CUDA
    for call in (lambda: weightstream.load_file(path, device="cuda"),
                 lambda: weightstream.open(path).get_tensor("a", device="cuda:0"),
                 lambda: weightstream.load_into(torch.nn.Linear(1, 1), path, device="cuda")):
        with pytest.raises(weightstream.DeviceError, match="cuda"):
            call()


def test_an_unsupported_conversion(tmp_path):
    path = tmp_path / "m.safetensors"
    save_file({"a": torch.ones(3)}, str(path))

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("a", torch.zeros(3, dtype=torch.int32))

    with pytest.raises(weightstream.UnsupportedError, match="F32 -> I32"):
        weightstream.load_into(Net(), path)
