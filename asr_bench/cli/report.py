"""`asr-bench report`: tables (Markdown, CSV, JSON) and plots from runs' results.json files."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from asr_bench.report.plots import plot_pretraining, plot_sweep
from asr_bench.report.tables import write_report


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="tabulate and plot results across runs, seeds and labelled-data sizes",
        description="Gather results.json from run directories; average over seeds with 95%% confidence intervals; "
        "show wav2vec's relative gain over log-mel and the paper's figures for the corpus.",
    )
    parser.add_argument("runs", nargs="+", help="run directories or results.json files")
    parser.add_argument("--out-dir", required=True)
    parser.add_argument("--corpus", choices=["librispeech", "wsj", "timit"], help="adds the paper's table for it")
    parser.add_argument("--metric", default="wer", help="metric to plot against labelled hours (wer, cer, per)")
    parser.add_argument(
        "--pretrain-run", action="append", default=[], metavar="DIR",
        help="an `asr-bench pretrain` run directory: plot its loss/accuracy curves (repeatable)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    paths = [Path(p) / "results.json" if Path(p).is_dir() else Path(p) for p in args.runs]
    out_dir = Path(args.out_dir)
    written = write_report(paths, out_dir, args.corpus)
    rows = json.loads(written["json"].read_text())["rows"]
    for split in sorted({r["split"] for r in rows}):
        for decoder in sorted({r["decoder"] for r in rows}):
            plot_sweep(rows, out_dir / f"{args.metric}_{split}_{decoder}.png", split, decoder, args.metric)
    for pretrain_run in map(Path, args.pretrain_run):
        figure = plot_pretraining(pretrain_run / "logs" / "metrics.csv", out_dir / f"pretraining_{pretrain_run.name}.png")
        print(f"pretraining curves: {figure}")
    print(written["md"].read_text())
    return 0
