"""wav2vec 1.0's contrastive losses and their summaries, for both implementations of the model.

Loss (paper, eq. 1): for each step k = 1..K and position i,
    -log sigmoid(z_{i+k} . h_k(c_i)) - lambda * E[log sigmoid(-z~ . h_k(c_i))],
with lambda = the number of negatives, so the expectation over negatives becomes their
sum. It is summed over steps and positions and divided by the number of positive
terms, as the reference implementation normalises it, so the logged figure does not
depend on crop length or batch size. Summaries: the accuracy (how often the positive
outscores all of its negatives), the logit spread and z's spread over time, which show a
collapse to the binary loss's trivial solution.

- The reference path scores `StepScores` (by prediction position) and selects the valid
  terms with a boolean mask: `contrastive_bce`, `contrastive_infonce`.
- The time-major path scores `TargetLogits` (by target frame), masks by multiplication and
  divides by a Python count: `time_major_loss`, which makes no host synchronisation, so a
  whole step (forward and loss) compiles as one graph; its summaries (`time_major_summary`)
  are computed apart, only on the steps that log them.
Both give the same loss and gradients (tests/test_wav2vec_time_major.py, in float64).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F

from asr_bench.errors import ConfigError
from asr_bench.models.norm import accumulation_dtype
from asr_bench.models.wav2vec import StepScores, TargetLogits, Wav2Vec

class ContrastiveLoss(NamedTuple):
    loss: torch.Tensor  # scalar: per positive term
    accuracy: torch.Tensor  # fraction of positions where the positive beats every negative
    num_positives: int
    # std of each target's candidate logits (positive and negatives), averaged: 0 when every candidate
    # scores alike, the binary loss's trivial solution, whether z or the predictions carry no information
    logit_spread: torch.Tensor


def _valid_logits(scores: StepScores) -> tuple[torch.Tensor, torch.Tensor]:
    """Positive (P,) and negative (P, N) logits at the prediction positions whose target is inside the crop."""
    valid = scores.valid.unsqueeze(1).expand_as(scores.positive)  # (K, B, F)
    acc = accumulation_dtype(scores.positive.dtype)
    positive, negative = scores.positive.to(acc)[valid], scores.negative.to(acc)[valid]
    if positive.numel() == 0:
        raise _no_targets()
    return positive, negative


def _no_targets() -> ConfigError:
    return ConfigError("no prediction targets inside the crop: crops are shorter than offset + prediction_steps")


def _summary(loss: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor) -> ContrastiveLoss:
    with torch.no_grad():
        accuracy = (positive.unsqueeze(1) > negative).all(dim=1).float().mean()
        spread = torch.cat([positive.unsqueeze(1), negative], dim=1).std(dim=1).mean()
    return ContrastiveLoss(loss, accuracy, int(positive.numel()), spread)


def contrastive_bce(scores: StepScores) -> ContrastiveLoss:
    """The paper's loss from step logits: positive (K, B, F), negative (K, B, F, N), valid (K, F)."""
    positive, negative = _valid_logits(scores)
    # -log sigmoid(x) = softplus(-x); -log sigmoid(-x) = softplus(x)
    total = F.softplus(-positive).sum() + F.softplus(negative).sum()
    return _summary(total / positive.numel(), positive, negative)


def contrastive_infonce(scores: StepScores) -> ContrastiveLoss:
    """Softmax cross-entropy picking the positive among itself and its negatives (vq-wav2vec / wav2vec 2.0's loss).

    Not the paper's. It is offered because it depends only on logit differences: the
    binary loss can be lowered by scoring every candidate alike (towards probability
    1 / (N + 1)), which a model reaches by making z constant over time, and small models
    trained briefly do exactly that (`train/z_time_std` falls towards 0, accuracy stays at
    chance); the softmax loss gains nothing from it.
    """
    positive, negative = _valid_logits(scores)
    logits = torch.cat([positive.unsqueeze(1), negative], dim=1)
    loss = F.cross_entropy(logits, torch.zeros(len(logits), dtype=torch.long, device=logits.device))
    return _summary(loss, positive, negative)


LOSSES = {"bce": contrastive_bce, "infonce": contrastive_infonce}


def z_time_std(z: torch.Tensor, time_dim: int) -> torch.Tensor:
    """How much z varies over time, averaged over utterances and channels; its fall to 0 shows a collapse."""
    with torch.no_grad():
        return z.detach().float().std(dim=time_dim).mean()


