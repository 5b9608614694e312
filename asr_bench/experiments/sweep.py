"""The labelled-data sweep: a grid of labelled subsets x feature sets x seeds, each cell a train + decode run.

Each cell is an ordinary `asr-bench train` run, configured as the base acoustic-model config plus the
sweep's common overrides, the feature set's overrides and the cell's own (run folder, seed, manifests),
followed by `asr-bench decode` of the requested splits. The cells live in one sweep folder,
`<out_dir>/<subset>/<feature_set>/seed<k>/`, each a normal run folder (config.yaml, checkpoints,
results.json), with `<out_dir>/sweep.json` saying what became of every cell.

A sweep is resumable. Before any work, every cell's folder is compared with the run the cell asks for:
a folder holding a run with another definition (`asr_bench.identity`) stops the whole sweep with the
differing keys, rather than at the seventeenth cell. Then a finished cell (training ended, every
requested decode in results.json) is skipped, and an unfinished one resumes from its last checkpoint.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import yaml

from asr_bench.config import from_dict, load_config, to_dict
from asr_bench.decode.beam import BeamSearchConfig
from asr_bench.errors import ConfigError
from asr_bench.identity import definition, differing_keys, flatten
from asr_bench.provenance import provenance
from asr_bench.tasks.train_ctc import TrainConfig
from asr_bench.tasks.trainer import read_summary


@dataclass(frozen=True)
class SweepDecodeConfig:
    """How every cell is decoded once trained: the options of `asr-bench decode`."""

    manifests: dict[str, str] = field(default_factory=dict)  # split -> manifest, e.g. {dev: data/dev.jsonl}
    lm_dir: str = ""  # `asr-bench lm build` output: lexicon + LM beam search after greedy; "": greedy only
    lexicon_free: bool = False  # beam search over letters, no lexicon, no LM
    tune_on: str = ""  # split to tune the LM weight and word score on; "": lm_weight and word_score as given
    tune_budget: int = 0  # tuning by this many seeded random draws instead of the grid; 0: grid
    tune_seed: int = 0
    beam_size: int = BeamSearchConfig.beam_size
    lm_weight: float = BeamSearchConfig.lm_weight
    word_score: float = BeamSearchConfig.word_score

    @property
    def beam_decoder(self) -> str | None:
        """The results.json entry that beam search writes, or None for greedy decoding alone."""
        if self.lexicon_free:
            return "beam_lexicon_free"
        return "beam" if self.lm_dir else None


@dataclass(frozen=True)
class LocalLauncherConfig:
    """Cells as processes on this machine."""

    processes: int = 1  # cells at once
    threads_per_process: int = 0  # torch/OpenMP threads per cell; 0: this machine's cores divided by processes
    gpus: list[int] | None = None  # GPUs the cells take in turn (several processes may share one); None: all visible


@dataclass(frozen=True)
class SlurmLauncherConfig:
    """Each cell a job through submitit."""

    executor: Literal["slurm", "local", "debug"] = "slurm"  # debug: each job in this process, to try a sweep out
    parameters: dict[str, Any] = field(default_factory=dict)  # submitit's, e.g. {timeout_min: 240, gpus_per_node: 1,
    # slurm_partition: dev, cpus_per_task: 10}


@dataclass(frozen=True)
class LauncherConfig:
    name: Literal["local", "slurm"] = "local"
    local: LocalLauncherConfig = LocalLauncherConfig()
    slurm: SlurmLauncherConfig = SlurmLauncherConfig()


@dataclass(frozen=True)
class SweepConfig:
    """The grid and how to run it. Override mappings take dotted keys (`features.kind: logmel`) or nested ones."""

    out_dir: str = "exp/sweep"
    base_config: str = ""  # the acoustic-model config every cell starts from, as for `asr-bench train -c`
    train: dict[str, Any] = field(default_factory=dict)  # overrides for every cell, e.g. {features.cache_dir: ...}
    subsets: dict[str, str] = field(default_factory=dict)  # name -> training manifest
    only_subsets: list[str] = field(default_factory=list)  # run just these subsets this time; []: every subset
    valid_manifest: str = ""
    feature_sets: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> overrides
    seeds: list[int] = field(default_factory=lambda: [0])
    updates_per_cell: int = 0  # N: every cell trains N updates (trainer.max_steps); 0: the base config's schedule
    decode: SweepDecodeConfig = SweepDecodeConfig()
    launcher: LauncherConfig = LauncherConfig()


# What the sweep sets for each cell itself; the train and feature-set overrides must leave these alone.
CELL_KEYS = ("out_dir", "seed", "data.train_manifest", "data.valid_manifest")
SCHEDULE_KEYS = ("trainer.max_steps", "trainer.max_epochs")


@dataclass(frozen=True)
class Step:
    """One command of a cell: its name (train, decode) and its `asr-bench` arguments."""

    name: str
    argv: tuple[str, ...]


@dataclass(frozen=True)
class Cell:
    """One grid point: its run folder, the `asr-bench train` it runs (base config + overrides), its decoding."""

    subset: str
    feature_set: str
    seed: int
    run_dir: Path
    base_config: str
    overrides: tuple[str, ...]
    decode: Step

    @property
    def name(self) -> str:
        return f"{self.subset}/{self.feature_set}/seed{self.seed}"

    @property
    def train(self) -> Step:
        return Step("train", ("train", "-c", self.base_config, *self.overrides))

    def config(self) -> TrainConfig:
        """The config its `asr-bench train` command builds, from the same file and overrides."""
        return load_config(TrainConfig, self.base_config, list(self.overrides))


def override(key: str, value: Any) -> str:
    """`key=value` as `asr-bench train` reads it back: the value as one line of YAML."""
    text = yaml.safe_dump(value, default_flow_style=True, width=math.inf)
    return f"{key}={text.removesuffix('...' + chr(10)).strip()}"


def _names(kind: str, names: list[str]) -> None:
    for name in names:
        if not name or "/" in name or name.startswith("."):
            raise ConfigError(f"sweep {kind} name {name!r}: it names a folder, so it must be non-empty without '/'")


def check(config: SweepConfig) -> None:
    """Refuse a sweep config that could only fail later, naming the key."""
    if not config.base_config or not Path(config.base_config).is_file():
        raise ConfigError(f"base_config {config.base_config!r}: expected an acoustic-model config file")
    for key, values in (("subsets", config.subsets), ("feature_sets", config.feature_sets), ("seeds", config.seeds),
                        ("decode.manifests", config.decode.manifests)):
        if not values:
            raise ConfigError(f"sweep: {key} is empty")
    _names("subset", list(config.subsets))
    unknown = [name for name in config.only_subsets if name not in config.subsets]
    if unknown:
        raise ConfigError(f"only_subsets {unknown}: not among the sweep's subsets ({', '.join(config.subsets)})")
    _names("feature set", list(config.feature_sets))
    if len(set(config.seeds)) != len(config.seeds):
        raise ConfigError(f"seeds {config.seeds}: a seed appears twice")
    owned = CELL_KEYS + (SCHEDULE_KEYS if config.updates_per_cell > 0 else ())
    for where, overrides in (("train", config.train), *((f"feature_sets.{n}", o) for n, o in config.feature_sets.items())):
        if not isinstance(overrides, dict):
            raise ConfigError(f"sweep {where}: expected a mapping of config keys to values, got {overrides!r}")
        taken = sorted(set(flatten(overrides)) & set(owned))
        if taken:
            raise ConfigError(f"sweep {where} sets {', '.join(taken)}, which the sweep sets for each cell itself")
    decode = config.decode
    if decode.tune_on and decode.tune_on not in decode.manifests:
        raise ConfigError(f"decode.tune_on={decode.tune_on}: not one of decode.manifests ({', '.join(decode.manifests)})")
    if decode.tune_on and decode.beam_decoder != "beam":
        raise ConfigError("decode.tune_on needs decode.lm_dir and lexicon decoding: there is no LM weight to tune")


def train_overrides(config: SweepConfig, subset: str, feature_set: str, seed: int, run_dir: Path) -> list[str]:
    """The cell's overrides of the base config: the sweep's, then the feature set's, then the cell's own."""
    values = {**flatten(config.train), **flatten(config.feature_sets[feature_set])}
    values.update({"out_dir": str(run_dir), "seed": seed, "data.train_manifest": config.subsets[subset]})
    if config.valid_manifest:
        values["data.valid_manifest"] = config.valid_manifest
    if config.updates_per_cell > 0:
        values.update({"trainer.max_epochs": -1, "trainer.max_steps": config.updates_per_cell})
    return [override(key, value) for key, value in values.items()]


def decode_argv(run_dir: Path, decode: SweepDecodeConfig) -> tuple[str, ...]:
    argv = ["decode", "--run-dir", str(run_dir)]
    for split, manifest in decode.manifests.items():
        argv += ["-m", f"{split}={manifest}"]
    if decode.beam_decoder is not None:
        argv += ["--lexicon-free"] if decode.lexicon_free else ["--lm", decode.lm_dir]
        argv += ["--beam-size", str(decode.beam_size)]
        if decode.tune_on:
            argv += ["--tune-on", decode.tune_on, "--tune-budget", str(decode.tune_budget),
                     "--tune-seed", str(decode.tune_seed)]
        else:
            argv += ["--lm-weight", str(decode.lm_weight), "--word-score", str(decode.word_score)]
    return tuple(argv)


def plan(config: SweepConfig) -> list[Cell]:
    """Every cell of the grid (of `only_subsets`, where given), subsets outermost, in the config's order."""
    check(config)
    cells = []
    for subset in config.subsets:
        if config.only_subsets and subset not in config.only_subsets:
            continue
        for feature_set in config.feature_sets:
            for seed in config.seeds:
                run_dir = Path(config.out_dir) / subset / feature_set / f"seed{seed}"
                overrides = tuple(train_overrides(config, subset, feature_set, seed, run_dir))
                cells.append(Cell(subset, feature_set, seed, run_dir, config.base_config, overrides,
                                  Step("decode", decode_argv(run_dir, config.decode))))
    return cells


