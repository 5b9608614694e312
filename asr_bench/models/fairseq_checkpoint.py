"""fairseq wav2vec 1.0 checkpoints (e.g. the published `wav2vec_large.pt`), read and written without fairseq.

A fairseq checkpoint is a torch-pickled dict: `model` (the state dict) and the model's
settings, either `args` (an argparse.Namespace, fairseq < 0.10, as in the published
files) or `cfg` (newer fairseq: a dict, or an omegaconf DictConfig, with a `model`
section). `Wav2Vec` names its modules as fairseq does, so the state dict loads as it is;
only the settings need translating (`config_from_fairseq`).

Unpickling goes through `_PermissivePickle`: real classes only for tensors, OrderedDict
and Namespace; every other class the file names (omegaconf's containers, fairseq's own
classes, numpy scalars in the training state) becomes an inert stand-in that keeps its
pickled state and runs no code. So neither fairseq nor omegaconf needs to be installed,
and loading a file runs none of its code.
"""

from __future__ import annotations

import argparse
import ast
import collections
import logging
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO, Literal

import torch

from asr_bench.errors import AsrBenchError, ConfigError
from asr_bench.models.wav2vec import ContextLayer, EncoderLayer, Wav2Vec, Wav2VecConfig

log = logging.getLogger(__name__)


class FairseqCheckpointError(AsrBenchError):
    """A checkpoint file that is not a usable fairseq wav2vec 1.0 checkpoint."""


# What fairseq fills in for settings a checkpoint lacks: `base_wav2vec_architecture` for
# `args` checkpoints, the `Wav2VecConfig` dataclass defaults (wav2vec large-like) for `cfg` ones.
_DEFAULTS: dict[str, dict[str, Any]] = {
    "args": {
        "conv_feature_layers": "[(512, 10, 5)] + [(512, 8, 4)] + [(512, 4, 2)] * 3",
        "conv_aggregator_layers": "[(512, 3, 1)] * 9",
        "skip_connections_agg": False,
        "residual_scale": 0.5,
        "log_compression": False,
        "prediction_steps": 12,
        "num_negatives": 1,
        "cross_sample_negatives": 0,
        "offset": "auto",
        "dropout": 0.0,
    },
    "cfg": {
        "conv_feature_layers": "[(512, 10, 5), (512, 8, 4), (512, 4, 2), (512, 4, 2), (512, 4, 2), "
        "(512, 1, 1), (512, 1, 1), (512, 1, 1)]",
        "conv_aggregator_layers": "[" + ", ".join(f"(512, {kernel}, 1)" for kernel in range(2, 14)) + "]",
        "skip_connections_agg": True,
        "residual_scale": 0.5,
        "log_compression": True,
        "prediction_steps": 12,
        "num_negatives": 10,
        "cross_sample_negatives": 0,
        "offset": "auto",
        "dropout": 0.0,
    },
}

# Names that fairseq renamed after the published wav2vec 1.0 files were written (their `args` say
# arch='audio_cpc', task='speech_pretraining', criterion='binary_cross_entropy'), renamed here on loading
# as fairseq's checkpoint_utils._upgrade_state_dict renames them.
_RENAMED_VALUES: dict[str, dict[str, str]] = {
    "arch": {"audio_cpc": "wav2vec"},
    "task": {"speech_pretraining": "audio_pretraining"},
    "criterion": {"binary_cross_entropy": "wav2vec", "kd_binary_cross_entropy": "wav2vec"},
}

# Settings that change z, c or the parameters, with the only values Wav2Vec implements.
_SUPPORTED: dict[str, tuple[Any, ...]] = {
    "encoder": ("cnn",),
    "aggregator": ("cnn",),
    "vq_type": ("none", None),
    "skip_connections_feat": (False,),
    "non_affine_group_norm": (False,),
    "no_conv_bias": (False,),
    "agg_zero_pad": (False,),
    "activation": ("relu",),
    "project_features": ("none", None),
}
_UNSUPPORTED_WHY = {
    "aggregator": "only the convolutional context network ('cnn') is implemented, not a GRU",
    "vq_type": "wav2vec with quantisation (vq-wav2vec) is not supported",
}

