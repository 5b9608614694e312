"""Figures: error rate against labelled hours (the mission's question), acoustic-model and pretraining curves.

Every figure has a title saying what it shows, and its legend outside the axes, so it covers no curve.
"""

from __future__ import annotations

import csv
import re
import textwrap
from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from asr_bench.errors import AsrBenchError  # noqa: E402
from asr_bench.report.pooling import Row, RunGroup, run_groups  # noqa: E402
from asr_bench.report.runs import METRICS  # noqa: E402
from asr_bench.report.tables import Report  # noqa: E402

SPREAD = "band: min–max over seeds"


def sweep_figure(rows: list[Row], split: str, decoder: str, metric: str, metric_name: str) -> plt.Figure | None:
    """One line per feature set: the mean over seeds against labelled hours (log axis), the seeds' range shaded.

    None when the rows hold nothing for (split, decoder, metric) with known labelled hours.
    """
    chosen = [r for r in rows if (r.split, r.decoder, r.metric) == (split, decoder, metric) and r.labelled_hours is not None]
    if not chosen:
        return None
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for label in dict.fromkeys(r.label for r in chosen):
        points = sorted((r for r in chosen if r.label == label), key=lambda r: r.labelled_hours or 0.0)
        hours = [p.labelled_hours for p in points]
        (line,) = ax.plot(hours, [p.mean for p in points], marker="o", label=textwrap.fill(f"{label} (mean)", 45))
        ax.fill_between(hours, [min(p.values) for p in points], [max(p.values) for p in points],
                        color=line.get_color(), alpha=0.2, linewidth=0)
    ax.set_xscale("log")
    sizes = sorted({r.labelled_hours for r in chosen if r.labelled_hours is not None})
    ax.set_xticks(sizes, [f"{h:.3g}" for h in sizes])  # the subsets themselves, not log-scale decades
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("labelled data (hours, log scale)")
    ax.set_ylabel(f"{split} {metric_name} (%)")
    ax.set_title(f"{split} {metric_name} against labelled data, {decoder} decoding\n(line: mean over seeds; {SPREAD})")
    ax.grid(True, alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    handles.append(Patch(color="grey", alpha=0.2))
    labels.append(SPREAD)
    ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    return fig


def plot_sweep(rows: list[Row], out_path: Path, split: str, decoder: str, metric: str, metric_name: str) -> Path | None:
    fig = sweep_figure(rows, split, decoder, metric, metric_name)
    return None if fig is None else _save(fig, out_path)


def _save(fig: plt.Figure, out_path: Path) -> Path:
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_path, dpi=120, bbox_inches="tight")  # "tight" keeps the legend beside the axes in the file
    plt.close(fig)
    return out_path


def _read_log(metrics_csv: Path) -> list[dict[str, str]]:
    try:
        with metrics_csv.open(newline="") as handle:
            return list(csv.DictReader(handle))
    except (OSError, csv.Error) as exc:
        raise AsrBenchError(f"{metrics_csv}: cannot read the training log ({exc})") from None


def _points(rows: list[dict[str, str]], column: str) -> tuple[list[int], list[float]]:
    pairs = [(int(float(r["step"])), float(r[column])) for r in rows if r.get(column) and r.get("step")]
    return [s for s, _ in pairs], [v for _, v in pairs]


def _figure_legend(axes: list[plt.Axes]) -> None:
    """One legend for all panels, right of the last one (outside every axes)."""
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        axes[-1].legend(handles, labels, loc="upper left", bbox_to_anchor=(1.04, 1.0), borderaxespad=0.0)


