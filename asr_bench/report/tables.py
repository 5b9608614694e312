"""Result tables from runs: every row over its seeds, wav2vec against log-mel, and the paper's tables per corpus.

Written as results.md (for people), results.csv (one line per row, for spreadsheets), results.json
(everything, with the runs behind each row), and one CSV per paper-shaped table.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asr_bench.errors import AsrBenchError
from asr_bench.report.corpora import LAYOUTS, METRIC_NAMES, Column, CorpusLayout, Section
from asr_bench.report.paired import BASELINE_FEATURES, Comparison, compare_with_baseline
from asr_bench.report.pooling import Row, compact_names, pool
from asr_bench.report.runs import Run


@dataclass(frozen=True)
class Report:
    runs: list[Run]
    rows: list[Row]
    comparisons: list[Comparison]
    corpus: str | None

    @property
    def layout(self) -> CorpusLayout | None:
        return LAYOUTS[self.corpus] if self.corpus else None

    def metric_name(self, metric: str) -> str:
        return self.layout.metric_name(metric) if self.layout else METRIC_NAMES[metric]

    def comparison(self, row: Row) -> Comparison | None:
        return next((c for c in self.comparisons if c.row is row), None)


def build_report(runs: list[Run], corpus: str | None = None, replicates: int = 10_000) -> Report:
    if corpus is not None and corpus not in LAYOUTS:
        raise AsrBenchError(f"unknown corpus {corpus!r}: expected one of {', '.join(LAYOUTS)}")
    rows = pool(runs)
    return Report(runs, rows, compare_with_baseline(rows, replicates), corpus)


# ---------------------------------------------------------------------------------------------
# every row, long form


def row_record(report: Report, row: Row) -> dict[str, Any]:
    """One row as CSV/JSON fields: the figures over seeds, the runs behind it, its comparison with log-mel."""
    ci = row.ci95
    record: dict[str, Any] = {
        "features": row.features,
        "setting": row.setting,
        "labelled_hours": row.labelled_hours,
        "split": row.split,
        "decoder": row.decoder,
        "metric": row.metric,
        "seeds": len(row.values),
        "mean": row.mean,
        "std": row.std,
        "ci95": ci,
        "ci95_low": None if ci is None else row.mean - ci,
        "ci95_high": None if ci is None else row.mean + ci,
        "values": list(row.values),
        "seed_list": row.seeds,
        "runs": [run.name for run in row.runs],
    }
    comparison = report.comparison(row)
    bootstrap = comparison.bootstrap if comparison else None
    reduction = bootstrap.relative_reduction if bootstrap else comparison.mean_reduction if comparison else None
    record.update({
        "baseline": comparison.baseline.label if comparison and comparison.baseline else None,
        "baseline_runs": [run.name for run in comparison.baseline.runs] if comparison and comparison.baseline else [],
        "relative_reduction": reduction,
        "relative_reduction_ci95_low": bootstrap.ci95[0] if bootstrap else None,
        "relative_reduction_ci95_high": bootstrap.ci95[1] if bootstrap else None,
        "probability_of_improvement": bootstrap.probability_of_improvement if bootstrap else None,
        "p_value": bootstrap.p_value if bootstrap else None,
        "paired_note": comparison.note if comparison else ("baseline" if row.features == BASELINE_FEATURES else ""),
    })
    return record


def _number(value: float | None) -> str:
    """Two decimals, or "-" for a figure that is unknown (labelled hours not recorded, a number the paper lacks)."""
    return "-" if value is None else f"{value:.2f}"


def _mean_std(mean: float | None, std: float | None) -> str:
    return _number(mean) if std is None or mean is None else f"{mean:.2f} ± {std:.2f}"


def _percent(fraction: float) -> str:
    return f"{100 * fraction:.1f}%"


class _Notes:
    """Numbered notes under a Markdown table, one number per distinct text."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def mark(self, text: str) -> str:
        if not text:
            return ""
        if text not in self.texts:
            self.texts.append(text)
        return f" [{self.texts.index(text) + 1}]"

    def lines(self) -> list[str]:
        return ["", *(f"[{i}] {text}" for i, text in enumerate(self.texts, start=1))] if self.texts else []


def _versus_baseline(report: Report, row: Row, notes: _Notes) -> str:
    comparison = report.comparison(row)
    if comparison is None:
        return "baseline" if row.features == BASELINE_FEATURES else ""
    bootstrap = comparison.bootstrap
    if bootstrap is not None:
        low, high = bootstrap.ci95
        text = (f"{_percent(bootstrap.relative_reduction)} [{_percent(low)}, {_percent(high)}], "
                f"p = {bootstrap.p_value:.3g}")
    elif comparison.mean_reduction is not None:
        text = f"{_percent(comparison.mean_reduction)} (of the means; no interval)"
    else:
        text = "-"
    return text + notes.mark(comparison.note)


