#!/usr/bin/env bash
# The independent reference implementations (safetensors, tokenizers,
# transformers, torch) in a venv over Debian's python3-torch (1.13, CPU), which
# is far lighter than PyPI's torch wheels with their CUDA libraries.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv"
if [ ! -x "$venv/bin/python" ]; then
  /usr/bin/python3 -m venv --system-site-packages "$venv"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check \
  'transformers==4.44.2' 'tokenizers>=0.19,<0.20' 'safetensors>=0.4' 'gguf>=0.10' 'sentencepiece' 'protobuf' 'jinja2>=3.1'
"$venv/bin/python" -c "import torch, transformers, tokenizers, safetensors; print('python reference:', 'torch', torch.__version__, 'transformers', transformers.__version__, 'tokenizers', tokenizers.__version__)"
