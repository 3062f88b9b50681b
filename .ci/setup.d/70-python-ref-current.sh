#!/usr/bin/env bash
# The current reference stack in build/venv-current (git-ignored): PyPI's torch
# (its x86_64 wheel links MKL; the CUDA libraries come with it and stay unused
# here), current transformers, tokenizers and jinja2. Used where Debian's torch
# 1.13 + transformers 4.44 cannot serve as the reference: architectures newer
# than transformers 4.44 (Qwen3, Gemma 3), tokenizer.json files that tokenizers
# 0.19 cannot read, and peers measured at their best in bench/ (a BLAS-backed
# torch, issue 17). About 70 s and 5.6 GB on a fresh machine. Idempotent.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv="$root/build/venv-current"
# gguf + accelerate: transformers' GGUF reader, which checks the GGUF family fixtures.
pins=('torch==2.15.0' 'transformers==5.23.0' 'tokenizers==0.23.3' 'jinja2==3.1.6' 'safetensors>=0.4' 'numpy'
      'gguf==0.19.0' 'accelerate==1.15.0')
stamp="$venv/PINS"
if [ "$(cat "$stamp" 2>/dev/null)" != "${pins[*]}" ]; then
  [ -x "$venv/bin/python" ] || /usr/bin/python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "${pins[@]}"
  echo "${pins[*]}" > "$stamp"
fi
"$venv/bin/python" -c "import torch, transformers, tokenizers; print('current python reference:', 'torch', torch.__version__, '(BLAS', torch.__config__.show().split('BLAS_INFO=')[1].split(',')[0] + ')', 'transformers', transformers.__version__, 'tokenizers', tokenizers.__version__)"
