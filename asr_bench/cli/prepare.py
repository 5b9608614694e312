"""`asr-bench prepare <corpus>`: corpus folders -> one JSONL manifest per split, with a summary to check.

The sub-commands come from the corpus registry (asr_bench/data/corpora/registry.py): every corpus takes
--out-dir and --skip-bad (and --verify-audio where it applies) plus the options its module declares.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from asr_bench.data.corpora.registry import Corpus, CorpusOption, corpora
from asr_bench.data.manifest import ManifestSummary, read_manifest

_TYPES = {"path": Path, "str": str, "int": int}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "prepare",
        help="write JSONL manifests (id, audio, duration, speaker, text, ...) for a corpus",
        description="Read a corpus in its publisher's layout and write one JSONL manifest per split to --out-dir, "
        "with summary.json (utterances, speakers, hours and skipped utterances per split), then print the summary.",
    )
    subcommands = parser.add_subparsers(dest="corpus", required=True, metavar="CORPUS")
    for corpus in corpora().values():
        _add_corpus(subcommands, corpus)


def _add_corpus(subcommands: argparse._SubParsersAction, corpus: Corpus) -> None:
    parser = subcommands.add_parser(
        corpus.name, help=corpus.help, description=corpus.description, epilog=f"example: {corpus.example}"
    )
    parser.add_argument("--out-dir", required=True, type=Path, help="where <split>.jsonl and summary.json are written")
    parser.add_argument(
        "--skip-bad",
        action="store_true",
        help="leave out unusable utterances (unreadable or empty audio, missing or empty transcript, bad labels) and "
        "count and list them in summary.json, instead of stopping at the first",
    )
    if corpus.verify_audio:
        parser.add_argument(
            "--verify-audio",
            action="store_true",
            help="also decode every file to catch bodies truncated after a valid header (slower)",
        )
    for option in corpus.options:
        _add_option(parser, option)
    parser.set_defaults(func=run, corpus_spec=corpus)


def _add_option(parser: argparse.ArgumentParser, option: CorpusOption) -> None:
    kwargs: dict[str, Any] = {"dest": option.name, "help": option.help, "default": option.default}
    if option.kind == "flag":
        kwargs["action"] = "store_true"
        kwargs["default"] = bool(option.default)
    else:
        kwargs["type"] = _TYPES.get(option.kind, str)
        kwargs["required"] = option.required
        if option.metavar:
            kwargs["metavar"] = option.metavar
    parser.add_argument(option.flag, **kwargs)


def run(args: argparse.Namespace) -> int:
    corpus: Corpus = args.corpus_spec
    start = time.perf_counter()
    options = {}
    for option in corpus.options:
        value = getattr(args, option.name)
        if option.kind == "list" and value is not None:
            value = [item.strip() for item in value.split(",") if item.strip()]
        options[option.name] = value
    summaries = corpus.run(
        args.out_dir, skip_bad=args.skip_bad, verify_audio=getattr(args, "verify_audio", False), progress=True, **options
    )
    print_summaries(summaries, Path(args.out_dir), time.perf_counter() - start)
    return 0


def print_summaries(summaries: dict[str, ManifestSummary], out_dir: Path, wall_s: float) -> None:
    """One line per split, then the whole corpus (speakers and utterances counted once across splits: WSJ's si284
    holds si84)."""
    for name, summary in summaries.items():
        print(f"{name}: {summary.describe()}")
    if len(summaries) > 1:
        utterances = list({u.id: u for name in summaries for u in read_manifest(out_dir / f"{name}.jsonl")}.values())
        skipped: dict[str, int] = {}
        for summary in summaries.values():
            for reason, count in summary.skipped.items():
                skipped[reason] = skipped.get(reason, 0) + count
        print(f"all: {ManifestSummary.of(utterances, skipped).describe()}")
    if any(summary.skipped for summary in summaries.values()):
        print(f"skipped utterances are listed in {out_dir / 'summary.json'}")
    print(f"manifests in {out_dir} ({wall_s:.1f} s)")
