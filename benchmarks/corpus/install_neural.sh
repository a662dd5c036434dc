#!/usr/bin/env bash
# Install the neural-decoder stack for benchmarks/corpus/neural.py (idempotent; safe to re-run).
#
# Verified 2026-11 on Debian / Python 3.11 (CPU only):
#   torch 2.13.0+cpu (local wheel from /opt/wheels, picked up by pip's find-links config)
#   descript-audio-codec 1.0.0, encodec 0.1.1, snac 1.2.1, vocos 0.1.0   (all --no-deps)
#   einops 0.8.2, tqdm 4.70.1                                             (tiny, pure python)
#
# Deliberately NOT installed:
#   * torchaudio: PyPI only has CUDA builds for torch <= 2.11 here; they fail to load
#     (libc10_cuda.so missing / ABI mismatch) and an installed-but-broken torchaudio raises OSError on
#     import, which breaks `try: import torchaudio except ImportError` elsewhere.
#   * descript-audiotools, argbind, huggingface_hub: only needed by DAC/Vocos file-I/O, CLI and
#     pretrained download code; audiotools itself imports torchaudio.
#   neural.py supplies inert import placeholders for these while importing the model classes.
# NEVER `pip install torch` without the pin: that pulls a multi-GB CUDA build.
set -euo pipefail
PY=${PYTHON:-python3}

if ! "$PY" -c 'import torch, sys; sys.exit(0 if torch.__version__.startswith("2.13.0") else 1)' 2>/dev/null; then
    "$PY" -m pip install "torch==2.13.0"
fi

"$PY" -m pip install --no-deps \
    "descript-audio-codec==1.0.0" "encodec==0.1.1" "snac==1.2.1" "vocos==0.1.0" \
    "einops==0.8.2"
"$PY" -m pip install "tqdm"   # imported at module level by dac.model.base
"$PY" -m pip install numpy scipy   # neural.py's own imports (already there once musicforensics is installed)

# Refuse a broken torchaudio (CUDA wheel) if something else installed it.
if "$PY" -c 'import importlib.util,sys; sys.exit(0 if importlib.util.find_spec("torchaudio") else 1)'; then
    if ! "$PY" -c 'import torchaudio' 2>/dev/null; then
        echo "WARNING: torchaudio is installed but fails to import (CUDA/ABI mismatch);" \
             "neural.py works around it, but consider: pip uninstall -y torchaudio" >&2
    fi
fi

cd "$(dirname "$0")/../.."
"$PY" -c 'from benchmarks.corpus import neural; ok, why = neural.available(); print("neural.available():", ok, why); raise SystemExit(0 if ok else 1)'
