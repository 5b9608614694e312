"""Turn a manifest into cached features of either kind; training and decoding both come through here.

Callers never handle cache paths: they pass the manifest and the feature config, and
get back a `FeatureStore`, computed on first use and reused after.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import torch

from asr_bench.data.audio import load_audio
from asr_bench.data.manifest import Utterance
from asr_bench.features.cache import FeatureStore, featurize_to_cache
from asr_bench.features.logmel import LogMel, LogMelConfig


@dataclass(frozen=True)
class Wav2VecFeatureConfig:
    """Which wav2vec representation to extract: "z" (encoder), "c" (context) or a context layer index."""

    checkpoint: str = ""
    representation: str = "c"
    chunk_samples: int = 480_000  # 30 s: longer audio is processed in overlapping chunks
    device: str = "cpu"


@dataclass(frozen=True)
class FeatureConfig:
    kind: Literal["logmel", "wav2vec"] = "logmel"
    cache_dir: str = "exp/features"
    logmel: LogMelConfig = LogMelConfig()
    wav2vec: Wav2VecFeatureConfig = Wav2VecFeatureConfig()


def _representation(value: str) -> str | int:
    return int(value) if value.lstrip("-").isdigit() else value


def build_extractor(config: FeatureConfig) -> tuple[Callable[[torch.Tensor], torch.Tensor], dict[str, Any]]:
    """The waveform -> (frames, dim) function for `config`, and the dict that keys its cache entries."""
    if config.kind == "logmel":
        logmel = LogMel(config.logmel)
        return logmel, {"kind": "logmel", **asdict(config.logmel)}
    from asr_bench.features.wav2vec import Wav2VecFeaturizer  # torch-heavy model code only when asked for

    featurizer = Wav2VecFeaturizer.from_checkpoint(
        config.wav2vec.checkpoint,
        representation=_representation(config.wav2vec.representation),
        device=config.wav2vec.device,
        chunk_samples=config.wav2vec.chunk_samples,
    )
    return featurizer, {"kind": "wav2vec", **featurizer.config_dict()}


def featurize_manifest(
    utterances: Sequence[Utterance], config: FeatureConfig, description: str = "featurize", progress: bool = True
) -> FeatureStore:
    """Features for every utterance of a manifest, from the cache when an identical entry exists."""
    extract, key = build_extractor(config)

    @torch.inference_mode()
    def from_audio(utt: Utterance) -> torch.Tensor:
        return extract(load_audio(utt.audio))

    return featurize_to_cache(Path(config.cache_dir), utterances, key, from_audio, description, progress)
