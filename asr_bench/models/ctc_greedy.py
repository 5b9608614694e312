"""Greedy (best-path) reading of CTC outputs: argmax per frame, merge repeats, drop blanks.

With the models rather than in decode/ because training's validation reads its outputs this way too.
"""

from __future__ import annotations

import torch


def greedy_indices(log_probs: torch.Tensor, blank: int = 0) -> list[int]:
    """(num_frames, num_tokens) scores -> token indices of the best path after CTC collapsing."""
    best = log_probs.argmax(dim=-1)
    if best.numel() == 0:
        return []
    keep = torch.ones_like(best, dtype=torch.bool)
    keep[1:] = best[1:] != best[:-1]
    return [int(i) for i in best[keep & (best != blank)]]


def greedy_batch(log_probs: torch.Tensor, lengths: torch.Tensor, blank: int = 0) -> list[list[int]]:
    """(batch, num_frames, num_tokens) padded scores with true `lengths` -> token indices per utterance."""
    return [greedy_indices(log_probs[b, : int(lengths[b])], blank) for b in range(log_probs.shape[0])]
