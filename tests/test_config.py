"""YAML configs into typed dataclasses: files, `key.sub=value` overrides, validation, dump/load round trip."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from asr_bench.config import dump_config, from_dict, load_config, parse_overrides
from asr_bench.errors import ConfigError
from asr_bench.models.wav2letter import ConvLayer
from asr_bench.tasks.train_ctc import TrainConfig

TRAIN_YAML = """\
seed: 7
data:
  train_manifest: data/train.jsonl
  tokens: phones
features:
  logmel:
    num_mels: 40
model:
  layers:
    - {channels: 64, kernel: 11, stride: 2}
    - {channels: 128, kernel: 1, dropout: 0.1}
optim:
  lr: 0.0005
  betas: [0.9, 0.98]
"""


@pytest.fixture
def train_yaml(tmp_path: Path) -> Path:
    path = tmp_path / "conf" / "train.yaml"
    path.parent.mkdir()
    path.write_text(TRAIN_YAML)
    return path


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    return path


# ---------------------------------------------------------------------------------------------
# loading and overriding


def test_yaml_fills_the_schema_and_keeps_defaults_elsewhere(train_yaml: Path) -> None:
    config = load_config(TrainConfig, train_yaml)

    assert config.seed == 7
    assert config.data.train_manifest == "data/train.jsonl"
    assert config.data.tokens == "phones"
    assert config.features.logmel.num_mels == 40
    assert config.features.logmel.window_ms == 25.0  # not in the file: the default
    assert config.model.layers == [ConvLayer(64, 11, 2, 0.0), ConvLayer(128, 1, 1, 0.1)]
    assert config.optim.lr == 0.0005
    assert config.optim.betas == (0.9, 0.98)
    assert config.optim.weight_decay == TrainConfig().optim.weight_decay
    assert config.trainer == TrainConfig().trainer


def test_overrides_win_over_the_file_and_merge_into_nested_sections(train_yaml: Path) -> None:
    config = load_config(
        TrainConfig,
        train_yaml,
        [
            "seed=3",
            "features.logmel.hop_ms=20",
            "optim.betas=[0.8, 0.9]",
            "trainer.devices=2",
            "trainer.check_val_every_n_epoch=null",
            "features.logmel.normalize=false",
            "data.valid_manifest=data/dev.jsonl",
        ],
    )
    assert config.seed == 3
    assert config.features.logmel.hop_ms == 20.0 and isinstance(config.features.logmel.hop_ms, float)
    assert config.features.logmel.num_mels == 40, "a nested override must not drop the file's sibling keys"
    assert config.optim.betas == (0.8, 0.9)
    assert config.optim.lr == 0.0005
    assert config.trainer.devices == 2 and isinstance(config.trainer.devices, int)
    assert config.trainer.check_val_every_n_epoch is None
    assert config.features.logmel.normalize is False
    assert config.data.train_manifest == "data/train.jsonl"
    assert config.data.valid_manifest == "data/dev.jsonl"


def test_overrides_without_a_file() -> None:
    config = load_config(TrainConfig, None, ["trainer.devices=auto", "optim.lr=1", "out_dir=123"])
    assert config.trainer.devices == "auto"
    assert config.optim.lr == 1.0 and isinstance(config.optim.lr, float)
    assert config.out_dir == "123"
    assert load_config(TrainConfig) == TrainConfig()


@pytest.mark.parametrize(("text", "expected"), [("3e-4", 3e-4), ("1E-3", 1e-3), ("-2.5e2", -250.0), ("1.0e-3", 1e-3)])
def test_scientific_notation_is_a_float(tmp_path: Path, text: str, expected: float) -> None:
    # PyYAML follows YAML 1.1, where "3e-4" (no dot) is a string; learning rates are written that way.
    assert load_config(TrainConfig, None, [f"optim.lr={text}"]).optim.lr == pytest.approx(expected)
    path = write(tmp_path, f"optim:\n  lr: {text}\n")
    assert load_config(TrainConfig, path).optim.lr == pytest.approx(expected)


def test_parse_overrides_builds_a_nested_dict_of_yaml_values() -> None:
    assert parse_overrides(["a.b=1", "a.c=[1, two]", "a.d.e=true", "f=x=y", "g=", "h=null", "i='7'"]) == {
        "a": {"b": 1, "c": [1, "two"], "d": {"e": True}},
        "f": "x=y",
        "g": "",
        "h": None,
        "i": "7",
    }


def test_malformed_overrides_are_errors() -> None:
    with pytest.raises(ConfigError, match="'seed' is not of the form key.sub=value"):
        parse_overrides(["seed"])
    with pytest.raises(ConfigError, match="conflicts"):
        parse_overrides(["optim=3", "optim.lr=0.1"])


def test_file_errors(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    with pytest.raises(ConfigError, match="does not exist") as caught:
        load_config(TrainConfig, missing)
    assert str(missing) in str(caught.value)
    not_a_mapping = write(tmp_path, "- seed\n- 3\n")
    with pytest.raises(ConfigError, match="expected a YAML mapping") as caught:
        load_config(TrainConfig, not_a_mapping)
    assert str(not_a_mapping) in str(caught.value)
    assert load_config(TrainConfig, write(tmp_path, "")) == TrainConfig()


def test_a_yaml_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    broken = write(tmp_path, "seed: 3\noptim:\n  lr: [0.1\n  betas: x\n")
    with pytest.raises(ConfigError, match=rf"{broken}:\d+: not valid YAML"):
        load_config(TrainConfig, broken)
    with pytest.raises(ConfigError, match=r"override 'model.layers=\[\{channels: 3': the value is not valid YAML"):
        load_config(TrainConfig, None, ["model.layers=[{channels: 3"])


def test_a_commands_own_defaults_sit_beneath_the_file(train_yaml: Path) -> None:
    base = {"seed": 11, "optim": {"lr": 0.5, "warmup_steps": 7}}
    config = load_config(TrainConfig, train_yaml, ["optim.warmup_steps=9"], base=base)
    assert config.seed == 7 and config.optim.lr == 0.0005  # the file wins over the base
    assert config.optim.warmup_steps == 9  # an override wins over both
    assert load_config(TrainConfig, None, [], base=base).seed == 11


# ---------------------------------------------------------------------------------------------
# validation


def test_unknown_key_error_names_the_key_and_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "optim:\n  lrr: 0.1\n")
    with pytest.raises(ConfigError) as caught:
        load_config(TrainConfig, path)
    message = str(caught.value)
    assert "'lrr'" in message and str(path) in message and "optim" in message
    assert "'lr'" in message, "the error lists the known keys"

    with pytest.raises(ConfigError, match="'modle'"):
        load_config(TrainConfig, None, ["modle.activation=glu"])


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("seed=abc", r"config\.seed: expected int, got 'abc'"),
        ("seed=1.5", r"config\.seed: expected int, got 1\.5"),
        ("seed=true", r"config\.seed: expected int, got True"),
        ("optim.lr=fast", r"config\.optim\.lr: expected float, got 'fast'"),
        ("optim.lr=true", r"config\.optim\.lr: expected float"),
        ("trainer.max_epochs=[1]", r"config\.trainer\.max_epochs: expected int"),
        ("data.num_workers=null", r"config\.data\.num_workers: expected int, got None"),
        ("features=3", r"config\.features: expected a mapping for FeatureConfig"),
        ("model.layers=[{channels: x}]", r"config\.model\.layers\[0\]\.channels: expected int"),
        ("model.layers=5", r"config\.model\.layers\[0\]: expected a mapping for ConvLayer"),
        ("features.logmel.normalize=[]", r"config\.features\.logmel\.normalize: expected bool"),
        ("optim.betas=0.9", r"config\.optim\.betas: expected 2 items"),
        ("optim.betas=[0.9, 0.98, 0.5]", r"config\.optim\.betas: expected 2 items"),
        ("optim.betas=[0.9, x]", r"config\.optim\.betas\[1\]: expected float"),
    ],
)
def test_type_errors_name_the_field(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(TrainConfig, None, [override])


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["trainer.precision=fp16"], r"config\.trainer: precision 'fp16': expected one of auto, 32-true, bf16-mixed"),
        (["trainer.max_epochs=-1"], r"max_epochs=-1 \(no epoch limit\) needs max_steps"),
        (["trainer.max_epochs=0"], r"max_epochs=0: expected a positive number"),
        (["trainer.max_steps=0"], r"max_steps=0: expected a positive number, or -1"),
    ],
)
def test_trainer_settings_lightning_would_misread_are_errors(overrides: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(TrainConfig, None, overrides)
    assert load_config(TrainConfig, None, ["trainer.max_epochs=-1", "trainer.max_steps=10"]).trainer.max_steps == 10


@pytest.mark.parametrize(
    ("override", "allowed"),
    [("data.tokens=words", "('letters', 'phones')"), ("optim.schedule=linear", "('cosine', 'constant')")],
)
def test_literal_fields_accept_only_their_values(override: str, allowed: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(TrainConfig, None, [override])
    assert allowed in str(caught.value)
    assert load_config(TrainConfig, None, ["data.tokens=phones", "optim.schedule=constant"]).optim.schedule == "constant"


@dataclass(frozen=True)
class Sweep:
    names: list[str] = field(default_factory=list)
    hours: tuple[float, ...] = ()
    mode: Literal["a", "b"] | None = None


def test_list_and_tuple_coercion() -> None:
    sweep = from_dict(Sweep, {"names": "only", "hours": [1, 10.0, 0.1]})
    assert sweep.names == ["only"], "a scalar becomes a one-item list"
    assert sweep.hours == (1.0, 10.0, 0.1) and all(isinstance(h, float) for h in sweep.hours)
    assert isinstance(sweep.hours, tuple)
    assert from_dict(Sweep, {"names": (1, "b"), "hours": 24}) == Sweep(names=["1", "b"], hours=(24.0,))
    with pytest.raises(ConfigError, match=r"sweep\.names: expected a list"):
        from_dict(Sweep, {"names": {"a": 1}}, where="sweep")
    assert from_dict(Sweep, {"mode": None}).mode is None
    assert from_dict(Sweep, {"mode": "b"}).mode == "b"
    with pytest.raises(ConfigError, match=r"'c' is not one of \('a', 'b'\)"):
        from_dict(Sweep, {"mode": "c"})


# ---------------------------------------------------------------------------------------------
# dump and load


def test_dump_then_load_gives_the_same_config(train_yaml: Path, tmp_path: Path) -> None:
    config = load_config(
        TrainConfig,
        train_yaml,
        ["trainer.devices=2", "trainer.check_val_every_n_epoch=null", "trainer.val_check_interval=500",
         "optim.lr=3e-4", "model.activation=glu"],
    )
    path = dump_config(config, tmp_path / "run" / "config.yaml")
    assert path == tmp_path / "run" / "config.yaml" and path.is_file()
    reloaded = load_config(TrainConfig, path)

    assert reloaded == config
    assert isinstance(reloaded.optim.betas, tuple)
    assert reloaded.trainer.val_check_interval == 500 and isinstance(reloaded.trainer.val_check_interval, int)
    assert reloaded.trainer.check_val_every_n_epoch is None
    assert reloaded.model.layers[1] == ConvLayer(128, 1, 1, 0.1)
    # The dump is plain YAML a person can read: nested sections, no Python tags.
    text = path.read_text()
    assert "!!python" not in text
    assert "  lr: 0.0003\n" in text
    assert dump_config(TrainConfig(), tmp_path / "defaults.yaml").read_text() != text
    assert load_config(TrainConfig, tmp_path / "defaults.yaml") == TrainConfig()
