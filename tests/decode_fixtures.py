"""Hand-built emissions and bigram LMs for the decoding tests, and whether KenLM's lmplz is there to build LMs with."""

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


def bigram_arpa(first: str, likely: str, rare: str, likely_unigram: float = -3.0) -> str:
    """An ARPA bigram LM in which `first` is followed by `likely` far more than by `rare`.

    log10 P(likely | first) = -0.05, while `first rare` backs off to `rare`'s unigram (-3.0).
    """
    return (
        "\\data\\\nngram 1=6\nngram 2=3\n\n\\1-grams:\n"
        f"-1.5\t<unk>\t0\n0\t<s>\t-0.3\n-1.0\t</s>\t0\n-0.7\t{first}\t-0.5\n"
        f"{likely_unigram}\t{likely}\t-0.3\n-3.0\t{rare}\t-0.3\n\n"
        f"\\2-grams:\n-0.05\t<s> {first}\n-0.05\t{first} {likely}\n-0.1\t{likely} </s>\n\n\\end\\\n"
    )
