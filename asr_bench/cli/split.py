"""`asr-bench split`: speaker-disjoint train/dev/test and nested labelled-hours subsets of the train part (or, for
a corpus with its own dev and test sets, of the whole manifest)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from asr_bench.data.manifest import ManifestSummary, Utterance, read_manifest, write_manifest
from asr_bench.data.splits import (
    SUBSET_TOLERANCE,
    nested_subsets,
    parse_duration_hours,
    speaker_disjoint_split,
    subset_name,
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "split",
        help="hold out speakers for dev/test and cut nested training subsets by hours",
        description="Split a manifest into speaker-disjoint train/dev/test (each gender gives the same number of "
        "dev and test speakers; without gender metadata, twice the per-gender numbers, unbalanced) and cut "
        "nested, speaker-balanced subsets of the train part by labelled hours (each within --subset-tolerance of "
        "its target; each smaller subset inside every larger one). Writes train.jsonl, dev.jsonl, test.jsonl, "
        "train_<size>.jsonl (e.g. train_10min.jsonl, train_1h.jsonl) and split.json (arguments, held-out "
        "speakers) to --out-dir. With --no-hold-out (a corpus with its own dev and test sets, such as WSJ) the "
        "subsets are cut from the whole manifest and named <manifest name>_<size>.jsonl (si84_8h.jsonl). "
        "Same manifest and seed, same files.",
        epilog="examples: asr-bench split --manifest data/librispeech/train-clean-5.jsonl --out-dir data/splits "
        "--subset-hours 10min,30min,1h,2h;  asr-bench split --manifest data/wsj/si84.jsonl --out-dir data/wsj "
        "--no-hold-out --subset-hours 1h,2h,4h,8h --subset-tolerance 0.01",
    )
    parser.add_argument("--manifest", "-m", required=True, type=Path, help="JSONL manifest to split")
    parser.add_argument("--out-dir", required=True, type=Path, help="where the split manifests are written")
    parser.add_argument("--dev-speakers-per-gender", type=int, default=1, help="dev speakers per gender (default 1)")
    parser.add_argument("--test-speakers-per-gender", type=int, default=1, help="test speakers per gender (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="seed for speaker and utterance choice (default 0)")
    parser.add_argument(
        "--hold-out",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="hold out dev and test speakers (default); --no-hold-out cuts the subsets from the whole manifest",
    )
    parser.add_argument(
        "--subset-tolerance",
        type=float,
        default=SUBSET_TOLERANCE,
        help=f"largest relative gap between a subset's hours and its target (default {SUBSET_TOLERANCE})",
    )
    parser.add_argument(
        "--subset-hours",
        default="",
        help="comma-separated subset sizes of the train part, in hours (0.5, 1) or with a unit (10min, 2h); "
        "a size larger than the train part is an error",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    utterances = read_manifest(args.manifest)
    sizes_h = [parse_duration_hours(s) for s in args.subset_hours.split(",") if s.strip()]
    if args.hold_out:
        parts = speaker_disjoint_split(
            utterances,
            num_dev_speakers_per_gender=args.dev_speakers_per_gender,
            num_test_speakers_per_gender=args.test_speakers_per_gender,
            seed=args.seed,
        )
        outputs: dict[str, list[Utterance]] = dict(parts)
        source, prefix = parts["train"], "train"
    else:
        parts, outputs = {}, {}
        source, prefix = utterances, Path(args.manifest).name.removesuffix(".jsonl")
    for hours, subset in nested_subsets(source, sizes_h, seed=args.seed, tolerance=args.subset_tolerance).items():
        outputs[f"{prefix}_{subset_name(hours)}"] = subset

    out_dir: Path = args.out_dir
    for name, part in outputs.items():
        path = write_manifest(out_dir / f"{name}.jsonl", part)
        print(f"{name}: {ManifestSummary.of(part).describe()} -> {path}")
    info = {
        "manifest": str(Path(args.manifest).resolve()),
        "seed": args.seed,
        "dev_speakers_per_gender": args.dev_speakers_per_gender,
        "test_speakers_per_gender": args.test_speakers_per_gender,
        "subset_hours": sizes_h,
        "subset_tolerance": args.subset_tolerance,
        "hold_out": args.hold_out,
        "speakers": {name: dict(sorted({u.speaker: u.gender for u in parts[name]}.items())) for name in parts if name != "train"},
        "summaries": {name: vars(ManifestSummary.of(part)) for name, part in outputs.items()},
    }
    (out_dir / "split.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return 0
