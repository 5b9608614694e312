#!/usr/bin/env bash
# Set up a fresh machine: a virtual environment in .venv with asr-bench and its test extras,
# plus KenLM's lmplz/build_binary built beside the venv's python. Idempotent: a second run is quick.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import asr_bench, torch, torchaudio, pytorch_lightning, jiwer, kenlm, flashlight.lib.text, desphere, unlzw3, pytest" 2>/dev/null; then
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -e ".[test]"
fi
bash scripts/build_kenlm.sh "$VENV"
echo "setup done: $("$VENV/bin/python" -c 'import torch, asr_bench; print("torch", torch.__version__, "asr-bench", asr_bench.__version__)')"
