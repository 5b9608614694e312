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

from asr_bench.data.audio import load_utterance
from asr_bench.data.manifest import Utterance
from asr_bench.errors import ConfigError
from asr_bench.features.cache import FeatureStore, featurize_batches_to_cache
from asr_bench.features.logmel import LogMel, LogMelConfig
from asr_bench.features.normalize import utterance_mvn
from asr_bench.hardware import resolve_bf16


@dataclass(frozen=True)
class Wav2VecFeatureConfig:
    """Which wav2vec representation to extract: "z" (encoder), "c" (context), a context layer index, or "all"
    (z and every context layer concatenated along the feature axis: `Wav2VecFeaturizer`)."""

    checkpoint: str = ""
    representation: str = "c"
    chunk_samples: int = 480_000  # 30 s: longer audio is processed layer by layer in overlapping chunks
    device: str = "auto"  # auto: the GPU where there is one, else the CPU
    batch_size: int = 0  # utterances per forward; 0: 128 on a GPU, 1 on a CPU (where batching only adds memory traffic)
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


@dataclass(frozen=True)
class _Extractor:
    """What a feature kind contributes to the cache: the key that identifies its output and a batch function."""

    key: dict[str, Any]
    extract: Callable[[list[Utterance]], list[torch.Tensor]]
    batch_size: int


def featurize_manifest(
    utterances: Sequence[Utterance], config: FeatureConfig, description: str = "featurize", progress: bool = True
) -> FeatureStore:
    """Features for every utterance of a manifest, from the cache when an identical entry exists."""
    return featurize_manifests([(description, utterances)], config, progress)[0]


def featurize_manifests(
    manifests: Sequence[tuple[str, Sequence[Utterance]]], config: FeatureConfig, progress: bool = True
) -> list[FeatureStore]:
    """One store per (description, utterances) pair, all from one extractor.

    Training featurizes its train and valid manifests, `asr-bench featurize` any number of them: sharing the
    extractor means a wav2vec checkpoint is hashed once and its model loaded at most once for all of them.
    """
    extractor = feature_extractor(config)
    return [
        featurize_batches_to_cache(
            config.cache_dir, utterances, extractor.key, extractor.extract, extractor.batch_size, description, progress
        )
        for description, utterances in manifests
    ]


def feature_extractor(config: FeatureConfig) -> _Extractor:
    """The features `config` asks for, as a batch function (a wav2vec model is loaded on its first batch)."""
    return _logmel_extractor(config.logmel) if config.kind == "logmel" else _wav2vec_extractor(config.wav2vec)


def _logmel_extractor(settings: LogMelConfig) -> _Extractor:
    logmel = LogMel(settings)

    @torch.inference_mode()
    def extract(batch: list[Utterance]) -> list[torch.Tensor]:
        return [logmel(load_utterance(utt)) for utt in batch]

    return _Extractor({"kind": "logmel", **asdict(settings)}, extract, 1)


def _wav2vec_extractor(settings: Wav2VecFeatureConfig) -> _Extractor:
    from asr_bench.features.wav2vec import Wav2VecFeaturizer, file_digest, load_waveforms  # model code only when asked for

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
        return [utterance_mvn(f.float()) for f in features] if settings.normalize else features  # GPUs give float16

    return _Extractor(key, extract, settings.batch_size or (128 if device.type == "cuda" else 1))
