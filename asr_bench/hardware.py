"""What the machine's arithmetic does natively, so that "auto" settings choose bf16 only where it pays."""

from __future__ import annotations

import torch

from asr_bench.errors import ConfigError


def native_bf16(device: torch.device) -> bool:
    """bf16 matrix arithmetic in hardware: CUDA GPUs from Ampere on, CPUs with AVX512-BF16 or AMX.

    Elsewhere torch emulates bf16, which is slower than float32, so callers keep float32 there.
    """
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported(including_emulation=False)
    if device.type == "cpu":
        return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    return False


def resolve_bf16(precision: str, device: torch.device) -> bool:
    """"auto" -> native bf16 where the device has it; "bf16" or "fp32" as asked."""
    if precision not in ("auto", "bf16", "fp32"):
        raise ConfigError(f"precision {precision!r}: expected auto, bf16 or fp32")
    return native_bf16(device) if precision == "auto" else precision == "bf16"