# Settings that only shape fairseq's training (extra dropouts, loss variants): ignored, with a warning.
_TRAINING_ONLY_DEFAULTS: dict[str, Any] = {
    "dropout_features": 0.0,
    "dropout_agg": 0.0,
    "sample_distance": None,
    "balanced_classes": False,
    "infonce": False,
}


class _Inert:
    """Stand-in for a class the pickle names but that is not imported: keeps the pickled state, runs nothing."""

    def __new__(cls, *args: Any, **kwargs: Any) -> "_Inert":
        instance = super().__new__(cls)
        instance.__dict__["_args"] = args
        return instance

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) == 2:  # (__dict__, __slots__ values)
            state = {**(state[0] or {}), **(state[1] or {})}
        if isinstance(state, dict):
            self.__dict__.update(state)
        else:
            self.__dict__["_state"] = state


def _allowed_global(module: str, name: str) -> Any | None:
    """The real object for the few globals a checkpoint needs (tensors, OrderedDict, Namespace), else None."""
    if module == "torch._utils" and name.startswith("_rebuild_"):
        return getattr(torch._utils, name, None)
    if module == "torch" and (name in ("Size", "device") or isinstance(getattr(torch, name, None), torch.dtype)):
        return getattr(torch, name)
    known = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("argparse", "Namespace"): argparse.Namespace,
        ("builtins", "set"): set,
        ("builtins", "frozenset"): frozenset,
        ("builtins", "slice"): slice,
        ("builtins", "complex"): complex,
    }
    return known.get((module, name))


class _PermissiveUnpickler(pickle.Unpickler):
    _stand_ins: dict[tuple[str, str], type] = {}

    def find_class(self, module: str, name: str) -> Any:
        allowed = _allowed_global(module, name)
        if allowed is not None:
            return allowed
        key = (module, name)
        if key not in self._stand_ins:
            self._stand_ins[key] = type(name, (_Inert,), {"__module__": module, "__qualname__": name})
        return self._stand_ins[key]


class _PermissivePickle:
    """The `pickle_module` handed to torch.load: torch subclasses its Unpickler and calls its load."""

    Unpickler = _PermissiveUnpickler

    @staticmethod
    def load(file: BinaryIO, **kwargs: Any) -> Any:
        return _PermissiveUnpickler(file, **kwargs).load()


def _plain(value: Any) -> Any:
    """Namespaces, mappings, omegaconf containers (as stand-ins) and enum members -> plain Python values."""
    if isinstance(value, _Inert):
        state = value.__dict__
        if "_content" in state:  # omegaconf DictConfig / ListConfig
            return _plain(state["_content"])
        if "_val" in state:  # omegaconf value node
            return _plain(state["_val"])
        if set(state) == {"_args"} and len(state["_args"]) == 1:  # an Enum member pickles as Enum(value)
            return _plain(state["_args"][0])
        return value
    if isinstance(value, argparse.Namespace):
        return _plain(vars(value))
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(item) for item in value)
    return value


def _evaluate_layers(value: Any, key: str) -> list[tuple[int, ...]]:
    """fairseq's layer lists, e.g. "[(512, 10, 5)] + [(512, 4, 2)] * 3", evaluated without eval().

    Only list/tuple literals of integers, `+` and `*` are accepted.
    """

    def evaluate(node: ast.AST) -> Any:
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return node.value
        if isinstance(node, (ast.List, ast.Tuple)):
            items = [evaluate(item) for item in node.elts]
            return items if isinstance(node, ast.List) else tuple(items)
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mult)):
            left, right = evaluate(node.left), evaluate(node.right)
            return left + right if isinstance(node.op, ast.Add) else left * right
        raise ValueError(ast.dump(node))

    try:
        layers = evaluate(ast.parse(value, mode="eval").body) if isinstance(value, str) else value
    except (SyntaxError, ValueError, TypeError) as exc:
        raise ConfigError(f"{key}={value!r}: expected a list of (channels, kernel, stride) tuples ({exc})") from exc
    if not isinstance(layers, (list, tuple)) or not all(
        isinstance(layer, (list, tuple)) and len(layer) == 3 and all(type(v) is int for v in layer) for layer in layers
    ):
        raise ConfigError(f"{key}={value!r}: expected a list of (channels, kernel, stride) tuples of integers")
    return [tuple(layer) for layer in layers]


