"""Shared fixtures: where the real speech lives, and small manifests built from it."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
CI_DATA = SHARED_DATA / "ci"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data beside the checkout (CI has it there); tests that need real speech use this."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"{SHARED_DATA} is missing: the real-speech tests need ../shared/data beside the checkout")
    return SHARED_DATA


def _ci_rows(shared_data: Path, corpus: str) -> list[dict[str, str]]:
    with (shared_data / "ci" / "manifest.tsv").open(encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle, delimiter="\t") if row["corpus"] == corpus]
    assert rows, f"ci/manifest.tsv has no {corpus} rows"
    return rows


@pytest.fixture(scope="session")
def ci_librispeech_rows(shared_data: Path) -> list[dict[str, str]]:
    """Rows of ../shared/data/ci/manifest.tsv for its LibriSpeech utterances (utt_id, path, duration_s, speaker, text)."""
    return _ci_rows(shared_data, "librispeech")


@pytest.fixture(scope="session")
def ci_speechocean_rows(shared_data: Path) -> list[dict[str, str]]:
    """Rows of ../shared/data/ci/manifest.tsv for its speechocean762 utterances (as above, plus phones)."""
    return _ci_rows(shared_data, "speechocean762")
