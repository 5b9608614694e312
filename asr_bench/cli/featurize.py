"""`asr-bench featurize`: fill the feature cache for manifests ahead of training (e.g. wav2vec on a GPU box),
or write fairseq's featurizer files."""

from __future__ import annotations

import argparse
from pathlib import Path

from asr_bench.cli.common import add_config_arguments, config_from_args, printed_config
from asr_bench.config import parse_overrides
from asr_bench.data.manifest import read_manifest
from asr_bench.errors import ConfigError
from asr_bench.features.featurize import FeatureConfig, featurize_manifests
from asr_bench.features.h5 import FAIRSEQ_FEATURES, export_fairseq_h5
from asr_bench.identity import flatten

# Config keys that have a flag of their own here: one way to give each.
FLAG_KEYS = {"kind": "--features", "wav2vec.checkpoint": "--checkpoint"}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "featurize",
        help="compute and cache log-mel or wav2vec features for manifests",
        description="Compute features for each manifest into the on-disk cache (keyed by manifest content and "
        "feature config, so a changed config never reuses stale features). Config keys: cache_dir, logmel.*, "
        "wav2vec.{representation,chunk_samples,device,precision,normalize,batch_size}; the feature kind and the "
        "wav2vec checkpoint are given by --features and --checkpoint.",
    )
    parser.add_argument("--manifest", "-m", action="append", required=True, help="JSONL manifest (repeatable)")
    parser.add_argument("--features", choices=["logmel", "wav2vec"], help="feature kind (default: the config's, logmel)")
    parser.add_argument("--checkpoint", help="wav2vec checkpoint (ours or fairseq's); needs --features wav2vec")
    parser.add_argument(
        "--export-h5",
        metavar="DIR",
        help="instead of filling the cache, write fairseq featurizer HDF5 files, DIR/<manifest name>/<utterance "
        "id>.h5context, holding what fairseq's wav2vec_featurize.py writes: float32 arithmetic, features not "
        "normalised (wav2vec.precision=fp32 wav2vec.normalize=false unless the config or an override says otherwise)",
    )
    add_config_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    given = flatten(parse_overrides(args.overrides))
    flagged = [f"{key}=... (use {flag})" for key, flag in FLAG_KEYS.items() if key in given]
    if flagged:
        raise ConfigError(f"set these with their flags, not as overrides: {', '.join(flagged)}")
    if args.features:
        args.overrides = [*args.overrides, f"kind={args.features}"]
    if args.checkpoint:
        args.overrides = [*args.overrides, f"wav2vec.checkpoint={args.checkpoint}"]
    config = config_from_args(FeatureConfig, args, base=FAIRSEQ_FEATURES if args.export_h5 else None)
    if args.checkpoint and config.kind != "wav2vec":
        raise ConfigError(f"--checkpoint {args.checkpoint} is a wav2vec checkpoint, but the features are {config.kind}: "
                          "add --features wav2vec")
    if printed_config(config, args):
        return 0
    manifests = {manifest: read_manifest(manifest) for manifest in args.manifest}
    if args.export_h5:
        splits = [(Path(manifest).stem, utterances) for manifest, utterances in manifests.items()]
        for manifest, paths in zip(manifests, export_fairseq_h5(splits, config, args.export_h5)):
            print(f"{manifest}: {len(paths)} HDF5 files -> {paths[0].parent}")
        return 0
    stores = featurize_manifests([(f"featurize {m}", utts) for m, utts in manifests.items()], config)
    for manifest, store in zip(manifests, stores):
        print(f"{manifest}: {len(store)} utterances, dim {store.dim} -> {store.path}")
    return 0
