"""Load a wav2vec model from any checkpoint a user may hold: ours (Lightning) or fairseq's.

Featurization only needs the network and one fact about its input: whether audio is
normalised per utterance before the encoder. Our pretraining records that choice in
its config; fairseq's wav2vec 1.0 models (e.g. the published `wav2vec_large.pt`) were
trained on raw, unnormalised audio.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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
    if isinstance(state, dict) and "state_dict" in state and "hyper_parameters" in state:
        hparams = state["hyper_parameters"]
        if "model" not in hparams or "data" not in hparams:
            raise ConfigError(f"{path}: a Lightning checkpoint, but not one of `asr-bench pretrain` (no model config)")
        model = Wav2Vec(from_dict(Wav2VecConfig, hparams["model"], where=f"{path}: model"))
        weights = {k.removeprefix("model."): v for k, v in state["state_dict"].items() if k.startswith("model.")}
        model.load_state_dict(weights)
        return LoadedWav2Vec(model.eval(), bool(hparams["data"].get("normalize", True)), "asr-bench")
    return LoadedWav2Vec(wav2vec_from_fairseq(state, path), False, "fairseq")
