"""Triton kernels of the fused one-group norm + ReLU (`asr_bench.models.norm`), behind torch.library custom ops.

A program handles one utterance b and a run of `ITERS` tiles of BLOCK_T frames x all C channels; the
per-program partial results (counts, means and sums of squared deviations, merged with Chan's formula;
the backward's per-utterance and per-channel sums) are combined with torch operations on the small
partials. The ops run in eager mode and inside torch.compile graphs alike (Inductor calls them as they
are); on the CPU they run only under Triton's interpreter (TRITON_INTERPRET=1).
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from asr_bench.models.norm import accumulation_dtype

_TILE_ELEMENTS = 4096  # frames x channels per tile: 8 x 512 for the paper's models
_WARPS = 8  # 16 values of a tile per thread: the backward holds four such tiles in registers (98 of them on sm_90)
_MIN_PROGRAMS = 1024  # enough programs to keep every multiprocessor of a large GPU busy


def _tiling(batch: int, frames: int, channels: int) -> tuple[int, int, int, int]:
    """(BLOCK_C, BLOCK_T, ITERS, programs per utterance) for the reduction kernels."""
    block_c = triton.next_power_of_2(channels)
    block_t = max(1, min(64, _TILE_ELEMENTS // block_c))
    tiles = triton.cdiv(frames, block_t)
    iters = 1
    for candidate in (64, 16, 4):  # a few fixed values, so the kernels compile a few times at most
        if batch * triton.cdiv(tiles, candidate) >= _MIN_PROGRAMS:
            iters = candidate
            break
    return block_c, block_t, iters, triton.cdiv(tiles, iters)


@triton.jit
def _stats_kernel(
    y_ptr, valid_ptr, count_ptr, mean_ptr, m2_ptr,
    frames, channels, stride_b, stride_t, programs,
    HAS_VALID: tl.constexpr, BLOCK_T: tl.constexpr, BLOCK_C: tl.constexpr, ITERS: tl.constexpr, ACC: tl.constexpr,
):
    b = tl.program_id(0).to(tl.int64)
    run = tl.program_id(1)
    end = frames
    if HAS_VALID:
        end = tl.minimum(tl.load(valid_ptr + b).to(tl.int32), frames)
    c = tl.arange(0, BLOCK_C)
    c_ok = c < channels
    n_run = tl.zeros((), ACC)
    mean_run = tl.zeros((), ACC)
    m2_run = tl.zeros((), ACC)
    for i in range(ITERS):
        t = (run * ITERS + i) * BLOCK_T + tl.arange(0, BLOCK_T)
        ok = (t < end)[:, None] & c_ok[None, :]
        x = tl.load(y_ptr + b * stride_b + t[:, None] * stride_t + c[None, :], mask=ok, other=0.0).to(ACC)
        rows = tl.minimum(tl.maximum(end - (run * ITERS + i) * BLOCK_T, 0), BLOCK_T)
        n = (rows * channels).to(ACC)
        mean = tl.sum(tl.sum(x, axis=1), axis=0) / tl.maximum(n, 1.0)
        d = tl.where(ok, x - mean, 0.0)
        m2 = tl.sum(tl.sum(d * d, axis=1), axis=0)
        total = n_run + n  # Chan et al.'s merge of (count, mean, M2)
        delta = mean - mean_run
        share = n / tl.maximum(total, 1.0)
        mean_run = mean_run + delta * share
        m2_run = m2_run + m2 + delta * delta * n_run * share
        n_run = total
    out = b * programs + run
    tl.store(count_ptr + out, n_run)
    tl.store(mean_ptr + out, mean_run)
    tl.store(m2_ptr + out, m2_run)


@triton.jit
def _apply_kernel(
    y_ptr, out_ptr, mean_ptr, rstd_ptr, weight_ptr, bias_ptr, valid_ptr,
    frames, channels, stride_b, stride_t,
    HAS_VALID: tl.constexpr, BLOCK_T: tl.constexpr, BLOCK_C: tl.constexpr, ACC: tl.constexpr,
):
    b = tl.program_id(0).to(tl.int64)
    t = tl.program_id(1) * BLOCK_T + tl.arange(0, BLOCK_T)
    c = tl.arange(0, BLOCK_C)
    c_ok = c < channels
    ok = (t < frames)[:, None] & c_ok[None, :]
    scale = tl.load(weight_ptr + c, mask=c_ok, other=0.0).to(ACC) * tl.load(rstd_ptr + b)
    shift = tl.load(bias_ptr + c, mask=c_ok, other=0.0).to(ACC) - tl.load(mean_ptr + b) * scale
    x = tl.load(y_ptr + b * stride_b + t[:, None] * stride_t + c[None, :], mask=ok, other=0.0).to(ACC)
    out = tl.maximum(x * scale[None, :] + shift[None, :], 0.0)
    if HAS_VALID:
        out = tl.where((t < tl.load(valid_ptr + b))[:, None], out, 0.0)
    offsets = b * frames * channels + t[:, None] * channels + c[None, :]
    tl.store(out_ptr + offsets, out.to(out_ptr.dtype.element_ty), mask=ok)


@triton.jit
def _backward_sums_kernel(
    grad_ptr, y_ptr, mean_ptr, rstd_ptr, weight_ptr, bias_ptr, sum_ptr, sum_xhat_ptr, dweight_ptr, dbias_ptr,
    frames, channels, stride_b, stride_t, programs,
    BLOCK_T: tl.constexpr, BLOCK_C: tl.constexpr, ITERS: tl.constexpr, ACC: tl.constexpr,
):
    b = tl.program_id(0).to(tl.int64)
    run = tl.program_id(1)
    c = tl.arange(0, BLOCK_C)
    c_ok = c < channels
    weight = tl.load(weight_ptr + c, mask=c_ok, other=0.0).to(ACC)
    bias = tl.load(bias_ptr + c, mask=c_ok, other=0.0).to(ACC)
    mean = tl.load(mean_ptr + b)
    rstd = tl.load(rstd_ptr + b)
    dweight = tl.zeros((BLOCK_C,), ACC)
    dbias = tl.zeros((BLOCK_C,), ACC)
    total = tl.zeros((), ACC)
    total_xhat = tl.zeros((), ACC)
    for i in range(ITERS):
        t = (run * ITERS + i) * BLOCK_T + tl.arange(0, BLOCK_T)
        ok = (t < frames)[:, None] & c_ok[None, :]
        x = tl.load(y_ptr + b * stride_b + t[:, None] * stride_t + c[None, :], mask=ok, other=0.0).to(ACC)
        g = tl.load(grad_ptr + b * frames * channels + t[:, None] * channels + c[None, :], mask=ok, other=0.0).to(ACC)
        xhat = (x - mean) * rstd
        g = tl.where(ok & (xhat * weight[None, :] + bias[None, :] > 0.0), g, 0.0)  # through the ReLU
        dweight += tl.sum(g * xhat, axis=0)
        dbias += tl.sum(g, axis=0)
        g_xhat = g * weight[None, :]
        total += tl.sum(tl.sum(g_xhat, axis=1), axis=0)
        total_xhat += tl.sum(tl.sum(g_xhat * xhat, axis=1), axis=0)
    out = b * programs + run
    tl.store(sum_ptr + out, total)
    tl.store(sum_xhat_ptr + out, total_xhat)
    tl.store(dweight_ptr + out * channels + c, dweight, mask=c_ok)
    tl.store(dbias_ptr + out * channels + c, dbias, mask=c_ok)


@triton.jit
def _backward_input_kernel(
    grad_ptr, y_ptr, mean_ptr, rstd_ptr, weight_ptr, bias_ptr, mean_g_ptr, mean_g_xhat_ptr, dy_ptr,
    frames, channels, stride_b, stride_t,
    BLOCK_T: tl.constexpr, BLOCK_C: tl.constexpr, ACC: tl.constexpr,
):
    b = tl.program_id(0).to(tl.int64)
    t = tl.program_id(1) * BLOCK_T + tl.arange(0, BLOCK_T)
    c = tl.arange(0, BLOCK_C)
    c_ok = c < channels
    ok = (t < frames)[:, None] & c_ok[None, :]
    weight = tl.load(weight_ptr + c, mask=c_ok, other=0.0).to(ACC)
    bias = tl.load(bias_ptr + c, mask=c_ok, other=0.0).to(ACC)
    mean = tl.load(mean_ptr + b)
    rstd = tl.load(rstd_ptr + b)
    x = tl.load(y_ptr + b * stride_b + t[:, None] * stride_t + c[None, :], mask=ok, other=0.0).to(ACC)
    offsets = b * frames * channels + t[:, None] * channels + c[None, :]
    g = tl.load(grad_ptr + offsets, mask=ok, other=0.0).to(ACC)
    xhat = (x - mean) * rstd
    g = tl.where(xhat * weight[None, :] + bias[None, :] > 0.0, g, 0.0)
    dy = rstd * (g * weight[None, :] - tl.load(mean_g_ptr + b) - xhat * tl.load(mean_g_xhat_ptr + b))
    tl.store(dy_ptr + offsets, dy.to(dy_ptr.dtype.element_ty), mask=ok)


_TL_ACC = {torch.float32: tl.float32, torch.float64: tl.float64}


def _rows(y: torch.Tensor) -> torch.Tensor:
    """y with unit channel stride (batch and time strides are free: a view of a padded buffer is fine)."""
    return y if y.stride(2) == 1 else y.contiguous()


@torch.library.custom_op("asr_bench::utterance_norm_relu", mutates_args=())
def _norm_relu_op(
    y: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float, valid_frames: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(out (B, T, C) contiguous in y's dtype, mean (B,), rstd (B,)), statistics in the accumulation dtype."""
    y = _rows(y)
    batch, frames, channels = y.shape
    acc = accumulation_dtype(y.dtype)
    block_c, block_t, iters, programs = _tiling(batch, frames, channels)
    parts = [torch.empty(batch, programs, dtype=acc, device=y.device) for _ in range(3)]
    has_valid = valid_frames is not None
    valid = valid_frames if has_valid else parts[0]  # any pointer: unread without HAS_VALID
    _stats_kernel[(batch, programs)](
        y, valid, *parts, frames, channels, y.stride(0), y.stride(1), programs,
        HAS_VALID=has_valid, BLOCK_T=block_t, BLOCK_C=block_c, ITERS=iters, ACC=_TL_ACC[acc], num_warps=_WARPS,
    )
    count, means, m2 = parts
    total = count.sum(dim=1)
    mean = (count * means).sum(dim=1) / total.clamp(min=1)
    var = (m2.sum(dim=1) + (count * (means - mean[:, None]) ** 2).sum(dim=1)) / total.clamp(min=1)
    rstd = torch.rsqrt(var + eps)
    out = torch.empty(batch, frames, channels, dtype=y.dtype, device=y.device)
    _apply_kernel[(batch, triton.cdiv(frames, block_t))](
        y, out, mean, rstd, weight, bias, valid, frames, channels, y.stride(0), y.stride(1),
        HAS_VALID=has_valid, BLOCK_T=block_t, BLOCK_C=block_c, ACC=_TL_ACC[acc], num_warps=_WARPS,
    )
    return out, mean, rstd


