"""Random fixed-length crops of normalised audio, batched by total samples, for wav2vec pretraining.

As in the paper, every example is a crop of at most `crop_samples` (150k = 9.4 s);
a batch holds similar-length utterances up to a budget of samples, all cropped to
the shortest of them (so no padding enters the loss). Crop offsets are drawn from
(seed, epoch, batch position), so a run is reproducible and each epoch sees new crops.
Validation crops start at 0, so the validation loss is comparable across epochs.

Crops are read on the host from the memory-mapped waveform cache, or, on a GPU where the
whole cache fits, gathered from a copy of it in GPU memory (`WaveformsOnDevice`): the
loader then only hands over where each crop starts.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from asr_bench.data.manifest import Utterance
from asr_bench.errors import AsrBenchError
from asr_bench.features.cache import FeatureStore
from asr_bench.tasks.batching import BucketBatchSampler, BucketedDataModule

# One batch request: (seed for its crop offsets or None for offset 0, utterance indices).
CropRequest = tuple[int | None, list[int]]

# The share of a GPU's memory the waveform cache may take to be kept there.
DEVICE_SHARE = 0.25


class CropDataset(Dataset):
    """`dataset[(seed, indices)]` -> (batch, samples) float32 crops of those utterances.

    `tile` maps a length to the one crops are cut to (e.g. `Wav2Vec.tiled_samples`, the longest length
    that every encoder layer tiles exactly); None keeps `min(crop_samples, utterance length)`.
    """

    def __init__(
        self,
        utterances: Sequence[Utterance],
        store: FeatureStore,
        crop_samples: int,
        min_samples: int,
        tile: Callable[[int], int] | None = None,
    ) -> None:
        kept = [u for u in utterances if store.num_frames(u.id) >= min_samples]
        if not kept:
            raise AsrBenchError(f"{store.path}: no utterance has at least {min_samples} samples")
        self.utterances = kept
        self.num_too_short = len(utterances) - len(kept)
        self.store = store
        self.crop_samples = crop_samples
        self.tile = tile

    def __len__(self) -> int:
        return len(self.utterances)

    def cropped_length(self, index: int) -> int:
        length = min(self.crop_samples, self.store.num_frames(self.utterances[index].id))
        return self.tile(length) if self.tile else length

    def crop_starts(self, request: CropRequest) -> tuple[list[tuple[str, int]], int]:
        """(utterance id, first sample) of each crop of the request, and their common length."""
        seed, indices = request
        length = min(self.cropped_length(i) for i in indices)
        rng = random.Random(seed)
        starts = []
        for i in indices:
            utt_id = self.utterances[i].id
            starts.append((utt_id, 0 if seed is None else rng.randint(0, self.store.num_frames(utt_id) - length)))
        return starts, length

    def __getitem__(self, request: CropRequest) -> torch.Tensor:
        starts, length = self.crop_starts(request)
        return torch.stack([self.store.read(utt_id, start, length)[:, 0] for utt_id, start in starts])


class CropIndex(NamedTuple):
    """Where a batch's crops lie in a waveform cache kept on the device: rows (B,) and the crop length."""

    split: str  # "train" or "valid": which cache
    rows: torch.Tensor
    length: int


class CropIndices(Dataset):
    """`dataset[(seed, indices)]` -> CropIndex: the crops of `CropDataset`, as positions in its cache."""

    def __init__(self, crops: CropDataset, split: str) -> None:
        self.crops = crops
        self.split = split

    def __len__(self) -> int:
        return len(self.crops)

    def __getitem__(self, request: CropRequest) -> CropIndex:
        starts, length = self.crops.crop_starts(request)
        index = self.crops.store.index
        return CropIndex(self.split, torch.tensor([index[utt_id][0] + start for utt_id, start in starts]), length)


class WaveformsOnDevice:
    """A whole waveform cache (float16 samples) in device memory, from which crops are gathered."""

    def __init__(self, store: FeatureStore, device: torch.device) -> None:
        self.samples = torch.from_numpy(np.array(store.matrix[:, 0])).to(device)

    @staticmethod
    def fits(store: FeatureStore, device: torch.device) -> bool:
        """Whether `store` takes at most DEVICE_SHARE of a CUDA device's memory (never on other devices)."""
        if device.type != "cuda":
            return False
        size = int(store.meta["total_frames"]) * store.dim * np.dtype(np.float16).itemsize
        return size <= DEVICE_SHARE * torch.cuda.get_device_properties(device).total_memory

    def gather(self, rows: torch.Tensor, length: int) -> torch.Tensor:
        """(B, length) float32 crops starting at `rows`: the values `CropDataset` reads on the host."""
        offsets = torch.arange(length, device=self.samples.device)
        return self.samples[rows.to(self.samples.device)[:, None] + offsets].float()


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

    def __init__(
        self,
        train: CropDataset,
        valid: CropDataset | None,
        budget: int,
        num_workers: int = 0,
        seed: int = 0,
        waveforms_on_device: bool = True,
    ) -> None:
        super().__init__(train, valid, budget, num_workers, seed)
        self.waveforms_on_device = waveforms_on_device
        self._on_device: dict[str, WaveformsOnDevice] = {}

    def lengths(self, dataset: CropDataset) -> list[int]:
        return [dataset.cropped_length(i) for i in range(len(dataset))]

    def loader(self, dataset: CropDataset, buckets: BucketBatchSampler, shuffle: bool, rank: int) -> DataLoader:
        sampler = CropBatchSampler(buckets, self.seed + rank if shuffle else None)
        device = self.trainer.strategy.root_device if self.trainer else torch.device("cpu")
        if self.waveforms_on_device and WaveformsOnDevice.fits(dataset.store, device):
            split = "train" if dataset is self.train else "valid"
            if split not in self._on_device:
                self._on_device[split] = WaveformsOnDevice(dataset.store, device)
            # batch_size=None: each sampler item is a whole batch request; offsets only, so no workers.
            return DataLoader(CropIndices(dataset, split), sampler=sampler, batch_size=None)
        # batch_size=None: each sampler item is a whole batch request, cropped together by the dataset.
        return DataLoader(
            dataset,
            sampler=sampler,
            batch_size=None,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            pin_memory=torch.cuda.is_available(),
        )

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        """Crops of a waveform cache on the device are gathered there, once the batch of offsets has arrived."""
        if isinstance(batch, CropIndex):
            return self._on_device[batch.split].gather(batch.rows, batch.length)
        return batch
