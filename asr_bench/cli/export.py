"""`asr-bench export`: the model of a pretraining checkpoint, without optimizer state, to move or publish."""

from __future__ import annotations

import argparse
from pathlib import Path

DTYPES = ("fp32", "bf16")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="write a pretraining checkpoint's model weights alone (a third of the size, or a sixth in bf16)",
        description="Copy the wav2vec model (weights and config) out of an `asr-bench pretrain` checkpoint, "
        "dropping the optimizer and loop state. The result is a checkpoint for featurization "
        "(features.wav2vec.checkpoint=OUT); training cannot resume from it.",
    )
    parser.add_argument("checkpoint", type=Path, help="e.g. exp/pretrain/checkpoints/last.ckpt")
    parser.add_argument("out", type=Path, help="file to write")
    parser.add_argument("--dtype", choices=DTYPES, default="fp32",
                        help="weight precision; bf16 halves the file, and featurization in bf16 rounds to it anyway")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from asr_bench.models.checkpoint import export_wav2vec

    out = export_wav2vec(args.checkpoint, args.out, torch.bfloat16 if args.dtype == "bf16" else torch.float32)
    print(f"{args.checkpoint} -> {out} ({out.stat().st_size / 2**20:.1f} MiB, {args.dtype})")
    return 0
