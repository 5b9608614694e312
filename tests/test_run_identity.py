"""A run folder never changes meaning: a changed config is refused, an identical finished run is left alone,
an unfinished one resumes with its wall time added up, and --fresh starts over."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import time
from pathlib import Path

import pytest
import yaml

from asr_bench.cli import main
from asr_bench.config import config_yaml, dump_config, load_config
from asr_bench.data.manifest import write_manifest
from asr_bench.decode.run import decode_greedy
from asr_bench.errors import ConfigError
from asr_bench.tasks.ctc import CTCTask
from asr_bench.tasks.pretrain import PretrainConfig
from asr_bench.tasks.train_ctc import TrainConfig, load_acoustic_model, train
from asr_bench.tasks.trainer import RUN_RECORDS, start_run
from corpus_fixtures import shortest_ci_utterances

RECORDS = ("config.yaml", "provenance.json", "train_summary.json", "results.json")


def tiny_config(root: Path, manifest: Path, *overrides: str) -> TrainConfig:
    """Three updates of a one-layer model, validated (and checkpointed) after each."""
    return load_config(TrainConfig, None, [
        f"out_dir={root / 'run'}", f"data.train_manifest={manifest}", f"data.valid_manifest={manifest}",
        f"features.cache_dir={root / 'features'}", "model.layers=[{channels: 16, kernel: 5, stride: 2}]",
        "trainer.max_epochs=-1", "trainer.max_steps=3", "trainer.val_check_interval=1",
        "trainer.check_val_every_n_epoch=null", "trainer.progress_bar=false", "trainer.log_every_n_steps=1",
        "data.max_frames_per_batch=4000",
        *overrides,
    ])


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory, ci_librispeech_rows, shared_data: Path) -> Path:
    """A finished, decoded run: trained once for the module, copied by each test that changes it."""
    root = tmp_path_factory.mktemp("finished")
    write_manifest(root / "a.jsonl", shortest_ci_utterances(ci_librispeech_rows, shared_data, 2))
    write_manifest(root / "b.jsonl", shortest_ci_utterances(ci_librispeech_rows, shared_data, 3))
    run_dir = train(tiny_config(root, root / "a.jsonl"))
    decode_greedy(run_dir / "checkpoints" / "best.ckpt", root / "a.jsonl", "train", run_dir)
    return root


def copy_of(finished_run: Path, tmp_path: Path) -> Path:
    """The finished run's folder and feature cache, copied; its config still names the original manifests."""
    shutil.copytree(finished_run, tmp_path / "copy", symlinks=True)
    return tmp_path / "copy"


def snapshot(run_dir: Path) -> dict[str, tuple[bytes, int]]:
    """Content and modification time of every file of the run folder."""
    return {
        str(path.relative_to(run_dir)): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(run_dir.rglob("*")) if path.is_file()
    }


@pytest.mark.parametrize(
    ("change", "listed"),
    [
        ("optim.lr=5e-2", "optim.lr: 0.001 -> 0.05"),
        ("data.train_manifest={root}/b.jsonl", "data.train_manifest: '{root}/a.jsonl' -> '{root}/b.jsonl'"),
    ],
)
def test_a_changed_run_into_a_finished_folder_is_refused_and_nothing_is_rewritten(
    finished_run: Path, tmp_path: Path, change: str, listed: str
) -> None:
    root = copy_of(finished_run, tmp_path)
    before = snapshot(root / "run")
    assert json.loads((root / "run" / "train_summary.json").read_text())["finished"] is True
    with pytest.raises(ConfigError, match="holds another run") as refused:
        train(tiny_config(root, finished_run / "a.jsonl", change.format(root=finished_run)))
    assert listed.format(root=finished_run) in str(refused.value) and "--fresh" in str(refused.value)
    assert snapshot(root / "run") == before


