"""Finding and reading the runs a report covers: run folders, results.json files, folders of many runs.

A run is what `asr-bench decode` leaves in a run folder's results.json: the run's config, seed and
labelled hours, and one entry of metrics and decode settings per (split, decoder).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asr_bench.errors import AsrBenchError

RESULTS_FILE = "results.json"
METRICS = ("wer", "cer", "per")
# Subfolders of a run that hold no runs of their own: not searched for results.json.
NOT_RUN_FOLDERS = frozenset({"decode", "checkpoints"})


@dataclass(frozen=True)
class Run:
    """One run folder's results. `name` tells it apart from the other runs of the same report."""

    name: str
    directory: Path
    results_file: Path
    config: dict[str, Any]
    seed: int | None
    labelled_hours: float | None  # None: the run did not record it (results.json from elsewhere)
    splits: dict[str, dict[str, dict[str, Any]]]  # split -> decoder -> entry (metrics in percent, settings)
    provenance: dict[str, Any]


def find_results_files(paths: Iterable[str | Path], exclude: Path | None = None) -> list[Path]:
    """results.json files for each path: the file itself, a run folder's, or every one under a folder of runs.

    Folders are searched recursively, skipping decode/ and checkpoints/ subfolders and `exclude`
    (the report's own output folder, whose results.json is no run's).
    """
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_file():
            found.append(path)
        elif (path / RESULTS_FILE).is_file():
            found.append(path / RESULTS_FILE)
        elif path.is_dir():
            under = _search(path, exclude.resolve() if exclude else None)
            if not under:
                raise AsrBenchError(f"{path} holds no {RESULTS_FILE}: expected a run folder decoded with "
                                    "`asr-bench decode`, or a folder of such runs")
            found.extend(under)
        else:
            raise AsrBenchError(f"{path} does not exist: expected a run folder, a {RESULTS_FILE} or a folder of runs")
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(path.resolve(), path)
    return list(unique.values())


def _search(root: Path, exclude: Path | None) -> list[Path]:
    found = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(
            s for s in subfolders if s not in NOT_RUN_FOLDERS and (Path(folder) / s).resolve() != exclude
        )
        if RESULTS_FILE in files:
            found.append(Path(folder) / RESULTS_FILE)
    return found


def load_run(path: Path, name: str | None = None) -> Run:
    """Read one results.json; a file that is not valid JSON or lacks the decode layout is an error naming it."""
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise AsrBenchError(f"{path} is not a results file (not UTF-8 text): {exc}") from None
    except json.JSONDecodeError as exc:
        raise AsrBenchError(f"{path} is corrupt: not valid JSON ({exc.msg} at line {exc.lineno}, "
                            f"column {exc.colno}); decode the run again to rewrite it") from None
    splits = results.get("splits") if isinstance(results, dict) else None
    if not isinstance(splits, dict):
        raise AsrBenchError(f"{path}: expected a JSON object with 'splits' (split -> decoder -> metrics), "
                            "as `asr-bench decode` writes")
    for split, decoders in splits.items():
        if not isinstance(decoders, dict) or not all(isinstance(e, dict) for e in decoders.values()):
            raise AsrBenchError(f"{path}: splits.{split} should map decoder names to entries of metrics")
        for decoder, entry in decoders.items():
            for metric in METRICS:
                value = entry.get(metric)
                if metric in entry and (not isinstance(value, (int, float)) or not math.isfinite(value)):
                    raise AsrBenchError(f"{path}: splits.{split}.{decoder}.{metric} is {value!r}, expected a number")
    hours = results.get("labelled_hours")
    config = results.get("config") or {}
    if not isinstance(config, dict):
        raise AsrBenchError(f"{path}: 'config' should be the run's config as a mapping")
    return Run(
        name=name or path.parent.name,
        directory=path.parent,
        results_file=path,
        config=config,
        seed=results.get("seed", config.get("seed")),
        labelled_hours=None if hours is None else float(hours),
        splits=splits,
        provenance=results.get("provenance") or {},
    )


def run_names(files: list[Path]) -> list[str]:
    """Each run's folder name, or where two share a name, its path below the folders' common parent."""
    folders = [f.resolve().parent for f in files]
    names = [f.name for f in folders]
    if len(set(names)) == len(names):
        return names
    common = Path(os.path.commonpath(folders))
    return [str(f.relative_to(common)) if f != common else f.name for f in folders]


def load_runs(paths: Iterable[str | Path], exclude: Path | None = None) -> list[Run]:
    files = find_results_files(paths, exclude)
    runs = [load_run(f, name) for f, name in zip(files, run_names(files))]
    if not any(run.splits for run in runs):
        raise AsrBenchError("no decodes in " + ", ".join(str(f) for f in files)
                            + ": run `asr-bench decode` on the runs first")
    return runs
