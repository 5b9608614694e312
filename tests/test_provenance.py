"""Every result names the commit that made it, also from a copy of the checkout that has no .git."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from asr_bench.provenance import git_commit


def test_the_checkout_names_its_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASR_BENCH_COMMIT", raising=False)
    done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip("the tests do not run from a git checkout")
    head = done.stdout.strip()
    commit = git_commit()
    assert commit is not None and commit.removesuffix("+dirty") == head


def test_a_copy_without_git_names_the_commit_it_was_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASR_BENCH_COMMIT", raising=False)
    assert git_commit(tmp_path) is None
    monkeypatch.setenv("ASR_BENCH_COMMIT", "0123abc+dirty")
    assert git_commit(tmp_path) == "0123abc+dirty"


def test_the_commit_given_wins_over_a_stale_git(monkeypatch: pytest.MonkeyPatch) -> None:
    """The GPU machine's copy has a .git older than its tree: the commit staged with it is the truth."""
    monkeypatch.setenv("ASR_BENCH_COMMIT", "0123abc")
    assert git_commit() == "0123abc"
