#!/usr/bin/env bash
# bench/gpu.sh — the LibTorch backend on a GPU machine with PyTorch 2.x (CUDA)
# and a CUDA toolkit (nvcc on PATH). It has NOT been run: the machine this was
# written on has no GPU, no CUDA toolkit and only Debian's CPU LibTorch 1.13.
#
#   1. configures preset native-torch (binary dir build/gpu) against PyTorch's
#      LibTorch (python3 -c "import torch; print(torch.utils.cmake_prefix_path)")
#   2. builds and runs the torch tests: the ATen ops on LibTorch 2.x (the
#      scaled_dot_product_attention path that 1.13 lacks) against transformers;
#      the CUDA tests skip with their reason where a GPU is present
#   3. measures pinned host -> device bandwidth (torch, 1 GiB, best of 5)
#   4. loads a 2 GiB bf16 checkpoint with --backend torch --device cuda and
#      reports host peak RSS and throughput next to that bandwidth. This build
#      has no CUDA destination yet (issue 4, step 4): the load is refused with
#      a typed error, which the script reports instead of a figure.
#
# usage: bash bench/gpu.sh            (PYTHON=python3 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
stamp() { echo "== $*"; }

prefix=$("$PYTHON" -c "import torch; print(torch.utils.cmake_prefix_path)")
torch_version=$("$PYTHON" -c "import torch; print(torch.__version__)")
cxx11_abi=$("$PYTHON" -c "import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))")
cuda=$("$PYTHON" -c "import torch; print(int(torch.cuda.is_available()))")
stamp "PyTorch $torch_version (CMake prefix $prefix), CUDA available: $cuda, C++11 ABI: $cxx11_abi"
if [ "$cxx11_abi" != 1 ]; then
  # Debian's GoogleTest and our other dependencies use the C++11 string ABI.
  echo "this PyTorch uses the pre-C++11 ABI; install a build with torch._C._GLIBCXX_USE_CXX11_ABI == True" >&2
  exit 1
fi
extra=()
if command -v nvcc > /dev/null; then
  extra+=("-DCUDAToolkit_ROOT=$(dirname "$(dirname "$(command -v nvcc)")")" "-DCMAKE_CUDA_COMPILER=$(command -v nvcc)")
fi

stamp "configure + build (preset native-torch -> build/gpu)"
cmake --preset native-torch -B build/gpu -DCMAKE_PREFIX_PATH="$prefix" -DWS_PYTHON="$(command -v "$PYTHON")" "${extra[@]}"
cmake --build build/gpu -j "$(nproc)"

stamp "torch tests"
(cd build/gpu && ctest --output-on-failure -R 'Torch(Skeleton|Device|Cuda|Backend|Cli|Load|Parity)\.')

stamp "pinned host -> device bandwidth"
h2d=$("$PYTHON" - <<'PY'
import time, torch
n = 1 << 30
host = torch.empty(n, dtype=torch.uint8).pin_memory()
dev = torch.empty(n, dtype=torch.uint8, device="cuda")
best = 0.0
for _ in range(5):
    torch.cuda.synchronize(); t = time.perf_counter()
    dev.copy_(host, non_blocking=True); torch.cuda.synchronize()
    best = max(best, n / (time.perf_counter() - t))
print(f"{best / 1e9:.2f}")
PY
)
echo "pinned H2D: $h2d GB/s"

stamp "CUDA load of a 2 GiB bf16 checkpoint"
ckpt=build/gpu/bench-bf16-2g
[ -s "$ckpt/model.safetensors.index.json" ] || "$PYTHON" bench/make_checkpoint.py "$ckpt" --gib 2 --shards 3 --dtype BF16
cat "$ckpt"/*.safetensors > /dev/null  # warm page cache: the figure is the copy path, not the disk
if out=$(build/gpu/weightstream load "$ckpt" --backend torch --device cuda --json 2> build/gpu/cuda-load.err); then
  "$PYTHON" - "$out" "$h2d" <<'PY'
import json, sys
r, h2d = json.loads(sys.argv[1]), float(sys.argv[2])
gbs = r["bound_bytes"] / r["seconds"] / 1e9
print(f"bound {r['bound_bytes'] / 1e9:.2f} GB in {r['seconds']:.3f} s = {gbs:.2f} GB/s ({100 * gbs / h2d:.0f}% of pinned H2D); "
      f"host peak RSS {r['peak_rss_bytes'] / 1e6:.1f} MB (before loading {r['rss_before_bytes'] / 1e6:.1f} MB), "
      f"staging {r['staging_bytes'] / 1e6:.1f} MB")
PY
else
  echo "CUDA load refused: $(cat build/gpu/cuda-load.err)"
fi
