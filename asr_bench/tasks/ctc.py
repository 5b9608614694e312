"""CTC acoustic-model training as a LightningModule: loss, optimiser, schedule, validation WER/CER or PER.

The Trainer owns devices, precision, DDP and checkpoints; this module owns only the
model, the CTC loss and the metrics. Validation error counts are summed across DDP
ranks before dividing, so the reported WER is the corpus WER, not a mean of rank means.
Letter models log `valid/wer` and `valid/cer`; phone models `valid/per`, on the phone set's
scoring symbols. `train/infinite_losses` counts, per epoch, the utterances whose CTC loss was
infinite (no alignment fits their frames, or none has a finite probability), which `zero_infinity`
leaves out of the loss: training start refuses the first kind, so a count above zero is a warning.
"""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
import torch
import torch.nn.functional as F

from asr_bench.data.tokens import PhoneTokenizer
from asr_bench.metrics import error_counts
from asr_bench.models.ctc_greedy import greedy_batch
from asr_bench.models.wav2letter import Wav2Letter
from asr_bench.tasks.ctc_data import CTCBatch, Tokenizer
from asr_bench.tasks.optim import OptimConfig, configure_optimization


class CTCTask(pl.LightningModule):
    def __init__(self, model: Wav2Letter, tokenizer: Tokenizer, optim: OptimConfig, hparams: dict[str, Any]) -> None:
        super().__init__()
        self.model = model
        self.tokenizer = tokenizer
        self.optim = optim
        # The full run config travels inside every checkpoint, so decoding needs nothing else.
        self.save_hyperparameters(hparams)
        self.phones = isinstance(tokenizer, PhoneTokenizer)
        self._val_counts = torch.zeros(4, dtype=torch.long)

    def forward(self, features: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(batch, dim, frames) -> log-probs (batch, out_frames, tokens) and their lengths."""
        return self.model(features), self.model.output_lengths(lengths)

    def _loss(self, batch: CTCBatch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        log_probs, lengths = self(batch.features, batch.feature_lengths)
        loss = self._ctc(log_probs, lengths, batch, reduction="mean", zero_infinity=True)
        return loss, log_probs, lengths

    def _ctc(self, log_probs: torch.Tensor, lengths: torch.Tensor, batch: CTCBatch, **options: Any) -> torch.Tensor:
        return F.ctc_loss(
            log_probs.transpose(0, 1).float(),
            batch.targets,
            lengths,
            batch.target_lengths,
            blank=self.tokenizer.tokens.blank_index,
            **options,
        )

    def training_step(self, batch: CTCBatch, batch_idx: int) -> torch.Tensor:
        loss, log_probs, lengths = self._loss(batch)
        with torch.no_grad():  # the same loss per utterance, unzeroed: which ones zero_infinity dropped
            per_utterance = self._ctc(log_probs.detach(), lengths, batch, reduction="none", zero_infinity=False)
        infinite = torch.isinf(per_utterance).sum().float()
        self.log("train/infinite_losses", infinite, on_step=False, on_epoch=True, reduce_fx="sum", sync_dist=True,
                 batch_size=len(batch.ids))
        self.log("train/loss", loss, prog_bar=True, batch_size=len(batch.ids))
        self.log("train/lr", self.optimizers().param_groups[0]["lr"], batch_size=len(batch.ids))
        return loss

    def on_validation_epoch_start(self) -> None:
        self._val_counts = torch.zeros(4, dtype=torch.long)

    def validation_step(self, batch: CTCBatch, batch_idx: int) -> None:
        loss, log_probs, lengths = self._loss(batch)
        self.log("valid/loss", loss, prog_bar=True, sync_dist=True, batch_size=len(batch.ids))
        hypotheses = [self.tokenizer.decode(ids) for ids in greedy_batch(log_probs.float().cpu(), lengths.cpu())]
        # Phones are the space-separated units, so their "word" counts are phone counts; they have no CER.
        word_edits, words = error_counts(batch.references, hypotheses, "word")
        char_edits, chars = (0, 0) if self.phones else error_counts(batch.references, hypotheses, "char")
        self._val_counts += torch.tensor([word_edits, words, char_edits, chars])

    def on_validation_epoch_end(self) -> None:
        # Summed over ranks, so every rank logs the same corpus-level figure.
        counts = self.trainer.strategy.reduce(self._val_counts.to(self.device), reduce_op="sum")
        if counts[1] > 0 and self.phones:
            self.log("valid/per", 100.0 * counts[0].float() / counts[1], prog_bar=True)
        elif counts[1] > 0:
            self.log("valid/wer", 100.0 * counts[0].float() / counts[1], prog_bar=True)
            self.log("valid/cer", 100.0 * counts[2].float() / counts[3], prog_bar=True)

    def configure_optimizers(self) -> dict[str, Any]:
        return configure_optimization(self, self.optim)
