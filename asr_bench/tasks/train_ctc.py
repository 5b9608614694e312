"""One CTC training run from a config: features, data, model, Trainer, checkpoints, logs.

A run directory holds everything needed to understand and resume it:
`config.yaml`, `provenance.json`, `train_summary.json`, `checkpoints/{best,last}.ckpt`, CSV and
TensorBoard logs. Re-running the same command resumes an unfinished run from `last.ckpt`, leaves a
finished one as it is, and refuses a changed config (see tasks/trainer.py `start_run`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pytorch_lightning.callbacks import EarlyStopping

from asr_bench.config import from_dict, to_dict
from asr_bench.data.manifest import read_manifest, total_hours
from asr_bench.data.phones import PHONE_SETS, phone_set
from asr_bench.data.tokens import LetterTokenizer, PhoneTokenizer
from asr_bench.errors import ConfigError
from asr_bench.features.featurize import FeatureConfig, featurize_manifests
from asr_bench.models.fairseq_checkpoint import read_checkpoint
from asr_bench.models.wav2letter import Wav2Letter, Wav2LetterConfig
from asr_bench.tasks.ctc import CTCTask
from asr_bench.tasks.ctc_data import CTC_INFEASIBLE, CTCDataModule, CTCDataset, Tokenizer, feasible_utterances
from asr_bench.tasks.optim import OptimConfig
from asr_bench.tasks.trainer import TrainerConfig, build_trainer, fit_run, run_callbacks, start_run

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DataConfig:
    """What the model is trained on. `phone_set` (a name of data/phones.py's PHONE_SETS) is required for phones.

    `skip_bad`: leave out training utterances CTC cannot align (more labels than output frames; see
    tasks/ctc_data.py) and list them in train_summary.json, instead of stopping with their names.
    """

    train_manifest: str = ""
    valid_manifest: str = ""
    tokens: Literal["letters", "phones"] = "letters"
    phone_set: str | None = None
    skip_bad: bool = False
    max_frames_per_batch: int = 20_000
    num_workers: int = 0


@dataclass(frozen=True)
class TrainConfig:
    out_dir: str = "exp/am"
    seed: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    model: Wav2LetterConfig = field(default_factory=Wav2LetterConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)


def build_tokenizer(data: DataConfig, symbols: list[str] | None = None) -> Tokenizer:
    """Letters, or the tokens of `data.phone_set`; `symbols` (a checkpoint's) must be that tokenizer's."""
    if data.tokens == "letters":
        if data.phone_set is not None:
            raise ConfigError(f"data.phone_set={data.phone_set} is only for data.tokens=phones")
        tokenizer: Tokenizer = LetterTokenizer()
    elif data.phone_set is None:
        raise ConfigError(f"data.tokens=phones needs data.phone_set: one of {', '.join(PHONE_SETS)}")
    else:
        tokenizer = PhoneTokenizer(phone_set(data.phone_set))
    if symbols is not None and tuple(symbols) != tokenizer.tokens.symbols:
        raise ConfigError(f"the checkpoint's {len(symbols)} tokens are not those of data.tokens={data.tokens} "
                          f"data.phone_set={data.phone_set}")
    return tokenizer


def feature_layers(features: FeatureConfig) -> list[str]:
    """The layers each feature vector stacks, named by the representation that selects each alone.

    wav2vec's representation "all" stacks z and every context layer, in that order, for the acoustic
    model to learn their weighted sum (SUPERB); every other feature set is one layer.
    """
    if features.kind != "wav2vec" or features.wav2vec.representation != "all":
        return [features.kind]
    from asr_bench.models.checkpoint import load_wav2vec

    wav2vec = load_wav2vec(features.wav2vec.checkpoint).model.config
    widths = [wav2vec.encoder_layers[-1].channels, *(layer.channels for layer in wav2vec.context_layers)]
    if len(set(widths)) > 1:
        raise ConfigError(
            f"{features.wav2vec.checkpoint}: features.wav2vec.representation=all needs z and every context layer "
            f"equally wide for their weighted sum, but they have {widths} channels"
        )
    return ["z", *(str(index) for index in range(len(wav2vec.context_layers)))]


def train(config: TrainConfig, fresh: bool = False) -> Path:
    """Train (or resume) the acoustic model; returns the run directory. `fresh`: discard what the folder holds."""
    if not config.data.train_manifest:
        raise ConfigError("data.train_manifest is required")
    run = start_run(config, Path(config.out_dir), config.seed, fresh)
    if run.finished:
        return run.out_dir
    out_dir = run.out_dir

    train_utts = read_manifest(config.data.train_manifest)
    valid_utts = read_manifest(config.data.valid_manifest) if config.data.valid_manifest else None
    tokenizer = build_tokenizer(config.data)
    manifests = [("featurize train", train_utts)] + ([("featurize valid", valid_utts)] if valid_utts else [])
    train_store, *valid_store = featurize_manifests(manifests, config.features)
    train_set = CTCDataset(train_utts, train_store, tokenizer)
    valid_set = CTCDataset(valid_utts, valid_store[0], tokenizer) if valid_utts else None

    layers = feature_layers(config.features)
    model = Wav2Letter(train_store.dim, len(tokenizer.tokens), config.model, len(layers))
    train_set, skipped = feasible_utterances(train_set, model, config.data.train_manifest, config.data.skip_bad)
    hparams = {
        **to_dict(config),
        "token_symbols": list(tokenizer.tokens.symbols),
        "num_features": train_store.dim,
        "feature_layers": len(layers),
    }
    task = CTCTask(model, tokenizer, config.optim, hparams)
    data = CTCDataModule(train_set, valid_set, config.data.max_frames_per_batch, config.data.num_workers, config.seed)

    # Letters: select by CER. A weak model's greedy WER can pass 100% through insertions, and then an
    # empty output (exactly 100%) would look best. Phones: by PER.
    monitor = ("valid/cer" if config.data.tokens == "letters" else "valid/per") if valid_set else "train/loss"
    callbacks = run_callbacks(out_dir, monitor)
    if config.trainer.early_stopping_patience > 0 and valid_set:
        callbacks.append(EarlyStopping(monitor=monitor, mode="min", patience=config.trainer.early_stopping_patience))
    trainer = build_trainer(config.trainer, out_dir, callbacks)

    def learned() -> dict[str, Any]:  # which wav2vec layers the acoustic model drew on
        if model.weighted_sum is None:
            return {}
        return {"layer_weights": dict(zip(layers, model.weighted_sum.layer_weights().tolist()))}

    fit_run(run, trainer, task, data, after_fit=learned, labelled_hours=total_hours(train_set.utterances),
            skipped_utterances={CTC_INFEASIBLE: skipped} if skipped else {})
    return out_dir


def load_acoustic_model(checkpoint: str | Path) -> tuple[Wav2Letter, Tokenizer, TrainConfig]:
    """Rebuild model, tokenizer and config from a training checkpoint alone.

    The file is read without running code from it (`read_checkpoint`), so a checkpoint from anywhere is
    safe to decode with; Lightning still resumes training from the same file.
    """
    checkpoint = Path(checkpoint)
    if not checkpoint.is_file():
        raise ConfigError(f"{checkpoint}: checkpoint does not exist")
    state = read_checkpoint(checkpoint)
    hparams = dict(state.get("hyper_parameters") or {}) if isinstance(state, dict) else {}
    if "token_symbols" not in hparams or "state_dict" not in state:
        raise ConfigError(f"{checkpoint}: not a checkpoint of `asr-bench train` (no acoustic model and token set in it)")
    symbols, num_features = hparams.pop("token_symbols"), hparams.pop("num_features")
    layers = hparams.pop("feature_layers", 1)  # checkpoints from before the weighted sum of layers: one
    config = from_dict(TrainConfig, hparams, where=str(checkpoint))
    tokenizer = build_tokenizer(config.data, symbols)
    model = Wav2Letter(num_features, len(symbols), config.model, layers)
    model.load_state_dict({k.removeprefix("model."): v for k, v in state["state_dict"].items() if k.startswith("model.")})
    return model.eval(), tokenizer, config
