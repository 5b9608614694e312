"""`asr-bench decode`: run a trained model on a manifest, decode, score, update results.json."""

from __future__ import annotations

import argparse
from pathlib import Path

from asr_bench.decode.run import decode_greedy


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "decode",
        help="decode and score a manifest with a trained acoustic model",
        description="Decode each manifest with the run's best checkpoint; hypotheses, emissions and metrics go "
        "under <run-dir>/decode/<split>/ and into <run-dir>/results.json.",
    )
    parser.add_argument("--run-dir", required=True, help="training output directory (has checkpoints/)")
    parser.add_argument("--manifest", "-m", action="append", required=True, help="SPLIT=MANIFEST (repeatable)")
    parser.add_argument("--checkpoint", help="checkpoint to use (default: <run-dir>/checkpoints/best.ckpt)")
    parser.set_defaults(func=run)


def parse_split(item: str) -> tuple[str, str]:
    if "=" in item:
        split, manifest = item.split("=", 1)
        return split, manifest
    return Path(item).stem, item


def run(args: argparse.Namespace) -> int:
    run_dir = Path(args.run_dir)
    checkpoint = Path(args.checkpoint) if args.checkpoint else run_dir / "checkpoints" / "best.ckpt"
    for item in args.manifest:
        split, manifest = parse_split(item)
        metrics = decode_greedy(checkpoint, manifest, split, run_dir)
        shown = ", ".join(f"{k.upper()} {v:.2f}" for k, v in metrics.items() if k in ("wer", "cer", "per"))
        print(f"{split} (greedy): {shown}")
    return 0
