"""The Lightning Trainer both training stages use: devices, precision, logs, resumption.

Multi-GPU and multi-node runs are Lightning's DDP, chosen in config
(`trainer.strategy=ddp trainer.devices=8 trainer.num_nodes=2`); asr-bench has no
launcher of its own. A run directory is resumable: `fit_resumable` continues from where an
interrupted run stopped.
"""

from __future__ import annotations

import csv
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
import yaml
from pytorch_lightning.callbacks import LearningRateMonitor, ModelCheckpoint
from pytorch_lightning.loggers import CSVLogger, TensorBoardLogger

from asr_bench.config import dump_config, to_dict
from asr_bench.errors import ConfigError
from asr_bench.hardware import native_bf16
from asr_bench.provenance import provenance

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainerConfig:
    """Passed through to Lightning's Trainer: DDP is `strategy: ddp` with `devices`/`num_nodes`."""

    max_epochs: int = 30
    max_steps: int = -1
    max_time: str | None = None  # "DD:HH:MM:SS": stop after this much training time (last.ckpt is still written)
    accelerator: str = "auto"
    devices: int | str = "auto"
    num_nodes: int = 1
    strategy: str = "auto"
    precision: str = "auto"  # bf16-mixed where the device does bf16 natively (GPU, recent CPUs), else 32-true
    gradient_clip_val: float = 1.0
    check_val_every_n_epoch: int | None = 1  # None with an int val_check_interval: validate by steps across epochs
    val_check_interval: int | float = 1.0  # an int validates (and checkpoints) every that many steps
    log_every_n_steps: int = 10
    early_stopping_patience: int = 0  # epochs without valid/wer improvement; 0 disables
    progress_bar: bool = True


def resolve_precision(precision: str, accelerator: str = "auto") -> str:
    """"auto": bf16-mixed where the training device does bf16 natively, else 32-true.

    That includes CPUs with AVX512-BF16 or AMX, where bf16 trains the recipe's models 1.6-2x faster.
    """
    if precision != "auto":
        return precision
    on_gpu = accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available())
    return "bf16-mixed" if native_bf16(torch.device("cuda" if on_gpu else "cpu")) else "32-true"


