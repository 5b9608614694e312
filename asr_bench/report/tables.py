"""Collect runs' results.json files into one table: mean and 95% confidence interval over seeds,
wav2vec's relative gain over log-mel at each labelled-data size, and the paper's figures beside them.
"""

from __future__ import annotations

import csv
import json
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from asr_bench.errors import AsrBenchError
from asr_bench.report.reference import PAPER_TABLES

# Two-sided 95% Student-t quantiles t_{0.975, df}, df = 1..30; beyond that the normal 1.96 is within 2%.
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
         2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def ci95_half_width(values: list[float]) -> float | None:
    """Half-width of the t-based 95% interval for the mean; None for a single seed."""
    if len(values) < 2:
        return None
    df = len(values) - 1
    t = _T975[df - 1] if df <= len(_T975) else 1.96
    return t * statistics.stdev(values) / math.sqrt(len(values))


@dataclass(frozen=True)
class Record:
    run: str
    features: str
    labelled_hours: float | None  # None: the run did not record it (results.json from elsewhere)
    seed: int | None
    split: str
    decoder: str
    metric: str
    value: float


def feature_name(config: dict[str, Any]) -> str:
    """"logmel", or "wav2vec-<representation> (<model>)", so that features of different models never pool.

    The model is the pretraining run a checkpoint came from (<run>/checkpoints/last.ckpt), else the file's stem.
    """
    features = config.get("features", {})
    if features.get("kind") != "wav2vec":
        return str(features.get("kind", "logmel"))
    settings = features.get("wav2vec", {})
    name = f"wav2vec-{settings.get('representation', 'c')}"
    if not settings.get("checkpoint"):
        return name
    checkpoint = Path(settings["checkpoint"])
    return f"{name} ({checkpoint.parent.parent.name if checkpoint.parent.name == 'checkpoints' else checkpoint.stem})"


def records_from_results(path: Path) -> list[Record]:
    results = json.loads(path.read_text())
    config = results.get("config", {})
    hours = results.get("labelled_hours")
    records = []
    for split, decoders in results.get("splits", {}).items():
        for decoder, entry in decoders.items():
            for metric in ("wer", "cer", "per"):
                if metric in entry:
                    records.append(
                        Record(
                            run=str(path.parent),
                            features=feature_name(config),
                            labelled_hours=None if hours is None else round(float(hours), 3),
                            seed=results.get("seed"),
                            split=split,
                            decoder=decoder,
                            metric=metric,
                            value=float(entry[metric]),
                        )
                    )
    return records


def collect(paths: Iterable[Path]) -> list[Record]:
    records = [r for path in paths for r in records_from_results(Path(path))]
    if not records:
        raise AsrBenchError("no results found: pass run directories or results.json files that have decodes")
    return records


def _group_order(key: tuple) -> tuple:
    """Features, then labelled hours (unknown last: None does not compare with floats), then the rest."""
    features, hours, *rest = key
    return (features, hours is None, hours or 0.0, *rest)


def aggregate(records: list[Record]) -> list[dict[str, Any]]:
    """One row per (features, labelled hours, split, decoder, metric), over seeds."""
    groups: dict[tuple, list[float]] = defaultdict(list)
    for r in records:
        groups[(r.features, r.labelled_hours, r.split, r.decoder, r.metric)].append(r.value)
    rows = []
    for (features, hours, split, decoder, metric), values in sorted(groups.items(), key=lambda item: _group_order(item[0])):
        rows.append(
            {
                "features": features,
                "labelled_hours": hours,
                "split": split,
                "decoder": decoder,
                "metric": metric,
                "seeds": len(values),
                "mean": statistics.fmean(values),
                "ci95": ci95_half_width(values),
            }
        )
    return rows


def relative_gains(rows: list[dict[str, Any]], baseline: str = "logmel") -> list[dict[str, Any]]:
    """Relative error reduction of each non-baseline feature type over the baseline at equal settings."""
    base = {(r["labelled_hours"], r["split"], r["decoder"], r["metric"]): r["mean"] for r in rows if r["features"] == baseline}
    gains = []
    for r in rows:
        key = (r["labelled_hours"], r["split"], r["decoder"], r["metric"])
        if r["features"] != baseline and key in base and base[key] > 0:
            gains.append({**dict(zip(("labelled_hours", "split", "decoder", "metric"), key)),
                          "features": r["features"], "baseline": base[key], "value": r["mean"],
                          "relative_reduction": (base[key] - r["mean"]) / base[key]})
    return gains


def _fmt(row: dict[str, Any]) -> str:
    ci = f" ± {row['ci95']:.2f}" if row["ci95"] is not None else ""
    return f"{row['mean']:.2f}{ci}"


def _number(value: float | None) -> str:
    """Two decimals, or "-" for a figure that is unknown (labelled hours not recorded, a number the paper lacks)."""
    return "-" if value is None else f"{value:.2f}"


def markdown(rows: list[dict[str, Any]], gains: list[dict[str, Any]], corpus: str | None) -> str:
    lines = ["| features | labelled h | split | decoder | metric | mean ± 95% CI | seeds |", "|---|---|---|---|---|---|---|"]
    lines += [
        f"| {r['features']} | {_number(r['labelled_hours'])} | {r['split']} | {r['decoder']} | {r['metric'].upper()} | {_fmt(r)} | {r['seeds']} |"
        for r in rows
    ]
    if gains:
        lines += ["", "Relative error reduction over log-mel (positive = wav2vec better):", "",
                  "| features | labelled h | split | decoder | metric | log-mel | this | reduction |", "|---|---|---|---|---|---|---|---|"]
        lines += [
            f"| {g['features']} | {_number(g['labelled_hours'])} | {g['split']} | {g['decoder']} | {g['metric'].upper()} | "
            f"{g['baseline']:.2f} | {g['value']:.2f} | {100 * g['relative_reduction']:.1f}% |"
            for g in gains
        ]
    for title, paper_rows in PAPER_TABLES.get(corpus or "", {}).items():
        columns = list(paper_rows[0].metrics)
        lines += ["", f"Paper (Schneider et al. 2019), {title}:", "",
                  "| system | pretraining | " + " | ".join(columns) + " |", "|---|---|" + "---|" * len(columns)]
        lines += [f"| {p.system} | {p.pretraining} | " + " | ".join(_number(p.metrics.get(c)) for c in columns) + " |"
                  for p in paper_rows]
    if corpus == "librispeech":
        lines += ["", "The paper reports no LibriSpeech ASR figures (LibriSpeech is its pretraining audio)."]
    return "\n".join(lines) + "\n"


def write_report(paths: Iterable[Path], out_dir: Path, corpus: str | None = None) -> dict[str, Path]:
    records = collect(paths)
    rows = aggregate(records)
    gains = relative_gains(rows)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {"md": out_dir / "results.md", "csv": out_dir / "results.csv", "json": out_dir / "results.json"}
    written["md"].write_text(markdown(rows, gains, corpus))
    with written["csv"].open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    written["json"].write_text(json.dumps({"rows": rows, "relative_gains": gains, "records": [asdict(r) for r in records]}, indent=2))
    return written
