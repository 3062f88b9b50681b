#!/usr/bin/env bash
# bench/make_devdeps.sh — what bench/gpu.sh needs on a GPU image that has
# CUDA, PyTorch and CMake but not our Debian -dev packages nor the reference
# Python stack: run it HERE (after .ci/install-deps.sh and a native build
# with its fixtures, e.g. `ctest --preset native -R fixtures`), then carry
# .devdeps to the GPU machine (device tool: carry [".devdeps"]).
#
#   .devdeps/usr       nlohmann-json (headers + CMake config), GoogleTest/GMock
#                      (headers, static libraries, CMake config); relocatable
#   .devdeps/fixtures  build/native/fixtures/{models,gguf}: bench/gpu.sh copies
#                      them into its build dir and ctest skips fixture setup
#
# .devdeps is git-ignored through .git/info/exclude (added here if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
out=.devdeps
rm -rf "$out"
mkdir -p "$out/usr/include" "$out/usr/share/cmake" "$out/usr/lib/x86_64-linux-gnu/cmake" "$out/fixtures"
cp -r /usr/include/nlohmann /usr/include/gtest /usr/include/gmock "$out/usr/include/"
cp -r /usr/share/cmake/nlohmann_json "$out/usr/share/cmake/"
cp /usr/lib/x86_64-linux-gnu/libgtest*.a /usr/lib/x86_64-linux-gnu/libgmock*.a "$out/usr/lib/x86_64-linux-gnu/"
cp -r /usr/lib/x86_64-linux-gnu/cmake/GTest "$out/usr/lib/x86_64-linux-gnu/cmake/"
for f in models gguf; do
  [ -d "build/native/fixtures/$f" ] || { echo "build/native/fixtures/$f missing: run ctest --preset native -R fixtures first" >&2; exit 1; }
  cp -r "build/native/fixtures/$f" "$out/fixtures/"
done
mkdir -p .git/info
grep -qx '/.devdeps/' .git/info/exclude 2> /dev/null || echo '/.devdeps/' >> .git/info/exclude
du -sh "$out"
