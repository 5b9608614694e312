"""Optimiser and learning-rate schedule shared by pretraining and acoustic-model training.

Both follow the same recipe (the wav2vec paper's): linear warm-up, then cosine decay to
a floor, stepped per update. The total number of updates comes from the Trainer, so
the schedule fits `max_epochs` or `max_steps` whichever limits the run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import pytorch_lightning as pl
import torch


@dataclass(frozen=True)
class OptimConfig:
    """AdamW (Adam when weight_decay is 0, as in the wav2vec paper) or SGD, with warm-up and cosine decay."""

    name: Literal["adamw", "sgd"] = "adamw"
    lr: float = 1e-3
    weight_decay: float = 1e-2
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    momentum: float = 0.9  # sgd only
    warmup_steps: int = 200
    schedule: Literal["cosine", "constant"] = "cosine"
    min_lr_ratio: float = 0.05  # cosine decays to lr * min_lr_ratio


def warmup_cosine(step: int, warmup_steps: int, total_steps: int, min_ratio: float, cosine: bool) -> float:
    """LR multiplier: linear warm-up from 0, then cosine decay to `min_ratio` (or flat)."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if not cosine or total_steps <= warmup_steps:
        return 1.0
    progress = min(1.0, (step - warmup_steps) / (total_steps - warmup_steps))
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def configure_optimization(module: pl.LightningModule, optim: OptimConfig) -> dict[str, Any]:
    """The optimiser and per-step LR schedule for `module`, in the form Lightning's `configure_optimizers` returns."""
    parameters = list(module.parameters())
    if optim.name == "adamw":
        # On CUDA, one fused kernel for all parameters instead of a few per tensor (the same update, up to rounding).
        fused = all(p.is_cuda for p in parameters)
        optimizer = torch.optim.AdamW(
            parameters, lr=optim.lr, betas=optim.betas, eps=optim.eps, weight_decay=optim.weight_decay, fused=fused or None
        )
    else:
        optimizer = torch.optim.SGD(parameters, lr=optim.lr, momentum=optim.momentum, weight_decay=optim.weight_decay)
    total = int(module.trainer.estimated_stepping_batches)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: warmup_cosine(step, optim.warmup_steps, total, optim.min_lr_ratio, optim.schedule == "cosine"),
    )
    return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}
