"""wav2vec 1.0 pretraining: the contrastive binary cross-entropy loss and its Lightning task.

Loss (paper, eq. 1): for each step k = 1..K and position i,
    -log sigmoid(z_{i+k} . h_k(c_i)) - lambda * E[log sigmoid(-z~ . h_k(c_i))],
with lambda = the number of negatives, so the expectation over negatives becomes their
sum. It is summed over steps and positions and divided by the number of positive
terms, as the reference implementation normalises it, so the logged figure does not
depend on crop length or batch size. The model produces the logits
(`Wav2Vec.contrastive_scores`); this module turns them into the loss and the accuracy
(how often the positive outscores all of its negatives).

Defaults are the paper's: Adam at 5e-3 after 500 warm-up updates, cosine decay to 1e-6
over 40k updates, 150k-sample crops, 1.5M samples per batch, bf16 on GPU.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple

import pytorch_lightning as pl
import torch
import torch.nn.functional as F

from asr_bench.config import to_dict
from asr_bench.data.audio import SAMPLE_RATE_HZ
from asr_bench.data.manifest import Utterance, read_manifest, total_hours
from asr_bench.errors import ConfigError
from asr_bench.features.waveform import waveform_store
from asr_bench.models.wav2vec import StepScores, Wav2Vec, Wav2VecConfig
from asr_bench.tasks.optim import OptimConfig, configure_optimization
from asr_bench.tasks.pretrain_data import CropDataset, PretrainDataModule
from asr_bench.tasks.trainer import TrainerConfig, build_trainer, fit_run, run_callbacks, start_run

log = logging.getLogger(__name__)


class ContrastiveLoss(NamedTuple):
    loss: torch.Tensor  # scalar: per positive term
    accuracy: torch.Tensor  # fraction of positions where the positive beats every negative
    num_positives: int
    # std of each target's candidate logits (positive and negatives), averaged: 0 when every candidate
    # scores alike, the binary loss's trivial solution, whether z or the predictions carry no information
    logit_spread: torch.Tensor


def _valid_logits(scores: StepScores) -> tuple[torch.Tensor, torch.Tensor]:
    """Positive (P,) and negative (P, N) logits at the prediction positions whose target is inside the crop."""
    valid = scores.valid.unsqueeze(1).expand_as(scores.positive)  # (K, B, F)
    positive, negative = scores.positive.float()[valid], scores.negative.float()[valid]
    if positive.numel() == 0:
        raise ConfigError("no prediction targets inside the crop: crops are shorter than offset + prediction_steps")
    return positive, negative


def _summary(loss: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor) -> ContrastiveLoss:
    with torch.no_grad():
        accuracy = (positive.unsqueeze(1) > negative).all(dim=1).float().mean()
        spread = torch.cat([positive.unsqueeze(1), negative], dim=1).std(dim=1).mean()
    return ContrastiveLoss(loss, accuracy, int(positive.numel()), spread)


def contrastive_bce(scores: StepScores) -> ContrastiveLoss:
    """The paper's loss from step logits: positive (K, B, F), negative (K, B, F, N), valid (K, F)."""
    positive, negative = _valid_logits(scores)
    # -log sigmoid(x) = softplus(-x); -log sigmoid(-x) = softplus(x)
    total = F.softplus(-positive).sum() + F.softplus(negative).sum()
    return _summary(total / positive.numel(), positive, negative)


def contrastive_infonce(scores: StepScores) -> ContrastiveLoss:
    """Softmax cross-entropy picking the positive among itself and its negatives (vq-wav2vec / wav2vec 2.0's loss).

    Not the paper's. It is offered because it depends only on logit differences: the
    binary loss can be lowered by scoring every candidate alike (towards probability
    1 / (N + 1)), which a model reaches by making z constant over time, and small models
    trained briefly do exactly that (`train/z_time_std` falls towards 0, accuracy stays at
    chance); the softmax loss gains nothing from it.
    """
    positive, negative = _valid_logits(scores)
    logits = torch.cat([positive.unsqueeze(1), negative], dim=1)
    loss = F.cross_entropy(logits, torch.zeros(len(logits), dtype=torch.long, device=logits.device))
    return _summary(loss, positive, negative)


LOSSES = {"bce": contrastive_bce, "infonce": contrastive_infonce}


def _paper_optim() -> OptimConfig:
    # Adam (no weight decay), 5e-3 peak, cosine down to 1e-6 = 5e-3 * 2e-4.
    return OptimConfig(name="adamw", lr=5e-3, weight_decay=0.0, warmup_steps=500, schedule="cosine", min_lr_ratio=2e-4)


def _paper_trainer() -> TrainerConfig:
    return TrainerConfig(max_epochs=-1, max_steps=40_000, gradient_clip_val=25.0, early_stopping_patience=0)


@dataclass(frozen=True)
class PretrainDataConfig:
    train_manifests: list[str] = field(default_factory=list)
    valid_manifests: list[str] = field(default_factory=list)
    crop_samples: int = 150_000
    min_samples: int = 16_000  # shorter utterances are skipped (and counted in the log)
    max_samples_per_batch: int = 1_500_000
    num_workers: int = 2
    waveform_cache_dir: str = "exp/waveforms"
    normalize: bool = True  # per-utterance zero mean, unit variance (the paper); featurization follows the checkpoint