def training_figure(group: RunGroup) -> plt.Figure | None:
    """CTC loss (train and valid) and the valid error rates against updates, one colour per seed.

    From each run's logs/metrics.csv; phone models' word error rate is their PER (phones are the words).
    None when no run of the group has a log.
    """
    logs = [(run, run.directory / "logs" / "metrics.csv") for run in group.runs]
    logs = [(run, _read_log(path)) for run, path in logs if path.is_file()]
    if not logs:
        return None
    phones = logs[0][0].config.get("data", {}).get("tokens") == "phones"
    panels = [("CTC loss", ("train/loss", "valid/loss"))]
    panels += [("valid PER (%), greedy", ("valid/wer",))] if phones else [
        ("valid WER (%), greedy", ("valid/wer",)), ("valid CER (%), greedy", ("valid/cer",))]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4), squeeze=False, layout="constrained")
    for ax, (title, columns) in zip(axes[0], panels):
        for number, (run, rows) in enumerate(logs):
            color = f"C{number % 10}"
            for column in columns:
                valid = column.startswith("valid/")
                ax.plot(*_points(rows, column), color=color, marker="o" if valid else None,
                        linestyle="-" if valid else ":", markersize=3,
                        label=f"seed {run.seed} {'valid' if valid else 'train'} ({run.name})")
        ax.set_title(title)
        ax.set_xlabel("update")
        ax.grid(True, alpha=0.3)
    hours = "" if group.labelled_hours is None else f", {group.labelled_hours:g} h labelled"
    fig.suptitle(f"Acoustic-model training: {group.label}{hours}")
    _figure_legend(list(axes[0]))
    return fig


def plot_training(group: RunGroup, out_path: Path) -> Path | None:
    fig = training_figure(group)
    return None if fig is None else _save(fig, out_path)


PRETRAIN_CURVES = (
    ("loss", "contrastive loss"),
    ("accuracy", "positive beats all negatives"),
    ("z_time_std", "z std over time"),
    ("logit_spread", "logit spread over candidates"),
)


def pretraining_figure(metrics_csv: Path, name: str) -> plt.Figure:
    """Loss, accuracy and z's variation over time against updates, train and valid, from a pretraining run's CSV log.

    The last two panels show the collapse the binary loss can fall into at a glance: z
    constant in time, or every candidate scored alike (spread 0) with accuracy at chance.
    """
    rows = _read_log(metrics_csv)
    fig, axes = plt.subplots(1, len(PRETRAIN_CURVES), figsize=(4 * len(PRETRAIN_CURVES), 3.4), layout="constrained")
    for ax, (name_in_log, title) in zip(axes, PRETRAIN_CURVES):
        for split in ("train", "valid"):
            ax.plot(*_points(rows, f"{split}/{name_in_log}"), marker="o" if split == "valid" else None, label=split)
        ax.set_title(title)
        ax.set_xlabel("update")
        ax.grid(True, alpha=0.3)
    fig.suptitle(f"wav2vec pretraining: {name}")
    _figure_legend(list(axes))
    return fig


def plot_pretraining(metrics_csv: Path, out_path: Path, name: str) -> Path:
    return _save(pretraining_figure(metrics_csv, name), out_path)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "_", text).strip("_")[:60]


def write_figures(report: Report, out_dir: Path, metric: str | None, pretrain_runs: list[Path]) -> list[Path]:
    """Error rate against labelled hours per (metric, split, decoder), then training and pretraining curves."""
    figures = []
    for row_metric in [m for m in METRICS if metric in (None, m)]:
        for split, decoder in dict.fromkeys((r.split, r.decoder) for r in report.rows if r.metric == row_metric):
            figure = plot_sweep(report.rows, out_dir / f"{row_metric}_{split}_{decoder}.png", split, decoder,
                                row_metric, report.metric_name(row_metric))
            figures += [figure] if figure else []
    for number, group in enumerate(run_groups(report.runs), start=1):
        hours = "" if group.labelled_hours is None else f"_{group.labelled_hours:g}h"
        figure = plot_training(group, out_dir / "training" / f"{number:02d}_{_slug(group.label)}{hours}.png")
        figures += [figure] if figure else []
    for pretrain_run in pretrain_runs:
        log = pretrain_run / "logs" / "metrics.csv"
        if not log.is_file():
            raise AsrBenchError(f"{log} does not exist: expected an `asr-bench pretrain` run folder")
        name = pretrain_run.resolve().name
        figures.append(plot_pretraining(log, out_dir / f"pretraining_{name}.png", name))
    return figures
