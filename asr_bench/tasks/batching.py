"""Length-bucketed batches under a size budget, sharded across DDP ranks.

Used for CTC training (budget in feature frames) and wav2vec pretraining (budget in
audio samples). Batches are built once from sorted lengths, so padding (or cropping)
waste stays small; their order is reshuffled every epoch from (seed, epoch); under
DDP each rank takes every world_size-th batch, so Trainers run with
`use_distributed_sampler=False`.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from typing import Any

import pytorch_lightning as pl
from torch.utils.data import DataLoader, Dataset, Sampler

from asr_bench.errors import AsrBenchError


class BucketBatchSampler(Sampler[list[int]]):
    """Batches of similar-length items holding at most `max_frames` (frames or samples) padded units each."""

    def __init__(
        self,
        lengths: Sequence[int],
        max_frames: int,
        shuffle: bool,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if max_frames < max(lengths):
            raise AsrBenchError(f"max_frames={max_frames} is below the longest utterance ({max(lengths)} frames)")
        self.shuffle, self.seed, self.rank, self.world_size = shuffle, seed, rank, world_size
        self.epoch = 0
        order = sorted(range(len(lengths)), key=lambda i: lengths[i])
        self.batches: list[list[int]] = []
        batch: list[int] = []
        for index in order:
            # The batch is padded to its longest (= latest, as sorted) member.
            if batch and (len(batch) + 1) * lengths[index] > max_frames:
                self.batches.append(batch)
                batch = []
            batch.append(index)
        if batch:
            self.batches.append(batch)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _epoch_batches(self) -> list[list[int]]:
        batches = list(self.batches)
        if self.shuffle:
            random.Random(self.seed + self.epoch).shuffle(batches)
        # Every rank must see the same number of batches, or DDP hangs at the last step.
        per_rank = -(-len(batches) // self.world_size)
        batches += batches[: per_rank * self.world_size - len(batches)]
        return batches[self.rank :: self.world_size]

    def __iter__(self) -> Iterator[list[int]]:
        yield from self._epoch_batches()

    def __len__(self) -> int:
        return -(-len(self.batches) // self.world_size)


class BucketedDataModule(pl.LightningDataModule):
    """Train/valid datasets batched by `BucketBatchSampler` under a size budget, sharded by DDP rank.

    Subclasses say how long each item is (`lengths`) and how to turn the rank's buckets
    into a DataLoader (`loader`).
    """

    def __init__(self, train: Dataset, valid: Dataset | None, budget: int, num_workers: int = 0, seed: int = 0) -> None:
        super().__init__()
        self.train, self.valid = train, valid
        self.budget = budget
        self.num_workers = num_workers
        self.seed = seed

    def lengths(self, dataset: Any) -> list[int]:
        raise NotImplementedError

    def loader(self, dataset: Any, buckets: BucketBatchSampler, shuffle: bool, rank: int) -> DataLoader:
        raise NotImplementedError

    def _loader(self, dataset: Any, shuffle: bool) -> DataLoader:
        rank, world = (self.trainer.global_rank, self.trainer.world_size) if self.trainer else (0, 1)
        buckets = BucketBatchSampler(self.lengths(dataset), self.budget, shuffle, self.seed, rank, world)
        return self.loader(dataset, buckets, shuffle, rank)

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        if self.valid is None:
            return []  # type: ignore[return-value]
        return self._loader(self.valid, shuffle=False)
