"""wav2vec's convolutions on activations laid out (batch, time, channel), without layout transposes.

`nn.Conv1d` takes (batch, channel, time), and on a GPU cuDNN runs its fast kernels in the other layout, so
every convolution of the reference model transposes its input, output and gradients (benchmarks/RESULTS.md).
Here the activations stay (batch, time, channel) end to end and each convolution is the cheapest exact
rewrite for its shape, using the weights as `nn.Conv1d` stores them (out_channels, in_channels, kernel):

- kernel = 2 x stride (every encoder layer after the first in the paper's models): on an input of
  stride x (frames + 1) steps, rows of `stride` consecutive steps are a free view of the contiguous tensor,
  and output frame t reads rows t and t + 1, so the convolution is two GEMMs with K = stride x channels
  (`tiled_conv`); no im2col copy. A longer input is first cut to that length (its last steps reach no
  output frame).
- one input channel (the first layer, on audio): the overlapping audio frames copied out (K = kernel,
  padded to 16 for tensor-core alignment) and one GEMM.
- kernel 1, stride 1 (wav2vec large's extra encoder layers): one GEMM.
- anything else, and the context network's causal convolutions: cuDNN's conv2d on channels-last 4-D views
  of the (batch, time, channel) data (`conv_channels_last`), which are what its fast kernels read and write.

All of them equal `F.conv1d` on the transposed data; tests/test_wav2vec_time_major.py checks values and
gradients in float64.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

_AUDIO_K_ALIGN = 16  # K of the first layer's GEMM, padded to a multiple of 16 bf16 values (32 bytes)


def compute_dtype(x: torch.Tensor) -> torch.dtype:
    """The dtype a matrix product of x runs in: autocast's where it is on for x's device, else x's own."""
    if torch.is_autocast_enabled(x.device.type):
        return torch.get_autocast_dtype(x.device.type)
    return x.dtype


class _TiledConv(torch.autograd.Function):
    """Valid convolution with kernel = 2 x stride of contiguous (B, stride x (F + 1), C) -> (B, F + 1, N).

    The batch is one matrix of R = B x (F + 1) rows of stride x C values. Output row r = a[r] W0 + a[r + 1] W1
    (the first and second half of the kernel); each utterance's last row straddles two utterances (the final
    one reads only a[R - 1] W0) and is dropped by the caller. Forward and backward accumulate in place
    into one buffer, so the two GEMMs cost no extra pass over their outputs.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, stride: int) -> torch.Tensor:
        batch, steps, channels = x.shape
        out_channels = weight.shape[0]
        dtype = compute_dtype(x)
        # unflatten/flatten rather than reshape: views whose validity a graph with dynamic shapes sees at once
        a = x.to(dtype).unflatten(1, (steps // stride, stride)).flatten(2).flatten(0, 1)
        halves = [weight[:, :, :stride], weight[:, :, stride:]]
        w0, w1 = (h.to(dtype).permute(0, 2, 1).reshape(out_channels, stride * channels) for h in halves)
        with torch.autocast(x.device.type, enabled=False):
            y = torch.mm(a, w0.t())
            y[:-1].addmm_(a[1:], w1.t())
        ctx.save_for_backward(a, w0, w1)
        ctx.batch, ctx.stride, ctx.x_dtype, ctx.w_dtype = batch, stride, x.dtype, weight.dtype
        return y.unflatten(0, (batch, steps // stride))

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor, None]:
        a, w0, w1 = ctx.saved_tensors
        stride = ctx.stride
        out_channels = w0.shape[0]
        g = grad.to(a.dtype).flatten(0, 1)
        with torch.autocast(g.device.type, enabled=False):
            grad_x = None
            if ctx.needs_input_grad[0]:
                grad_x = torch.mm(g, w0)
                grad_x[1:].addmm_(g[:-1], w1)
                grad_x = grad_x.unflatten(1, (stride, -1)).flatten(0, 1).unflatten(0, (ctx.batch, -1)).to(ctx.x_dtype)
            grad_w0 = torch.mm(g.t(), a)
            grad_w1 = torch.mm(g[:-1].t(), a[1:])
        grad_w = torch.cat([w.view(out_channels, stride, -1) for w in (grad_w0, grad_w1)], dim=1).permute(0, 2, 1)
        return grad_x, grad_w.to(ctx.w_dtype), None


def tiled_conv(x: torch.Tensor, weight: torch.Tensor, stride: int) -> torch.Tensor:
    """Valid conv1d with kernel = 2 x stride: (B, T, C) -> (B, T // stride - 1, N), as two GEMMs on a free view."""
    frames = x.shape[1] // stride - 1
    used = stride * (frames + 1)
    if used != x.shape[1] or not x.is_contiguous():
        x = x[:, :used].contiguous()
    return _TiledConv.apply(x, weight, stride)[:, :frames]


def audio_conv(wav: torch.Tensor, weight: torch.Tensor, stride: int) -> torch.Tensor:
    """The first layer: valid conv1d of audio (B, S) with weight (N, 1, k) -> (B, F, N), one GEMM."""
    out_channels, _, kernel = weight.shape
    pad = -kernel % _AUDIO_K_ALIGN
    frames = F.pad(wav.unfold(1, kernel, stride), (0, pad))  # (B, F, k + pad): the overlapping frames, copied once
    return frames @ F.pad(weight.view(out_channels, kernel), (0, pad)).t()


def conv_channels_last(
    x: torch.Tensor, weight: torch.Tensor, stride: int = 1, bias: torch.Tensor | None = None
) -> torch.Tensor:
    """Valid conv1d of (B, T, C) -> (B, T_out, N) as cuDNN's conv2d on channels-last views (no transposes)."""
    x4 = x.transpose(1, 2).unsqueeze(2)  # (B, C, 1, T) whose memory is (B, T, C): channels last
    w4 = weight.unsqueeze(2).contiguous(memory_format=torch.channels_last)
    return F.conv2d(x4, w4, bias, stride=(1, stride)).squeeze(2).transpose(1, 2)


def encoder_conv(x: torch.Tensor, weight: torch.Tensor, stride: int) -> torch.Tensor:
    """A bias-free valid encoder convolution of (B, T, C), or of audio (B, S) for the first layer."""
    kernel = weight.shape[2]
    if x.dim() == 2:
        return audio_conv(x, weight, stride)
    if kernel == 2 * stride:
        return tiled_conv(x, weight, stride)
    if kernel == 1 and stride == 1:
        return x @ weight[:, :, 0].t()
    return conv_channels_last(x, weight, stride)


def causal_conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """A context convolution: left replication padding of kernel - 1 frames, stride 1; (B, F, C) -> (B, F, N)."""
    kernel = weight.shape[2]
    if kernel > 1:
        x = torch.cat([x[:, :1].expand(-1, kernel - 1, -1), x], dim=1)
    if kernel == 1:
        return F.linear(x, weight[:, :, 0], bias)
    return conv_channels_last(x, weight, 1, bias)
