"""`asr-bench prepare <corpus>`: corpus folders -> one JSONL manifest per split, with a summary to check."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from asr_bench.data.librispeech import prepare_librispeech
from asr_bench.data.manifest import ManifestSummary, read_manifest


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "prepare",
        help="write JSONL manifests (id, audio, duration, speaker, text, gender) for a corpus",
        description="Read a corpus in its publisher's layout and write one JSONL manifest per split to --out-dir, "
        "then print utterances, speakers and hours per split and overall.",
    )
    corpora = parser.add_subparsers(dest="corpus", required=True, metavar="CORPUS")
    librispeech = corpora.add_parser(
        "librispeech",
        help="LibriSpeech: the OpenSLR folders or a Hugging Face datasets copy",
        description="LibriSpeech from the OpenSLR layout (<corpus-dir>/<split>/<speaker>/<chapter>/ with "
        "<speaker>-<chapter>.trans.txt and audio <speaker>-<chapter>-<utt>.<ext>, any split names, any audio "
        "format libsndfile reads; --corpus-dir may be the LibriSpeech folder or one split folder) or from a "
        "Hugging Face datasets copy (save_to_disk folder or parquet files; audio is extracted to "
        "<out-dir>/audio/<split>/). Writes <out-dir>/<split>.jsonl; gender from SPEAKERS.TXT when found. "
        "Durations come from audio headers.",
        epilog="example: asr-bench prepare librispeech --corpus-dir ../shared/data/librispeech-mini/LibriSpeech "
        "--out-dir data/librispeech",
    )
    librispeech.add_argument(
        "--corpus-dir", required=True, type=Path, help="LibriSpeech folder, one split folder, or a HF datasets copy"
    )
    librispeech.add_argument("--out-dir", required=True, type=Path, help="where <split>.jsonl manifests are written")
    librispeech.add_argument(
        "--skip-bad",
        action="store_true",
        help="leave out unusable utterances (unreadable or zero-length audio, missing or empty transcript) and "
        "count them in the summary, instead of stopping at the first",
    )
    librispeech.add_argument("--splits", help="comma-separated split names to prepare (default: all found)")
    librispeech.add_argument(
        "--speakers-file", type=Path, help="SPEAKERS.TXT for gender (default: the one beside the split folders)"
    )
    librispeech.add_argument(
        "--verify-audio",
        action="store_true",
        help="also decode every file to catch bodies truncated after a valid header (slower: ~25 ms a file for Opus)",
    )
    librispeech.set_defaults(func=run_librispeech)


def run_librispeech(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    splits = [s.strip() for s in args.splits.split(",") if s.strip()] if args.splits else None
    summaries = prepare_librispeech(
        args.corpus_dir,
        args.out_dir,
        skip_bad=args.skip_bad,
        splits=splits,
        speakers_file=args.speakers_file,
        verify_audio=args.verify_audio,
    )
    print_summaries(summaries, Path(args.out_dir), time.perf_counter() - start)
    return 0


def print_summaries(summaries: dict[str, ManifestSummary], out_dir: Path, wall_s: float) -> None:
    """One line per split, then the whole corpus (speakers counted once across splits)."""
    for name, summary in summaries.items():
        print(f"{name}: {summary.describe()}")
    if len(summaries) > 1:
        utterances = [u for name in summaries for u in read_manifest(out_dir / f"{name}.jsonl")]
        skipped: dict[str, int] = {}
        for summary in summaries.values():
            for reason, count in summary.skipped.items():
                skipped[reason] = skipped.get(reason, 0) + count
        print(f"all: {ManifestSummary.of(utterances, skipped).describe()}")
    print(f"manifests in {out_dir} ({wall_s:.1f} s)")
