#!/usr/bin/env bash
# Installs everything weightstream's build and tests need, from the package
# registries only (Debian, PyPI, npm). Idempotent.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export DEBIAN_FRONTEND=noninteractive
apt_packages=(cmake ninja-build g++ clang-14 libclang-rt-14-dev nlohmann-json3-dev libgtest-dev libgmock-dev
              libcurl4-openssl-dev python3-torch python3-numpy python3-venv python3-pip
              libtorch-dev)
missing=()
for p in "${apt_packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
bash "$root/.ci/setup-python-ref.sh"
for script in "$root"/.ci/setup.d/*.sh; do
  [ -e "$script" ] && bash "$script"
done
echo "dependencies ready"
