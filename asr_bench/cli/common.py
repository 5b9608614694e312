"""Arguments every configurable sub-command shares: a YAML config plus `key=value` overrides."""

from __future__ import annotations

import argparse
from typing import Any, TypeVar

from asr_bench.config import config_yaml, load_config

T = TypeVar("T")


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", "-c", default=None, help="YAML config file (defaults are used where it is silent)")
    parser.add_argument(
        "--print-config",
        action="store_true",
        help="print the whole resolved config (defaults, file and overrides) as YAML and exit without running",
    )
    parser.add_argument(
        "overrides",
        nargs="*",
        metavar="KEY=VALUE",
        help="config overrides, e.g. model.channels=256 optim.lr=1e-3 (values parsed as YAML)",
    )


def add_fresh_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="discard what out_dir holds (config, checkpoints, logs, summary, decodes) and train from scratch",
    )


def config_from_args(cls: type[T], args: argparse.Namespace, base: dict[str, Any] | None = None) -> T:
    """The config of `--config` and the overrides; `base` holds the command's own defaults, beneath the file's."""
    return load_config(cls, args.config, args.overrides, base)


def printed_config(config: Any, args: argparse.Namespace) -> bool:
    """With --print-config, print `config` as YAML and say so: the command then stops there."""
    if args.print_config:
        print(config_yaml(config), end="")
    return bool(args.print_config)
