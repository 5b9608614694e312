"""`asr-bench sweep`: train and decode a grid of labelled subsets x feature sets x seeds, resumably."""

from __future__ import annotations

import argparse
import shlex
import signal
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from asr_bench.cli.common import add_config_arguments, config_from_args

if TYPE_CHECKING:  # the sweep's modules load only when the command runs
    from asr_bench.experiments.sweep import Step


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sweep",
        help="train and decode every labelled subset x feature set x seed, resumably",
        description="Run a grid of acoustic-model runs: for each labelled subset, feature set and seed, "
        "`asr-bench train` with base_config plus the sweep's overrides, then `asr-bench decode`, into "
        "<out_dir>/<subset>/<feature_set>/seed<k>/, with every cell's state in <out_dir>/sweep.json. "
        "Re-running skips finished cells and resumes unfinished ones; a cell folder holding a run with another "
        "definition stops the sweep before any work. Config keys: out_dir, base_config, train (overrides for "
        "every cell), subsets (name: train manifest), valid_manifest, feature_sets (name: overrides), seeds, "
        "updates_per_cell, decode.{manifests,lm_dir,lexicon_free,tune_on,tune_budget,tune_seed,beam_size,"
        "lm_weight,word_score}, launcher.name (local or slurm), launcher.local.{processes,threads_per_process,gpus}, "
        "launcher.slurm.{executor,parameters} (see recipes/librispeech/conf/sweep.yaml).",
        epilog="example (paths in that file are relative to the recipe's exp/): cd recipes/librispeech/exp && "
        "asr-bench sweep -c ../conf/sweep.yaml seeds=[0,1,2] launcher.local.processes=2",
    )
    add_config_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from asr_bench.experiments.launchers import LocalLauncher, SlurmLauncher  # model code only when the command runs
    from asr_bench.experiments.sweep import SweepConfig, run_sweep

    config = config_from_args(SweepConfig, args)
    launcher = (
        LocalLauncher(config.launcher.local) if config.launcher.name == "local"
        else SlurmLauncher(config.launcher.slurm, run_steps)
    )
    resume = shlex.join(["asr-bench", "sweep", *(["-c", args.config] if args.config else []), *args.overrides])
    return run_sweep(config, launcher, resume)


def run_steps(steps: list[Step]) -> dict[str, dict[str, Any]]:
    """A cell's steps as `asr-bench` sub-commands in this process (what a sweep's cluster job runs), in order,
    up to the first that fails: {step name: {"returncode", "wall_time_s"}}."""
    from asr_bench.cli import main

    outcomes: dict[str, dict[str, Any]] = {}
    for step in steps:
        started = time.time()
        with _noting_ctrl_c() as ctrl_c:
            try:
                returncode = main(list(step.argv))  # a Ctrl-C inside it comes back as 130, after its resume line
            except SystemExit as exc:  # argparse's way out, or Lightning's after a Ctrl-C
                returncode = exc.code if isinstance(exc.code, int) else 1
            except Exception:
                traceback.print_exc()
                returncode = 1
            if ctrl_c:
                raise KeyboardInterrupt
        outcomes[step.name] = {"returncode": returncode, "wall_time_s": time.time() - started}
        if returncode != 0:
            break
    return outcomes


@contextmanager
def _noting_ctrl_c() -> Iterator[list[bool]]:
    """Ctrl-C raises KeyboardInterrupt as usual, and the yielded list becomes non-empty: Lightning answers a
    Ctrl-C with a clean shutdown and SystemExit(1), which then reads as the interruption it was."""
    noted: list[bool] = []
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.SIG_IGN:  # this process does not take Ctrl-C at all
        yield noted
        return

    def note(signum: int, frame: Any) -> None:
        noted.append(True)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, note)
    try:
        yield noted
    finally:
        signal.signal(signal.SIGINT, previous)
