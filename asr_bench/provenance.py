"""What made a result: package versions, git commit, hardware. Written next to every result."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

PACKAGES = (
    "asr-bench", "torch", "torchaudio", "pytorch-lightning", "jiwer", "soundfile", "desphere", "desphere-native", "numpy",
    "kenlm", "flashlight-text",
)


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_commit(path: str | Path | None = None) -> str | None:
    """The commit of the checkout this package runs from, with '+dirty' if it has uncommitted changes.

    ASR_BENCH_COMMIT, where set, names it instead: the GPU machine's copy of the working tree carries a
    .git that can be older than the tree (rows of 2026-11-26 named the session's first commit, 38e24b8).
    """
    if os.environ.get("ASR_BENCH_COMMIT"):
        return os.environ["ASR_BENCH_COMMIT"]
    where = Path(path) if path else Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=where, capture_output=True, text=True, check=True, timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty else "")


def cpu_model() -> str:
    """The CPU's marketing name (platform.processor() only says "x86_64" on Linux)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware() -> dict[str, Any]:
    import torch

    from asr_bench.hardware import native_bf16

    info: dict[str, Any] = {
        "machine": platform.machine(),
        "processor": cpu_model(),
        "cpu_native_bf16": native_bf16(torch.device("cpu")),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "cuda": torch.version.cuda if torch.cuda.is_available() else None,
        "gpus": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())],
    }
    return info


def provenance() -> dict[str, Any]:
    return {"versions": package_versions(), "git_commit": git_commit(), "hardware": hardware()}