def check_cells(cells: list[Cell]) -> None:
    """Stop before any work if a cell's config does not build (a typo in an override), or if its folder holds a run
    whose definition differs from the cell's, naming every such cell and key.

    A config.yaml from before a key was added reads with that key's default, as a resumed run does.
    """
    changed = []
    for cell in cells:
        wanted = to_dict(cell.config())
        recorded = cell.run_dir / "config.yaml"
        if not recorded.is_file():
            continue
        previous = to_dict(from_dict(TrainConfig, yaml.safe_load(recorded.read_text()) or {}, where=str(recorded)))
        keys = differing_keys(definition(previous), definition(wanted))
        if keys:
            was, now = flatten(previous), flatten(wanted)
            shown = ", ".join(f"{k} ({was.get(k)!r} there, {now.get(k)!r} now)" for k in keys)
            changed.append(f"  {cell.name}: {recorded} differs in {shown}")
    if changed:
        raise ConfigError(
            f"{len(changed)} cell folder(s) hold a run with another definition than this sweep's:\n"
            + "\n".join(changed)
            + "\nnothing was run; restore those settings, or remove those folders or choose another out_dir"
        )


def decoded(run_dir: Path, decode: SweepDecodeConfig) -> bool:
    """Whether results.json holds every decode the sweep asks for, made with the asked-for settings."""
    path = run_dir / "results.json"
    if not path.is_file():
        return False
    splits = json.loads(path.read_text()).get("splits", {})
    for split, manifest in decode.manifests.items():
        entries = splits.get(split, {})
        if entries.get("greedy", {}).get("manifest") != manifest:
            return False
        if decode.beam_decoder is not None:
            beam = entries.get(decode.beam_decoder)
            lm_dir = None if decode.lexicon_free else str(Path(decode.lm_dir))
            if not beam or beam.get("lm_dir") != lm_dir or beam.get("beam_size") != decode.beam_size:
                return False
            if beam.get("tuned_on") != (decode.tune_on or None):
                return False
    return True


