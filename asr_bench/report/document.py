"""A recipe's RESULTS.md: the report's tables and figures under a header saying what produced them."""

from __future__ import annotations

import datetime
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

from asr_bench.provenance import git_commit
from asr_bench.report.runs import Run


def _hardware(provenance: dict[str, Any]) -> str:
    hardware = provenance.get("hardware") or {}
    if hardware.get("gpus"):
        return ", ".join(hardware["gpus"])
    if hardware.get("processor"):
        return f"{hardware['processor']} (CPU only, {hardware.get('cpu_count', '?')} cores)"
    return "not recorded"


def _tally(values: list[str]) -> str:
    return "; ".join(f"{value} ({count} runs)" if count > 1 else value for value, count in Counter(values).most_common())


def results_document(
    tables_md: str, runs: list[Run], command: str, figures: list[Path], path: Path, title: str = "Results"
) -> Path:
    """Write `path`: a header (date, commit, hardware, command), then the tables, then the figures.

    The figures are copied into `<path stem>_figures/` beside the page, so that the page can be published
    (committed beside a recipe) while the report folder it was made from stays a working folder.
    """
    today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    header = [
        f"# {title}",
        "",
        f"Written by `asr-bench report` on {today} (UTC) at commit {git_commit() or 'unknown'}, with",
        "",
        "```",
        command,
        "```",
        "",
        f"from {len(runs)} runs. As their results.json record it (at their last decode): commits "
        f"{_tally([r.provenance.get('git_commit') or 'not recorded' for r in runs])}; hardware "
        f"{_tally([_hardware(r.provenance) for r in runs])}.",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    folder = path.parent / f"{path.stem}_figures"
    if folder.is_dir():
        shutil.rmtree(folder)  # figures of an earlier report would outlive the runs they showed
    if figures:
        folder.mkdir()
    for figure in figures:
        shutil.copyfile(figure, folder / figure.name)
    links = [f"![{figure.stem}]({folder.name}/{figure.name})" for figure in figures]
    parts = ["\n".join(header), tables_md.rstrip("\n")]
    if links:
        parts.append("## Figures\n\n" + "\n\n".join(links))
    path.write_text("\n\n".join(parts) + "\n")
    return path