def test_an_identical_finished_rerun_does_nothing_and_keeps_its_records(
    finished_run: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = copy_of(finished_run, tmp_path)
    before = snapshot(root / "run")
    # Settings outside the run's definition (a time limit, the log interval) may change.
    again = tiny_config(root, finished_run / "a.jsonl", "trainer.max_time=00:01:00:00", "trainer.log_every_n_steps=5")
    with caplog.at_level("INFO"):
        assert train(again) == root / "run"
    assert "already finished" in caplog.text
    assert snapshot(root / "run") == before


def test_fresh_discards_the_old_run_and_trains_the_new_one(finished_run: Path, tmp_path: Path) -> None:
    root = copy_of(finished_run, tmp_path)
    (root / "run" / "notes.txt").write_text("mine")
    conf = dump_config(tiny_config(root, finished_run / "a.jsonl", "optim.lr=5e-2"), tmp_path / "changed.yaml")
    assert main(["train", "-c", str(conf)]) == 2  # refused without --fresh
    assert main(["train", "-c", str(conf), "--fresh"]) == 0
    assert yaml.safe_load((root / "run" / "config.yaml").read_text())["optim"]["lr"] == 5e-2
    assert not (root / "run" / "results.json").exists() and not (root / "run" / "decode").exists()
    assert (root / "run" / "notes.txt").read_text() == "mine"  # only what a run writes is removed


def test_an_interrupted_run_resumes_and_its_wall_time_adds_up(
    finished_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path
    config = tiny_config(root, finished_run / "a.jsonl")
    training_step = CTCTask.training_step

    def interrupted_at_step_2(self: CTCTask, batch, batch_idx: int):
        if self.global_step == 2:
            raise KeyboardInterrupt
        return training_step(self, batch, batch_idx)

    sigint = signal.getsignal(signal.SIGINT)  # Lightning ignores Ctrl-C once it has caught one
    with monkeypatch.context() as patch:
        patch.setattr(CTCTask, "training_step", interrupted_at_step_2)
        with pytest.raises(KeyboardInterrupt):
            train(config)
    signal.signal(signal.SIGINT, sigint)
    summary_path = root / "run" / "train_summary.json"
    summary = json.loads(summary_path.read_text())
    assert summary["finished"] is False and summary["steps"] == 2

    # The earlier sitting's time is counted: pretend it took an hour.
    summary_path.write_text(json.dumps({**summary, "wall_time_s": 3600.0}))
    started = time.time()
    with caplog.at_level("INFO"):
        train(config)
    took = time.time() - started
    assert f"resuming from {root / 'run' / 'checkpoints' / 'last.ckpt'}" in caplog.text
    summary = json.loads(summary_path.read_text())
    assert summary["finished"] is True and summary["steps"] == 3
    assert 3600.0 < summary["wall_time_s"] <= 3600.0 + took
    with (root / "run" / "logs" / "metrics.csv").open() as handle:
        steps = [int(row["step"]) for row in csv.DictReader(handle) if row.get("train/loss")]
    assert steps == [0, 1, 2]  # one curve: the first sitting's rows kept, none twice


def test_a_run_from_before_a_key_was_added_resumes(tmp_path: Path) -> None:
    config = load_config(TrainConfig, None, [f"out_dir={tmp_path / 'run'}", "data.train_manifest=train.jsonl"])
    recorded = yaml.safe_load(config_yaml(config))
    del recorded["trainer"]["early_stopping_patience"]  # a key this run's version did not have
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.yaml").write_text(yaml.safe_dump(recorded))
    assert start_run(config, tmp_path / "run", 0).finished is False
    (tmp_path / "run" / "config.yaml").write_text(yaml.safe_dump(recorded))
    with pytest.raises(ConfigError, match="trainer.early_stopping_patience: 0 -> 3"):
        start_run(load_config(TrainConfig, None, [f"out_dir={tmp_path / 'run'}", "trainer.early_stopping_patience=3"]),
                  tmp_path / "run", 0)


def test_a_different_kind_of_run_is_refused(tmp_path: Path) -> None:
    dump_config(PretrainConfig(out_dir=str(tmp_path)), tmp_path / "config.yaml")
    with pytest.raises(ConfigError, match="different kind of run"):
        start_run(TrainConfig(out_dir=str(tmp_path)), tmp_path, 0)


def test_fresh_removes_only_the_records_of_a_run(tmp_path: Path) -> None:
    for name in RUN_RECORDS:
        if "." in name:
            (tmp_path / name).write_text("{}")
        else:
            (tmp_path / name).mkdir()
    (tmp_path / "mine.txt").write_text("kept")
    start_run(TrainConfig(out_dir=str(tmp_path)), tmp_path, 0, fresh=True)
    assert sorted(os.listdir(tmp_path)) == ["config.yaml", "mine.txt", "provenance.json"]


class _RunsCode:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {self.marker}",))


def test_acoustic_checkpoints_load_without_running_code_from_them(finished_run: Path, tmp_path: Path) -> None:
    import torch

    best = finished_run / "run" / "checkpoints" / "best.ckpt"
    state = torch.load(best, weights_only=False)
    marker = tmp_path / "code-ran"
    torch.save({**state, "extra": _RunsCode(marker)}, tmp_path / "hostile.ckpt")
    model, tokenizer, config = load_acoustic_model(tmp_path / "hostile.ckpt")
    assert not marker.exists()
    reference, _, _ = load_acoustic_model(best)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), reference.state_dict().values()))
    assert config.out_dir == str(finished_run / "run") and len(tokenizer.tokens) == 29
