"""The Lightning Trainer both training stages use: devices, precision, logs, and the run folder.

Multi-GPU and multi-node runs are Lightning's DDP, chosen in config
(`trainer.strategy=ddp trainer.devices=8 trainer.num_nodes=2`); asr-bench has no
launcher of its own.

A run folder holds one run and never changes meaning (`start_run`). Its `config.yaml` records what
defines the run (`asr_bench.identity.definition` of it), `train_summary.json` whether it finished and
its training wall time summed over sittings. Rerunning a command into the folder then does one of three
things: an unfinished run resumes from its last checkpoint; an identical finished run is left as it is,
records included; any other run is refused, with the keys that differ. `fresh=True` (the CLI's
`--fresh`) discards the folder's records first and trains from scratch.
"""

from __future__ import annotations

import csv
import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import EarlyStopping, LearningRateMonitor, ModelCheckpoint, Timer
from pytorch_lightning.loggers import CSVLogger, TensorBoardLogger

from asr_bench.config import dump_config, from_dict, read_yaml, to_dict
from asr_bench.errors import ConfigError
from asr_bench.hardware import native_bf16
from asr_bench.identity import definition, differing_keys, flatten
from asr_bench.provenance import provenance

log = logging.getLogger(__name__)

# Lightning's precision names (trainer.precision), and "auto" for the one that suits the device.
PRECISIONS = ("auto", "32-true", "bf16-mixed", "16-mixed", "bf16-true", "16-true", "64-true")

CONFIG_FILE = "config.yaml"
SUMMARY_FILE = "train_summary.json"
# Everything a run writes into its folder (decoding adds the last two): what `fresh` removes, and nothing else.
RUN_RECORDS = (CONFIG_FILE, "provenance.json", SUMMARY_FILE, "checkpoints", "logs", "tb", "results.json", "decode")


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

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision {self.precision!r}: expected one of {', '.join(PRECISIONS)}")
        if self.max_epochs == -1 and self.max_steps < 1:
            raise ConfigError("max_epochs=-1 (no epoch limit) needs max_steps: the run would never end; set max_steps")
        if self.max_epochs < 1 and self.max_epochs != -1:
            raise ConfigError(f"max_epochs={self.max_epochs}: expected a positive number, or -1 with max_steps")
        if self.max_steps < 1 and self.max_steps != -1:
            raise ConfigError(f"max_steps={self.max_steps}: expected a positive number, or -1 (no step limit)")


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
    except SystemExit:
        if trainer.interrupted:  # Lightning ends a fit stopped by Ctrl-C with sys.exit(1), after shutting down
            raise KeyboardInterrupt from None
        raise
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


@dataclass(frozen=True)
class Run:
    """A run folder ready for a sitting of training, as `start_run` found it."""

    out_dir: Path
    started: float  # time.time() when this sitting began
    earlier_wall_time_s: float  # what the folder's earlier sittings took
    finished: bool  # an identical run already finished here: there is nothing to do


