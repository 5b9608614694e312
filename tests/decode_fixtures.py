"""Hand-built emissions for the decoding tests, and whether KenLM's lmplz is there to build LMs with."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

HAVE_LMPLZ = (Path(sys.executable).parent / "lmplz").is_file() or shutil.which("lmplz") is not None


def log_probs(frames: list[dict[str, float]], symbols: Sequence[str]) -> torch.Tensor:
    """(frames, tokens) log-probs: each frame's listed symbols get their probabilities, the rest share 1e-4."""
    probs = torch.full((len(frames), len(symbols)), 1e-4)
    for t, frame in enumerate(frames):
        for symbol, p in frame.items():
            probs[t, list(symbols).index(symbol)] = p
    return (probs / probs.sum(-1, keepdim=True)).log()