def remaining_steps(cell: Cell, decode: SweepDecodeConfig) -> list[Step]:
    """What is left of a cell: training and decoding, decoding alone, or nothing (a finished cell)."""
    if not read_summary(cell.run_dir).get("finished"):  # every sitting writes it; `finished` once training ended
        return [cell.train, cell.decode]
    return [] if decoded(cell.run_dir, decode) else [cell.decode]


STATES = ("pending", "running", "done", "failed", "skipped", "interrupted")


class SweepProgress:
    """The state of every cell: one line per change on the terminal, and `<out_dir>/sweep.json` rewritten each time.

    Cell states: pending, running (with the step), done, failed, skipped (finished before this
    invocation), interrupted (stopped by Ctrl-C).
    """

    def __init__(self, path: Path, config: SweepConfig, cells: list[Cell], echo: Callable[[str], None] = print) -> None:
        self.path = path
        self.echo = echo
        self.started = time.time()
        self.record: dict[str, Any] = {"config": to_dict(config), "provenance": provenance(), "started_at": _now()}
        self.cells: dict[str, dict[str, Any]] = {
            cell.name: {"subset": cell.subset, "feature_set": cell.feature_set, "seed": cell.seed,
                        "run_dir": str(cell.run_dir), "state": "pending", "steps": {}}
            for cell in cells
        }

    def update(self, cell: Cell, state: str, step: str | None = None, **facts: Any) -> None:
        """Set a cell's state; `step` and `facts` go into its record (facts of a step under that step)."""
        entry = self.cells[cell.name]
        changed = entry["state"] != state or (step is not None and entry.get("step") != step)
        if not changed and not facts:
            return
        entry["state"] = state
        if step is not None:
            entry["step"] = step
            entry["steps"].setdefault(step, {}).update(facts)
        else:
            entry.update(facts)
        if state in ("done", "failed", "interrupted", "skipped"):
            entry.pop("step", None)
            if entry["steps"]:
                entry["wall_time_s"] = sum(s.get("wall_time_s", 0.0) for s in entry["steps"].values())
            summary = read_summary(cell.run_dir)  # the run's own record of its training time
            if summary:
                entry["train_wall_time_s"] = summary["wall_time_s"]
        self._write()
        if changed:
            self.echo(self.line(cell, state, step))

    def counts(self) -> dict[str, int]:
        return {state: sum(e["state"] == state for e in self.cells.values()) for state in STATES}

    def line(self, cell: Cell, state: str, step: str | None) -> str:
        counts = ", ".join(f"{n} {s}" for s, n in self.counts().items() if n)
        what = f"{step} started" if state == "running" and step else state
        return f"[{time.strftime('%H:%M:%S')}] sweep {len(self.cells)} cells: {counts} | {cell.name}: {what}"

    def failed(self) -> list[tuple[str, dict[str, Any]]]:
        return [(name, entry) for name, entry in self.cells.items() if entry["state"] == "failed"]

    def _write(self) -> None:
        self.record.update(updated_at=_now(), wall_time_s=time.time() - self.started, counts=self.counts(),
                           cells=list(self.cells.values()))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.record, indent=2))
        tmp.replace(self.path)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


