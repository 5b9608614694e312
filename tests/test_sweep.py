"""`asr-bench sweep` on real speech: a 2 subsets x 2 feature sets x 2 seeds grid of tiny runs, resumed, refused
when a cell changes, run as parallel processes, and stopped by Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
import torch
import yaml

from asr_bench.cli import main
from asr_bench.config import from_dict, load_config
from asr_bench.data.manifest import write_manifest
from asr_bench.errors import ConfigError
from asr_bench.experiments.launchers import LocalLauncher
from asr_bench.experiments.sweep import (
    LocalLauncherConfig,
    SweepConfig,
    SweepDecodeConfig,
    check,
    check_cells,
    override,
    plan,
)
from corpus_fixtures import shortest_ci_utterances

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "librispeech"
SUBSETS = ("small", "large")
FEATURE_SETS = ("logmel80", "logmel40")
SEEDS = (0, 1)


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory, ci_librispeech_rows, shared_data: Path) -> dict:
    """Manifests, a tiny acoustic-model config and the sweep config (as a dict) of the grid, in the in-process
    launcher (submitit's debug executor, the slurm path without a cluster)."""
    root = tmp_path_factory.mktemp("sweep")
    utterances = shortest_ci_utterances(ci_librispeech_rows, shared_data, 7)
    manifests = {
        "small": write_manifest(root / "small.jsonl", utterances[:3]),
        "large": write_manifest(root / "large.jsonl", utterances[:5]),
        "dev": write_manifest(root / "dev.jsonl", utterances[5:]),
    }
    base = root / "am.yaml"
    base.write_text(yaml.safe_dump({
        "data": {"max_frames_per_batch": 4000},
        "model": {"layers": [{"channels": 16, "kernel": 5, "stride": 2}]},
        "optim": {"lr": 0.01, "warmup_steps": 0, "schedule": "constant"},
        "trainer": {"progress_bar": False, "precision": "32-true", "log_every_n_steps": 1},
    }))
    sweep = {
        "out_dir": str(root / "debug"),
        "base_config": str(base),
        "train": {"features.cache_dir": str(root / "features")},
        "subsets": {name: str(manifests[name]) for name in SUBSETS},
        "valid_manifest": str(manifests["dev"]),
        "feature_sets": {  # dotted and nested keys both work
            "logmel80": {"features.kind": "logmel"},
            "logmel40": {"features": {"kind": "logmel", "logmel": {"num_mels": 40}}},
        },
        "seeds": list(SEEDS),
        "updates_per_cell": 2,
        "decode": {"manifests": {"dev": str(manifests["dev"])}, "lexicon_free": True, "beam_size": 5},
        "launcher": {"name": "slurm", "slurm": {"executor": "debug"}},
    }
    return {"root": root, "sweep": sweep}


def write_sweep(grid: dict, name: str, **changes) -> Path:
    path = grid["root"] / f"{name}.yaml"
    path.write_text(yaml.safe_dump({**grid["sweep"], **changes}, sort_keys=False))
    return path


def mtimes(out_dir: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime_ns for p in sorted(out_dir.rglob("*")) if p.is_file() and p.name != "sweep.json"}


@pytest.fixture(scope="module")
def debug_sweep(grid: dict) -> Path:
    config = write_sweep(grid, "debug")
    assert main(["sweep", "-c", str(config)]) == 0
    return Path(grid["sweep"]["out_dir"])


def test_sweep_runs_every_cell_into_its_run_folder(debug_sweep: Path, grid: dict) -> None:
    record = json.loads((debug_sweep / "sweep.json").read_text())
    names = [f"{s}/{f}/seed{k}" for s in SUBSETS for f in FEATURE_SETS for k in SEEDS]
    assert [f"{c['subset']}/{c['feature_set']}/seed{c['seed']}" for c in record["cells"]] == names
    assert record["counts"]["done"] == 8 and all(c["state"] == "done" for c in record["cells"])
    for cell in record["cells"]:
        run_dir = debug_sweep / cell["subset"] / cell["feature_set"] / f"seed{cell['seed']}"
        assert cell["run_dir"] == str(run_dir)
        assert set(cell["steps"]) == {"train", "decode"} and cell["wall_time_s"] > 0
        assert all(step["returncode"] == 0 for step in cell["steps"].values())
        config = yaml.safe_load((run_dir / "config.yaml").read_text())
        assert config["seed"] == cell["seed"] and config["trainer"]["max_steps"] == 2
        assert config["data"]["train_manifest"] == grid["sweep"]["subsets"][cell["subset"]]
        assert config["features"]["logmel"]["num_mels"] == (40 if cell["feature_set"] == "logmel40" else 80)
        assert (run_dir / "checkpoints" / "last.ckpt").is_file()
        assert json.loads((run_dir / "train_summary.json").read_text())["steps"] == 2
        results = json.loads((run_dir / "results.json").read_text())
        assert set(results["splits"]["dev"]) == {"greedy", "beam_lexicon_free"}


def test_second_run_skips_finished_cells_without_training(debug_sweep: Path, grid: dict) -> None:
    before = mtimes(debug_sweep)
    config = str(write_sweep(grid, "debug"))
    assert main(["sweep", "-c", config]) == 0
    record = json.loads((debug_sweep / "sweep.json").read_text())
    assert record["counts"]["skipped"] == 8 and all(c["steps"] == {} for c in record["cells"])
    assert mtimes(debug_sweep) == before
    # A trained cell without its decodes is decoded again, and not retrained.
    run_dir = debug_sweep / "large" / "logmel40" / "seed1"
    (run_dir / "results.json").unlink()
    assert main(["sweep", "-c", config]) == 0
    record = json.loads((debug_sweep / "sweep.json").read_text())
    assert record["counts"] == {**record["counts"], "skipped": 7, "done": 1}
    assert set(record["cells"][-1]["steps"]) == {"decode"} and (run_dir / "results.json").is_file()
    last = str(run_dir / "checkpoints" / "last.ckpt")
    assert mtimes(debug_sweep)[last] == before[last]


def test_changed_cell_definition_is_refused_before_any_work(debug_sweep: Path, grid: dict, capsys) -> None:
    before, sweep_json = mtimes(debug_sweep), (debug_sweep / "sweep.json").read_text()
    config = write_sweep(grid, "debug")
    # A new subset's cells would run first; the whole sweep stops anyway.
    subsets = {"tiny": grid["sweep"]["subsets"]["small"], **grid["sweep"]["subsets"]}
    assert main(["sweep", "-c", str(config), "train.optim.lr=0.05", override("subsets", subsets)]) == 2
    err = capsys.readouterr().err
    assert "8 cell folder(s)" in err and "optim.lr (0.01 there, 0.05 now)" in err and "small/logmel40/seed1" in err
    assert mtimes(debug_sweep) == before and (debug_sweep / "sweep.json").read_text() == sweep_json
    assert not (debug_sweep / "tiny").exists()


def test_cells_are_normal_train_commands(grid: dict) -> None:
    """Each cell's command line reads back as the config its run folder records (same file, same overrides)."""
    config = from_dict(SweepConfig, grid["sweep"])
    cells = plan(config)
    assert len(cells) == 8
    cell = cells[-1]
    assert cell.train.argv[:3] == ("train", "-c", grid["sweep"]["base_config"])
    built = cell.config()
    assert (built.seed, built.out_dir, built.features.logmel.num_mels) == (1, str(cell.run_dir), 40)
    assert (built.trainer.max_epochs, built.trainer.max_steps) == (-1, 2)


def test_the_librispeech_recipe_sweep_builds_every_cell() -> None:
    config = load_config(SweepConfig, RECIPE / "conf" / "sweep.yaml", [f"base_config={RECIPE / 'conf' / 'acoustic_model.yaml'}"])
    cells = plan(config)
    assert len(cells) == 5 * 2 * 3
    configs = {(c.subset, c.feature_set, c.seed): c.config() for c in cells}  # each a valid acoustic-model config
    wav2vec = configs["1h", "wav2vec", 2]
    assert (wav2vec.features.kind, wav2vec.features.wav2vec.representation) == ("wav2vec", "c")
    assert (wav2vec.data.train_manifest, wav2vec.trainer.max_steps, wav2vec.seed) == ("data/train_1h.jsonl", 900, 2)
    assert configs["all", "logmel", 0].model.layers[0].channels == 192  # conf/acoustic_model.yaml's


def test_keys_the_sweep_sets_itself_are_refused_in_overrides(grid: dict) -> None:
    with pytest.raises(ConfigError, match="train sets seed"):
        check(from_dict(SweepConfig, {**grid["sweep"], "train": {"seed": 3}}))
    sets = {**grid["sweep"]["feature_sets"], "long": {"features.kind": "logmel", "trainer": {"max_steps": 50}}}
    with pytest.raises(ConfigError, match="feature_sets.long sets trainer.max_steps"):
        check(from_dict(SweepConfig, {**grid["sweep"], "feature_sets": sets}))
    with pytest.raises(ConfigError, match="decode.tune_on needs decode.lm_dir"):
        check(from_dict(SweepConfig, {**grid["sweep"], "decode": {**grid["sweep"]["decode"], "tune_on": "dev"}}))


def test_a_typo_in_an_override_stops_the_sweep_before_any_work(grid: dict, tmp_path: Path) -> None:
    config = from_dict(SweepConfig, {**grid["sweep"], "out_dir": str(tmp_path / "typo"), "train": {"optim.lrr": 1}})
    with pytest.raises(ConfigError, match="unknown key"):
        check_cells(plan(config))


def test_local_processes_split_the_cores_and_take_the_gpus_in_turn(monkeypatch: pytest.MonkeyPatch) -> None:
    launcher = LocalLauncher(LocalLauncherConfig(processes=3, gpus=[2, 5]))
    assert launcher.threads == max(1, len(os.sched_getaffinity(0)) // 3)
    assert [launcher.environment(slot)["CUDA_VISIBLE_DEVICES"] for slot in range(3)] == ["2", "5", "2"]
    assert launcher.environment(0)["OMP_NUM_THREADS"] == str(launcher.threads)
    shared = LocalLauncher(LocalLauncherConfig(processes=2, threads_per_process=4, gpus=[0]))  # two cells, one GPU
    assert [shared.environment(slot)["CUDA_VISIBLE_DEVICES"] for slot in range(2)] == ["0", "0"]
    assert shared.environment(1)["OMP_NUM_THREADS"] == "4"
    # By default every GPU this process sees, named as the CUDA_VISIBLE_DEVICES it was started with names them.
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,6")
    assert LocalLauncher(LocalLauncherConfig(processes=2)).gpus == ["4", "6"]
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert LocalLauncher(LocalLauncherConfig(processes=2)).gpus == ["0", "1"]


def test_a_failed_cell_spares_the_others_and_is_named_with_its_logs(debug_sweep: Path, grid: dict, capsys) -> None:
    out_dir = grid["root"] / "failing"
    subsets = {"broken": str(grid["root"] / "missing.jsonl"), "small": grid["sweep"]["subsets"]["small"]}
    config = write_sweep(grid, "failing", out_dir=str(out_dir), subsets=subsets, seeds=[0],
                         feature_sets={"logmel80": grid["sweep"]["feature_sets"]["logmel80"]})
    assert main(["sweep", "-c", str(config)]) == 1
    out = capsys.readouterr().out
    broken, small = json.loads((out_dir / "sweep.json").read_text())["cells"]
    assert broken["state"] == "failed" and broken["steps"]["train"]["returncode"] == 2
    assert small["state"] == "done"  # it ran after the broken cell failed
    assert "1 of 2 cells failed" in out and f"broken/logmel80/seed0: {broken['logs'][0]}" in out


def test_two_local_processes_give_the_in_process_results(debug_sweep: Path, grid: dict) -> None:
    out_dir = grid["root"] / "local"
    local = {"processes": 2, "threads_per_process": torch.get_num_threads()}  # the in-process runs' threads
    config = write_sweep(grid, "local", out_dir=str(out_dir), subsets={"small": grid["sweep"]["subsets"]["small"]},
                         feature_sets={"logmel80": grid["sweep"]["feature_sets"]["logmel80"]},
                         launcher={"name": "local", "local": local})
    assert main(["sweep", "-c", str(config)]) == 0
    for seed in SEEDS:
        mine, reference = out_dir / "small" / "logmel80" / f"seed{seed}", debug_sweep / "small" / "logmel80" / f"seed{seed}"
        assert "python -m asr_bench.cli train -c" in (mine / "train.log").read_text()
        assert "python -m asr_bench.cli decode --run-dir" in (mine / "decode.log").read_text()
        for path in ("decode/dev/greedy.utt.jsonl", "decode/dev/beam_lexicon_free.utt.jsonl"):
            assert (mine / path).read_text() == (reference / path).read_text()
        weights = [torch.load(d / "checkpoints" / "last.ckpt", weights_only=False)["state_dict"] for d in (mine, reference)]
        assert weights[0].keys() == weights[1].keys()
        assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


def interrupt_when(ready: Callable[[], bool]) -> threading.Event:
    """Send this process SIGINT (Ctrl-C) once `ready()`; set the returned event to stop waiting."""
    finished = threading.Event()

    def watch() -> None:
        deadline = time.time() + 120
        while not finished.is_set() and time.time() < deadline:
            if ready():
                os.kill(os.getpid(), signal.SIGINT)
                return
            time.sleep(0.05)

    threading.Thread(target=watch, daemon=True).start()
    return finished


@pytest.mark.parametrize("launcher", ["local", "debug"])
def test_ctrl_c_stops_the_running_cell_and_says_how_to_resume(launcher: str, debug_sweep: Path, grid: dict, capsys) -> None:
    out_dir = grid["root"] / f"interrupted-{launcher}"
    run_dir = out_dir / "small" / "logmel80" / "seed0"
    settings = {"name": "local"} if launcher == "local" else grid["sweep"]["launcher"]
    config = write_sweep(grid, f"interrupted-{launcher}", out_dir=str(out_dir), subsets={"small": grid["sweep"]["subsets"]["small"]},
                         feature_sets={"logmel80": grid["sweep"]["feature_sets"]["logmel80"]}, seeds=[0],
                         updates_per_cell=100_000, launcher=settings)
    # Once training has written a checkpoint, so that Ctrl-C lands inside Lightning's fit.
    finished = interrupt_when(lambda: (run_dir / "checkpoints" / "last.ckpt").is_file())
    try:
        assert main(["sweep", "-c", str(config)]) == 130
    finally:
        finished.set()
    out = capsys.readouterr().out
    assert f"To resume: asr-bench sweep -c {config}" in out
    cell = json.loads((out_dir / "sweep.json").read_text())["cells"][0]
    assert cell["state"] == "interrupted"
    assert not json.loads((run_dir / "train_summary.json").read_text())["finished"]  # training did not run to its end
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # Ctrl-C works again afterwards
    if launcher == "local":
        assert cell["steps"]["train"]["returncode"] != 0
        assert "Detected KeyboardInterrupt, attempting graceful shutdown" in (run_dir / "train.log").read_text()


def test_only_subsets_plans_just_those_cells(tmp_path: Path) -> None:
    base = tmp_path / "am.yaml"
    base.write_text("seed: 0\n")
    config = SweepConfig(base_config=str(base), subsets={"1h": "a.jsonl", "2h": "b.jsonl", "all": "c.jsonl"},
                         feature_sets={"logmel": {"features.kind": "logmel"}}, seeds=[0, 1],
                         decode=SweepDecodeConfig(manifests={"dev": "dev.jsonl"}), only_subsets=["2h", "all"])
    assert [cell.name for cell in plan(config)] == ["2h/logmel/seed0", "2h/logmel/seed1", "all/logmel/seed0",
                                                     "all/logmel/seed1"]
    with pytest.raises(ConfigError, match=r"only_subsets \['3h'\]: not among the sweep's subsets \(1h, 2h, all\)"):
        plan(replace(config, only_subsets=["3h"]))
