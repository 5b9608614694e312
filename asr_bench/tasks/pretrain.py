"""wav2vec 1.0 pretraining: its Lightning task, its config, and the run.

The loss is the paper's binary cross-entropy (`asr_bench.tasks.pretrain_loss`). Defaults are the
paper's: Adam at 5e-3 after 500 warm-up updates, cosine decay to 1e-6 over 40k updates, 150k-sample
crops, 12M samples per update (the paper's 8 GPUs x 1.5M, on one device), bf16 on GPU.

A training step runs one of the model's two implementations (`asr_bench.models.wav2vec`):
- "time_major" (the default on CUDA): (batch, time, channel) activations, fused norms, a loss that makes no
  host synchronisation, and, with `compile`, forward and loss as one torch.compile graph. Crops are cut
  to lengths that tile every encoder layer exactly; the summaries (accuracy, logit spread, z's spread
  over time) are computed only on the steps that log them (`trainer.log_every_n_steps`). On a GPU the
  waveforms live in GPU memory when they fit, and crops are gathered there.
- "reference" (the default elsewhere): module by module, as earlier versions trained, with the same
  numbers on the CPU.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import pytorch_lightning as pl
import torch

from asr_bench.config import to_dict
from asr_bench.data.audio import SAMPLE_RATE_HZ
from asr_bench.data.manifest import Utterance, read_manifest, total_hours
from asr_bench.errors import ConfigError
from asr_bench.features.waveform import waveform_store
from asr_bench.models.checkpoint import load_wav2vec
from asr_bench.models.wav2vec import Wav2Vec, Wav2VecConfig, resolve_implementation, sample_negatives
from asr_bench.tasks.optim import OptimConfig, configure_optimization
from asr_bench.tasks.pretrain_data import CropDataset, PretrainDataModule
from asr_bench.tasks.pretrain_loss import (
    ContrastiveLoss,
    TimeMajorStep,
    compiled_time_major_loss,
    reference_loss,
    time_major_loss,
    time_major_summary,
)
from asr_bench.tasks.trainer import TrainerConfig, build_trainer, fit_run, run_callbacks, start_run

log = logging.getLogger(__name__)


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
    # Per device: 12M (80 crops of 150k) is the paper's global batch (8 GPUs x 1.5M) on one device.
    max_samples_per_batch: int = 12_000_000
    num_workers: int = 2
    waveform_cache_dir: str = "exp/waveforms"
    normalize: bool = True  # per-utterance zero mean, unit variance (the paper); featurization follows the checkpoint
    # On a GPU, the waveform cache (float16) is copied into GPU memory when it takes at most a quarter of
    # it, and crops are gathered there: no host copies, no loader workers.
    waveforms_on_device: bool = True


@dataclass(frozen=True)
class PretrainConfig:
    out_dir: str = "exp/wav2vec"
    seed: int = 0
    data: PretrainDataConfig = field(default_factory=PretrainDataConfig)
    model: Wav2VecConfig = field(default_factory=Wav2VecConfig)
    optim: OptimConfig = field(default_factory=_paper_optim)
    trainer: TrainerConfig = field(default_factory=_paper_trainer)
    loss: Literal["bce", "infonce"] = "bce"  # bce: the paper's; infonce: see `contrastive_infonce`
    # auto: "time_major" on CUDA, "reference" elsewhere (module docstring)
    implementation: Literal["auto", "reference", "time_major"] = "auto"
    # torch.compile: time_major compiles forward and loss as one graph (shapes dynamic, so the crop lengths
    # of short utterances cost no recompilations); reference compiles the encoder and context network.
    # auto: on for CUDA, off elsewhere (Inductor's CPU code is not faster here, and compiling takes minutes).
    compile: bool | Literal["auto"] = "auto"
    # A wav2vec checkpoint of the same model config (ours, e.g. `asr-bench export`ed weights) to start from
    # instead of random weights: pretraining continues on it with a fresh optimiser and schedule.
    init_from: str = ""


class PretrainTask(pl.LightningModule):
    def __init__(
        self,
        model: Wav2Vec,
        optim: OptimConfig,
        hparams: dict[str, Any],
        loss: str = "bce",
        compile: bool = False,
        implementation: str = "reference",
    ) -> None:
        super().__init__()
        self.model = model
        self.optim = optim
        self.loss_name = loss
        self.implementation = implementation
        if implementation == "time_major":
            self._train_step = compiled_time_major_loss(model, loss) if compile else self._time_major_step
        else:
            # The bound method, not the module: a compiled module would register as a second copy of the weights.
            self._forward = torch.compile(model.forward) if compile else model.forward
        self.save_hyperparameters(hparams)  # the model config travels in every checkpoint
        self._last_step_end: float | None = None

    def _time_major_step(self, wav: torch.Tensor, negatives: torch.Tensor) -> TimeMajorStep:
        return time_major_loss(self.model, wav, negatives, self.loss_name)

    def _negatives(self, wav: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        config = self.model.config
        frames = self.model.num_frames(wav.shape[1])
        return sample_negatives(
            wav.shape[0], frames, config.num_negatives, config.cross_sample_negatives, generator, wav.device
        )

    def _reference_step(self, wav: torch.Tensor, generator: torch.Generator | None) -> tuple[ContrastiveLoss, torch.Tensor]:
        z, c = self._forward(wav)
        return reference_loss(self.model, z, c, self.loss_name, generator)

    def _summary_due(self) -> bool:
        """Whether Lightning writes this training step's metrics (every `log_every_n_steps` updates)."""
        every = self.trainer.log_every_n_steps
        return every > 0 and (self.global_step + 1) % every == 0

    def training_step(self, wav: torch.Tensor, batch_idx: int) -> torch.Tensor:
        batch_size = wav.shape[0]
        if self.implementation == "time_major":
            step = self._train_step(wav, self._negatives(wav, None))
            self.log("train/loss", step.loss, prog_bar=True, batch_size=batch_size)
            if self._summary_due():  # tensors only, read by the logger: no wait for the device here
                for name, value in time_major_summary(step).items():
                    self.log(f"train/{name}", value, batch_size=batch_size)
            return step.loss
        result, z_time_std = self._reference_step(wav, None)
        self.log("train/loss", result.loss, prog_bar=True, batch_size=batch_size)
        self.log("train/accuracy", result.accuracy, prog_bar=True, batch_size=batch_size)
        self.log("train/z_time_std", z_time_std, batch_size=batch_size)
        self.log("train/logit_spread", result.logit_spread, batch_size=batch_size)
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
        if self.implementation == "time_major":  # eager: validation shapes would cost compilations
            step = self._time_major_step(wav, self._negatives(wav, generator))
            loss, summary = step.loss, time_major_summary(step)
        else:
            result, _ = self._reference_step(wav, generator)
            loss, summary = result.loss, {"accuracy": result.accuracy, "logit_spread": result.logit_spread}
        self.log("valid/loss", loss, prog_bar=True, sync_dist=True, batch_size=wav.shape[0])
        self.log("valid/accuracy", summary["accuracy"], sync_dist=True, batch_size=wav.shape[0])
        self.log("valid/logit_spread", summary["logit_spread"], sync_dist=True, batch_size=wav.shape[0])

    def configure_optimizers(self) -> dict[str, Any]:
        return configure_optimization(self, self.optim)


