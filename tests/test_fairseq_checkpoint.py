"""fairseq wav2vec 1.0 checkpoints: both settings styles round-trip, omegaconf-pickled cfgs, clear errors."""

from __future__ import annotations

import argparse
import os
import sys
import types
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from asr_bench.errors import AsrBenchError
from asr_bench.models.fairseq_checkpoint import (
    FairseqCheckpointError,
    config_from_fairseq,
    load_fairseq_wav2vec,
    save_fairseq_wav2vec,
)
from asr_bench.models.wav2vec import ContextLayer, EncoderLayer, Wav2Vec, Wav2VecConfig

# wav2vec large as fairseq's README trains it (examples/wav2vec): the settings of the published wav2vec_large.pt.
LARGE_README_ARGS = dict(
    arch="wav2vec",
    conv_feature_layers="[(512, 10, 5), (512, 8, 4), (512, 4, 2), (512, 4, 2), (512, 4, 2), (512, 1, 1), (512, 1, 1)]",
    conv_aggregator_layers="[(512, 2, 1), (512, 3, 1), (512, 4, 1), (512, 5, 1), (512, 6, 1), (512, 7, 1), "
    "(512, 8, 1), (512, 9, 1), (512, 10, 1), (512, 11, 1), (512, 12, 1), (512, 13, 1)]",
    skip_connections_agg=True,
    residual_scale=0.5,
    log_compression=True,
    num_negatives=10,
    lr=[0.005],  # training options beside the model's are ignored
)

# What the published wav2vec_large.pt's `args` call them: names fairseq has since renamed, and renames back on
# loading (checkpoint_utils._upgrade_state_dict).
PUBLISHED_PRE_RENAME_NAMES = dict(arch="audio_cpc", task="speech_pretraining", criterion="binary_cross_entropy")


def tiny_model() -> Wav2Vec:
    torch.manual_seed(0)
    config = Wav2VecConfig(
        encoder_layers=[*Wav2VecConfig.small(channels=8).encoder_layers, EncoderLayer(8, 1, 1)],
        context_layers=[ContextLayer(8, 2), ContextLayer(12, 3)],
        skip_connections=True,
        log_compression=True,
        prediction_steps=3,
        num_negatives=4,
        cross_sample_negatives=1,
        offset="auto",
        dropout=0.1,
    )
    return Wav2Vec(config).eval()


def assert_same_outputs(model: Wav2Vec, loaded: Wav2Vec) -> None:
    wav = torch.randn(2, 3000)
    with torch.no_grad():
        for expected, actual in zip(model(wav), loaded(wav)):
            assert torch.equal(expected, actual)


@pytest.mark.parametrize("style", ["args", "cfg"])
def test_saved_checkpoint_loads_with_identical_outputs(tmp_path: Path, style: str) -> None:
    model = tiny_model()
    path = save_fairseq_wav2vec(model, tmp_path / f"{style}.pt", style=style)
    checkpoint = torch.load(path, weights_only=False)
    assert ("args" in checkpoint) == (style == "args") and ("cfg" in checkpoint) == (style == "cfg")
    loaded = load_fairseq_wav2vec(path)
    assert loaded.config == model.config and not loaded.training
    assert_same_outputs(model, loaded)


