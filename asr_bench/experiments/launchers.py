"""Where a sweep's cells run: processes on this machine, or jobs on a cluster through submitit.

A launcher runs each cell's remaining steps (train, then decode) in order, stops a cell at its
first failing step, keeps the other cells going, and reports every change to the sweep's progress.
On Ctrl-C it stops the cells it started and raises KeyboardInterrupt for the sweep to say how to resume.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from asr_bench.errors import ConfigError
from asr_bench.experiments.sweep import Cell, LocalLauncherConfig, SlurmLauncherConfig, Step, SweepProgress

POLL_S = 0.2  # local processes
SLURM_POLL_S = 10.0  # submitit asks the cluster about jobs at most about this often anyway
STOP_GRACE_S = 60.0  # how long a stopped cell may take to shut down (Lightning's graceful shutdown) before it is killed

Work = list[tuple[Cell, list[Step]]]


@dataclass
class _Running:
    cell: Cell
    steps: deque[Step]
    step: Step
    process: subprocess.Popen
    log: IO[str]
    started: float


class LocalLauncher:
    """Each step a `python -m asr_bench.cli <step>` process, logged to <run_dir>/<step>.log; `processes` cells at once.

    The cores are split between the processes (OMP_NUM_THREADS, which sets torch's thread count, and
    MKL_NUM_THREADS), so that N cells at once do not each start a thread per core. With GPUs, each
    process sees one (CUDA_VISIBLE_DEVICES), the process slots taking the GPUs in turn: with more
    processes than GPUs, several cells share a GPU.
    """

    def __init__(self, config: LocalLauncherConfig) -> None:
        if config.processes < 1 or config.threads_per_process < 0:
            raise ConfigError(f"launcher.local: processes={config.processes} and threads_per_process="
                              f"{config.threads_per_process}: expected at least 1 process and 0 (auto) or more threads")
        self.config = config
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        self.threads = config.threads_per_process or max(1, cores // config.processes)
        self.gpus = [str(gpu) for gpu in config.gpus] if config.gpus is not None else _visible_gpus()

    def environment(self, slot: int) -> dict[str, str]:
        env = dict(os.environ, OMP_NUM_THREADS=str(self.threads), MKL_NUM_THREADS=str(self.threads), PYTHONUNBUFFERED="1")
        if self.gpus:
            env["CUDA_VISIBLE_DEVICES"] = self.gpus[slot % len(self.gpus)]
        return env

    def run(self, work: Work, progress: SweepProgress) -> None:
        queue = deque(work)
        free = deque(range(self.config.processes))
        running: dict[int, _Running] = {}
        try:
            while queue or running:
                while queue and free:
                    cell, steps = queue.popleft()
                    slot = free.popleft()
                    running[slot] = self._start(cell, deque(steps), slot, progress)
                for slot, job in list(running.items()):
                    returncode = job.process.poll()
                    if returncode is None:
                        continue
                    self._finish_step(job, returncode, progress)
                    if returncode == 0 and job.steps:
                        running[slot] = self._start(job.cell, job.steps, slot, progress)
                        continue
                    progress.update(job.cell, "done" if returncode == 0 else "failed")
                    del running[slot]
                    free.append(slot)
                time.sleep(POLL_S)
        except KeyboardInterrupt:
            progress.echo(f"stopping {len(running)} running cell(s), up to {STOP_GRACE_S:.0f} s ...")
            _stop([job.process for job in running.values()])
            for job in running.values():
                self._finish_step(job, job.process.wait(), progress, state="interrupted")
            raise

    def _start(self, cell: Cell, steps: deque[Step], slot: int, progress: SweepProgress) -> _Running:
        step = steps.popleft()
        command = [sys.executable, "-m", "asr_bench.cli", *step.argv]
        cell.run_dir.mkdir(parents=True, exist_ok=True)
        log_path = cell.run_dir / f"{step.name}.log"
        log = log_path.open("a", encoding="utf-8")
        log.write(f"# {time.strftime('%Y-%m-%d %H:%M:%S')} {shlex.join(command)}\n")
        log.flush()
        # A session of its own: Ctrl-C at the terminal reaches the sweep alone, which then stops each cell itself.
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=self.environment(slot),
                                   start_new_session=True)
        progress.update(cell, "running", step.name, command=shlex.join(command), log=str(log_path))
        return _Running(cell, steps, step, process, log, time.time())

    @staticmethod
    def _finish_step(job: _Running, returncode: int, progress: SweepProgress, state: str = "running") -> None:
        job.log.close()
        progress.update(job.cell, state, job.step.name, returncode=returncode, wall_time_s=time.time() - job.started)


def _visible_gpus() -> list[str]:
    """The GPUs this process may use, as CUDA_VISIBLE_DEVICES names them (it may already select some)."""
    import torch

    count = torch.cuda.device_count()
    visible = [gpu.strip() for gpu in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if gpu.strip()]
    return visible[:count] if visible else [str(index) for index in range(count)]


def _stop(processes: list[subprocess.Popen]) -> None:
    """SIGINT to each cell's process group (Lightning shuts down cleanly on it); SIGKILL to any that outlasts the grace.

    Further Ctrl-Cs are ignored meanwhile, so that the shutdown is not itself cut short.
    """
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        for process in processes:
            _signal_group(process, signal.SIGINT)
        deadline = time.time() + STOP_GRACE_S
        for process in processes:
            try:
                process.wait(timeout=max(0.0, deadline - time.time()))
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
    finally:
        signal.signal(signal.SIGINT, previous)


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:  # it had ended already
        pass


StepRunner = Callable[[list[Step]], dict[str, dict[str, Any]]]


class SlurmLauncher:
    """Each cell one job through submitit, which runs `run_steps(steps)` on the node; jobs log to <run_dir>/slurm/.

    `run_steps` comes from the command line layer (it runs `asr-bench` sub-commands in the job's process)
    and returns {step name: {"returncode", "wall_time_s"}} for the steps it ran, stopping at the first
    that fails. Ctrl-C cancels the jobs.
    """

    def __init__(self, config: SlurmLauncherConfig, run_steps: StepRunner) -> None:
        self.config = config
        self.run_steps = run_steps

    def executor(self, cell: Cell) -> Any:
        import submitit

        executor = submitit.AutoExecutor(folder=cell.run_dir / "slurm", cluster=self.config.executor)
        executor.update_parameters(name=f"asr-bench-sweep-{cell.name}", **self.config.parameters)
        return executor

    def run(self, work: Work, progress: SweepProgress) -> None:
        jobs = []
        for cell, steps in work:
            job = self.executor(cell).submit(self.run_steps, steps)
            progress.update(cell, "pending", job_id=job.job_id, logs=[str(job.paths.stdout), str(job.paths.stderr)])
            jobs.append((cell, steps, job))
        waiting = list(jobs)
        try:
            while waiting:
                for item in list(waiting):
                    cell, steps, job = item
                    if self.config.executor == "debug" or job.state == "RUNNING":  # debug jobs run when polled
                        progress.update(cell, "running")
                    if job.done():
                        waiting.remove(item)
                        self._collect(cell, steps, job, progress)
                if waiting:
                    time.sleep(SLURM_POLL_S)
        except KeyboardInterrupt:
            for cell, _, job in waiting:
                job.cancel(check=False)
                progress.update(cell, "interrupted")
            raise

    @staticmethod
    def _collect(cell: Cell, steps: list[Step], job: Any, progress: SweepProgress) -> None:
        try:
            outcomes = job.result()
        except Exception as exc:  # the job itself failed: cancelled, out of time or memory, node lost
            progress.update(cell, "failed", error=f"{type(exc).__name__}: {exc}".strip()[:2000])
            return
        ok = len(outcomes) == len(steps) and all(o["returncode"] == 0 for o in outcomes.values())
        progress.update(cell, "done" if ok else "failed", steps=outcomes)

