"""Running a recipe's run.sh from the tests, and a wav2vec config small enough to pretrain in seconds."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]


def run_recipe(recipe: str, tmp_path: Path, *args: str, timeout: int = 1200) -> subprocess.CompletedProcess:
    """recipes/<recipe>/run.sh with this checkout's asr-bench (through a wrapper in tmp_path, as ASR_BENCH names one
    command)."""
    wrapper = tmp_path / "asr-bench"
    if not wrapper.exists():
        wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m asr_bench.cli "$@"\n')
        wrapper.chmod(0o755)
    python_path = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        ["bash", str(REPO_ROOT / "recipes" / recipe / "run.sh"), *args],
        capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "ASR_BENCH": str(wrapper), "PYTHONPATH": python_path},
    )


def write_tiny_wav2vec_config(path: Path) -> Path:
    """A pretraining config of 8-channel layers, 4 prediction steps and 3 updates, validated at the last."""
    path.write_text(yaml.safe_dump({
        "data": {"crop_samples": 10000, "min_samples": 8000, "max_samples_per_batch": 80000, "num_workers": 0},
        "model": {
            "encoder_layers": [{"channels": 8, "kernel": k, "stride": s} for k, s in ((10, 5), (8, 4), (4, 2), (4, 2), (4, 2))],
            "context_layers": [{"channels": 8, "kernel": 3}],
            "prediction_steps": 4,
        },
        "trainer": {"max_epochs": -1, "max_steps": 3, "val_check_interval": 3, "check_val_every_n_epoch": None,
                    "progress_bar": False},
    }))
    return path