def reference_loss(
    model: Wav2Vec, z: torch.Tensor, c: torch.Tensor, loss: str, generator: torch.Generator | None
) -> tuple[ContrastiveLoss, torch.Tensor]:
    """The reference path's loss and summaries from z, c (B, C, F), and z's spread over time."""
    return LOSSES[loss](model.contrastive_scores(z, c, generator)), z_time_std(z, time_dim=2)


def target_frame_loss(scores: TargetLogits, loss: str) -> torch.Tensor:
    """The loss `LOSSES[loss]` gives, from logits indexed by target frame."""
    if scores.num_positives == 0:
        raise _no_targets()
    logits = scores.logits
    if loss == "bce":
        per_target = F.softplus(-logits[..., 0]) + F.softplus(logits[..., 1:]).sum(dim=-1)  # (B, F, K)
    elif loss == "infonce":
        per_target = torch.logsumexp(logits, dim=-1) - logits[..., 0]
    else:
        raise ConfigError(f"loss {loss!r}: expected one of {sorted(LOSSES)}")
    return (per_target * scores.mask).sum() / scores.num_positives


class TimeMajorStep(NamedTuple):
    """What a time-major training step returns: the loss, and what its summaries need (detached)."""

    loss: torch.Tensor
    scores: TargetLogits
    z: torch.Tensor


def time_major_loss(model: Wav2Vec, wav: torch.Tensor, negatives: torch.Tensor, loss: str) -> TimeMajorStep:
    """Forward and loss of the time-major path: audio (B, S) and negatives (B, F, N) -> TimeMajorStep.

    No host synchronisation happens in here, so `torch.compile(fullgraph=True)` captures it whole. The crops
    must be exactly tiled (`Wav2Vec.tiled_samples`): saying so in terms of the frame count F lets a graph
    compiled for dynamic shapes write every layer's length as a linear function of F, instead of as nested
    floor divisions of the sample count, which took Dynamo minutes to reason about.
    """
    frames = negatives.shape[1]
    torch._check(wav.shape[0] == negatives.shape[0], lambda: "one row of negatives per crop")
    torch._check(wav.shape[1] == model.samples_for_frames(frames), lambda: "crops must be tiled exactly (tiled_samples)")
    z, c = model.forward_time_major(wav)
    scores = model.target_logits(z, c, negatives)
    detached = TargetLogits(scores.logits.detach(), scores.mask, scores.num_positives)
    return TimeMajorStep(target_frame_loss(scores, loss), detached, z.detach())


def time_major_summary(step: TimeMajorStep) -> dict[str, torch.Tensor]:
    """accuracy, logit_spread and z_time_std of a time-major step: the reference's `ContrastiveLoss` summaries."""
    logits, mask, count = step.scores
    with torch.no_grad():
        wins = (logits[..., :1] > logits[..., 1:]).all(dim=-1).to(mask.dtype)
        accuracy = (wins * mask).sum() / count
        spread = (logits.std(dim=-1) * mask).sum() / count
    return {"accuracy": accuracy, "logit_spread": spread, "z_time_std": z_time_std(step.z, time_dim=1)}


def compiled_time_major_loss(
    model: Wav2Vec, loss: str, dynamic: bool = True, **compile_options: object
) -> Callable[[torch.Tensor, torch.Tensor], TimeMajorStep]:
    """`time_major_loss` as one torch.compile graph (fullgraph: any break is an error, not a slow step).

    dynamic: batch size and crop length are symbolic, so the crops of short utterances (other lengths,
    other counts) reuse the one graph instead of compiling one each; False compiles per shape.
    """

    def step(wav: torch.Tensor, negatives: torch.Tensor) -> TimeMajorStep:
        return time_major_loss(model, wav, negatives, loss)

    compiled = torch.compile(step, fullgraph=True, dynamic=None if dynamic else False, **compile_options)

    def run(wav: torch.Tensor, negatives: torch.Tensor) -> TimeMajorStep:
        if dynamic:  # marked per call: the mark is a property of the tensor
            for tensor in (wav, negatives):
                torch._dynamo.maybe_mark_dynamic(tensor, 0)
                torch._dynamo.maybe_mark_dynamic(tensor, 1)
        return compiled(wav, negatives)

    return run