@_norm_relu_op.register_fake
def _(y, weight, bias, eps, valid_frames):
    acc = accumulation_dtype(y.dtype)
    batch = y.shape[0]
    return y.new_empty(y.shape), y.new_empty(batch, dtype=acc), y.new_empty(batch, dtype=acc)


@torch.library.custom_op("asr_bench::utterance_norm_relu_backward", mutates_args=())
def _norm_relu_backward_op(
    grad: torch.Tensor, y: torch.Tensor, mean: torch.Tensor, rstd: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Gradients of y, weight and bias from the output's gradient."""
    y, grad = _rows(y), grad.contiguous()
    batch, frames, channels = y.shape
    acc = mean.dtype
    block_c, block_t, iters, programs = _tiling(batch, frames, channels)
    sums = [torch.empty(batch, programs, dtype=acc, device=y.device) for _ in range(2)]
    per_channel = [torch.empty(batch * programs, channels, dtype=acc, device=y.device) for _ in range(2)]
    _backward_sums_kernel[(batch, programs)](
        grad, y, mean, rstd, weight, bias, *sums, *per_channel, frames, channels, y.stride(0), y.stride(1), programs,
        BLOCK_T=block_t, BLOCK_C=block_c, ITERS=iters, ACC=_TL_ACC[acc], num_warps=_WARPS,
    )
    count = frames * channels
    mean_g, mean_g_xhat = (s.sum(dim=1) / count for s in sums)
    dy = torch.empty(batch, frames, channels, dtype=y.dtype, device=y.device)
    _backward_input_kernel[(batch, triton.cdiv(frames, block_t))](
        grad, y, mean, rstd, weight, bias, mean_g, mean_g_xhat, dy, frames, channels, y.stride(0), y.stride(1),
        BLOCK_T=block_t, BLOCK_C=block_c, ACC=_TL_ACC[acc], num_warps=_WARPS,
    )
    dweight, dbias = (p.sum(dim=0).to(weight.dtype) for p in per_channel)
    return dy, dweight, dbias


@_norm_relu_backward_op.register_fake
def _(grad, y, mean, rstd, weight, bias):
    return y.new_empty(y.shape), torch.empty_like(weight), torch.empty_like(bias)


def _setup_context(ctx, inputs, output) -> None:
    y, weight, bias, _, valid_frames = inputs
    _, mean, rstd = output
    ctx.masked = valid_frames is not None
    ctx.save_for_backward(y, weight, bias, mean, rstd)


def _backward(ctx, grad, _grad_mean, _grad_rstd):
    if ctx.masked:
        raise NotImplementedError("the Triton norm has no backward with valid_frames: use backend='torch'")
    y, weight, bias, mean, rstd = ctx.saved_tensors
    dy, dweight, dbias = _norm_relu_backward_op(grad, y, mean, rstd, weight, bias)
    return dy, dweight, dbias, None, None

_norm_relu_op.register_autograd(_backward, setup_context=_setup_context)
