"""`asr-bench train`: train a wav2letter CTC acoustic model on cached features."""

from __future__ import annotations

import argparse

from asr_bench.cli.common import add_config_arguments, add_fresh_argument, config_from_args, printed_config


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a CTC acoustic model (log-mel or wav2vec features)",
        description="Train a wav2letter-style CTC model. Config sections: out_dir, seed, data.*, features.*, "
        "model.*, optim.*, trainer.* (see recipes/librispeech/conf/). Rerunning the same command resumes an "
        "unfinished run from <out_dir>/checkpoints/last.ckpt and leaves a finished one as it is; a different "
        "config for the same out_dir is refused, naming the keys that differ (--fresh starts over). "
        "Multi-GPU: trainer.strategy=ddp trainer.devices=N.",
    )
    add_config_arguments(parser)
    add_fresh_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from asr_bench.tasks.train_ctc import TrainConfig, train  # model code only when the command runs

    config = config_from_args(TrainConfig, args)
    if printed_config(config, args):
        return 0
    out_dir = train(config, fresh=args.fresh)
    print(f"trained: {out_dir}/checkpoints")
    return 0
