"""Arguments every configurable sub-command shares: a YAML config plus `key=value` overrides."""

from __future__ import annotations

import argparse
from typing import TypeVar

from asr_bench.config import load_config

T = TypeVar("T")


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", "-c", default=None, help="YAML config file (defaults are used where it is silent)")
    parser.add_argument(
        "overrides",
        nargs="*",
        metavar="KEY=VALUE",
        help="config overrides, e.g. model.channels=256 optim.lr=1e-3 (values parsed as YAML)",
    )


def config_from_args(cls: type[T], args: argparse.Namespace) -> T:
    return load_config(cls, args.config, args.overrides)
