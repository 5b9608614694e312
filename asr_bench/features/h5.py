"""Export cached features in fairseq's wav2vec featurizer layout, for wav2letter++ and other tools that read it.

fairseq's `examples/wav2vec/wav2vec_featurize.py` writes one HDF5 file per utterance,
`<out>/<split>/<name>.h5context`, holding `features`: the (frames, channels) matrix
flattened time-major, float32, and `info`: [frames per second (100), frames, channels].
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np
from tqdm import tqdm

from asr_bench.data.manifest import Utterance
from asr_bench.features.cache import FeatureStore

FRAMES_PER_SECOND = 100  # 16 kHz audio, 160-sample hop


def export_fairseq_h5(
    utterances: Sequence[Utterance], store: FeatureStore, out_dir: str | Path, split: str, progress: bool = True
) -> list[Path]:
    """Write <out_dir>/<split>/<utterance id>.h5context for each utterance; returns the paths in manifest order."""
    folder = Path(out_dir) / split
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for utt in tqdm(utterances, desc=f"export {split} h5", unit="utt", disable=not progress):
        features = store[utt.id].numpy().astype(np.float32)
        path = folder / f"{utt.id}.h5context"
        with h5py.File(path, "w") as handle:
            handle["features"] = features.reshape(-1)
            handle["info"] = np.array([FRAMES_PER_SECOND, features.shape[0], features.shape[1]])
        paths.append(path)
    return paths
