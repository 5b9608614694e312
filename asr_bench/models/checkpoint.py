"""Load a wav2vec model from any checkpoint a user may hold: ours (Lightning) or fairseq's.

Featurization only needs the network and one fact about its input: whether audio is
normalised per utterance before the encoder. Our pretraining records that choice in
its config; fairseq's wav2vec 1.0 models (e.g. the published `wav2vec_large.pt`) were
trained on raw, unnormalised audio.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from asr_bench.config import from_dict
from asr_bench.errors import ConfigError
from asr_bench.models.fairseq_checkpoint import read_checkpoint, wav2vec_from_fairseq
from asr_bench.models.wav2vec import Wav2Vec, Wav2VecConfig


@dataclass
class LoadedWav2Vec:
    model: Wav2Vec
    normalize: bool  # per-utterance zero mean, unit variance before the encoder
    source: str  # "asr-bench" or "fairseq"


def load_wav2vec(path: str | Path) -> LoadedWav2Vec:
    """The model of a checkpoint written by `asr-bench pretrain`, or of a fairseq wav2vec 1.0 file, in eval mode."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: wav2vec checkpoint does not exist")
    state = read_checkpoint(path)  # read once, whichever kind it is, without running code from it
    if _is_lightning(state):
        hparams = _pretraining_hparams(state, path)
        model = Wav2Vec(from_dict(Wav2VecConfig, hparams["model"], where=f"{path}: model"))
        model.load_state_dict(_model_weights(state))
        return LoadedWav2Vec(model.eval(), bool(hparams["data"].get("normalize", True)), "asr-bench")
    return LoadedWav2Vec(wav2vec_from_fairseq(state, path), False, "fairseq")


def export_wav2vec(checkpoint: str | Path, out: str | Path, dtype: torch.dtype = torch.float32) -> Path:
    """Write the model of a pretraining checkpoint without its optimizer and loop state.

    What featurization needs (the weights and the config that shapes them) is a third of a Lightning
    checkpoint, whose Adam moments double the weights; bf16 halves it again. The result loads
    wherever a checkpoint of `asr-bench pretrain` does, but does not resume training.
    """
    checkpoint, out = Path(checkpoint), Path(out)
    if not checkpoint.is_file():
        raise ConfigError(f"{checkpoint}: wav2vec checkpoint does not exist")
    state = read_checkpoint(checkpoint)
    if not _is_lightning(state):
        raise ConfigError(f"{checkpoint}: not a checkpoint of `asr-bench pretrain` (a fairseq file is already weights only)")
    hparams = _pretraining_hparams(state, checkpoint)
    weights = {
        f"model.{name}": value.to(dtype) if value.is_floating_point() else value
        for name, value in _model_weights(state).items()
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {"state_dict": weights, "hyper_parameters": hparams, "global_step": state.get("global_step"), "epoch": state.get("epoch")},
        out,
    )
    return out


def _is_lightning(state: object) -> bool:
    return isinstance(state, dict) and "state_dict" in state and "hyper_parameters" in state


def _pretraining_hparams(state: dict, path: Path) -> dict:
    hparams = state["hyper_parameters"]
    if "model" not in hparams or "data" not in hparams:
        raise ConfigError(f"{path}: a Lightning checkpoint, but not one of `asr-bench pretrain` (no model config)")
    return hparams


def _model_weights(state: dict) -> dict[str, torch.Tensor]:
    return {k.removeprefix("model."): v for k, v in state["state_dict"].items() if k.startswith("model.")}
