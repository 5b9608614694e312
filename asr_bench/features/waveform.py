"""Normalised raw waveforms, the input of wav2vec, cached like any other feature.

wav2vec reads raw 16 kHz audio, normalised per utterance (zero mean, unit variance) as
the paper describes, or as is (the fairseq reference trained and published its models
on unnormalised audio; a checkpoint records which it expects).
Pretraining draws random crops from every utterance many times over; decoding Opus or
FLAC for each crop would starve a GPU, so the normalised samples are decoded once into
the memory-mapped feature cache, stored as (samples, 1) float16, and cropped from there.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch

from asr_bench.data.audio import SAMPLE_RATE_HZ, load_utterance
from asr_bench.data.manifest import Utterance
from asr_bench.features.cache import FeatureStore, featurize_batches_to_cache


def normalize_waveform(wav: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """(..., samples) -> zero mean, unit variance along samples: the paper's per-utterance normalisation."""
    mean = wav.mean(dim=-1, keepdim=True)
    std = wav.std(dim=-1, keepdim=True, unbiased=False)
    return (wav - mean) / (std + eps)


def model_input(wav: torch.Tensor, normalize: bool) -> torch.Tensor:
    return normalize_waveform(wav) if normalize else wav


def waveform_store(
    utterances: Sequence[Utterance],
    cache_dir: str | Path,
    normalize: bool = True,
    description: str = "cache audio",
    progress: bool = True,
    workers: int = 0,
) -> FeatureStore:
    """Waveforms of `utterances` as wav2vec reads them, read back as (samples, 1) by utterance id.

    Decoding runs in `workers` threads (0: one per CPU core, at most 16): libsndfile and torch release
    the GIL, and on a GPU machine a single decoding thread would take a minute of its time for 5 h of Opus.
    """
    key = {"kind": "waveform", "sample_rate_hz": SAMPLE_RATE_HZ, "normalize": normalize}

    def decode(utt: Utterance) -> torch.Tensor:
        return model_input(load_utterance(utt), normalize).unsqueeze(1)

    threads = workers or min(16, os.cpu_count() or 1)
    with ThreadPoolExecutor(threads) as pool:
        return featurize_batches_to_cache(
            Path(cache_dir), utterances, key, lambda batch: list(pool.map(decode, batch)), 4 * threads, description, progress
        )