def start_run(config: Any, out_dir: Path, seed: int, fresh: bool = False) -> Run:
    """Check the run folder against `config`, then seed every RNG and record the config and provenance.

    A folder holding a run with another definition is refused (resuming it would mix two experiments
    under one name); so is one holding a different kind of run. A run from before a config key was added
    resumes, that key taking its default. An identical finished run is not touched at all. `fresh`
    discards the folder's records (`RUN_RECORDS`) first.
    """
    started = time.time()
    if fresh:
        for name in RUN_RECORDS:
            path = out_dir / name
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
    earlier = read_summary(out_dir)
    if (out_dir / CONFIG_FILE).is_file():
        _check_same_run(config, out_dir)
    if earlier.get("finished"):
        log.info(
            "%s: this run already finished (%s steps); nothing to do, its records are kept (--fresh trains it again)",
            out_dir, earlier.get("steps"),
        )
        return Run(out_dir, started, float(earlier["wall_time_s"]), finished=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    pl.seed_everything(seed, workers=True)
    dump_config(config, out_dir / CONFIG_FILE)
    (out_dir / "provenance.json").write_text(json.dumps(provenance(), indent=2))
    return Run(out_dir, started, float(earlier.get("wall_time_s", 0.0)), finished=False)


def _check_same_run(config: Any, out_dir: Path) -> None:
    """Refuse `out_dir` unless its config.yaml, filled with today's defaults, defines the same run as `config`."""
    path = out_dir / CONFIG_FILE
    recorded = read_yaml(path)
    if not isinstance(recorded, dict):
        raise ConfigError(f"{path}: expected a YAML mapping (the config of the run in {out_dir})")
    try:
        earlier = to_dict(from_dict(type(config), recorded, where=str(path)))
    except ConfigError as exc:
        raise ConfigError(
            f"{out_dir} holds a different kind of run, or one this asr-bench version cannot read ({exc}); "
            "choose another out_dir, or rerun with --fresh to discard it"
        ) from None
    now = to_dict(config)
    changed = differing_keys(definition(earlier), definition(now))
    if changed:
        old, new = flatten(earlier), flatten(now)
        lines = "".join(f"\n  {key}: {old.get(key, '(absent)')!r} -> {new.get(key, '(absent)')!r}" for key in changed)
        raise ConfigError(
            f"{out_dir} holds another run: its {CONFIG_FILE} differs from this one in {len(changed)} key(s) "
            f"(recorded -> asked for):{lines}\nchoose another out_dir, or rerun with --fresh to discard that run"
        )


def read_summary(out_dir: Path) -> dict[str, Any]:
    """<out_dir>/train_summary.json, or {} where no sitting has ended yet."""
    path = out_dir / SUMMARY_FILE
    if not path.is_file():
        return {}
    try:
        summary = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc}); rerun with --fresh to train this run again") from None
    if not isinstance(summary, dict) or not isinstance(summary.get("wall_time_s", 0.0), (int, float)):
        raise ConfigError(f"{path}: expected a JSON object with a numeric wall_time_s")
    return summary


def fit_run(
    run: Run,
    trainer: pl.Trainer,
    task: pl.LightningModule,
    data: pl.LightningDataModule,
    after_fit: Callable[[], dict[str, Any]] = dict,
    **facts: Any,
) -> None:
    """Fit (resuming where an earlier sitting stopped), then record the sitting in train_summary.json.

    The summary is written however the sitting ends, Ctrl-C included, so the wall time adds up across
    sittings; `facts` are what the run was trained on (e.g. labelled_hours), `after_fit` what it learned
    that is worth reading without the checkpoint (e.g. the weights of a layer mix).
    """
    try:
        fit_resumable(trainer, task, data, run.out_dir)
    finally:
        if trainer.is_global_zero:
            write_summary(run, trainer, **facts, **after_fit())


def completed(trainer: pl.Trainer) -> bool:
    """Whether the fit ended on its own terms (max_steps, max_epochs, early stopping), not by max_time or Ctrl-C."""
    if trainer.interrupted:
        return False
    if (trainer.max_steps > 0 and trainer.global_step >= trainer.max_steps) or (
        trainer.max_epochs is not None and trainer.max_epochs > 0 and trainer.current_epoch >= trainer.max_epochs
    ):
        return True
    timer = next((cb for cb in trainer.callbacks if isinstance(cb, Timer)), None)
    out_of_time = timer is not None and (timer.time_remaining() or 0.0) <= 0
    if out_of_time:
        log.info("stopped by trainer.max_time, which counts every sitting's training time: raise it to go on")
    early_stopping = any(isinstance(cb, EarlyStopping) for cb in trainer.callbacks)
    return early_stopping and bool(trainer.should_stop) and not out_of_time


def write_summary(run: Run, trainer: pl.Trainer, **facts: Any) -> None:
    """<out_dir>/train_summary.json: whether the run finished, its wall time over all sittings so far, the
    precision that "auto" resolved to on this machine, the updates done, plus what the run was trained on."""
    summary = {
        "finished": completed(trainer),
        "wall_time_s": run.earlier_wall_time_s + time.time() - run.started,
        "precision": str(trainer.precision),
        "steps": trainer.global_step,
        **facts,
    }
    (run.out_dir / SUMMARY_FILE).write_text(json.dumps(summary, indent=2))
