#!/usr/bin/env bash
# llama.cpp for the GGUF output test (tests/native/convert_gguf_test.cpp,
# LlamaCppAgrees) and the benchmarks' side-by-side runs: npm node-llama-cpp
# with its prebuilt Linux x64 CPU binaries only, installed into
# build/node-llama-cpp (git-ignored). No install scripts run, so nothing is
# downloaded or built beyond the two npm packages; the test loads the
# prebuilt binary with build "never". Idempotent.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
version=3.22.1
dest="$root/build/node-llama-cpp"
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "node-llama-cpp: no prebuilt CPU package for $(uname -s)-$(uname -m); the llama.cpp test will skip"
  exit 0
fi
if [ "$(cat "$dest/VERSION" 2>/dev/null)" = "$version" ] && [ -f "$dest/node_modules/node-llama-cpp/package.json" ]; then
  exit 0
fi
mkdir -p "$dest"
[ -f "$dest/package.json" ] || echo '{"name": "ws-node-llama-cpp", "private": true}' > "$dest/package.json"
(cd "$dest" && NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install --no-audit --no-fund --silent --omit=optional \
   --ignore-scripts "node-llama-cpp@$version" "@node-llama-cpp/linux-x64@$version")
echo "$version" > "$dest/VERSION"
echo "node-llama-cpp: $version (prebuilt linux-x64 CPU) -> $dest"
