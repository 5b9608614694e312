"""Cached features + transcripts -> length-bucketed, padded batches for CTC training.

Batches are formed from utterances of similar length, up to a budget of feature
frames, so padding stays small and memory per step is bounded whatever the corpus's
length distribution. The batch order is reshuffled every epoch from (seed, epoch),
and under DDP each rank takes every world_size-th batch (so the Trainer runs with
`use_distributed_sampler=False`: the sharding is already done here).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch.utils.data import DataLoader, Dataset

from asr_bench.data.manifest import Utterance
from asr_bench.data.tokens import PhoneTokenizer, Tokenizer
from asr_bench.errors import AsrBenchError
from asr_bench.features.cache import FeatureStore
from asr_bench.models.wav2letter import Wav2Letter
from asr_bench.tasks.batching import BucketBatchSampler, BucketedDataModule

log = logging.getLogger(__name__)


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
        """The scoring reference: normalised words, or the phones in the phone set's scoring symbols."""
        if isinstance(self.tokenizer, PhoneTokenizer):
            return self.tokenizer.reference(self._phones(utt))
        return self.tokenizer.decode(self.tokenizer.encode(utt.text))

    def targets(self, utt: Utterance) -> list[int]:
        """Training labels: letters of the text, or the phone set's training labels of the manifest's phones."""
        if isinstance(self.tokenizer, PhoneTokenizer):
            return self.tokenizer.encode(self._phones(utt))
        return self.tokenizer.encode(utt.text)

    @staticmethod
    def _phones(utt: Utterance) -> list[str]:
        if utt.phones is None:
            raise AsrBenchError(f"utterance {utt.id} has no phones but the token set is phones")
        return utt.phones

    def __getitem__(self, index: int) -> tuple[str, torch.Tensor, torch.Tensor, str]:
        utt = self.utterances[index]
        return utt.id, self.store[utt.id], torch.tensor(self.targets(utt), dtype=torch.long), self.reference(utt)

    def num_frames(self, index: int) -> int:
        return self.store.num_frames(self.utterances[index].id)


# The reason train_summary.json lists an utterance under when data.skip_bad leaves it out.
CTC_INFEASIBLE = "more labels than output frames"


def required_ctc_frames(targets: Sequence[int]) -> int:
    """Output frames CTC needs for a label sequence: one per label, plus a blank between each repeated pair."""
    return len(targets) + sum(1 for a, b in zip(targets, targets[1:]) if a == b)


def feasible_utterances(
    dataset: CTCDataset, model: Wav2Letter, manifest: str, skip_bad: bool
) -> tuple[CTCDataset, list[str]]:
    """The dataset without utterances whose labels need more frames than the model emits for them.

    CTC cannot align such an utterance: its loss is infinite (and zeroed by `zero_infinity`), so it would
    silently teach nothing. They are an error naming them, or, with `skip_bad`, left out and returned as
    "id: reason" lines for train_summary.json.
    """
    frames = [dataset.num_frames(i) for i in range(len(dataset))]
    emitted = model.output_lengths(torch.tensor(frames)).tolist() if frames else []
    bad: dict[str, str] = {}
    for utt, in_frames, out_frames in zip(dataset.utterances, frames, emitted):
        try:
            needed = required_ctc_frames(dataset.targets(utt))
        except AsrBenchError as exc:
            raise AsrBenchError(f"{manifest}: utterance {utt.id}: {exc}") from exc
        if needed > out_frames:
            bad[utt.id] = (f"{utt.id}: {needed} CTC frames needed (labels, and blanks between repeats), the model "
                           f"emits {out_frames} for its {in_frames} feature frames")
    if not bad:
        return dataset, []
    reasons = list(bad.values())
    if not skip_bad:
        shown = "; ".join(reasons[:20]) + (f"; and {len(reasons) - 20} more" if len(reasons) > 20 else "")
        raise AsrBenchError(
            f"{manifest}: {len(reasons)} utterance(s) have more labels than the acoustic model has output frames for "
            f"them, so CTC cannot learn them: {shown}. Fix: data.skip_bad=true leaves them out (listed in "
            "train_summary.json); a model with less total stride emits more frames; or check the audio and transcript"
        )
    log.warning("leaving out %d training utterance(s) CTC cannot align (data.skip_bad): %s", len(reasons), "; ".join(reasons))
    kept = [u for u in dataset.utterances if u.id not in bad]
    if not kept:
        raise AsrBenchError(f"{manifest}: no utterance left to train on: CTC can align none of them ({reasons[0]}, ...)")
    return CTCDataset(kept, dataset.store, dataset.tokenizer), reasons


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