def markdown_rows(report: Report) -> str:
    notes = _Notes()
    lines = [
        "| features | labelled h | split | decoder | metric | mean ± std | 95% CI | seeds | "
        "vs log-mel: relative reduction [95% CI], p | runs |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in report.rows:
        ci = row.ci95
        interval = "-" if ci is None else f"[{row.mean - ci:.2f}, {row.mean + ci:.2f}]"
        lines.append(
            f"| {row.label} | {_number(row.labelled_hours)} | {row.split} | {row.decoder} | "
            f"{report.metric_name(row.metric)} | {_mean_std(row.mean, row.std)} | {interval} | {len(row.values)} | "
            f"{_versus_baseline(report, row, notes)} | {compact_names([r.name for r in row.runs])} |"
        )
    return "\n".join(lines + notes.lines())


# ---------------------------------------------------------------------------------------------
# tables shaped like the paper's


@dataclass(frozen=True)
class ShapedRow:
    source: str  # "ours" or the paper it comes from
    system: str
    labelled_hours: float | None
    decoder: str
    cells: dict[Column, tuple[float | None, float | None, int]]  # (mean, std over seeds, number of seeds)
    runs: tuple[str, ...] = ()


def _uses_lm(row: Row) -> bool:
    return bool(row.key.get("decode.lm_dir"))


def _split_order(split: str) -> tuple:
    return (0 if "dev" in split else 1 if "test" in split else 2, split)


def shaped_table(report: Report, section: Section) -> tuple[tuple[Column, ...], list[ShapedRow]]:
    """The section's columns, our rows (one per system: features, setting, size, decoder), then the paper's."""
    layout = report.layout
    assert layout is not None
    wanted = {"any": lambda r: True, "lm": _uses_lm, "no_lm": lambda r: not _uses_lm(r)}[section.decoders]
    ours = [r for r in report.rows if wanted(r) and r.metric in section.metrics]
    columns = section.columns or tuple(
        (split, metric)
        for split in sorted({layout.split_name(r.split) for r in ours}, key=_split_order)
        for metric in section.metrics
    )
    systems: dict[tuple, dict[Column, Row]] = {}
    for row in ours:
        column = (layout.split_name(row.split), row.metric)
        if column not in columns:
            continue
        cells = systems.setdefault((row.label, row.labelled_hours, row.decoder), {})
        if column in cells:
            raise AsrBenchError(f"splits {cells[column].split!r} and {row.split!r} are both {column[0]!r} in the "
                                f"{layout.name} table: report them separately")
        cells[column] = row
    shaped = [
        ShapedRow(
            "ours", label, hours, decoder,
            {c: (r.mean, r.std, len(r.values)) for c, r in cells.items()},
            tuple(dict.fromkeys(run.name for r in cells.values() for run in r.runs)),
        )
        for (label, hours, decoder), cells in systems.items()
    ]
    if section.paper:
        shaped += [
            ShapedRow(section.paper.source,
                      p.system if p.pretraining == "-" else f"{p.system}, pretrained on {p.pretraining}",
                      None, section.paper.decoder,
                      {c: (p.error_rates.get(c), p.std.get(c), 0) for c in columns})
            for p in section.paper.rows
        ]
    return columns, shaped


def _column_name(report: Report, column: Column) -> str:
    return f"{column[0]} {report.metric_name(column[1])}"


def markdown_shaped(report: Report, section: Section) -> str:
    columns, shaped = shaped_table(report, section)
    lines = [f"## {section.title}", ""]
    if not any(s.source == "ours" for s in shaped):
        lines += ["None of these runs has " + ", ".join(_column_name(report, c) for c in columns)
                  + f" ({section.decoders.replace('_', ' ')} decodes).", ""]
    lines += [
        "| source | system | labelled h | decoder | " + " | ".join(_column_name(report, c) for c in columns)
        + " | seeds | runs |",
        "|---|---|---|---|" + "---|" * len(columns) + "---|---|",
    ]
    for s in shaped:
        cells = " | ".join(_mean_std(*s.cells.get(c, (None, None, 0))[:2]) for c in columns)
        seeds = ", ".join(str(n) for n in sorted({n for _, _, n in s.cells.values() if n})) or "-"
        lines.append(f"| {s.source} | {s.system} | {_number(s.labelled_hours)} | {s.decoder} | {cells} | "
                     f"{seeds} | {compact_names(list(s.runs)) or '-'} |")
    return "\n".join(lines)


def shaped_records(report: Report, section: Section) -> list[dict[str, Any]]:
    columns, shaped = shaped_table(report, section)
    records = []
    for s in shaped:
        record: dict[str, Any] = {"source": s.source, "system": s.system, "labelled_hours": s.labelled_hours,
                                  "decoder": s.decoder}
        for column in columns:
            mean, std, seeds = s.cells.get(column, (None, None, 0))
            name = _column_name(report, column)
            record.update({name: mean, f"{name} std": std, f"{name} seeds": seeds or None})
        records.append({**record, "runs": list(s.runs)})
    return records


# ---------------------------------------------------------------------------------------------
# the paper's low-resource figure


def low_resource_comparisons(report: Report) -> list[Comparison]:
    """Our comparisons at the paper's low-resource point (split, metric, about its labelled hours)."""
    layout = report.layout
    figure = layout.low_resource if layout else None
    if figure is None:
        return []
    return [
        c for c in report.comparisons
        if layout.split_name(c.row.split) == figure.split and c.row.metric == figure.metric
        and c.row.labelled_hours is not None
        and abs(c.row.labelled_hours - figure.labelled_hours) <= figure.tolerance * figure.labelled_hours
    ]


def markdown_low_resource(report: Report) -> str:
    assert report.layout is not None and report.layout.low_resource is not None
    figure = report.layout.low_resource
    name = report.metric_name(figure.metric)
    lines = [
        f"## Low-resource {figure.split} {name}",
        "",
        f"Paper: with about {figure.labelled_hours:g} h labelled, wav2vec lowers {figure.split} {name} by up to "
        f"{_percent(figure.max_relative_reduction)} relative to log-mel.",
        "",
    ]
    found = low_resource_comparisons(report)
    if not found:
        return "\n".join(lines + [f"None of these runs has a wav2vec-vs-log-mel pair at about "
                                  f"{figure.labelled_hours:g} h labelled on {figure.split}."])
    notes = _Notes()
    lines += ["| features | labelled h | decoder | log-mel | wav2vec | relative reduction [95% CI], p |",
              "|---|---|---|---|---|---|"]
    for c in found:
        base = _mean_std(c.baseline.mean, c.baseline.std) if c.baseline else "-"
        lines.append(f"| {c.row.label} | {_number(c.row.labelled_hours)} | {c.row.decoder} | {base} | "
                     f"{_mean_std(c.row.mean, c.row.std)} | {_versus_baseline(report, c.row, notes)} |")
    return "\n".join(lines + notes.lines())


def low_resource_records(report: Report) -> list[dict[str, Any]]:
    return [row_record(report, c.row) for c in low_resource_comparisons(report)]


# ---------------------------------------------------------------------------------------------
# the files


def markdown(report: Report) -> str:
    parts = []
    layout = report.layout
    if layout is not None:
        parts += [markdown_shaped(report, section) for section in layout.sections]
        if layout.low_resource:
            parts.append(markdown_low_resource(report))
        if layout.note:
            parts.append(layout.note)
    parts += [
        "## Every row" if layout else "## Results",
        "Mean ± sample std over seeds, the t-based 95% interval of the mean, and for each feature set the "
        "relative error reduction over log-mel at the same labelled hours, split and decoder (positive: fewer "
        "errors) with its paired bootstrap 95% interval over utterances and seeds and one-sided p-value "
        "(Bisani & Ney 2004). Rows pool runs that differ in the seed alone; [brackets] after the features name "
        "what else tells a row from its neighbours.",
        markdown_rows(report),
    ]
    return "\n\n".join(parts) + "\n"


def _write_csv(path: Path, records: list[dict[str, Any]], cell: Callable[[Any], Any]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(records[0]) if records else [])
        writer.writeheader()
        writer.writerows({k: cell(v) for k, v in r.items()} for r in records)
    return path


def _csv_cell(value: Any) -> Any:
    """Lists as `a;b;c`; None as an empty cell."""
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return "" if value is None else value


def write_tables(report: Report, out_dir: Path) -> dict[str, Path]:
    """results.md, results.csv, results.json and, with a corpus, <section>.csv per paper-shaped table."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = [row_record(report, row) for row in report.rows]
    written = {
        "md": out_dir / "results.md",
        "csv": _write_csv(out_dir / "results.csv", rows, _csv_cell),
        "json": out_dir / "results.json",
    }
    written["md"].write_text(markdown(report))
    sections = report.layout.sections if report.layout else ()
    shaped = {section.slug: shaped_records(report, section) for section in sections}
    for slug, records in shaped.items():
        written[slug] = _write_csv(out_dir / f"{slug}.csv", records, _csv_cell)
    document = {
        "corpus": report.corpus,
        "rows": [{**record, "run_dirs": [str(run.directory) for run in row.runs], "definition": row.key}
                 for record, row in zip(rows, report.rows)],
        "paper_shaped": shaped,
        "low_resource": low_resource_records(report),
        "records": [
            {"run": run.name, "run_dir": str(run.directory), "seed": run.seed, "labelled_hours": run.labelled_hours,
             "split": split, "decoder": decoder, "metric": metric, "value": entry[metric]}
            for run in report.runs for split, decoders in run.splits.items() for decoder, entry in decoders.items()
            for metric in METRIC_NAMES if metric in entry
        ],
    }
    written["json"].write_text(json.dumps(document, indent=2, default=str))
    return written
