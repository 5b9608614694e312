"""`asr-bench pretrain`: self-supervised wav2vec 1.0 pretraining on the audio of some manifests."""

from __future__ import annotations

import argparse

from asr_bench.cli.common import add_config_arguments, add_fresh_argument, config_from_args, printed_config


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "pretrain",
        help="pretrain wav2vec 1.0 on unlabelled audio",
        description="Pretrain wav2vec (contrastive loss over K future steps) on the audio of "
        "data.train_manifests. Config sections: out_dir, seed, data.*, model.* (encoder_layers, context_layers, "
        "prediction_steps, num_negatives, offset, ...), optim.*, trainer.*; defaults are the paper's base model and "
        "schedule (see recipes/librispeech/conf/wav2vec_*.yaml). Rerunning the same command resumes an unfinished "
        "run from <out_dir>/checkpoints/last.ckpt and leaves a finished one as it is; a different config for the "
        "same out_dir is refused (--fresh starts over). Multi-GPU: trainer.strategy=ddp trainer.devices=N.",
    )
    add_config_arguments(parser)
    add_fresh_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from asr_bench.tasks.pretrain import PretrainConfig, pretrain  # model code only when the command runs

    config = config_from_args(PretrainConfig, args)
    if printed_config(config, args):
        return 0
    out_dir = pretrain(config, fresh=args.fresh)
    print(f"pretrained: {out_dir}/checkpoints")
    return 0