def test_legacy_torch_format_loads(tmp_path: Path) -> None:
    # wav2vec_large.pt (2019) predates torch's zip format.
    model = tiny_model()
    checkpoint = torch.load(save_fairseq_wav2vec(model, tmp_path / "zip.pt"), weights_only=False)
    torch.save(checkpoint, tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    assert_same_outputs(model, load_fairseq_wav2vec(tmp_path / "legacy.pt"))


def test_published_large_settings_give_wav2vec_large() -> None:
    # The README leaves offset at fairseq's default, "auto".
    config = config_from_fairseq(argparse.Namespace(**LARGE_README_ARGS))
    assert config == replace(Wav2VecConfig.large(), offset="auto")
    assert sum(p.numel() for p in Wav2Vec(config).parameters()) == 32_537_088


def test_the_published_files_pre_rename_names_load_as_fairseq_renames_them(tmp_path: Path) -> None:
    published = argparse.Namespace(**{**LARGE_README_ARGS, **PUBLISHED_PRE_RENAME_NAMES})
    assert config_from_fairseq(published) == replace(Wav2VecConfig.large(), offset="auto")
    model = tiny_model()
    checkpoint = torch.load(save_fairseq_wav2vec(model, tmp_path / "ok.pt"), weights_only=False)
    args = argparse.Namespace(**{**vars(checkpoint["args"]), **PUBLISHED_PRE_RENAME_NAMES})
    torch.save({**checkpoint, "args": args}, tmp_path / "pre_rename.pt")
    assert_same_outputs(model, load_fairseq_wav2vec(tmp_path / "pre_rename.pt"))


def test_old_args_fall_back_to_fairseqs_base_architecture() -> None:
    # Settings missing from old `args` are what fairseq's base_wav2vec_architecture fills in,
    # including its layer expressions, evaluated here without eval().
    config = config_from_fairseq(argparse.Namespace(arch="wav2vec", num_negatives=10))
    assert config == replace(Wav2VecConfig.base(), offset="auto")


def test_cfg_pickled_as_omegaconf_loads_without_omegaconf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cfg saved as omegaconf containers: stand-in classes shaped like omegaconf's pickled state."""
    model = tiny_model()
    plain = torch.load(save_fairseq_wav2vec(model, tmp_path / "plain.pt", style="cfg"), weights_only=False)

    fake = types.ModuleType("omegaconf.dictconfig")

    class DictConfig:
        __module__, __qualname__ = "omegaconf.dictconfig", "DictConfig"

        def __init__(self, content: dict) -> None:
            self._metadata = {"ref_type": "typing.Any"}
            self._parent = None
            self._content = {key: AnyNode(value) for key, value in content.items()}

    class AnyNode:
        __module__, __qualname__ = "omegaconf.dictconfig", "AnyNode"

        def __init__(self, value: object) -> None:
            self._val = DictConfig(value) if isinstance(value, dict) else value
            self._metadata = None

    fake.DictConfig, fake.AnyNode = DictConfig, AnyNode
    with monkeypatch.context() as patch:
        patch.setitem(sys.modules, "omegaconf", types.ModuleType("omegaconf"))
        patch.setitem(sys.modules, "omegaconf.dictconfig", fake)
        torch.save({"cfg": DictConfig(plain["cfg"]), "model": plain["model"]}, tmp_path / "omegaconf.pt")
    assert "omegaconf.dictconfig" not in sys.modules or sys.modules["omegaconf.dictconfig"] is not fake
    loaded = load_fairseq_wav2vec(tmp_path / "omegaconf.pt")
    assert loaded.config == model.config
    assert_same_outputs(model, loaded)


class _RunsCode:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {self.marker}",))


def test_loading_runs_no_code_from_the_file(tmp_path: Path) -> None:
    model = tiny_model()
    checkpoint = torch.load(save_fairseq_wav2vec(model, tmp_path / "ok.pt"), weights_only=False)
    marker = tmp_path / "code-ran"
    torch.save({**checkpoint, "extra_state": _RunsCode(marker)}, tmp_path / "hostile.pt")
    assert_same_outputs(model, load_fairseq_wav2vec(tmp_path / "hostile.pt"))
    assert not marker.exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"aggregator": "gru"}, "aggregator='gru'.*GRU"),
        ({"vq_type": "gumbel"}, "quantisation"),
        ({"agg_zero_pad": True}, "agg_zero_pad"),
        ({"arch": "wav2vec2"}, "not wav2vec 1.0"),
        ({"conv_aggregator_layers": "[(512, 3, 2)]"}, "stride 1"),
        ({"conv_feature_layers": "__import__('os').getcwd()"}, "conv_feature_layers"),
    ],
)
def test_unsupported_settings_are_clear_errors_naming_the_file(tmp_path: Path, change: dict, message: str) -> None:
    checkpoint = torch.load(save_fairseq_wav2vec(tiny_model(), tmp_path / "ok.pt"), weights_only=False)
    args = argparse.Namespace(**{**vars(checkpoint["args"]), **change})
    path = tmp_path / "unsupported.pt"
    torch.save({**checkpoint, "args": args}, path)
    with pytest.raises(FairseqCheckpointError, match=message) as error:
        load_fairseq_wav2vec(path)
    assert str(path) in str(error.value)
    assert isinstance(error.value, AsrBenchError)


def test_bad_files_are_clear_errors_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(FairseqCheckpointError, match="no such checkpoint"):
        load_fairseq_wav2vec(tmp_path / "missing.pt")
    (tmp_path / "text.pt").write_text("not a checkpoint")
    with pytest.raises(FairseqCheckpointError, match="text.pt: cannot be read"):
        load_fairseq_wav2vec(tmp_path / "text.pt")
    torch.save({"model": {}}, tmp_path / "no_settings.pt")
    with pytest.raises(FairseqCheckpointError, match="no_settings.pt: expected a fairseq checkpoint"):
        load_fairseq_wav2vec(tmp_path / "no_settings.pt")

    checkpoint = torch.load(save_fairseq_wav2vec(tiny_model(), tmp_path / "ok.pt"), weights_only=False)
    state = dict(checkpoint["model"])
    state["feature_aggregator.residual_proj.0.weight"] = torch.zeros(8, 8, 1)
    torch.save({**checkpoint, "model": state}, tmp_path / "extra_key.pt")
    with pytest.raises(FairseqCheckpointError, match="extra_key.pt: state dict.*residual_proj.0"):
        load_fairseq_wav2vec(tmp_path / "extra_key.pt")
    state = dict(checkpoint["model"])
    state["wav2vec_predictions.project_to_steps.bias"] = torch.zeros(3)
    torch.save({**checkpoint, "model": state}, tmp_path / "bad_shape.pt")
    with pytest.raises(FairseqCheckpointError, match="bad_shape.pt: .*size mismatch"):
        load_fairseq_wav2vec(tmp_path / "bad_shape.pt")
