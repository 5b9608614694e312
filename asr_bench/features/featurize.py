"""Turn a manifest into cached features of either kind; training and decoding both come through here.

Callers never handle cache paths: they pass the manifest and the feature config, and
get back a `FeatureStore`, computed on first use and reused after.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import torch

from asr_bench.data.audio import load_audio
from asr_bench.data.manifest import Utterance
from asr_bench.errors import ConfigError
from asr_bench.features.cache import FeatureStore, featurize_batches_to_cache, featurize_to_cache
from asr_bench.features.logmel import LogMel, LogMelConfig
from asr_bench.features.normalize import utterance_mvn
from asr_bench.hardware import resolve_bf16


@dataclass(frozen=True)
class Wav2VecFeatureConfig:
    """Which wav2vec representation to extract: "z" (encoder), "c" (context) or a context layer index."""

    checkpoint: str = ""
    representation: str = "c"
    chunk_samples: int = 480_000  # 30 s: longer audio is processed layer by layer in overlapping chunks
    device: str = "auto"  # auto: the GPU where there is one, else the CPU
    batch_size: int = 0  # utterances per forward; 0: 8 on a GPU, 1 on a CPU (where batching only adds memory traffic)
    normalize: bool = True  # per-utterance mean/variance per dimension, as log-mel gets (features/normalize.py)
    precision: str = "auto"  # auto: bf16 where the GPU or CPU does it natively (2-2.5x faster), else fp32


@dataclass(frozen=True)
class FeatureConfig:
    kind: Literal["logmel", "wav2vec"] = "logmel"
    cache_dir: str = "exp/features"
    logmel: LogMelConfig = LogMelConfig()
    wav2vec: Wav2VecFeatureConfig = Wav2VecFeatureConfig()


def _representation(value: str) -> str | int:
    return int(value) if value.lstrip("-").isdigit() else value


def featurize_manifest(
    utterances: Sequence[Utterance], config: FeatureConfig, description: str = "featurize", progress: bool = True
) -> FeatureStore:
    """Features for every utterance of a manifest, from the cache when an identical entry exists."""
    cache_dir = Path(config.cache_dir)
    if config.kind == "logmel":
        logmel = LogMel(config.logmel)
        key = {"kind": "logmel", **asdict(config.logmel)}

        @torch.inference_mode()
        def from_audio(utt: Utterance) -> torch.Tensor:
            return logmel(load_audio(utt.audio))

        return featurize_to_cache(cache_dir, utterances, key, from_audio, description, progress)

    from asr_bench.features.wav2vec import Wav2VecFeaturizer, file_digest, load_waveforms  # model code only when asked for

    settings = config.wav2vec
    if not settings.checkpoint:
        raise ConfigError("features.kind=wav2vec needs features.wav2vec.checkpoint (ours or a fairseq wav2vec 1.0 file)")
    checkpoint = Path(settings.checkpoint)
    if not checkpoint.is_file():
        raise ConfigError(f"{checkpoint}: wav2vec checkpoint does not exist")
    device = torch.device(settings.device if settings.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu"))
    representation = _representation(settings.representation)
    precision = "bf16" if resolve_bf16(settings.precision, device) else "fp32"  # resolved once: the key and the model agree
    # What determines the features: the checkpoint's content (which also fixes its input normalisation),
    # the layer, the arithmetic, and the normalisation of the output.
    key = {
        "kind": "wav2vec",
        "checkpoint_sha256": file_digest(checkpoint),
        "representation": representation,
        "precision": precision,
        "utterance_mvn": settings.normalize,
    }
    featurizer: Wav2VecFeaturizer | None = None

    def extract(batch: list[Utterance]) -> list[torch.Tensor]:
        nonlocal featurizer
        if featurizer is None:  # the model is loaded only when an entry has to be computed
            featurizer = Wav2VecFeaturizer.from_checkpoint(
                checkpoint, representation, str(device), settings.chunk_samples, precision
            )
        features = featurizer.featurize_batch(load_waveforms(batch))
        return [utterance_mvn(f) for f in features] if settings.normalize else features

    batch_size = settings.batch_size or (8 if device.type == "cuda" else 1)
    return featurize_batches_to_cache(cache_dir, utterances, key, extract, batch_size, description, progress)
