"""Markdown tables from the JSON lines of `wav2vec_throughput.py`, for RESULTS.md.

    python benchmarks/summarize.py bench-*.jsonl

Pretraining rows are grouped by model, precision and batch, one row per variant, with its speed against
the reference path in eager mode ("today") and its peak memory against the naive scoring at the same
batch; featurization rows likewise against the reference featurizer at the same batch. Convolution,
norm and ceiling rows get tables of their own. The first line names the hardware and commit. Rows of
earlier versions (`scoring`: ours / naive) read as the reference and naive variants.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

TODAY, NAIVE = "reference:eager", "naive:eager"


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a and b else "-"


def variant(row: dict[str, Any]) -> str:
    if "variant" in row:
        return row["variant"]
    if row.get("scoring") == "naive":
        return NAIVE
    return "reference:compiled" if row.get("compiled") else TODAY


def pretrain_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| model | precision | batch (crops) | variant | audio-s/s | vs today | TFLOP/s | peak GiB | vs naive | first step (s) |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    groups: dict[tuple, dict[str, dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["model"], row.get("precision"), row.get("batch_crops")), {})[variant(row)] = row
    for (model, precision, crops), by_variant in groups.items():
        today, naive = by_variant.get(TODAY, {}), by_variant.get(NAIVE, {})
        for name, row in by_variant.items():
            lines.append(
                f"| {model} | {precision} | {crops} | {name} | {_fmt(row.get('audio_s_per_s'))} | "
                f"{_ratio(row.get('audio_s_per_s'), today.get('audio_s_per_s'))} | {_fmt(row.get('tflop_per_s'))} | "
                f"{_fmt(row.get('peak_memory_gib'), 2)} | {_ratio(row.get('peak_memory_gib'), naive.get('peak_memory_gib'))} | "
                f"{_fmt(row.get('first_step_s'))} |"
            )
    return lines


def featurize_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| model | precision | batch (utterances) | variant | audio-s/s | vs reference | peak GiB |",
        "|---|---|---:|---|---:|---:|---:|",
    ]
    groups: dict[tuple, dict[str, dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["model"], row.get("precision"), row.get("batch_utterances")), {})[row.get("variant", "reference")] = row
    for (model, precision, batch), by_variant in groups.items():
        reference = by_variant.get("reference", {})
        for name, row in by_variant.items():
            lines.append(
                f"| {model} | {precision} | {batch} | {name} | {_fmt(row.get('audio_s_per_s'))} | "
                f"{_ratio(row.get('audio_s_per_s'), reference.get('audio_s_per_s'))} | {_fmt(row.get('peak_memory_gib'), 2)} |"
            )
    return lines


def conv_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = ["| layer | variant | ms (forward + backward) | TFLOP/s |", "|---|---|---:|---:|"]
    lines += [f"| {r['layer']} | {r['variant']} | {_fmt(r['ms_forward_backward'], 2)} | {_fmt(r['tflop_per_s'])} |" for r in rows]
    return lines


def norm_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = ["| variant | ms (forward + backward) | GB/s at 16 B per element |", "|---|---:|---:|"]
    lines += [f"| {r['variant']} | {_fmt(r['ms_forward_backward'], 2)} | {_fmt(r['gb_per_s_at_16_bytes'], 0)} |" for r in rows]
    return lines


def env_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = ["| copy GB/s (read + write) | bf16 GEMM TFLOP/s |", "|---:|---:|"]
    lines += [f"| {_fmt(r['copy_gb_per_s'], 0)} | {_fmt(r['bf16_gemm_tflop_per_s'])} |" for r in rows]
    return lines


TABLES = {
    "wav2vec_env": env_table,
    "wav2vec_pretrain": pretrain_table,
    "wav2vec_featurize": featurize_table,
    "wav2vec_conv": conv_table,
    "wav2vec_norm": norm_table,
}


def summarize(paths: list[Path]) -> str:
    rows = [json.loads(line) for path in paths for line in path.read_text().splitlines() if line.startswith("{")]
    if not rows:
        raise SystemExit("no benchmark lines in " + ", ".join(map(str, paths)))
    first = rows[0]
    hardware = first.get("hardware", {})
    where = ", ".join(hardware.get("gpus") or [hardware.get("processor", "?")])
    out = [f"{where}; torch {first.get('versions', {}).get('torch')}; commit {first.get('git_commit')}", ""]
    errors = [r for r in rows if "error" in r]
    for benchmark, table in TABLES.items():
        chosen = [r for r in rows if r.get("benchmark") == benchmark and "error" not in r]
        if chosen:
            out += table(chosen) + [""]
    for r in errors:
        setting = ", ".join(
            f"{k}={v}" for k, v in r.items() if k in ("precision", "batch_crops", "variant", "scoring", "batch_utterances")
        )
        out.append(f"{r['benchmark']} {r['model']} ({setting}): {r['error']}")
    return "\n".join(out).rstrip() + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("jsonl", nargs="+", type=Path)
    print(summarize(parser.parse_args().jsonl), end="")


if __name__ == "__main__":
    main()
