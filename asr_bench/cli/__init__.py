"""The `asr-bench` command: one sub-command per pipeline stage.

Each sub-command lives in its own module exposing `add_parser(subparsers)`, which
registers the parser and sets `func` to the handler; this file only assembles them.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from asr_bench import __version__
from asr_bench.errors import AsrBenchError

# Modules of asr_bench.cli, in the order the pipeline runs.
COMMAND_MODULES = [
    "prepare",
    "split",
    "lm",
    "pretrain",
    "export",
    "featurize",
    "train",
    "decode",
    "sweep",
    "report",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="asr-bench",
        description="wav2vec 1.0 versus log-mel features for ASR: prepare, featurize, pretrain, train, decode, report.",
    )
    parser.add_argument("--version", action="version", version=f"asr-bench {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"asr_bench.cli.{name}").add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    try:
        return int(args.func(args) or 0)
    except AsrBenchError as exc:
        print(f"asr-bench {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # Every command resumes where it stopped: training from its last checkpoint, featurization from the
        # cache entries it finished (an unfinished one is removed), decoding split by split.
        again = "the same command without --fresh" if getattr(args, "fresh", False) else "the same command"
        print(f"\nasr-bench {args.command}: interrupted; to resume, rerun {again}", file=sys.stderr)
        return 130

