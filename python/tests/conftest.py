"""Fixtures: checkpoints written by the independent safetensors / transformers
packages (fixed seeds), and the repository's range server for HTTP."""

import os
import pathlib
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
RANGE_SERVER = REPO / "tests" / "tools" / "range_server.py"


class RangeServer:
    def __init__(self, root, *args):
        self.process = subprocess.Popen([sys.executable, str(RANGE_SERVER), str(root), *args],
                                        stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline().split()
        assert line and line[0] == "PORT", f"range_server.py did not start: {line}"
        self.port = int(line[1])

    def url(self, path=""):
        return f"http://127.0.0.1:{self.port}/{path}"

    def stop(self):
        self.process.kill()
        self.process.wait()


@pytest.fixture
def range_server():
    """range_server(root, *fault_args) -> a running RangeServer, stopped after the test."""
    servers = []

    def start(root, *args):
        servers.append(RangeServer(root, *args))
        return servers[-1]

    yield start
    for s in servers:
        s.stop()


@pytest.fixture(autouse=True)
def _no_hf_network(monkeypatch):
    # No model hub here: transformers must never try to reach one.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


def require(condition, why):
    """Skips, or fails under WS_REQUIRE_ALL=1 (CI), when a prerequisite is absent."""
    if not condition:
        if os.environ.get("WS_REQUIRE_ALL") == "1":
            pytest.fail(f"{why} (WS_REQUIRE_ALL=1 turns this skip into a failure)")
        pytest.skip(why)
