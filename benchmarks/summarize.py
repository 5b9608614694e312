"""Markdown tables from the JSON lines of `wav2vec_throughput.py`, for RESULTS.md.

    python benchmarks/summarize.py bench-pretrain.jsonl bench-featurize.jsonl

Pretraining rows pair our scoring with the naive (reference) one at equal model, precision
and batch, and give the speed ratio and the peak-memory ratio; featurization rows give
audio-seconds per second and times real time. The first line names the hardware and commit.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def pretrain_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| model | precision | batch (crops) | ours audio-s/s | naive audio-s/s | speed-up | ours peak GiB | naive peak GiB |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    by_key: dict[tuple, dict[str, dict[str, Any]]] = {}
    for row in rows:
        variants = [name for key, name in (("compiled", "torch.compile"), ("cudnn_benchmark", "cuDNN autotuned")) if row.get(key)]
        precision = row.get("precision", "") + (f" ({', '.join(variants)})" if variants else "")
        by_key.setdefault((row["model"], precision, row.get("batch_crops")), {})[row.get("scoring", "ours")] = row
    for (model, precision, crops), pair in by_key.items():
        ours, naive = pair.get("ours", {}), pair.get("naive", {})
        speed = ours.get("audio_s_per_s"), naive.get("audio_s_per_s")
        ratio = f"{speed[0] / speed[1]:.2f}x" if all(speed) else "-"
        lines.append(
            f"| {model} | {precision} | {crops} | {_fmt(speed[0])} | {_fmt(speed[1])} | {ratio} | "
            f"{_fmt(ours.get('peak_memory_gib'), 2)} | {_fmt(naive.get('peak_memory_gib'), 2)} |"
        )
    return lines


def featurize_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = ["| model | precision | batch (utterances) | audio-s/s | peak GiB |", "|---|---|---:|---:|---:|"]
    lines += [
        f"| {r['model']} | {r.get('precision')} | {r.get('batch_utterances')} | {_fmt(r.get('audio_s_per_s'))} | "
        f"{_fmt(r.get('peak_memory_gib'), 2)} |"
        for r in rows
    ]
    return lines


def summarize(paths: list[Path]) -> str:
    rows = [json.loads(line) for path in paths for line in path.read_text().splitlines() if line.strip()]
    if not rows:
        raise SystemExit("no benchmark lines in " + ", ".join(map(str, paths)))
    first = rows[0]
    hardware = first.get("hardware", {})
    where = ", ".join(hardware.get("gpus") or [hardware.get("processor", "?")])
    out = [f"{where}; torch {first.get('versions', {}).get('torch')}; commit {first.get('git_commit')}", ""]
    errors = [r for r in rows if "error" in r]
    pretrain = [r for r in rows if r.get("benchmark") == "wav2vec_pretrain" and "error" not in r]
    featurize = [r for r in rows if r.get("benchmark") == "wav2vec_featurize" and "error" not in r]
    if pretrain:
        out += pretrain_table(pretrain) + [""]
    if featurize:
        out += featurize_table(featurize) + [""]
    for r in errors:
        setting = ", ".join(f"{k}={v}" for k, v in r.items() if k in ("precision", "batch_crops", "scoring", "batch_utterances"))
        out.append(f"{r['benchmark']} {r['model']} ({setting}): {r['error']}")
    return "\n".join(out).rstrip() + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("jsonl", nargs="+", type=Path)
    print(summarize(parser.parse_args().jsonl), end="")


if __name__ == "__main__":
    main()