def _model_settings(args_or_cfg: Any) -> tuple[dict[str, Any], Literal["args", "cfg"]]:
    if isinstance(args_or_cfg, argparse.Namespace):
        settings = _plain(args_or_cfg)
        for key, renamed in _RENAMED_VALUES.items():
            if settings.get(key) in renamed:
                settings[key] = renamed[settings[key]]
        return settings, "args"
    settings = _plain(args_or_cfg)
    if not isinstance(settings, dict):
        raise ConfigError(f"expected fairseq model args (a Namespace) or a cfg mapping, got {type(args_or_cfg).__name__}")
    if isinstance(settings.get("model"), dict):  # a whole cfg: the model's settings are its `model` section
        settings = settings["model"]
    return settings, "cfg"


def config_from_fairseq(args_or_cfg: Any) -> Wav2VecConfig:
    """Our config for a fairseq wav2vec 1.0 model's settings.

    `args_or_cfg` is a checkpoint's `args` (argparse.Namespace), its whole `cfg` (a mapping
    with a `model` section, omegaconf containers included) or that `model` section. Settings
    that change the model's output and that Wav2Vec does not implement are errors.
    """
    settings, style = _model_settings(args_or_cfg)
    name = settings.get("_name", settings.get("arch"))
    if name not in (None, "wav2vec"):
        raise ConfigError(f"model {name!r} is not wav2vec 1.0 (expected arch / _name 'wav2vec')")
    for key, supported in _SUPPORTED.items():
        value = settings.get(key, supported[0])
        if value not in supported:
            why = _UNSUPPORTED_WHY.get(key, f"only {supported[0]!r} is implemented")
            raise ConfigError(f"unsupported setting {key}={value!r}: {why}")
    ignored = {key: settings[key] for key, default in _TRAINING_ONLY_DEFAULTS.items() if settings.get(key, default) != default}
    if ignored:
        log.warning("fairseq training-only settings ignored (the loss and sampling here differ): %s", ignored)

    def get(key: str) -> Any:
        return settings.get(key, _DEFAULTS[style][key])

    offset = get("offset")
    if offset != "auto":
        try:
            offset = int(offset)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"offset={offset!r}: expected 'auto' or an integer") from exc
    context_layers = _evaluate_layers(get("conv_aggregator_layers"), "conv_aggregator_layers")
    strided = [layer for layer in context_layers if layer[2] != 1]
    if strided:
        raise ConfigError(f"conv_aggregator_layers {strided}: only stride 1 is supported in the context network")
    residual_scale = float(get("residual_scale"))
    if residual_scale <= 0:
        raise ConfigError(f"residual_scale={residual_scale}: expected a positive number")
    try:
        return Wav2VecConfig(
            encoder_layers=[EncoderLayer(*layer) for layer in _evaluate_layers(get("conv_feature_layers"), "conv_feature_layers")],
            context_layers=[ContextLayer(channels, kernel) for channels, kernel, _ in context_layers],
            skip_connections=bool(get("skip_connections_agg")),
            residual_scale=residual_scale**0.5,  # fairseq scales by sqrt(residual_scale)
            log_compression=bool(get("log_compression")),
            prediction_steps=int(get("prediction_steps")),
            num_negatives=int(get("num_negatives")),
            cross_sample_negatives=int(get("cross_sample_negatives")),  # old fairseq defaulted it to False
            offset=offset,
            dropout=float(get("dropout")),
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"fairseq model settings do not fit wav2vec 1.0: {exc}") from exc