class SaveAtTrainEnd(pl.Callback):
    """Write a checkpoint when fit ends, so that it holds the final weights.

    Checkpoint callbacks run at validation; a run stopped by max_steps or max_time between two
    validations would otherwise leave last.ckpt up to a whole validation interval behind.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        trainer.save_checkpoint(self.path)  # every rank calls it; Lightning writes once


def run_callbacks(out_dir: Path, monitor: str) -> list[pl.Callback]:
    """best.ckpt by `monitor` (lower is better), last.ckpt at every validation and at the end, the LR in the logs.

    Two checkpoint callbacks, because Lightning's `save_last=True` writes last.ckpt only
    when the monitored checkpoint improves: a run whose metric got worse would resume, and
    be decoded, from an older epoch than the one it stopped at.
    """
    checkpoints = out_dir / "checkpoints"
    return [
        ModelCheckpoint(dirpath=checkpoints, filename="best", monitor=monitor, mode="min", enable_version_counter=False),
        ModelCheckpoint(dirpath=checkpoints, filename="last", monitor=None, save_top_k=1, enable_version_counter=False),
        SaveAtTrainEnd(checkpoints / "last.ckpt"),
        LearningRateMonitor(logging_interval="step"),
    ]


def build_trainer(config: TrainerConfig, out_dir: Path, callbacks: list[pl.Callback]) -> pl.Trainer:
    """A Trainer logging CSV to <out_dir>/logs and TensorBoard to <out_dir>/tb."""
    return pl.Trainer(
        default_root_dir=out_dir,
        max_epochs=config.max_epochs,
        max_steps=config.max_steps,
        max_time=config.max_time,
        accelerator=config.accelerator,
        devices=config.devices,
        num_nodes=config.num_nodes,
        strategy=config.strategy,
        precision=resolve_precision(config.precision, config.accelerator),
        gradient_clip_val=config.gradient_clip_val,
        check_val_every_n_epoch=config.check_val_every_n_epoch,
        val_check_interval=config.val_check_interval,
        log_every_n_steps=config.log_every_n_steps,
        logger=[CSVLogger(out_dir, name="logs", version=""), TensorBoardLogger(out_dir, name="tb", version="")],
        callbacks=callbacks,
        use_distributed_sampler=False,  # our batch samplers shard by rank themselves
        enable_progress_bar=config.progress_bar,
        deterministic=False,
    )


def fit_resumable(trainer: pl.Trainer, task: pl.LightningModule, data: pl.LightningDataModule, out_dir: Path) -> None:
    """Fit, resuming from <out_dir>/checkpoints/last.ckpt if an earlier run left one.

    Lightning's CSV logger starts a fresh metrics.csv on every fit, so the earlier run's
    rows are kept aside and put back in front of the new ones (minus any steps run again
    after the checkpoint): the curves of a resumed run read as one run.
    """
    last = out_dir / "checkpoints" / "last.ckpt"
    metrics = out_dir / "logs" / "metrics.csv"
    earlier: list[dict[str, str]] = []
    if last.is_file():
        log.info("resuming from %s", last)
        if metrics.is_file():
            with metrics.open(newline="") as handle:
                earlier = list(csv.DictReader(handle))
    try:
        trainer.fit(task, datamodule=data, ckpt_path=str(last) if last.is_file() else None)
    finally:  # also when the resumed fit fails or logs nothing: the logger has already removed the old file
        if earlier and trainer.is_global_zero:
            _prepend_metrics(metrics, earlier)


def _prepend_metrics(metrics: Path, earlier: list[dict[str, str]]) -> None:
    """Rewrite metrics.csv as the earlier run's rows, then the resumed run's (if it wrote any)."""
    later: list[dict[str, str]] = []
    fields: list[str] = []
    if metrics.is_file():
        with metrics.open(newline="") as handle:
            reader = csv.DictReader(handle)
            later, fields = list(reader), list(reader.fieldnames or [])
    fields += [f for row in earlier for f in row if f not in fields]
    # last.ckpt may predate the earlier run's final steps: those steps were run again.
    resumed_at = min((int(row["step"]) for row in later if row.get("step")), default=None)
    if resumed_at is not None:
        earlier = [row for row in earlier if not row.get("step") or int(row["step"]) < resumed_at]
    metrics.parent.mkdir(parents=True, exist_ok=True)
    with metrics.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(dict.fromkeys(fields)))
        writer.writeheader()
        writer.writerows(earlier + later)


def _key_paths(values: Any, prefix: str = "") -> set[str]:
    if not isinstance(values, dict):
        return set()
    return {f"{prefix}{k}" for k in values} | {p for k, v in values.items() for p in _key_paths(v, f"{prefix}{k}.")}


def start_run(config: Any, out_dir: Path, seed: int) -> Path:
    """Create the run directory, seed every RNG, and record the config and provenance before any work.

    A directory already holding a run of another kind (say, pretraining where acoustic-model
    training is asked for) is refused: resuming would load the wrong checkpoint. Its config must
    hold only keys this kind of run knows; a run from before a key was added resumes with that
    key's default.
    """
    previous = out_dir / "config.yaml"
    if previous.is_file():
        unknown = _key_paths(yaml.safe_load(previous.read_text())) - _key_paths(to_dict(config))
        if unknown:
            raise ConfigError(
                f"{out_dir} holds a different kind of run, or one from another asr-bench version (its {previous} "
                f"has keys this run does not know: {', '.join(sorted(unknown)[:5])}); choose another out_dir for this one"
            )
    out_dir.mkdir(parents=True, exist_ok=True)
    pl.seed_everything(seed, workers=True)
    dump_config(config, out_dir / "config.yaml")
    (out_dir / "provenance.json").write_text(json.dumps(provenance(), indent=2))
    return out_dir


def write_summary(out_dir: Path, started: float, trainer: pl.Trainer, **facts: Any) -> None:
    """<out_dir>/train_summary.json: wall time since `started` (time.time()), the precision that "auto"
    resolved to on this machine, the updates done, plus what the run was trained on."""
    summary = {"wall_time_s": time.time() - started, "precision": str(trainer.precision), "steps": trainer.global_step, **facts}
    (out_dir / "train_summary.json").write_text(json.dumps(summary, indent=2))
