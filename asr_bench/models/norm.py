"""wav2vec's one-group GroupNorm followed by ReLU, fused, for activations laid out (batch, time, channel).

Every norm in wav2vec 1.0 has one group: each utterance is normalised over all its frames and channels.
The norms and the first layer are where a training step's memory traffic goes (the convolutions proper are
bound by arithmetic), so this module computes a norm + ReLU in as few passes over the activations as it can:

- forward: one pass of statistics (per-tile mean and sum of squared deviations, merged with Chan's formula,
  so a long utterance loses no precision), one pass that applies the norm and the ReLU and writes the
  output in the input's dtype;
- backward: one pass of reductions (the two per-utterance sums of the norm's gradient, the per-channel
  gradients of weight and bias) and one pass that writes the input's gradient.

Statistics are accumulated in float32 for bf16/fp16/fp32 input (float64 for float64 input), as fairseq's
Fp32GroupNorm does: half precision loses the mean and variance of hundreds of thousands of values.

Two implementations of the same arithmetic:
- "triton": Triton kernels behind `torch.library` custom ops, so they run in eager mode and inside a
  `torch.compile(fullgraph=True)` graph alike. The default on CUDA. (On the CPU they run only under Triton's
  interpreter, TRITON_INTERPRET=1, which is how the tests check them.)
- "torch": the same formulas in torch operations; the default elsewhere. Under torch.compile, Inductor
  fuses them into similar kernels.

`valid_frames` (B,) restricts each utterance's statistics to its first valid_frames[b] frames and writes 0
past them: the padded batches of featurization. The Triton kernels have no backward for that case
(featurization needs none); the torch path has one.
"""

from __future__ import annotations

import torch
from torch import nn

NORM_BACKENDS = ("auto", "triton", "torch")


def accumulation_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype statistics are accumulated in: float64 for float64 input, float32 for anything narrower."""
    return torch.float64 if dtype == torch.float64 else torch.float32


try:  # Triton ships with the CUDA build of torch; absent or unusable elsewhere. After accumulation_dtype: it uses it.
    from asr_bench.models import norm_kernels
except ImportError:  # pragma: no cover - depends on the installation
    norm_kernels = None


def utterance_norm_relu(
    y: torch.Tensor, norm: nn.GroupNorm, valid_frames: torch.Tensor | None = None, backend: str = "auto"
) -> torch.Tensor:
    """relu(GroupNorm(1 group)(y)) for y (B, T, C), each utterance over its own (valid) frames; y's dtype out.

    `norm` supplies the affine weight, bias (C,) and eps, as checkpoints store them. `backend`: see the module
    docstring ("auto": Triton on CUDA when it is installed, torch operations elsewhere).
    """
    if backend not in NORM_BACKENDS:
        raise ValueError(f"norm backend {backend!r}: expected one of {NORM_BACKENDS}")
    if backend == "auto":
        backend = "triton" if y.is_cuda and norm_kernels is not None else "torch"
    if backend == "triton":
        out, _, _ = torch.ops.asr_bench.utterance_norm_relu(y, norm.weight, norm.bias, norm.eps, valid_frames)
        return out
    return _torch_norm_relu(y, norm.weight, norm.bias, norm.eps, valid_frames)


def _torch_norm_relu(
    y: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float, valid_frames: torch.Tensor | None
) -> torch.Tensor:
    acc = accumulation_dtype(y.dtype)
    y_acc = y.to(acc)
    if valid_frames is None:
        var, mean = torch.var_mean(y_acc, dim=(1, 2), keepdim=True, correction=0)
        mask = None
    else:
        mask = (torch.arange(y.shape[1], device=y.device) < valid_frames[:, None]).to(acc)[:, :, None]  # (B, T, 1)
        count = valid_frames.to(acc)[:, None, None] * y.shape[2]
        mean = (y_acc * mask).sum(dim=(1, 2), keepdim=True) / count
        var = (((y_acc - mean) * mask) ** 2).sum(dim=(1, 2), keepdim=True) / count  # two passes: as exact as var_mean
    scale = weight.to(acc) * torch.rsqrt(var + eps)  # (B, 1, C)
    shift = bias.to(acc) - mean * scale
    out = torch.relu(torch.addcmul(shift, y_acc, scale))
    if mask is not None:
        out = out * mask
    return out.to(y.dtype)
