"""Figures: error rate against labelled hours (the mission's question), and pretraining curves."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def plot_sweep(rows: list[dict[str, Any]], out_path: Path, split: str, decoder: str, metric: str) -> Path | None:
    """Returns None when the rows hold nothing for (split, decoder, metric) with known labelled hours."""
    chosen = [
        r
        for r in rows
        if (r["split"], r["decoder"], r["metric"]) == (split, decoder, metric) and r["labelled_hours"] is not None
    ]
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
    hours = sorted({r["labelled_hours"] for r in chosen})
    ax.set_xticks(hours, [f"{h:.3g}" for h in hours])  # the subsets themselves, not log-scale decades
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("labelled data (hours)")
    ax.set_ylabel(f"{split} {metric.upper()} (%), {decoder}")
    ax.grid(True, alpha=0.3)
    ax.legend()
    return _save(fig, out_path)


def _save(fig: plt.Figure, out_path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(out_path, dpi=120)
    plt.close(fig)
    return out_path


PRETRAIN_CURVES = (
    ("loss", "contrastive loss"),
    ("accuracy", "positive beats all negatives"),
    ("z_time_std", "z std over time"),
    ("logit_spread", "logit spread over candidates"),
)


def plot_pretraining(metrics_csv: Path, out_path: Path) -> Path:
    """Loss, accuracy and z's variation over time against updates, train and valid, from a pretraining run's CSV log.

    The last two panels show the collapse the binary loss can fall into at a glance: z
    constant in time, or every candidate scored alike (spread 0) with accuracy at chance.
    """
    with metrics_csv.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    fig, axes = plt.subplots(1, len(PRETRAIN_CURVES), figsize=(4 * len(PRETRAIN_CURVES), 3.2))
    for ax, (name, title) in zip(axes, PRETRAIN_CURVES):
        for split in ("train", "valid"):
            points = [(int(r["step"]), float(r[f"{split}/{name}"])) for r in rows if r.get(f"{split}/{name}")]
            if points:
                ax.plot(*zip(*points), marker="o" if split == "valid" else None, label=split)
        ax.set_title(title)
        ax.set_xlabel("update")
        ax.grid(True, alpha=0.3)
        ax.legend()
    return _save(fig, out_path)
