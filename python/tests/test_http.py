"""http(s) locations through the repository's range server (tests/tools/range_server.py), faults included."""

import os
import signal
import threading
import time

import pytest
import torch
from safetensors.torch import load_file as reference_load_file
from safetensors.torch import save_file

import weightstream
from test_load_file import STAGED, random_tensors, same_bytes, write_sharded


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("served")
    (root / "single").mkdir()
    # ~1.2 MB: several chunks, so a cut lands inside tensor data.
    tensors = random_tensors(seed=2)
    tensors["big"] = torch.randn(300, 1000)
    save_file(tensors, str(root / "single" / "model.safetensors"), metadata={"format": "pt"})
    (root / "sharded").mkdir()
    write_sharded(root / "sharded", tensors)
    return root, reference_load_file(str(root / "single" / "model.safetensors"))


def check(result, reference):
    assert set(result) == set(reference)
    for name, t in reference.items():
        assert same_bytes(result[name], t), name


def test_a_url_reads_what_the_file_holds(served, range_server):
    root, ref = served
    server = range_server(root)
    check(weightstream.load_file(server.url("single/model.safetensors")), ref)
    check(weightstream.load_file(server.url("single/")), ref)
    check(weightstream.load_file(server.url("sharded/")), ref)
    assert weightstream.open(server.url("sharded/")).shape("big") == (300, 1000)


@pytest.mark.parametrize("drop_on", [0, 1, 2, 3])
def test_a_cut_connection_is_resumed(served, range_server, drop_on):
    # The drop_on-th GET of each file stops after 4000 body bytes and closes
    # the connection: header reads and the data stream alike must resume.
    root, ref = served
    server = range_server(root, "--drop-after", "4000", "--drop-on", str(drop_on))
    check(weightstream.load_file(server.url("single/")), ref)
    check(weightstream.load_file(server.url("sharded/")), ref)


def test_server_errors_are_retried(served, range_server):
    root, ref = served
    server = range_server(root, "--fail-first", "2")
    check(weightstream.load_file(server.url("single/")), ref)


def test_a_missing_url_is_not_found(served, range_server):
    root, _ = served
    server = range_server(root)
    with pytest.raises(weightstream.NotFoundError, match="404"):
        weightstream.open(server.url("single/nope.safetensors"))
    with pytest.raises(weightstream.NotFoundError):
        weightstream.open(server.url("no-such-model/"))


def test_a_file_removed_mid_load_is_an_http_error(served, range_server):
    root, _ = served
    # Opening reads the headers; every later GET answers 404.
    server = range_server(root, "--gone-after", "3")
    checkpoint = weightstream.open(server.url("single/model.safetensors"))
    with pytest.raises(weightstream.IoError):
        checkpoint.tensors()


@pytest.mark.parametrize("staged", [False, True])
def test_ctrl_c_cancels_a_load_in_native_code(tmp_path, range_server, staged):
    # One body byte every 10 ms: the ~100-byte header arrives in about a
    # second, the 40 KB of data would take minutes. SIGINT comes while the GIL
    # is released inside the core's load; the progress path hands it to Python.
    # (Opening, which reads headers only, is not interruptible.)
    save_file({"only": torch.zeros(10000)}, str(tmp_path / "model.safetensors"))
    server = range_server(tmp_path, "--drip", "0.01")
    checkpoint = weightstream.open(server.url("model.safetensors"))
    timer = threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT))
    started = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        checkpoint.tensors(**STAGED[staged])
    assert time.monotonic() - started < 10


def test_hf_token_is_sent_to_the_hub_endpoint_only(served, range_server, monkeypatch):
    root, ref = served
    server = range_server(root, "--require-bearer", "hf_secret")
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.port}")
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    check(weightstream.load_file(server.url("single/")), ref)
    # Another host (the same server by another name) does not get the token.
    with pytest.raises(weightstream.HttpError, match="401"):
        weightstream.open(f"http://localhost:{server.port}/single/")
    monkeypatch.delenv("HF_TOKEN")
    with pytest.raises(weightstream.HttpError, match="401"):
        weightstream.open(server.url("single/"))
