#!/usr/bin/env bash
# A CUDA toolkit to compile preset native-cuda against, on machines that have
# none: NVIDIA's own PyPI wheels (nvcc, its NVVM back end, the C runtime
# headers, CCCL and the runtime library), unpacked to build/cuda-toolkit
# (git-ignored). CI has no GPU: the CUDA code is compiled and linked, and its
# tests skip. Prints nothing when already there. A machine with
# /usr/local/cuda does not need this (CUDACXX=/usr/local/cuda/bin/nvcc).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
version=13.5.37
dest="$root/build/cuda-toolkit"
nvcc="$dest/nvidia/cu13/bin/nvcc"
if [ -x "$nvcc" ] && [ "$(cat "$dest/VERSION" 2>/dev/null)" = "$version" ]; then
  exit 0
fi
python=python3
[ -x "$root/.venv/bin/python" ] && python="$root/.venv/bin/python"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" -m pip download --quiet --no-deps --only-binary=:all: -d "$work" \
  "nvidia-cuda-nvcc==$version" "nvidia-nvvm==$version" "nvidia-cuda-crt==$version" \
  "nvidia-cuda-runtime==$version" "nvidia-cuda-cccl==13.3.5.0.6"
rm -rf "$dest"
mkdir -p "$dest"
for wheel in "$work"/*.whl; do
  "$python" -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$wheel" "$dest"
done
# zipfile drops the executable bits; the runtime wheel has only the versioned .so.
chmod +x "$dest"/nvidia/cu13/bin/* "$dest"/nvidia/cu13/nvvm/bin/*
ln -sf libcudart.so.13 "$dest/nvidia/cu13/lib/libcudart.so"
"$nvcc" --version | tail -n 2
echo "$version" > "$dest/VERSION"