def _fairseq_settings(config: Wav2VecConfig) -> dict[str, Any]:
    """fairseq's model settings for `config`, every one fairseq would otherwise default spelled out."""
    return {
        "conv_feature_layers": repr([(layer.channels, layer.kernel, layer.stride) for layer in config.encoder_layers]),
        "conv_aggregator_layers": repr([(layer.channels, layer.kernel, 1) for layer in config.context_layers]),
        "skip_connections_agg": config.skip_connections,
        "residual_scale": config.residual_scale**2,
        "log_compression": config.log_compression,
        "prediction_steps": config.prediction_steps,
        "num_negatives": config.num_negatives,
        "cross_sample_negatives": config.cross_sample_negatives,
        "offset": str(config.offset),  # a string option in fairseq: "auto" or a number
        "dropout": config.dropout,
        **{key: supported[0] for key, supported in _SUPPORTED.items() if key != "encoder"},
        **_TRAINING_ONLY_DEFAULTS,
    }


def save_fairseq_wav2vec(model: Wav2Vec, path: str | Path, style: Literal["args", "cfg"] = "args") -> Path:
    """Write `model` as fairseq writes wav2vec checkpoints: settings as `args` (a Namespace) or `cfg` (a dict)."""
    path = Path(path)
    settings = _fairseq_settings(model.config)
    state = {name: tensor.detach().cpu().clone() for name, tensor in model.state_dict().items()}
    if style == "args":
        checkpoint: dict[str, Any] = {"args": argparse.Namespace(arch="wav2vec", encoder="cnn", **settings), "model": state}
    elif style == "cfg":
        checkpoint = {"cfg": {"model": {"_name": "wav2vec", **settings}}, "model": state}
    else:
        raise ConfigError(f"checkpoint style {style!r}: expected 'args' or 'cfg'")
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, path)
    return path


def read_checkpoint(path: str | Path) -> Any:
    """Any torch checkpoint file, unpickled without running code from it (see `_PermissivePickle`)."""
    path = Path(path)
    if not path.is_file():
        raise FairseqCheckpointError(f"{path}: no such checkpoint file")
    try:
        return torch.load(path, map_location="cpu", weights_only=False, pickle_module=_PermissivePickle)
    except Exception as exc:  # torch raises a variety of errors for files that are not its checkpoints
        raise FairseqCheckpointError(f"{path}: cannot be read as a torch checkpoint ({exc})") from exc


def load_fairseq_wav2vec(path: str | Path) -> Wav2Vec:
    """The wav2vec 1.0 model of a fairseq checkpoint file, on the CPU, in eval mode."""
    return wav2vec_from_fairseq(read_checkpoint(path), path)


def wav2vec_from_fairseq(checkpoint: Any, path: str | Path) -> Wav2Vec:
    """The model of an unpickled fairseq checkpoint (`path` names it in errors), on the CPU, in eval mode."""
    layout = "expected a fairseq checkpoint: a dict with 'model' (a state dict) and 'args' or 'cfg'"
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("model"), Mapping):
        raise FairseqCheckpointError(f"{path}: {layout}")
    settings = checkpoint.get("args") if checkpoint.get("args") is not None else checkpoint.get("cfg")
    if settings is None:
        raise FairseqCheckpointError(f"{path}: {layout}")
    try:
        model = Wav2Vec(config_from_fairseq(settings))
    except ConfigError as exc:
        raise FairseqCheckpointError(f"{path}: {exc}") from exc

    state = checkpoint["model"]
    expected, found = set(model.state_dict()), set(state)
    if expected != found:
        raise FairseqCheckpointError(
            f"{path}: state dict does not match the wav2vec model its settings describe: "
            f"missing {sorted(expected - found)[:5]}, unexpected {sorted(found - expected)[:5]}"
        )
    not_tensors = sorted(name for name, value in state.items() if not isinstance(value, torch.Tensor))
    if not_tensors:
        raise FairseqCheckpointError(f"{path}: state dict entries {not_tensors[:5]} are not tensors")
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:  # shape mismatches, listed on several lines by torch
        raise FairseqCheckpointError(f"{path}: {' '.join(str(exc).split())}") from exc
    return model.eval()
