"""On-disk feature cache: one memory-mapped float16 matrix per (manifest, feature config).

All frames of all utterances are concatenated along time in `features.f16`, with
`index.json` giving each utterance's frame offset and count. A memory map makes
random access by utterance id cheap from any number of DataLoader workers, and the
cache directory name is a hash of the manifest's content and the feature config, so
a changed config or manifest can never read stale features.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from asr_bench.data.manifest import Utterance
from asr_bench.errors import AsrBenchError

log = logging.getLogger(__name__)

FEATURES_FILE = "features.f16"
INDEX_FILE = "index.json"
META_FILE = "meta.json"


def cache_key(utterances: Sequence[Utterance], feature_config: dict[str, Any]) -> str:
    """Hash of what determines the features: each utterance's id, audio path, duration and offset, and the config."""
    digest = hashlib.sha256()
    digest.update(json.dumps(feature_config, sort_keys=True, default=str).encode())
    for utt in utterances:
        span = "" if utt.offset is None else f"\t{utt.offset:.6f}"  # absent for whole files: older keys stay valid
        digest.update(f"{utt.id}\t{utt.audio}\t{utt.duration:.6f}{span}\n".encode())
    return digest.hexdigest()[:16]


class FeatureStore:
    """Read-only view of a finished cache entry: `store[utt_id]` -> float32 tensor (num_frames, dim)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not (self.path / META_FILE).is_file():
            raise AsrBenchError(f"{self.path}: not a complete feature cache (no {META_FILE}); run featurize first")
        self.meta: dict[str, Any] = json.loads((self.path / META_FILE).read_text())
        index = json.loads((self.path / INDEX_FILE).read_text())
        self.index: dict[str, tuple[int, int]] = {k: (int(v[0]), int(v[1])) for k, v in index.items()}
        self.dim: int = int(self.meta["dim"])
        self._matrix: np.memmap | None = None  # opened lazily, so each worker process maps it itself

    @property
    def matrix(self) -> np.memmap:
        if self._matrix is None:
            total = int(self.meta["total_frames"])
            self._matrix = np.memmap(self.path / FEATURES_FILE, dtype=np.float16, mode="r", shape=(total, self.dim))
        return self._matrix

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_matrix"] = None
        return state

    def __contains__(self, utt_id: str) -> bool:
        return utt_id in self.index

    def __len__(self) -> int:
        return len(self.index)

    def num_frames(self, utt_id: str) -> int:
        return self.index[utt_id][1]

    def __getitem__(self, utt_id: str) -> torch.Tensor:
        return self.read(utt_id)

    def read(self, utt_id: str, start: int = 0, count: int | None = None) -> torch.Tensor:
        """Rows [start, start + count) of an utterance (all of it by default), touching only those bytes."""
        try:
            offset, total = self.index[utt_id]
        except KeyError:
            raise AsrBenchError(f"{self.path}: no features for utterance {utt_id!r}") from None
        count = total - start if count is None else count
        if start < 0 or start + count > total:
            raise AsrBenchError(f"{self.path}: rows [{start}, {start + count}) outside {utt_id!r} ({total} rows)")
        rows = self.matrix[offset + start : offset + start + count]
        return torch.from_numpy(np.asarray(rows, dtype=np.float32))


def featurize_batches_to_cache(
    cache_root: str | Path,
    utterances: Sequence[Utterance],
    feature_config: dict[str, Any],
    extract_batch: Callable[[list[Utterance]], list[torch.Tensor]],
    batch_size: int,
    description: str = "featurize",
    progress: bool = True,
) -> FeatureStore:
    """Compute features `batch_size` utterances at a time unless an identical cache entry already exists.

    `extract_batch` maps a list of utterances to their (num_frames, dim) tensors. Batches
    are formed from utterances of similar duration (the index, not the file order, locates
    an utterance, so the order is free). Work is written into a temporary directory and
    renamed on completion, and removed if the work is interrupted (Ctrl-C included), so no half-written
    entry is left that a later run could mistake for a finished one; concurrent callers compute an entry once.
    """
    if not utterances:
        raise AsrBenchError("nothing to featurize: the manifest is empty")
    final = Path(cache_root) / cache_key(utterances, feature_config)
    if (final / META_FILE).is_file():
        return FeatureStore(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(final.with_name(final.name + ".lock")) as locked:
        if (final / META_FILE).is_file():  # another process (a DDP rank) finished it while this one waited
            return FeatureStore(final)
        if locked:  # no one else can be writing: clear what interrupted runs left
            for stale in final.parent.glob(final.name + ".partial*"):
                shutil.rmtree(stale, ignore_errors=True)
        tmp = final.with_name(f"{final.name}.partial-{os.getpid()}")
        try:
            _write_entry(tmp, utterances, feature_config, extract_batch, batch_size, description, progress)
        except BaseException:  # Ctrl-C or an error: leave no partial entry behind
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if final.exists() and not (final / META_FILE).is_file():
            shutil.rmtree(final, ignore_errors=True)  # an incomplete entry from an older version
        try:
            tmp.rename(final)
        except OSError:  # without locks, a process beside this one renamed its copy first
            shutil.rmtree(tmp, ignore_errors=True)
    return FeatureStore(final)


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[bool]:
    """An exclusive lock on `lock_path` while the block runs; yields whether it was obtained.

    DDP ranks started together (torchrun, srun) all ask for the same entries: the lock makes
    one compute each entry while the others wait and then read it. On a filesystem without
    locks they compute side by side, each in its own directory, and the first rename wins.
    """
    with lock_path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
            locked = True
        except OSError as exc:
            log.warning("%s: no file locks here (%s); concurrent processes may compute this entry twice", lock_path, exc)
            locked = False
        try:
            yield locked
        finally:
            if locked:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _write_entry(
    tmp: Path,
    utterances: Sequence[Utterance],
    feature_config: dict[str, Any],
    extract_batch: Callable[[list[Utterance]], list[torch.Tensor]],
    batch_size: int,
    description: str,
    progress: bool,
) -> None:
    """Features, index and meta of a complete entry, written into `tmp`."""
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    index: dict[str, list[int]] = {}
    offset, dim = 0, None
    ordered = sorted(utterances, key=lambda u: u.duration) if batch_size > 1 else list(utterances)
    with (tmp / FEATURES_FILE).open("wb") as sink, tqdm(
        total=len(ordered), desc=description, unit="utt", disable=not progress
    ) as bar:
        for start in range(0, len(ordered), batch_size):
            batch = ordered[start : start + batch_size]
            for utt, features in zip(batch, extract_batch(batch), strict=True):
                features = features.detach().to("cpu", torch.float32)
                if features.ndim != 2 or features.shape[0] == 0:
                    raise AsrBenchError(f"{utt.audio}: features for {utt.id} have shape {tuple(features.shape)}")
                if dim is None:
                    dim = int(features.shape[1])
                elif features.shape[1] != dim:
                    raise AsrBenchError(f"{utt.id}: feature dim {features.shape[1]} != {dim}")
                sink.write(features.numpy().astype(np.float16).tobytes())
                index[utt.id] = [offset, int(features.shape[0])]
                offset += int(features.shape[0])
            bar.update(len(batch))
    (tmp / INDEX_FILE).write_text(json.dumps(index))
    meta = {"dim": dim, "total_frames": offset, "num_utterances": len(index), "config": feature_config}
    (tmp / META_FILE).write_text(json.dumps(meta, indent=2, default=str))
