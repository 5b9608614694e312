"""Cached features + transcripts -> length-bucketed, padded batches for CTC training.

Batches are formed from utterances of similar length, up to a budget of feature
frames, so padding stays small and memory per step is bounded whatever the corpus's
length distribution. The batch order is reshuffled every epoch from (seed, epoch),
and under DDP each rank takes every world_size-th batch (so the Trainer runs with
`use_distributed_sampler=False`: the sharding is already done here).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch.utils.data import DataLoader, Dataset

from asr_bench.data.manifest import Utterance
from asr_bench.data.tokens import LetterTokenizer, PhoneTokenizer
from asr_bench.errors import AsrBenchError
from asr_bench.features.cache import FeatureStore
from asr_bench.tasks.batching import BucketBatchSampler, BucketedDataModule

Tokenizer = LetterTokenizer | PhoneTokenizer


@dataclass
class CTCBatch:
    """features (batch, dim, frames), targets (batch, max_target) padded with 0, and the true lengths."""

    ids: list[str]
    features: torch.Tensor
    feature_lengths: torch.Tensor
    targets: torch.Tensor
    target_lengths: torch.Tensor
    references: list[str]


class CTCDataset(Dataset):
    def __init__(self, utterances: Sequence[Utterance], store: FeatureStore, tokenizer: Tokenizer) -> None:
        missing = [u.id for u in utterances if u.id not in store]
        if missing:
            raise AsrBenchError(f"{store.path}: no features for {len(missing)} utterance(s), e.g. {missing[0]!r}")
        self.utterances = list(utterances)
        self.store = store
        self.tokenizer = tokenizer

    def __len__(self) -> int:
        return len(self.utterances)

    def reference(self, utt: Utterance) -> str:
        """The scoring reference: normalised words, or the phone string."""
        if isinstance(self.tokenizer, PhoneTokenizer):
            if utt.phones is None:
                raise AsrBenchError(f"utterance {utt.id} has no phones but the token set is phones")
            return " ".join(utt.phones)
        return self.tokenizer.decode(self.tokenizer.encode(utt.text))

    def targets(self, utt: Utterance) -> list[int]:
        if isinstance(self.tokenizer, PhoneTokenizer):
            return self.tokenizer.encode(list(utt.phones or []))
        return self.tokenizer.encode(utt.text)

    def __getitem__(self, index: int) -> tuple[str, torch.Tensor, torch.Tensor, str]:
        utt = self.utterances[index]
        return utt.id, self.store[utt.id], torch.tensor(self.targets(utt), dtype=torch.long), self.reference(utt)

    def num_frames(self, index: int) -> int:
        return self.store.num_frames(self.utterances[index].id)


def collate(items: list[tuple[str, torch.Tensor, torch.Tensor, str]]) -> CTCBatch:
    ids, features, targets, references = zip(*items)
    feature_lengths = torch.tensor([f.shape[0] for f in features])
    target_lengths = torch.tensor([t.shape[0] for t in targets])
    padded = torch.nn.utils.rnn.pad_sequence(list(features), batch_first=True).transpose(1, 2)
    padded_targets = torch.nn.utils.rnn.pad_sequence(list(targets), batch_first=True)
    return CTCBatch(list(ids), padded.contiguous(), feature_lengths, padded_targets, target_lengths, list(references))


class CTCDataModule(BucketedDataModule):
    """Train/valid datasets over cached features; bucketing is by feature frames."""

    def lengths(self, dataset: CTCDataset) -> list[int]:
        return [dataset.num_frames(i) for i in range(len(dataset))]

    def loader(self, dataset: CTCDataset, buckets: BucketBatchSampler, shuffle: bool, rank: int) -> DataLoader:
        # Lightning calls `set_epoch` on the batch sampler at the start of every epoch.
        return DataLoader(dataset, batch_sampler=buckets, collate_fn=collate, num_workers=self.num_workers)
