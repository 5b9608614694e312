"""Features in fairseq's wav2vec featurizer layout, for wav2letter++ and other tools that read it.

fairseq's `examples/wav2vec/wav2vec_featurize.py` writes one HDF5 file per utterance,
`<out>/<split>/<name>.h5context`, holding `features`: the (frames, channels) matrix flattened
time-major, float32, and `info`: [frames per second, frames, channels] as float64 (it computes the
rate as 16e3 // 160). Its features are the model's `c` (or `z` with `--use-feat`) in float32
arithmetic on the raw waveform, not normalised afterwards; `asr-bench featurize --export-h5` defaults
to exactly that, and writes full float32 values computed for the export rather than the cache's float16.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np
import torch
from tqdm import tqdm

from asr_bench.data.manifest import Utterance
from asr_bench.errors import AsrBenchError
from asr_bench.features.featurize import FeatureConfig, feature_extractor

FRAMES_PER_SECOND = 100  # 16 kHz audio, 160-sample hop

# Where `asr-bench featurize --export-h5` departs from the cache's defaults, to write what fairseq writes.
FAIRSEQ_FEATURES = {"wav2vec": {"precision": "fp32", "normalize": False}}


def write_h5context(path: Path, features: torch.Tensor) -> None:
    """One utterance's (frames, channels) features as fairseq writes them; written aside, then renamed into place."""
    matrix = features.detach().to("cpu", torch.float32).numpy()
    partial = path.with_name(path.name + ".partial")
    with h5py.File(partial, "w") as handle:
        handle["features"] = matrix.reshape(-1)
        handle["info"] = np.array([FRAMES_PER_SECOND, matrix.shape[0], matrix.shape[1]], dtype=np.float64)
    os.replace(partial, path)


def export_fairseq_h5(
    manifests: Sequence[tuple[str, Sequence[Utterance]]], config: FeatureConfig, out_dir: str | Path, progress: bool = True
) -> list[list[Path]]:
    """Compute `config`'s features for each (split, utterances) pair and write <out_dir>/<split>/<id>.h5context.

    Returns the paths per split, in manifest order. One extractor serves every split, so a wav2vec model
    is loaded once.
    """
    extractor = feature_extractor(config)
    written: list[list[Path]] = []
    for split, utterances in manifests:
        if not utterances:
            raise AsrBenchError(f"nothing to export for {split}: the manifest is empty")
        folder = Path(out_dir) / split
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        with tqdm(total=len(utterances), desc=f"export {split} h5", unit="utt", disable=not progress) as bar:
            for start in range(0, len(utterances), extractor.batch_size):
                batch = list(utterances[start : start + extractor.batch_size])
                for utt, features in zip(batch, extractor.extract(batch), strict=True):
                    paths.append(folder / f"{utt.id}.h5context")
                    write_h5context(paths[-1], features)
                bar.update(len(batch))
        written.append(paths)
    return written
