#!/usr/bin/env bash
# pytest in the reference venv, for the Python package's tests (python/tests).
# The package's build requirements (scikit-build-core, pybind11) are fetched
# by pip itself into an isolated build environment when it builds the wheel.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
"$root/.venv/bin/python" -m pip install -q --disable-pip-version-check 'pytest>=7'
