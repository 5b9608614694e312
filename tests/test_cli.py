"""The command line itself: --version, --print-config, one way per option, Ctrl-C, messages instead of tracebacks."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

import asr_bench
from asr_bench.cli import build_parser, main
from asr_bench.cli.decode import BEAM_OPTIONS, default_checkpoint
from asr_bench.config import from_dict, load_config
from asr_bench.decode.beam import BeamSearchConfig
from asr_bench.decode.run import recorded_entry
from asr_bench.errors import AsrBenchError
from asr_bench.tasks import train_ctc
from asr_bench.tasks.train_ctc import TrainConfig


def test_version(capsys) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"asr-bench {asr_bench.__version__}"


def test_print_config_prints_the_resolved_config_and_runs_nothing(tmp_path: Path, capsys) -> None:
    conf = tmp_path / "am.yaml"
    conf.write_text("optim:\n  lr: 0.01\nseed: 4\n")
    overrides = [f"out_dir={tmp_path / 'run'}", "seed=5"]
    assert main(["train", "-c", str(conf), *overrides, "--print-config"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert from_dict(TrainConfig, printed) == load_config(TrainConfig, conf, overrides)
    assert printed["seed"] == 5 and printed["optim"]["lr"] == 0.01 and "early_stopping_patience" in printed["trainer"]
    assert not (tmp_path / "run").exists()


def test_every_beam_search_setting_is_a_decode_flag() -> None:
    assert set(BEAM_OPTIONS) | {"lexicon_free"} == {f.name for f in dataclasses.fields(BeamSearchConfig)}
    argv = ["decode", "--run-dir", "r", "-m", "dev.jsonl", "--beam-size", "7", "--beam-size-token", "3",
            "--beam-threshold", "12.5", "--lm-weight", "0.5", "--word-score", "-1", "--unk-score", "-9",
            "--sil-score", "0.25", "--lexicon-free"]
    args = build_parser().parse_args(argv)
    config = BeamSearchConfig(**{name: getattr(args, name) for name in BEAM_OPTIONS}, lexicon_free=args.lexicon_free)
    assert config == BeamSearchConfig(7, 3, 12.5, 0.5, -1.0, -9.0, 0.25, True)
    defaults = build_parser().parse_args(argv[:5])
    assert {name: getattr(defaults, name) for name in BEAM_OPTIONS} == {
        name: getattr(BeamSearchConfig(), name) for name in BEAM_OPTIONS
    }


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--checkpoint", "w.pt"], "--checkpoint w.pt is a wav2vec checkpoint, but the features are logmel: add --features wav2vec"),
        (["kind=wav2vec"], "kind=... (use --features)"),
        (["wav2vec.checkpoint=w.pt"], "wav2vec.checkpoint=... (use --checkpoint)"),
    ],
)
def test_featurize_takes_each_option_one_way(tmp_path: Path, capsys, extra: list[str], message: str) -> None:
    assert main(["featurize", "-m", str(tmp_path / "m.jsonl"), *extra]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(("fresh", "advice"), [([], "rerun the same command"), (["--fresh"], "without --fresh")])
def test_ctrl_c_ends_with_one_line_on_how_to_resume(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch, fresh: list[str], advice: str
) -> None:
    def interrupted(config: TrainConfig, fresh: bool = False) -> Path:
        raise KeyboardInterrupt

    monkeypatch.setattr(train_ctc, "train", interrupted)
    assert main(["train", f"out_dir={tmp_path}", "data.train_manifest=t.jsonl", *fresh]) == 130
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("asr-bench train: interrupted;") and advice in lines[0]


def test_decoding_a_folder_without_a_trained_run_is_a_message(tmp_path: Path, capsys) -> None:
    assert main(["decode", "--run-dir", str(tmp_path), "-m", f"dev={tmp_path / 'dev.jsonl'}"]) == 2
    assert f"{tmp_path / 'checkpoints' / 'best.ckpt'} does not exist" in capsys.readouterr().err


def test_a_corrupt_results_file_is_a_message(tmp_path: Path) -> None:
    (tmp_path / "results.json").write_text('{"splits": {"dev": ')
    with pytest.raises(AsrBenchError, match=rf"{tmp_path / 'results.json'}: not valid JSON"):
        recorded_entry(tmp_path, "dev", "greedy")


def test_decode_takes_last_ckpt_of_a_run_that_never_validated(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    checkpoints = tmp_path / "run" / "checkpoints"
    checkpoints.mkdir(parents=True)
    assert default_checkpoint(tmp_path / "run") == checkpoints / "best.ckpt"  # nothing there: best.ckpt is named
    (checkpoints / "last.ckpt").write_bytes(b"")
    assert default_checkpoint(tmp_path / "run") == checkpoints / "last.ckpt"
    assert "no best.ckpt (the run never validated): decoding last.ckpt" in capsys.readouterr().out
    (checkpoints / "best.ckpt").write_bytes(b"")
    assert default_checkpoint(tmp_path / "run") == checkpoints / "best.ckpt"

