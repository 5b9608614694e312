"""`asr-bench featurize`: fill the feature cache for manifests ahead of training (e.g. wav2vec on a GPU box)."""

from __future__ import annotations

import argparse
from pathlib import Path

from asr_bench.cli.common import add_config_arguments, config_from_args
from asr_bench.data.manifest import read_manifest
from asr_bench.features.featurize import FeatureConfig, featurize_manifests
from asr_bench.features.h5 import export_fairseq_h5


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "featurize",
        help="compute and cache log-mel or wav2vec features for manifests",
        description="Compute features for each manifest into the on-disk cache (keyed by manifest content and "
        "feature config, so a changed config never reuses stale features). Config keys: kind, cache_dir, "
        "logmel.*, wav2vec.{checkpoint,representation,chunk_samples,device,precision,batch_size}.",
    )
    parser.add_argument("--manifest", "-m", action="append", required=True, help="JSONL manifest (repeatable)")
    parser.add_argument("--features", choices=["logmel", "wav2vec"], help="shortcut for kind=...")
    parser.add_argument("--checkpoint", help="wav2vec checkpoint (ours or fairseq's); shortcut for wav2vec.checkpoint=...")
    parser.add_argument(
        "--export-h5",
        metavar="DIR",
        help="also write fairseq featurizer HDF5 files: DIR/<manifest name>/<utterance id>.h5context",
    )
    add_config_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.features:
        args.overrides = [f"kind={args.features}", *args.overrides]
    if args.checkpoint:
        args.overrides = [f"wav2vec.checkpoint={args.checkpoint}", *args.overrides]
    config = config_from_args(FeatureConfig, args)
    manifests = {manifest: read_manifest(manifest) for manifest in args.manifest}
    stores = featurize_manifests([(f"featurize {m}", utts) for m, utts in manifests.items()], config)
    for (manifest, utterances), store in zip(manifests.items(), stores):
        print(f"{manifest}: {len(store)} utterances, dim {store.dim} -> {store.path}")
        if args.export_h5:
            paths = export_fairseq_h5(utterances, store, args.export_h5, Path(manifest).stem)
            print(f"{manifest}: {len(paths)} HDF5 files -> {paths[0].parent}")
    return 0
