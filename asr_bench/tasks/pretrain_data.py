"""Random fixed-length crops of normalised audio, batched by total samples, for wav2vec pretraining.

As in the paper, every example is a crop of at most `crop_samples` (150k = 9.4 s);
a batch holds similar-length utterances up to a budget of samples, all cropped to
the shortest of them (so no padding enters the loss). Crop offsets are drawn from
(seed, epoch, batch position), so a run is reproducible and each epoch sees new crops.
Validation crops start at 0, so the validation loss is comparable across epochs.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from asr_bench.data.manifest import Utterance
from asr_bench.errors import AsrBenchError
from asr_bench.features.cache import FeatureStore
from asr_bench.tasks.batching import BucketBatchSampler, BucketedDataModule

# One batch request: (seed for its crop offsets or None for offset 0, utterance indices).
CropRequest = tuple[int | None, list[int]]


class CropDataset(Dataset):
    """`dataset[(seed, indices)]` -> (batch, samples) float32 crops of those utterances."""

    def __init__(self, utterances: Sequence[Utterance], store: FeatureStore, crop_samples: int, min_samples: int) -> None:
        kept = [u for u in utterances if store.num_frames(u.id) >= min_samples]
        if not kept:
            raise AsrBenchError(f"{store.path}: no utterance has at least {min_samples} samples")
        self.utterances = kept
        self.num_too_short = len(utterances) - len(kept)
        self.store = store
        self.crop_samples = crop_samples

    def __len__(self) -> int:
        return len(self.utterances)

    def cropped_length(self, index: int) -> int:
        return min(self.crop_samples, self.store.num_frames(self.utterances[index].id))

    def __getitem__(self, request: CropRequest) -> torch.Tensor:
        seed, indices = request
        length = min(self.cropped_length(i) for i in indices)
        rng = random.Random(seed)
        crops = []
        for i in indices:
            utt_id = self.utterances[i].id
            start = 0 if seed is None else rng.randint(0, self.store.num_frames(utt_id) - length)
            crops.append(self.store.read(utt_id, start, length)[:, 0])
        return torch.stack(crops)


class CropBatchSampler(Sampler[CropRequest]):
    """Bucketed batches under a sample budget, each tagged with the seed for its crop offsets."""

    def __init__(self, batches: BucketBatchSampler, seed: int | None) -> None:
        self.batches = batches
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        self.batches.set_epoch(epoch)

    def __iter__(self) -> Iterator[CropRequest]:
        for position, indices in enumerate(self.batches):
            seed = None if self.seed is None else hash((self.seed, self.epoch, position)) & 0x7FFFFFFF
            yield seed, indices

    def __len__(self) -> int:
        return len(self.batches)


class PretrainDataModule(BucketedDataModule):
    """Crop datasets bucketed by cropped length under a budget of samples per batch."""

    def lengths(self, dataset: CropDataset) -> list[int]:
        return [dataset.cropped_length(i) for i in range(len(dataset))]

    def loader(self, dataset: CropDataset, buckets: BucketBatchSampler, shuffle: bool, rank: int) -> DataLoader:
        # batch_size=None: each sampler item is a whole batch request, cropped together by the dataset.
        return DataLoader(
            dataset,
            sampler=CropBatchSampler(buckets, self.seed + rank if shuffle else None),
            batch_size=None,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            pin_memory=torch.cuda.is_available(),
        )