@dataclass(frozen=True)
class PretrainConfig:
    out_dir: str = "exp/wav2vec"
    seed: int = 0
    data: PretrainDataConfig = field(default_factory=PretrainDataConfig)
    model: Wav2VecConfig = field(default_factory=Wav2VecConfig)
    optim: OptimConfig = field(default_factory=_paper_optim)
    trainer: TrainerConfig = field(default_factory=_paper_trainer)
    loss: Literal["bce", "infonce"] = "bce"  # bce: the paper's; infonce: see `contrastive_infonce`
    # torch.compile the encoder and context network (the scoring stays eager). Off by default: measured 1.83x
    # on base bf16 training steps of fixed-size crops on an H200 (benchmarks/RESULTS.md), not yet in a whole
    # run, where the crops' lengths vary and each new length may cost a recompilation.
    compile: bool = False


class PretrainTask(pl.LightningModule):
    def __init__(
        self, model: Wav2Vec, optim: OptimConfig, hparams: dict[str, Any], loss: str = "bce", compile: bool = False
    ) -> None:
        super().__init__()
        self.model = model
        # The bound method, not the module: a compiled module would register as a second copy of the weights.
        self._forward = torch.compile(model.forward) if compile else model.forward
        self.optim = optim
        self.loss = LOSSES[loss]
        self.save_hyperparameters(hparams)  # the model config travels in every checkpoint
        self._last_step_end: float | None = None

    def _step(self, wav: torch.Tensor, generator: torch.Generator | None) -> tuple[ContrastiveLoss, torch.Tensor]:
        """The loss, and how much z varies over time (its collapse towards a constant shows as this falling to 0)."""
        z, c = self._forward(wav)
        z_time_std = z.detach().float().std(dim=2).mean()
        return self.loss(self.model.contrastive_scores(z, c, generator)), z_time_std

    def training_step(self, wav: torch.Tensor, batch_idx: int) -> torch.Tensor:
        result, z_time_std = self._step(wav, None)
        self.log("train/loss", result.loss, prog_bar=True, batch_size=wav.shape[0])
        self.log("train/accuracy", result.accuracy, prog_bar=True, batch_size=wav.shape[0])
        self.log("train/z_time_std", z_time_std, batch_size=wav.shape[0])
        self.log("train/logit_spread", result.logit_spread, batch_size=wav.shape[0])
        return result.loss

    def on_train_batch_end(self, outputs: Any, wav: torch.Tensor, batch_idx: int) -> None:
        # Wall time between consecutive steps, so data loading and the optimiser count too.
        now = time.perf_counter()
        if self._last_step_end is not None:
            audio_s = wav.numel() * self.trainer.world_size / SAMPLE_RATE_HZ
            self.log("train/audio_s_per_s", audio_s / (now - self._last_step_end), prog_bar=True, batch_size=1)
        self._last_step_end = now

    def on_validation_start(self) -> None:
        self._last_step_end = None  # validation time is not training throughput

    def validation_step(self, wav: torch.Tensor, batch_idx: int) -> None:
        # Fixed negatives per batch, so the validation curve is not noise from resampling.
        generator = torch.Generator(device=wav.device).manual_seed(batch_idx)
        result, _ = self._step(wav, generator)
        self.log("valid/loss", result.loss, prog_bar=True, sync_dist=True, batch_size=wav.shape[0])
        self.log("valid/accuracy", result.accuracy, sync_dist=True, batch_size=wav.shape[0])
        self.log("valid/logit_spread", result.logit_spread, sync_dist=True, batch_size=wav.shape[0])

    def configure_optimizers(self) -> dict[str, Any]:
        return configure_optimization(self, self.optim)


def _read_all(manifests: list[str]) -> list[Utterance]:
    utterances = [u for path in manifests for u in read_manifest(path)]
    ids = [u.id for u in utterances]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"manifests {manifests} share utterance ids; pretraining would count them twice")
    return utterances


def _crop_dataset(utterances: list[Utterance], config: PretrainDataConfig, what: str) -> CropDataset:
    store = waveform_store(utterances, config.waveform_cache_dir, config.normalize, f"cache {what} audio")
    dataset = CropDataset(utterances, store, config.crop_samples, config.min_samples)
    if dataset.num_too_short:
        log.info("%s: skipped %d utterance(s) shorter than %d samples", what, dataset.num_too_short, config.min_samples)
    return dataset


def pretrain(config: PretrainConfig, fresh: bool = False) -> Path:
    """Pretrain (or resume) wav2vec on the audio of the train manifests; transcripts are never read."""
    if not config.data.train_manifests:
        raise ConfigError("data.train_manifests is required (a list of manifests whose audio to pretrain on)")
    run = start_run(config, Path(config.out_dir), config.seed, fresh)
    if run.finished:
        return run.out_dir
    out_dir = run.out_dir
    train_utts = _read_all(config.data.train_manifests)
    train_set = _crop_dataset(train_utts, config.data, "train")
    valid_set = _crop_dataset(_read_all(config.data.valid_manifests), config.data, "valid") if config.data.valid_manifests else None

    model = Wav2Vec(config.model)
    log.info("wav2vec: %.2f M parameters, %.2f h of training audio", sum(p.numel() for p in model.parameters()) / 1e6, total_hours(train_utts))
    task = PretrainTask(model, config.optim, to_dict(config), config.loss, config.compile)
    data = PretrainDataModule(
        train_set, valid_set, config.data.max_samples_per_batch, config.data.num_workers, config.seed
    )
    monitor = "valid/loss" if valid_set else "train/loss"
    callbacks = run_callbacks(out_dir, monitor)
    trainer = build_trainer(config.trainer, out_dir, callbacks)
    fit_run(run, trainer, task, data, pretrain_hours=total_hours(train_utts))
    return out_dir
