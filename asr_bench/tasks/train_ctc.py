"""One CTC training run from a config: features, data, model, Trainer, checkpoints, logs.

A run directory holds everything needed to understand and resume it:
`config.yaml`, `provenance.json`, `checkpoints/{best,last}.ckpt`, CSV and TensorBoard
logs. Re-running the same command resumes from `last.ckpt`.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import EarlyStopping, LearningRateMonitor, ModelCheckpoint
from pytorch_lightning.loggers import CSVLogger, TensorBoardLogger

from asr_bench.config import dump_config, to_dict
from asr_bench.data.manifest import Utterance, read_manifest, total_hours
from asr_bench.data.tokens import LetterTokenizer, PhoneTokenizer, TokenSet
from asr_bench.errors import ConfigError
from asr_bench.features.featurize import FeatureConfig, featurize_manifest
from asr_bench.models.wav2letter import Wav2Letter, Wav2LetterConfig
from asr_bench.report.provenance import provenance
from asr_bench.tasks.ctc import CTCTask, OptimConfig
from asr_bench.tasks.ctc_data import CTCDataModule, CTCDataset, Tokenizer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DataConfig:
    train_manifest: str = ""
    valid_manifest: str = ""
    tokens: Literal["letters", "phones"] = "letters"
    max_frames_per_batch: int = 20_000
    num_workers: int = 0


@dataclass(frozen=True)
class TrainerConfig:
    """Passed through to Lightning's Trainer: DDP is `strategy: ddp` with `devices`/`num_nodes`."""

    max_epochs: int = 30
    max_steps: int = -1
    accelerator: str = "auto"
    devices: int | str = "auto"
    num_nodes: int = 1
    strategy: str = "auto"
    precision: str = "auto"  # bf16-mixed on GPU, 32-true on CPU
    gradient_clip_val: float = 1.0
    check_val_every_n_epoch: int = 1
    log_every_n_steps: int = 10
    early_stopping_patience: int = 0  # epochs without valid/wer improvement; 0 disables
    progress_bar: bool = True


@dataclass(frozen=True)
class TrainConfig:
    out_dir: str = "exp/am"
    seed: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    model: Wav2LetterConfig = field(default_factory=Wav2LetterConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)


def build_tokenizer(kind: str, symbols: list[str] | None, train: list[Utterance]) -> Tokenizer:
    """Letters are fixed; a phone set comes from the checkpoint, or else from the training phones."""
    if kind == "letters":
        return LetterTokenizer()
    if symbols is not None:
        return PhoneTokenizer(TokenSet(tuple(symbols)))
    phones = [p for utt in train for p in (utt.phones or [])]
    if not phones:
        raise ConfigError("data.tokens=phones but the training manifest has no phones")
    return PhoneTokenizer.from_phones(phones)


def resolve_precision(precision: str) -> str:
    if precision != "auto":
        return precision
    return "bf16-mixed" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "32-true"


def train(config: TrainConfig) -> Path:
    """Train (or resume) the acoustic model; returns the run directory."""
    if not config.data.train_manifest:
        raise ConfigError("data.train_manifest is required")
    out_dir = Path(config.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pl.seed_everything(config.seed, workers=True)
    started = time.time()

    train_utts = read_manifest(config.data.train_manifest)
    valid_utts = read_manifest(config.data.valid_manifest) if config.data.valid_manifest else None
    tokenizer = build_tokenizer(config.data.tokens, None, train_utts)
    train_store = featurize_manifest(train_utts, config.features, "featurize train")
    train_set = CTCDataset(train_utts, train_store, tokenizer)
    valid_set = None
    if valid_utts:
        valid_set = CTCDataset(valid_utts, featurize_manifest(valid_utts, config.features, "featurize valid"), tokenizer)

    model = Wav2Letter(train_store.dim, len(tokenizer.tokens), config.model)
    hparams = {**to_dict(config), "token_symbols": list(tokenizer.tokens.symbols), "num_features": train_store.dim}
    task = CTCTask(model, tokenizer, config.optim, hparams)
    data = CTCDataModule(train_set, valid_set, config.data.max_frames_per_batch, config.data.num_workers, config.seed)

    dump_config(config, out_dir / "config.yaml")
    (out_dir / "provenance.json").write_text(json.dumps(provenance(), indent=2))
    monitor = "valid/wer" if valid_set else "train/loss"
    callbacks: list[pl.Callback] = [
        ModelCheckpoint(
            dirpath=out_dir / "checkpoints", filename="best", monitor=monitor, mode="min", save_last=True
        ),
        LearningRateMonitor(logging_interval="step"),
    ]
    if config.trainer.early_stopping_patience > 0 and valid_set:
        callbacks.append(EarlyStopping(monitor=monitor, mode="min", patience=config.trainer.early_stopping_patience))
    t = config.trainer
    trainer = pl.Trainer(
        default_root_dir=out_dir,
        max_epochs=t.max_epochs,
        max_steps=t.max_steps,
        accelerator=t.accelerator,
        devices=t.devices,
        num_nodes=t.num_nodes,
        strategy=t.strategy,
        precision=resolve_precision(t.precision),
        gradient_clip_val=t.gradient_clip_val,
        check_val_every_n_epoch=t.check_val_every_n_epoch,
        log_every_n_steps=t.log_every_n_steps,
        logger=[CSVLogger(out_dir, name="logs", version=""), TensorBoardLogger(out_dir, name="tb", version="")],
        callbacks=callbacks,
        use_distributed_sampler=False,  # CTCDataModule's bucket sampler shards by rank itself
        enable_progress_bar=t.progress_bar,
        deterministic=False,
    )
    last = out_dir / "checkpoints" / "last.ckpt"
    if last.is_file():
        log.info("resuming from %s", last)
    trainer.fit(task, datamodule=data, ckpt_path=str(last) if last.is_file() else None)
    if trainer.is_global_zero:
        summary = {"wall_time_s": time.time() - started, "labelled_hours": total_hours(train_utts)}
        (out_dir / "train_summary.json").write_text(json.dumps(summary, indent=2))
    return out_dir


def load_acoustic_model(checkpoint: str | Path) -> tuple[Wav2Letter, Tokenizer, TrainConfig]:
    """Rebuild model, tokenizer and config from a training checkpoint alone."""
    from asr_bench.config import from_dict

    checkpoint = Path(checkpoint)
    if not checkpoint.is_file():
        raise ConfigError(f"{checkpoint}: checkpoint does not exist")
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    hparams = dict(state["hyper_parameters"])
    symbols, num_features = hparams.pop("token_symbols"), hparams.pop("num_features")
    config = from_dict(TrainConfig, hparams, where=str(checkpoint))
    tokenizer = build_tokenizer(config.data.tokens, symbols, [])
    model = Wav2Letter(num_features, len(symbols), config.model)
    model.load_state_dict({k.removeprefix("model."): v for k, v in state["state_dict"].items() if k.startswith("model.")})
    return model.eval(), tokenizer, config
