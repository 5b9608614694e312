"""Error rate against labelled hours, one line per feature type, with 95% CI bars: the mission's question as a figure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def plot_sweep(rows: list[dict[str, Any]], out_path: Path, split: str, decoder: str, metric: str) -> Path | None:
    """Returns None when the rows hold nothing for (split, decoder, metric)."""
    chosen = [r for r in rows if r["split"] == split and r["decoder"] == decoder and r["metric"] == metric]
    if not chosen:
        return None
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for features in sorted({r["features"] for r in chosen}):
        points = sorted((r for r in chosen if r["features"] == features), key=lambda r: r["labelled_hours"])
        ax.errorbar(
            [p["labelled_hours"] for p in points],
            [p["mean"] for p in points],
            yerr=[p["ci95"] or 0.0 for p in points],
            marker="o",
            capsize=3,
            label=features,
        )
    ax.set_xscale("log")
    ax.set_xlabel("labelled data (hours)")
    ax.set_ylabel(f"{split} {metric.upper()} (%), {decoder}")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_path, dpi=120)
    plt.close(fig)
    return out_path
