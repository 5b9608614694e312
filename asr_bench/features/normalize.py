"""Per-utterance mean and variance normalisation of feature frames, shared by every feature type.

Applied to log-mel and (by default) to wav2vec features alike, so that the acoustic model
sees both on the same footing: wav2vec's context features come out of a ReLU with
per-dimension scales differing by 50x, which stalls CTC training at the all-blank output.
"""

from __future__ import annotations

import torch


def utterance_mvn(features: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """(frames, dim) -> zero mean, unit variance per dimension over the utterance's frames."""
    return (features - features.mean(dim=0)) / (features.std(dim=0, unbiased=False) + eps)