def _read_all(manifests: list[str]) -> list[Utterance]:
    utterances = [u for path in manifests for u in read_manifest(path)]
    ids = [u.id for u in utterances]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"manifests {manifests} share utterance ids; pretraining would count them twice")
    return utterances


def _crop_dataset(
    utterances: list[Utterance], config: PretrainDataConfig, what: str, tile: Callable[[int], int] | None
) -> CropDataset:
    store = waveform_store(utterances, config.waveform_cache_dir, config.normalize, f"cache {what} audio")
    dataset = CropDataset(utterances, store, config.crop_samples, config.min_samples, tile)
    if dataset.num_too_short:
        log.info("%s: skipped %d utterance(s) shorter than %d samples", what, dataset.num_too_short, config.min_samples)
    return dataset


def _initial_weights(model: Wav2Vec, config: PretrainConfig) -> None:
    """Load `config.init_from` into `model`: same model config and input normalisation, or an error."""
    loaded = load_wav2vec(config.init_from)
    if loaded.model.config != config.model:
        raise ConfigError(f"{config.init_from}: init_from holds another wav2vec ({loaded.model.config}) than model ({config.model})")
    if loaded.normalize != config.data.normalize:
        raise ConfigError(f"{config.init_from}: init_from reads audio with normalize={loaded.normalize}, data.normalize is {config.data.normalize}")
    model.load_state_dict(loaded.model.state_dict())


def pretrain(config: PretrainConfig, fresh: bool = False) -> Path:
    """Pretrain (or resume) wav2vec on the audio of the train manifests; transcripts are never read."""
    if not config.data.train_manifests:
        raise ConfigError("data.train_manifests is required (a list of manifests whose audio to pretrain on)")
    run = start_run(config, Path(config.out_dir), config.seed, fresh)
    if run.finished:
        return run.out_dir
    out_dir = run.out_dir
    trainer = build_trainer(config.trainer, out_dir, run_callbacks(out_dir, "valid/loss" if config.data.valid_manifests else "train/loss"))
    device = trainer.strategy.root_device
    implementation = resolve_implementation(config.implementation, device)
    compiled = device.type == "cuda" if config.compile == "auto" else config.compile
    model = Wav2Vec(config.model)
    if config.init_from:
        _initial_weights(model, config)
    tile = model.tiled_samples if implementation == "time_major" else None
    train_utts = _read_all(config.data.train_manifests)
    train_set = _crop_dataset(train_utts, config.data, "train", tile)
    valid_set = _crop_dataset(_read_all(config.data.valid_manifests), config.data, "valid", tile) if config.data.valid_manifests else None

    log.info(
        "wav2vec: %.2f M parameters, %.2f h of training audio, %s implementation%s",
        sum(p.numel() for p in model.parameters()) / 1e6, total_hours(train_utts), implementation, ", compiled" if compiled else "",
    )
    task = PretrainTask(model, config.optim, to_dict(config), config.loss, compiled, implementation)
    data = PretrainDataModule(
        train_set, valid_set, config.data.max_samples_per_batch, config.data.num_workers, config.seed,
        config.data.waveforms_on_device,
    )
    fit_run(run, trainer, task, data, pretrain_hours=total_hours(train_utts), implementation=implementation, compiled=compiled)
    return out_dir
