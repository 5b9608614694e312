"""What runs on the lent GPU machine must import there: its image has torch, Lightning, h5py and matplotlib,
but not jiwer, KenLM, flashlight-text or datasets (scripts/device/ carries soundfile alone).

Pretraining, checkpoint export and the throughput benchmark run there, and `asr-bench` builds the parser of
every command before running one: so each command may need those packages only once it runs.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ABSENT_THERE = ("jiwer", "kenlm", "flashlight", "datasets", "rapidfuzz")

BLOCK = f"""
import importlib.abc, runpy, sys

class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in {ABSENT_THERE!r}:
            raise ImportError(f"{{name}} is not on the GPU image")

sys.meta_path.insert(0, Absent())
for module in sys.argv[1].split(","):
    if module:
        __import__(module)
sys.argv = sys.argv[2:]
if sys.argv:
    runpy.run_path(sys.argv[0], run_name="__main__") if sys.argv[0].endswith(".py") else runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
"""


def run_without_absent_packages(modules: list[str], *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCK, ",".join(modules), *argv], cwd=ROOT, capture_output=True, text=True)


def test_the_blocker_blocks() -> None:
    done = run_without_absent_packages(["jiwer"])
    assert done.returncode != 0 and "not on the GPU image" in done.stderr


def test_the_command_line_parses_without_the_decoding_packages() -> None:
    """`asr-bench` imports every command's module to build its parser, whichever command is asked for."""
    done = run_without_absent_packages([], "asr_bench.cli", "export", "--help")
    assert done.returncode == 0, done.stderr
    assert "usage: asr-bench export" in done.stdout


def test_pretraining_and_benchmark_import_without_the_decoding_packages() -> None:
    modules = ["asr_bench.tasks.pretrain", "asr_bench.models.checkpoint", "asr_bench.features.featurize"]
    done = run_without_absent_packages(modules, "benchmarks/wav2vec_throughput.py", "--help")
    assert done.returncode == 0, done.stderr
    assert "pretrain" in done.stdout
