"""`asr-bench report`: tables (Markdown, CSV, JSON) and figures from runs' results.json files."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from asr_bench.errors import AsrBenchError
from asr_bench.report.corpora import LAYOUTS
from asr_bench.report.document import results_document
from asr_bench.report.plots import write_figures
from asr_bench.report.runs import METRICS, load_runs
from asr_bench.report.tables import build_report, write_tables


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="tabulate and plot results across runs, seeds and labelled-data sizes",
        description="Gather results.json from run folders (or folders of runs, searched recursively); pool runs "
        "that differ in the seed alone into rows of mean ± std and a 95%% interval; compare each feature set "
        "with log-mel by a paired bootstrap over utterances; lay the tables out like the paper's for --corpus.",
    )
    parser.add_argument("runs", nargs="+", metavar="RUN", help="run folders, results.json files or folders of runs")
    parser.add_argument("--out-dir", required=True, help="where results.md/.csv/.json and the figures go")
    parser.add_argument("--corpus", choices=sorted(LAYOUTS), help="shape the tables like the paper's for this corpus")
    parser.add_argument("--metric", choices=METRICS, help="plot only this metric against labelled hours (default: all)")
    parser.add_argument(
        "--pretrain-run", action="append", default=[], metavar="DIR",
        help="an `asr-bench pretrain` run folder: plot its loss/accuracy curves (repeatable)",
    )
    parser.add_argument("--results-md", metavar="PATH",
                        help="also write a recipe's RESULTS.md: the tables and the summary figures (copied into "
                        "<stem>_figures/ beside it) with date, commit, hardware and this command")
    parser.add_argument("--bootstrap-replicates", type=int, default=10_000, metavar="N",
                        help="paired bootstrap replicates (default 10000; the resampling is seeded)")
    parser.set_defaults(func=run)


def _command(args: argparse.Namespace) -> str:
    """The command line, as given in options and paths, that reproduces this report."""
    words = ["asr-bench", "report", *args.runs, "--out-dir", args.out_dir]
    for option, value in (("--corpus", args.corpus), ("--metric", args.metric), ("--results-md", args.results_md)):
        if value:
            words += [option, value]
    for pretrain_run in args.pretrain_run:
        words += ["--pretrain-run", pretrain_run]
    if args.bootstrap_replicates != 10_000:
        words += ["--bootstrap-replicates", str(args.bootstrap_replicates)]
    return shlex.join(words)


def run(args: argparse.Namespace) -> int:
    if args.bootstrap_replicates < 1:
        raise AsrBenchError(f"--bootstrap-replicates must be at least 1, got {args.bootstrap_replicates}")
    out_dir = Path(args.out_dir)
    report = build_report(load_runs(args.runs, exclude=out_dir), args.corpus, args.bootstrap_replicates)
    if args.metric and not any(r.metric == args.metric for r in report.rows):
        found = ", ".join(m for m in METRICS if any(r.metric == m for r in report.rows))
        raise AsrBenchError(f"--metric {args.metric}: these runs have no {args.metric} results (they have {found})")
    written = write_tables(report, out_dir)
    figures = write_figures(report, out_dir, args.metric, [Path(p) for p in args.pretrain_run])
    if args.results_md:
        title = f"{LAYOUTS[args.corpus].name} results" if args.corpus else "Results"
        summary_figures = [figure for figure in figures if figure.parent == out_dir]  # not each run's curves
        results_md = results_document(written["md"].read_text(), report.runs, _command(args), summary_figures,
                                      Path(args.results_md), title)
        print(f"wrote {results_md}")
    print(written["md"].read_text())
    print(f"tables and {len(figures)} figures in {out_dir}")
    return 0