class Launcher(Protocol):
    def run(self, work: list[tuple[Cell, list[Step]]], progress: SweepProgress) -> None:
        """Run each cell's steps in order, reporting every change to `progress`; KeyboardInterrupt after stopping them."""


def run_sweep(config: SweepConfig, launcher: Launcher, resume_command: str, echo: Callable[[str], None] = print) -> int:
    """Run every unfinished cell; 0 when all are finished, 1 naming the failed cells and their logs, 130 on Ctrl-C."""
    cells = plan(config)
    check_cells(cells)
    progress = SweepProgress(Path(config.out_dir) / "sweep.json", config, cells, echo)
    work = []
    for cell in cells:
        steps = remaining_steps(cell, config.decode)
        if steps:
            work.append((cell, steps))
        else:
            progress.update(cell, "skipped")
    try:
        launcher.run(work, progress)
    except KeyboardInterrupt:
        counts = progress.counts()
        echo(f"interrupted: {counts['interrupted']} cell(s) stopped, {counts['pending']} not started; finished cells "
             f"are kept and stopped ones resume from their last checkpoint. To resume: {resume_command}")
        return 130
    failed = progress.failed()
    if failed:
        echo(f"{len(failed)} of {len(cells)} cells failed (the others finished; {progress.path}):")
        for name, entry in failed:
            echo(f"  {name}: {', '.join(cell_logs(entry)) or entry.get('error', 'no log')}")
        return 1
    echo(f"sweep finished: {len(cells)} cells in {config.out_dir} ({progress.path})")
    return 0


def cell_logs(entry: dict[str, Any]) -> list[str]:
    """The logs of a cell's failing step (local), or its job's (slurm), as sweep.json records them."""
    failing = [step["log"] for step in entry["steps"].values() if "log" in step and step.get("returncode") != 0]
    return failing or list(entry.get("logs", []))
